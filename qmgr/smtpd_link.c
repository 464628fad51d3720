/*
 * smtpd_link.c: the hand-off from smtpd, the only way a message enters
 * the queue. QM_OPEN creates a message file and sends smtpd a write-only
 * descriptor of it; QM_RCPT frames collect its recipients; QM_COMMIT
 * makes file and envelope durable before it is answered. Whatever a link
 * leaves uncommitted is removed when the link goes.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "qmgr.h"
#include "wire.h"

#define SMTPD_OPEN_MAX		1000	/* uncommitted messages per link */
#define SMTPD_LINK_BYTES_MAX	(64 * 1024 * 1024)	/* their recipients */
#define QMGR_QUEUE_MAX		200000	/* messages in the queue */
#define SMTPD_FIELD_MAX		QM_ADDR_MAX

/* Payload sizes: the fixed part (integers and string lengths), then
 * the longest strings allowed. */
#define RCPT_MIN	(4 + 4 * 3 + 4)
#define RCPT_MAX	(RCPT_MIN + QM_QID_MAX + 2 * QM_ADDR_MAX)
#define COMMIT_MIN	(4 + 4 * 6 + 4 * 3 + 4 + 8 + 4)
#define COMMIT_MAX	(COMMIT_MIN + QM_QID_MAX + 6 * SMTPD_FIELD_MAX)

struct incoming {
	TAILQ_ENTRY(incoming)	 entry;
	uint32_t		 id;		/* of the QM_OPEN */
	struct envelope		 env;		/* qid and recipients */
	size_t			 nrcpt;		/* QM_RCPT frames received */
	size_t			 bytes;
	const char		*failed;	/* why the commit must fail */
	struct smtpd_peer	*peer;
	int			 batched;	/* waiting in the commit batch */
	int			 fd;		/* ours, for the commit's fsync;
						   -1: opened again by name */
	uint32_t		 commit_id;
	TAILQ_ENTRY(incoming)	 batch_entry;
	/* being committed: it ends when the commit does. A peer that
	 * goes (peer NULL) or aborts meanwhile never saw a 250, so a
	 * message committed then is removed again. */
	struct commit_item	 ci;
	struct commit_round	*round;
	int			 aborted;
};

/* The commits given to commit.c at once; a few may be under way. */
#define COMMIT_ROUNDS_MAX	2
struct commit_round {
	size_t	left;
};

struct smtpd_peer {
	TAILQ_ENTRY(smtpd_peer)	 entry;
	struct link		*link;
	TAILQ_HEAD(, incoming)	 open;
	size_t			 nopen;
	size_t			 bytes;
};

static TAILQ_HEAD(, smtpd_peer)	peers = TAILQ_HEAD_INITIALIZER(peers);
/* Commits that arrived in one turn of the event loop are made durable
 * together: each directory is synced once per batch, not per message. */
static TAILQ_HEAD(, incoming)	batch = TAILQ_HEAD_INITIALIZER(batch);
static struct event		*batch_ev;
static unsigned			nrounds;
static size_t			nopen_total;
static struct wire_w		wbuf;

static const struct ipc_rule smtpd_rules[] = {
	{ QM_OPEN, 4, 4, IPC_FD_NONE },
	{ QM_RCPT, RCPT_MIN, RCPT_MAX, IPC_FD_NONE },
	{ QM_COMMIT, COMMIT_MIN, COMMIT_MAX, IPC_FD_NONE },
	{ QM_ABORT, 4, 4 + QM_QID_MAX, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

size_t
smtpd_link_open_count(void)
{
	return nopen_total;
}

static struct smtpd_peer *
peer_find(struct link *l)
{
	struct smtpd_peer	*p;

	TAILQ_FOREACH(p, &peers, entry)
		if (p->link == l)
			return p;
	return NULL;
}

static struct incoming *
incoming_find(struct smtpd_peer *p, const char *qid)
{
	struct incoming	*in;

	TAILQ_FOREACH(in, &p->open, entry)
		if (strcmp(in->env.qid, qid) == 0)
			return in;
	return NULL;
}

static void
incoming_detach(struct smtpd_peer *p, struct incoming *in)
{
	TAILQ_REMOVE(&p->open, in, entry);
	p->nopen--;
	p->bytes -= in->bytes;
	in->peer = NULL;
}

static void
incoming_free(struct incoming *in)
{
	if (in->fd != -1)
		close(in->fd);
	nopen_total--;
	envelope_free(&in->env);
	free(in);
}

/* Forget an uncommitted message; discard its file unless committed. */
static void
incoming_end(struct smtpd_peer *p, struct incoming *in, int discard)
{
	if (discard)
		queue_discard(in->env.qid);
	if (in->batched)
		TAILQ_REMOVE(&batch, in, batch_entry);
	incoming_detach(p, in);
	incoming_free(in);
}

static void
reply(struct link *l, uint16_t type, uint32_t id, const char *qid,
    const char *text, int fd)
{
	wire_w_init(&wbuf);
	wire_w_u32(&wbuf, id);
	if (qid != NULL)
		wire_w_str(&wbuf, qid);
	if (text != NULL)
		wire_w_str(&wbuf, text);
	if (ipc_send(l->chan, type, wbuf.buf, wbuf.len, fd) == -1)
		log_warnx("%s: cannot answer", l->name);
}

static const char *
open_refusal(struct smtpd_peer *p)
{
	if (qmgr_retiring)
		return "queue manager is restarting";
	if (p->nopen >= SMTPD_OPEN_MAX)
		return "too many open queue files";
	if (sched_count() + nopen_total >= QMGR_QUEUE_MAX)
		return "queue is full";
	return NULL;
}

static void
smtpd_open(struct smtpd_peer *p, struct ipc_msg *m)
{
	struct incoming	*in;
	struct wire_r	 r;
	const char	*why;
	uint32_t	 id;
	int		 fd;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	if (wire_r_end(&r) == -1) {
		link_drop(p->link, "malformed open");
		return;
	}
	if ((why = open_refusal(p)) != NULL) {
		reply(p->link, QM_OPEN_FAIL, id, NULL, why, -1);
		return;
	}
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		reply(p->link, QM_OPEN_FAIL, id, NULL, "out of memory", -1);
		return;
	}
	if ((fd = queue_create(in->env.qid)) == -1) {
		free(in);
		reply(p->link, QM_OPEN_FAIL, id, NULL,
		    "cannot create a queue file", -1);
		return;
	}
	/* kept so that the commit syncs without a lookup by name, which
	 * waits on the journal under load; short of descriptors, the
	 * commit opens it by name */
	in->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	in->id = id;
	in->peer = p;
	TAILQ_INSERT_TAIL(&p->open, in, entry);
	p->nopen++;
	nopen_total++;
	reply(p->link, QM_OPEN_OK, id, in->env.qid, NULL, fd);
	log_debug("qid=%s opened for %s", in->env.qid, p->link->name);
}

/* A recipient that cannot be kept fails the commit, not the link. */
static void
smtpd_rcpt_add(struct smtpd_peer *p, struct incoming *in, const char *addr,
    const char *orcpt, uint32_t notify)
{
	size_t	cost = strlen(addr) + strlen(orcpt) + 64;

	if (in->failed != NULL)
		return;
	if (p->bytes + cost > SMTPD_LINK_BYTES_MAX) {
		in->failed = "too many recipients in progress";
		return;
	}
	if (envelope_rcpt_add(&in->env, addr, orcpt, notify) == -1) {
		in->failed = "out of memory";
		return;
	}
	in->bytes += cost;
	p->bytes += cost;
}

static void
smtpd_rcpt(struct smtpd_peer *p, struct ipc_msg *m)
{
	struct incoming	*in;
	struct wire_r	 r;
	char		 qid[QM_QID_MAX + 1], addr[QM_ADDR_MAX + 1];
	char		 orcpt[QM_ADDR_MAX + 1];
	uint32_t	 notify;

	wire_r_init(&r, m);
	(void)wire_r_u32(&r);
	wire_r_str(&r, qid, sizeof(qid));
	wire_r_str(&r, addr, sizeof(addr));
	wire_r_str(&r, orcpt, sizeof(orcpt));
	notify = wire_r_u32(&r);
	if (wire_r_end(&r) == -1 || addr[0] == '\0' || !wire_text_ok(addr) ||
	    !wire_text_ok(orcpt) || (notify & ~0xfU) != 0 ||
	    ((notify & QM_NOTIFY_NEVER) && notify != QM_NOTIFY_NEVER)) {
		link_drop(p->link, "malformed recipient");
		return;
	}
	if ((in = incoming_find(p, qid)) == NULL) {
		link_drop(p->link, "recipient for an unknown queue file");
		return;
	}
	if (++in->nrcpt > ENVELOPE_RCPT_MAX) {
		link_drop(p->link, "too many recipients");
		return;
	}
	smtpd_rcpt_add(p, in, addr, orcpt, notify);
}

/* The fields of QM_COMMIT after the id and the queue id, into env. */
static int
commit_read(struct wire_r *r, struct envelope *env, uint32_t *nrcpt)
{
	char	*s[6] = { NULL };
	size_t	 i;
	int	 ok;

	for (i = 0; i < 5; i++)
		s[i] = wire_r_strdup(r, SMTPD_FIELD_MAX);
	env->body = wire_r_u32(r);
	env->flags = wire_r_u32(r);
	env->ret = wire_r_u32(r);
	s[5] = wire_r_strdup(r, SMTPD_FIELD_MAX);
	(void)wire_r_u64(r);		/* size: the file's is what counts */
	*nrcpt = wire_r_u32(r);
	ok = wire_r_end(r) == 0 && env->body <= QM_BODY_BINARYMIME &&
	    (env->flags & ~QM_F_SMTPUTF8) == 0 && env->ret <= QM_RET_HDRS;
	for (i = 0; i < 6; i++)
		ok = ok && wire_text_ok(s[i]);
	if (ok) {
		env->sender = s[0];
		env->client_addr = s[1];
		env->client_name = s[2];
		env->helo = s[3];
		env->auth = s[4];
		env->envid = s[5];
		return 0;
	}
	for (i = 0; i < 6; i++)
		free(s[i]);
	return -1;
}

static void
smtpd_commit_fail(struct smtpd_peer *p, struct incoming *in,
    uint32_t id, const char *why)
{
	log_warnx("qid=%s from=<%s> status=refused reason=\"%s\"",
	    in->env.qid, in->env.sender, why);
	reply(p->link, QM_COMMIT_FAIL, id, in->env.qid, why, -1);
	incoming_end(p, in, 1);
}

static void
smtpd_commit_ok(struct smtpd_peer *p, struct incoming *in, uint32_t id)
{
	log_info("qid=%s from=<%s> size=%llu nrcpt=%zu client=%s "
	    "status=queued", in->env.qid, in->env.sender,
	    (unsigned long long)in->env.size, in->env.nrcpt,
	    in->env.client_addr);
	reply(p->link, QM_COMMIT_OK, id, in->env.qid, NULL, -1);
	qmgr_counters.received++;
	sched_add(&in->env);	/* takes the envelope's content */
	incoming_end(p, in, 0);
}

static void
smtpd_commit(struct smtpd_peer *p, struct ipc_msg *m)
{
	struct incoming	*in;
	struct envelope	 env;
	struct wire_r	 r;
	char		 qid[QM_QID_MAX + 1];
	uint32_t	 id, nrcpt;

	envelope_init(&env);
	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	wire_r_str(&r, qid, sizeof(qid));
	if (commit_read(&r, &env, &nrcpt) == -1) {
		link_drop(p->link, "malformed commit");
		return;
	}
	if ((in = incoming_find(p, qid)) == NULL || in->round != NULL ||
	    in->batched) {
		envelope_free(&env);
		link_drop(p->link, in == NULL ? "commit of an unknown queue "
		    "file" : "commit sent twice");
		return;
	}
	/* the recipients gathered here, the rest from the commit */
	env.rcpt = in->env.rcpt;
	env.nrcpt = in->env.nrcpt;
	env.rcpt_cap = in->env.rcpt_cap;
	strlcpy(env.qid, in->env.qid, sizeof(env.qid));
	env.arrival = sched_now();
	in->env = env;
	if (in->failed != NULL)
		smtpd_commit_fail(p, in, id, in->failed);
	else if (nrcpt == 0 || nrcpt != in->nrcpt)
		smtpd_commit_fail(p, in, id, "recipient count mismatch");
	else {
		in->batched = 1;
		in->commit_id = id;
		TAILQ_INSERT_TAIL(&batch, in, batch_entry);
		if (!event_pending(batch_ev, EV_TIMEOUT, NULL))
			event_active(batch_ev, EV_TIMEOUT, 0);
		return;
	}
	qmgr_idle_check();
}

/* The end of one commit: answered, or undone if nobody waits for it. */
static void
smtpd_commit_done(struct commit_item *ci)
{
	struct incoming		*in = ci->arg;
	struct commit_round	*round = in->round;

	in->round = NULL;
	if (in->peer == NULL || in->aborted) {
		if (ci->rc == 0)
			(void)queue_remove(in->env.qid);
		else
			queue_discard(in->env.qid);
		log_info("qid=%s status=aborted reason=\"%s before the "
		    "commit ended\"", in->env.qid, in->peer == NULL ?
		    "smtpd went away" : "the session ended");
		if (in->peer != NULL)
			incoming_detach(in->peer, in);
		incoming_free(in);
	} else if (ci->rc == 0)
		smtpd_commit_ok(in->peer, in, in->commit_id);
	else
		smtpd_commit_fail(in->peer, in, in->commit_id, ci->why);
	if (--round->left == 0) {
		free(round);
		nrounds--;
		if (!TAILQ_EMPTY(&batch))
			event_active(batch_ev, EV_TIMEOUT, 0);
	}
	qmgr_idle_check();
}

/* The commits waiting, as one round; another may still be under way. */
static void
smtpd_commit_batch(evutil_socket_t fd, short ev, void *arg)
{
	struct commit_item	*items[QMGR_COMMIT_BATCH];
	struct commit_round	*round;
	struct incoming		*in;
	size_t			 n = 0;

	if (nrounds >= COMMIT_ROUNDS_MAX || TAILQ_EMPTY(&batch))
		return;
	if ((round = calloc(1, sizeof(*round))) == NULL) {
		log_warn("commit round");
		if (nrounds == 0)	/* nothing else will call again */
			event_active(batch_ev, EV_TIMEOUT, 0);
		return;
	}
	nrounds++;
	while ((in = TAILQ_FIRST(&batch)) != NULL && n < QMGR_COMMIT_BATCH) {
		TAILQ_REMOVE(&batch, in, batch_entry);
		in->batched = 0;
		in->round = round;
		memset(&in->ci, 0, sizeof(in->ci));
		in->ci.env = &in->env;
		in->ci.msgfd = in->fd;
		in->ci.arg = in;
		items[n++] = &in->ci;
	}
	round->left = n;
	commit_start(items, n, smtpd_commit_done);
}

static void
smtpd_abort(struct smtpd_peer *p, struct ipc_msg *m)
{
	struct incoming	*in;
	struct wire_r	 r;
	char		 qid[QM_QID_MAX + 1];

	wire_r_init(&r, m);
	wire_r_str(&r, qid, sizeof(qid));
	if (wire_r_end(&r) == -1) {
		link_drop(p->link, "malformed abort");
		return;
	}
	/* a refused commit has already removed its file */
	if ((in = incoming_find(p, qid)) == NULL)
		return;
	if (in->round != NULL) {	/* its commit ends it */
		in->aborted = 1;
		return;
	}
	log_info("qid=%s status=aborted", qid);
	incoming_end(p, in, 1);
	qmgr_idle_check();
}

static void
smtpd_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct smtpd_peer	*p;

	if ((p = peer_find(arg)) == NULL) {
		close(m->fd);
		return;
	}
	switch (m->type) {
	case QM_OPEN:
		smtpd_open(p, m);
		break;
	case QM_RCPT:
		smtpd_rcpt(p, m);
		break;
	case QM_COMMIT:
		smtpd_commit(p, m);
		break;
	case QM_ABORT:
		smtpd_abort(p, m);
		break;
	default:
		link_drop(p->link, "unexpected message");
		break;
	}
}

static void
smtpd_gone(struct link *l)
{
	struct smtpd_peer	*p;
	struct incoming		*in;
	size_t			 n = 0;

	if ((p = peer_find(l)) == NULL)
		return;
	while ((in = TAILQ_FIRST(&p->open)) != NULL) {
		if (in->round != NULL) {	/* its commit ends it */
			incoming_detach(p, in);
			continue;
		}
		log_info("qid=%s status=aborted reason=\"%s went away\"",
		    in->env.qid, l->name);
		incoming_end(p, in, 1);
		n++;
	}
	TAILQ_REMOVE(&peers, p, entry);
	free(p);
	if (n > 0)
		log_info("%s: %zu uncommitted messages removed", l->name, n);
	qmgr_idle_check();
}

void
smtpd_link_add(uint32_t id, int fd)
{
	struct smtpd_peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("smtpd link");
		close(fd);
		return;
	}
	TAILQ_INIT(&p->open);
	if (batch_ev == NULL && (batch_ev = event_new(daemon_base, -1, 0,
	    smtpd_commit_batch, NULL)) == NULL)
		fatalx("commit batch event");
	if ((p->link = link_add(PROC_SMTPD, id, fd, smtpd_rules,
	    smtpd_dispatch, smtpd_gone)) == NULL) {
		free(p);
		return;
	}
	TAILQ_INSERT_TAIL(&peers, p, entry);
}
