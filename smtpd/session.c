/*
 * session.c: the life of an SMTP session: accept under the connection
 * limits, greet, split the input into command lines (bounded, without
 * buffer growth), hand data to data.c, time out idle clients, close.
 * A session costs a descriptor and a few KiB, never a process.
 */
#include <sys/socket.h>

#ifndef __unused	/* sys/tree.h's static functions use it */
#define __unused __attribute__((unused))
#endif

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <event2/bufferevent_ssl.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "session.h"
#include "smtpd.h"

/* Sessions from one address, for connection-limit-per-ip. */
struct client_count {
	RB_ENTRY(client_count)	 entry;
	char			 addr[64];
	unsigned		 n;
};

static int
session_cmp(const struct session *a, const struct session *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

static int
client_count_cmp(const struct client_count *a, const struct client_count *b)
{
	return strcmp(a->addr, b->addr);
}

RB_HEAD(client_tree, client_count);
RB_GENERATE(session_tree, session, entry, session_cmp);
RB_GENERATE_STATIC(client_tree, client_count, entry, client_count_cmp);

static struct session_tree	sessions = RB_INITIALIZER(&sessions);
static struct client_tree	clients = RB_INITIALIZER(&clients);
static unsigned			nsessions;
static uint32_t			next_id = 1;

static void	session_read_cb(struct bufferevent *, void *);
static void	session_write_cb(struct bufferevent *, void *);
static void	session_event_cb(struct bufferevent *, short, void *);

unsigned
session_count(void)
{
	return nsessions;
}

struct session *
session_by_id(uint32_t id)
{
	struct session	key;

	key.id = id;
	return RB_FIND(session_tree, &sessions, &key);
}

void
session_each(void (*fn)(struct session *, void *), void *arg)
{
	struct session	*s, *next;

	RB_FOREACH_SAFE(s, session_tree, &sessions, next)
		fn(s, arg);
}

void
session_reply(struct session *s, const char *fmt, ...)
{
	struct evbuffer	*out = bufferevent_get_output(s->bev);
	va_list		 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* A refused command: counts towards the error limit. */
void
session_error(struct session *s, int code, const char *enh, const char *text)
{
	s->errors++;
	if (s->errors > daemon_cfg->error_limit) {
		session_reply(s, "421 4.7.0 %s Error: too many errors",
		    daemon_cfg->hostname);
		session_close(s, "too many errors");
		return;
	}
	session_reply(s, "%d %s %s", code, enh, text);
}

void
session_timeout_command(struct session *s)
{
	struct timeval	tv = { (time_t)daemon_cfg->command_timeout, 0 };

	bufferevent_set_timeouts(s->bev, NULL, &tv);
	evtimer_add(s->cmd_timer, &tv);
}

void
session_timeout_data(struct session *s)
{
	struct timeval	tv = { (time_t)daemon_cfg->data_timeout, 0 };

	evtimer_del(s->cmd_timer);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

static void
session_timed_out(struct session *s)
{
	session_reply(s, "421 4.4.2 %s Error: timeout exceeded",
	    daemon_cfg->hostname);
	session_close(s, "timeout");
	/* the client may not read: do not wait for it for long */
	bufferevent_enable(s->bev, EV_WRITE);
}

static void	session_closing_check(struct session *);

static void
session_cmd_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct session	*s = arg;

	if (s->state != S_CLOSING)
		session_timed_out(s);
	else
		session_closing_check(s);
}

static struct client_count *
client_count_get(const char *addr, int create)
{
	struct client_count	key, *c;

	strlcpy(key.addr, addr, sizeof(key.addr));
	if ((c = RB_FIND(client_tree, &clients, &key)) != NULL || !create)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	strlcpy(c->addr, addr, sizeof(c->addr));
	RB_INSERT(client_tree, &clients, c);
	return c;
}

static void
client_count_release(const char *addr)
{
	struct client_count	*c;

	if ((c = client_count_get(addr, 0)) == NULL)
		return;
	if (--c->n == 0) {
		RB_REMOVE(client_tree, &clients, c);
		free(c);
	}
}

#define REFUSE_TOTAL	"too many connections"
#define REFUSE_CLIENT	"too many connections from your address"

/* This worker's own sessions over a limit: the reason to refuse the
 * client, or NULL. lookup then counts those of all workers (LK_CONNECT);
 * this check alone holds while lookup cannot be asked. */
static const char *
session_over_limit(struct session *s)
{
	struct client_count	*c;

	if (nsessions >= daemon_cfg->connection_limit)
		return REFUSE_TOTAL;
	if (s->trusted)
		return NULL;	/* as Postfix: mynetworks are exempt */
	c = client_count_get(s->addr, 0);
	if (c != NULL && c->n >= daemon_cfg->connection_limit_per_ip)
		return REFUSE_CLIENT;
	return NULL;
}

static void
session_addr(struct session *s)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&s->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&s->ss;

	if (s->ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &sin->sin_addr, s->addr, sizeof(s->addr));
	else if (s->ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &sin6->sin6_addr, s->addr,
		    sizeof(s->addr));
	else
		strlcpy(s->addr, "unknown", sizeof(s->addr));
}

/* The sendmail socket: the peer is whoever the kernel says (SO_PEERCRED);
 * lookup names the uid before the greeting. */
static int
session_local_peer(struct session *s, int fd)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred))
		return -1;
	s->local = 1;
	s->local_uid = (uint32_t)cred.uid;
	snprintf(s->addr, sizeof(s->addr), "local:uid=%u",
	    (unsigned)cred.uid);
	return 0;
}

/* Refuse politely without a session: one write, then close. */
static void
session_refuse(int fd, const char *why)
{
	char	line[256];
	int	n;

	n = snprintf(line, sizeof(line), "421 4.7.0 %s Error: %s\r\n",
	    daemon_cfg->hostname, why);
	if (n > 0)
		(void)!write(fd, line, (size_t)n);
	close(fd);
}

void
session_new(int fd, struct sockaddr *sa, socklen_t salen, int kind)
{
	struct session		*s;
	struct client_count	*c;
	const char		*why;
	int			 one = 1;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		session_refuse(fd, "out of memory");
		return;
	}
	memcpy(&s->ss, sa, (size_t)salen < sizeof(s->ss) ?
	    (size_t)salen : sizeof(s->ss));
	if (kind == CTL_LISTEN_SUBMIT && session_local_peer(s, fd) == -1) {
		session_refuse(fd, "cannot identify the local user");
		free(s);
		return;
	}
	if (!s->local) {
		session_addr(s);
		s->trusted = config_is_trusted(daemon_cfg, &s->ss);
	}
	if ((why = session_over_limit(s)) != NULL) {
		log_info("client=%s action=refused reason=\"%s\"", s->addr,
		    why);
		session_refuse(fd, why);
		free(s);
		return;
	}
	if (kind == LISTEN_SUBMISSIONS) {
		s->bev = tls_accept_socket(fd);
		s->tls = 1;
	} else
		s->bev = bufferevent_socket_new(daemon_base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	s->cmd_timer = evtimer_new(daemon_base, session_cmd_timer_cb, s);
	if (s->bev == NULL || s->cmd_timer == NULL || auth_init(s) == -1 ||
	    (c = client_count_get(s->addr, 1)) == NULL) {
		if (s->auth_timer != NULL)
			event_free(s->auth_timer);
		if (s->cmd_timer != NULL)
			event_free(s->cmd_timer);
		if (s->bev != NULL)
			bufferevent_free(s->bev);
		else
			close(fd);
		free(s);
		return;
	}
	c->n++;
	/* replies to pipelined commands leave in several writes (some
	 * wait for lookup or qmgr); Nagle would hold each one back until
	 * the client's delayed ACK */
	if (!s->local)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	s->fd = fd;
	s->msgfd = -1;
	s->id = next_id++;
	s->listener_kind = kind;
	RB_INSERT(session_tree, &sessions, s);
	nsessions++;
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb,
	    session_event_cb, s);
	/* no buffer growth: stop reading once a line's worth is waiting */
	bufferevent_setwatermark(s->bev, EV_READ, 0, SESSION_LINE_MAX + 2);
	session_timeout_command(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (s->local) {
		/* greeted once lookup has named the uid */
		if (client_lookup_uid(s) == -1)
			command_local_user(s, LK_TEMPFAIL, "");
		return;
	}
	/* greeted once lookup has counted it with all workers' sessions */
	if (client_lookup_connect(s) == -1)
		session_admitted(s, LK_OK);
}

void
session_admitted(struct session *s, uint32_t status)
{
	const char	*why = status == LK_CONN_TOTAL ? REFUSE_TOTAL :
			    status == LK_CONN_CLIENT ? REFUSE_CLIENT : NULL;

	if (why != NULL) {
		log_info("client=%s action=refused reason=\"%s\"", s->addr,
		    why);
		session_reply(s, "421 4.7.0 %s Error: %s", daemon_cfg->hostname,
		    why);
		session_close(s, why);
		return;
	}
	/* LK_TEMPFAIL: this worker's limits were checked, as without
	 * lookup */
	log_info("client=%s action=connect", s->addr);
	session_reply(s, "220 %s ESMTP Bulwark", daemon_cfg->hostname);
}

static void
session_free(struct session *s)
{
	session_reset(s);
	auth_clear(s);
	client_count_release(s->addr);
	if (s->conn_counted)
		client_lookup_disconnect(s->conn_link, s->addr);
	RB_REMOVE(session_tree, &sessions, s);
	event_free(s->cmd_timer);
	event_free(s->auth_timer);
	bufferevent_free(s->bev);
	free(s);
	nsessions--;
	smtpd_session_ended();
}

/* Finish sending what is queued, then close. */
void
session_close(struct session *s, const char *reason)
{
	if (s->state == S_CLOSING)
		return;
	log_info("client=%s action=disconnect messages=%u reason=\"%s\"",
	    s->addr, s->messages, reason);
	s->state = S_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	/* never free here: callers up the stack still hold s; the write
	 * callback frees it once the last reply is out */
	bufferevent_trigger(s->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
	    BEV_TRIG_DEFER_CALLBACKS);
}

/* Forget the transaction (RSET, new MAIL, after a message). */
void
session_reset(struct session *s)
{
	client_qmgr_abort(s);	/* an uncommitted queue file goes back */
	free(s->rcpts);
	s->rcpts = NULL;
	s->nrcpts = s->rcpts_cap = 0;
	free(s->data.buf);
	memset(&s->data, 0, sizeof(s->data));
	memset(&s->sender, 0, sizeof(s->sender));
	memset(&s->mail, 0, sizeof(s->mail));
	s->bdat_used = 0;
	s->qid[0] = '\0';
	if (s->state != S_CONNECTED && s->state != S_CLOSING)
		s->state = S_HELO;
}

/* An over-long line is refused; one in an AUTH exchange ends it, so
 * that the next line is a command again. */
static void
session_line_too_long(struct session *s)
{
	auth_clear(s);
	session_error(s, 500, "5.5.2", "Error: line too long");
}

/* One line from the input, or 0 when none is complete. A line longer
 * than the limit is refused and the rest of it discarded as it comes. */
static int
session_next_line(struct session *s, struct evbuffer *in, char *line,
    size_t *len)
{
	struct evbuffer_ptr	eol;
	size_t			eol_len, avail;

	for (;;) {
		eol = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_CRLF);
		avail = evbuffer_get_length(in);
		if (eol.pos == -1) {
			if (avail <= SESSION_LINE_MAX)
				return 0;
			evbuffer_drain(in, avail);
			if (!s->skipping) {
				s->skipping = 1;
				session_line_too_long(s);
			}
			return 0;
		}
		if (s->skipping) {
			evbuffer_drain(in, (size_t)eol.pos + eol_len);
			s->skipping = 0;
			continue;
		}
		if ((size_t)eol.pos > SESSION_LINE_MAX) {
			evbuffer_drain(in, (size_t)eol.pos + eol_len);
			session_line_too_long(s);
			continue;
		}
		*len = (size_t)eol.pos;
		evbuffer_remove(in, line, *len);
		evbuffer_drain(in, eol_len);
		line[*len] = '\0';
		/* a bare LF ends a line for evbuffer; for SMTP it does not */
		if (eol_len == 1 && daemon_cfg->bare_lf == BARE_LF_REJECT) {
			session_error(s, 500, "5.5.2",
			    "Error: bare <LF> received");
			continue;
		}
		return 1;
	}
}

/* How long this command line may be (without its CRLF). */
static size_t
session_line_limit(struct session *s, const char *line, size_t len)
{
	if (s->auth_step != AUTH_NONE)
		return SESSION_LINE_MAX;
	if (len >= 5 && strncasecmp(line, "AUTH ", 5) == 0)
		return SESSION_LINE_MAX;
	if (len >= 5 && (strncasecmp(line, "MAIL ", 5) == 0 ||
	    strncasecmp(line, "RCPT ", 5) == 0))
		return SESSION_MAILRCPT_MAX;
	return SESSION_CMD_MAX - 2;
}

/* Work through the input until it is empty, a request to another daemon
 * is pending, or the session ends. Pipelined commands wait their turn. */
void
session_resume(struct session *s)
{
	struct evbuffer	*in;
	char		 line[SESSION_LINE_MAX + 1];
	size_t		 len;

	while (s->wait == W_NONE && s->state != S_CLOSING) {
		in = bufferevent_get_input(s->bev);	/* STARTTLS swaps it */
		if (s->discard > 0) {
			len = evbuffer_get_length(in);
			if (len == 0)
				break;
			if (len > s->discard)
				len = (size_t)s->discard;
			evbuffer_drain(in, len);
			s->discard -= len;
			continue;
		}
		if (s->state == S_DATA || s->state == S_BDAT) {
			if (data_consume(s) == 0)
				break;
			continue;
		}
		if (!session_next_line(s, in, line, &len))
			break;
		if (len > session_line_limit(s, line, len)) {
			session_line_too_long(s);
			continue;
		}
		command_line(s, line, len);
		explicit_bzero(line, len);	/* it may be a password */
		if (s->state != S_CLOSING && s->state != S_DATA &&
		    s->state != S_BDAT)
			session_timeout_command(s);
	}
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	session_resume(arg);
}

/* A closing session goes once its last reply is out: through TLS, the
 * plaintext side of STARTTLS's filter must have drained too. */
static void
session_closing_check(struct session *s)
{
	struct bufferevent	*under = bufferevent_get_underlying(s->bev);
	struct timeval		 tv = { 0, 20000 };

	if (evbuffer_get_length(bufferevent_get_output(s->bev)) != 0)
		return;
	if (under != NULL &&
	    evbuffer_get_length(bufferevent_get_output(under)) != 0 &&
	    ++s->close_polls < SESSION_CLOSE_POLLS) {
		/* the filter's callbacks are its own: look again soon; the
		 * write timeout still bounds the wait */
		evtimer_add(s->cmd_timer, &tv);
		return;
	}
	session_free(s);
}

static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	if (s->state == S_CLOSING)
		session_closing_check(s);
}

static void
session_tls_up(struct session *s)
{
	tls_describe(s->bev, s->tls_info, sizeof(s->tls_info), s->tls_log,
	    sizeof(s->tls_log));
	log_info("client=%s action=tls %s", s->addr, s->tls_info);
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;
	char		 why[256];

	if (what & BEV_EVENT_CONNECTED) {
		session_tls_up(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->state == S_CLOSING) {
			session_free(s);
			return;
		}
		session_timed_out(s);
		return;
	}
	if (s->tls && s->tls_info[0] == '\0' && s->state != S_CLOSING) {
		tls_error(bev, why, sizeof(why));
		log_info("client=%s action=disconnect messages=%u "
		    "reason=\"TLS handshake failed: %s\"", s->addr,
		    s->messages, why);
	} else if (s->state != S_CLOSING)
		log_info("client=%s action=disconnect messages=%u "
		    "reason=\"%s\"", s->addr, s->messages,
		    (what & BEV_EVENT_EOF) ? "lost connection" : "I/O error");
	session_free(s);
}

void
session_starttls(struct session *s)
{
	struct bufferevent	*plain = s->bev, *tls;
	struct evbuffer		*in = bufferevent_get_input(plain);
	size_t			 pipelined = evbuffer_get_length(in);

	/* RFC 3207 §4.2 and CVE-2011-0411: nothing sent in the clear
	 * after STARTTLS may count as sent under TLS */
	evbuffer_drain(in, pipelined);
	bufferevent_set_timeouts(plain, NULL, NULL);
	bufferevent_setwatermark(plain, EV_READ, 0, 0);
	if ((tls = tls_accept_filter(plain)) == NULL) {
		session_close(s, "TLS unavailable");
		return;
	}
	s->bev = tls;
	s->tls = 1;
	auth_clear(s);
	session_reset(s);
	s->state = S_CONNECTED;
	s->helo[0] = '\0';
	s->esmtp = 0;
	s->login[0] = '\0';
	bufferevent_setcb(tls, session_read_cb, session_write_cb,
	    session_event_cb, s);
	bufferevent_setwatermark(tls, EV_READ, 0, SESSION_LINE_MAX + 2);
	session_timeout_command(s);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	if (pipelined > 0)
		log_info("client=%s action=starttls discarded=%zu "
		    "reason=\"commands pipelined after STARTTLS\"", s->addr,
		    pipelined);
}

/* Why a submission port refuses a transaction, or NULL. */
const char *
session_submission_refusal(struct session *s)
{
	if (s->local || s->listener_kind == LISTEN_SMTP)
		return NULL;
	if (!s->tls)
		return "Must issue a STARTTLS command first";
	if (s->login[0] == '\0')
		return "Authentication required";
	return NULL;
}
