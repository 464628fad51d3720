/*
 * auth.c: SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN. smtpd
 * only carries the exchange: lookup checks the password against its
 * hashes and counts failures per client and per login, so that every
 * worker sees the same count. A failure is answered after a delay.
 */
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "session.h"
#include "smtpd.h"

/* "Username:" and "Password:" in base64, as every LOGIN client expects */
#define LOGIN_PROMPT_USER	"VXNlcm5hbWU6"
#define LOGIN_PROMPT_PASS	"UGFzc3dvcmQ6"

int
auth_offered(struct session *s)
{
	if (!config_auth_enabled(daemon_cfg) || s->local ||
	    s->login[0] != '\0')
		return 0;
	return s->tls || (s->trusted && daemon_cfg->auth_trusted_plaintext);
}

/* Forget the exchange and every secret it held. */
void
auth_clear(struct session *s)
{
	s->auth_step = AUTH_NONE;
	explicit_bzero(s->auth_user, sizeof(s->auth_user));
}

static void
auth_fail(struct session *s, int code, const char *enh, const char *text)
{
	auth_clear(s);
	session_error(s, code, enh, text);
}

/* Both halves are known: ask lookup. */
static void
auth_check(struct session *s, const char *login, const char *password)
{
	strlcpy(s->auth_user, login, sizeof(s->auth_user));
	s->auth_step = AUTH_NONE;
	if (client_lookup_auth(s, login, password) == -1) {
		auth_clear(s);
		session_reply(s, "454 4.7.0 Temporary authentication "
		    "failure");
	}
}

/* A client's response: base64, or "*" to cancel. Decoded into buf. */
static int
auth_decode(struct session *s, const char *line, size_t len, uint8_t *buf,
    size_t buflen)
{
	int	n;

	if (len == 1 && line[0] == '*') {
		auth_fail(s, 501, "5.7.0", "Authentication cancelled");
		return -1;
	}
	if ((n = sasl_b64_decode(line, len, buf, buflen)) < 0) {
		auth_fail(s, 501, "5.5.2", "Cannot decode response");
		return -1;
	}
	return n;
}

static void
auth_plain(struct session *s, const uint8_t *msg, size_t len)
{
	char	login[SASL_LOGIN_MAX + 1], password[SASL_PASSWORD_MAX + 1];

	if (sasl_plain_parse(msg, len, login, sizeof(login), password,
	    sizeof(password)) == -1)
		auth_fail(s, 501, "5.5.2", "Malformed PLAIN response");
	else
		auth_check(s, login, password);
	explicit_bzero(password, sizeof(password));
}

/* One response of the exchange, in the state the session is in. */
void
auth_line(struct session *s, const char *line, size_t len)
{
	uint8_t	buf[SASL_PLAIN_MAX + 1];
	int	n;

	if ((n = auth_decode(s, line, len, buf, sizeof(buf) - 1)) < 0)
		return;
	buf[n] = '\0';
	switch (s->auth_step) {
	case AUTH_PLAIN_WAIT:
		auth_plain(s, buf, (size_t)n);
		break;
	case AUTH_LOGIN_USER:
		if (!sasl_login_ok(buf, (size_t)n)) {
			auth_fail(s, 501, "5.5.2", "Malformed user name");
			break;
		}
		strlcpy(s->auth_user, (char *)buf, sizeof(s->auth_user));
		s->auth_step = AUTH_LOGIN_PASS;
		session_reply(s, "334 " LOGIN_PROMPT_PASS);
		break;
	case AUTH_LOGIN_PASS:
		if (!sasl_password_ok(buf, (size_t)n)) {
			auth_fail(s, 501, "5.5.2", "Malformed password");
			break;
		}
		auth_check(s, s->auth_user, (char *)buf);
		break;
	case AUTH_NONE:
		break;
	}
	explicit_bzero(buf, sizeof(buf));
}

static int
auth_allowed(struct session *s)
{
	if (s->state == S_CONNECTED) {
		session_error(s, 503, "5.5.1", "Error: send EHLO first");
		return 0;
	}
	if (s->login[0] != '\0') {
		session_error(s, 503, "5.5.1", "Error: already "
		    "authenticated");
		return 0;
	}
	if (s->state != S_HELO) {
		session_error(s, 503, "5.5.1", "Error: AUTH not allowed in "
		    "a mail transaction");
		return 0;
	}
	if (auth_offered(s))
		return 1;
	if (config_auth_enabled(daemon_cfg) && !s->local && !s->tls)
		session_error(s, 538, "5.7.11", "Encryption required for "
		    "requested authentication mechanism");
	else
		session_error(s, 503, "5.5.1", "Error: authentication not "
		    "enabled");
	return 0;
}

void
auth_command(struct session *s, struct smtp_cmd *c)
{
	if (!auth_allowed(s))
		return;
	if (strcmp(c->mech, "PLAIN") != 0 && strcmp(c->mech, "LOGIN") != 0) {
		session_error(s, 504, "5.5.4", "Unrecognized authentication "
		    "type");
		return;
	}
	strlcpy(s->auth_mech, c->mech, sizeof(s->auth_mech));
	s->auth_step = c->mech[0] == 'P' ? AUTH_PLAIN_WAIT : AUTH_LOGIN_USER;
	if (c->initial == NULL) {
		session_reply(s, "334 %s", s->auth_step == AUTH_PLAIN_WAIT ?
		    "" : LOGIN_PROMPT_USER);
		return;
	}
	/* "=" is an empty initial response (RFC 4954 §4) */
	if (c->initial_len == 1 && c->initial[0] == '=')
		auth_line(s, "", 0);
	else
		auth_line(s, c->initial, c->initial_len);
}

static void
auth_delay_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;

	s->wait = W_NONE;
	session_error(s, 535, "5.7.8", "Error: authentication failed");
	if (s->state != S_CLOSING)
		session_resume(s);
}

/* lookup's verdict on the login and password. */
void
auth_answer(struct session *s, uint32_t status)
{
	struct timeval	tv = { (time_t)daemon_cfg->auth_failure_delay, 0 };
	const char	*what;

	what = status == LK_OK ? "ok" : status == LK_AUTH_FAILED ? "failed" :
	    status == LK_AUTH_THROTTLED ? "throttled" : "tempfail";
	log_info("client=%s action=auth mech=%s login=<%s> status=%s",
	    s->addr, s->auth_mech, s->auth_user, what);
	switch (status) {
	case LK_OK:
		strlcpy(s->login, s->auth_user, sizeof(s->login));
		auth_clear(s);
		session_reply(s, "235 2.7.0 Authentication successful");
		break;
	case LK_AUTH_FAILED:
		auth_clear(s);
		/* no answer, and no next command, before the delay */
		s->wait = W_AUTH;
		evtimer_add(s->auth_timer, &tv);
		break;
	case LK_AUTH_THROTTLED:
		auth_clear(s);
		session_reply(s, "454 4.7.0 Too many failed authentication "
		    "attempts, try again later");
		session_close(s, "too many authentication failures");
		break;
	default:
		auth_clear(s);
		session_reply(s, "454 4.7.0 Temporary authentication "
		    "failure");
		break;
	}
}

/* Called once per session, at its start. */
int
auth_init(struct session *s)
{
	s->auth_timer = evtimer_new(daemon_base, auth_delay_cb, s);
	return s->auth_timer == NULL ? -1 : 0;
}
