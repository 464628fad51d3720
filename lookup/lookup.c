/*
 * lookup.c: bulwark-lookup, the only daemon that reads tables and the
 * password database. It answers "is this recipient ours" for smtpd and
 * "who is this local user" for deliver-local, and nothing else.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "privsep.h"
#include "wire.h"

#define LK_ADDR_MAX	512

static const struct ipc_rule lookup_rules[] = {
	{ LK_RCPT, 12, 12 + LK_ADDR_MAX, IPC_FD_NONE },
	{ LK_USER, 8, 8 + LK_ADDR_MAX, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

static void
lookup_reply_rcpt(struct link *l, uint32_t id, enum lk_status st,
    const char *dsn, const char *text)
{
	struct wire_w	w;

	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_u32(&w, st);
	wire_w_str(&w, dsn);
	wire_w_str(&w, text);
	ipc_send(l->chan, LK_RCPT_REPLY, w.buf, w.len, -1);
}

/* The local part names a system user: lower-cased, without +detail. */
static void
lookup_user_key(const char *local, char *key, size_t keylen)
{
	size_t	i;
	char	delim = daemon_cfg->recipient_delimiter;

	for (i = 0; local[i] != '\0' && i + 1 < keylen; i++) {
		if (delim != '\0' && local[i] == delim && i > 0)
			break;
		key[i] = (char)tolower((unsigned char)local[i]);
	}
	key[i] = '\0';
}

/* 1: a user who may receive mail, 0: none, -1: cannot tell now */
static int
lookup_local_user(const char *local, struct passwd **pwp)
{
	struct passwd	*pw;
	char		 key[256];

	lookup_user_key(local, key, sizeof(key));
	errno = 0;
	pw = getpwnam(key);
	if (pw == NULL)
		return errno == 0 || errno == ENOENT ? 0 : -1;
	*pwp = pw;
	return 1;
}

static void
lookup_rcpt(struct link *l, struct ipc_msg *m)
{
	struct passwd	*pw;
	struct wire_r	 r;
	char		 addr[LK_ADDR_MAX + 1], *at;
	uint32_t	 id, flags;
	int		 rc;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	flags = wire_r_u32(&r);
	wire_r_str(&r, addr, sizeof(addr));
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed recipient query");
		return;
	}
	if ((at = strrchr(addr, '@')) == NULL) {
		lookup_reply_rcpt(l, id, LK_BAD_ADDRESS, "5.1.3",
		    "Bad recipient address syntax");
		return;
	}
	*at++ = '\0';
	if (config_is_local_domain(daemon_cfg, at)) {
		rc = strcasecmp(addr, "postmaster") == 0 ? 1 :
		    lookup_local_user(addr, &pw);
		if (rc == 1)
			lookup_reply_rcpt(l, id, LK_OK, "2.1.5", "Ok");
		else if (rc == 0)
			lookup_reply_rcpt(l, id, LK_NOUSER, "5.1.1",
			    "User unknown in local recipient table");
		else
			lookup_reply_rcpt(l, id, LK_TEMPFAIL, "4.3.0",
			    "Temporary lookup failure");
	} else if (config_is_virtual_domain(daemon_cfg, at)) {
		/* the virtual table arrives with local delivery */
		lookup_reply_rcpt(l, id, LK_TEMPFAIL, "4.3.0",
		    "Virtual table not available");
	} else if (flags & (LK_F_TRUSTED | LK_F_AUTH))
		lookup_reply_rcpt(l, id, LK_OK, "2.1.5", "Ok");
	else
		lookup_reply_rcpt(l, id, LK_RELAY_DENIED, "5.7.1",
		    "Relay access denied");
}

static void
lookup_user(struct link *l, struct ipc_msg *m)
{
	struct passwd	*pw = NULL;
	struct wire_r	 r;
	struct wire_w	 w;
	char		 local[LK_ADDR_MAX + 1];
	uint32_t	 id;
	int		 rc;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	wire_r_str(&r, local, sizeof(local));
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed user query");
		return;
	}
	rc = lookup_local_user(local, &pw);
	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_u32(&w, rc == 1 ? LK_OK : rc == 0 ? LK_NOUSER : LK_TEMPFAIL);
	wire_w_u32(&w, rc == 1 ? pw->pw_uid : 0);
	wire_w_u32(&w, rc == 1 ? pw->pw_gid : 0);
	wire_w_str(&w, rc == 1 ? pw->pw_name : "");
	wire_w_str(&w, rc == 1 ? pw->pw_dir : "");
	ipc_send(l->chan, LK_USER_REPLY, w.buf, w.len, -1);
}

static void
lookup_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct link	*l = arg;

	switch (m->type) {
	case LK_RCPT:
		lookup_rcpt(l, m);
		break;
	case LK_USER:
		lookup_user(l, m);
		break;
	}
}

static void
lookup_link(enum proc_kind peer, uint32_t id, int fd)
{
	if (peer != PROC_SMTPD && peer != PROC_QMGR && peer != PROC_LOCAL) {
		log_warnx("unexpected link from %s", proc_kind_name(peer));
		close(fd);
		return;
	}
	link_add(peer, id, fd, lookup_rules, lookup_dispatch, NULL);
}

static const struct daemon_ops lookup_ops = {
	.kind = PROC_LOOKUP,
	.user = BULWARK_USER_LOOKUP,
	.link = lookup_link,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &lookup_ops);
}
