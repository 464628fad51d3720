/*
 * sched.c: delivery scheduling. Every queued message lives here in
 * memory; each recipient whose time has come goes to deliver-local as
 * one DL_DELIVER, a bounded number at a time, and each DL_RESULT is
 * recorded in the envelope on disk before it counts: sent, deferred with
 * exponential backoff, or failed. Times are unix seconds from the
 * configuration, so a test can set a retry of one second. A message
 * whose due recipients all wait for a destination at its limit (dest.c)
 * is parked there until one of that destination's deliveries ends.
 */
#include <sys/tree.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "qmgr.h"
#include "wire.h"

/* deliveries in flight to the agent, which runs LOCAL_MAX_CHILDREN at
 * once and queues the rest: above destination-concurrency-limit's
 * default, so that one destination at its limit leaves room to others */
#define SCHED_CONCURRENCY	100
#define SCHED_AGENT_RETRY	2	/* s: after deliver-local went away */
#define SCHED_TIMER_MAX		300	/* s: look again at least this often */
#define SCHED_DIRTY_RETRY	10	/* s: retry an envelope write */
#define SCHED_DELIVERY_TIMEOUT	1800	/* s: deliver-local must answer */
#define SCHED_TEXT_MAX		1024	/* status text accepted on the wire */

struct qmsg {
	RB_ENTRY(qmsg)		 due_entry;	/* when in_tree */
	RB_ENTRY(qmsg)		 id_entry;	/* when in_ids */
	TAILQ_ENTRY(qmsg)	 entry;		/* every message */
	TAILQ_ENTRY(qmsg)	 dirty_entry;	/* when dirty */
	struct envelope		 env;
	int64_t			 due;		/* earliest idle next try */
	int			 in_tree;
	int			 in_ids;
	int			 dirty;		/* disk is behind memory */
	size_t			 busy;		/* deliveries in flight */
	struct dest		*parked_on;	/* waiting for its turn */
	TAILQ_ENTRY(qmsg)	 park_entry;	/* when parked_on */
};

struct delivery {
	TAILQ_ENTRY(delivery)	 entry;
	uint32_t		 id;
	uint32_t		 link_id;
	struct qmsg		*m;
	size_t			 idx;
	struct dest		*dest;
	struct event		*timeout;
};

static int	due_cmp(struct qmsg *, struct qmsg *);
RB_HEAD(due_tree, qmsg);
RB_GENERATE_INTERNAL(due_tree, qmsg, due_entry, due_cmp,
    __attribute__((unused)) static)
/* every message by queue id, for the control socket */
static int	id_cmp(struct qmsg *, struct qmsg *);
RB_HEAD(id_tree, qmsg);
RB_GENERATE_INTERNAL(id_tree, qmsg, id_entry, id_cmp,
    __attribute__((unused)) static)

static struct due_tree			due = RB_INITIALIZER(&due);
static struct id_tree			ids = RB_INITIALIZER(&ids);
static TAILQ_HEAD(, qmsg)		msgs = TAILQ_HEAD_INITIALIZER(msgs);
static TAILQ_HEAD(, qmsg)		dirty = TAILQ_HEAD_INITIALIZER(dirty);
static TAILQ_HEAD(, delivery)		inflight =
					    TAILQ_HEAD_INITIALIZER(inflight);
static size_t				nmsgs, ninflight;
static uint32_t				next_delivery_id;
static struct event			*run_ev;
static struct wire_w			wbuf;

static const struct ipc_rule local_rules[] = {
	{ DL_RESULT, 16, 16 + ENVELOPE_DSN_MAX + SCHED_TEXT_MAX, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

static int
due_cmp(struct qmsg *a, struct qmsg *b)
{
	if (a->due != b->due)
		return a->due < b->due ? -1 : 1;
	return strcmp(a->env.qid, b->env.qid);
}

static int
id_cmp(struct qmsg *a, struct qmsg *b)
{
	return strcmp(a->env.qid, b->env.qid);
}

/*
 * Time and the configured timers.
 */

int64_t
sched_now(void)
{
	return (int64_t)time(NULL);
}

unsigned
sched_retry_min(void)
{
	unsigned v = daemon_cfg->queue_retry_min;

	return v > 0 ? v : QMGR_RETRY_MIN_DEFAULT;
}

unsigned
sched_retry_max(void)
{
	unsigned v = daemon_cfg->queue_retry_max;

	if (v == 0)
		v = QMGR_RETRY_MAX_DEFAULT;
	return v < sched_retry_min() ? sched_retry_min() : v;
}

unsigned
sched_lifetime(void)
{
	unsigned v = daemon_cfg->queue_lifetime;

	return v > 0 ? v : QMGR_LIFETIME_DEFAULT;
}

unsigned
sched_delay_warning(void)
{
	unsigned v = daemon_cfg->delay_warning;

	return v > 0 ? v : QMGR_DELAY_WARNING_DEFAULT;
}

/* The first retry after retry-min, then doubling, up to retry-max. */
static int64_t
sched_backoff(uint32_t attempts)
{
	int64_t		delay = sched_retry_min(), max = sched_retry_max();
	uint32_t	i;

	for (i = 1; i < attempts && delay < max; i++)
		delay *= 2;
	return delay < max ? delay : max;
}

size_t
sched_count(void)
{
	return nmsgs;
}

size_t
sched_inflight(void)
{
	return ninflight;
}

void
sched_kick(void)
{
	struct timeval	tv = { 0, 0 };

	/* without its timer the scheduler would stall: better restart */
	if (run_ev != NULL && evtimer_add(run_ev, &tv) == -1)
		fatalx("scheduler timer");
}

/*
 * The due tree holds every message with a recipient that is neither
 * final nor in flight, keyed by the earliest next try among those.
 */

static void
sched_due_update(struct qmsg *m)
{
	struct envelope_rcpt	*r;
	size_t			 i;
	int			 any = 0;
	int64_t			 t = 0;

	if (m->in_tree) {
		RB_REMOVE(due_tree, &due, m);
		m->in_tree = 0;
	}
	for (i = 0; i < m->env.nrcpt; i++) {
		r = &m->env.rcpt[i];
		if (r->busy || envelope_rcpt_final(r))
			continue;
		if (!any || r->next_try < t)
			t = r->next_try;
		any = 1;
	}
	if (!any || m->env.held || m->parked_on != NULL)
		return;
	m->due = t;
	RB_INSERT(due_tree, &due, m);
	m->in_tree = 1;
}

/* m leaves the destination it waited for. */
static void
sched_unpark_one(struct qmsg *m)
{
	struct dest	*d = m->parked_on;

	TAILQ_REMOVE(dest_parked(d), m, park_entry);
	m->parked_on = NULL;
	dest_release(d);
}

static void
sched_park(struct qmsg *m, struct dest *d)
{
	m->parked_on = d;
	TAILQ_INSERT_TAIL(dest_parked(d), m, park_entry);
	sched_due_update(m);		/* out of the due tree */
	log_debug("qid=%s: waits for destination %s", m->env.qid,
	    dest_name(d));
}

/* A delivery to d ended: as many of its waiting messages as it has
 * free slots are scheduled again, first come first. */
static void
sched_unpark(struct dest *d)
{
	struct qmsg	*m;
	size_t		 n = dest_free_slots(d);

	while (n-- > 0 && (m = TAILQ_FIRST(dest_parked(d))) != NULL) {
		TAILQ_REMOVE(dest_parked(d), m, park_entry);
		m->parked_on = NULL;
		sched_due_update(m);
		sched_kick();
	}
}

static void
sched_free(struct qmsg *m)
{
	if (m->parked_on != NULL)
		sched_unpark_one(m);
	if (m->in_tree)
		RB_REMOVE(due_tree, &due, m);
	if (m->in_ids)
		RB_REMOVE(id_tree, &ids, m);
	if (m->dirty)
		TAILQ_REMOVE(&dirty, m, dirty_entry);
	TAILQ_REMOVE(&msgs, m, entry);
	nmsgs--;
	envelope_free(&m->env);
	free(m);
}

static int
sched_complete(const struct envelope *env)
{
	size_t	i;

	for (i = 0; i < env->nrcpt; i++)
		if (!envelope_rcpt_final(&env->rcpt[i]))
			return 0;
	return 1;
}

static void
sched_mark_dirty(struct qmsg *m)
{
	if (!m->dirty) {
		m->dirty = 1;
		TAILQ_INSERT_TAIL(&dirty, m, dirty_entry);
	}
}

/* Bring the disk up to date with m after a change: queue the reports
 * that are due, then remove a finished message or rewrite its envelope.
 * What fails leaves m dirty, to be retried. Returns 1 if m was freed. */
static int
sched_settle(struct qmsg *m, int64_t now)
{
	if (m->env.sender[0] != '\0' && bounce_needed(&m->env, now) &&
	    bounce_queue(&m->env, now) == -1) {
		sched_mark_dirty(m);
		return 0;
	}
	if (sched_complete(&m->env)) {
		if (queue_remove(m->env.qid) == -1)
			log_warnx("qid=%s: cannot remove the finished message; "
			    "it is retried at the next start", m->env.qid);
		else
			log_info("qid=%s status=removed", m->env.qid);
		sched_free(m);
		return 1;
	}
	if (queue_env_write(&m->env) == -1) {
		log_warnx("qid=%s: envelope not updated; retrying", m->env.qid);
		sched_mark_dirty(m);
		return 0;
	}
	if (m->dirty) {
		m->dirty = 0;
		TAILQ_REMOVE(&dirty, m, dirty_entry);
	}
	return 0;
}

static void
sched_retry_dirty(int64_t now)
{
	struct qmsg	*m;

	while ((m = TAILQ_FIRST(&dirty)) != NULL)
		if (sched_settle(m, now) == 0 && m->dirty)
			break;		/* the disk is still unhappy */
}

void
sched_add(struct envelope *env)
{
	struct qmsg	*m;
	size_t		 i;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		/* it is on disk: the next start picks it up */
		log_warn("qid=%s: not scheduled until the next start",
		    env->qid);
		envelope_free(env);
		return;
	}
	m->env = *env;
	envelope_init(env);
	for (i = 0; i < m->env.nrcpt; i++)
		m->env.rcpt[i].busy = 0;
	TAILQ_INSERT_TAIL(&msgs, m, entry);
	nmsgs++;
	if (RB_INSERT(id_tree, &ids, m) == NULL)
		m->in_ids = 1;
	else
		log_warnx("qid=%s: queued twice; the control socket sees one",
		    m->env.qid);
	if (sched_complete(&m->env)) {
		(void)sched_settle(m, sched_now());
		return;
	}
	sched_due_update(m);
	sched_kick();
}

void
sched_recovered(struct envelope *env)
{
	size_t	i;

	for (i = 0; i < env->nrcpt; i++)
		env->rcpt[i].unsure = !envelope_rcpt_final(&env->rcpt[i]);
	sched_add(env);
}

/*
 * The messages by queue id, for admin.c and the control socket.
 */

static struct qmsg *
sched_of(struct envelope *env)
{
	return (struct qmsg *)(void *)((char *)env -
	    offsetof(struct qmsg, env));
}

struct envelope *
sched_env_find(const char *qid)
{
	struct qmsg	key, *m;

	if (strlcpy(key.env.qid, qid, sizeof(key.env.qid)) >=
	    sizeof(key.env.qid))
		return NULL;
	m = RB_FIND(id_tree, &ids, &key);
	return m != NULL ? &m->env : NULL;
}

struct envelope *
sched_env_next(const char *after)
{
	struct qmsg	key, *m;

	if (after[0] == '\0')
		m = RB_MIN(id_tree, &ids);
	else {
		strlcpy(key.env.qid, after, sizeof(key.env.qid));
		if ((m = RB_NFIND(id_tree, &ids, &key)) != NULL &&
		    strcmp(m->env.qid, after) == 0)
			m = RB_NEXT(id_tree, &ids, m);
	}
	return m != NULL ? &m->env : NULL;
}

void
sched_env_update(struct envelope *env)
{
	sched_due_update(sched_of(env));
	sched_kick();
}

void
sched_env_forget(struct envelope *env)
{
	sched_free(sched_of(env));
}

/*
 * Deliveries in flight.
 */

static void
sched_log(const struct qmsg *m, const struct envelope_rcpt *r,
    const char *status, const char *dsn, const char *reason, int64_t now)
{
	log_info("qid=%s to=<%s> status=%s dsn=%s delay=%llds attempts=%u "
	    "reason=\"%s\"", m->env.qid, r->addr, status, dsn,
	    (long long)(now - m->env.arrival), r->attempts, reason);
}

static struct delivery *
delivery_find(uint32_t id)
{
	struct delivery	*d;

	TAILQ_FOREACH(d, &inflight, entry)
		if (d->id == id)
			return d;
	return NULL;
}

/* Forget a delivery; its recipient is idle again. */
static void
delivery_end(struct delivery *d)
{
	d->m->env.rcpt[d->idx].busy = 0;
	d->m->busy--;
	TAILQ_REMOVE(&inflight, d, entry);
	ninflight--;
	dest_ended(d->dest);
	sched_unpark(d->dest);
	dest_release(d->dest);
	event_free(d->timeout);
	free(d);
}

static int	sched_apply(struct qmsg *, size_t, enum dl_status,
		    const char *, const char *);
static void	sched_outcome(struct delivery *, enum dl_status, const char *,
		    const char *);

static void
delivery_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct delivery	*d = arg;

	log_warnx("qid=%s: delivery %u got no answer in %ds", d->m->env.qid,
	    d->id, SCHED_DELIVERY_TIMEOUT);
	d->m->env.rcpt[d->idx].unsure = 1;	/* it may still deliver */
	sched_outcome(d, DL_TEMPFAIL, "4.4.1",
	    "delivery agent did not answer");
}

static int
delivery_send(struct link *l, struct qmsg *m, size_t idx, int fd,
    uint32_t id)
{
	struct envelope_rcpt	*r = &m->env.rcpt[idx];

	wire_w_init(&wbuf);
	wire_w_u32(&wbuf, id);
	wire_w_str(&wbuf, m->env.qid);
	wire_w_str(&wbuf, m->env.sender);
	wire_w_str(&wbuf, r->addr);
	wire_w_str(&wbuf, r->orcpt);
	wire_w_u32(&wbuf, r->unsure ? DL_F_RETRY : 0);
	if (wbuf.err) {
		close(fd);
		return -1;
	}
	return ipc_send(l->chan, DL_DELIVER, wbuf.buf, wbuf.len, fd);
}

/* Hand one recipient to deliver-local, a delivery to dst. 0: started,
 * 1: m changed (and may be gone), -1: stop for now. */
static int
delivery_start(struct link *l, struct qmsg *m, size_t idx, struct dest *dst)
{
	struct timeval	 tv = { SCHED_DELIVERY_TIMEOUT, 0 };
	struct delivery	*d;
	int		 fd;

	if ((fd = queue_open_msg(m->env.qid)) == -1) {
		/* a failed attempt: it backs off, then expires */
		sched_apply(m, idx, DL_TEMPFAIL, "4.3.0",
		    "cannot open the queue file");
		return 1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->timeout = evtimer_new(daemon_base, delivery_timeout, d)) ==
	    NULL) {
		log_warn("delivery");
		free(d);
		close(fd);
		return -1;
	}
	if (++next_delivery_id == 0)
		next_delivery_id = 1;
	d->id = next_delivery_id;
	d->link_id = l->id;
	d->m = m;
	d->idx = idx;
	d->dest = dst;
	if (delivery_send(l, m, idx, fd, d->id) == -1) {
		event_free(d->timeout);
		free(d);
		return -1;
	}
	if (evtimer_add(d->timeout, &tv) == -1)
		log_warnx("qid=%s: delivery %u has no timeout", m->env.qid,
		    d->id);
	m->env.rcpt[idx].busy = 1;
	m->busy++;
	TAILQ_INSERT_TAIL(&inflight, d, entry);
	ninflight++;
	dest_started(dst);
	log_debug("qid=%s to=<%s> delivery %u started", m->env.qid,
	    m->env.rcpt[idx].addr, d->id);
	return 0;
}

/* Recipient idx of m, due, goes if its destination has room: 0 if it
 * started or waits (*wait, the first destination it waits for, is
 * then set), 1 if m changed (and may be gone), -1: stop for now. */
static int
sched_rcpt_run(struct link *l, struct qmsg *m, size_t idx,
    struct dest **wait)
{
	struct dest	*dst;
	int		 rc;

	if ((dst = dest_find(m->env.rcpt[idx].addr)) == NULL)
		return -1;
	if (dest_free_slots(dst) == 0) {
		if (*wait == NULL)
			*wait = dst;
		return 0;
	}
	if ((rc = delivery_start(l, m, idx, dst)) != 0)
		dest_release(dst);
	return rc;
}

/* Start the due recipients of m while there is room; if the only ones
 * left wait for a destination at its limit, park m there. -1: stop. */
static int
sched_msg_run(struct link *l, struct qmsg *m, int64_t now)
{
	struct envelope_rcpt	*r;
	struct dest		*wait = NULL;
	size_t			 i;
	int			 rc = 0, full = 0;

	for (i = 0; i < m->env.nrcpt && rc == 0; i++) {
		if (ninflight >= SCHED_CONCURRENCY) {
			full = 1;
			break;
		}
		r = &m->env.rcpt[i];
		if (r->busy || envelope_rcpt_final(r) || r->next_try > now)
			continue;
		if ((rc = sched_rcpt_run(l, m, i, &wait)) == 1)
			return 0;	/* m was updated, or freed */
	}
	if (wait != NULL && rc == 0 && !full)
		sched_park(m, wait);
	else {
		dest_release(wait);
		sched_due_update(m);
	}
	return rc;
}

static void
sched_arm(int64_t now, int blocked)
{
	struct timeval	 tv = { SCHED_TIMER_MAX, 0 };
	struct qmsg	*m;

	if ((m = RB_MIN(due_tree, &due)) != NULL && m->due > now &&
	    m->due - now < SCHED_TIMER_MAX)
		tv.tv_sec = (time_t)(m->due - now);
	else if (m != NULL && m->due <= now && !blocked)
		tv.tv_sec = 0;
	if (!TAILQ_EMPTY(&dirty) && tv.tv_sec > SCHED_DIRTY_RETRY)
		tv.tv_sec = SCHED_DIRTY_RETRY;
	if (evtimer_add(run_ev, &tv) == -1)
		fatalx("scheduler timer");
}

/* The one place deliveries start: on the timer, or kicked by a new
 * message, a result or a new link. */
static void
sched_run(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l = link_get(PROC_LOCAL);
	struct qmsg	*m;
	int64_t		 now = sched_now();
	int		 blocked = 0;

	sched_retry_dirty(now);
	while ((m = RB_MIN(due_tree, &due)) != NULL && m->due <= now) {
		if (l == NULL || qmgr_retiring ||
		    ninflight >= SCHED_CONCURRENCY) {
			blocked = 1;
			break;
		}
		if (sched_msg_run(l, m, now) == -1) {
			blocked = 1;
			break;
		}
	}
	sched_arm(now, blocked);
}

/*
 * Results.
 */

/* The agent's code if it is of the right class, else ours. */
static const char *
sched_dsn(const char *dsn, char class, const char *def)
{
	return dsn != NULL && dsn[0] == class && envelope_dsn_valid(dsn) ?
	    dsn : def;
}

/* Status text for the envelope and the log: bounded, one line. */
static void
sched_set_text(struct envelope_rcpt *r, const char *prefix,
    const char *text)
{
	char	buf[ENVELOPE_FIELD_MAX + 1];
	size_t	i;

	snprintf(buf, sizeof(buf), "%s%s", prefix, text);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f ||
		    buf[i] == '"')
			buf[i] = buf[i] == '"' ? '\'' : ' ';
	if (envelope_set(&r->text, buf) == -1)
		log_warn("status text");
}

static void
sched_tempfail(struct qmsg *m, struct envelope_rcpt *r, const char *dsn,
    const char *text, int64_t now)
{
	int64_t	expires = m->env.arrival + sched_lifetime();

	if (now >= expires) {
		qmgr_counters.bounced++;
		r->state = RCPT_FAILED;
		strlcpy(r->dsn, "4.4.7", sizeof(r->dsn));
		sched_set_text(r, "delivery time expired; last error: ", text);
		sched_log(m, r, "bounced", r->dsn, r->text, now);
		return;
	}
	qmgr_counters.deferred++;
	r->state = RCPT_DEFERRED;
	strlcpy(r->dsn, sched_dsn(dsn, '4', "4.0.0"), sizeof(r->dsn));
	sched_set_text(r, "", text);
	r->next_try = now + sched_backoff(r->attempts);
	if (r->next_try > expires)
		r->next_try = expires;	/* one last try when it expires */
	sched_log(m, r, "deferred", r->dsn, r->text, now);
}

/* Record an attempt's outcome for recipient idx of m, then on disk.
 * Returns 1 if m was freed. */
static int
sched_apply(struct qmsg *m, size_t idx, enum dl_status st, const char *dsn,
    const char *text)
{
	struct envelope_rcpt	*r = &m->env.rcpt[idx];
	int64_t			 now = sched_now();

	if (r->attempts < ENVELOPE_ATTEMPTS_MAX)
		r->attempts++;
	switch (st) {
	case DL_OK:
		qmgr_counters.delivered++;
		r->state = RCPT_DELIVERED;
		strlcpy(r->dsn, sched_dsn(dsn, '2', "2.0.0"), sizeof(r->dsn));
		sched_set_text(r, "", text);
		sched_log(m, r, "sent", r->dsn, r->text, now);
		break;
	case DL_PERMFAIL:
		qmgr_counters.bounced++;
		r->state = RCPT_FAILED;
		strlcpy(r->dsn, sched_dsn(dsn, '5', "5.0.0"), sizeof(r->dsn));
		sched_set_text(r, "", text);
		sched_log(m, r, "bounced", r->dsn, r->text, now);
		break;
	default:
		sched_tempfail(m, r, dsn, text, now);
		break;
	}
	/* a slot is free either way: others may be waiting for it */
	sched_kick();
	if (sched_settle(m, now))
		return 1;
	sched_due_update(m);
	return 0;
}

static void
sched_outcome(struct delivery *d, enum dl_status st, const char *dsn,
    const char *text)
{
	struct qmsg	*m = d->m;
	size_t		 idx = d->idx;

	delivery_end(d);
	sched_apply(m, idx, st, dsn, text);
	qmgr_idle_check();
}

static void
sched_result(struct link *l, struct ipc_msg *msg)
{
	struct delivery	*d;
	struct wire_r	 r;
	char		 dsn[ENVELOPE_DSN_MAX + 1], *text;
	uint32_t	 id, st;

	wire_r_init(&r, msg);
	id = wire_r_u32(&r);
	st = wire_r_u32(&r);
	wire_r_str(&r, dsn, sizeof(dsn));
	text = wire_r_strdup(&r, SCHED_TEXT_MAX);
	if (wire_r_end(&r) == -1 || st > DL_PERMFAIL) {
		free(text);
		link_drop(l, "malformed delivery result");
		return;
	}
	if ((d = delivery_find(id)) == NULL || d->link_id != l->id) {
		/* late, after a timeout: the attempt was already counted */
		log_warnx("%s: result for unknown delivery %u ignored",
		    l->name, id);
		free(text);
		return;
	}
	sched_outcome(d, (enum dl_status)st, dsn, text);
	free(text);
}

static void
sched_dispatch(struct ipc_chan *c, struct ipc_msg *msg, void *arg)
{
	struct link	*l = arg;

	switch (msg->type) {
	case DL_RESULT:
		sched_result(l, msg);
		break;
	default:
		link_drop(l, "unexpected message");
		break;
	}
}

/* deliver-local went away: what it had is retried soon, and not counted
 * as an attempt. Nothing was recorded, so nothing is lost. */
static void
sched_local_gone(struct link *l)
{
	struct delivery		*d, *next;
	struct envelope_rcpt	*r;
	struct qmsg		*m;
	int64_t			 now = sched_now();

	for (d = TAILQ_FIRST(&inflight); d != NULL; d = next) {
		next = TAILQ_NEXT(d, entry);
		if (d->link_id != l->id)
			continue;
		m = d->m;
		r = &m->env.rcpt[d->idx];
		r->next_try = now + SCHED_AGENT_RETRY;
		r->unsure = 1;	/* its child may have written, or still */
		sched_log(m, r, "deferred", "4.3.0",
		    "delivery agent went away", now);
		delivery_end(d);
		sched_due_update(m);
	}
	sched_kick();
	qmgr_idle_check();
}

void
sched_local_link(uint32_t id, int fd)
{
	if (link_add(PROC_LOCAL, id, fd, local_rules, sched_dispatch,
	    sched_local_gone) != NULL)
		sched_kick();
}

void
sched_init(void)
{
	if ((run_ev = evtimer_new(daemon_base, sched_run, NULL)) == NULL)
		fatalx("scheduler timer");
	sched_kick();
}
