/*
 * public_sock.c: see public_sock.h. The callers say what a failure
 * means for them (sendmail falls back to the maildrop, bulwarkctl
 * tells the administrator to start bulwark).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "public_sock.h"

int
public_connect(const char *spool, const char *name, int type, char *path,
    size_t pathlen)
{
	struct sockaddr_un	sun;
	int			fd, n, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/public/%s",
	    spool, name);
	snprintf(path, pathlen, "%s/public/%s", spool, name);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
