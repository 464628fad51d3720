/*
 * sm_smtp.c: sendmail's SMTP client of SPOOL/public/submit, where smtpd
 * knows the peer's uid from the kernel (SO_PEERCRED) and takes the
 * submission as that user's. One command at a time, each reply read
 * whole within a bound; every refusal is said on stderr and mapped to a
 * sysexits code as sendmail 8 does.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "proto.h"
#include "public_sock.h"
#include "sendmail.h"

#define SMTP_REPLY_MS		(5 * 60 * 1000)	/* RFC 5321 §4.5.3.2 */
#define SMTP_DATA_END_MS	(10 * 60 * 1000)
#define SMTP_LINE_MAX		1000
#define SMTP_REPLY_LINES_MAX	100

struct smtp {
	int		fd;
	int		verbose;
	struct sm_out	out;
	char		rbuf[4096];
	size_t		rlen;
	size_t		rpos;
	char		line[SMTP_LINE_MAX + 1];
	char		reply[SMTP_LINE_MAX + 1];	/* its last line */
};

int
sm_submit_connect(const char *spool, int *fd)
{
	char	path[4200];
	int	e;

	if ((*fd = public_connect(spool, "submit", SOCK_STREAM, path,
	    sizeof(path))) != -1)
		return 0;
	e = errno;
	if (e == ENOENT || e == ECONNREFUSED)
		return SM_NO_DAEMON;
	fprintf(stderr, "%s: cannot connect to %s: %s\n", sm_progname, path,
	    strerror(e));
	return e == ENAMETOOLONG ? EX_CONFIG : e == EACCES || e == EPERM ?
	    EX_NOPERM : e == EMFILE || e == ENFILE ? EX_OSERR :
	    EX_UNAVAILABLE;
}

/* One line of a reply into s->line, without CRLF: 0 or -1. */
static int
smtp_line(struct smtp *s, int timeout_ms)
{
	struct pollfd	pfd = { s->fd, POLLIN, 0 };
	size_t		n = 0;
	ssize_t		r;
	int		rc;

	for (;;) {
		if (s->rpos == s->rlen) {
			if ((rc = poll(&pfd, 1, timeout_ms)) <= 0) {
				if (rc == -1 && errno == EINTR)
					continue;
				return -1;
			}
			if ((r = read(s->fd, s->rbuf, sizeof(s->rbuf))) <= 0)
				return -1;
			s->rlen = (size_t)r;
			s->rpos = 0;
		}
		if (s->rbuf[s->rpos] == '\n') {
			s->rpos++;
			if (n > 0 && s->line[n - 1] == '\r')
				n--;
			s->line[n] = '\0';
			return 0;
		}
		if (n >= SMTP_LINE_MAX)
			return -1;
		s->line[n++] = s->rbuf[s->rpos++];
	}
}

/* A whole reply; its code, or -1 if the connection failed. each (if
 * not NULL) sees the text of every line, for EHLO's keywords. */
static int
smtp_reply(struct smtp *s, int timeout_ms, void (*each)(const char *))
{
	int	i, code = -1;

	for (i = 0; i < SMTP_REPLY_LINES_MAX; i++) {
		if (smtp_line(s, timeout_ms) == -1)
			return -1;
		if (s->verbose)
			fprintf(stderr, "<<< %s\n", s->line);
		if (strlen(s->line) < 3 || s->line[0] < '2' ||
		    s->line[0] > '5' || (s->line[3] != '\0' &&
		    s->line[3] != ' ' && s->line[3] != '-'))
			return -1;
		code = (s->line[0] - '0') * 100 + (s->line[1] - '0') * 10 +
		    (s->line[2] - '0');
		if (each != NULL && s->line[3] != '\0')
			each(s->line + 4);
		if (s->line[3] != '-') {
			strlcpy(s->reply, s->line, sizeof(s->reply));
			return code;
		}
	}
	return -1;
}

static int
smtp_cmd(struct smtp *s, int timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
smtp_cmd(struct smtp *s, int timeout_ms, const char *fmt, ...)
{
	char	line[SMTP_LINE_MAX + 1];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;
	if (s->verbose)
		fprintf(stderr, ">>> %s\n", line);
	memcpy(line + n, "\r\n", 2);
	sm_out_put(&s->out, line, (size_t)n + 2);
	if (sm_out_flush(&s->out) == -1)
		return -1;
	return smtp_reply(s, timeout_ms, NULL);
}

/* Says what went wrong with the last reply (or the connection). */
static int
smtp_fail(struct smtp *s, const char *what, int code, int exit5)
{
	if (code == -1) {
		fprintf(stderr, "%s: %s: lost connection with the mail "
		    "system\n", sm_progname, what);
		return EX_TEMPFAIL;
	}
	fprintf(stderr, "%s: %s: %s\n", sm_progname, what, s->reply);
	return code >= 400 && code < 500 ? EX_TEMPFAIL : exit5;
}

/* 5.7.x (a sender that is not the user's) is a matter of permission,
 * 5.1.x and 5.5.x of the address as written. */
static int
mail_exit(const struct smtp *s)
{
	if (strncmp(s->reply + 4, "5.7.", 4) == 0)
		return EX_NOPERM;
	if (strncmp(s->reply + 4, "5.1.", 4) == 0 ||
	    strncmp(s->reply + 4, "5.5.", 4) == 0)
		return EX_DATAERR;
	return EX_UNAVAILABLE;
}

static int
rcpt_exit(const struct smtp *s)
{
	if (strncmp(s->reply + 4, "5.1.3", 5) == 0 ||
	    strncmp(s->reply + 4, "5.5.", 4) == 0)
		return EX_DATAERR;
	if (strncmp(s->reply + 4, "5.7.", 4) == 0)
		return EX_NOPERM;
	return EX_NOUSER;
}

/* ENVID= wants xtext (RFC 3461 §4): '+' and '=' are hex-escaped. */
static void
xtext(const char *in, char *out, size_t len)
{
	size_t	n = 0;

	for (; *in != '\0' && n + 4 < len; in++) {
		if (*in == '+' || *in == '=')
			n += (size_t)snprintf(out + n, len - n, "+%02X",
			    (unsigned char)*in);
		else
			out[n++] = *in;
	}
	out[n] = '\0';
}

static int
smtp_mail(struct smtp *s, const struct sm_submit *sub)
{
	char	envid[128] = "", ret[16] = "";
	int	code;

	if (sub->envid != NULL) {
		strlcpy(envid, " ENVID=", sizeof(envid));
		xtext(sub->envid, envid + 7, sizeof(envid) - 7);
	}
	if (sub->ret != 0)
		snprintf(ret, sizeof(ret), " RET=%s",
		    sub->ret == QM_RET_FULL ? "FULL" : "HDRS");
	code = smtp_cmd(s, SMTP_REPLY_MS, "MAIL FROM:<%s> SIZE=%llu%s%s%s%s",
	    sub->sender, (unsigned long long)sub->msg->size,
	    sub->msg->eightbit ? " BODY=8BITMIME" : "",
	    sub->smtputf8 ? " SMTPUTF8" : "", ret, envid);
	if (code / 100 == 2)
		return 0;
	return smtp_fail(s, sub->sender[0] ? sub->sender : "<>", code,
	    code == -1 ? 0 : mail_exit(s));
}

/* Each recipient; *accepted counts them. The first refusal's code. */
static int
smtp_rcpts(struct smtp *s, const struct sm_submit *sub, size_t *accepted)
{
	char	notify[40] = "";
	size_t	i;
	int	code, rc, first = 0;

	if (sub->notify & QM_NOTIFY_NEVER)
		strlcpy(notify, " NOTIFY=NEVER", sizeof(notify));
	else if (sub->notify != 0)
		snprintf(notify, sizeof(notify), " NOTIFY=%s%s%s",
		    sub->notify & QM_NOTIFY_SUCCESS ? "SUCCESS," : "",
		    sub->notify & QM_NOTIFY_FAILURE ? "FAILURE," : "",
		    sub->notify & QM_NOTIFY_DELAY ? "DELAY," : "");
	if (notify[0] != '\0' && notify[strlen(notify) - 1] == ',')
		notify[strlen(notify) - 1] = '\0';
	*accepted = 0;
	for (i = 0; i < sub->nrcpts; i++) {
		code = smtp_cmd(s, SMTP_REPLY_MS, "RCPT TO:<%s>%s",
		    sub->rcpts[i], notify);
		if (code / 100 == 2) {
			(*accepted)++;
			continue;
		}
		rc = smtp_fail(s, sub->rcpts[i], code, code == -1 ? 0 :
		    rcpt_exit(s));
		if (code == -1)
			return rc;
		if (first == 0)
			first = rc;
	}
	return first;
}

static int
smtp_data(struct smtp *s, const struct sm_submit *sub)
{
	int	code;

	code = smtp_cmd(s, SMTP_REPLY_MS, "DATA");
	if (code != 354)
		return smtp_fail(s, "DATA", code, EX_DATAERR);
	s->out.timeout_ms = SMTP_DATA_END_MS;
	if (sm_write_message(sub->msg, &s->out, 1) == -1) {
		fprintf(stderr, "%s: cannot send the message: %s\n",
		    sm_progname, strerror(errno));
		return EX_TEMPFAIL;
	}
	code = smtp_cmd(s, SMTP_DATA_END_MS, ".");
	if (code / 100 != 2)
		return smtp_fail(s, "message", code, EX_DATAERR);
	if (sub->verbose)
		fprintf(stderr, "%s: %s\n", sm_progname, s->reply);
	return 0;
}

static int
smtp_session(struct smtp *s, const struct sm_submit *sub)
{
	size_t	accepted;
	int	code, rc, refused;

	if ((code = smtp_reply(s, SMTP_REPLY_MS, NULL)) != 220)
		return smtp_fail(s, "greeting", code, EX_UNAVAILABLE);
	if ((code = smtp_cmd(s, SMTP_REPLY_MS, "EHLO %s", sub->hostname))
	    != 250)
		return smtp_fail(s, "EHLO", code, EX_PROTOCOL);
	if ((rc = smtp_mail(s, sub)) != 0)
		return rc;
	refused = smtp_rcpts(s, sub, &accepted);
	if (accepted == 0)
		return refused;
	if ((rc = smtp_data(s, sub)) != 0)
		return rc;
	if (refused != 0)
		fprintf(stderr, "%s: sent to the %zu other recipient%s\n",
		    sm_progname, accepted, accepted == 1 ? "" : "s");
	return refused;
}

int
sm_smtp_send(const struct sm_submit *sub, int fd)
{
	static struct smtp	s;
	int			rc;

	memset(&s, 0, sizeof(s));
	s.fd = fd;
	s.verbose = sub->verbose;
	sm_out_init(&s.out, fd, SMTP_REPLY_MS);
	rc = smtp_session(&s, sub);
	/* a goodbye, not waited for long: the answer is decided */
	(void)smtp_cmd(&s, 5000, "QUIT");
	close(fd);
	return rc;
}
