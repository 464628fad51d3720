/*
 * ctl_print.c: what bulwarkctl and mailq print from the queue manager's
 * answers: the list in bulwarkctl's key=value lines or in the mailq
 * layout sendmail and Postfix users know, one message in full, and the
 * counters. What came over the socket is printed without its control
 * characters, so that no header can drive a terminal.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl_client.h"

/* Postfix's showq columns: a recipient under the sender. */
#define MAILQ_INDENT	41
#define MAILQ_REASON	76	/* a reason ends in this column */

void
ctl_print_safe(FILE *fp, const char *s, int lines)
{
	for (; *s != '\0'; s++) {
		if (lines && *s == '\r' && s[1] == '\n')
			continue;
		if (lines && (*s == '\n' || *s == '\t'))
			fputc(*s, fp);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc('?', fp);
		else
			fputc(*s, fp);
	}
}

enum ctl_time_style { TIME_LOCAL, TIME_ZONE, TIME_MAILQ };

/* strftime with literal formats, so that the compiler checks them */
static void
ctl_time(char *buf, size_t len, int64_t t, enum ctl_time_style style)
{
	time_t		tt = (time_t)t;
	struct tm	tm;
	size_t		n = 0;

	if (localtime_r(&tt, &tm) != NULL) {
		if (style == TIME_MAILQ)
			n = strftime(buf, len, "%a %b %e %H:%M:%S", &tm);
		else if (style == TIME_ZONE)
			n = strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm);
		else
			n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (n == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

static const char *
ctl_status(uint32_t flags)
{
	if (flags & QC_F_HELD)
		return "held";
	return flags & QC_F_ACTIVE ? "active" : "queued";
}

static void
ctl_queue_msg(FILE *fp, const struct qc_msg *m)
{
	char	when[64];

	ctl_time(when, sizeof(when), m->arrival, TIME_LOCAL);
	fprintf(fp, "qid=%s status=%s size=%llu arrival=\"%s\" from=<", m->qid,
	    ctl_status(m->flags), (unsigned long long)m->size, when);
	ctl_print_safe(fp, m->sender, 0);
	fprintf(fp, "> nrcpt=%u\n", m->nrcpt);
}

static void
ctl_queue_rcpt(FILE *fp, const struct qc_rcpt *r)
{
	char	when[64];

	fputs("  to=<", fp);
	ctl_print_safe(fp, r->addr, 0);
	fprintf(fp, "> state=%s attempts=%u", qc_state_name(r->state),
	    r->attempts);
	if (r->state == QC_PENDING || r->state == QC_DEFERRED) {
		ctl_time(when, sizeof(when), r->next_try, TIME_LOCAL);
		fprintf(fp, " next=\"%s\"", when);
	}
	if (r->dsn[0] != '\0')
		fprintf(fp, " dsn=%s", r->dsn);
	if (r->text[0] != '\0') {
		fputs(" reason=\"", fp);
		ctl_print_safe(fp, r->text, 0);
		fputc('"', fp);
	}
	fputc('\n', fp);
}

static void
ctl_mailq_msg(FILE *fp, const struct qc_msg *m, int first)
{
	char	when[64];

	if (first)
		fprintf(fp, "%-11s %8s %-20s %s\n", "-Queue ID-", "--Size--",
		    "----Arrival Time----", "-Sender/Recipient-------");
	else
		fputc('\n', fp);
	ctl_time(when, sizeof(when), m->arrival, TIME_MAILQ);
	fprintf(fp, "%s%c %8llu %-20.20s ", m->qid, (m->flags & QC_F_HELD) ?
	    '!' : (m->flags & QC_F_ACTIVE) ? '*' : ' ',
	    (unsigned long long)m->size, when);
	ctl_print_safe(fp, m->sender[0] != '\0' ? m->sender :
	    "MAILER-DAEMON", 0);
	fputc('\n', fp);
}

/* A recipient still to deliver, under its reason unless the one before
 * had the same (as Postfix's showq does). */
static void
ctl_mailq_rcpt(FILE *fp, const struct qc_rcpt *r, char *last, size_t len)
{
	int	pad;

	if (r->state == QC_DELIVERED || r->state == QC_FAILED)
		return;
	if (r->state == QC_DEFERRED && r->text[0] != '\0' &&
	    strcmp(last, r->text) != 0) {
		pad = MAILQ_REASON - (int)strlen(r->text) - 2;
		fprintf(fp, "%*s(", pad > 0 ? pad : 0, "");
		ctl_print_safe(fp, r->text, 0);
		fputs(")\n", fp);
		strlcpy(last, r->text, len);
	}
	fprintf(fp, "%*s", MAILQ_INDENT, "");
	ctl_print_safe(fp, r->addr, 0);
	fputc('\n', fp);
}

int
ctl_print_list_page(FILE *fp, enum ctl_list_style style, struct wire_r *r,
    uint32_t count, struct ctl_list_totals *t)
{
	static struct qc_msg	m;
	static struct qc_rcpt	rc;
	char			last[QC_TEXT_MAX + 1];
	uint32_t		i, k;

	for (i = 0; i < count; i++) {
		if (qc_msg_read(r, &m) == -1)
			return ctl_bad_answer("list");
		if (style == CTL_LIST_MAILQ)
			ctl_mailq_msg(fp, &m, t->messages == 0);
		else
			ctl_queue_msg(fp, &m);
		t->messages++;
		t->bytes += m.size;
		last[0] = '\0';
		for (k = 0; k < m.count; k++) {
			if (qc_rcpt_read(r, &rc) == -1)
				return ctl_bad_answer("list recipient");
			if (style == CTL_LIST_MAILQ)
				ctl_mailq_rcpt(fp, &rc, last, sizeof(last));
			else
				ctl_queue_rcpt(fp, &rc);
		}
		if (m.count < m.nrcpt)
			fprintf(fp, "%*s(%u more recipients not shown)\n",
			    style == CTL_LIST_MAILQ ? MAILQ_INDENT : 2, "",
			    m.nrcpt - m.count);
	}
	return wire_r_end(r) == 0 ? 0 : ctl_bad_answer("list");
}

void
ctl_print_list_end(FILE *fp, enum ctl_list_style style,
    const struct ctl_list_totals *t)
{
	if (style == CTL_LIST_MAILQ) {
		if (t->messages == 0)
			fprintf(fp, "Mail queue is empty\n");
		else
			fprintf(fp, "\n-- %llu Kbytes in %llu Request%s.\n",
			    (unsigned long long)(t->bytes + 1023) / 1024,
			    (unsigned long long)t->messages,
			    t->messages == 1 ? "" : "s");
		return;
	}
	if (t->messages == 0)
		fprintf(fp, "queue is empty\n");
	else
		fprintf(fp, "%llu message%s, %llu bytes\n",
		    (unsigned long long)t->messages,
		    t->messages == 1 ? "" : "s",
		    (unsigned long long)t->bytes);
}

static void
ctl_field(FILE *fp, const char *name, const char *value)
{
	fprintf(fp, "%-12s ", name);
	ctl_print_safe(fp, value[0] != '\0' ? value : "-", 0);
	fputc('\n', fp);
}

static void
ctl_show_details(FILE *fp, const struct qc_msg *m, const struct qc_details *d)
{
	static const char *const bodies[] = { "7bit", "8bitmime", "binarymime" };
	static const char *const rets[] = { "-", "full", "hdrs" };
	char	when[64], size[32];

	ctl_time(when, sizeof(when), m->arrival, TIME_ZONE);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)m->size);
	ctl_field(fp, "qid:", m->qid);
	ctl_field(fp, "status:", ctl_status(m->flags));
	ctl_field(fp, "arrival:", when);
	ctl_field(fp, "size:", size);
	fputs("sender:      <", fp);
	ctl_print_safe(fp, m->sender, 0);
	fputs(">\n", fp);
	ctl_field(fp, "client:", d->client_addr);
	ctl_field(fp, "client-name:", d->client_name);
	ctl_field(fp, "helo:", d->helo);
	ctl_field(fp, "auth:", d->auth);
	ctl_field(fp, "body:", bodies[d->body]);
	ctl_field(fp, "smtputf8:", d->smtputf8 ? "yes" : "no");
	ctl_field(fp, "ret:", rets[d->ret]);
	ctl_field(fp, "envid:", d->envid);
}

int
ctl_print_show(FILE *fp, struct wire_r *r)
{
	static struct qc_msg		m;
	static struct qc_details	d;
	static struct qc_rcpt		rc;
	static char			headers[QC_HEADERS_MAX + 1];
	uint32_t			k;

	if (qc_msg_read(r, &m) == -1 || qc_details_read(r, &d) == -1)
		return ctl_bad_answer("show");
	ctl_show_details(fp, &m, &d);
	for (k = 0; k < m.count; k++) {
		if (qc_rcpt_read(r, &rc) == -1)
			return ctl_bad_answer("show recipient");
		fputs("recipient:", fp);
		ctl_queue_rcpt(fp, &rc);
	}
	if (m.count < m.nrcpt)
		fprintf(fp, "(%u more recipients not shown)\n",
		    m.nrcpt - m.count);
	wire_r_str(r, headers, sizeof(headers));
	if (wire_r_end(r) == -1)
		return ctl_bad_answer("show header");
	fputc('\n', fp);
	ctl_print_safe(fp, headers, 1);
	return 0;
}

int
ctl_print_counters(FILE *fp, struct wire_r *r)
{
	char		name[QC_NAME_MAX + 1];
	uint64_t	value;
	uint32_t	i, n;

	if (qc_count_read(r, QC_COUNTERS_MAX, &n) == -1)
		return ctl_bad_answer("counters");
	for (i = 0; i < n; i++) {
		if (qc_counter_read(r, name, &value) == -1)
			return ctl_bad_answer("counters");
		fprintf(fp, "%-10s %llu\n", name, (unsigned long long)value);
	}
	return wire_r_end(r) == 0 ? 0 : ctl_bad_answer("counters");
}
