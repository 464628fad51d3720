/*
 * sm_relay.c: sendmail -bs, SMTP on standard input and output, relayed
 * both ways to the submit socket, where smtpd knows this process's uid
 * as it would for a plain submission. It ends when either side closes:
 * standard input's end is passed on as a half-close, so that smtpd still
 * answers what came before it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "sendmail.h"

/* Copies what one side has to the other: 1, 0 at its end, -1. */
static int
relay_copy(int from, int to)
{
	char	buf[16384];
	ssize_t	n, w;
	size_t	off;

	if ((n = read(from, buf, sizeof(buf))) <= 0)
		return n == -1 && (errno == EINTR || errno == EAGAIN) ? 1 :
		    (int)n;
	for (off = 0; off < (size_t)n; off += (size_t)w)
		if ((w = write(to, buf + off, (size_t)n - off)) == -1) {
			if (errno == EINTR)
				w = 0;
			else
				return -1;
		}
	return 1;
}

static int
relay_loop(int sock)
{
	struct pollfd	pfd[2];
	int		rc, in_open = 1;

	pfd[1].fd = sock;
	for (;;) {
		/* a negative fd is left out: no end-of-file again and again */
		pfd[0].fd = in_open ? STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return EX_OSERR;
		}
		if (pfd[1].revents != 0 &&
		    (rc = relay_copy(sock, STDOUT_FILENO)) <= 0)
			return rc == 0 ? EX_OK : EX_IOERR;
		if (in_open && pfd[0].revents != 0 &&
		    (rc = relay_copy(STDIN_FILENO, sock)) <= 0) {
			if (rc == -1)
				return EX_IOERR;
			in_open = 0;
			(void)shutdown(sock, SHUT_WR);
		}
	}
}

int
sm_relay(const char *spool, const char *hostname)
{
	int	sock, rc;

	if ((rc = sm_submit_connect(spool, &sock)) == SM_NO_DAEMON) {
		printf("421 4.3.0 %s Bulwark is not running, try again "
		    "later\r\n", hostname);
		fflush(stdout);
		return EX_TEMPFAIL;
	}
	if (rc != 0)
		return rc;
	rc = relay_loop(sock);
	close(sock);
	return rc;
}
