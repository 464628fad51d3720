/*
 * test_ipc.c: unit tests of the IPC framing (common/ipc.c): every rule of
 * ipc_frame_check, a blocking round trip over a real SOCK_SEQPACKET pair
 * with and without a descriptor, and event-driven channels on a libevent
 * base that must survive a peer sending garbage: the closed callback is
 * called once with the reason, nothing is dispatched, nothing leaks.
 */

#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "ipc.h"

enum {
	T_EMPTY = 10,		/* no payload, no descriptor */
	T_SMALL,		/* 4..8 bytes, no descriptor */
	T_WITH_FD,		/* 4 bytes and a descriptor */
	T_MAYBE_FD,		/* 0..16 bytes, descriptor optional */
	T_BIG,			/* up to the maximum */
};

static const struct ipc_rule rules[] = {
	{ T_EMPTY, 0, 0, IPC_FD_NONE },
	{ T_SMALL, 4, 8, IPC_FD_NONE },
	{ T_WITH_FD, 4, 4, IPC_FD_REQUIRED },
	{ T_MAYBE_FD, 0, 16, IPC_FD_OPTIONAL },
	{ T_BIG, 0, IPC_MAX_PAYLOAD, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

static uint8_t	frame[IPC_HDR_SIZE + IPC_MAX_PAYLOAD + 64];

/* Writes a header into frame and a payload of plen bytes (0x41...);
 * returns the datagram's size. hlen is what the header claims. */
static size_t
mkframe(uint16_t type, uint16_t flags, uint32_t hlen, size_t plen)
{
	size_t	i;

	frame[0] = type & 0xff;
	frame[1] = type >> 8;
	frame[2] = flags & 0xff;
	frame[3] = flags >> 8;
	frame[4] = hlen & 0xff;
	frame[5] = (hlen >> 8) & 0xff;
	frame[6] = (hlen >> 16) & 0xff;
	frame[7] = (hlen >> 24) & 0xff;
	for (i = 0; i < plen; i++)
		frame[IPC_HDR_SIZE + i] = (uint8_t)('A' + i % 26);
	return IPC_HDR_SIZE + plen;
}

/* Checks that the frame in buf is refused with exactly this reason. */
static void
refused(size_t n, int nfds, int truncated, const char *reason)
{
	struct ipc_msg	 m;
	const char	*why = "not set";

	memset(&m, 0x5a, sizeof(m));
	if (ipc_frame_check(frame, n, nfds, truncated, rules, &m, &why) != -1)
		fail_msg("accepted a frame that should fail with \"%s\"",
		    reason);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void
accepted(size_t n, int nfds, uint16_t type, uint32_t len)
{
	struct ipc_msg	 m;
	const char	*why = "not set";

	memset(&m, 0x5a, sizeof(m));
	if (ipc_frame_check(frame, n, nfds, 0, rules, &m, &why) != 0)
		fail_msg("refused a good frame: %s", why ? why : "(null)");
	assert_null(why);
	assert_int_equal(m.type, type);
	assert_int_equal(m.len, len);
	assert_int_equal(m.fd, -1);	/* the caller attaches it */
	assert_ptr_equal(m.data, frame + IPC_HDR_SIZE);
}

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Sends a raw datagram with nfds copies of fd attached. */
static void
raw_send(int sock, const void *buf, size_t len, int fd, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	}		 cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*c;
	int		 fds[4], i;

	assert_true(nfds >= 0 && nfds <= 4);
	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		for (i = 0; i < nfds; i++)
			fds[i] = fd;
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * ipc_frame_check
 */

static void
test_check_short_header(void **state)
{
	size_t	n;

	mkframe(T_EMPTY, 0, 0, 0);
	for (n = 0; n < IPC_HDR_SIZE; n++)
		refused(n, 0, 0, "short header");
	/* even with a descriptor attached */
	refused(3, 1, 0, "short header");
}

static void
test_check_truncated(void **state)
{
	size_t	n = mkframe(T_SMALL, 0, 4, 4);

	/* a frame that is fine in itself, but the kernel cut it */
	refused(n, 0, 1, "frame truncated or beyond the maximum size");
	refused(2, 0, 1, "frame truncated or beyond the maximum size");
}

static void
test_check_length_mismatch(void **state)
{
	mkframe(T_SMALL, 0, 4, 8);
	refused(IPC_HDR_SIZE + 3, 0, 0, "length does not match the frame");
	refused(IPC_HDR_SIZE + 5, 0, 0, "length does not match the frame");
	refused(IPC_HDR_SIZE, 0, 0, "length does not match the frame");
	mkframe(T_EMPTY, 0, 0, 1);
	refused(IPC_HDR_SIZE + 1, 0, 0, "length does not match the frame");
}

static void
test_check_length_beyond_max(void **state)
{
	size_t	n;

	n = mkframe(T_BIG, 0, IPC_MAX_PAYLOAD + 1, 0);
	refused(n, 0, 0, "length beyond the maximum");
	n = mkframe(T_BIG, 0, UINT32_MAX, 0);
	refused(n, 0, 0, "length beyond the maximum");
	/* UINT32_MAX - 7 + 8 would wrap to 0 in a careless sum */
	n = mkframe(T_BIG, 0, UINT32_MAX - IPC_HDR_SIZE + 1, 0);
	refused(n, 0, 0, "length beyond the maximum");
	/* even when the datagram really is that long */
	n = mkframe(T_BIG, 0, IPC_MAX_PAYLOAD + 1, IPC_MAX_PAYLOAD + 1);
	refused(n, 0, 0, "length beyond the maximum");
	/* the maximum itself is fine */
	n = mkframe(T_BIG, 0, IPC_MAX_PAYLOAD, IPC_MAX_PAYLOAD);
	accepted(n, 0, T_BIG, IPC_MAX_PAYLOAD);
}

static void
test_check_unknown_flags(void **state)
{
	static const uint16_t	bad[] = { 0x0002, 0x0004, 0x0100, 0x8000,
				    0xffff, 0x0003 };
	size_t			i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = mkframe(T_MAYBE_FD, bad[i], 0, 0);
		refused(n, bad[i] & IPC_F_FD ? 1 : 0, 0, "unknown flags");
	}
}

static void
test_check_descriptors(void **state)
{
	size_t	n;

	/* more than one, whatever the header says */
	n = mkframe(T_WITH_FD, IPC_F_FD, 4, 4);
	refused(n, 2, 0, "more than one descriptor");
	refused(n, 4, 0, "more than one descriptor");
	n = mkframe(T_MAYBE_FD, 0, 0, 0);
	refused(n, 3, 0, "more than one descriptor");

	/* header and ancillary data disagree */
	n = mkframe(T_MAYBE_FD, IPC_F_FD, 0, 0);
	refused(n, 0, 0, "descriptor does not match the header");
	n = mkframe(T_MAYBE_FD, 0, 0, 0);
	refused(n, 1, 0, "descriptor does not match the header");

	/* the type's rule */
	n = mkframe(T_WITH_FD, 0, 4, 4);
	refused(n, 0, 0, "missing descriptor");
	n = mkframe(T_EMPTY, IPC_F_FD, 0, 0);
	refused(n, 1, 0, "unexpected descriptor");
	n = mkframe(T_SMALL, IPC_F_FD, 4, 4);
	refused(n, 1, 0, "unexpected descriptor");

	/* and what the rules allow */
	n = mkframe(T_WITH_FD, IPC_F_FD, 4, 4);
	accepted(n, 1, T_WITH_FD, 4);
	n = mkframe(T_MAYBE_FD, IPC_F_FD, 16, 16);
	accepted(n, 1, T_MAYBE_FD, 16);
	n = mkframe(T_MAYBE_FD, 0, 0, 0);
	accepted(n, 0, T_MAYBE_FD, 0);
}

static void
test_check_unknown_type(void **state)
{
	size_t	n;

	n = mkframe(99, 0, 0, 0);
	refused(n, 0, 0, "unknown message type");
	n = mkframe(0xffff, 0, 4, 4);
	refused(n, 0, 0, "unknown message type");
	/* type 0 ends the table; it must never match the terminator */
	n = mkframe(0, 0, 0, 0);
	refused(n, 0, 0, "unknown message type");
	/* a type of the table in the high byte only */
	n = mkframe((uint16_t)(T_SMALL << 8), 0, 4, 4);
	refused(n, 0, 0, "unknown message type");
}

static void
test_check_bad_length_for_type(void **state)
{
	size_t	n;

	n = mkframe(T_EMPTY, 0, 1, 1);
	refused(n, 0, 0, "bad length for the message type");
	n = mkframe(T_SMALL, 0, 3, 3);
	refused(n, 0, 0, "bad length for the message type");
	n = mkframe(T_SMALL, 0, 9, 9);
	refused(n, 0, 0, "bad length for the message type");
	n = mkframe(T_SMALL, 0, 0, 0);
	refused(n, 0, 0, "bad length for the message type");
	n = mkframe(T_WITH_FD, IPC_F_FD, 5, 5);
	refused(n, 1, 0, "bad length for the message type");
	n = mkframe(T_MAYBE_FD, 0, 17, 17);
	refused(n, 0, 0, "bad length for the message type");
}

static void
test_check_good(void **state)
{
	size_t	n;

	n = mkframe(T_EMPTY, 0, 0, 0);
	accepted(n, 0, T_EMPTY, 0);
	n = mkframe(T_SMALL, 0, 4, 4);
	accepted(n, 0, T_SMALL, 4);
	n = mkframe(T_SMALL, 0, 8, 8);
	accepted(n, 0, T_SMALL, 8);
	n = mkframe(T_BIG, 0, 1000, 1000);
	accepted(n, 0, T_BIG, 1000);
}

/*
 * Blocking round trips over a real socketpair.
 */

static void
test_socketpair_flags(void **state)
{
	int	sv[2], type;
	socklen_t len = sizeof(type);

	assert_int_equal(ipc_socketpair(sv), 0);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len),
	    0);
	assert_int_equal(type, SOCK_SEQPACKET);
	assert_true(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(sv[1], F_GETFD) & FD_CLOEXEC);
	close(sv[0]);
	close(sv[1]);
}

static void
test_round_trip(void **state)
{
	static uint8_t	 big[IPC_MAX_PAYLOAD], buf[IPC_HDR_SIZE +
			    IPC_MAX_PAYLOAD];
	struct ipc_msg	 m;
	const char	*why;
	int		 sv[2];
	size_t		 i;

	assert_int_equal(ipc_socketpair(sv), 0);

	assert_int_equal(ipc_send_fd(sv[0], T_SMALL, "abcdef", 6, -1), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), 0);
	assert_int_equal(m.type, T_SMALL);
	assert_int_equal(m.len, 6);
	assert_int_equal(m.fd, -1);
	assert_memory_equal(m.data, "abcdef", 6);

	assert_int_equal(ipc_send_fd(sv[1], T_EMPTY, NULL, 0, -1), 0);
	assert_int_equal(ipc_recv_blocking(sv[0], rules, buf, sizeof(buf),
	    &m, &why), 0);
	assert_int_equal(m.type, T_EMPTY);
	assert_int_equal(m.len, 0);

	/* the largest frame */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(ipc_send_fd(sv[0], T_BIG, big, sizeof(big), -1), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), 0);
	assert_int_equal(m.type, T_BIG);
	assert_int_equal(m.len, sizeof(big));
	assert_memory_equal(m.data, big, sizeof(big));

	/* one more byte is refused by the sender */
	errno = 0;
	assert_int_equal(ipc_send_fd(sv[0], T_BIG, big, sizeof(big) + 1, -1),
	    -1);
	assert_int_equal(errno, EMSGSIZE);

	/* the peer goes away */
	close(sv[0]);
	why = NULL;
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, "eof");
	close(sv[1]);
}

static void
test_pass_descriptor(void **state)
{
	uint8_t		 buf[IPC_HDR_SIZE + 64];
	struct ipc_msg	 m;
	const char	*why;
	char		 got[8];
	int		 sv[2], p[2];

	assert_int_equal(ipc_socketpair(sv), 0);
	assert_int_equal(pipe(p), 0);

	assert_int_equal(ipc_send_fd(sv[0], T_WITH_FD, "1234", 4, p[0]), 0);
	/* ipc_send_fd never closes what it sends */
	assert_int_not_equal(fcntl(p[0], F_GETFD), -1);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), 0);
	assert_int_equal(m.type, T_WITH_FD);
	assert_int_equal(m.len, 4);
	assert_memory_equal(m.data, "1234", 4);
	assert_true(m.fd >= 0);
	assert_int_not_equal(m.fd, p[0]);
	/* received close-on-exec */
	assert_true(fcntl(m.fd, F_GETFD) & FD_CLOEXEC);
	/* and it is the same pipe */
	assert_int_equal(write(p[1], "hey", 3), 3);
	assert_int_equal(read(m.fd, got, sizeof(got)), 3);
	assert_memory_equal(got, "hey", 3);
	close(m.fd);

	/* optional descriptor, both ways */
	assert_int_equal(ipc_send_fd(sv[0], T_MAYBE_FD, NULL, 0, p[1]), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), 0);
	assert_true(m.fd >= 0);
	close(m.fd);
	assert_int_equal(ipc_send_fd(sv[0], T_MAYBE_FD, NULL, 0, -1), 0);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), 0);
	assert_int_equal(m.fd, -1);

	close(p[0]);
	close(p[1]);
	if (sv[0] != -1)
		close(sv[0]);
	close(sv[1]);
}

/* A bad frame received in blocking mode is refused and its descriptors
 * are closed, not leaked. */
static void
test_recv_blocking_refuses(void **state)
{
	uint8_t		 buf[IPC_HDR_SIZE + 64];
	struct ipc_msg	 m;
	const char	*why;
	int		 sv[2], p[2], before;
	size_t		 n;

	assert_int_equal(ipc_socketpair(sv), 0);
	assert_int_equal(pipe(p), 0);
	before = count_fds();

	/* two descriptors */
	n = mkframe(T_WITH_FD, IPC_F_FD, 4, 4);
	raw_send(sv[0], frame, n, p[0], 2);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), -1);
	assert_string_equal(why, "more than one descriptor");
	assert_int_equal(count_fds(), before);

	/* an unexpected one */
	n = mkframe(T_SMALL, IPC_F_FD, 4, 4);
	raw_send(sv[0], frame, n, p[0], 1);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), -1);
	assert_string_equal(why, "unexpected descriptor");
	assert_int_equal(count_fds(), before);

	/* a short header */
	raw_send(sv[0], "abc", 3, -1, 0);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), -1);
	assert_string_equal(why, "short header");

	/* a frame bigger than the receiver's buffer is cut: refused */
	n = mkframe(T_BIG, 0, 200, 200);
	raw_send(sv[0], frame, n, -1, 0);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), -1);
	assert_string_equal(why, "frame truncated or beyond the maximum size");

	/* recv reads 0 bytes both for an empty datagram and for the
	 * peer's close: only the hang-up is end of file */
	raw_send(sv[0], "", 0, -1, 0);
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), -1);
	assert_string_equal(why, "short header");
	close(sv[0]);
	sv[0] = -1;
	assert_int_equal(ipc_recv_blocking(sv[1], rules, buf, sizeof(buf),
	    &m, &why), -1);
	assert_string_equal(why, "eof");

	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Event-driven channels.
 */

struct chan_state {
	struct event_base	*base;
	struct ipc_chan		*chan;
	int			 dispatched;
	uint16_t		 last_type;
	int			 last_fd;
	int			 closed;
	char			 why[128];
	int			 free_in_closed;
};

static void
chan_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct chan_state	*st = arg;

	assert_ptr_equal(c, st->chan);
	st->dispatched++;
	st->last_type = m->type;
	if (m->fd >= 0)
		close(m->fd);
}

static void
chan_closed(struct ipc_chan *c, const char *why, void *arg)
{
	struct chan_state	*st = arg;

	assert_ptr_equal(c, st->chan);
	assert_false(ipc_chan_is_open(c));
	st->closed++;
	snprintf(st->why, sizeof(st->why), "%s", why);
	if (st->free_in_closed) {
		ipc_chan_free(c);
		st->chan = NULL;
	}
	event_base_loopbreak(st->base);
}

/* Runs the loop until the channel closes or ms pass. */
static void
chan_run(struct chan_state *st, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(st->base, &tv);
	event_base_dispatch(st->base);
}

static void
chan_open(struct chan_state *st, int sv[2], int free_in_closed)
{
	memset(st, 0, sizeof(*st));
	st->last_fd = -1;
	st->free_in_closed = free_in_closed;
	st->base = event_base_new();
	assert_non_null(st->base);
	assert_int_equal(ipc_socketpair(sv), 0);
	st->chan = ipc_chan_new(st->base, sv[1], "peer#7", rules,
	    chan_dispatch, chan_closed, st);
	assert_non_null(st->chan);
	assert_true(ipc_chan_is_open(st->chan));
	assert_int_equal(ipc_chan_fd(st->chan), sv[1]);
	assert_string_equal(ipc_chan_peer(st->chan), "peer#7");
}

static void
chan_close(struct chan_state *st, int sv[2])
{
	ipc_chan_free(st->chan);	/* closes sv[1] */
	close(sv[0]);
	event_base_free(st->base);
}

/* One garbage datagram after a good frame: the good one is dispatched,
 * then the channel is shut with the reason, once, and freed from its own
 * callback without harm. */
static void
garbage_case(const void *buf, size_t len, int fd, int nfds,
    const char *reason)
{
	struct chan_state	 st;
	int			 sv[2], before;

	before = count_fds();
	chan_open(&st, sv, 1);
	assert_int_equal(ipc_send_fd(sv[0], T_SMALL, "good", 4, -1), 0);
	raw_send(sv[0], buf, len, fd, nfds);
	/* a good frame after the garbage must never be dispatched */
	assert_int_equal(ipc_send_fd(sv[0], T_EMPTY, NULL, 0, -1), 0);
	chan_run(&st, 2000);
	assert_int_equal(st.dispatched, 1);
	assert_int_equal(st.last_type, T_SMALL);
	assert_int_equal(st.closed, 1);
	assert_string_equal(st.why, reason);
	assert_null(st.chan);			/* freed in the callback */
	/* the freed channel closed its socket: the peer sees it */
	errno = 0;
	assert_int_equal(send(sv[0], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT),
	    -1);
	assert_true(errno == EPIPE || errno == ECONNRESET);
	close(sv[0]);
	event_base_free(st.base);
	assert_int_equal(count_fds(), before);
}

static void
test_chan_garbage(void **state)
{
	uint8_t	hdr[IPC_HDR_SIZE];
	size_t	n;
	int	p[2];

	assert_int_equal(pipe(p), 0);

	garbage_case("abc", 3, -1, 0, "short header");

	n = mkframe(T_BIG, 0, IPC_MAX_PAYLOAD + 1, 0);
	memcpy(hdr, frame, sizeof(hdr));
	garbage_case(hdr, n, -1, 0, "length beyond the maximum");

	n = mkframe(4242, 0, 0, 0);
	memcpy(hdr, frame, sizeof(hdr));
	garbage_case(hdr, n, -1, 0, "unknown message type");

	n = mkframe(T_SMALL, 0, 4, 0);
	memcpy(hdr, frame, sizeof(hdr));
	garbage_case(hdr, n, -1, 0, "length does not match the frame");

	n = mkframe(T_EMPTY, IPC_F_FD, 0, 0);
	memcpy(hdr, frame, sizeof(hdr));
	garbage_case(hdr, n, p[0], 1, "unexpected descriptor");

	n = mkframe(T_EMPTY, 0, 0, 0);
	memcpy(hdr, frame, sizeof(hdr));
	garbage_case(hdr, n, p[0], 1, "descriptor does not match the header");

	n = mkframe(T_WITH_FD, 0, 4, 4);
	garbage_case(frame, n, -1, 0, "missing descriptor");

	n = mkframe(T_WITH_FD, IPC_F_FD, 4, 4);
	garbage_case(frame, n, p[0], 3, "more than one descriptor");

	n = mkframe(T_BIG, 0, IPC_MAX_PAYLOAD + 1, IPC_MAX_PAYLOAD + 1);
	garbage_case(frame, n, -1, 0,
	    "frame truncated or beyond the maximum size");

	close(p[0]);
	close(p[1]);
}

/* The owner may also keep the closed channel and free it later; until
 * then it refuses to send, and closes what it is given. */
static void
test_chan_closed_keeps(void **state)
{
	struct chan_state	 st;
	int			 sv[2], p[2];

	chan_open(&st, sv, 0);
	raw_send(sv[0], "\x01", 1, -1, 0);
	chan_run(&st, 2000);
	assert_int_equal(st.closed, 1);
	assert_string_equal(st.why, "short header");
	assert_non_null(st.chan);
	assert_false(ipc_chan_is_open(st.chan));

	assert_int_equal(pipe(p), 0);
	assert_int_equal(ipc_send(st.chan, T_SMALL, "abcd", 4, p[0]), -1);
	/* p[0] was closed by ipc_send */
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	close(p[1]);

	/* nothing more is called */
	raw_send(sv[0], "\x02", 1, -1, 0);
	chan_run(&st, 200);
	assert_int_equal(st.closed, 1);
	chan_close(&st, sv);
}

static void
test_chan_eof(void **state)
{
	struct chan_state	 st;
	int			 sv[2];

	chan_open(&st, sv, 1);
	close(sv[0]);
	chan_run(&st, 2000);
	assert_int_equal(st.closed, 1);
	assert_string_equal(st.why, "eof");
	assert_int_equal(st.dispatched, 0);
	event_base_free(st.base);
}

/* Frames sent on a channel arrive whole, with their descriptors. */
static void
test_chan_send(void **state)
{
	uint8_t			 buf[IPC_HDR_SIZE + 64];
	struct chan_state	 st;
	struct ipc_msg		 m;
	const char		*why;
	char			 got[4];
	int			 sv[2], p[2];

	chan_open(&st, sv, 1);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(ipc_send(st.chan, T_WITH_FD, "wxyz", 4, p[0]), 0);
	/* the channel owns p[0] now and has closed it once sent */
	assert_int_equal(ipc_recv_blocking(sv[0], rules, buf, sizeof(buf),
	    &m, &why), 0);
	assert_int_equal(m.type, T_WITH_FD);
	assert_memory_equal(m.data, "wxyz", 4);
	assert_true(m.fd >= 0);
	assert_int_equal(write(p[1], "ok", 2), 2);
	assert_int_equal(read(m.fd, got, sizeof(got)), 2);
	close(m.fd);
	close(p[1]);

	/* a payload beyond the maximum is refused at once */
	assert_int_equal(ipc_send(st.chan, T_BIG, frame, IPC_MAX_PAYLOAD + 1,
	    -1), -1);
	assert_true(ipc_chan_is_open(st.chan));

	/* a reply goes the other way through the dispatcher */
	assert_int_equal(ipc_send_fd(sv[0], T_SMALL, "1234", 4, -1), 0);
	chan_run(&st, 200);
	assert_int_equal(st.dispatched, 1);
	assert_int_equal(st.closed, 0);
	chan_close(&st, sv);
}

/* A peer that never reads: the queue is bounded. */
static void
test_chan_queue_bounded(void **state)
{
	struct chan_state	 st;
	int			 sv[2], i, rc = 0;

	chan_open(&st, sv, 1);
	for (i = 0; i < 1000000; i++)
		if ((rc = ipc_send(st.chan, T_EMPTY, NULL, 0, -1)) == -1)
			break;
	assert_int_equal(rc, -1);
	assert_true(i >= IPC_MAX_QUEUE);
	chan_close(&st, sv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_short_header),
		cmocka_unit_test(test_check_truncated),
		cmocka_unit_test(test_check_length_mismatch),
		cmocka_unit_test(test_check_length_beyond_max),
		cmocka_unit_test(test_check_unknown_flags),
		cmocka_unit_test(test_check_descriptors),
		cmocka_unit_test(test_check_unknown_type),
		cmocka_unit_test(test_check_bad_length_for_type),
		cmocka_unit_test(test_check_good),
		cmocka_unit_test(test_socketpair_flags),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_pass_descriptor),
		cmocka_unit_test(test_recv_blocking_refuses),
		cmocka_unit_test(test_chan_garbage),
		cmocka_unit_test(test_chan_closed_keeps),
		cmocka_unit_test(test_chan_eof),
		cmocka_unit_test(test_chan_send),
		cmocka_unit_test(test_chan_queue_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
