/*
 * answer.c: lookup's answers. LK_RCPT: is this recipient ours (a user,
 * an alias, postmaster, a virtual-table key)? LK_USER: who is this
 * user? LK_EXPAND: what does this address expand to (expand.c, over the
 * tables, the password database and :include: files given here)?
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "expand.h"
#include "fileio.h"
#include "link.h"
#include "log.h"
#include "lookup.h"
#include "source.h"
#include "wire.h"

static void
answer_rcpt_reply(struct link *l, uint32_t id, enum lk_status st,
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

/* A target list: no control characters but the tab a command may
 * hold (alias.c's rule). */
static int
answer_list_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < ' ' && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* The local part lower-cased (key), and without +detail (base). */
static void
answer_keys(const char *local, char *key, char *base, size_t len)
{
	char	delim = daemon_cfg->recipient_delimiter, *d;
	size_t	i;

	for (i = 0; local[i] != '\0' && i + 1 < len; i++)
		key[i] = (char)tolower((unsigned char)local[i]);
	key[i] = '\0';
	strlcpy(base, key, len);
	if (delim != '\0' && base[0] != '\0' &&
	    (d = strchr(base + 1, delim)) != NULL)
		*d = '\0';
}

/* 1: a user who may receive mail, 0: none, -1: cannot tell now */
static int
answer_getpwnam(const char *name, struct passwd **pwp)
{
	struct passwd	*pw;

	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL)
		return errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM ? 0 : -1;
	*pwp = pw;
	return 1;
}

/* Is key (or base) in t? An enum table_rc. */
static int
answer_in_table(struct table *t, const char *key, const char *base)
{
	static char	val[TABLE_VALUE_MAX];
	int		rc = TABLE_NOTFOUND;

	if (t == NULL)
		return TABLE_NOTFOUND;
	if (strcmp(key, base) != 0)
		rc = lookup_table_get(t, key, val, sizeof(val));
	if (rc == TABLE_NOTFOUND)
		rc = lookup_table_get(t, base, val, sizeof(val));
	return rc;
}

/* A local domain: a user, an alias or postmaster. */
static enum lk_status
answer_local(const char *local)
{
	struct passwd	*pw;
	char		 key[LK_ADDR_MAX + 1], base[LK_ADDR_MAX + 1];
	int		 rc;

	answer_keys(local, key, base, sizeof(key));
	if (base[0] == '\0')
		return LK_NOUSER;
	if ((rc = answer_getpwnam(base, &pw)) != 0)
		return rc == 1 ? LK_OK : LK_TEMPFAIL;
	rc = answer_in_table(lookup_alias_table, key, base);
	if (rc == TABLE_FOUND || strcmp(base, "postmaster") == 0)
		return LK_OK;
	return rc == TABLE_ERROR ? LK_TEMPFAIL : LK_NOUSER;
}

/* A virtual domain: user@domain, then @domain, in the virtual table. */
static enum lk_status
answer_virtual(const char *local, const char *domain)
{
	char	key[LK_ADDR_MAX + 1], base[LK_ADDR_MAX + 1];
	char	k1[2 * LK_ADDR_MAX + 2], k2[2 * LK_ADDR_MAX + 2];
	int	rc;

	if (lookup_virtual_table == NULL) {
		log_warnx("virtual domain %s but no virtual-table", domain);
		return LK_TEMPFAIL;
	}
	answer_keys(local, key, base, sizeof(key));
	snprintf(k1, sizeof(k1), "%s@%s", key, domain);
	snprintf(k2, sizeof(k2), "%s@%s", base, domain);
	rc = answer_in_table(lookup_virtual_table, k1, k2);
	if (rc == TABLE_NOTFOUND) {
		snprintf(k1, sizeof(k1), "@%s", domain);
		rc = answer_in_table(lookup_virtual_table, k1, k1);
	}
	return rc == TABLE_FOUND ? LK_OK : rc == TABLE_ERROR ? LK_TEMPFAIL :
	    LK_NOUSER;
}

void
answer_rcpt(struct link *l, struct ipc_msg *m)
{
	struct wire_r	 r;
	char		 addr[LK_ADDR_MAX + 1], *at;
	uint32_t	 id, flags;
	enum lk_status	 st;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	flags = wire_r_u32(&r);
	wire_r_str(&r, addr, sizeof(addr));
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed recipient query");
		return;
	}
	if ((at = strrchr(addr, '@')) == NULL || !wire_text_ok(addr)) {
		answer_rcpt_reply(l, id, LK_BAD_ADDRESS, "5.1.3",
		    "Bad recipient address syntax");
		return;
	}
	*at++ = '\0';
	if (config_is_local_domain(daemon_cfg, at))
		st = answer_local(addr);
	else if (config_is_virtual_domain(daemon_cfg, at))
		st = answer_virtual(addr, at);
	else if (flags & (LK_F_TRUSTED | LK_F_AUTH))
		st = LK_OK;
	else {
		answer_rcpt_reply(l, id, LK_RELAY_DENIED, "5.7.1",
		    "Relay access denied");
		return;
	}
	if (st == LK_OK)
		answer_rcpt_reply(l, id, LK_OK, "2.1.5", "Ok");
	else if (st == LK_NOUSER)
		answer_rcpt_reply(l, id, LK_NOUSER, "5.1.1",
		    "User unknown in local recipient table");
	else
		answer_rcpt_reply(l, id, LK_TEMPFAIL, "4.3.0",
		    "Temporary lookup failure");
}

void
answer_user(struct link *l, struct ipc_msg *m)
{
	struct passwd	*pw = NULL;
	struct wire_r	 r;
	struct wire_w	 w;
	char		 local[LK_ADDR_MAX + 1], key[LK_ADDR_MAX + 1];
	char		 base[LK_ADDR_MAX + 1];
	uint32_t	 id;
	int		 rc;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	wire_r_str(&r, local, sizeof(local));
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed user query");
		return;
	}
	answer_keys(local, key, base, sizeof(key));
	rc = base[0] == '\0' ? 0 : answer_getpwnam(base, &pw);
	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_u32(&w, rc == 1 ? LK_OK : rc == 0 ? LK_NOUSER : LK_TEMPFAIL);
	wire_w_u32(&w, rc == 1 ? pw->pw_uid : 0);
	wire_w_u32(&w, rc == 1 ? pw->pw_gid : 0);
	wire_w_str(&w, rc == 1 ? pw->pw_name : "");
	wire_w_str(&w, rc == 1 ? pw->pw_dir : "");
	ipc_send(l->chan, LK_USER_REPLY, w.buf, w.len, -1);
}

/*
 * Expansion: the callbacks expand.c works through.
 */

static int
answer_alias(void *arg, const char *key, char *val, size_t len)
{
	if (lookup_alias_table == NULL)
		return TABLE_NOTFOUND;
	return lookup_table_get(lookup_alias_table, key, val, len);
}

/* Whose rights the alias table's files and commands get: its owner's,
 * unless others could have written the table. */
static int
answer_alias_owner(void *arg, uint32_t *uid)
{
	uid_t	u;
	mode_t	mode;

	if (lookup_alias_table == NULL ||
	    table_owner(lookup_alias_table, &u, &mode) == -1)
		return -1;
	if (mode & (S_IWGRP | S_IWOTH)) {
		log_warnx("table %s is writable by group or others: its files "
		    "and commands are not delivered to",
		    table_spec(lookup_alias_table));
		return -1;
	}
	*uid = (uint32_t)u;
	return 0;
}

static int
answer_virtual_get(void *arg, const char *key, char *val, size_t len)
{
	return lookup_table_get(lookup_virtual_table, key, val, len);
}

static int
answer_pw(struct passwd *pw, struct expand_user *u)
{
	if (strlcpy(u->name, pw->pw_name, sizeof(u->name)) >= sizeof(u->name) ||
	    strlcpy(u->home, pw->pw_dir, sizeof(u->home)) >= sizeof(u->home))
		return 0;	/* cannot be delivered to: no one */
	u->uid = (uint32_t)pw->pw_uid;
	u->gid = (uint32_t)pw->pw_gid;
	return 1;
}

static int
answer_user_name(void *arg, const char *name, struct expand_user *u)
{
	struct passwd	*pw;
	int		 rc;

	if ((rc = answer_getpwnam(name, &pw)) != 1)
		return rc;
	return answer_pw(pw, u);
}

static int
answer_user_uid(void *arg, uint32_t uid, struct expand_user *u)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwuid((uid_t)uid)) == NULL)
		return errno == 0 || errno == ENOENT || errno == ESRCH ? 0 : -1;
	return answer_pw(pw, u);
}

/* An :include: file: a regular file no one but its owner may write. */
static int
answer_include(void *arg, const char *path, char **text, size_t *len,
    uint32_t *owner, char *err, size_t errlen)
{
	struct stat	st;
	const char	*why = NULL;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1 || fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		why = "writable by group or others";
	else if (st.st_size > SOURCE_MAX_INCLUDE)
		why = "too large";
	else if ((*text = file_slurp(fd, (size_t)st.st_size, len)) == NULL)
		why = strerror(errno);
	if (fd != -1)
		close(fd);
	if (why != NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	*owner = (uint32_t)st.st_uid;
	return 0;
}

static enum expand_domain
answer_domain(void *arg, const char *domain)
{
	if (config_is_local_domain(daemon_cfg, domain))
		return EXPAND_LOCAL;
	if (config_is_virtual_domain(daemon_cfg, domain))
		return EXPAND_VIRTUAL;
	return EXPAND_REMOTE;
}

static void
answer_expand_reply(struct link *l, uint32_t id, const struct expand *e)
{
	static struct wire_w	 w;
	const struct expand_dest *d;
	size_t			 i;

	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_u32(&w, e->status);
	wire_w_str(&w, e->dsn);
	wire_w_str(&w, e->text);
	wire_w_u32(&w, (uint32_t)e->ndests);
	for (i = 0; i < e->ndests; i++) {
		d = &e->dests[i];
		wire_w_u32(&w, d->kind);
		wire_w_u32(&w, d->user.uid);
		wire_w_u32(&w, d->user.gid);
		wire_w_str(&w, d->user.name);
		wire_w_str(&w, d->user.home);
		wire_w_str(&w, d->detail);
		wire_w_str(&w, d->arg);
	}
	if (w.err) {
		wire_w_init(&w);
		wire_w_u32(&w, id);
		wire_w_u32(&w, LK_TEMPFAIL);
		wire_w_str(&w, "4.3.0");
		wire_w_str(&w, "expansion too large for one reply");
		wire_w_u32(&w, 0);
	}
	ipc_send(l->chan, LK_EXPAND_REPLY, w.buf, w.len, -1);
}

/* An expansion set up with the callbacks above and the configuration. */
static void
answer_expand_init(struct expand *e)
{
	static struct expand_ops ops = {
		.alias = answer_alias,
		.alias_owner = answer_alias_owner,
		.user = answer_user_name,
		.user_by_uid = answer_user_uid,
		.include = answer_include,
		.domain = answer_domain,
	};

	ops.virtual = lookup_virtual_table != NULL ? answer_virtual_get : NULL;
	expand_init(e, &ops, NULL);
	e->delim = daemon_cfg->recipient_delimiter;
	e->virtual_user = daemon_cfg->virtual_user;
}

/* Logs the outcome for what, answers and forgets it. */
static void
answer_expand_done(struct link *l, uint32_t id, struct expand *e,
    const char *what)
{
	if (e->status == LK_TEMPFAIL || e->status == LK_PERMFAIL)
		log_warnx("expand %s: %s %s", what, e->dsn, e->text);
	else if (e->status == LK_OK)
		log_debug("expand %s: %zu destinations", what, e->ndests);
	answer_expand_reply(l, id, e);
	expand_clear(e);
}

void
answer_expand(struct link *l, struct ipc_msg *m)
{
	static struct expand	e;
	struct wire_r		r;
	char			addr[LK_ADDR_MAX + 1], what[LK_ADDR_MAX + 3];
	uint32_t		id;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	wire_r_str(&r, addr, sizeof(addr));
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed expansion query");
		return;
	}
	answer_expand_init(&e);
	if (wire_text_ok(addr))
		expand_address(&e, addr);
	else {
		e.status = LK_PERMFAIL;
		strlcpy(e.dsn, "5.1.3", sizeof(e.dsn));
		strlcpy(e.text, "bad address", sizeof(e.text));
	}
	snprintf(what, sizeof(what), "<%s>", addr);
	answer_expand_done(l, id, &e, what);
}

/* The targets of a user's ~/.forward: deliver-local read them as the
 * user and sends them on; they are checked here like any input. */
void
answer_forward(struct link *l, struct ipc_msg *m)
{
	static struct expand	e;
	static char		list[TABLE_VALUE_MAX];
	struct wire_r		r;
	char			user[EXPAND_USER_MAX], what[EXPAND_USER_MAX + 16];
	uint32_t		id, uid;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	uid = wire_r_u32(&r);
	wire_r_str(&r, user, sizeof(user));
	wire_r_str(&r, list, sizeof(list));
	if (wire_r_end(&r) == -1 || l->kind != PROC_LOCAL) {
		link_drop(l, "malformed .forward query");
		return;
	}
	answer_expand_init(&e);
	if (wire_text_ok(user) && answer_list_ok(list) && user[0] != '\0' &&
	    uid != 0)
		expand_forward(&e, user, uid, list);
	else {
		e.status = LK_PERMFAIL;
		strlcpy(e.dsn, "5.3.0", sizeof(e.dsn));
		strlcpy(e.text, "bad .forward query", sizeof(e.text));
	}
	snprintf(what, sizeof(what), "~%s/.forward", user);
	answer_expand_done(l, id, &e, what);
}
