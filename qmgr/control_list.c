/*
 * control_list.c: the control socket's answers that describe the queue
 * (queuectl.h): a page of the list in queue id order, one message in
 * full with its header, and the counters. Each answer is one frame: a
 * list goes on from where the last page ended, and a message with more
 * recipients than a frame holds is shown with the first of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "qmgr.h"
#include "queuectl.h"
#include "wire.h"

#define LIST_SCAN_MAX	20000	/* messages looked at per page */
#define FRAME_BUDGET	(IPC_MAX_PAYLOAD - 64)	/* room for the head */
#define DETAILS_MAX	(5 * (4 + QC_TEXT_MAX) + 12)
#define MSG_HEAD_MAX	(4 + QM_QID_MAX + 4 + 8 + 8 + 4 + QC_TEXT_MAX + 8)

static struct wire_w	body, item, rcpts;

/* A copy fit for the client's reader, which refuses control characters
 * (an envelope read from disk may hold any byte but NUL). */
static void
control_copy(char *dst, const char *src, size_t len)
{
	char	*p;

	strlcpy(dst, src, len);
	for (p = dst; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static uint32_t
control_state(enum rcpt_state st)
{
	switch (st) {
	case RCPT_DELIVERED:
		return QC_DELIVERED;
	case RCPT_DEFERRED:
		return QC_DEFERRED;
	case RCPT_FAILED:
		return QC_FAILED;
	default:
		return QC_PENDING;
	}
}

/* The recipients of env that fit in budget bytes, into rcpts. */
static uint32_t
control_rcpts(const struct envelope *env, size_t budget)
{
	struct qc_rcpt		 q;
	const struct envelope_rcpt *r;
	size_t			 i, len;

	wire_w_init(&rcpts);
	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		memset(&q, 0, sizeof(q));
		control_copy(q.addr, r->addr, sizeof(q.addr));
		q.state = control_state(r->state);
		q.attempts = r->attempts;
		q.next_try = r->next_try > 0 ? r->next_try : 0;
		control_copy(q.dsn, r->dsn, sizeof(q.dsn));
		control_copy(q.text, r->text, sizeof(q.text));
		len = rcpts.len;
		qc_rcpt_write(&rcpts, &q);
		if (rcpts.err || rcpts.len > budget) {
			rcpts.len = len;
			rcpts.err = 0;
			break;
		}
	}
	return (uint32_t)i;
}

/* The message's head into w, and as many of its recipients as budget
 * allows into rcpts, for the caller to add where they go. */
static void
control_msg(struct wire_w *w, const struct envelope *env, size_t budget)
{
	struct qc_msg	m;

	memset(&m, 0, sizeof(m));
	strlcpy(m.qid, env->qid, sizeof(m.qid));
	m.flags = (env->held ? QC_F_HELD : 0) |
	    (admin_active(env) ? QC_F_ACTIVE : 0);
	m.arrival = env->arrival > 0 ? env->arrival : 0;
	m.size = env->size;
	control_copy(m.sender, env->sender, sizeof(m.sender));
	m.nrcpt = (uint32_t)env->nrcpt;
	m.count = control_rcpts(env, budget - MSG_HEAD_MAX);
	qc_msg_write(w, &m);
}

static int
control_matches(const struct envelope *env, const char *match)
{
	size_t	i;

	if (match[0] == '\0' || strstr(env->qid, match) != NULL ||
	    strcasestr(env->sender, match) != NULL)
		return 1;
	for (i = 0; i < env->nrcpt; i++)
		if (strcasestr(env->rcpt[i].addr, match) != NULL)
			return 1;
	return 0;
}

void
control_list_build(struct wire_w *w, const char *after, const char *match,
    const char *login)
{
	struct envelope	*env;
	char		 next[QM_QID_MAX + 1];
	uint32_t	 count = 0, flags = 0, scanned = 0;

	strlcpy(next, after, sizeof(next));
	wire_w_init(&body);
	for (env = sched_env_next(after); env != NULL;
	    env = sched_env_next(env->qid)) {
		if (scanned++ >= LIST_SCAN_MAX) {
			flags = QC_LIST_MORE;	/* the rest on the next page */
			break;
		}
		if (!control_matches(env, match) || (login != NULL &&
		    !qc_sender_is_user(daemon_cfg, env->sender, login))) {
			strlcpy(next, env->qid, sizeof(next));
			continue;
		}
		wire_w_init(&item);
		control_msg(&item, env, FRAME_BUDGET);
		wire_w_bytes(&item, rcpts.buf, rcpts.len);
		if (body.len + item.len > FRAME_BUDGET) {
			flags = QC_LIST_MORE;
			break;
		}
		wire_w_bytes(&body, item.buf, item.len);
		strlcpy(next, env->qid, sizeof(next));
		count++;
	}
	wire_w_init(w);
	qc_list_head_write(w, flags, flags ? next : "", count);
	wire_w_bytes(w, body.buf, body.len);
}

/* The message's header, up to QC_HEADERS_MAX bytes and whole lines;
 * NUL bytes (which no string on the wire may hold) become '?'. */
static void
control_headers(const char *qid, char *buf, size_t len)
{
	ssize_t	 n;
	char	*end;
	int	 fd;

	buf[0] = '\0';
	if ((fd = queue_open_msg(qid)) == -1)
		return;
	n = pread(fd, buf, len - 1, 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (end = buf; end < buf + n; end++)
		if (*end == '\0')
			*end = '?';
	if ((end = strstr(buf, "\r\n\r\n")) != NULL)
		end[2] = '\0';
	else if ((size_t)n == len - 1 && (end = strrchr(buf, '\n')) != NULL)
		end[1] = '\0';
}

void
control_show_build(struct wire_w *w, const struct envelope *env)
{
	static char		headers[QC_HEADERS_MAX + 1];
	struct qc_details	d;

	memset(&d, 0, sizeof(d));
	control_copy(d.client_addr, env->client_addr, sizeof(d.client_addr));
	control_copy(d.client_name, env->client_name, sizeof(d.client_name));
	control_copy(d.helo, env->helo, sizeof(d.helo));
	control_copy(d.auth, env->auth, sizeof(d.auth));
	control_copy(d.envid, env->envid, sizeof(d.envid));
	d.body = env->body;
	d.ret = env->ret;
	d.smtputf8 = (env->flags & QM_F_SMTPUTF8) != 0;
	control_headers(env->qid, headers, sizeof(headers));
	/* the recipients after the details, the header last */
	wire_w_init(w);
	control_msg(w, env, FRAME_BUDGET - DETAILS_MAX -
	    (4 + QC_HEADERS_MAX));
	qc_details_write(w, &d);
	wire_w_bytes(w, rcpts.buf, rcpts.len);
	wire_w_str(w, headers);
}

void
control_counters_build(struct wire_w *w)
{
	wire_w_init(w);
	wire_w_u32(w, 8);
	qc_counter_write(w, "received", qmgr_counters.received);
	qc_counter_write(w, "delivered", qmgr_counters.delivered);
	qc_counter_write(w, "deferred", qmgr_counters.deferred);
	qc_counter_write(w, "bounced", qmgr_counters.bounced);
	qc_counter_write(w, "queued", sched_count());
	qc_counter_write(w, "held", admin_held_count());
	qc_counter_write(w, "active", sched_inflight());
	qc_counter_write(w, "uptime", (uint64_t)(sched_now() -
	    qmgr_started));
}
