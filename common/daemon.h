/*
 * daemon.h: what every daemon shares: the start-up conversation with the
 * master on the control socket (fd 3), the privilege drop, the event loop,
 * and later control frames (new links, new configuration, retirement).
 */
#ifndef BULWARK_DAEMON_H
#define BULWARK_DAEMON_H

#include <stdint.h>

#include "config.h"
#include "proto.h"

#define DAEMON_CTL_FD	3

struct event_base;

struct daemon_ops {
	enum proc_kind	 kind;
	const char	*user;		/* NULL: keep root (deliver-local) */
	/* a supplementary group to keep, or NULL (may be NULL itself) */
	const char	*(*group)(const struct config *);
	/* the chroot to take, or NULL for none */
	const char	*(*chroot_dir)(const struct config *);
	/* as root, before the drop, with everything the master sent */
	void		 (*setup)(struct config *);
	/* after the drop, before serving */
	void		 (*start)(void);
	/* a listening socket (smtpd), possibly before start */
	void		 (*listener)(int fd, int kind, const char *name);
	/* a socket to a peer daemon, replacing any older one to that peer */
	void		 (*link)(enum proc_kind peer, uint32_t id, int fd);
	/* a new configuration after start; old is freed afterwards */
	void		 (*reconfigure)(struct config *cfg,
			    struct config *old);
	/* stop accepting work and exit when idle; NULL: exit now */
	void		 (*retire)(void);
};

extern struct event_base	*daemon_base;
extern struct config		*daemon_cfg;
extern uint32_t			 daemon_id;

int	daemon_main(int argc, char **argv, const struct daemon_ops *);
/* Tell the master that peer id broke the protocol; it ends that peer,
 * whose restart brings a fresh, trustworthy link. */
void	daemon_report_bad_peer(uint32_t id);
/* For a daemon's peer links: the name used in logs, e.g. "qmgr#4". */
void	daemon_peer_name(char *buf, size_t len, enum proc_kind, uint32_t id);

#endif
