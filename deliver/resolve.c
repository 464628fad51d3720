/*
 * resolve.c: recipient to mailbox owner. The local part goes to lookup
 * (LK_USER), which strips +detail and lower-cases; its answer becomes
 * the delivery's destination. Aliases and .forward will slot in here,
 * between the recipient and the destination, leaving the writers alone.
 */
#include <string.h>

#include <event2/event.h>

#include "daemon.h"
#include "link.h"
#include "local.h"
#include "log.h"
#include "wire.h"

static TAILQ_HEAD(, delivery)	pending = TAILQ_HEAD_INITIALIZER(pending);
static uint32_t			next_query;

static void	resolve_timeout(evutil_socket_t, short, void *);

static void
resolve_finish(struct delivery *d, enum dl_status status, const char *dsn,
    const char *text)
{
	struct local_result	res;

	memset(&res, 0, sizeof(res));
	res.status = status;
	strlcpy(res.dsn, dsn, sizeof(res.dsn));
	strlcpy(res.text, text, sizeof(res.text));
	if (d->state == DS_RESOLVING)
		resolve_cancel(d);
	local_done(d, &res);
}

void
resolve_cancel(struct delivery *d)
{
	TAILQ_REMOVE(&pending, d, qentry);
	d->state = DS_NEW;
	if (d->timer != NULL)
		event_free(d->timer);
	d->timer = NULL;
}

/* The local part of rcpt into local; the domain, or NULL if none. */
static const char *
resolve_split(const char *rcpt, char *local, size_t len)
{
	char	*at;

	strlcpy(local, rcpt, len);
	if ((at = strrchr(local, '@')) == NULL)
		return NULL;
	*at = '\0';
	return rcpt + (at - local) + 1;
}

/* Asks the newest lookup link; -1 if there is none or it is full. */
static int
resolve_ask(struct delivery *d)
{
	static struct wire_w	w;
	struct link		*l;
	char			 local[QM_ADDR_MAX + 1];

	if ((l = link_get(PROC_LOOKUP)) == NULL)
		return -1;
	(void)resolve_split(d->rcpt, local, sizeof(local));
	d->lk_id = ++next_query;
	d->lk_link = l->id;
	wire_w_init(&w);
	wire_w_u32(&w, d->lk_id);
	wire_w_str(&w, local);
	if (w.err)
		return -1;
	return ipc_send(l->chan, LK_USER, w.buf, w.len, -1);
}

void
resolve_start(struct delivery *d)
{
	struct timeval	 tv = { LOCAL_LOOKUP_TIMEOUT, 0 };
	const char	*domain;
	char		 local[QM_ADDR_MAX + 1];

	domain = resolve_split(d->rcpt, local, sizeof(local));
	if (local[0] == '\0')
		resolve_finish(d, DL_PERMFAIL, "5.1.3", "empty local part");
	else if (domain != NULL &&
	    config_is_virtual_domain(daemon_cfg, domain))
		resolve_finish(d, DL_TEMPFAIL, "4.3.0",
		    "virtual domains are not delivered yet");
	else if (domain != NULL && !config_is_local_domain(daemon_cfg, domain))
		resolve_finish(d, DL_TEMPFAIL, "4.3.5",
		    "not a local domain");
	else if ((d->timer = evtimer_new(daemon_base, resolve_timeout,
	    d)) == NULL || evtimer_add(d->timer, &tv) == -1) {
		if (d->timer != NULL)
			event_free(d->timer);
		d->timer = NULL;
		resolve_finish(d, DL_TEMPFAIL, "4.3.0", "out of memory");
	} else {
		d->state = DS_RESOLVING;
		TAILQ_INSERT_TAIL(&pending, d, qentry);
		if (resolve_ask(d) == -1)
			resolve_finish(d, DL_TEMPFAIL, "4.3.0",
			    "user lookup unavailable");
	}
}

static void
resolve_timeout(evutil_socket_t fd, short what, void *arg)
{
	resolve_finish(arg, DL_TEMPFAIL, "4.3.0", "user lookup timed out");
}

/* A name that can go into a path and an mbox-path's %u. */
static int
resolve_user_ok(const char *user, const char *home)
{
	const char	*c;

	if (user[0] == '\0' || user[0] == '.' || home[0] != '/')
		return 0;
	for (c = user; *c != '\0'; c++)
		if (*c == '/' || (unsigned char)*c <= ' ' || *c == 0x7f)
			return 0;
	return 1;
}

static void
resolve_user(struct delivery *d, uint32_t uid, uint32_t gid,
    const char *user, const char *home)
{
	if (!resolve_user_ok(user, home) || uid == (uint32_t)-1 ||
	    gid == (uint32_t)-1) {
		log_warnx("qid=%s: lookup gave an unusable user \"%s\"",
		    d->qid, user);
		resolve_finish(d, DL_TEMPFAIL, "4.3.0", "unusable user entry");
		return;
	}
	resolve_cancel(d);
	d->dest.kind = DEST_MAILBOX;
	d->dest.user.uid = (uid_t)uid;
	d->dest.user.gid = (gid_t)gid;
	strlcpy(d->dest.user.name, user, sizeof(d->dest.user.name));
	strlcpy(d->dest.user.home, home, sizeof(d->dest.user.home));
	local_resolved(d);
}

void
resolve_reply(struct link *l, struct ipc_msg *m)
{
	struct delivery	*d;
	struct wire_r	 r;
	static char	 user[LOCAL_NAME_MAX], home[PATH_MAX];
	uint32_t	 id, status, uid, gid;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	status = wire_r_u32(&r);
	uid = wire_r_u32(&r);
	gid = wire_r_u32(&r);
	wire_r_str(&r, user, sizeof(user));
	wire_r_str(&r, home, sizeof(home));
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed user reply");
		return;
	}
	TAILQ_FOREACH(d, &pending, qentry)
		if (d->lk_id == id && d->lk_link == l->id)
			break;
	if (d == NULL) {
		log_debug("%s: reply to no pending query %u", l->name, id);
		return;
	}
	if (status == LK_OK)
		resolve_user(d, uid, gid, user, home);
	else if (status == LK_NOUSER)
		resolve_finish(d, DL_PERMFAIL, "5.1.1", "no such user");
	else
		resolve_finish(d, DL_TEMPFAIL, "4.3.0",
		    "temporary user lookup failure");
}

/* The queries that link took with it go to a newer one, if any. */
void
resolve_link_gone(uint32_t link)
{
	struct delivery	*d, *next;

	for (d = TAILQ_FIRST(&pending); d != NULL; d = next) {
		next = TAILQ_NEXT(d, qentry);
		if (d->lk_link == link && resolve_ask(d) == -1)
			resolve_finish(d, DL_TEMPFAIL, "4.3.0",
			    "user lookup went away");
	}
}
