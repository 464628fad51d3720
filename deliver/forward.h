/*
 * forward.h: a user's ~/.forward, read by the delivery child once it is
 * the user (forward.c), in the syntax of an alias's right-hand side
 * (lookup/alias.h: names, addresses, /files, |commands, \user; no
 * :include:). What it finds goes back to the parent as the canonical
 * target list, which lookup expands (LK_EXPAND_FORWARD).
 */
#ifndef BULWARK_FORWARD_H
#define BULWARK_FORWARD_H

#include <sys/stat.h>
#include <sys/types.h>

#include <stddef.h>

#define FORWARD_NAME		".forward"
#define FORWARD_FILE_MAX	(64 * 1024)	/* bytes of a .forward */
#define FORWARD_LIST_MAX	(16 * 1024)	/* of its canonical targets:
						   the child's pipe holds it */
#define FORWARD_WHY_MAX		256

enum forward_rc {
	FORWARD_NONE,		/* no .forward, or nothing in it */
	FORWARD_FOUND,		/* targets in the list */
	FORWARD_IGNORED,	/* unsafe or malformed: why says; the
				   mailbox gets the mail */
	FORWARD_TEMPFAIL,	/* could not be read now: why says */
};

/* Whether a .forward with this stat may be obeyed for uid: a regular
 * file of uid's that neither group nor others may write, not too large.
 * 0, or -1 with the reason in why. */
int	forward_check(const struct stat *, uid_t uid, char *why, size_t len);
/* The targets of a .forward's text as one canonical list (alias_split
 * reads it back) in out; the number of targets, or -1 with "line N:
 * reason" in why. */
int	forward_parse(const char *text, size_t len, char *out, size_t outlen,
	    char *why, size_t whylen);
/* Reads home/.forward as the current user (uid); out gets the list. */
enum forward_rc forward_read(const char *home, uid_t uid, char *out,
	    size_t outlen, char *why, size_t whylen);

#endif
