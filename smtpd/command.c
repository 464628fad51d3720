/*
 * command.c: what each SMTP command does to a session, in the order RFC
 * 5321 allows. The parser (parse.c) has already refused bad syntax; here
 * are the checks that depend on the session: sequence, limits, policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "session.h"
#include "smtpd.h"

static void
command_helo(struct session *s, struct smtp_cmd *c)
{
	session_reset(s);
	strlcpy(s->helo, c->helo, sizeof(s->helo));
	s->esmtp = c->verb == SMTP_CMD_EHLO;
	s->state = S_HELO;
	if (!s->esmtp) {
		session_reply(s, "250 %s", daemon_cfg->hostname);
		return;
	}
	session_reply(s, "250-%s", daemon_cfg->hostname);
	session_reply(s, "250-PIPELINING");
	session_reply(s, "250-SIZE %llu",
	    (unsigned long long)daemon_cfg->message_size_limit);
	session_reply(s, "250-8BITMIME");
	session_reply(s, "250-SMTPUTF8");
	session_reply(s, "250-CHUNKING");
	session_reply(s, "250-DSN");
	if (tls_available() && !s->tls && !s->local)
		session_reply(s, "250-STARTTLS");
	if (auth_offered(s))
		session_reply(s, "250-AUTH PLAIN LOGIN");
	session_reply(s, "250 ENHANCEDSTATUSCODES");
}

static void
command_starttls(struct session *s, struct smtp_cmd *c)
{
	if (s->tls) {
		session_error(s, 503, "5.5.1", "Error: TLS already active");
		return;
	}
	if (!tls_available() || s->local) {
		session_error(s, 502, "5.5.1", "Error: command not "
		    "implemented");
		return;
	}
	if (s->state == S_CONNECTED) {
		session_error(s, 503, "5.5.1", "Error: send EHLO first");
		return;
	}
	if (s->state != S_HELO) {
		session_error(s, 503, "5.5.1", "Error: STARTTLS not allowed "
		    "in a mail transaction");
		return;
	}
	session_reply(s, "220 2.0.0 Ready to start TLS");
	session_starttls(s);
}

static int
command_mail_params_ok(struct session *s, struct smtp_cmd *c)
{
	if ((c->mail.has & SMTP_P_SIZE) &&
	    c->mail.size > daemon_cfg->message_size_limit) {
		session_error(s, 552, "5.3.4",
		    "Message size exceeds fixed limit");
		return 0;
	}
	if (c->mail.body == SMTP_BODY_BINARYMIME) {
		session_error(s, 555, "5.5.4", "BINARYMIME not supported");
		return 0;
	}
	/* parameters need EHLO (RFC 5321 §4.1.1.11); AUTH= is accepted
	 * and not passed on (RFC 4954 §5 lets a server ignore it) */
	if (c->mail.has != 0 && !s->esmtp) {
		session_error(s, 555, "5.5.4", "Unsupported parameter");
		return 0;
	}
	return 1;
}

static void
command_mail(struct session *s, struct smtp_cmd *c)
{
	const char	*why;

	if (s->state == S_CONNECTED) {
		session_error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (s->state != S_HELO) {
		session_error(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if ((why = session_submission_refusal(s)) != NULL) {
		session_error(s, 530, "5.7.0", why);
		return;
	}
	if (!command_mail_params_ok(s, c))
		return;
	session_reset(s);
	s->sender = c->path;
	s->mail = c->mail;
	if (s->login[0] != '\0' && !s->sender_any) {
		if (client_lookup_sender(s) == -1)
			command_sender_answer(s, LK_TEMPFAIL);
		return;
	}
	command_sender_answer(s, LK_OK);
}

/* The sender is the login's to use, or not (lookup's answer). */
void
command_sender_answer(struct session *s, uint32_t status)
{
	if (status == LK_OK) {
		s->state = S_MAIL;
		s->nontx = 0;
		session_reply(s, "250 2.1.0 Ok");
		return;
	}
	log_info("client=%s login=<%s> from=<%s> action=reject dsn=%s "
	    "reason=\"%s\"", s->addr, s->login, s->sender.canon,
	    status == LK_SENDER_DENIED ? "5.7.1" : "4.3.0",
	    status == LK_SENDER_DENIED ? "sender not owned by login" :
	    "lookup failure");
	if (status == LK_SENDER_DENIED)
		session_error(s, 553, "5.7.1", "Sender address rejected: "
		    "not owned by the authenticated user");
	else
		session_reply(s, "451 4.3.0 Error: temporary lookup failure");
	memset(&s->sender, 0, sizeof(s->sender));
	memset(&s->mail, 0, sizeof(s->mail));
}

/* The sendmail socket: who the peer's uid is, before the greeting. */
void
command_local_user(struct session *s, uint32_t status, const char *name)
{
	size_t	i;

	if (status != LK_OK) {
		log_info("client=%s uid=%u action=reject reason=\"%s\"",
		    s->addr, s->local_uid, status == LK_NOUSER ?
		    "no such user" : "lookup failure");
		session_reply(s, "421 4.3.0 %s Error: cannot identify user "
		    "%u", daemon_cfg->hostname, s->local_uid);
		session_close(s, "unknown local user");
		return;
	}
	strlcpy(s->login, name, sizeof(s->login));
	s->sender_any = s->local_uid == 0;
	for (i = 0; i < daemon_cfg->trusted_users.n; i++)
		if (strcmp(daemon_cfg->trusted_users.v[i], name) == 0)
			s->sender_any = 1;
	log_info("client=%s action=connect login=<%s> uid=%u", s->addr, name,
	    s->local_uid);
	session_reply(s, "220 %s ESMTP Bulwark", daemon_cfg->hostname);
}

static unsigned
command_notify(unsigned n)
{
	unsigned	q = 0;

	if (n & SMTP_NOTIFY_NEVER)
		q |= QM_NOTIFY_NEVER;
	if (n & SMTP_NOTIFY_SUCCESS)
		q |= QM_NOTIFY_SUCCESS;
	if (n & SMTP_NOTIFY_FAILURE)
		q |= QM_NOTIFY_FAILURE;
	if (n & SMTP_NOTIFY_DELAY)
		q |= QM_NOTIFY_DELAY;
	return q;
}

/* Policy the parser's facts decide, before lookup is asked. */
static int
command_rcpt_policy(struct session *s, struct smtp_cmd *c)
{
	const struct address	*a = &c->path;

	if (address_is_relay_trick(a) &&
	    (config_is_local_domain(daemon_cfg, a->domain) ||
	    config_is_virtual_domain(daemon_cfg, a->domain) ||
	    !s->trusted)) {
		log_info("client=%s to=<%s> action=reject dsn=5.7.1 "
		    "reason=\"relay trick\"", s->addr, a->canon);
		session_error(s, 554, "5.7.1", "Relay access denied");
		return 0;
	}
	if (s->nrcpts >= daemon_cfg->recipient_limit) {
		session_reply(s, "452 4.5.3 Error: too many recipients");
		return 0;
	}
	return 1;
}

static void
command_rcpt(struct session *s, struct smtp_cmd *c)
{
	const char	*addr;

	if (s->state != S_MAIL && s->state != S_RCPT) {
		session_error(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (!s->esmtp && c->rcpt.has != 0) {
		session_error(s, 555, "5.5.4", "Unsupported parameter");
		return;
	}
	if (!command_rcpt_policy(s, c))
		return;
	memset(&s->pending, 0, sizeof(s->pending));
	/* RFC 5321 §4.5.1: <Postmaster> without a domain is ours */
	if (c->path.flags & ADDRESS_IS_POSTMASTER) {
		addr = daemon_cfg->local_domains.n > 0 ?
		    daemon_cfg->local_domains.v[0] : daemon_cfg->hostname;
		strlcpy(s->pending.addr, "postmaster@",
		    sizeof(s->pending.addr));
		strlcat(s->pending.addr, addr, sizeof(s->pending.addr));
	} else
		strlcpy(s->pending.addr, c->path.canon,
		    sizeof(s->pending.addr));
	/* kept as sent ("rfc822;" xtext): the DSN returns it verbatim */
	if ((c->rcpt.has & SMTP_P_ORCPT) &&
	    strlen(c->rcpt.orcpt_type_name) + 1 + strlen(c->rcpt.orcpt_raw) <
	    sizeof(s->pending.orcpt)) {
		strlcpy(s->pending.orcpt, c->rcpt.orcpt_type_name,
		    sizeof(s->pending.orcpt));
		strlcat(s->pending.orcpt, ";", sizeof(s->pending.orcpt));
		strlcat(s->pending.orcpt, c->rcpt.orcpt_raw,
		    sizeof(s->pending.orcpt));
	}
	s->pending.notify = command_notify(c->rcpt.notify);
	if (client_lookup_rcpt(s, s->pending.addr) == -1)
		session_reply(s, "451 4.3.0 Error: lookup service "
		    "unavailable, try again later");
}

static int
command_rcpt_add(struct session *s)
{
	struct rcpt	*v;
	size_t		 cap;

	if (s->nrcpts == s->rcpts_cap) {
		cap = s->rcpts_cap ? s->rcpts_cap * 2 : 4;
		if ((v = reallocarray(s->rcpts, cap, sizeof(*v))) == NULL)
			return -1;
		s->rcpts = v;
		s->rcpts_cap = cap;
	}
	s->rcpts[s->nrcpts++] = s->pending;
	return 0;
}

/* lookup's answer to the pending RCPT */
void
command_rcpt_answer(struct session *s, uint32_t status, const char *dsn,
    const char *text)
{
	const char	*to = s->pending.addr;

	switch (status) {
	case LK_OK:
		if (command_rcpt_add(s) == -1) {
			session_reply(s, "452 4.3.0 Error: out of memory");
			return;
		}
		s->state = S_RCPT;
		session_reply(s, "250 2.1.5 Ok");
		return;
	case LK_NOUSER:
		session_error(s, 550, "5.1.1", "User unknown in local "
		    "recipient table");
		break;
	case LK_RELAY_DENIED:
		session_error(s, 554, "5.7.1", "Relay access denied");
		break;
	case LK_BAD_ADDRESS:
		session_error(s, 553, "5.1.3", "Bad recipient address");
		break;
	default:
		session_reply(s, "451 4.3.0 Error: temporary lookup failure");
		break;
	}
	log_info("client=%s from=<%s> to=<%s> action=reject dsn=%s "
	    "reason=\"%s\"", s->addr, s->sender.canon, to, dsn, text);
}

static int
command_data_ready(struct session *s, int bdat)
{
	if (s->state == S_MAIL && !bdat) {
		session_error(s, 554, "5.5.1", "Error: no valid recipients");
		return 0;
	}
	if (s->state != S_RCPT && !(bdat && s->state == S_BDAT_WAIT)) {
		session_error(s, 503, "5.5.1", s->state == S_BDAT_WAIT ?
		    "Error: DATA after BDAT" : "Error: need RCPT command");
		return 0;
	}
	return 1;
}

static void
command_bdat(struct session *s, struct smtp_cmd *c)
{
	if (!command_data_ready(s, 1)) {
		s->discard = c->bdat.size;	/* the chunk still comes */
		return;
	}
	s->data.chunk_left = c->bdat.size;
	s->data.last_chunk = c->bdat.last;
	s->bdat_used = 1;
	if (s->msgfd == -1) {
		if (client_qmgr_open(s) == -1) {
			session_reply(s, "451 4.3.0 Error: queue "
			    "unavailable, try again later");
			s->discard = c->bdat.size;
			session_reset(s);
		}
		return;
	}
	s->state = S_BDAT;
	session_timeout_data(s);
}

/* qmgr gave us a file: DATA may start, or the first BDAT chunk. */
void
command_data_start(struct session *s)
{
	if (data_begin(s) == -1) {
		session_reply(s, "451 4.3.0 Error: queue file");
		return;
	}
	if (s->bdat_used) {
		s->state = S_BDAT;
		session_timeout_data(s);
		return;
	}
	s->state = S_DATA;
	session_timeout_data(s);
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
command_data(struct session *s)
{
	if (!command_data_ready(s, 0))
		return;
	if (client_qmgr_open(s) == -1)
		session_reply(s, "451 4.3.0 Error: queue unavailable, "
		    "try again later");
}

static void
command_misc(struct session *s, struct smtp_cmd *c)
{
	switch (c->verb) {
	case SMTP_CMD_RSET:
		session_reset(s);
		session_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_CMD_NOOP:
		session_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_CMD_HELP:
		session_reply(s, "214 2.0.0 See RFC 5321 "
		    "(https://www.rfc-editor.org/rfc/rfc5321)");
		break;
	case SMTP_CMD_VRFY:
		/* never tell an unauthenticated client who exists */
		session_reply(s, "252 2.5.2 Cannot VRFY user, but will "
		    "accept message and attempt delivery");
		break;
	case SMTP_CMD_EXPN:
		session_error(s, 502, "5.5.1", "Error: EXPN not allowed");
		break;
	case SMTP_CMD_QUIT:
		session_reply(s, "221 2.0.0 Bye");
		session_close(s, "quit");
		break;
	case SMTP_CMD_STARTTLS:
		command_starttls(s, c);
		break;
	case SMTP_CMD_AUTH:
		auth_command(s, c);
		break;
	default:
		session_error(s, 500, "5.5.2", "Error: command not "
		    "recognized");
		break;
	}
}

static int
command_counts_as_nontx(enum smtp_verb v)
{
	return v == SMTP_CMD_NOOP || v == SMTP_CMD_RSET ||
	    v == SMTP_CMD_VRFY || v == SMTP_CMD_EXPN || v == SMTP_CMD_HELP ||
	    v == SMTP_CMD_HELO || v == SMTP_CMD_EHLO ||
	    v == SMTP_CMD_UNKNOWN;
}

void
command_line(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd	c;
	unsigned	flags = 0;

	if (s->auth_step != AUTH_NONE) {
		auth_line(s, line, len);
		return;
	}
	if (s->state == S_MAIL || s->state == S_RCPT)
		if (s->sender.flags & ADDRESS_UTF8 ||
		    s->mail.has & SMTP_P_SMTPUTF8)
			flags |= SMTP_PARSE_F_UTF8;
	memset(&c, 0, sizeof(c));
	if (smtp_parse_line(line, len, flags, &c) == -1) {
		if (c.verb == SMTP_CMD_BDAT && !c.bdat.size_valid) {
			session_reply(s, "%d %s %s", c.reply.code,
			    c.reply.enhanced, c.reply.text);
			session_close(s, "bad BDAT");
			return;
		}
		if (c.verb == SMTP_CMD_BDAT)
			s->discard = c.bdat.size;	/* read, unused */
		session_error(s, c.reply.code, c.reply.enhanced, c.reply.text);
	} else if (s->state == S_BDAT_WAIT && c.verb != SMTP_CMD_BDAT &&
	    c.verb != SMTP_CMD_RSET && c.verb != SMTP_CMD_QUIT &&
	    c.verb != SMTP_CMD_NOOP) {
		session_error(s, 503, "5.5.1", "Error: BDAT expected");
	} else {
		switch (c.verb) {
		case SMTP_CMD_HELO:
		case SMTP_CMD_EHLO:
			command_helo(s, &c);
			break;
		case SMTP_CMD_MAIL:
			command_mail(s, &c);
			break;
		case SMTP_CMD_RCPT:
			command_rcpt(s, &c);
			break;
		case SMTP_CMD_DATA:
			command_data(s);
			break;
		case SMTP_CMD_BDAT:
			command_bdat(s, &c);
			break;
		default:
			command_misc(s, &c);
			break;
		}
	}
	if (command_counts_as_nontx(c.verb) && s->state != S_CLOSING &&
	    ++s->nontx > SESSION_NONTX_MAX) {
		session_reply(s, "421 4.7.0 %s Error: too many commands "
		    "without a transaction", daemon_cfg->hostname);
		session_close(s, "too many commands without a transaction");
	}
}
