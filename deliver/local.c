/*
 * local.c: bulwark-local, the local delivery agent. It keeps root only to
 * fork one child per delivery that becomes the recipient before it opens
 * anything of the recipient's. This file is its conversation with qmgr:
 * take DL_DELIVER, resolve, deliver to each destination the recipient
 * expands to (one log line each), and answer one DL_RESULT.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "link.h"
#include "local.h"
#include "log.h"
#include "mailbox.h"
#include "wire.h"

#define DL_DELIVER_MIN	(4 + 4 * 4 + 4)
#define DL_DELIVER_MAX	(DL_DELIVER_MIN + QM_QID_MAX + 3 * QM_ADDR_MAX)
#define LK_REPLY_MIN	(5 * 4)		/* id, status, dsn, text, count */

static const struct ipc_rule local_qmgr_rules[] = {
	{ DL_DELIVER, DL_DELIVER_MIN, DL_DELIVER_MAX, IPC_FD_REQUIRED },
	{ 0, 0, 0, 0 },
};

static const struct ipc_rule local_lookup_rules[] = {
	{ LK_EXPAND_REPLY, LK_REPLY_MIN, IPC_MAX_PAYLOAD, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

static TAILQ_HEAD(, delivery)	deliveries = TAILQ_HEAD_INITIALIZER(deliveries);
static unsigned			ndeliveries;
static int			retiring;

static const char *
local_word(uint32_t status)
{
	static const char *const	words[] = { "sent", "deferred",
					    "bounced" };

	return status <= DL_PERMFAIL ? words[status] : "?";
}

/* A failure says why; so does a success that wrote no mailbox. */
static int
local_says_why(const struct local_result *res)
{
	return res->text[0] != '\0' && (res->status != DL_OK ||
	    res->mailbox[0] == '\0');
}

static void
local_log(const struct delivery *d, const struct local_result *res)
{
	int	why = local_says_why(res);

	log_info("qid=%s to=<%s> status=%s dsn=%s mailbox=%s%s%s%s", d->qid,
	    d->rcpt, local_word(res->status), res->dsn,
	    res->mailbox[0] != '\0' ? res->mailbox : "-",
	    why ? " (" : "", why ? res->text : "", why ? ")" : "");
}

/* The recipient's own mailbox: user@..., or user+detail@... */
static int
local_is_own(const struct delivery *d, const struct local_dest *t)
{
	size_t	len = strlen(t->user.name);

	if (t->kind != DEST_MAILBOX ||
	    strncasecmp(d->rcpt, t->user.name, len) != 0)
		return 0;
	return d->rcpt[len] == '@' || (d->rcpt[len] != '\0' &&
	    d->rcpt[len] == daemon_cfg->recipient_delimiter);
}

/* One line per destination: as local_log, and what the destination
 * was when the recipient expanded to something else than its user. */
static void
local_log_dest(const struct delivery *d, const struct local_dest *t,
    const struct local_result *res)
{
	static const char *const	kinds[] = { "user", "maildir", "file",
					    "command", "forward", "unknown" };
	const char			*what;
	int				 why = local_says_why(res);

	if (d->ndests == 1 && local_is_own(d, t)) {
		local_log(d, res);
		return;
	}
	what = t->kind == DEST_MAILBOX ? t->user.name : t->arg;
	log_info("qid=%s to=<%s> status=%s dsn=%s mailbox=%s dest=%s%s:%.80s%s%s "
	    "as=%s%s%s%s", d->qid, d->rcpt, local_word(res->status),
	    res->dsn, res->mailbox[0] != '\0' ? res->mailbox : "-",
	    t->noforward ? "\\" : "", kinds[t->kind], what,
	    t->detail[0] != '\0' ? "+" : "", t->detail,
	    t->user.name[0] != '\0' ? t->user.name : "-",
	    why ? " (" : "", why ? res->text : "", why ? ")" : "");
}

/* The answer goes back on the link the request came on: a restarted
 * qmgr has new ids and retries what the old one had asked. */
static void
local_answer(const struct delivery *d, const struct local_result *res)
{
	static struct wire_w	 w;
	struct link		*l;

	l = link_by_id(d->qmgr);
	if (l == NULL || l->kind != PROC_QMGR || !ipc_chan_is_open(l->chan)) {
		log_info("qid=%s to=<%s>: qmgr#%u went away; result not sent",
		    d->qid, d->rcpt, d->qmgr);
		return;
	}
	wire_w_init(&w);
	wire_w_u32(&w, d->id);
	wire_w_u32(&w, res->status);
	wire_w_str(&w, res->dsn);
	wire_w_str(&w, res->text);
	if (w.err || ipc_send(l->chan, DL_RESULT, w.buf, w.len, -1) == -1)
		log_warnx("qid=%s to=<%s>: cannot answer %s", d->qid, d->rcpt,
		    l->name);
}

static void
local_free(struct delivery *d)
{
	TAILQ_REMOVE(&deliveries, d, entry);
	ndeliveries--;
	if (d->msgfd != -1)
		close(d->msgfd);
	if (d->timer != NULL)
		event_free(d->timer);
	free(d->dests);
	free(d->fwdlist);
	free(d->done);
	free(d);
	if (retiring && ndeliveries == 0) {
		log_info("retired: every delivery answered");
		exit(0);
	}
}

void
local_done(struct delivery *d, const struct local_result *res)
{
	local_log(d, res);
	local_answer(d, res);
	local_free(d);
}

/* The answer goes to qmgr; before a deferral, what was delivered is
 * recorded (done.c), and after a final answer the record goes. */
static void
local_answer_final(struct delivery *d, const struct local_result *res)
{
	if (res->status == DL_TEMPFAIL && d->nok > 0)
		done_save(d);
	else if (res->status != DL_TEMPFAIL)
		done_forget(d);
	local_answer(d, res);
	local_free(d);
}

/* The answer for a recipient with several destinations (those its
 * aliases and .forward files reached, less the mailboxes whose .forward
 * took the mail): deferred if any was (the retry delivers only to the
 * others, see done.c), bounced only if all were, else sent (the
 * bounced ones are logged). None left (.forward files that name each
 * other): a loop. */
static void
local_finish(struct delivery *d)
{
	struct local_result	res;
	unsigned		n = d->nok + d->ntemp + d->nperm;

	memset(&res, 0, sizeof(res));
	if (n == 0)
		mailbox_result(&res, DL_PERMFAIL, "5.4.6", "mail loop: the "
		    ".forward files send it nowhere");
	else if (n == 1)
		res = d->last;		/* its own answer, as it was */
	else if (d->ntemp > 0) {
		res = d->temp;
		if (d->nok > 0)
			mailbox_result(&res, DL_TEMPFAIL, d->temp.dsn, "%s (%u "
			    "of %u destinations delivered)", d->temp.text,
			    d->nok, n);
	} else if (d->nok == 0)
		res = d->perm;
	else {
		mailbox_result(&res, DL_OK, "2.0.0", "delivered to %u of %u "
		    "destinations", d->nok, n);
		if (d->nperm > 0)
			log_warnx("qid=%s to=<%s>: %u of %u destinations "
			    "bounced; the sender is not told", d->qid,
			    d->rcpt, d->nperm, n);
	}
	if (n != 1)
		log_info("qid=%s to=<%s> status=%s dsn=%s destinations=%u "
		    "sent=%u deferred=%u bounced=%u%s%s%s", d->qid, d->rcpt,
		    local_word(res.status), res.dsn, n, d->nok, d->ntemp,
		    d->nperm, n == 0 ? " (" : "", n == 0 ? res.text : "",
		    n == 0 ? ")" : "");
	local_answer_final(d, &res);
}

/* A result that needs no child; 0 if the destination needs one. */
static int
local_immediate(const struct local_dest *t, struct local_result *res)
{
	memset(res, 0, sizeof(*res));
	if (t->kind == DEST_NOUSER)
		mailbox_result(res, DL_PERMFAIL, "5.1.1", "no such user: %s",
		    t->arg);
	else if (t->kind == DEST_FORWARD)
		mailbox_result(res, DL_TEMPFAIL, "4.3.5", "forwarding to <%s> "
		    "is not supported yet", t->arg);
	else if (t->user.uid == 0)
		mailbox_result(res, DL_PERMFAIL, "5.7.1",
		    "will not deliver as root");
	else if (t->kind == DEST_PIPE && !daemon_cfg->allow_commands)
		mailbox_result(res, DL_PERMFAIL, "5.7.1", "delivery to "
		    "commands is disabled (allow-commands)");
	else if (t->kind == DEST_FILE && strcmp(t->arg, "/dev/null") == 0)
		mailbox_result(res, DL_OK, "2.0.0", "discarded (/dev/null)");
	else if (t->kind == DEST_FILE && !daemon_cfg->allow_files)
		mailbox_result(res, DL_PERMFAIL, "5.7.1", "delivery to "
		    "files is disabled (allow-files)");
	else
		return 0;
	return 1;
}

static void
local_record(struct delivery *d, const struct local_result *res)
{
	local_log_dest(d, &d->dests[d->cur], res);
	d->last = *res;
	if (res->status == DL_OK) {
		d->nok++;
		d->dests[d->cur].delivered = 1;
	}
	else if (res->status == DL_TEMPFAIL && d->ntemp++ == 0)
		d->temp = *res;
	else if (res->status == DL_PERMFAIL && d->nperm++ == 0)
		d->perm = *res;
	d->cur++;
}

/* A destination an earlier try delivered, or one that needs no child:
 * 1 with its result. */
static int
local_without_child(struct delivery *d, struct local_result *res)
{
	if (!done_has(d, &d->dests[d->cur]))
		return local_immediate(&d->dests[d->cur], res);
	memset(res, 0, sizeof(*res));
	mailbox_result(res, DL_OK, "2.0.0", "delivered on an earlier try");
	return 1;
}

/* Delivers the destinations from d->cur on, each in turn; those that
 * need a child go to deliver.c, which comes back to local_dest_done. */
static void
local_next(struct delivery *d)
{
	struct local_result	res;

	while (d->cur < d->ndests && local_without_child(d, &res))
		local_record(d, &res);
	if (d->cur < d->ndests)
		deliver_start(d);
	else
		local_finish(d);
}

void
local_dest_done(struct delivery *d, const struct local_result *res)
{
	if (d->fwdlist != NULL) {	/* the mailbox has a .forward */
		resolve_forward(d);
		return;
	}
	local_record(d, res);
	local_next(d);
}

void
local_forwarded(struct delivery *d, struct local_dest *dests, size_t n,
    const struct local_result *res)
{
	struct local_result	why;
	const char		*user;

	if (res == NULL && forwarding_merge(d, dests, n, &why) == 0) {
		user = d->dests[d->cur].user.name;	/* moved by the merge */
		log_info("qid=%s to=<%s> dest=user:%s forwarded by "
		    "~%s/.forward to %zu destinations", d->qid, d->rcpt,
		    user, user, n);
		d->cur++;
	} else
		local_record(d, res != NULL ? res : &why);
	free(dests);
	local_next(d);
}

void
local_resolved(struct delivery *d)
{
	d->cur = 0;
	done_load(d);
	local_next(d);
}

/* No control characters: they would forge header or log lines. */
static int
local_addr_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static int
local_qid_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
		    *s == '/')
			return 0;
	return 1;
}

/* Reasons to answer at once without starting; 0 if there are none. */
static int
local_refuse(struct delivery *d, struct local_result *res)
{
	struct stat	st;
	int		fl;

	memset(res, 0, sizeof(*res));
	res->status = DL_TEMPFAIL;
	strlcpy(res->dsn, "4.3.2", sizeof(res->dsn));
	if (retiring)
		strlcpy(res->text, "shutting down", sizeof(res->text));
	else if (ndeliveries >= LOCAL_MAX_PENDING)
		strlcpy(res->text, "too many deliveries", sizeof(res->text));
	else if (fstat(d->msgfd, &st) == -1 || !S_ISREG(st.st_mode))
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "message is not a "
		    "regular file");
	else if ((fl = fcntl(d->msgfd, F_GETFL)) == -1 ||
	    (fl & O_ACCMODE) != O_RDONLY)	/* the child runs as the user */
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "message descriptor "
		    "is not read-only");
	else if (d->rcpt[0] == '\0' || !local_addr_ok(d->rcpt) ||
	    hdr_delivered_to(d->rcpt, d->dtrcpt, sizeof(d->dtrcpt)) == -1)
		mailbox_result(res, DL_PERMFAIL, "5.1.3", "bad recipient "
		    "address");
	else if (!local_addr_ok(d->sender))
		mailbox_result(res, DL_PERMFAIL, "5.1.7", "bad sender address");
	else
		return 0;
	return -1;
}

/* Fills req from the frame; -1 if the frame is malformed. */
static int
local_parse(struct ipc_msg *m, struct delivery *req)
{
	struct wire_r	r;

	memset(req, 0, sizeof(*req));
	req->msgfd = m->fd;
	req->pipefd = -1;
	req->pid = -1;
	wire_r_init(&r, m);
	req->id = wire_r_u32(&r);
	wire_r_str(&r, req->qid, sizeof(req->qid));
	wire_r_str(&r, req->sender, sizeof(req->sender));
	wire_r_str(&r, req->rcpt, sizeof(req->rcpt));
	wire_r_str(&r, req->orcpt, sizeof(req->orcpt));
	req->flags = wire_r_u32(&r);
	return wire_r_end(&r) == -1 || !local_qid_ok(req->qid) ||
	    (req->flags & ~DL_F_RETRY) != 0 ? -1 : 0;
}

static void
local_deliver(struct link *l, struct ipc_msg *m)
{
	static struct delivery	 req;
	struct delivery		*d;
	struct local_result	 res;

	if (local_parse(m, &req) == -1) {
		close(m->fd);
		link_drop(l, "malformed delivery request");
		return;
	}
	req.qmgr = l->id;
	if (local_refuse(&req, &res) == -1) {
		local_log(&req, &res);
		local_answer(&req, &res);
		close(req.msgfd);
		return;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {
		log_warn("qid=%s to=<%s>: deferred", req.qid, req.rcpt);
		mailbox_result(&res, DL_TEMPFAIL, "4.3.0", "out of memory");
		local_answer(&req, &res);
		close(req.msgfd);
		return;
	}
	memcpy(d, &req, sizeof(*d));
	TAILQ_INSERT_TAIL(&deliveries, d, entry);
	ndeliveries++;
	resolve_start(d);
}

static void
local_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct link	*l = arg;

	switch (m->type) {
	case DL_DELIVER:
		local_deliver(l, m);
		break;
	case LK_EXPAND_REPLY:
		resolve_reply(l, m);
		break;
	}
}

/* What that qmgr asked and no child writes yet is forgotten: its
 * successor asks again. Running children finish; their answers stay
 * unsent. */
static void
local_qmgr_gone(struct link *l)
{
	struct delivery	*d, *next;

	for (d = TAILQ_FIRST(&deliveries); d != NULL; d = next) {
		next = TAILQ_NEXT(d, entry);
		if (d->qmgr != l->id || d->state == DS_RUNNING ||
		    d->state == DS_NEW)
			continue;
		if (d->state == DS_RESOLVING)
			resolve_cancel(d);
		else
			deliver_cancel(d);
		log_info("qid=%s to=<%s>: dropped, %s went away", d->qid,
		    d->rcpt, l->name);
		local_free(d);
	}
}

static void
local_lookup_gone(struct link *l)
{
	resolve_link_gone(l->id);
}

static void
local_link(enum proc_kind peer, uint32_t id, int fd)
{
	if (peer == PROC_QMGR)
		link_add(peer, id, fd, local_qmgr_rules, local_dispatch,
		    local_qmgr_gone);
	else if (peer == PROC_LOOKUP)
		link_add(peer, id, fd, local_lookup_rules, local_dispatch,
		    local_lookup_gone);
	else {
		log_warnx("unexpected link from %s", proc_kind_name(peer));
		close(fd);
	}
}

static void
local_start(void)
{
	if (deliver_init() == -1)
		fatalx("cannot start");
	done_init(daemon_cfg);
}

static void
local_retire(void)
{
	retiring = 1;
	log_info("retiring: %u deliveries to finish", ndeliveries);
	if (ndeliveries == 0)
		exit(0);
}

static const struct daemon_ops local_ops = {
	.kind = PROC_LOCAL,
	.user = NULL,
	.start = local_start,
	.link = local_link,
	.retire = local_retire,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &local_ops);
}
