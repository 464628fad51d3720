/*
 * sm_drop.c: when nobody listens on the submit socket, sendmail leaves
 * the message in SPOOL/queue/maildrop/ (mode 1730, group _bulwarkdrop:
 * the set-group-id sendmail may create files there, list nothing, and
 * remove only its own) for qmgr to pick up at its next start. The file
 * is written under a temporary name, synced, then renamed, so that qmgr
 * never sees half of one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "maildrop.h"
#include "proto.h"
#include "sendmail.h"

#define DROP_NAME_MAX	48	/* the final name */
#define DROP_TMP_MAX	(DROP_NAME_MAX + sizeof(MAILDROP_TMP_PREFIX))

static int
drop_fail(const char *what, int code)
{
	fprintf(stderr, "%s: Bulwark is not running, and the message cannot "
	    "be left for it: %s: %s\n", sm_progname, what, strerror(errno));
	return code;
}

static int
drop_envelope(const struct sm_submit *sub, struct maildrop *md, char **text,
    size_t *len)
{
	char	err[128];
	size_t	i;

	maildrop_init(md);
	md->flags = sub->smtputf8 ? QM_F_SMTPUTF8 : 0;
	md->body = sub->msg->eightbit ? QM_BODY_8BITMIME : QM_BODY_7BIT;
	md->ret = sub->ret;
	strlcpy(md->envid, sub->envid ? sub->envid : "", sizeof(md->envid));
	strlcpy(md->sender, sub->sender, sizeof(md->sender));
	for (i = 0; i < sub->nrcpts; i++)
		if (maildrop_rcpt_add(md, sub->rcpts[i], sub->notify) == -1) {
			maildrop_free(md);
			return drop_fail("recipients", EX_OSERR);
		}
	*text = maildrop_format(md, len, err, sizeof(err));
	maildrop_free(md);
	if (*text == NULL) {
		fprintf(stderr, "%s: cannot write a maildrop file: %s\n",
		    sm_progname, err);
		return EX_DATAERR;
	}
	return 0;
}

/* The file's content, synced: 0 or -1. */
static int
drop_write(int fd, const char *text, size_t len, const struct sm_msg *m)
{
	struct sm_out	*o;
	int		 rc;

	if ((o = malloc(sizeof(*o))) == NULL)
		return -1;
	sm_out_init(o, fd, -1);
	sm_out_put(o, text, len);
	rc = sm_write_message(m, o, 0);
	free(o);
	if (rc == -1 || fchmod(fd, 0644) == -1 || fsync(fd) == -1)
		return -1;
	return 0;
}

/* Arrival order first, then enough randomness that no two clash. */
static void
drop_names(char tmp[DROP_TMP_MAX], char final[DROP_NAME_MAX])
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		memset(&ts, 0, sizeof(ts));
	snprintf(final, DROP_NAME_MAX, "%08llX%05lX.%u.%08X",
	    (unsigned long long)ts.tv_sec & 0xffffffffULL,
	    (unsigned long)(ts.tv_nsec / 1000), (unsigned)getpid(),
	    arc4random());
	snprintf(tmp, DROP_TMP_MAX, "%s%s", MAILDROP_TMP_PREFIX, final);
}

/* Creates, writes and renames the file in dir; 0 or a sysexits code. */
static int
drop_file(int dir, const char *text, size_t len, const struct sm_msg *m,
    char *final)
{
	char	tmp[DROP_TMP_MAX];
	int	fd, rc;

	drop_names(tmp, final);
	if (sm_priv_raise() == -1)
		return drop_fail("setegid", EX_OSERR);
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	sm_priv_lower();
	if (fd == -1)
		return drop_fail(tmp, errno == EACCES ? EX_NOPERM :
		    EX_CANTCREAT);
	if (drop_write(fd, text, len, m) == -1) {
		rc = drop_fail(tmp, EX_IOERR);
		close(fd);
		goto remove;
	}
	if (close(fd) == -1) {
		rc = drop_fail(tmp, EX_IOERR);
		goto remove;
	}
	if (sm_priv_raise() == -1)
		return drop_fail("setegid", EX_OSERR);
	rc = renameat(dir, tmp, dir, final);
	sm_priv_lower();
	if (rc == 0)
		return 0;
	rc = drop_fail(final, EX_IOERR);
remove:
	if (sm_priv_raise() == 0) {
		(void)unlinkat(dir, tmp, 0);
		sm_priv_lower();
	}
	return rc;
}

int
sm_drop(const struct sm_submit *sub)
{
	struct maildrop	 md;
	char		 path[4200], final[DROP_NAME_MAX], *text;
	size_t		 len;
	int		 dir, rc;

	if ((rc = drop_envelope(sub, &md, &text, &len)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/queue/%s", sub->spool, MAILDROP_DIR);
	/* O_PATH: the group may search the directory, not read it */
	if (sm_priv_raise() == -1) {
		free(text);
		return drop_fail("setegid", EX_OSERR);
	}
	dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	sm_priv_lower();
	if (dir == -1) {
		free(text);
		return drop_fail(path, errno == EACCES ? EX_NOPERM :
		    EX_UNAVAILABLE);
	}
	rc = drop_file(dir, text, len, sub->msg, final);
	close(dir);
	free(text);
	if (rc == 0)
		fprintf(stderr, "%s: Bulwark is not running; the message is "
		    "queued (maildrop/%s) and goes out when it starts\n",
		    sm_progname, final);
	return rc;
}
