/*
 * lookup.c: bulwark-lookup, the only daemon that reads tables and the
 * password database. This file is its life: the links to its peers, the
 * dispatch of their questions to answer.c, and the tables, opened after
 * the privilege drop, reopened on SIGHUP or when their file changes.
 */
#include <string.h>
#include <unistd.h>

#include "conncount.h"
#include "daemon.h"
#include "link.h"
#include "log.h"
#include "lookup.h"
#include "privsep.h"

struct table	*lookup_alias_table;
struct table	*lookup_virtual_table;

static const struct ipc_rule lookup_rules[] = {
	{ LK_RCPT, 12, 12 + LK_ADDR_MAX, IPC_FD_NONE },
	{ LK_USER, 8, 8 + LK_ADDR_MAX, IPC_FD_NONE },
	{ LK_EXPAND, 8, 8 + LK_ADDR_MAX, IPC_FD_NONE },
	{ LK_AUTH, 16, 16 + 64 + 255 + 1024, IPC_FD_NONE },
	{ LK_SENDER, 12, 12 + 255 + LK_ADDR_MAX, IPC_FD_NONE },
	{ LK_UID, 8, 8, IPC_FD_NONE },
	{ LK_CONNECT, 12, 12 + CONN_ADDR_MAX, IPC_FD_NONE },
	{ LK_DISCONNECT, 4, 4 + CONN_ADDR_MAX, IPC_FD_NONE },
	{ LK_EXPAND_FORWARD, 16, IPC_MAX_PAYLOAD, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

/* Questions only smtpd may ask (a delivery agent has no business
 * checking passwords or counting sessions), and those qmgr may ask too: who a maildrop
 * file's owner is, and whether its sender is theirs. */
static int
lookup_refused(uint16_t type, enum proc_kind peer)
{
	if (type == LK_AUTH || type == LK_CONNECT || type == LK_DISCONNECT)
		return peer != PROC_SMTPD;
	if (type == LK_SENDER || type == LK_UID)
		return peer != PROC_SMTPD && peer != PROC_QMGR;
	return 0;
}

/* One line for each attempt to open a table's file. */
static void
lookup_table_log(struct table *t)
{
	if (!table_attempted(t))
		return;
	if (table_is_open(t))
		log_info("table %s: opened", table_spec(t));
	else
		log_warnx("table %s: %s; what needs it fails temporarily "
		    "(4.3.0)", table_spec(t), table_error(t));
}

int
lookup_table_get(struct table *t, const char *key, char *val, size_t len)
{
	int	rc, was_open;

	(void)table_check(t);
	lookup_table_log(t);
	was_open = table_is_open(t);
	rc = table_get(t, key, val, len);
	lookup_table_log(t);
	if (rc == TABLE_ERROR && was_open)
		log_warnx("table %s: %s", table_spec(t), table_error(t));
	return rc;
}

/* The table for spec: the one open if its spec is the same (refreshed
 * if its file changed), else a new one. */
static struct table *
lookup_table_update(struct table *t, const char *spec)
{
	char	err[TABLE_ERR_MAX];

	if (t != NULL && spec != NULL && strcmp(table_spec(t), spec) == 0) {
		(void)table_refresh(t);
		lookup_table_log(t);
		return t;
	}
	table_close(t);
	if (spec == NULL)
		return NULL;
	if ((t = table_open(spec, err, sizeof(err))) == NULL) {
		log_warnx("table %s: %s", spec, err);
		return NULL;
	}
	lookup_table_log(t);
	return t;
}

static void
lookup_tables(const struct config *cf)
{
	lookup_alias_table = lookup_table_update(lookup_alias_table,
	    cf->alias_table);
	lookup_virtual_table = lookup_table_update(lookup_virtual_table,
	    cf->virtual_table);
	lookup_credentials_table = lookup_table_update(
	    lookup_credentials_table, cf->credentials_table);
	lookup_sender_login_table = lookup_table_update(
	    lookup_sender_login_table, cf->sender_login_table);
}

static void
lookup_start(void)
{
	lookup_tables(daemon_cfg);
}

static void
lookup_reconfigure(struct config *cfg, struct config *old)
{
	lookup_tables(cfg);
}

static void
lookup_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct link	*l = arg;

	if (lookup_refused(m->type, l->kind)) {
		link_drop(l, "question reserved to smtpd");
		return;
	}
	switch (m->type) {
	case LK_RCPT:
		answer_rcpt(l, m);
		break;
	case LK_USER:
		answer_user(l, m);
		break;
	case LK_EXPAND:
		answer_expand(l, m);
		break;
	case LK_AUTH:
		answer_auth(l, m);
		break;
	case LK_SENDER:
		answer_sender(l, m);
		break;
	case LK_UID:
		answer_uid(l, m);
		break;
	case LK_EXPAND_FORWARD:
		answer_forward(l, m);
		break;
	case LK_CONNECT:
		answer_connect(l, m);
		break;
	case LK_DISCONNECT:
		answer_disconnect(l, m);
		break;
	}
}

/* Its sessions are gone with it. */
static void
lookup_smtpd_gone(struct link *l)
{
	conn_link_gone(l->id);
}

static void
lookup_link(enum proc_kind peer, uint32_t id, int fd)
{
	if (peer != PROC_SMTPD && peer != PROC_QMGR && peer != PROC_LOCAL) {
		log_warnx("unexpected link from %s", proc_kind_name(peer));
		close(fd);
		return;
	}
	link_add(peer, id, fd, lookup_rules, lookup_dispatch,
	    peer == PROC_SMTPD ? lookup_smtpd_gone : NULL);
}

/* /etc/shadow is readable by group shadow: kept only when AUTH may check
 * system users' passwords. Taken at start: turning it on needs a restart
 * of lookup (kill it; the master starts it again). */
static const char *
lookup_group(const struct config *cf)
{
	return cf->auth_system_users ? "shadow" : NULL;
}

static const struct daemon_ops lookup_ops = {
	.kind = PROC_LOOKUP,
	.user = BULWARK_USER_LOOKUP,
	.group = lookup_group,
	.start = lookup_start,
	.link = lookup_link,
	.reconfigure = lookup_reconfigure,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &lookup_ops);
}
