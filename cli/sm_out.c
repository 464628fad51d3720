/*
 * sm_out.c: sendmail's buffered output onto the submit socket or a
 * maildrop file, with a bound on how long one write may wait, and the
 * message written through it with CRLF line ends (dot-stuffed for DATA).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sendmail.h"

void
sm_out_init(struct sm_out *o, int fd, int timeout_ms)
{
	o->fd = fd;
	o->timeout_ms = timeout_ms;
	o->err = 0;
	o->len = 0;
}

static int
out_write(struct sm_out *o, const char *p, size_t len)
{
	struct pollfd	pfd;
	ssize_t		n;
	int		rc;

	while (len > 0) {
		pfd.fd = o->fd;
		pfd.events = POLLOUT;
		if ((rc = poll(&pfd, 1, o->timeout_ms)) == 0)
			errno = ETIMEDOUT;
		if (rc <= 0) {
			if (rc == -1 && errno == EINTR)
				continue;
			return -1;
		}
		if ((n = write(o->fd, p, len)) == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sm_out_flush(struct sm_out *o)
{
	if (o->err == 0 && o->len > 0 && out_write(o, o->buf, o->len) == -1)
		o->err = errno ? errno : EIO;
	o->len = 0;
	if (o->err != 0) {
		errno = o->err;
		return -1;
	}
	return 0;
}

void
sm_out_put(struct sm_out *o, const char *p, size_t len)
{
	size_t	n;

	while (len > 0 && o->err == 0) {
		if (o->len == sizeof(o->buf))
			(void)sm_out_flush(o);
		n = sizeof(o->buf) - o->len;
		if (n > len)
			n = len;
		memcpy(o->buf + o->len, p, n);
		o->len += n;
		p += n;
		len -= n;
	}
}

/* text holds lines joined by LF, without the last line's end */
static void
put_lines(struct sm_out *o, const char *text, size_t len, int dots)
{
	const char	*nl;

	for (;;) {
		nl = memchr(text, '\n', len);
		if (dots && len > 0 && text[0] == '.')
			sm_out_put(o, ".", 1);
		sm_out_put(o, text, nl ? (size_t)(nl - text) : len);
		sm_out_put(o, "\r\n", 2);
		if (nl == NULL)
			return;
		len -= (size_t)(nl + 1 - text);
		text = nl + 1;
	}
}

int
sm_write_message(const struct sm_msg *m, struct sm_out *o, int dots)
{
	char	buf[8192];
	size_t	i, n, start;
	int	bol = 1;

	for (i = 0; i < m->nh; i++)
		put_lines(o, m->h[i].text, m->h[i].len, dots);
	sm_out_put(o, "\r\n", 2);
	if (fseeko(m->body, 0, SEEK_SET) == -1)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), m->body)) > 0) {
		for (i = start = 0; i < n; i++) {
			if (bol && dots && buf[i] == '.')
				sm_out_put(o, ".", 1);
			bol = buf[i] == '\n';
			if (bol) {
				sm_out_put(o, buf + start, i - start);
				sm_out_put(o, "\r\n", 2);
				start = i + 1;
			}
		}
		sm_out_put(o, buf + start, n - start);
	}
	return ferror(m->body) ? -1 : sm_out_flush(o);
}
