/*
 * queuectl.c: writers and checking readers of the queue control payloads
 * (queuectl.h). A reader reads every field, then refuses the whole item
 * if the wire reader failed or a value is out of range, so that neither
 * qmgr nor bulwarkctl acts on half a message.
 */
#include <string.h>
#include <strings.h>

#include "config.h"
#include "queuectl.h"

static const char *const state_names[] = {
	"pending", "delivered", "deferred", "failed",
};

const char *
qc_state_name(uint32_t st)
{
	return st <= QC_STATE_MAX ? state_names[st] : "?";
}

int
qc_qid_ok(const char *s)
{
	size_t	n = strspn(s, "0123456789ABCDEF");

	return n >= 1 && n <= QM_QID_MAX && s[n] == '\0';
}

int
qc_login_ok(const char *s)
{
	size_t	n = strlen(s);

	return n >= 1 && n <= QC_LOGIN_MAX && s[0] != '-' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

int
qc_sender_is_user(const struct config *cf, const char *sender,
    const char *login)
{
	const char	*at = strrchr(sender, '@'), *end;
	size_t		 len;

	if (login[0] == '\0' || sender[0] == '\0')
		return 0;
	if (at != NULL && !config_is_local_domain(cf, at + 1) &&
	    strcasecmp(at + 1, cf->hostname) != 0)
		return 0;
	end = at != NULL ? at : sender + strlen(sender);
	len = (size_t)(end - sender);
	if (cf->recipient_delimiter != '\0' && len > 1 &&
	    (at = memchr(sender + 1, cf->recipient_delimiter, len - 1)) !=
	    NULL)
		len = (size_t)(at - sender);
	return len == strlen(login) && strncasecmp(sender, login, len) == 0;
}

static int
qc_done(const struct wire_r *r)
{
	return r->err ? -1 : 0;
}

void
qc_str_write(struct wire_w *w, const char *s)
{
	wire_w_str(w, s);
}

int
qc_str_read(struct wire_r *r, char *dst, size_t dstlen)
{
	wire_r_str(r, dst, dstlen);
	if (qc_done(r) == -1 || !wire_text_ok(dst))
		return -1;
	return 0;
}

void
qc_list_req_write(struct wire_w *w, const char *after, const char *match)
{
	wire_w_str(w, after);
	wire_w_str(w, match);
}

int
qc_list_req_read(struct wire_r *r, char after[QM_QID_MAX + 1],
    char match[QC_MATCH_MAX + 1])
{
	wire_r_str(r, after, QM_QID_MAX + 1);
	wire_r_str(r, match, QC_MATCH_MAX + 1);
	if (qc_done(r) == -1 || (after[0] != '\0' && !qc_qid_ok(after)) ||
	    !wire_text_ok(match))
		return -1;
	return 0;
}

void
qc_error_write(struct wire_w *w, enum qc_error code, const char *text)
{
	wire_w_u32(w, (uint32_t)code);
	wire_w_str(w, text);
}

int
qc_error_read(struct wire_r *r, uint32_t *code, char *text, size_t textlen)
{
	*code = wire_r_u32(r);
	wire_r_str(r, text, textlen);
	if (qc_done(r) == -1 || *code < QCE_BADREQ || *code > QCE_MAX ||
	    !wire_text_ok(text))
		return -1;
	return 0;
}

void
qc_list_head_write(struct wire_w *w, uint32_t flags, const char *next,
    uint32_t count)
{
	wire_w_u32(w, flags);
	wire_w_str(w, next);
	wire_w_u32(w, count);
}

int
qc_list_head_read(struct wire_r *r, uint32_t *flags,
    char next[QM_QID_MAX + 1], uint32_t *count)
{
	*flags = wire_r_u32(r);
	wire_r_str(r, next, QM_QID_MAX + 1);
	*count = wire_r_u32(r);
	if (qc_done(r) == -1 || (*flags & ~QC_LIST_MORE) != 0 ||
	    (next[0] != '\0' && !qc_qid_ok(next)) ||
	    ((*flags & QC_LIST_MORE) && next[0] == '\0'))
		return -1;
	return 0;
}

void
qc_msg_write(struct wire_w *w, const struct qc_msg *m)
{
	wire_w_str(w, m->qid);
	wire_w_u32(w, m->flags);
	wire_w_u64(w, (uint64_t)m->arrival);
	wire_w_u64(w, m->size);
	wire_w_str(w, m->sender);
	wire_w_u32(w, m->nrcpt);
	wire_w_u32(w, m->count);
}

int
qc_msg_read(struct wire_r *r, struct qc_msg *m)
{
	wire_r_str(r, m->qid, sizeof(m->qid));
	m->flags = wire_r_u32(r);
	m->arrival = (int64_t)wire_r_u64(r);
	m->size = wire_r_u64(r);
	wire_r_str(r, m->sender, sizeof(m->sender));
	m->nrcpt = wire_r_u32(r);
	m->count = wire_r_u32(r);
	if (qc_done(r) == -1 || !qc_qid_ok(m->qid) ||
	    (m->flags & ~QC_F_MASK) != 0 || m->arrival < 0 ||
	    !wire_text_ok(m->sender) || m->count > m->nrcpt)
		return -1;
	return 0;
}

void
qc_rcpt_write(struct wire_w *w, const struct qc_rcpt *rc)
{
	wire_w_str(w, rc->addr);
	wire_w_u32(w, rc->state);
	wire_w_u32(w, rc->attempts);
	wire_w_u64(w, (uint64_t)rc->next_try);
	wire_w_str(w, rc->dsn);
	wire_w_str(w, rc->text);
}

int
qc_rcpt_read(struct wire_r *r, struct qc_rcpt *rc)
{
	wire_r_str(r, rc->addr, sizeof(rc->addr));
	rc->state = wire_r_u32(r);
	rc->attempts = wire_r_u32(r);
	rc->next_try = (int64_t)wire_r_u64(r);
	wire_r_str(r, rc->dsn, sizeof(rc->dsn));
	wire_r_str(r, rc->text, sizeof(rc->text));
	if (qc_done(r) == -1 || rc->addr[0] == '\0' ||
	    rc->state > QC_STATE_MAX || rc->next_try < 0 ||
	    !wire_text_ok(rc->addr) || !wire_text_ok(rc->dsn) ||
	    !wire_text_ok(rc->text))
		return -1;
	return 0;
}

void
qc_details_write(struct wire_w *w, const struct qc_details *d)
{
	wire_w_str(w, d->client_addr);
	wire_w_str(w, d->client_name);
	wire_w_str(w, d->helo);
	wire_w_str(w, d->auth);
	wire_w_str(w, d->envid);
	wire_w_u32(w, d->body);
	wire_w_u32(w, d->ret);
	wire_w_u32(w, d->smtputf8);
}

int
qc_details_read(struct wire_r *r, struct qc_details *d)
{
	wire_r_str(r, d->client_addr, sizeof(d->client_addr));
	wire_r_str(r, d->client_name, sizeof(d->client_name));
	wire_r_str(r, d->helo, sizeof(d->helo));
	wire_r_str(r, d->auth, sizeof(d->auth));
	wire_r_str(r, d->envid, sizeof(d->envid));
	d->body = wire_r_u32(r);
	d->ret = wire_r_u32(r);
	d->smtputf8 = wire_r_u32(r);
	if (qc_done(r) == -1 || d->body > QM_BODY_BINARYMIME ||
	    d->ret > QM_RET_HDRS || d->smtputf8 > 1 ||
	    !wire_text_ok(d->client_addr) || !wire_text_ok(d->client_name) ||
	    !wire_text_ok(d->helo) || !wire_text_ok(d->auth) ||
	    !wire_text_ok(d->envid))
		return -1;
	return 0;
}

void
qc_counter_write(struct wire_w *w, const char *name, uint64_t value)
{
	wire_w_str(w, name);
	wire_w_u64(w, value);
}

int
qc_counter_read(struct wire_r *r, char name[QC_NAME_MAX + 1],
    uint64_t *value)
{
	wire_r_str(r, name, QC_NAME_MAX + 1);
	*value = wire_r_u64(r);
	if (qc_done(r) == -1 || name[0] == '\0' || !wire_text_ok(name))
		return -1;
	return 0;
}

int
qc_count_read(struct wire_r *r, uint32_t max, uint32_t *n)
{
	*n = wire_r_u32(r);
	return qc_done(r) == -1 || *n > max ? -1 : 0;
}
