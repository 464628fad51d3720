/*
 * alias.h: the syntax of an alias's targets, shared by the builder
 * (newaliases checks every target and stores a canonical list) and the
 * reader (lookup splits the stored list again at delivery time).
 *
 * A list is targets separated by commas. A comma inside double quotes
 * does not separate; a target that is wholly quoted loses its quotes
 * (inside them \" is a quote and \\ a backslash). A target is
 *	name		a local name: alice, postmaster
 *	user@domain	an address
 *	/path		a file (mbox-style append); /path/ is a Maildir
 *	|command	a command, run by /bin/sh -c
 *	:include:/path	more targets, read from that file at delivery time
 *	\name		the user's own mailbox: no alias, no .forward
 *
 * The same syntax serves ~/.forward files (deliver/forward.c), which
 * may not use :include:.
 */
#ifndef BULWARK_ALIAS_H
#define BULWARK_ALIAS_H

#include <stddef.h>

#define ALIAS_NAME_MAX		128	/* bytes of an alias name + NUL */
#define ALIAS_TARGET_MAX	1024	/* bytes of one target + NUL */
#define ALIAS_INCLUDE		":include:"

enum alias_kind {
	ALIAS_T_NAME,
	ALIAS_T_ADDRESS,
	ALIAS_T_FILE,
	ALIAS_T_COMMAND,
	ALIAS_T_INCLUDE,
	ALIAS_T_MAILBOX,	/* \name */
};

/* Called for each target with its kind; the target of ALIAS_T_INCLUDE
 * is the path alone, that of ALIAS_T_MAILBOX the name alone. A non-zero return stops the walk and is returned. */
typedef int	alias_target_fn(void *arg, enum alias_kind, const char *target);

/* Splits a list and checks each target. Returns 0, the callback's
 * non-zero value, or -1 with a message in err (no file:line). */
int	alias_split(const char *list, alias_target_fn *, void *arg,
	    char *err, size_t errlen);
/* The kind of one (unquoted) target; -1 with a message if it is bad. */
int	alias_classify(const char *target, enum alias_kind *, char *err,
	    size_t errlen);
/* An alias name (and a local name target): 1 if acceptable. */
int	alias_name_ok(const char *name);
/* Appends target to the list in out (", " between targets), quoted if
 * it must be; -1 if it does not fit. */
int	alias_append(char *out, size_t outlen, const char *target);
/* As alias_append, for a target as alias_split gave it: the prefix of
 * its kind (":include:", "\\") is put back first. */
int	alias_append_kind(char *out, size_t outlen, enum alias_kind,
	    const char *target);

#endif
