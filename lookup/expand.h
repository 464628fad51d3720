/*
 * expand.h: what an address expands to: aliases (recursively, through
 * :include: files), virtual-table entries and system users, down to the
 * destinations deliver-local writes (proto.h, enum lk_dest_kind). The
 * tables, the password database and the files come through callbacks,
 * so that the rules can be tested without any of them.
 *
 * Rules:
 * - a local part is lower-cased; "name+detail" is looked up as itself,
 *   then as "name" (the detail then goes with every user it reaches);
 * - an alias naming itself (alice: alice, bob) means the user alice;
 * - any other cycle, or more than EXPAND_MAX_DEPTH nested aliases,
 *   includes and virtual entries, fails the whole address (5.4.6), as do
 *   more than EXPAND_MAX_DESTS destinations (5.5.3);
 * - postmaster and mailer-daemon without an alias or a user go to root
 *   (whom deliver-local refuses: "root: someone" belongs in aliases);
 * - files and commands of an alias run as the owner of the alias table,
 *   those of an :include: file as that file's owner, and as "nobody"
 *   where that owner is root (Postfix's rule);
 * - a virtual entry may name users, addresses and Maildirs (/path/),
 *   which are written as the virtual-user;
 * - a table that cannot answer makes the whole address a temporary
 *   failure (4.3.0), never "unknown";
 * - "\\name" is the user's own mailbox (LKD_INBOX): no alias is looked
 *   up and deliver-local reads no .forward for it;
 * - the targets of a user's ~/.forward (which deliver-local read as the
 *   user) are expanded like an alias of that user's name: the user's own
 *   name in it is the user, its files and commands run as the user, and
 *   it may not :include:.
 */
#ifndef BULWARK_EXPAND_H
#define BULWARK_EXPAND_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "alias.h"
#include "proto.h"
#include "table.h"

#define EXPAND_MAX_DEPTH	20
#define EXPAND_MAX_DESTS	1000
#define EXPAND_USER_MAX		256
#define EXPAND_DETAIL_MAX	128
#define EXPAND_TEXT_MAX		256
#define EXPAND_NOBODY		"nobody"

struct expand_user {
	uint32_t	uid;
	uint32_t	gid;
	char		name[EXPAND_USER_MAX];
	char		home[PATH_MAX];
};

struct expand_dest {
	enum lk_dest_kind	kind;
	struct expand_user	user;
	char			detail[EXPAND_DETAIL_MAX];
	char			arg[ALIAS_TARGET_MAX];
};

enum expand_domain {
	EXPAND_LOCAL,
	EXPAND_VIRTUAL,
	EXPAND_REMOTE,
};

/* Tables answer with an enum table_rc; users with 1 found, 0 no such
 * user, -1 cannot tell. include returns a malloc'd text and the owner of
 * the file, or -1 with a reason. A NULL virtual means no virtual-table. */
struct expand_ops {
	int	(*alias)(void *, const char *key, char *val, size_t len);
	int	(*alias_owner)(void *, uint32_t *uid);
	int	(*virtual)(void *, const char *key, char *val, size_t len);
	int	(*user)(void *, const char *name, struct expand_user *);
	int	(*user_by_uid)(void *, uint32_t uid, struct expand_user *);
	int	(*include)(void *, const char *path, char **text, size_t *len,
		    uint32_t *owner, char *err, size_t errlen);
	enum expand_domain (*domain)(void *, const char *domain);
};

struct expand {
	const struct expand_ops	*ops;
	void			*arg;
	char			 delim;		/* recipient-delimiter, or 0 */
	const char		*virtual_user;	/* NULL: not set */

	/* the outcome */
	enum lk_status		 status;
	char			 dsn[16];
	char			 text[EXPAND_TEXT_MAX];
	struct expand_dest	*dests;
	size_t			 ndests;

	/* the aliases, includes and virtual keys being expanded */
	size_t			 depth;
	size_t			 cap;
	char			 stack[EXPAND_MAX_DEPTH + 1][TABLE_KEY_MAX + 3];
};

/* Sets ops, arg and the defaults; the caller sets delim, virtual_user. */
void	expand_init(struct expand *, const struct expand_ops *, void *arg);
/* Expands address ("local@domain", or a bare local part). The outcome
 * is in e: status LK_OK with ndests destinations (LKD_NOUSER among them
 * for names in lists that are no one), or LK_NOUSER (the address itself
 * is no one), LK_TEMPFAIL or LK_PERMFAIL with dsn and text, and no
 * destinations. */
void	expand_address(struct expand *, const char *address);
/* Expands the canonical target list of user's ~/.forward (uid: whose
 * rights its files and commands get); the outcome as above. */
void	expand_forward(struct expand *, const char *user, uint32_t uid,
	    const char *list);
/* Frees the destinations (e may be expanded again). */
void	expand_clear(struct expand *);

#endif
