/*
 * spare.c: emptied envelope files, kept in spare/ to hold the next
 * envelopes. A rename moves an inode without freeing it; an unlink
 * followed by a create frees one and asks for another. On ext4 without
 * a journal a create skips every inode of its block group freed in the
 * last one to six minutes, one inode table lookup each, so a busy queue
 * that freed two inodes a message spent most of qmgr's time in that
 * walk. Only qmgr ever opens an envelope, so an emptied one can serve
 * again; message files are never reused, as a delivery agent may still
 * hold one open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qmgr.h"

#define SPARE_MAX	1024	/* empty inodes kept; each costs nothing
				   but its directory entry */

static char	names[SPARE_MAX][QMGR_QID_LEN + 1];
static size_t	nspare;
static int	sparefd = -1;

void
spare_init(int fd)
{
	sparefd = fd;
	nspare = 0;
}

/* Empties spare/name; -1 (and it is gone) if that cannot be done. */
static int
spare_empty(const char *name)
{
	int	fd;

	fd = openat(sparefd, name, O_WRONLY | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1 || close(fd) == -1) {
		if (fd == -1)
			log_warn("queue: empty spare/%s", name);
		(void)unlinkat(sparefd, name, 0);
		return -1;
	}
	return 0;
}

int
spare_put(int dirfd, const char *name)
{
	if (sparefd == -1 || nspare == SPARE_MAX ||
	    strlen(name) > QMGR_QID_LEN)
		return unlinkat(dirfd, name, 0);
	if (renameat(dirfd, name, sparefd, name) == -1)
		return -1;
	if (spare_empty(name) == 0)
		strlcpy(names[nspare++], name, sizeof(names[0]));
	return 0;
}

int
spare_take(int dirfd, const char *name)
{
	const char	*from;
	int		 fd;

	while (nspare > 0) {
		from = names[--nspare];
		if (renameat(sparefd, from, dirfd, name) == -1) {
			log_warn("queue: reuse spare/%s", from);
			(void)unlinkat(sparefd, from, 0);
			continue;
		}
		fd = openat(dirfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW | O_NONBLOCK);
		if (fd != -1)
			return fd;
		log_warn("queue: open a reused envelope file");
		(void)unlinkat(dirfd, name, 0);
	}
	return -1;
}
