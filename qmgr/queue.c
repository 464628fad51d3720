/*
 * queue.c: the queue directory on disk (bulwark-queue(5)): queue ids,
 * message files, the commit that makes a message and its envelope
 * durable, atomic envelope updates, removal, and the scan that recovers
 * the queue at start. Paths are relative to qmgr's chroot.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "fileio.h"
#include "log.h"
#include "qmgr.h"

#define QUEUE_CREATE_TRIES	4096	/* one per counter value */
#define QUEUE_SCAN_MAX		(16 * 1024 * 1024)	/* names per dir */

enum { D_MSG, D_ENV, D_TMP, D_CORRUPT, D_HOLD, D_SPARE, D_COUNT };

static const char *const dir_names[D_COUNT] = {
	"msg", "env", "tmp", "corrupt", "hold", "spare",
};
static int		dfd[D_COUNT] = { -1, -1, -1, -1, -1, -1 };
static unsigned		qid_counter;

static int
queue_dir_open(const char *name, int *created)
{
	struct stat	st;
	int		fd;

	if (mkdir(name, 0700) == 0)
		*created = 1;
	else if (errno != EEXIST) {
		log_warn("queue: mkdir %s", name);
		return -1;
	}
	fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		log_warn("queue: open %s", name);
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_uid != geteuid()) {
		log_warnx("queue: %s is not owned by this user", name);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) == -1) {
		log_warn("queue: chmod %s", name);
		close(fd);
		return -1;
	}
	return fd;
}

/* A directory's new entries survive a crash only once it is synced. */
static int
queue_sync_dir(int d)
{
	if (fsync(dfd[d]) == -1) {
		log_warn("queue: fsync %s/", dir_names[d]);
		return -1;
	}
	return 0;
}

int
queue_init(void)
{
	int	i, created = 0, root;

	for (i = 0; i < D_COUNT; i++)
		if ((dfd[i] = queue_dir_open(dir_names[i], &created)) == -1)
			return -1;
	if (created) {
		root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (root == -1 || fsync(root) == -1) {
			log_warn("queue: fsync of the queue directory");
			if (root != -1)
				close(root);
			return -1;
		}
		close(root);
	}
	return 0;
}

/* 8 hex digits of seconds, 5 of microseconds, 3 of a counter: unique
 * with O_EXCL, sorted by arrival, safe as a file name. */
static void
queue_qid_new(char qid[QMGR_QID_LEN + 1])
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		memset(&ts, 0, sizeof(ts));
	snprintf(qid, QMGR_QID_LEN + 1, "%08X%05X%03X",
	    (unsigned)((uint64_t)ts.tv_sec & 0xffffffffU),
	    (unsigned)(ts.tv_nsec / 1000), qid_counter++ & 0xfffU);
}

int
queue_create(char qid[QMGR_QID_LEN + 1])
{
	int	i, fd;

	for (i = 0; i < QUEUE_CREATE_TRIES; i++) {
		queue_qid_new(qid);
		fd = openat(dfd[D_MSG], qid, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST) {
			log_warn("queue: create msg/%s", qid);
			return -1;
		}
	}
	log_warnx("queue: no free queue id");
	return -1;
}

int
queue_open_msg(const char *qid)
{
	int	fd;

	fd = openat(dfd[D_MSG], qid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		log_warn("queue: open msg/%s", qid);
	return fd;
}

int
queue_write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* tmp/QID, empty and open for writing: a spare envelope file if there
 * is one, else a new one. */
static int
queue_tmp_open(const char *qid)
{
	int	fd;

	if ((fd = spare_take(dfd[D_TMP], qid)) != -1)
		return fd;
	return openat(dfd[D_TMP], qid, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
}

int
queue_env_prepare(const struct envelope *env)
{
	char	*text;
	size_t	 len;
	int	 fd;

	if ((text = envelope_format(env, &len)) == NULL) {
		log_warnx("queue: cannot format the envelope of %s", env->qid);
		return -1;
	}
	if ((fd = queue_tmp_open(env->qid)) == -1 ||
	    queue_write_all(fd, text, len) == -1) {
		log_warn("queue: write tmp/%s", env->qid);
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	free(text);
	return fd;
}

/* tmp/QID, written and synced; -1 after removing what it wrote. */
static int
queue_env_tmp(const struct envelope *env)
{
	int	fd, rc;

	if ((fd = queue_env_prepare(env)) != -1) {
		rc = fsync(fd);
		if (close(fd) == -1)
			rc = -1;
		if (rc == 0)
			return 0;
		log_warn("queue: sync tmp/%s", env->qid);
	}
	unlinkat(dfd[D_TMP], env->qid, 0);
	return -1;
}

int
queue_env_write(const struct envelope *env)
{
	int	rc, d = env->held ? D_HOLD : D_ENV;

	if (queue_env_tmp(env) == -1)
		return -1;
	/* swapped, the old envelope's file becomes a spare; a file system
	 * that cannot swap frees it in the rename */
	if (renameat2(dfd[D_TMP], env->qid, dfd[d], env->qid,
	    RENAME_EXCHANGE) == 0) {
		rc = queue_sync_dir(d);
		if (spare_put(dfd[D_TMP], env->qid) == -1)
			log_warn("queue: remove tmp/%s", env->qid);
		return rc;
	}
	if (renameat(dfd[D_TMP], env->qid, dfd[d], env->qid) == -1) {
		log_warn("queue: rename tmp/%s to %s/", env->qid, dir_names[d]);
		unlinkat(dfd[D_TMP], env->qid, 0);
		return -1;
	}
	return queue_sync_dir(d);
}

int
queue_env_install(const char *qid)
{
	if (renameat(dfd[D_TMP], qid, dfd[D_ENV], qid) == -1) {
		log_warn("queue: rename tmp/%s to env/", qid);
		return -1;
	}
	return 0;
}

int
queue_dir_fd(enum queue_dir which)
{
	return dfd[which == QUEUE_DIR_MSG ? D_MSG : D_ENV];
}

static void
queue_sync_later_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)queue_sync_dir((int)(intptr_t)arg);
}

static void
queue_sync_later(int d)
{
	static struct event	*ev[D_COUNT];

	if (ev[d] == NULL && (ev[d] = event_new(daemon_base, -1, 0,
	    queue_sync_later_cb, (void *)(intptr_t)d)) == NULL) {
		(void)queue_sync_dir(d);
		return;
	}
	if (!event_pending(ev[d], EV_TIMEOUT, NULL))
		event_active(ev[d], EV_TIMEOUT, 0);
}

static int
queue_unlink(int d, const char *qid)
{
	if (unlinkat(dfd[d], qid, 0) == -1 && errno != ENOENT) {
		log_warn("queue: remove %s/%s", dir_names[d], qid);
		return -1;
	}
	return 0;
}

/* An envelope that is done with: kept as a spare, else unlinked. */
static int
queue_unlink_env(int d, const char *qid)
{
	if (spare_put(dfd[d], qid) == -1 && errno != ENOENT) {
		log_warn("queue: remove %s/%s", dir_names[d], qid);
		return -1;
	}
	return 0;
}

int
queue_remove(const char *qid)
{
	int	d = D_ENV;

	/* the envelope's removal must become durable, or a crash would
	 * deliver again: its directory is synced once for all the removals
	 * of this turn of the event loop. A message file left behind
	 * without its envelope is removed by the recovery scan: msg/ needs
	 * no sync. A held message's envelope is in hold/. */
	if (spare_put(dfd[D_ENV], qid) == -1) {
		if (errno != ENOENT) {
			log_warn("queue: remove env/%s", qid);
			return -1;
		}
		d = D_HOLD;
		if (queue_unlink_env(D_HOLD, qid) == -1)
			return -1;
	}
	queue_sync_later(d);
	return queue_unlink(D_MSG, qid);
}

/* Once the envelope is gone the message is: what fails after that is
 * logged, and the recovery scan removes a message file left behind. */
int
queue_delete(const struct envelope *env)
{
	int	d = env->held ? D_HOLD : D_ENV;

	if (queue_unlink_env(d, env->qid) == -1)
		return -1;
	(void)queue_sync_dir(d);
	(void)queue_unlink(D_MSG, env->qid);
	return 0;
}

/* A rename between two directories is atomic: after a crash the
 * envelope is in one or the other, never both nor neither. The
 * destination is synced first, so that the new name is on disk before
 * the old one is known to be gone. */
int
queue_hold(const struct envelope *env, int hold)
{
	int	from = env->held ? D_HOLD : D_ENV, to = hold ? D_HOLD : D_ENV;

	if (from == to)
		return 0;
	if (renameat(dfd[from], env->qid, dfd[to], env->qid) == -1) {
		log_warn("queue: rename %s/%s to %s/", dir_names[from],
		    env->qid, dir_names[to]);
		return -1;
	}
	if (queue_sync_dir(to) == -1 || queue_sync_dir(from) == -1)
		return -1;
	return 0;
}

/* An uncommitted message; its envelope too, should a failed commit have
 * got as far as the rename. */
void
queue_discard(const char *qid)
{
	(void)queue_unlink(D_ENV, qid);
	(void)queue_unlink(D_MSG, qid);
	(void)queue_unlink(D_TMP, qid);
}

/*
 * Recovery.
 */

struct names {
	char	**v;
	size_t	  n;
};

static void
names_free(struct names *nl)
{
	while (nl->n > 0)
		free(nl->v[--nl->n]);
	free(nl->v);
	nl->v = NULL;
}

static int
names_add(struct names *nl, const char *name)
{
	char	**v;

	if (nl->n >= QUEUE_SCAN_MAX) {
		errno = E2BIG;
		return -1;
	}
	if ((nl->n & (nl->n - 1)) == 0) {	/* 0, 1, 2, 4, ...: grow */
		v = reallocarray(nl->v, nl->n == 0 ? 1 : nl->n * 2,
		    sizeof(*v));
		if (v == NULL)
			return -1;
		nl->v = v;
	}
	if ((nl->v[nl->n] = strdup(name)) == NULL)
		return -1;
	nl->n++;
	return 0;
}

/* The names in a directory, read before any of them is touched. */
static int
queue_list(int d, struct names *nl)
{
	struct dirent	*de;
	DIR		*dir;
	int		 fd, rc = 0;

	memset(nl, 0, sizeof(*nl));
	if ((fd = dup(dfd[d])) == -1 || (dir = fdopendir(fd)) == NULL) {
		log_warn("queue: read %s/", dir_names[d]);
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(dir);
	while ((errno = 0, de = readdir(dir)) != NULL && rc == 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = names_add(nl, de->d_name);
	}
	if (rc == -1 || errno != 0) {
		log_warn("queue: read %s/", dir_names[d]);
		rc = -1;
		names_free(nl);
	}
	closedir(dir);
	return rc;
}

/* A name fit for a log line and a file name: odd bytes become '_'. */
static void
queue_safe_name(const char *in, char *out, size_t outlen)
{
	size_t	i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (unsigned char)in[i] > 0x20 &&
		    (unsigned char)in[i] < 0x7f ? in[i] : '_';
	out[i] = '\0';
}

/* Never lose a file we cannot make sense of: put it aside for a human,
 * as corrupt/WHAT.NAME. */
void
queue_set_aside(int dirfd, const char *what, const char *name,
    const char *why)
{
	char	safe[201], to[256];

	queue_safe_name(name, safe, sizeof(safe));
	snprintf(to, sizeof(to), "%s.%s", what, safe);
	if (renameat(dirfd, name, dfd[D_CORRUPT], to) == -1) {
		log_warn("queue: %s/%s is damaged (%s) and cannot be moved "
		    "to corrupt/", what, safe, why);
		return;
	}
	log_warnx("queue: %s/%s moved to corrupt/%s: %s", what, safe, to,
	    why);
	(void)queue_sync_dir(D_CORRUPT);
}

static void
queue_corrupt(int d, const char *name, const char *why)
{
	queue_set_aside(dfd[d], dir_names[d], name, why);
}

static int
queue_env_read(int d, const char *qid, struct envelope *env, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*text;
	size_t		 len;
	int		 fd, rc;

	fd = openat(dfd[d], qid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > ENVELOPE_FILE_MAX) {
		snprintf(err, errlen, "not a file, or too large");
		close(fd);
		return -1;
	}
	text = file_slurp(fd, (size_t)st.st_size, &len);
	close(fd);
	if (text == NULL || len != (size_t)st.st_size) {
		snprintf(err, errlen, "cannot read: %s", text == NULL ?
		    strerror(errno) : "it shrank");
		free(text);
		return -1;
	}
	rc = envelope_parse(env, text, len, err, errlen);
	free(text);
	return rc;
}

/* 1: a message file exists for qid, 0: none, -1: cannot tell */
static int
queue_msg_exists(const char *qid)
{
	struct stat	st;

	if (fstatat(dfd[D_MSG], qid, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	return S_ISREG(st.st_mode) ? 1 : 0;
}

/* An envelope of env/ or hold/ (d), loaded if it and its message file
 * are sound. */
static int
queue_recover_env(int d, const char *name, void (*load)(struct envelope *))
{
	struct envelope	env;
	struct stat	st;
	char		err[256];
	int		exists;

	if (!envelope_qid_valid(name)) {
		queue_corrupt(d, name, "not a queue id");
		return 0;
	}
	/* the user's copy in env/ wins: no rename leaves both behind */
	if (d == D_HOLD && fstatat(dfd[D_ENV], name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0) {
		queue_corrupt(d, name, "env/ holds the same queue id");
		return 0;
	}
	if ((exists = queue_msg_exists(name)) == -1) {
		log_warn("queue: stat msg/%s; left for the next start", name);
		return 0;
	}
	if (queue_env_read(d, name, &env, err, sizeof(err)) == -1) {
		queue_corrupt(d, name, err);
		if (exists)
			queue_corrupt(D_MSG, name, "its envelope is damaged");
		return 0;
	}
	if (strcmp(env.qid, name) != 0 || !exists) {
		queue_corrupt(d, name, exists ? "queue id differs from "
		    "the file name" : "no message file");
		if (exists)
			queue_corrupt(D_MSG, name, "its envelope is damaged");
		envelope_free(&env);
		return 0;
	}
	env.held = d == D_HOLD;
	load(&env);
	envelope_free(&env);
	return 1;
}

static void
queue_recover_msg(const char *name)
{
	struct stat	st;

	if (!envelope_qid_valid(name)) {
		queue_corrupt(D_MSG, name, "not a queue id");
		return;
	}
	if (fstatat(dfd[D_ENV], name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    (errno == ENOENT && fstatat(dfd[D_HOLD], name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0))
		return;
	if (errno != ENOENT) {
		log_warn("queue: stat the envelope of %s", name);
		return;
	}
	if (queue_unlink(D_MSG, name) == 0)
		log_info("qid=%s status=removed reason=\"no envelope\"",
		    name);
}

/* Empties tmp/ (what it holds was never committed) or spare/ (what it
 * holds is empty: not worth a log line). */
static int
queue_clean(int d)
{
	struct names	nl;
	size_t		i;
	char		safe[201];

	if (queue_list(d, &nl) == -1)
		return -1;
	for (i = 0; i < nl.n; i++) {
		queue_safe_name(nl.v[i], safe, sizeof(safe));
		if (queue_unlink(d, nl.v[i]) == 0 && d != D_SPARE)
			log_info("queue: removed stale %s/%s", dir_names[d],
			    safe);
	}
	names_free(&nl);
	return 0;
}

long
queue_recover(void (*load)(struct envelope *))
{
	static const int	envdirs[] = { D_ENV, D_HOLD };
	struct names		nl;
	size_t			i, k;
	long			n = 0;

	if (queue_clean(D_TMP) == -1 || queue_clean(D_SPARE) == -1)
		return -1;
	spare_init(dfd[D_SPARE]);
	for (k = 0; k < sizeof(envdirs) / sizeof(envdirs[0]); k++) {
		if (queue_list(envdirs[k], &nl) == -1)
			return -1;
		for (i = 0; i < nl.n; i++)
			n += queue_recover_env(envdirs[k], nl.v[i], load);
		names_free(&nl);
	}
	if (queue_list(D_MSG, &nl) == -1)
		return -1;
	for (i = 0; i < nl.n; i++)
		queue_recover_msg(nl.v[i]);
	names_free(&nl);
	if (queue_sync_dir(D_ENV) == -1 || queue_sync_dir(D_HOLD) == -1 ||
	    queue_sync_dir(D_MSG) == -1 || queue_sync_dir(D_CORRUPT) == -1)
		return -1;
	return n;
}
