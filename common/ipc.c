/*
 * ipc.c: framed messages over SOCK_SEQPACKET (see ipc.h). The record
 * boundaries of SEQPACKET make every check exact: a datagram is a whole
 * frame, its length must equal the header's, and a descriptor belongs to
 * exactly the frame it arrived with.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc.h"
#include "log.h"

#define IPC_MAX_FDS	4	/* received beyond 1 only to be closed */
#define IPC_READ_BURST	64	/* frames per wake-up, for fairness */

struct ipc_out {
	TAILQ_ENTRY(ipc_out)	 entry;
	int			 fd;
	size_t			 len;
	uint8_t			 frame[];
};

struct ipc_chan {
	int			 sock;
	char			 peer[64];
	const struct ipc_rule	*rules;
	ipc_dispatch_fn		*dispatch;
	ipc_closed_fn		*closed;
	void			*arg;
	struct event		*ev_read;
	struct event		*ev_write;
	TAILQ_HEAD(, ipc_out)	 outq;
	size_t			 outq_len;
	int			 open;
	int			 busy;		/* inside a callback */
	int			 freed;		/* free when not busy */
};

/* Frames are dispatched one at a time and their data is valid only during
 * the dispatch call, so one receive buffer serves every channel. */
static uint8_t	ipc_rbuf[IPC_HDR_SIZE + IPC_MAX_PAYLOAD];

static const struct ipc_rule *
ipc_rule_find(const struct ipc_rule *rules, uint16_t type)
{
	for (; rules->type != 0; rules++)
		if (rules->type == type)
			return rules;
	return NULL;
}

int
ipc_frame_check(const uint8_t *buf, size_t n, int nfds, int truncated,
    const struct ipc_rule *rules, struct ipc_msg *m, const char **why)
{
	const struct ipc_rule	*r;
	uint16_t		 type, flags;
	uint32_t		 len;

	*why = NULL;
	if (truncated)
		*why = "frame truncated or beyond the maximum size";
	else if (n < IPC_HDR_SIZE)
		*why = "short header";
	if (*why != NULL)
		return -1;
	type = (uint16_t)(buf[0] | buf[1] << 8);
	flags = (uint16_t)(buf[2] | buf[3] << 8);
	len = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 |
	    (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
	if (len > IPC_MAX_PAYLOAD)
		*why = "length beyond the maximum";
	else if (len != n - IPC_HDR_SIZE)
		*why = "length does not match the frame";
	else if (flags & ~IPC_F_FD)
		*why = "unknown flags";
	else if (nfds > 1)
		*why = "more than one descriptor";
	else if (((flags & IPC_F_FD) != 0) != (nfds == 1))
		*why = "descriptor does not match the header";
	else if ((r = ipc_rule_find(rules, type)) == NULL)
		*why = "unknown message type";
	else if (len < r->min_len || len > r->max_len)
		*why = "bad length for the message type";
	else if ((r->fd == IPC_FD_NONE && nfds) ||
	    (r->fd == IPC_FD_REQUIRED && !nfds))
		*why = nfds ? "unexpected descriptor" : "missing descriptor";
	if (*why != NULL)
		return -1;
	m->type = type;
	m->fd = -1;
	m->len = len;
	m->data = buf + IPC_HDR_SIZE;
	return 0;
}

static size_t
ipc_frame_build(uint8_t *out, uint16_t type, const void *data, size_t len,
    int fd)
{
	uint16_t	flags = fd >= 0 ? IPC_F_FD : 0;

	out[0] = type & 0xff;
	out[1] = type >> 8;
	out[2] = flags & 0xff;
	out[3] = flags >> 8;
	out[4] = len & 0xff;
	out[5] = (len >> 8) & 0xff;
	out[6] = (len >> 16) & 0xff;
	out[7] = (len >> 24) & 0xff;
	if (len > 0)
		memcpy(out + IPC_HDR_SIZE, data, len);
	return IPC_HDR_SIZE + len;
}

/* One sendmsg of a whole frame; returns 0, or -1 with errno. */
static int
ipc_sendmsg(int sock, const uint8_t *frame, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = (void *)frame;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

static int
ipc_peer_hung_up(int sock)
{
	struct pollfd	pfd = { .fd = sock, .events = POLLIN | POLLRDHUP };

	if (poll(&pfd, 1, 0) == -1)
		return 1;
	return (pfd.revents & (POLLHUP | POLLRDHUP)) != 0;
}

/* Receives one datagram and checks it. Returns 1 with a frame, 0 when no
 * datagram is waiting, -1 on EOF, error or a bad frame (*why says). */
static int
ipc_recv_one(int sock, const struct ipc_rule *rules, uint8_t *buf,
    size_t buflen, struct ipc_msg *m, const char **why)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	}		 cmsgbuf;
	int		 fds[IPC_MAX_FDS], nfds = 0, i;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 k;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = buflen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	do
		n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n == -1) {
		*why = strerror(errno);
		return -1;
	}
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; (size_t)i < k && nfds < IPC_MAX_FDS; i++)
			memcpy(&fds[nfds++], CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
	}
	/* SEQPACKET reads 0 both at end of file and for an empty
	 * datagram; only a hang-up is the end, an empty frame is bad */
	if (n == 0 && nfds == 0 && ipc_peer_hung_up(sock)) {
		*why = "eof";
		return -1;
	}
	if (ipc_frame_check(buf, (size_t)n, nfds,
	    (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0, rules, m,
	    why) == -1) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return -1;
	}
	m->fd = nfds == 1 ? fds[0] : -1;
	return 1;
}

int
ipc_send_fd(int sock, uint16_t type, const void *data, size_t len, int fd)
{
	uint8_t	*frame;
	size_t	 n;
	int	 rc;

	if (len > IPC_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((frame = malloc(IPC_HDR_SIZE + len)) == NULL)
		return -1;
	n = ipc_frame_build(frame, type, data, len, fd);
	for (;;) {
		rc = ipc_sendmsg(sock, frame, n, fd);
		if (rc == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		struct pollfd pfd = { .fd = sock, .events = POLLOUT };
		(void)poll(&pfd, 1, -1);
	}
	free(frame);
	return rc;
}

int
ipc_recv_blocking(int sock, const struct ipc_rule *rules, uint8_t *buf,
    size_t buflen, struct ipc_msg *m, const char **why)
{
	struct pollfd	pfd = { .fd = sock, .events = POLLIN };
	int		rc;

	for (;;) {
		rc = ipc_recv_one(sock, rules, buf, buflen, m, why);
		if (rc != 0)
			return rc == 1 ? 0 : -1;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR) {
			*why = strerror(errno);
			return -1;
		}
	}
}

int
ipc_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

static void
ipc_chan_drain(struct ipc_chan *c)
{
	struct ipc_out	*o;

	event_del(c->ev_read);
	event_del(c->ev_write);
	while ((o = TAILQ_FIRST(&c->outq)) != NULL) {
		TAILQ_REMOVE(&c->outq, o, entry);
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	c->outq_len = 0;
}

/* The peer is gone or misbehaved: stop, then tell the owner once. */
static void
ipc_chan_shutdown(struct ipc_chan *c, const char *why)
{
	if (!c->open)
		return;
	c->open = 0;
	ipc_chan_drain(c);
	c->busy++;
	c->closed(c, why, c->arg);
	c->busy--;
}

static void
ipc_chan_destroy(struct ipc_chan *c)
{
	ipc_chan_drain(c);
	event_free(c->ev_read);
	event_free(c->ev_write);
	close(c->sock);
	free(c);
}

static void
ipc_chan_read(evutil_socket_t sock, short what, void *arg)
{
	struct ipc_chan	*c = arg;
	struct ipc_msg	 m;
	const char	*why = NULL;
	int		 i, rc;

	c->busy++;
	for (i = 0; i < IPC_READ_BURST && c->open && !c->freed; i++) {
		rc = ipc_recv_one(sock, c->rules, ipc_rbuf, sizeof(ipc_rbuf),
		    &m, &why);
		if (rc == 0)
			break;
		if (rc == -1) {
			if (strcmp(why, "eof") != 0)
				log_warnx("ipc: %s: %s; dropping the peer",
				    c->peer, why);
			ipc_chan_shutdown(c, why);
			break;
		}
		c->dispatch(c, &m, c->arg);
	}
	c->busy--;
	if (c->freed && c->busy == 0)
		ipc_chan_destroy(c);
}

static void
ipc_chan_write(evutil_socket_t sock, short what, void *arg)
{
	struct ipc_chan	*c = arg;
	struct ipc_out	*o;

	while ((o = TAILQ_FIRST(&c->outq)) != NULL) {
		if (ipc_sendmsg(sock, o->frame, o->len, o->fd) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_warn("ipc: send to %s", c->peer);
			c->busy++;
			ipc_chan_shutdown(c, "send failed");
			c->busy--;
			if (c->freed && c->busy == 0)
				ipc_chan_destroy(c);
			return;
		}
		TAILQ_REMOVE(&c->outq, o, entry);
		c->outq_len--;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	event_del(c->ev_write);
}

struct ipc_chan *
ipc_chan_new(struct event_base *base, int sock, const char *peer,
    const struct ipc_rule *rules, ipc_dispatch_fn *dispatch,
    ipc_closed_fn *closed, void *arg)
{
	struct ipc_chan	*c;
	int		 fl;

	if ((fl = fcntl(sock, F_GETFL)) == -1 ||
	    fcntl(sock, F_SETFL, fl | O_NONBLOCK) == -1)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->sock = sock;
	strlcpy(c->peer, peer, sizeof(c->peer));
	c->rules = rules;
	c->dispatch = dispatch;
	c->closed = closed;
	c->arg = arg;
	TAILQ_INIT(&c->outq);
	c->ev_read = event_new(base, sock, EV_READ | EV_PERSIST,
	    ipc_chan_read, c);
	c->ev_write = event_new(base, sock, EV_WRITE | EV_PERSIST,
	    ipc_chan_write, c);
	if (c->ev_read == NULL || c->ev_write == NULL ||
	    event_add(c->ev_read, NULL) == -1) {
		if (c->ev_read)
			event_free(c->ev_read);
		if (c->ev_write)
			event_free(c->ev_write);
		free(c);
		return NULL;
	}
	c->open = 1;
	return c;
}

int
ipc_send(struct ipc_chan *c, uint16_t type, const void *data, size_t len,
    int fd)
{
	struct ipc_out	*o;
	size_t		 n;

	if (!c->open || len > IPC_MAX_PAYLOAD || c->outq_len >= IPC_MAX_QUEUE)
		goto fail;
	if ((o = malloc(sizeof(*o) + IPC_HDR_SIZE + len)) == NULL)
		goto fail;
	n = ipc_frame_build(o->frame, type, data, len, fd);
	if (TAILQ_EMPTY(&c->outq)) {
		if (ipc_sendmsg(c->sock, o->frame, n, fd) == 0) {
			free(o);
			if (fd >= 0)
				close(fd);
			return 0;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* the read side sees the same error and reports it */
			log_warn("ipc: send to %s", c->peer);
			free(o);
			goto fail;
		}
		event_add(c->ev_write, NULL);
	}
	o->fd = fd;
	o->len = n;
	TAILQ_INSERT_TAIL(&c->outq, o, entry);
	c->outq_len++;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

const char *
ipc_chan_peer(const struct ipc_chan *c)
{
	return c->peer;
}

int
ipc_chan_fd(const struct ipc_chan *c)
{
	return c->sock;
}

int
ipc_chan_is_open(const struct ipc_chan *c)
{
	return c->open;
}

size_t
ipc_chan_queued(const struct ipc_chan *c)
{
	return c->outq_len;
}

void
ipc_chan_free(struct ipc_chan *c)
{
	if (c == NULL)
		return;
	if (c->busy) {
		/* inside one of its callbacks: finish the call first */
		c->freed = 1;
		c->open = 0;
		ipc_chan_drain(c);
		return;
	}
	ipc_chan_destroy(c);
}
