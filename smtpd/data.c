/*
 * data.c: message bytes from the client into the queue file. DATA goes
 * through dotscan.c: only <CRLF>.<CRLF> ends it, leading dots are
 * unstuffed, and a bare CR or LF marks the message (SMTP smuggling,
 * CVE-2023-51764): refused by default, or normalized when configured.
 * BDAT chunks are taken as counted. Lines longer than RFC 5321's 1000
 * octets are kept whole: they are legal in 8BITMIME practice and only
 * the message size limit bounds them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "maildate.h"
#include "session.h"

/* Write out the first len bytes of the buffer. */
static void
data_flush_part(struct session *s, size_t len)
{
	struct data_state	*d = &s->data;
	size_t			 off = 0;
	ssize_t			 n;

	while (off < len && !d->write_error) {
		n = write(s->msgfd, d->buf + off, d->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("qid=%s write to the queue file", s->qid);
			d->write_error = 1;
			break;
		}
		off += (size_t)n;
	}
	memmove(d->buf, d->buf + len, d->len - len);
	d->len -= len;
	d->buf_pos += (int64_t)len;
}

static void
data_flush(struct session *s)
{
	data_flush_part(s, s->data.len);
}

static void
data_emit_raw(struct session *s, const void *p, size_t n)
{
	struct data_state	*d = &s->data;

	d->size += n;
	if (d->size > daemon_cfg->message_size_limit)
		d->too_big = 1;
	if (d->too_big || d->write_error ||
	    (d->bad_newline && daemon_cfg->bare_lf == BARE_LF_REJECT))
		return;		/* refused at the end: stop writing */
	if (n > SESSION_DATA_BUF - d->len)
		data_flush(s);
	memcpy(d->buf + d->len, p, n);
	d->len += n;
}

/* Submission (RFC 6409 §8): Date and Message-ID where the client left
 * them out, at the end of the header section, at message offset at. */
static void
data_insert_headers(struct session *s, uint64_t at, int blank)
{
	struct data_state	*d = &s->data;
	char			 text[512], date[64];
	size_t			 off;
	int			 n;

	d->add_headers = 0;
	text[0] = '\0';
	if (!(d->hdr.seen & HDR_SEEN_DATE) &&
	    mail_date(time(NULL), date, sizeof(date)) == 0) {
		strlcat(text, "Date: ", sizeof(text));
		strlcat(text, date, sizeof(text));
		strlcat(text, "\r\n", sizeof(text));
	}
	/* the qid is unique here, the host name everywhere */
	if (!(d->hdr.seen & HDR_SEEN_MESSAGE_ID)) {
		off = strlen(text);
		snprintf(text + off, sizeof(text) - off, "Message-ID: <%s@%s>"
		    "\r\n", s->qid, daemon_cfg->hostname);
	}
	if (blank && text[0] != '\0')
		strlcat(text, "\r\n", sizeof(text));
	n = (int)strlen(text);
	if (n == 0 || (int64_t)at < d->buf_pos)
		return;	/* one header line over the buffer: flushed */
	off = (size_t)((int64_t)at - d->buf_pos);
	if (d->len + (size_t)n > SESSION_DATA_BUF) {
		data_flush_part(s, off);
		off = 0;
	}
	if (d->len + (size_t)n > SESSION_DATA_BUF || d->write_error)
		return;
	memmove(d->buf + off + n, d->buf + off, d->len - off);
	memcpy(d->buf + off, text, (size_t)n);
	d->len += (size_t)n;
	d->size += (uint64_t)n;
}

static void
data_emit(struct session *s, const void *p, size_t n)
{
	struct data_state	*d = &s->data;
	const uint8_t		*b = p;
	enum hdr_result		 r;
	size_t			 i;

	if (!d->add_headers) {
		data_emit_raw(s, p, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if ((r = hdr_scan_byte(&d->hdr, b[i])) == HDR_MORE)
			continue;
		data_emit_raw(s, b, i + 1);
		data_insert_headers(s, d->hdr.line_pos, r == HDR_END_BODY);
		data_emit_raw(s, b + i + 1, n - i - 1);
		return;
	}
	data_emit_raw(s, p, n);
}

static void
data_bare(struct session *s)
{
	s->data.bad_newline = 1;
}

/* The scanner's output and findings, for the message. */
static void
data_scan_emit(void *arg, const void *p, size_t n)
{
	data_emit(arg, p, n);
}

static void
data_scan_bare(void *arg)
{
	data_bare(arg);
}

/* RFC 3848's names: ESMTP, then S for TLS and A for AUTH. */
static void
data_protocol(struct session *s, char *buf, size_t len)
{
	if (!s->esmtp) {
		strlcpy(buf, "SMTP", len);
		return;
	}
	snprintf(buf, len, "%s%s%s", s->mail.has & SMTP_P_SMTPUTF8 ?
	    "UTF8SMTP" : "ESMTP", s->tls ? "S" : "",
	    s->login[0] != '\0' && !s->local ? "A" : "");
}

/* Adds the Received: trace header (RFC 5321 §4.4). */
static int
data_received(struct session *s)
{
	char		 date[64], line[1024], proto[16], tls[160] = "";
	char		 login[SASL_LOGIN_MAX + 40] = "";
	const char	*v6;
	int		 n;

	if (mail_date(time(NULL), date, sizeof(date)) == -1)
		return -1;
	data_protocol(s, proto, sizeof(proto));
	if (s->tls_info[0] != '\0')
		snprintf(tls, sizeof(tls), "\r\n\t(using %s)", s->tls_info);
	if (s->login[0] != '\0' && !s->local &&
	    daemon_cfg->received_show_login)
		snprintf(login, sizeof(login), "\r\n\t(Authenticated "
		    "sender: %s)", s->login);
	v6 = strchr(s->addr, ':') != NULL ? "IPv6:" : "";
	if (s->local)
		n = snprintf(line, sizeof(line), "Received: by %s (Bulwark, "
		    "from userid %u)\r\n\tid %s%s%s%s;\r\n\t%s\r\n",
		    daemon_cfg->hostname, s->local_uid, s->qid,
		    s->nrcpts == 1 ? "\r\n\tfor <" : "",
		    s->nrcpts == 1 ? s->rcpts[0].addr : "",
		    s->nrcpts == 1 ? ">" : "", date);
	else
		n = snprintf(line, sizeof(line),
		    "Received: from %s (unknown [%s%s])%s%s\r\n"
		    "\tby %s (Bulwark) with %s id %s%s%s%s;\r\n\t%s\r\n",
		    s->helo[0] ? s->helo : "unknown", v6, s->addr, tls, login,
		    daemon_cfg->hostname, proto, s->qid,
		    s->nrcpts == 1 ? "\r\n\tfor <" : "",
		    s->nrcpts == 1 ? s->rcpts[0].addr : "",
		    s->nrcpts == 1 ? ">" : "", date);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	memcpy(s->data.buf, line, (size_t)n);
	s->data.len = (size_t)n;
	s->data.buf_pos = -(int64_t)n;
	return 0;
}

int
data_begin(struct session *s)
{
	uint64_t	chunk_left = s->data.chunk_left;
	int		last_chunk = s->data.last_chunk;

	/* the first BDAT's chunk size came before the queue file did */
	memset(&s->data, 0, sizeof(s->data));
	s->data.chunk_left = chunk_left;
	s->data.last_chunk = last_chunk;
	if ((s->data.buf = malloc(SESSION_DATA_BUF)) == NULL)
		return -1;
	dot_scan_init(&s->data.dot, daemon_cfg->bare_lf == BARE_LF_NORMALIZE,
	    data_scan_emit, data_scan_bare, s);
	s->data.add_headers = s->login[0] != '\0';
	hdr_scan_init(&s->data.hdr);
	return data_received(s);
}

/* BDAT: counted octets; line endings are still checked, across chunks. */
static void
data_chunk(struct session *s, const uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && !s->data.prev_cr)
			data_bare(s);
		if (s->data.prev_cr && p[i] != '\n')
			data_bare(s);
		s->data.prev_cr = p[i] == '\r';
	}
	data_emit(s, p, n);
}

/* The first run of input bytes, without copying; 0 if there are none.
 * The TLS filter can leave an empty chain first: then one byte is pulled
 * up, so that the caller always moves on. */
static int
data_peek(struct evbuffer *in, struct evbuffer_iovec *v)
{
	if (evbuffer_get_length(in) == 0)
		return 0;
	if (evbuffer_peek(in, -1, NULL, v, 1) >= 1 && v->iov_len > 0)
		return 1;
	if ((v->iov_base = evbuffer_pullup(in, 1)) == NULL)
		return 0;
	v->iov_len = 1;
	return 1;
}

static int
data_consume_bdat(struct session *s, struct evbuffer *in)
{
	struct evbuffer_iovec	v;
	size_t			n;

	while (s->data.chunk_left > 0) {
		if (!data_peek(in, &v))
			return 0;
		n = v.iov_len < s->data.chunk_left ? v.iov_len :
		    (size_t)s->data.chunk_left;
		data_chunk(s, v.iov_base, n);
		evbuffer_drain(in, n);
		s->data.chunk_left -= n;
	}
	if (!s->data.last_chunk) {
		session_reply(s, "250 2.0.0 Ok: chunk received");
		s->state = S_BDAT_WAIT;
		session_timeout_command(s);
		return 1;
	}
	if (s->data.prev_cr)
		data_bare(s);	/* a CR that ends the message is bare */
	data_end(s);
	return 1;
}

int
data_consume(struct session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec	 v;
	size_t			 used;

	if (s->state == S_BDAT)
		return data_consume_bdat(s, in);
	while (!dot_scan_done(&s->data.dot)) {
		if (!data_peek(in, &v))
			return 0;
		used = dot_scan(&s->data.dot, v.iov_base, v.iov_len);
		evbuffer_drain(in, used);
	}
	data_end(s);
	return 1;
}

static void
data_refuse(struct session *s, int code, const char *enh, const char *text,
    const char *why)
{
	log_info("client=%s qid=%s from=<%s> action=reject dsn=%s "
	    "reason=\"%s\"", s->addr, s->qid, s->sender.canon, enh, why);
	client_qmgr_abort(s);
	session_reset(s);
	session_timeout_command(s);
	session_error(s, code, enh, text);
}

/* The client finished the message: refuse it or commit it. */
void
data_end(struct session *s)
{
	struct data_state	*d = &s->data;

	if (d->add_headers && hdr_scan_at_line_start(&d->hdr))
		data_insert_headers(s, d->size, 0);
	if (!d->too_big && !d->write_error)
		data_flush(s);
	if (d->bad_newline && daemon_cfg->bare_lf == BARE_LF_REJECT)
		data_refuse(s, 550, "5.5.2", "Error: bare <CR> or <LF> in "
		    "message data", "bare CR or LF");
	else if (d->too_big)
		data_refuse(s, 552, "5.3.4", "Error: message too big",
		    "message size exceeds limit");
	else if (d->write_error)
		data_refuse(s, 451, "4.3.0", "Error: queue file write error",
		    "queue file write error");
	else if (fsync(s->msgfd) == -1) {
		log_warn("qid=%s fsync of the queue file", s->qid);
		data_refuse(s, 451, "4.3.0", "Error: queue file write error",
		    "queue file sync error");
	} else {
		/* synced here, where the workers run side by side; qmgr's
		 * own fsync at commit then finds little left to do, and its
		 * single loop stays free for other sessions */
		close(s->msgfd);
		s->msgfd = -1;
		if (client_qmgr_commit(s) == -1)
			data_refuse(s, 451, "4.3.0", "Error: queue "
			    "unavailable, try again later", "qmgr gone");
	}
}

/* qmgr's answer to the commit: only now may the client hear 250. */
void
data_commit_answer(struct session *s, int ok, const char *text)
{
	if (!ok) {
		data_refuse(s, 451, "4.3.0", "Error: queue file write error",
		    text);
		return;
	}
	log_info("client=%s qid=%s from=<%s> nrcpt=%zu size=%llu%s%s%s%s%s "
	    "action=accept", s->addr, s->qid, s->sender.canon, s->nrcpts,
	    (unsigned long long)s->data.size,
	    s->tls_log[0] ? " tls=" : "", s->tls_log,
	    s->login[0] ? " login=<" : "", s->login, s->login[0] ? ">" : "");
	session_reply(s, "250 2.0.0 Ok: queued as %s", s->qid);
	s->messages++;
	s->qid[0] = '\0';	/* committed: nothing to abort */
	session_reset(s);
	session_timeout_command(s);
}
