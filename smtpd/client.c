/*
 * client.c: smtpd's requests to lookup and qmgr. A request carries the
 * session's id; the answer finds its session by that id, so an answer
 * for a session that ended meanwhile is dropped (and a queue file it
 * opened is given back). A peer that dies fails what was waiting on it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "session.h"
#include "smtpd.h"
#include "wire.h"

#define REASON_MAX	512

const struct ipc_rule smtpd_lookup_rules[] = {
	{ LK_RCPT_REPLY, 16, 16 + 64 + REASON_MAX, IPC_FD_NONE },
	{ LK_AUTH_REPLY, 8, 8, IPC_FD_NONE },
	{ LK_SENDER_REPLY, 8, 8, IPC_FD_NONE },
	{ LK_UID_REPLY, 12, 12 + SASL_LOGIN_MAX, IPC_FD_NONE },
	{ LK_CONNECT_REPLY, 12, 12 + SESSION_ADDR_MAX, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

const struct ipc_rule smtpd_qmgr_rules[] = {
	{ QM_OPEN_OK, 8, 8 + QM_QID_MAX, IPC_FD_REQUIRED },
	{ QM_OPEN_FAIL, 8, 8 + REASON_MAX, IPC_FD_NONE },
	{ QM_COMMIT_OK, 8, 8 + QM_QID_MAX, IPC_FD_NONE },
	{ QM_COMMIT_FAIL, 12, 12 + QM_QID_MAX + REASON_MAX, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

static struct wire_w	w;	/* one request is built at a time */

static int
client_send(enum proc_kind kind, uint16_t type, struct link **lp)
{
	struct link	*l;

	if (w.err || (l = link_get(kind)) == NULL)
		return -1;
	if (lp != NULL)
		*lp = l;
	return ipc_send(l->chan, type, w.buf, w.len, -1);
}

int
client_lookup_rcpt(struct session *s, const char *addr)
{
	wire_w_init(&w);
	wire_w_u32(&w, s->id);
	wire_w_u32(&w, (s->trusted ? LK_F_TRUSTED : 0) |
	    (s->login[0] != '\0' ? LK_F_AUTH : 0));
	wire_w_str(&w, addr);
	if (client_send(PROC_LOOKUP, LK_RCPT, NULL) == -1)
		return -1;
	s->wait = W_LOOKUP;
	return 0;
}

int
client_lookup_auth(struct session *s, const char *login,
    const char *password)
{
	int	rc;

	wire_w_init(&w);
	wire_w_u32(&w, s->id);
	wire_w_str(&w, s->addr);
	wire_w_str(&w, login);
	wire_w_str(&w, password);
	rc = client_send(PROC_LOOKUP, LK_AUTH, NULL);
	explicit_bzero(w.buf, w.len);
	if (rc == -1)
		return -1;
	s->wait = W_AUTH;
	return 0;
}

int
client_lookup_sender(struct session *s)
{
	wire_w_init(&w);
	wire_w_u32(&w, s->id);
	wire_w_str(&w, s->login);
	wire_w_str(&w, s->sender.canon);
	if (client_send(PROC_LOOKUP, LK_SENDER, NULL) == -1)
		return -1;
	s->wait = W_SENDER;
	return 0;
}

int
client_lookup_uid(struct session *s)
{
	wire_w_init(&w);
	wire_w_u32(&w, s->id);
	wire_w_u32(&w, s->local_uid);
	if (client_send(PROC_LOOKUP, LK_UID, NULL) == -1)
		return -1;
	s->wait = W_LOCAL_USER;
	return 0;
}

int
client_lookup_connect(struct session *s)
{
	struct link	*l;

	wire_w_init(&w);
	wire_w_u32(&w, s->id);
	wire_w_u32(&w, s->trusted ? LK_F_TRUSTED : 0);
	wire_w_str(&w, s->addr);
	if (client_send(PROC_LOOKUP, LK_CONNECT, &l) == -1)
		return -1;
	s->wait = W_CONNECT;
	s->conn_link = l->id;
	return 0;
}

/* A session counted by lookup ended; one counted by a lookup that is
 * gone since is not (the new one never counted it). */
void
client_lookup_disconnect(uint32_t link, const char *addr)
{
	struct link	*l;

	if ((l = link_get(PROC_LOOKUP)) == NULL || l->id != link)
		return;
	wire_w_init(&w);
	wire_w_str(&w, addr);
	(void)client_send(PROC_LOOKUP, LK_DISCONNECT, NULL);
}

/* The session an answer is for, if it still waits for one: NULL for a
 * session that ended or moved on. */
static struct session *
client_waiting(uint32_t id, enum session_wait wait)
{
	struct session	*s;

	if ((s = session_by_id(id)) == NULL || s->wait != wait)
		return NULL;
	s->wait = W_NONE;
	return s;
}

static void
client_rcpt_reply(struct link *l, struct wire_r *r, uint32_t id)
{
	struct session	*s;
	char		 dsn[64], text[REASON_MAX];
	uint32_t	 status;

	status = wire_r_u32(r);
	wire_r_str(r, dsn, sizeof(dsn));
	wire_r_str(r, text, sizeof(text));
	if (wire_r_end(r) == -1) {
		link_drop(l, "malformed recipient answer");
		return;
	}
	if ((s = client_waiting(id, W_LOOKUP)) == NULL)
		return;
	command_rcpt_answer(s, status, dsn, text);
	session_resume(s);
}

static void
client_status_reply(struct link *l, struct wire_r *r, uint32_t id,
    uint16_t type)
{
	struct session	*s;
	char		 name[SASL_LOGIN_MAX + 1] = "";
	uint32_t	 status;

	status = wire_r_u32(r);
	if (type == LK_UID_REPLY)
		wire_r_str(r, name, sizeof(name));
	if (wire_r_end(r) == -1) {
		link_drop(l, "malformed answer");
		return;
	}
	if (type == LK_AUTH_REPLY && (s = client_waiting(id, W_AUTH)) != NULL)
		auth_answer(s, status);
	else if (type == LK_SENDER_REPLY &&
	    (s = client_waiting(id, W_SENDER)) != NULL)
		command_sender_answer(s, status);
	else if (type == LK_UID_REPLY &&
	    (s = client_waiting(id, W_LOCAL_USER)) != NULL)
		command_local_user(s, status, name);
	else
		return;
	if (s->state != S_CLOSING)
		session_resume(s);
}

/* Admitted or not; a session that ended before the answer gives back
 * the count it was admitted with. */
static void
client_connect_reply(struct link *l, struct wire_r *r, uint32_t id)
{
	struct session	*s;
	char		 addr[SESSION_ADDR_MAX + 1];
	uint32_t	 status;

	status = wire_r_u32(r);
	wire_r_str(r, addr, sizeof(addr));
	if (wire_r_end(r) == -1) {
		link_drop(l, "malformed connect answer");
		return;
	}
	if ((s = client_waiting(id, W_CONNECT)) == NULL ||
	    strcmp(s->addr, addr) != 0) {
		if (status == LK_OK)
			client_lookup_disconnect(l->id, addr);
		return;
	}
	s->conn_counted = status == LK_OK;
	session_admitted(s, status);
	if (s->state != S_CLOSING)
		session_resume(s);
}

void
smtpd_lookup_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct wire_r	 r;
	uint32_t	 id;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	if (m->type == LK_RCPT_REPLY)
		client_rcpt_reply(arg, &r, id);
	else if (m->type == LK_CONNECT_REPLY)
		client_connect_reply(arg, &r, id);
	else
		client_status_reply(arg, &r, id, m->type);
}

int
client_qmgr_open(struct session *s)
{
	struct link	*l;

	wire_w_init(&w);
	wire_w_u32(&w, s->id);
	if (client_send(PROC_QMGR, QM_OPEN, &l) == -1)
		return -1;
	s->wait = W_OPEN;
	s->qmgr_id = l->id;
	return 0;
}

static void
client_abort_qid(const char *qid)
{
	wire_w_init(&w);
	wire_w_str(&w, qid);
	(void)client_send(PROC_QMGR, QM_ABORT, NULL);
}

/* Give back an uncommitted queue file, if the session holds one. */
void
client_qmgr_abort(struct session *s)
{
	if (s->qid[0] == '\0')
		return;
	if (s->msgfd != -1) {
		close(s->msgfd);
		s->msgfd = -1;
	}
	client_abort_qid(s->qid);
	s->qid[0] = '\0';
}

static void
client_open_answer(struct session *s, struct ipc_msg *m, const char *qid)
{
	s->wait = W_NONE;
	if (m->type == QM_OPEN_FAIL) {
		log_warnx("client=%s qmgr refused a queue file", s->addr);
		session_reply(s, "451 4.3.0 Error: queue file unavailable");
		if (s->bdat_used)
			s->discard = s->data.chunk_left;
		session_reset(s);
		return;
	}
	strlcpy(s->qid, qid, sizeof(s->qid));
	s->msgfd = m->fd;
	m->fd = -1;
	command_data_start(s);
}

static void
client_commit_answer(struct session *s, struct ipc_msg *m, const char *qid,
    const char *reason)
{
	if (strcmp(qid, s->qid) != 0) {
		log_warnx("client=%s qmgr answered for %s, not %s", s->addr,
		    qid, s->qid);
		data_commit_answer(s, 0, "qmgr answered another message");
		return;
	}
	s->wait = W_NONE;
	if (m->type == QM_COMMIT_OK)
		data_commit_answer(s, 1, NULL);
	else {
		s->qid[0] = '\0';	/* qmgr removed it */
		data_commit_answer(s, 0, reason);
	}
}

void
smtpd_qmgr_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct session	*s;
	struct wire_r	 r;
	char		 qid[QM_QID_MAX + 1] = "", reason[REASON_MAX] = "";
	uint32_t	 id;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	if (m->type != QM_OPEN_FAIL)
		wire_r_str(&r, qid, sizeof(qid));
	if (m->type == QM_OPEN_FAIL || m->type == QM_COMMIT_FAIL)
		wire_r_str(&r, reason, sizeof(reason));
	if (wire_r_end(&r) == -1) {
		if (m->fd != -1)
			close(m->fd);
		link_drop(arg, "malformed queue answer");
		return;
	}
	s = session_by_id(id);
	if (m->type == QM_OPEN_OK || m->type == QM_OPEN_FAIL) {
		if (s != NULL && s->wait == W_OPEN)
			client_open_answer(s, m, qid);
		else if (m->type == QM_OPEN_OK)
			client_abort_qid(qid);	/* nobody wants it now */
	} else if (s != NULL && s->wait == W_COMMIT)
		client_commit_answer(s, m, qid, reason);
	if (m->fd != -1)
		close(m->fd);
	if (s != NULL)
		session_resume(s);
}

static void
client_rcpts(struct session *s)
{
	size_t	i;

	for (i = 0; i < s->nrcpts; i++) {
		wire_w_init(&w);
		wire_w_u32(&w, s->id);
		wire_w_str(&w, s->qid);
		wire_w_str(&w, s->rcpts[i].addr);
		wire_w_str(&w, s->rcpts[i].orcpt);
		wire_w_u32(&w, s->rcpts[i].notify);
		if (client_send(PROC_QMGR, QM_RCPT, NULL) == -1)
			return;
	}
}

static uint32_t
client_body(const struct session *s)
{
	switch (s->mail.body) {
	case SMTP_BODY_8BITMIME:
		return QM_BODY_8BITMIME;
	case SMTP_BODY_BINARYMIME:
		return QM_BODY_BINARYMIME;
	default:
		return QM_BODY_7BIT;
	}
}

int
client_qmgr_commit(struct session *s)
{
	struct link	*l = link_get(PROC_QMGR);

	/* a file opened by a qmgr that has died since is gone with it */
	if (l == NULL || l->id != s->qmgr_id)
		return -1;
	client_rcpts(s);
	wire_w_init(&w);
	wire_w_u32(&w, s->id);
	wire_w_str(&w, s->qid);
	wire_w_str(&w, s->sender.canon);
	wire_w_str(&w, s->addr);
	wire_w_str(&w, "unknown");
	wire_w_str(&w, s->helo);
	wire_w_str(&w, s->login);
	wire_w_u32(&w, client_body(s));
	wire_w_u32(&w, (s->mail.has & SMTP_P_SMTPUTF8) ? QM_F_SMTPUTF8 : 0);
	wire_w_u32(&w, s->mail.ret == SMTP_RET_HDRS ? QM_RET_HDRS :
	    s->mail.ret == SMTP_RET_FULL ? QM_RET_FULL : QM_RET_NONE);
	wire_w_str(&w, s->mail.envid);
	wire_w_u64(&w, s->data.size);
	wire_w_u32(&w, (uint32_t)s->nrcpts);
	if (client_send(PROC_QMGR, QM_COMMIT, NULL) == -1)
		return -1;
	s->wait = W_COMMIT;
	return 0;
}

/* lookup died with a question of ours: the session's command fails
 * temporarily. */
static void
client_status_fail(struct session *s)
{
	enum session_wait	wait = s->wait;

	s->wait = W_NONE;
	if (wait == W_AUTH)
		auth_answer(s, LK_TEMPFAIL);
	else if (wait == W_SENDER)
		command_sender_answer(s, LK_TEMPFAIL);
	else
		command_local_user(s, LK_TEMPFAIL, "");
	if (s->state != S_CLOSING)
		session_resume(s);
}

static void
client_fail_waiting(struct session *s, void *arg)
{
	struct link	*l = arg;

	if (l->kind == PROC_LOOKUP && s->wait == W_LOOKUP) {
		s->wait = W_NONE;
		command_rcpt_answer(s, LK_TEMPFAIL, "4.3.0", "lookup gone");
		session_resume(s);
	} else if (l->kind == PROC_LOOKUP && s->wait == W_CONNECT) {
		/* the limits of this worker alone were checked */
		s->wait = W_NONE;
		session_admitted(s, LK_OK);
		session_resume(s);
	} else if (l->kind == PROC_LOOKUP && (s->wait == W_AUTH ||
	    s->wait == W_SENDER || s->wait == W_LOCAL_USER) &&
	    !evtimer_pending(s->auth_timer, NULL)) {
		client_status_fail(s);
	} else if (l->kind == PROC_QMGR && s->qmgr_id == l->id &&
	    (s->wait == W_OPEN || s->wait == W_COMMIT)) {
		s->wait = W_NONE;
		s->qid[0] = '\0';
		if (s->msgfd != -1) {
			close(s->msgfd);
			s->msgfd = -1;
		}
		log_warnx("client=%s queue manager went away", s->addr);
		session_reply(s, "451 4.3.0 Error: queue unavailable, try "
		    "again later");
		session_reset(s);
		session_timeout_command(s);
		session_resume(s);
	}
}

void
smtpd_lookup_gone(struct link *l)
{
	session_each(client_fail_waiting, l);
}

void
smtpd_qmgr_gone(struct link *l)
{
	session_each(client_fail_waiting, l);
}
