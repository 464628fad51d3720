/*
 * ctl_client.c: the client end of the queue control socket. The socket
 * is SOCK_SEQPACKET with the daemons' framing (ipc.h): one datagram per
 * request or answer, each answer checked against the table below before
 * anything is read from it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl_client.h"
#include "public_sock.h"

const char	*ctl_progname = "bulwarkctl";

static uint8_t	rbuf[IPC_HDR_SIZE + IPC_MAX_PAYLOAD];

static const struct ipc_rule answer_rules[] = {
	{ CQ_OK, 4, 4 + QC_TEXT_MAX, IPC_FD_NONE },
	{ CQ_ERROR, 8, 8 + QC_TEXT_MAX, IPC_FD_NONE },
	{ CQ_LIST_REPLY, 12, IPC_MAX_PAYLOAD, IPC_FD_NONE },
	{ CQ_SHOW_REPLY, 8, IPC_MAX_PAYLOAD, IPC_FD_NONE },
	{ CQ_COUNTERS_REPLY, 4, IPC_MAX_PAYLOAD, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

static void
ctl_alarm(int sig)
{
	static const char msg[] = ": the queue manager did not answer\n";

	/* the exit status says it if stderr cannot */
	if (write(STDERR_FILENO, ctl_progname, strlen(ctl_progname)) > 0 &&
	    write(STDERR_FILENO, msg, sizeof(msg) - 1) > 0)
		_exit(EX_TEMPFAIL);
	_exit(EX_TEMPFAIL);
}

int
ctl_connect(const char *spool_dir)
{
	char	path[4200];
	int	fd, e;

	if ((fd = public_connect(spool_dir, "control", SOCK_SEQPACKET, path,
	    sizeof(path))) == -1) {
		e = errno;
		fprintf(stderr, "%s: cannot connect to %s: %s%s\n",
		    ctl_progname, path, strerror(e),
		    e == ENOENT || e == ECONNREFUSED ?
		    " (is bulwark running?)" : "");
		return e == ENAMETOOLONG ? -EX_CONFIG : e == EACCES ||
		    e == EPERM ? -EX_NOPERM : e == EMFILE || e == ENFILE ?
		    -EX_OSERR : -EX_UNAVAILABLE;
	}
	signal(SIGALRM, ctl_alarm);
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

int
ctl_bad_answer(const char *what)
{
	fprintf(stderr, "%s: malformed answer from the queue manager (%s)\n",
	    ctl_progname, what);
	return EX_PROTOCOL;
}

static int
ctl_error_exit(uint32_t code)
{
	switch (code) {
	case QCE_DENIED:
		return EX_NOPERM;
	case QCE_NOTFOUND:
		return EX_NOINPUT;
	case QCE_STATE:
		return EX_DATAERR;
	case QCE_TEMP:
		return EX_TEMPFAIL;
	case QCE_IOERR:
		return EX_IOERR;
	default:
		return EX_PROTOCOL;
	}
}

/* A CQ_ERROR answer: say what it says. */
static int
ctl_error(struct ipc_msg *m)
{
	struct wire_r	r;
	char		text[QC_TEXT_MAX + 1];
	uint32_t	code;

	wire_r_init(&r, m);
	if (qc_error_read(&r, &code, text, sizeof(text)) == -1 ||
	    wire_r_end(&r) == -1)
		return ctl_bad_answer("error");
	fprintf(stderr, "%s: %s\n", ctl_progname, text);
	return ctl_error_exit(code);
}

int
ctl_call(int sock, uint16_t type, const struct wire_w *req,
    struct ipc_msg *reply)
{
	const char	*why;

	if (req->err) {
		fprintf(stderr, "%s: request too long\n", ctl_progname);
		return EX_USAGE;
	}
	alarm(CTL_TIMEOUT_SEC);
	if (ipc_send_fd(sock, type, req->buf, req->len, -1) == -1) {
		fprintf(stderr, "%s: send to the queue manager: %s\n",
		    ctl_progname, strerror(errno));
		return EX_UNAVAILABLE;
	}
	if (ipc_recv_blocking(sock, answer_rules, rbuf, sizeof(rbuf), reply,
	    &why) == -1) {
		alarm(0);
		if (strcmp(why, "eof") == 0) {
			fprintf(stderr, "%s: the queue manager hung up\n",
			    ctl_progname);
			return EX_UNAVAILABLE;
		}
		return ctl_bad_answer(why);
	}
	alarm(0);
	if (reply->type == CQ_ERROR)
		return ctl_error(reply);
	return 0;
}

int
ctl_ident(int sock)
{
	static struct wire_w	 w;
	struct passwd		*pw;
	struct ipc_msg		 m;
	int			 rc;

	if ((pw = getpwuid(getuid())) == NULL) {
		fprintf(stderr, "%s: who are you? (uid %u has no login)\n",
		    ctl_progname, (unsigned)getuid());
		return EX_NOUSER;
	}
	wire_w_init(&w);
	qc_str_write(&w, pw->pw_name);
	if ((rc = ctl_call(sock, CQ_IDENT, &w, &m)) != 0)
		return rc;
	return m.type == CQ_OK ? 0 : ctl_bad_answer("ident");
}
