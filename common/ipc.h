/*
 * ipc.h: framed messages between daemons over SOCK_SEQPACKET socketpairs.
 * One datagram is one frame: an 8-byte header (type, flags, length) and a
 * payload of at most IPC_MAX_PAYLOAD bytes, with at most one descriptor
 * attached by SCM_RIGHTS. Every frame is checked against the receiver's
 * table of rules before anyone looks at its payload; a peer that sends a
 * frame that breaks a rule is dropped.
 */
#ifndef BULWARK_IPC_H
#define BULWARK_IPC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

#define IPC_HDR_SIZE	8
#define IPC_MAX_PAYLOAD	(64 * 1024)
#define IPC_MAX_QUEUE	4096		/* frames waiting to be sent */

#define IPC_F_FD	0x0001		/* a descriptor travels with it */

enum ipc_fd_rule {
	IPC_FD_NONE,		/* a descriptor is a protocol error */
	IPC_FD_REQUIRED,
	IPC_FD_OPTIONAL,
};

struct ipc_rule {
	uint16_t		type;
	uint32_t		min_len;
	uint32_t		max_len;
	enum ipc_fd_rule	fd;
};

struct ipc_msg {
	uint16_t	 type;
	int		 fd;	/* -1, or owned by the receiver */
	uint32_t	 len;
	const uint8_t	*data;	/* valid during the dispatch call only */
};

/* Checks one received datagram. n: bytes received; nfds: descriptors that
 * arrived with it; truncated: MSG_TRUNC or MSG_CTRUNC was set. Returns 0
 * and fills *m (m->fd is -1: the caller attaches the descriptor), or -1
 * with a static reason in *why. The rules table ends with type 0. */
int	ipc_frame_check(const uint8_t *buf, size_t n, int nfds, int truncated,
	    const struct ipc_rule *rules, struct ipc_msg *m, const char **why);

/* Blocking, for start-up and tools: send and receive one frame.
 * ipc_send_fd never closes fd. ipc_recv_blocking returns 0, or -1 with
 * *why set ("eof" when the peer closed). */
int	ipc_send_fd(int sock, uint16_t type, const void *data, size_t len,
	    int fd);
int	ipc_recv_blocking(int sock, const struct ipc_rule *rules,
	    uint8_t *buf, size_t buflen, struct ipc_msg *m, const char **why);

/* Event-driven channels. */
struct ipc_chan;
typedef void	ipc_dispatch_fn(struct ipc_chan *, struct ipc_msg *, void *);
/* Called once when the peer closed, sent a bad frame or an I/O error
 * occurred; the channel is already shut down and must be freed by the
 * owner (ipc_chan_free) from this callback or later. */
typedef void	ipc_closed_fn(struct ipc_chan *, const char *why, void *);

struct ipc_chan	*ipc_chan_new(struct event_base *, int sock, const char *peer,
		    const struct ipc_rule *, ipc_dispatch_fn *,
		    ipc_closed_fn *, void *arg);
/* Queue a frame. The channel takes ownership of fd (closes it once sent
 * or on failure). Returns -1 if the channel is closed or its queue full. */
int		 ipc_send(struct ipc_chan *, uint16_t type, const void *data,
		    size_t len, int fd);
const char	*ipc_chan_peer(const struct ipc_chan *);
int		 ipc_chan_fd(const struct ipc_chan *);
int		 ipc_chan_is_open(const struct ipc_chan *);
/* frames queued and not yet sent: a peer that does not read */
size_t		 ipc_chan_queued(const struct ipc_chan *);
void		 ipc_chan_free(struct ipc_chan *);

/* A SOCK_SEQPACKET socketpair, close-on-exec, both ends non-blocking. */
int	ipc_socketpair(int sv[2]);

#endif
