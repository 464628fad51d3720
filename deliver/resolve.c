/*
 * resolve.c: recipient to destinations. The address goes to lookup
 * (LK_EXPAND), which expands aliases and virtual entries down to users,
 * files, commands and addresses; so do the targets of a user's
 * ~/.forward (LK_EXPAND_FORWARD), which a delivery child read as the
 * user. Each destination of an answer is checked like any input.
 */
#include <stdlib.h>
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

/* The .forward has been dealt with: back to local.c, with the targets
 * or the reason there are none (res). */
static void
resolve_forwarded(struct delivery *d, const struct local_result *res,
    struct local_dest *dests, size_t n)
{
	free(d->fwdlist);
	d->fwdlist = NULL;
	local_forwarded(d, dests, n, res);
}

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
	if (d->fwdlist != NULL)
		resolve_forwarded(d, &res, NULL, 0);
	else
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

/* The domain of rcpt, or NULL if none; the local part empty? */
static const char *
resolve_domain(const char *rcpt, int *empty)
{
	const char	*at = strrchr(rcpt, '@');

	*empty = at == rcpt || rcpt[0] == '\0';
	return at != NULL ? at + 1 : NULL;
}

/* Asks the newest lookup link what the recipient, or the .forward
 * being read, expands to; -1 if there is no link or it is full. */
static int
resolve_ask(struct delivery *d)
{
	static struct wire_w	 w;
	const struct local_user	*u;
	struct link		*l;

	if ((l = link_get(PROC_LOOKUP)) == NULL)
		return -1;
	d->lk_id = ++next_query;
	d->lk_link = l->id;
	wire_w_init(&w);
	wire_w_u32(&w, d->lk_id);
	if (d->fwdlist == NULL)
		wire_w_str(&w, d->rcpt);
	else {
		u = &d->dests[d->cur].user;
		wire_w_u32(&w, (uint32_t)u->uid);
		wire_w_str(&w, u->name);
		wire_w_str(&w, d->fwdlist);
	}
	if (w.err)
		return -1;
	return ipc_send(l->chan, d->fwdlist == NULL ? LK_EXPAND :
	    LK_EXPAND_FORWARD, w.buf, w.len, -1);
}

/* Starts the timer and the query; 0, or -1 with res. */
static int
resolve_query(struct delivery *d, struct local_result *res)
{
	struct timeval	tv = { LOCAL_LOOKUP_TIMEOUT, 0 };

	memset(res, 0, sizeof(*res));
	res->status = DL_TEMPFAIL;
	strlcpy(res->dsn, "4.3.0", sizeof(res->dsn));
	if ((d->timer = evtimer_new(daemon_base, resolve_timeout,
	    d)) == NULL || evtimer_add(d->timer, &tv) == -1) {
		if (d->timer != NULL)
			event_free(d->timer);
		d->timer = NULL;
		strlcpy(res->text, "out of memory", sizeof(res->text));
		return -1;
	}
	d->state = DS_RESOLVING;
	TAILQ_INSERT_TAIL(&pending, d, qentry);
	if (resolve_ask(d) == -1) {
		resolve_cancel(d);
		strlcpy(res->text, "user lookup unavailable",
		    sizeof(res->text));
		return -1;
	}
	return 0;
}

void
resolve_start(struct delivery *d)
{
	struct local_result	 res;
	const char		*domain;
	int			 empty;

	domain = resolve_domain(d->rcpt, &empty);
	if (empty)
		resolve_finish(d, DL_PERMFAIL, "5.1.3", "empty local part");
	else if (domain != NULL &&
	    !config_is_local_domain(daemon_cfg, domain) &&
	    !config_is_virtual_domain(daemon_cfg, domain))
		resolve_finish(d, DL_TEMPFAIL, "4.3.5",
		    "not a local domain");
	else if (resolve_query(d, &res) == -1)
		local_done(d, &res);
}

/* The .forward of d->dests[d->cur] (d->fwdlist) to lookup; its answer
 * goes to local_forwarded. */
void
resolve_forward(struct delivery *d)
{
	struct local_result	res;

	if (resolve_query(d, &res) == -1)
		resolve_forwarded(d, &res, NULL, 0);
}

static void
resolve_timeout(evutil_socket_t fd, short what, void *arg)
{
	resolve_finish(arg, DL_TEMPFAIL, "4.3.0", "user lookup timed out");
}

/* A name that can go into a path and an mbox-path's %u. */
static int
resolve_user_ok(const struct local_user *u)
{
	const char	*c;

	if (u->name[0] == '\0' || u->name[0] == '.' || u->home[0] != '/' ||
	    u->uid == (uid_t)-1 || u->gid == (gid_t)-1)
		return 0;
	for (c = u->name; *c != '\0'; c++)
		if (*c == '/' || (unsigned char)*c <= ' ' || *c == 0x7f)
			return 0;
	return 1;
}

/* No control characters (a tab only where allowed). */
static int
resolve_text_ok(const char *s, int tab)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < ' ' && !(tab && *s == '\t')) ||
		    *s == 0x7f)
			return 0;
	return 1;
}

/* An absolute path without "." or ".." components. */
static int
resolve_path_ok(const char *p)
{
	const char	*c;

	if (p[0] != '/' || !resolve_text_ok(p, 0))
		return 0;
	for (c = p; (c = strchr(c, '/')) != NULL; c++)
		if ((c[1] == '.' && (c[2] == '/' || c[2] == '\0')) ||
		    (c[1] == '.' && c[2] == '.' && (c[3] == '/' ||
		    c[3] == '\0')))
			return 0;
	return 1;
}

/* What lookup says is checked as any input. */
static int
resolve_dest_ok(const struct local_dest *t)
{
	size_t	len = strlen(t->arg);

	if (!resolve_text_ok(t->detail, 0))
		return 0;
	switch (t->kind) {
	case DEST_MAILBOX:
		return resolve_user_ok(&t->user) && len == 0;
	case DEST_MAILDIR:
		return resolve_user_ok(&t->user) && resolve_path_ok(t->arg) &&
		    t->arg[len - 1] == '/' && len > 1;
	case DEST_FILE:
		return resolve_user_ok(&t->user) && resolve_path_ok(t->arg) &&
		    len > 1;
	case DEST_PIPE:
		return resolve_user_ok(&t->user) && len > 0 &&
		    resolve_text_ok(t->arg, 1);
	case DEST_FORWARD:
		return strchr(t->arg, '@') != NULL &&
		    resolve_text_ok(t->arg, 0);
	case DEST_NOUSER:
		return resolve_text_ok(t->arg, 0);
	}
	return 0;
}

static int
resolve_kind(uint32_t lkd, enum local_dest_kind *kind)
{
	static const enum local_dest_kind map[LKD_KIND_MAX] = {
		[LKD_USER] = DEST_MAILBOX,
		[LKD_FILE] = DEST_FILE,
		[LKD_PIPE] = DEST_PIPE,
		[LKD_MAILDIR] = DEST_MAILDIR,
		[LKD_FORWARD] = DEST_FORWARD,
		[LKD_NOUSER] = DEST_NOUSER,
		[LKD_INBOX] = DEST_MAILBOX,
	};

	if (lkd >= LKD_KIND_MAX)
		return -1;
	*kind = map[lkd];
	return 0;
}

/* n destinations from the reply; NULL (and the error flag) if any is
 * malformed. */
static struct local_dest *
resolve_read_dests(struct wire_r *r, uint32_t n)
{
	struct local_dest	*v, *t;
	uint32_t		 i, kind;

	/* each takes at least 3 u32 and 4 empty strings of the frame */
	if (n == 0 || n > LOCAL_MAX_DESTS || n > r->left / (7 * 4) ||
	    (v = calloc(n, sizeof(*v))) == NULL) {
		r->err = 1;
		return NULL;
	}
	for (i = 0; i < n && !r->err; i++) {
		t = &v[i];
		t->parent = -1;
		kind = wire_r_u32(r);
		t->noforward = kind == LKD_INBOX;
		if (resolve_kind(kind, &t->kind) == -1)
			r->err = 1;
		t->user.uid = (uid_t)wire_r_u32(r);
		t->user.gid = (gid_t)wire_r_u32(r);
		wire_r_str(r, t->user.name, sizeof(t->user.name));
		wire_r_str(r, t->user.home, sizeof(t->user.home));
		wire_r_str(r, t->detail, sizeof(t->detail));
		wire_r_str(r, t->arg, sizeof(t->arg));
		if (!r->err && !resolve_dest_ok(t))
			r->err = 1;
	}
	if (r->err) {
		free(v);
		return NULL;
	}
	return v;
}

/* A refusal from lookup as a result: its DSN if it agrees with the
 * status. */
static void
resolve_refused(struct local_result *res, uint32_t status, const char *dsn,
    const char *text)
{
	memset(res, 0, sizeof(*res));
	if (status == LK_NOUSER) {
		res->status = DL_PERMFAIL;
		dsn = "5.1.1";
		text = text[0] != '\0' ? text : "no such user";
	} else if (status == LK_PERMFAIL && dsn[0] == '5' && dsn[1] == '.')
		res->status = DL_PERMFAIL;
	else if (status == LK_TEMPFAIL && dsn[0] == '4' && dsn[1] == '.')
		res->status = DL_TEMPFAIL;
	else {
		res->status = DL_TEMPFAIL;
		dsn = "4.3.0";
		text = "temporary user lookup failure";
	}
	strlcpy(res->dsn, dsn, sizeof(res->dsn));
	strlcpy(res->text, text, sizeof(res->text));
}

static struct delivery *
resolve_find(uint32_t link, uint32_t id)
{
	struct delivery	*d;

	TAILQ_FOREACH(d, &pending, qentry)
		if (d->lk_id == id && d->lk_link == link)
			return d;
	return NULL;
}

void
resolve_reply(struct link *l, struct ipc_msg *m)
{
	struct delivery		*d;
	struct local_dest	*dests = NULL;
	struct local_result	 res;
	struct wire_r		 r;
	char			 dsn[LOCAL_DSN_MAX], text[LOCAL_TEXT_MAX];
	uint32_t		 id, status, n;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	status = wire_r_u32(&r);
	wire_r_str(&r, dsn, sizeof(dsn));
	wire_r_str(&r, text, sizeof(text));
	n = wire_r_u32(&r);
	if (!r.err && (status == LK_OK) != (n > 0))
		r.err = 1;
	if (!r.err && n > 0)
		dests = resolve_read_dests(&r, n);
	if (wire_r_end(&r) == -1 || !resolve_text_ok(text, 0)) {
		free(dests);
		link_drop(l, "malformed expansion reply");
		return;
	}
	if ((d = resolve_find(l->id, id)) == NULL) {
		log_debug("%s: reply to no pending query %u", l->name, id);
		free(dests);
		return;
	}
	resolve_cancel(d);
	if (status != LK_OK)
		resolve_refused(&res, status, dsn, text);
	if (d->fwdlist != NULL)
		resolve_forwarded(d, status != LK_OK ? &res : NULL, dests, n);
	else if (status != LK_OK)
		local_done(d, &res);
	else {
		d->dests = dests;
		d->ndests = n;
		local_resolved(d);
	}
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
