/*
 * link.h: a daemon's links to its peers. The master hands a daemon a new
 * socket whenever a peer (re)starts; a link whose peer died is dropped and
 * its owner told, so that work in flight on it is failed or retried.
 */
#ifndef BULWARK_LINK_H
#define BULWARK_LINK_H

#include <sys/queue.h>
#include <stdint.h>

#include "ipc.h"
#include "proto.h"

struct link;
typedef void	link_gone_fn(struct link *);

struct link {
	TAILQ_ENTRY(link)	 entry;
	enum proc_kind		 kind;
	uint32_t		 id;
	char			 name[32];
	struct ipc_chan		*chan;
	link_gone_fn		*gone;
};

struct link	*link_add(enum proc_kind, uint32_t id, int fd,
		    const struct ipc_rule *, ipc_dispatch_fn *, link_gone_fn *);
/* the newest open link to a peer of that kind, or NULL */
struct link	*link_get(enum proc_kind);
struct link	*link_by_id(uint32_t id);
/* drop a peer that broke the protocol at the message level */
void		 link_drop(struct link *, const char *why);

#endif
