/*
 * forward.c: ~/.forward in the delivery child, which already is the
 * user: root never opens it (it may be a link to a file only root could
 * read). The file must be the user's and writable by no one else, else
 * it is ignored (the mailbox gets the mail); its lines are parsed with
 * the alias syntax (lookup/source.c, lookup/alias.c): one parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "fileio.h"
#include "forward.h"
#include "source.h"

struct forward_list {
	char	*out;
	size_t	 outlen;
	int	 n;
	char	*why;
	size_t	 whylen;
};

int
forward_check(const struct stat *st, uid_t uid, char *why, size_t len)
{
	const char	*r = NULL;

	if (!S_ISREG(st->st_mode))
		r = "not a regular file";
	else if (st->st_uid != uid)
		r = "not owned by the user";
	else if (st->st_mode & (S_IWGRP | S_IWOTH))
		r = "writable by group or others";
	else if (st->st_size > FORWARD_FILE_MAX)
		r = "too large";
	if (r == NULL)
		return 0;
	snprintf(why, len, "%s", r);
	return -1;
}

/* Each target of the file joins the canonical list. */
static int
forward_target(void *arg, enum alias_kind kind, const char *target)
{
	struct forward_list	*l = arg;

	if (kind == ALIAS_T_INCLUDE) {
		snprintf(l->why, l->whylen, ":include: is not allowed in a "
		    ".forward");
		return 1;
	}
	if (alias_append_kind(l->out, l->outlen, kind, target) == -1) {
		snprintf(l->why, l->whylen, "more than %zu bytes of targets",
		    l->outlen - 1);
		return 1;
	}
	l->n++;
	return 0;
}

int
forward_parse(const char *text, size_t len, char *out, size_t outlen,
    char *why, size_t whylen)
{
	struct forward_list	l = { out, outlen, 0, why, whylen };

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (source_include(FORWARD_NAME, text, len, forward_target, &l, why,
	    whylen) != 0)
		return -1;
	return l.n;
}

/* Opens it, following a link as the user would. */
static enum forward_rc
forward_open(const char *home, int *fd, char *why, size_t whylen)
{
	char	path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", home,
	    FORWARD_NAME) >= sizeof(path)) {
		snprintf(why, whylen, "home directory name too long");
		return FORWARD_IGNORED;
	}
	/* O_NONBLOCK: a FIFO must not hang us; the check refuses it */
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (*fd != -1)
		return FORWARD_FOUND;
	if (errno == ENOENT || errno == ENOTDIR)
		return FORWARD_NONE;
	snprintf(why, whylen, "%s: %s", path, strerror(errno));
	/* a link that goes nowhere the user may go is the user's mistake */
	return errno == EACCES || errno == ELOOP || errno == ENXIO ?
	    FORWARD_IGNORED : FORWARD_TEMPFAIL;
}

enum forward_rc
forward_read(const char *home, uid_t uid, char *out, size_t outlen,
    char *why, size_t whylen)
{
	static char	text[FORWARD_FILE_MAX];
	enum forward_rc	rc;
	struct stat	st;
	ssize_t		n = 0;
	int		fd, ntargets = 0;

	if ((rc = forward_open(home, &fd, why, whylen)) != FORWARD_FOUND)
		return rc;
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "fstat: %s", strerror(errno));
		rc = FORWARD_TEMPFAIL;
	} else if (forward_check(&st, uid, why, whylen) == -1)
		rc = FORWARD_IGNORED;
	else if ((n = file_read_start(fd, text, (size_t)st.st_size)) == -1) {
		snprintf(why, whylen, "read: %s", strerror(errno));
		rc = FORWARD_TEMPFAIL;
	} else if ((ntargets = forward_parse(text, (size_t)n, out, outlen, why,
	    whylen)) == -1)
		rc = FORWARD_IGNORED;
	else if (ntargets == 0)
		rc = FORWARD_NONE;
	close(fd);
	return rc;
}
