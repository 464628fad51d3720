/*
 * pickup_file.c: one maildrop file, read and turned into a queued
 * message. Any local user may have written it: it must be a plain file
 * of one link, owned by the user it claims nothing about (the owner is
 * who sent it), of bounded size, and parse (common/maildrop.c) whole.
 * Queued like smtpd's messages: msg/QID with the Received: line first,
 * then the envelope, committed by commit_one().
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "fileio.h"
#include "log.h"
#include "maildate.h"
#include "qmgr.h"

/* what the envelope of a file may add to the message size limit */
#define PICKUP_ENVELOPE_MAX	((size_t)MAILDROP_RCPT_MAX * \
				    (MAILDROP_ADDR_MAX + 32) + 4096)

void
pickup_file_free(struct pickup_file *f)
{
	free(f->buf);
	maildrop_free(&f->md);
	memset(f, 0, sizeof(*f));
}

/* The file's owner and content; NULL, or why it is unfit. */
static const char *
pickup_load(int fd, struct pickup_file *f)
{
	struct stat	st;
	size_t		max = (size_t)daemon_cfg->message_size_limit +
			    PICKUP_ENVELOPE_MAX;

	if (fstat(fd, &st) == -1)
		return "cannot stat";
	if (!S_ISREG(st.st_mode))
		return "not a plain file";
	/* a hard link to another user's file must not pass as theirs */
	if (st.st_nlink != 1)
		return "more than one link";
	if ((uint64_t)st.st_size > max)
		return "larger than message-size-limit";
	f->uid = st.st_uid;
	f->len = (size_t)st.st_size;
	if ((f->buf = malloc(f->len + 1)) == NULL)
		return "out of memory";
	if (file_read_start(fd, f->buf, f->len) != (ssize_t)f->len)
		return "short read";
	return NULL;
}

int
pickup_read(int dir, const char *name, struct pickup_file *f)
{
	const char	*why;
	char		 err[128];
	int		 fd;

	memset(f, 0, sizeof(*f));
	strlcpy(f->name, name, sizeof(f->name));
	fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return -1;	/* gone: nothing to do */
		why = errno == ELOOP ? "a symbolic link" : "cannot open";
	} else {
		why = pickup_load(fd, f);
		close(fd);
	}
	if (why == NULL && maildrop_parse(f->buf, f->len, &f->md, err,
	    sizeof(err)) == -1)
		why = err;
	if (why == NULL)
		return 0;
	queue_set_aside(dir, MAILDROP_DIR, name, why);
	pickup_file_free(f);
	return 1;
}

/* The trace line smtpd writes for the submit socket, for the same
 * submission made while it was away. */
static int
pickup_received(const struct pickup_file *f, const char *qid, char *buf,
    size_t len)
{
	char	date[MAILDATE_MAX];
	int	one = f->md.nrcpt == 1, n;

	if (mail_date(time(NULL), date, sizeof(date)) == -1)
		return -1;
	n = snprintf(buf, len, "Received: by %s (Bulwark, from userid %u)"
	    "\r\n\tid %s%s%s%s;\r\n\t%s\r\n", daemon_cfg->hostname,
	    (unsigned)f->uid, qid, one ? "\r\n\tfor <" : "",
	    one ? f->md.rcpt[0].addr : "", one ? ">" : "", date);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

static int
pickup_envelope(const struct pickup_file *f, const char *login,
    struct envelope *env)
{
	char	client[64];
	size_t	i;

	snprintf(client, sizeof(client), "local:uid=%u", (unsigned)f->uid);
	env->arrival = sched_now();
	env->body = f->md.body;
	env->flags = f->md.flags;
	env->ret = f->md.ret;
	if (envelope_set(&env->sender, f->md.sender) == -1 ||
	    envelope_set(&env->client_addr, client) == -1 ||
	    envelope_set(&env->client_name, "localhost") == -1 ||
	    envelope_set(&env->helo, "") == -1 ||
	    envelope_set(&env->auth, login) == -1 ||
	    envelope_set(&env->envid, f->md.envid) == -1)
		return -1;
	for (i = 0; i < f->md.nrcpt; i++)
		if (envelope_rcpt_add(env, f->md.rcpt[i].addr, "",
		    f->md.rcpt[i].notify) == -1)
			return -1;
	return 0;
}

int
pickup_queue(struct pickup_file *f, const char *login)
{
	struct envelope	env;
	char		line[1024], why[128];
	int		fd, n;

	envelope_init(&env);
	if ((fd = queue_create(env.qid)) == -1)
		return -1;
	if ((n = pickup_received(f, env.qid, line, sizeof(line))) == -1 ||
	    queue_write_all(fd, line, (size_t)n) == -1 ||
	    queue_write_all(fd, f->buf + f->md.msg_off, f->md.msg_len) == -1) {
		log_warn("pickup: write msg/%s", env.qid);
		close(fd);
		queue_discard(env.qid);
		return -1;
	}
	close(fd);
	strlcpy(why, "out of memory", sizeof(why));
	if (pickup_envelope(f, login, &env) == -1 ||
	    commit_one(&env, why, sizeof(why)) == -1) {
		log_warnx("pickup: maildrop/%s: cannot queue: %s", f->name,
		    why);
		queue_discard(env.qid);
		envelope_free(&env);
		return -1;
	}
	log_info("qid=%s from=<%s> size=%llu nrcpt=%zu client=%s "
	    "source=maildrop/%s status=queued", env.qid, env.sender,
	    (unsigned long long)env.size, env.nrcpt, env.client_addr,
	    f->name);
	qmgr_counters.received++;
	sched_add(&env);
	envelope_free(&env);
	return 0;
}
