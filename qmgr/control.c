/*
 * control.c: the queue control socket, SPOOL/public/control, which the
 * master binds and hands over (CTL_LISTEN_CONTROL). bulwarkctl and mailq
 * ask here (CQ_* in proto.h), one request and one answer at a time. Each
 * peer is known by its SO_PEERCRED uid: root may do everything; anyone
 * else may only list the messages whose sender is their own login, a name
 * lookup checks against that uid in the password database (qmgr has none
 * in its chroot, and takes nobody's word for it).
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "qmgr.h"
#include "queuectl.h"
#include "wire.h"

#define CONTROL_CLIENTS_MAX	32	/* connections at once */
#define CONTROL_ACCEPT_BURST	16	/* per wake-up, for fairness */
#define CONTROL_IDLE_SEC	30	/* a client that asks nothing goes */
#define CONTROL_LOOKUP_SEC	10	/* lookup must confirm a login */
#define CONTROL_UNREAD_MAX	2	/* answers a client may leave unread */
#define CONTROL_REQUESTS	(CQ_REQUEST_LAST - CQ_IDENT + 1)

struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	struct ipc_chan		*chan;
	uid_t			 uid;
	pid_t			 pid;
	char			 name[48];	/* for the log */
	char			 login[QC_LOGIN_MAX + 1];  /* confirmed */
	uint32_t		 lookup_id;	/* CQ_IDENT in progress */
	struct event		*timer;
};

struct ctl_request {
	uint16_t	 type;
	const char	*name;
	int		 anyone;	/* 0: root only */
	void		(*fn)(struct ctl_client *, struct wire_r *);
};

static TAILQ_HEAD(, ctl_client)	clients = TAILQ_HEAD_INITIALIZER(clients);
static size_t			nclients;
static struct event		*accept_ev;
static uint32_t			next_lookup_id;
static struct wire_w		out;
/* Every type in the request range passes the frame check, so that an
 * unknown request is answered rather than cut off: the table below
 * decides. Lengths are checked again by each request's reader. */
static struct ipc_rule		frame_rules[CONTROL_REQUESTS + 1];

static void	ctl_ident(struct ctl_client *, struct wire_r *);
static void	ctl_list(struct ctl_client *, struct wire_r *);
static void	ctl_show(struct ctl_client *, struct wire_r *);
static void	ctl_flush(struct ctl_client *, struct wire_r *);
static void	ctl_hold(struct ctl_client *, struct wire_r *);
static void	ctl_release(struct ctl_client *, struct wire_r *);
static void	ctl_delete(struct ctl_client *, struct wire_r *);
static void	ctl_counters(struct ctl_client *, struct wire_r *);

static const struct ctl_request requests[] = {
	{ CQ_IDENT,	"ident",	1, ctl_ident },
	{ CQ_LIST,	"list",		1, ctl_list },
	{ CQ_SHOW,	"show",		0, ctl_show },
	{ CQ_FLUSH,	"flush",	0, ctl_flush },
	{ CQ_HOLD,	"hold",		0, ctl_hold },
	{ CQ_RELEASE,	"release",	0, ctl_release },
	{ CQ_DELETE,	"delete",	0, ctl_delete },
	{ CQ_COUNTERS,	"counters",	0, ctl_counters },
};

/*
 * Clients.
 */

static void
control_free(struct ctl_client *c)
{
	TAILQ_REMOVE(&clients, c, entry);
	nclients--;
	event_free(c->timer);
	ipc_chan_free(c->chan);
	free(c);
}

static void
control_drop(struct ctl_client *c, const char *why)
{
	log_warnx("control: %s: %s; dropped", c->name, why);
	control_free(c);
}

static void
control_timer_set(struct ctl_client *c, int sec)
{
	struct timeval	tv = { sec, 0 };

	if (evtimer_add(c->timer, &tv) == -1)
		log_warnx("control: %s: no timer", c->name);
}

/* 0, or -1 when the client had to be dropped (c is freed). */
static int
control_send(struct ctl_client *c, uint16_t type, const struct wire_w *w)
{
	if (w->err) {
		control_drop(c, "answer too large");
		return -1;
	}
	if (ipc_send(c->chan, type, w->buf, w->len, -1) == -1) {
		control_drop(c, "cannot answer");
		return -1;
	}
	return 0;
}

static int
control_error(struct ctl_client *c, enum qc_error code, const char *text)
{
	wire_w_init(&out);
	qc_error_write(&out, code, text);
	return control_send(c, CQ_ERROR, &out);
}

static void
control_ok(struct ctl_client *c, const char *text)
{
	wire_w_init(&out);
	qc_str_write(&out, text);
	control_send(c, CQ_OK, &out);
}

/* A malformed request: say so, then hang up on it. */
static void
control_bad(struct ctl_client *c, const char *what)
{
	char	text[64];

	snprintf(text, sizeof(text), "malformed %s request", what);
	if (control_error(c, QCE_BADREQ, text) == 0)
		control_drop(c, text);
}

static void
control_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct ctl_client	*c = arg;

	if (c->lookup_id == 0) {
		control_drop(c, "idle");
		return;
	}
	c->lookup_id = 0;
	if (control_error(c, QCE_TEMP, "lookup did not answer; try "
	    "again") == 0)
		control_timer_set(c, CONTROL_IDLE_SEC);
}

static void
control_closed(struct ipc_chan *ch, const char *why, void *arg)
{
	struct ctl_client	*c = arg;

	log_debug("control: %s: closed (%s)", c->name, why);
	control_free(c);
}

static const struct ctl_request *
control_request(uint16_t type)
{
	size_t	i;

	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (requests[i].type == type)
			return &requests[i];
	return NULL;
}

static void
control_dispatch(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct ctl_client		*c = arg;
	const struct ctl_request	*rq;
	struct wire_r			 r;
	char				 text[64];

	if (c->lookup_id != 0) {
		control_drop(c, "asked again before its answer");
		return;
	}
	if (ipc_chan_queued(c->chan) >= CONTROL_UNREAD_MAX) {
		control_drop(c, "does not read its answers");
		return;
	}
	control_timer_set(c, CONTROL_IDLE_SEC);
	if ((rq = control_request(m->type)) == NULL) {
		control_error(c, QCE_BADREQ, "unknown request");
		return;
	}
	if (!rq->anyone && c->uid != 0) {
		log_warnx("control: %s: uid %u may not %s; refused", c->name,
		    (unsigned)c->uid, rq->name);
		snprintf(text, sizeof(text), "permission denied: only root "
		    "may %s", rq->name);
		control_error(c, QCE_DENIED, text);
		return;
	}
	wire_r_init(&r, m);
	rq->fn(c, &r);
}

/* Who asked, for the log line of a change. */
static void
control_who(const struct ctl_client *c, char *buf, size_t len)
{
	snprintf(buf, len, "by uid %u pid %d", (unsigned)c->uid, (int)c->pid);
}

/*
 * Requests.
 */

static void
ctl_ident(struct ctl_client *c, struct wire_r *r)
{
	struct link	*l;
	struct wire_w	 w;
	char		 login[QC_LOGIN_MAX + 1];

	if (qc_str_read(r, login, sizeof(login)) == -1 ||
	    wire_r_end(r) == -1 || !qc_login_ok(login)) {
		control_bad(c, "ident");
		return;
	}
	if (c->uid == 0) {
		control_ok(c, "root");
		return;
	}
	if ((l = link_get(PROC_LOOKUP)) == NULL) {
		control_error(c, QCE_TEMP, "lookup is away; try again");
		return;
	}
	if (++next_lookup_id == 0)
		next_lookup_id = 1;
	wire_w_init(&w);
	wire_w_u32(&w, next_lookup_id);
	wire_w_str(&w, login);
	if (ipc_send(l->chan, LK_USER, w.buf, w.len, -1) == -1) {
		control_error(c, QCE_TEMP, "lookup is busy; try again");
		return;
	}
	c->lookup_id = next_lookup_id;
	control_timer_set(c, CONTROL_LOOKUP_SEC);
}

/* lookup's answer to a CQ_IDENT: the login is the client's if the
 * password database gives it the client's uid. -1: malformed. */
int
control_lookup_reply(struct ipc_msg *m)
{
	struct ctl_client	*c;
	struct wire_r		 r;
	char			 user[QC_LOGIN_MAX + 1], *home;
	uint32_t		 id, st, uid;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	st = wire_r_u32(&r);
	uid = wire_r_u32(&r);
	(void)wire_r_u32(&r);
	wire_r_str(&r, user, sizeof(user));
	home = wire_r_strdup(&r, IPC_MAX_PAYLOAD);
	free(home);
	if (wire_r_end(&r) == -1)
		return -1;
	TAILQ_FOREACH(c, &clients, entry)
		if (c->lookup_id == id && id != 0)
			break;
	if (c == NULL)
		return 0;		/* the client has gone */
	c->lookup_id = 0;
	control_timer_set(c, CONTROL_IDLE_SEC);
	if (st == LK_TEMPFAIL)
		control_error(c, QCE_TEMP, "user database unavailable");
	else if (st != LK_OK || uid != (uint32_t)c->uid) {
		log_warnx("control: %s: uid %u is not user %s; refused",
		    c->name, (unsigned)c->uid, user[0] ? user : "?");
		control_error(c, QCE_DENIED, "permission denied: that login "
		    "is not yours");
	} else {
		strlcpy(c->login, user, sizeof(c->login));
		control_ok(c, c->login);
	}
	return 0;
}

static void
ctl_list(struct ctl_client *c, struct wire_r *r)
{
	char	after[QM_QID_MAX + 1], match[QC_MATCH_MAX + 1];

	if (qc_list_req_read(r, after, match) == -1 || wire_r_end(r) == -1) {
		control_bad(c, "list");
		return;
	}
	if (c->uid != 0 && c->login[0] == '\0') {
		control_error(c, QCE_DENIED, "permission denied: identify "
		    "first");
		return;
	}
	control_list_build(&out, after, match, c->uid == 0 ? NULL :
	    c->login);
	control_send(c, CQ_LIST_REPLY, &out);
}

/* A queue id request; NULL (the client dropped) if malformed. */
static struct ctl_client *
ctl_qid(struct ctl_client *c, struct wire_r *r, const char *what,
    char qid[QM_QID_MAX + 1], int empty_ok)
{
	if (qc_str_read(r, qid, QM_QID_MAX + 1) == -1 ||
	    wire_r_end(r) == -1 || (qid[0] == '\0' && !empty_ok) ||
	    (qid[0] != '\0' && !qc_qid_ok(qid))) {
		control_bad(c, what);
		return NULL;
	}
	return c;
}

static void
ctl_show(struct ctl_client *c, struct wire_r *r)
{
	struct envelope	*env;
	char		 qid[QM_QID_MAX + 1];

	if (ctl_qid(c, r, "show", qid, 0) == NULL)
		return;
	if ((env = sched_env_find(qid)) == NULL) {
		control_error(c, QCE_NOTFOUND, "no such message");
		return;
	}
	control_show_build(&out, env);
	control_send(c, CQ_SHOW_REPLY, &out);
}

/* The answer to a change of one message. */
static void
ctl_result(struct ctl_client *c, enum admin_result rc, const char *done,
    const char *already)
{
	switch (rc) {
	case ADMIN_OK:
		control_ok(c, done);
		break;
	case ADMIN_ALREADY:
		control_ok(c, already);
		break;
	case ADMIN_NOTFOUND:
		control_error(c, QCE_NOTFOUND, "no such message");
		break;
	case ADMIN_HELD:
		control_error(c, QCE_STATE, "the message is on hold; "
		    "release it first");
		break;
	case ADMIN_BUSY:
		control_error(c, QCE_TEMP, "a delivery is in progress; "
		    "try again");
		break;
	default:
		control_error(c, QCE_IOERR, "the queue could not be "
		    "changed; see the log");
		break;
	}
}

static void
ctl_flush(struct ctl_client *c, struct wire_r *r)
{
	enum admin_result	rc;
	char			qid[QM_QID_MAX + 1], who[64], text[64];
	size_t			n;

	if (ctl_qid(c, r, "flush", qid, 1) == NULL)
		return;
	control_who(c, who, sizeof(who));
	rc = admin_flush(qid[0] != '\0' ? qid : NULL, who, &n);
	snprintf(text, sizeof(text), "%zu message%s flushed", n,
	    n == 1 ? "" : "s");
	ctl_result(c, rc, text, text);
}

static void
ctl_hold_release(struct ctl_client *c, struct wire_r *r, int hold)
{
	enum admin_result	rc;
	char			qid[QM_QID_MAX + 1], who[64];

	if (ctl_qid(c, r, hold ? "hold" : "release", qid, 0) == NULL)
		return;
	control_who(c, who, sizeof(who));
	rc = admin_hold(qid, hold, who);
	ctl_result(c, rc, hold ? "held" : "released",
	    hold ? "already on hold" : "was not on hold");
}

static void
ctl_hold(struct ctl_client *c, struct wire_r *r)
{
	ctl_hold_release(c, r, 1);
}

static void
ctl_release(struct ctl_client *c, struct wire_r *r)
{
	ctl_hold_release(c, r, 0);
}

static void
ctl_delete(struct ctl_client *c, struct wire_r *r)
{
	char	qid[QM_QID_MAX + 1], who[64];

	if (ctl_qid(c, r, "delete", qid, 0) == NULL)
		return;
	control_who(c, who, sizeof(who));
	ctl_result(c, admin_delete(qid, who), "deleted", "deleted");
}

static void
ctl_counters(struct ctl_client *c, struct wire_r *r)
{
	if (wire_r_end(r) == -1) {
		control_bad(c, "counters");
		return;
	}
	control_counters_build(&out);
	control_send(c, CQ_COUNTERS_REPLY, &out);
}

/*
 * The listening socket.
 */

static void
control_client_new(int fd)
{
	struct ctl_client	*c;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred)) {
		log_warn("control: peer credentials");
		close(fd);
		return;
	}
	if (nclients >= CONTROL_CLIENTS_MAX) {
		log_warnx("control: %d clients already; uid %u pid %d refused",
		    CONTROL_CLIENTS_MAX, (unsigned)cred.uid, (int)cred.pid);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control: client");
		close(fd);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	snprintf(c->name, sizeof(c->name), "client[%d uid %u]", (int)cred.pid,
	    (unsigned)cred.uid);
	c->timer = evtimer_new(daemon_base, control_timeout, c);
	c->chan = c->timer == NULL ? NULL : ipc_chan_new(daemon_base, fd,
	    c->name, frame_rules, control_dispatch, control_closed, c);
	if (c->chan == NULL) {
		log_warnx("control: %s: cannot watch it", c->name);
		if (c->timer != NULL)
			event_free(c->timer);
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&clients, c, entry);
	nclients++;
	control_timer_set(c, CONTROL_IDLE_SEC);
	log_debug("control: %s connected", c->name);
}

static void
control_accept(evutil_socket_t lfd, short ev, void *arg)
{
	int	i, fd;

	for (i = 0; i < CONTROL_ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("control: accept");
			return;
		}
		control_client_new(fd);
	}
}

void
control_listen(int fd)
{
	uint16_t	t;

	for (t = CQ_IDENT; t <= CQ_REQUEST_LAST; t++)
		frame_rules[t - CQ_IDENT] = (struct ipc_rule){ t, 0,
		    QC_REQUEST_MAX, IPC_FD_NONE };
	if (accept_ev != NULL) {
		close(event_get_fd(accept_ev));
		event_free(accept_ev);
	}
	accept_ev = event_new(daemon_base, fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	if (accept_ev == NULL || event_add(accept_ev, NULL) == -1) {
		log_warnx("control: cannot watch the control socket");
		close(fd);
		return;
	}
	log_debug("control: serving the control socket");
}
