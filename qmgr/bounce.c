/*
 * bounce.c: delivery status notifications (RFC 3464, RFC 6533 for
 * SMTPUTF8 mail). When recipients fail, wait longer than delay-warning,
 * or were delivered with NOTIFY=SUCCESS, one multipart/report message
 * from the null sender to the original sender is queued like any other
 * message, and the recipients are marked as reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "qmgr.h"

#define BOUNCE_FULL_MAX		(50 * 1024)	/* larger: headers only */
#define BOUNCE_HEADERS_MAX	(64 * 1024)

enum action { A_NONE, A_DELIVERED, A_DELAYED, A_FAILED };

static const char *const action_names[] = {
	"none", "delivered", "delayed", "failed",
};

struct report {
	const struct envelope	*env;	/* the original */
	char			 qid[QMGR_QID_LEN + 1];	/* the report */
	char			 boundary[96];
	int64_t			 now;
	int			 utf8;
	enum action		 worst;
	FILE			*f;
};

static int
notify_allows(uint32_t notify, uint32_t bit, int by_default)
{
	if (notify == 0)
		return by_default;
	return (notify & bit) != 0;
}

static enum action
bounce_action(const struct envelope *env, const struct envelope_rcpt *r,
    int64_t now)
{
	unsigned	warn = sched_delay_warning();

	switch (r->state) {
	case RCPT_FAILED:
		if (!(r->reported & RCPT_REPORTED_FAILURE) &&
		    notify_allows(r->notify, QM_NOTIFY_FAILURE, 1))
			return A_FAILED;
		return A_NONE;
	case RCPT_DELIVERED:
		if (!(r->reported & RCPT_REPORTED_SUCCESS) &&
		    notify_allows(r->notify, QM_NOTIFY_SUCCESS, 0))
			return A_DELIVERED;
		return A_NONE;
	default:
		if (r->attempts == 0 || (r->reported & RCPT_REPORTED_DELAY) ||
		    warn >= sched_lifetime() || now < env->arrival + warn ||
		    !notify_allows(r->notify, QM_NOTIFY_DELAY, 1))
			return A_NONE;
		return A_DELAYED;
	}
}

int
bounce_needed(const struct envelope *env, int64_t now)
{
	size_t	i;

	if (env->sender[0] == '\0')
		return 0;	/* never report on a report */
	for (i = 0; i < env->nrcpt; i++)
		if (bounce_action(env, &env->rcpt[i], now) != A_NONE)
			return 1;
	return 0;
}

static void
bounce_date(int64_t t, char *buf, size_t len)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		strlcpy(buf, "Thu, 01 Jan 1970 00:00:00 +0000", len);
}

static int
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/*
 * The parts of the report.
 */

static void
report_headers(struct report *rp)
{
	static const char *const subjects[] = {
		"", "Successful Mail Delivery Report",
		"Delayed Mail (still being retried)",
		"Undelivered Mail Returned to Sender",
	};
	const char	*host = daemon_cfg->hostname;
	char		 date[64];

	bounce_date(rp->now, date, sizeof(date));
	fprintf(rp->f, "Date: %s\r\n"
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n"
	    "To: <%s>\r\nSubject: %s\r\nMessage-ID: <%s.dsn@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=%s;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n"
	    "This is a MIME-encapsulated message.\r\n\r\n",
	    date, host, rp->env->sender, subjects[rp->worst], rp->qid, host,
	    rp->utf8 ? "global-delivery-status" : "delivery-status",
	    rp->boundary);
}

static void
report_human(struct report *rp)
{
	const struct envelope_rcpt	*r;
	const struct envelope		*env = rp->env;
	size_t				 i;

	fprintf(rp->f, "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=%s\r\n\r\n"
	    "This is the mail system at host %s.\r\n\r\n", rp->boundary,
	    rp->utf8 ? "utf-8" : "us-ascii", daemon_cfg->hostname);
	if (rp->worst == A_FAILED)
		fprintf(rp->f, "Your message could not be delivered to one or "
		    "more recipients.\r\nIt is attached below.\r\n\r\n");
	else if (rp->worst == A_DELAYED)
		fprintf(rp->f, "Your message could not be delivered yet. "
		    "Delivery will be retried\r\nuntil %u days after it was "
		    "sent; you need not send it again.\r\n\r\n",
		    sched_lifetime() / 86400);
	else
		fprintf(rp->f, "Your message was delivered as you asked to "
		    "be told.\r\n\r\n");
	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		if (bounce_action(env, r, rp->now) != A_NONE)
			fprintf(rp->f, "<%s>: %s: %s\r\n", r->addr,
			    action_names[bounce_action(env, r, rp->now)],
			    r->text[0] != '\0' ? r->text : r->dsn);
	}
	fprintf(rp->f, "\r\n");
}

static void
report_rcpt(struct report *rp, const struct envelope_rcpt *r,
    enum action a)
{
	char	date[64];

	fprintf(rp->f, "\r\nFinal-Recipient: %s; %s\r\n",
	    is_ascii(r->addr) ? "rfc822" : "utf-8", r->addr);
	if (r->orcpt[0] != '\0' && strchr(r->orcpt, ';') != NULL)
		fprintf(rp->f, "Original-Recipient: %s\r\n", r->orcpt);
	fprintf(rp->f, "Action: %s\r\nStatus: %s\r\n", action_names[a],
	    r->dsn[0] != '\0' ? r->dsn : a == A_FAILED ? "5.0.0" :
	    a == A_DELAYED ? "4.0.0" : "2.0.0");
	if (r->text[0] != '\0')
		fprintf(rp->f, "Diagnostic-Code: X-Bulwark; %s\r\n", r->text);
	if (r->attempts > 0) {
		bounce_date(rp->now, date, sizeof(date));
		fprintf(rp->f, "Last-Attempt-Date: %s\r\n", date);
	}
	if (a == A_DELAYED) {
		bounce_date(rp->env->arrival + sched_lifetime(), date,
		    sizeof(date));
		fprintf(rp->f, "Will-Retry-Until: %s\r\n", date);
	}
}

static void
report_status(struct report *rp)
{
	const struct envelope	*env = rp->env;
	char			 date[64];
	enum action		 a;
	size_t			 i;

	bounce_date(env->arrival, date, sizeof(date));
	fprintf(rp->f, "--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/%s\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\nX-Bulwark-Queue-ID: %s\r\n",
	    rp->boundary, rp->utf8 ? "global-delivery-status" :
	    "delivery-status", daemon_cfg->hostname, env->qid);
	if (env->envid[0] != '\0')
		fprintf(rp->f, "Original-Envelope-Id: %s\r\n", env->envid);
	fprintf(rp->f, "Arrival-Date: %s\r\n", date);
	for (i = 0; i < env->nrcpt; i++)
		if ((a = bounce_action(env, &env->rcpt[i], rp->now)) != A_NONE)
			report_rcpt(rp, &env->rcpt[i], a);
	fprintf(rp->f, "\r\n");
}

/* The headers of the original: up to the first empty line. */
static size_t
headers_len(const char *buf, size_t n)
{
	size_t	i;

	for (i = 0; i + 1 < n; i++)
		if (buf[i] == '\n' && (buf[i + 1] == '\n' ||
		    (buf[i + 1] == '\r' && i + 2 < n && buf[i + 2] == '\n')))
			return i + 1;
	return n;
}

/* Returns -1 if the original cannot be read. */
static int
report_original(struct report *rp)
{
	const struct envelope	*env = rp->env;
	char			*buf;
	ssize_t			 n;
	size_t			 len;
	int			 fd, full;

	full = env->ret != QM_RET_HDRS && env->size <= BOUNCE_FULL_MAX;
	len = full ? BOUNCE_FULL_MAX : BOUNCE_HEADERS_MAX;
	if ((fd = queue_open_msg(env->qid)) == -1)
		return -1;
	if ((buf = malloc(len)) == NULL) {
		close(fd);
		return -1;
	}
	n = pread(fd, buf, len, 0);
	close(fd);
	if (n < 0) {
		free(buf);
		return -1;
	}
	len = full ? (size_t)n : headers_len(buf, (size_t)n);
	fprintf(rp->f, "--%s\r\nContent-Description: %s\r\n"
	    "Content-Type: %s\r\n\r\n", rp->boundary,
	    full ? "Undelivered Message" : "Message Headers",
	    full ? (rp->utf8 ? "message/global" : "message/rfc822") :
	    (rp->utf8 ? "message/global-headers" : "text/rfc822-headers"));
	fwrite(buf, 1, len, rp->f);
	if (len > 0 && buf[len - 1] != '\n')
		fprintf(rp->f, "\r\n");
	free(buf);
	return 0;
}

static int
report_write(struct report *rp, int fd)
{
	int	rc = 0;

	if ((rp->f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	report_headers(rp);
	report_human(rp);
	report_status(rp);
	if (rp->worst != A_DELIVERED && report_original(rp) == -1)
		log_warnx("qid=%s: the report goes without the message",
		    rp->env->qid);
	fprintf(rp->f, "--%s--\r\n", rp->boundary);
	if (fflush(rp->f) == EOF || ferror(rp->f))
		rc = -1;
	if (fclose(rp->f) == EOF)
		rc = -1;
	return rc;
}

/* The report's own envelope: from <>, to the original sender. */
static int
report_envelope(struct report *rp, struct envelope *out)
{
	const struct envelope	*env = rp->env;

	envelope_init(out);
	strlcpy(out->qid, rp->qid, sizeof(out->qid));
	out->arrival = rp->now;
	out->body = env->body == QM_BODY_7BIT ? QM_BODY_7BIT :
	    QM_BODY_8BITMIME;
	out->flags = rp->utf8 ? QM_F_SMTPUTF8 : 0;
	out->ret = QM_RET_NONE;
	if (envelope_set(&out->sender, "") == -1 ||
	    envelope_set(&out->client_addr, "local") == -1 ||
	    envelope_set(&out->client_name, daemon_cfg->hostname) == -1 ||
	    envelope_set(&out->helo, "") == -1 ||
	    envelope_set(&out->auth, "") == -1 ||
	    envelope_set(&out->envid, "") == -1 ||
	    envelope_rcpt_add(out, env->sender, "", QM_NOTIFY_NEVER) == -1) {
		envelope_free(out);
		return -1;
	}
	return 0;
}

static void
report_mark(struct envelope *env, int64_t now)
{
	static const uint32_t	 flag[] = { 0, RCPT_REPORTED_SUCCESS,
	    RCPT_REPORTED_DELAY, RCPT_REPORTED_FAILURE };
	size_t			 i;

	for (i = 0; i < env->nrcpt; i++)
		env->rcpt[i].reported |=
		    flag[bounce_action(env, &env->rcpt[i], now)];
}

static void
report_prepare(struct report *rp, const struct envelope *env, int64_t now)
{
	enum action	a;
	size_t		i;

	memset(rp, 0, sizeof(*rp));
	rp->env = env;
	rp->now = now;
	rp->utf8 = (env->flags & QM_F_SMTPUTF8) != 0;
	for (i = 0; i < env->nrcpt; i++)
		if ((a = bounce_action(env, &env->rcpt[i], now)) > rp->worst)
			rp->worst = a;
}

int
bounce_queue(struct envelope *env, int64_t now)
{
	struct report	 rp;
	struct envelope	 out;
	char		 why[128];
	int		 fd;

	report_prepare(&rp, env, now);
	if (rp.worst == A_NONE || (fd = queue_create(rp.qid)) == -1)
		return rp.worst == A_NONE ? 0 : -1;
	/* RFC 2046: at most 70 characters, and not in the attached text */
	snprintf(rp.boundary, sizeof(rp.boundary), "%s.%08X%08X=_report",
	    rp.qid, arc4random(), arc4random());
	if (report_write(&rp, fd) == -1 || report_envelope(&rp, &out) == -1) {
		log_warnx("qid=%s: cannot write the delivery report", env->qid);
		queue_discard(rp.qid);
		return -1;
	}
	if (commit_one(&out, why, sizeof(why)) == -1) {
		log_warnx("qid=%s: delivery report not queued: %s", env->qid,
		    why);
		envelope_free(&out);
		queue_discard(rp.qid);
		return -1;
	}
	log_info("qid=%s from=<> size=%llu nrcpt=1 client=local "
	    "status=queued dsn-for=%s action=%s", out.qid,
	    (unsigned long long)out.size, env->qid, action_names[rp.worst]);
	report_mark(env, now);
	sched_add(&out);
	return 1;
}
