/*
 * link.c: the table of a daemon's peer links (see link.h). Links are few
 * (one per peer daemon), so a list searched from the newest is enough.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "link.h"
#include "log.h"

static TAILQ_HEAD(, link)	links = TAILQ_HEAD_INITIALIZER(links);

/* Forget a link; its owner fails or retries what was in flight on it. */
static void
link_forget(struct link *l, int bad)
{
	if (bad)
		daemon_report_bad_peer(l->id);
	TAILQ_REMOVE(&links, l, entry);
	if (l->gone != NULL)
		l->gone(l);
	ipc_chan_free(l->chan);
	free(l);
}

static void
link_closed(struct ipc_chan *chan, const char *why, void *arg)
{
	struct link	*l = arg;

	log_info("link to %s closed (%s)", l->name, why);
	link_forget(l, strcmp(why, "eof") != 0);
}

struct link *
link_add(enum proc_kind kind, uint32_t id, int fd,
    const struct ipc_rule *rules, ipc_dispatch_fn *dispatch,
    link_gone_fn *gone)
{
	struct link	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("link");
		close(fd);
		return NULL;
	}
	l->kind = kind;
	l->id = id;
	l->gone = gone;
	daemon_peer_name(l->name, sizeof(l->name), kind, id);
	l->chan = ipc_chan_new(daemon_base, fd, l->name, rules, dispatch,
	    link_closed, l);
	if (l->chan == NULL) {
		log_warnx("link to %s: cannot watch it", l->name);
		close(fd);
		free(l);
		return NULL;
	}
	TAILQ_INSERT_HEAD(&links, l, entry);
	log_debug("linked to %s", l->name);
	return l;
}

struct link *
link_get(enum proc_kind kind)
{
	struct link	*l;

	TAILQ_FOREACH(l, &links, entry)
		if (l->kind == kind && ipc_chan_is_open(l->chan))
			return l;
	return NULL;
}

struct link *
link_by_id(uint32_t id)
{
	struct link	*l;

	TAILQ_FOREACH(l, &links, entry)
		if (l->id == id)
			return l;
	return NULL;
}

void
link_drop(struct link *l, const char *why)
{
	log_warnx("%s: %s; dropping the peer", l->name, why);
	link_forget(l, 1);
}
