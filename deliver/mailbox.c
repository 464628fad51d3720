/*
 * mailbox.c: what the Maildir and mbox writers share: the result and the
 * rule that turns a failed system call into a DSN, the loop check, and the
 * copy of the message from the queue file (read with pread, never moving
 * the offset that qmgr and other children share) through the stream.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mailbox.h"

#define MAILBOX_READ_SIZE	(64 * 1024)

volatile sig_atomic_t	mailbox_cancelled;

void
mailbox_result(struct local_result *res, enum dl_status status,
    const char *dsn, const char *fmt, ...)
{
	va_list	ap;

	res->status = status;
	strlcpy(res->dsn, dsn, sizeof(res->dsn));
	va_start(ap, fmt);
	(void)vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
}

void
mailbox_note(struct local_result *res, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(res->note, sizeof(res->note), fmt, ap);
	va_end(ap);
}

void
mailbox_name(struct local_result *res, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(res->mailbox, sizeof(res->mailbox), fmt, ap);
	va_end(ap);
}

/* Every failure of a system call is temporary: what a full disk, a
 * quota or a missing home directory needs is time and an administrator.
 * The permanent refusals (a symlinked mailbox, ...) are decided by the
 * callers before they get here. */
void
mailbox_errno_result(struct local_result *res, int err, const char *what,
    const char *path)
{
	const char	*dsn;

	switch (err) {
	case EDQUOT:
	case EFBIG:
		dsn = "4.2.2";		/* mailbox full */
		break;
	case ENOSPC:
		dsn = "4.3.1";		/* mail system full */
		break;
	case ECANCELED:			/* SIGTERM: the parent's timeout */
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "%s %s: timed out",
		    what, path);
		return;
	default:
		dsn = "4.3.0";
		break;
	}
	mailbox_result(res, DL_TEMPFAIL, dsn, "%s %s: %s", what, path,
	    strerror(err));
}

/* pread() the whole of len, or less at the end of the file. */
static ssize_t
mailbox_read(int fd, void *buf, size_t len, off_t off)
{
	ssize_t	n;

	do
		n = pread(fd, buf, len, off);
	while (n == -1 && errno == EINTR && !mailbox_cancelled);
	if (n == -1 && mailbox_cancelled)
		errno = ECANCELED;
	return n;
}

int
mailbox_check_loop(const struct local_env *env, struct local_result *res)
{
	static char	buf[MAILBOX_READ_SIZE];
	struct hdr_scan	h;
	off_t		off = 0;
	ssize_t		n;

	hdr_scan_init(&h, env->dtrcpt);
	while ((n = mailbox_read(env->msgfd, buf, sizeof(buf), off)) > 0) {
		if (hdr_scan_feed(&h, buf, (size_t)n))
			break;
		off += n;
	}
	if (n == -1) {
		mailbox_errno_result(res, errno, "read", "message");
		return -1;
	}
	hdr_scan_end(&h);
	if (hdr_scan_is_loop(&h, LOCAL_MAX_RECEIVED)) {
		mailbox_result(res, DL_PERMFAIL, "5.4.6", "mail loop: %s",
		    h.delivered ? "already delivered to this recipient" :
		    "too many Received: headers");
		return -1;
	}
	return 0;
}

int
mailbox_copy(struct stream *s, const struct local_env *env, int *read_err)
{
	static char	buf[MAILBOX_READ_SIZE];
	char		trace[2 * QM_ADDR_MAX + 64];
	off_t		off = 0;
	ssize_t		n;
	int		tlen;

	*read_err = 0;
	if ((tlen = hdr_trace(trace, sizeof(trace), env->sender,
	    env->dtrcpt)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (stream_raw(s, trace, (size_t)tlen) == -1)
		goto write_failed;
	while ((n = mailbox_read(env->msgfd, buf, sizeof(buf), off)) > 0) {
		if (stream_put(s, buf, (size_t)n) == -1)
			goto write_failed;
		off += n;
	}
	if (n == -1) {
		*read_err = 1;
		return -1;
	}
	if (stream_finish(s) == 0)
		return 0;
write_failed:
	errno = s->err;
	return -1;
}

int
mailbox_write_fd(void *arg, const void *buf, size_t len)
{
	const char	*p = buf;
	int		 fd = *(int *)arg;
	ssize_t		 n;

	while (len > 0) {
		if (mailbox_cancelled) {
			errno = ECANCELED;
			return -1;
		}
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
