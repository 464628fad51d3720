/*
 * done.c: which destinations of a recipient were delivered when others
 * were deferred, so that qmgr's retry delivers only the others instead of
 * a second copy to each. qmgr knows recipients, not what an alias or a
 * .forward made of them, so the record is ours: one small file per
 * deferred recipient in SPOOL/delivered (root's, 0700), "rcpt ADDRESS"
 * and a line per delivered destination, written aside, fsync'd and
 * renamed before the deferral is answered. It goes when the recipient is
 * answered for good; files of recipients qmgr gave up on expire after
 * the queue lifetime. A crash before the record is made means a second
 * copy, never a lost one.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "log.h"

#define DONE_DIR	"delivered"
#define DONE_NAME_MAX	(QM_QID_MAX + 24)
#define DONE_KEY_MAX	ONCE_KEY_MAX
#define DONE_FILE_MAX	(LOCAL_MAX_DESTS * DONE_KEY_MAX)
#define DONE_SLACK	(24 * 60 * 60)	/* s past the queue lifetime */
#define DONE_EXPIRE_EVERY (60 * 60)	/* s between two looks for them */

static int	done_dirfd = -1;
static time_t	done_lifetime;
static time_t	done_expired;		/* when done_expire last ran */

void
done_init(const struct config *cfg)
{
	char		path[PATH_MAX];
	struct stat	st;

	done_lifetime = (time_t)cfg->queue_lifetime + DONE_SLACK;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", cfg->spool_dir,
	    DONE_DIR) >= sizeof(path) ||
	    (mkdir(path, 0700) == -1 && errno != EEXIST) ||
	    (done_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(done_dirfd, &st) == -1 ||
	    st.st_uid != 0 || (st.st_mode & 077) != 0) {
		log_warnx("%s: unusable (%s); a retry of a partly delivered "
		    "recipient delivers again to every destination", path,
		    errno != 0 ? strerror(errno) : "owner or mode");
		if (done_dirfd != -1)
			close(done_dirfd);
		done_dirfd = -1;
		return;
	}
	done_expire();
}

/* qid.hash-of-rcpt: the rcpt itself may hold any character. */
static void
done_name(const struct delivery *d, char *buf, size_t len)
{
	uint64_t		 h = 14695981039346656037ULL;	/* FNV-1a */
	const unsigned char	*c;

	for (c = (const unsigned char *)d->rcpt; *c != '\0'; c++)
		h = (h ^ *c) * 1099511628211ULL;
	snprintf(buf, len, "%s.%016llx", d->qid, (unsigned long long)h);
}

/* "rcpt ADDRESS\n" */
static int
done_header(const struct delivery *d, char *buf, size_t len)
{
	int	n = snprintf(buf, len, "rcpt %s\n", d->rcpt);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

static char *
done_read(int fd, size_t *len)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > DONE_FILE_MAX ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

void
done_load(struct delivery *d)
{
	char	name[DONE_NAME_MAX], head[QM_ADDR_MAX + 8], *buf;
	size_t	len;
	int	fd, hlen;

	free(d->done);
	d->done = NULL;
	if (done_dirfd == -1)
		return;
	if (time(NULL) - done_expired > DONE_EXPIRE_EVERY)
		done_expire();
	done_name(d, name, sizeof(name));
	if ((fd = openat(done_dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	buf = done_read(fd, &len);
	close(fd);
	hlen = done_header(d, head, sizeof(head));
	if (buf == NULL || hlen == -1 || strncmp(buf, head,
	    (size_t)hlen) != 0) {
		free(buf);	/* another recipient's (hash) or damaged */
		return;
	}
	d->done = buf;
}

int
done_has(const struct delivery *d, const struct local_dest *t)
{
	char	key[DONE_KEY_MAX + 2];

	if (d->done == NULL)
		return 0;
	key[0] = '\n';
	if (once_key(t, key + 1, sizeof(key) - 2) == -1)
		return 0;
	strlcat(key, "\n", sizeof(key));
	return strstr(d->done, key) != NULL;
}

/* The text of the record: the header and a line per delivered one. */
static int
done_text(const struct delivery *d, int fd)
{
	char	line[DONE_KEY_MAX + 1];
	size_t	i;
	int	n;

	if ((n = done_header(d, line, sizeof(line))) == -1 ||
	    write(fd, line, (size_t)n) != n)
		return -1;
	for (i = 0; i < d->ndests; i++) {
		if (!d->dests[i].delivered)
			continue;
		if (once_key(&d->dests[i], line, sizeof(line) - 1) == -1)
			continue;
		strlcat(line, "\n", sizeof(line));
		n = (int)strlen(line);
		if (write(fd, line, (size_t)n) != n)
			return -1;
	}
	return fdatasync(fd);
}

void
done_save(const struct delivery *d)
{
	char	name[DONE_NAME_MAX], tmp[DONE_NAME_MAX + 8];
	int	fd, rc;

	if (done_dirfd == -1)
		return;
	done_name(d, name, sizeof(name));
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	(void)unlinkat(done_dirfd, tmp, 0);
	if ((fd = openat(done_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		log_warn("qid=%s to=<%s>: cannot record the delivered "
		    "destinations", d->qid, d->rcpt);
		return;
	}
	rc = done_text(d, fd);
	if (close(fd) == -1 || rc == -1 ||
	    renameat(done_dirfd, tmp, done_dirfd, name) == -1 ||
	    fsync(done_dirfd) == -1) {
		log_warn("qid=%s to=<%s>: cannot record the delivered "
		    "destinations", d->qid, d->rcpt);
		(void)unlinkat(done_dirfd, tmp, 0);
	}
}

void
done_forget(const struct delivery *d)
{
	char	name[DONE_NAME_MAX];

	if (done_dirfd == -1 || d->done == NULL)
		return;
	done_name(d, name, sizeof(name));
	if (unlinkat(done_dirfd, name, 0) == -1 && errno != ENOENT)
		log_warn("qid=%s to=<%s>: cannot remove the record of its "
		    "delivered destinations", d->qid, d->rcpt);
}

void
done_expire(void)
{
	struct dirent	*e;
	struct stat	 st;
	DIR		*dp;
	time_t		 now = time(NULL);
	int		 fd;

	done_expired = now;
	if (done_dirfd == -1 || (fd = dup(done_dirfd)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(dp);
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.' ||
		    fstatat(done_dirfd, e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 ||
		    now - st.st_mtime <= done_lifetime)
			continue;
		if (unlinkat(done_dirfd, e->d_name, 0) == 0)
			log_info("%s/%s: expired", DONE_DIR, e->d_name);
	}
	closedir(dp);
}
