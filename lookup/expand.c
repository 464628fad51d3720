/*
 * expand.c: an address to its final destinations, by the rules listed
 * in expand.h: aliases (with :include:), virtual entries and users, with
 * loop and depth checks, duplicates dropped, and the rights each file or
 * command delivery gets. The first failure ends the whole expansion.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expand.h"
#include "source.h"

/* Where targets come from: whose rights their files and commands get,
 * and the detail that goes with the users they reach. */
enum expand_from {
	FROM_TOP,
	FROM_ALIAS,
	FROM_INCLUDE,
	FROM_VIRTUAL,
	FROM_FORWARD,		/* a user's ~/.forward: the user's rights */
};

struct expand_ctx {
	enum expand_from	 from;
	uint32_t		 owner;		/* of an include file */
	const char		*detail;	/* "" for none */
};

struct expand_walk {
	struct expand		*e;
	const struct expand_ctx	*ctx;
};

static void	expand_addr(struct expand *, const char *,
		    const struct expand_ctx *);
static void	expand_local(struct expand *, const char *,
		    const struct expand_ctx *);

static void __attribute__((format(printf, 4, 5)))
expand_fail(struct expand *e, enum lk_status st, const char *dsn,
    const char *fmt, ...)
{
	va_list	ap;

	if (e->status != LK_OK)
		return;		/* the first reason stands */
	e->status = st;
	strlcpy(e->dsn, dsn, sizeof(e->dsn));
	va_start(ap, fmt);
	(void)vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

static int
expand_failed(const struct expand *e)
{
	return e->status != LK_OK;
}

static void
expand_tempfail(struct expand *e, const char *what, const char *why)
{
	expand_fail(e, LK_TEMPFAIL, "4.3.0", "%s: %s", what, why);
}

/* "a -> b -> c -> key" from the stack, into buf. */
static void
expand_chain(const struct expand *e, const char *key, char *buf, size_t len)
{
	size_t	i;

	buf[0] = '\0';
	for (i = 0; i < e->depth; i++) {
		strlcat(buf, e->stack[i] + 2, len);
		strlcat(buf, " -> ", len);
	}
	strlcat(buf, key, len);
}

/* Enters an alias ('a'), include ('i') or virtual entry ('v'); -1 if
 * that makes a loop or goes too deep (the expansion has failed). */
static int
expand_push(struct expand *e, char type, const char *key)
{
	char	chain[EXPAND_TEXT_MAX];
	size_t	i;

	for (i = 0; i < e->depth; i++)
		if (e->stack[i][0] == type && strcmp(e->stack[i] + 2,
		    key) == 0) {
			expand_chain(e, key, chain, sizeof(chain));
			expand_fail(e, LK_PERMFAIL, "5.4.6", "alias loop: %s",
			    chain);
			return -1;
		}
	if (e->depth >= EXPAND_MAX_DEPTH) {
		expand_chain(e, key, chain, sizeof(chain));
		expand_fail(e, LK_PERMFAIL, "5.4.6", "aliases nested more "
		    "than %d deep: %s", EXPAND_MAX_DEPTH, chain);
		return -1;
	}
	if ((size_t)snprintf(e->stack[e->depth], sizeof(e->stack[0]), "%c:%s",
	    type, key) >= sizeof(e->stack[0])) {
		expand_tempfail(e, key, "name too long");
		return -1;
	}
	e->depth++;
	return 0;
}

static void
expand_pop(struct expand *e)
{
	e->depth--;
}

/* The alias being expanded nearest the top, through includes; or NULL. */
static const char *
expand_self(const struct expand *e)
{
	size_t	i;

	for (i = e->depth; i > 0; i--) {
		if (e->stack[i - 1][0] == 'a')
			return e->stack[i - 1] + 2;
		if (e->stack[i - 1][0] != 'i')
			return NULL;
	}
	return NULL;
}

/*
 * Destinations.
 */

static int
expand_same(const struct expand_dest *a, const struct expand_dest *b)
{
	return a->kind == b->kind && a->user.uid == b->user.uid &&
	    strcmp(a->user.name, b->user.name) == 0 &&
	    strcmp(a->detail, b->detail) == 0 && strcmp(a->arg, b->arg) == 0;
}

static int
expand_grow(struct expand *e)
{
	struct expand_dest	*v;
	size_t			 cap;

	if (e->ndests < e->cap)
		return 0;
	cap = e->cap == 0 ? 4 : e->cap * 2;
	if (cap > EXPAND_MAX_DESTS)
		cap = EXPAND_MAX_DESTS;
	if ((v = reallocarray(e->dests, cap, sizeof(*v))) == NULL)
		return -1;
	e->dests = v;
	e->cap = cap;
	return 0;
}

static void
expand_add(struct expand *e, enum lk_dest_kind kind,
    const struct expand_user *u, const char *detail, const char *arg)
{
	struct expand_dest	d;
	size_t			i;

	if (expand_failed(e))
		return;
	memset(&d, 0, sizeof(d));
	d.kind = kind;
	if (u != NULL)
		d.user = *u;
	if (strlcpy(d.detail, detail, sizeof(d.detail)) >= sizeof(d.detail))
		d.detail[0] = '\0';	/* too long for a folder: ignored */
	if (strlcpy(d.arg, arg, sizeof(d.arg)) >= sizeof(d.arg)) {
		expand_tempfail(e, arg, "too long");
		return;
	}
	for (i = 0; i < e->ndests; i++)
		if (expand_same(&e->dests[i], &d))
			return;
	if (e->ndests >= EXPAND_MAX_DESTS)
		expand_fail(e, LK_PERMFAIL, "5.5.3", "more than %d "
		    "destinations", EXPAND_MAX_DESTS);
	else if (expand_grow(e) == -1)
		expand_tempfail(e, "expansion", "out of memory");
	else
		e->dests[e->ndests++] = d;
}

/* A user's mailbox, or the name is no one. */
static void
expand_user(struct expand *e, const char *name, const char *detail)
{
	static const struct expand_ctx	top = { FROM_TOP, 0, "" };
	struct expand_user		u;
	int				rc;

	if ((rc = e->ops->user(e->arg, name, &u)) == 1)
		expand_add(e, LKD_USER, &u, detail, "");
	else if (rc == -1)
		expand_tempfail(e, name, "cannot read the password database");
	else if (strcmp(name, "postmaster") == 0 ||
	    strcmp(name, "mailer-daemon") == 0)
		expand_local(e, "root", &top);
	else
		expand_add(e, LKD_NOUSER, NULL, "", name);
}

/* \name: the user's own mailbox, past aliases and .forward. */
static void
expand_inbox(struct expand *e, const char *name, const char *detail)
{
	char		 key[TABLE_KEY_MAX + 1];
	struct expand_user u;
	size_t		 i;
	int		 rc;

	for (i = 0; name[i] != '\0' && i + 1 < sizeof(key); i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[i] = '\0';
	if ((rc = e->ops->user(e->arg, key, &u)) == 1)
		expand_add(e, LKD_INBOX, &u, detail, "");
	else if (rc == -1)
		expand_tempfail(e, key, "cannot read the password database");
	else
		expand_add(e, LKD_NOUSER, NULL, "", key);
}

/* A file or a command, with the rights of the table or file it came
 * from: its owner's, or nobody's if root owns it. */
static void
expand_owned(struct expand *e, enum lk_dest_kind kind, const char *arg,
    const struct expand_ctx *ctx)
{
	struct expand_user	u;
	char			what[64];
	uint32_t		owner = ctx->owner;
	int			rc;

	if (ctx->from == FROM_ALIAS &&
	    e->ops->alias_owner(e->arg, &owner) == -1) {
		expand_tempfail(e, arg, "the alias table's owner is unknown, "
		    "or others may write it");
		return;
	}
	if (owner == 0)
		rc = e->ops->user(e->arg, EXPAND_NOBODY, &u);
	else
		rc = e->ops->user_by_uid(e->arg, owner, &u);
	if (rc == 1 && u.uid != 0) {
		expand_add(e, kind, &u, "", arg);
		return;
	}
	if (owner == 0)
		snprintf(what, sizeof(what), "user %s", EXPAND_NOBODY);
	else
		snprintf(what, sizeof(what), "uid %u", owner);
	expand_tempfail(e, what, rc == -1 ? "cannot read the password "
	    "database" : "no usable user to deliver to files and commands");
}

static void
expand_vmaildir(struct expand *e, const char *path)
{
	struct expand_user	u;
	int			rc;

	if (e->virtual_user == NULL) {
		expand_tempfail(e, path, "virtual-user is not set");
		return;
	}
	rc = e->ops->user(e->arg, e->virtual_user, &u);
	if (rc == 1 && u.uid != 0)
		expand_add(e, LKD_MAILDIR, &u, "", path);
	else
		expand_tempfail(e, e->virtual_user, rc == -1 ? "cannot read "
		    "the password database" : "virtual-user is not usable");
}

/*
 * Targets.
 */

static void	expand_target(struct expand *, enum alias_kind, const char *,
		    const struct expand_ctx *);

static int
expand_walk_target(void *arg, enum alias_kind kind, const char *target)
{
	struct expand_walk	*w = arg;

	expand_target(w->e, kind, target, w->ctx);
	return expand_failed(w->e) ? 1 : 0;
}

static void
expand_include(struct expand *e, const char *path,
    const struct expand_ctx *ctx)
{
	struct expand_ctx	c = { FROM_INCLUDE, 0, ctx->detail };
	struct expand_walk	w = { e, &c };
	char			*text = NULL, err[EXPAND_TEXT_MAX];
	size_t			 len = 0;

	if (expand_push(e, 'i', path) == -1)
		return;
	if (e->ops->include(e->arg, path, &text, &len, &c.owner, err,
	    sizeof(err)) == -1)
		expand_tempfail(e, ":include:", err);
	else if (source_include(path, text, len, expand_walk_target, &w, err,
	    sizeof(err)) == -1)
		expand_tempfail(e, ":include:", err);
	free(text);
	expand_pop(e);
}

static void
expand_target(struct expand *e, enum alias_kind kind, const char *target,
    const struct expand_ctx *ctx)
{
	size_t	len = strlen(target);

	if (ctx->from == FROM_VIRTUAL && (kind == ALIAS_T_COMMAND ||
	    kind == ALIAS_T_INCLUDE || kind == ALIAS_T_MAILBOX ||
	    (kind == ALIAS_T_FILE && target[len - 1] != '/'))) {
		expand_tempfail(e, target, "a virtual entry may name only "
		    "users, addresses and Maildirs (/path/)");
		return;
	}
	if (ctx->from == FROM_FORWARD && kind == ALIAS_T_INCLUDE) {
		expand_tempfail(e, target, "a .forward may not :include:");
		return;
	}
	switch (kind) {
	case ALIAS_T_NAME:
		expand_local(e, target, ctx);
		break;
	case ALIAS_T_ADDRESS:
		expand_addr(e, target, ctx);
		break;
	case ALIAS_T_FILE:
		if (ctx->from == FROM_VIRTUAL)
			expand_vmaildir(e, target);
		else
			expand_owned(e, LKD_FILE, target, ctx);
		break;
	case ALIAS_T_COMMAND:
		target++;
		expand_owned(e, LKD_PIPE, target + strspn(target, " \t"), ctx);
		break;
	case ALIAS_T_INCLUDE:
		expand_include(e, target, ctx);
		break;
	case ALIAS_T_MAILBOX:
		expand_inbox(e, target, ctx->detail);
		break;
	}
}

/* The targets of an alias or a virtual entry found under key. */
static void
expand_entry(struct expand *e, char type, const char *key, const char *val,
    const char *detail)
{
	struct expand_ctx	c = { type == 'a' ? FROM_ALIAS : FROM_VIRTUAL,
				    0, detail };
	struct expand_walk	w = { e, &c };
	char			err[EXPAND_TEXT_MAX];

	if (expand_push(e, type, key) == -1)
		return;
	if (alias_split(val, expand_walk_target, &w, err, sizeof(err)) == -1)
		expand_fail(e, LK_TEMPFAIL, "4.3.0", "bad %s table entry "
		    "\"%s\": %s", type == 'a' ? "alias" : "virtual", key, err);
	expand_pop(e);
}

/*
 * Names and addresses.
 */

/* Looks key up in the alias (or virtual) table and expands what it
 * finds; 1 found, 0 not, -1 failed. */
static int
expand_lookup(struct expand *e, char type, const char *key,
    const char *detail)
{
	char	*val;
	int	 rc;

	if (type == 'a' && e->ops->alias == NULL)
		return 0;
	if ((val = malloc(TABLE_VALUE_MAX)) == NULL) {
		expand_tempfail(e, key, "out of memory");
		return -1;
	}
	if (type == 'a')
		rc = e->ops->alias(e->arg, key, val, TABLE_VALUE_MAX);
	else
		rc = e->ops->virtual(e->arg, key, val, TABLE_VALUE_MAX);
	if (rc == TABLE_FOUND)
		expand_entry(e, type, key, val, detail);
	else if (rc == TABLE_ERROR)
		expand_tempfail(e, type == 'a' ? "alias table" :
		    "virtual table", "not available");
	free(val);
	return rc == TABLE_ERROR ? -1 : rc == TABLE_FOUND;
}

/* key lower-cased; base: key without +detail; detail: the rest or "". */
static int
expand_split(const struct expand *e, const char *name, char *key,
    char *base, size_t len, const char **detail)
{
	char	*d;
	size_t	 i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i + 1 >= len)
			return -1;
		key[i] = (char)tolower((unsigned char)name[i]);
	}
	key[i] = '\0';
	strlcpy(base, key, len);
	*detail = "";
	if (e->delim != '\0' && key[0] != '\0' &&
	    (d = strchr(base + 1, e->delim)) != NULL) {
		*d = '\0';
		*detail = key + (d - base) + 1;
	}
	return 0;
}

static void
expand_local(struct expand *e, const char *name, const struct expand_ctx *ctx)
{
	char		 key[TABLE_KEY_MAX + 1], base[TABLE_KEY_MAX + 1];
	const char	*detail, *self;
	int		 rc;

	if (expand_failed(e))
		return;
	if (expand_split(e, name, key, base, sizeof(key), &detail) == -1 ||
	    base[0] == '\0') {
		expand_add(e, LKD_NOUSER, NULL, "", name);
		return;
	}
	self = expand_self(e);
	if (*detail == '\0')
		detail = ctx->detail;
	if (self != NULL && (strcmp(self, key) == 0 ||
	    strcmp(self, base) == 0)) {
		expand_user(e, base, detail);	/* alice: alice, bob */
		return;
	}
	rc = strcmp(key, base) != 0 ? expand_lookup(e, 'a', key, "") : 0;
	if (rc == 0)
		rc = expand_lookup(e, 'a', base, detail);
	if (rc == 0)
		expand_user(e, base, detail);
}

static void
expand_virtual(struct expand *e, const char *local, const char *domain,
    const struct expand_ctx *ctx)
{
	char		 key[TABLE_KEY_MAX + 1], base[TABLE_KEY_MAX + 1];
	char		 k[TABLE_KEY_MAX + 1];
	const char	*detail;
	int		 rc = 0;

	if (e->ops->virtual == NULL) {
		expand_tempfail(e, domain, "virtual domain without "
		    "virtual-table");
		return;
	}
	if (expand_split(e, local, key, base, sizeof(key), &detail) == -1 ||
	    (size_t)snprintf(k, sizeof(k), "%s@%s", key, domain) >= sizeof(k)) {
		expand_add(e, LKD_NOUSER, NULL, "", local);
		return;
	}
	rc = expand_lookup(e, 'v', k, "");
	if (rc == 0 && strcmp(key, base) != 0 && (size_t)snprintf(k,
	    sizeof(k), "%s@%s", base, domain) < sizeof(k))
		rc = expand_lookup(e, 'v', k, detail);
	if (rc == 0 && (size_t)snprintf(k, sizeof(k), "@%s", domain) <
	    sizeof(k))
		rc = expand_lookup(e, 'v', k, "");
	if (rc == 0 && (size_t)snprintf(k, sizeof(k), "%s@%s", key, domain) <
	    sizeof(k))
		expand_add(e, LKD_NOUSER, NULL, "", k);
}

static void
expand_addr(struct expand *e, const char *addr, const struct expand_ctx *ctx)
{
	const char	*at = strrchr(addr, '@');
	char		 local[TABLE_KEY_MAX + 1], domain[TABLE_KEY_MAX + 1];
	size_t		 i;

	if (expand_failed(e))
		return;
	if (at == NULL) {
		expand_local(e, addr, ctx);
		return;
	}
	if (at == addr || (size_t)(at - addr) >= sizeof(local) ||
	    strlcpy(domain, at + 1, sizeof(domain)) >= sizeof(domain)) {
		expand_add(e, LKD_NOUSER, NULL, "", addr);
		return;
	}
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	for (i = 0; domain[i] != '\0'; i++)
		domain[i] = (char)tolower((unsigned char)domain[i]);
	switch (e->ops->domain(e->arg, domain)) {
	case EXPAND_LOCAL:
		expand_local(e, local, ctx);
		break;
	case EXPAND_VIRTUAL:
		expand_virtual(e, local, domain, ctx);
		break;
	case EXPAND_REMOTE:
		expand_add(e, LKD_FORWARD, NULL, "", addr);
		break;
	}
}

/*
 * Public interface.
 */

void
expand_init(struct expand *e, const struct expand_ops *ops, void *arg)
{
	memset(e, 0, sizeof(*e));
	e->ops = ops;
	e->arg = arg;
	e->delim = '+';
}

void
expand_clear(struct expand *e)
{
	free(e->dests);
	e->dests = NULL;
	e->ndests = 0;
	e->cap = 0;
	e->depth = 0;
	e->status = LK_OK;
	strlcpy(e->dsn, "2.0.0", sizeof(e->dsn));
	e->text[0] = '\0';
}

/* Every destination is a name that is no one: so is the address. */
static int
expand_all_nouser(const struct expand *e)
{
	size_t	i;

	for (i = 0; i < e->ndests; i++)
		if (e->dests[i].kind != LKD_NOUSER)
			return 0;
	return 1;
}

/* No one, or every name no one: the address is no one; a failure
 * leaves no destinations. */
static void
expand_finish(struct expand *e, const char *address)
{
	if (!expand_failed(e) && e->ndests == 0)
		expand_fail(e, LK_NOUSER, "5.1.1", "%s expands to no one",
		    address);
	else if (!expand_failed(e) && expand_all_nouser(e))
		expand_fail(e, LK_NOUSER, "5.1.1", "no such user: %s",
		    e->dests[0].arg);
	if (expand_failed(e)) {
		free(e->dests);
		e->dests = NULL;
		e->ndests = 0;
		e->cap = 0;
	}
}

void
expand_address(struct expand *e, const char *address)
{
	static const struct expand_ctx	top = { FROM_TOP, 0, "" };

	expand_clear(e);
	expand_addr(e, address, &top);
	expand_finish(e, address);
}

void
expand_forward(struct expand *e, const char *user, uint32_t uid,
    const char *list)
{
	struct expand_ctx	c = { FROM_FORWARD, uid, "" };
	struct expand_walk	w = { e, &c };
	char			err[EXPAND_TEXT_MAX];

	expand_clear(e);
	/* the user's own name in it is the user (alice: alice, bob) */
	if (expand_push(e, 'a', user) == 0) {
		if (alias_split(list, expand_walk_target, &w, err,
		    sizeof(err)) == -1)
			expand_fail(e, LK_TEMPFAIL, "4.3.0", "bad .forward of "
			    "%s: %s", user, err);
		expand_pop(e);
	}
	expand_finish(e, user);
}
