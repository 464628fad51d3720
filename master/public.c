/*
 * public.c: the public Unix sockets in SPOOL/public/, the only sockets in
 * the file system (DESIGN.md). The master binds each one once, after it
 * holds the spool lock, keeps it across reloads like a TCP listener, and
 * hands a copy to every start of the daemon that serves it (CTL_LISTENER),
 * which checks each peer with SO_PEERCRED: a daemon in its chroot could
 * not bind a path out here, and would not be trusted to.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

#define PUBLIC_DIR	"public"
#define PUBLIC_MAX	8		/* sockets, all kinds together */
#define PUBLIC_BACKLOG	128

static struct public_sock	socks[PUBLIC_MAX];
static size_t			nsocks;
static char			public_dir[4096];

/* SPOOL/public/: root's, readable and searchable by all, so that any
 * user may reach a socket whose own mode lets them. */
int
public_init(const struct config *cfg)
{
	int	n;

	n = snprintf(public_dir, sizeof(public_dir), "%s/%s", cfg->spool_dir,
	    PUBLIC_DIR);
	if (n < 0 || (size_t)n >= sizeof(public_dir)) {
		log_warnx("public: spool path too long");
		return -1;
	}
	return spool_dir(public_dir, 0, 0, 0755);
}

/* A stale socket of an earlier master goes; anything else there is not
 * ours to remove (only root writes in public/, so it is a mistake). */
static int
public_unlink_stale(const char *path)
{
	struct stat	st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	return unlink(path);
}

/* Bound with an owner-only umask, so that no one can connect before the
 * mode is what the caller asked. */
static int
public_bind(const char *path, int type, mode_t mode)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (public_unlink_stale(path) == -1)
		return -1;
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1 || chmod(path, mode) == -1 ||
	    listen(fd, PUBLIC_BACKLOG) == -1) {
		rc = errno;
		close(fd);
		errno = rc;
		return -1;
	}
	return fd;
}

int
public_open(const char *name, int type, mode_t mode, enum proc_kind kind,
    uint32_t lkind)
{
	struct public_sock	*p;
	char			 path[4200];

	if (nsocks >= PUBLIC_MAX || strchr(name, '/') != NULL ||
	    strlen(name) >= sizeof(p->name)) {
		log_warnx("public: cannot add a socket named %s", name);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", public_dir, name);
	p = &socks[nsocks];
	if ((p->fd = public_bind(path, type, mode)) == -1) {
		log_warn("public: bind %s", path);
		return -1;
	}
	snprintf(p->name, sizeof(p->name), "%s/%s", PUBLIC_DIR, name);
	p->kind = kind;
	p->lkind = lkind;
	nsocks++;
	log_debug("public: %s (mode %04o) for %s", path, (unsigned)mode,
	    proc_kind_name(kind));
	return 0;
}

const struct public_sock *
public_get(size_t i)
{
	return i < nsocks ? &socks[i] : NULL;
}

/* At stop: the daemons keep their copies until they exit, but nobody
 * new should find a socket that no master stands behind. */
void
public_close(void)
{
	char	path[4200];
	size_t	i;

	for (i = 0; i < nsocks; i++) {
		snprintf(path, sizeof(path), "%s/%s", public_dir,
		    socks[i].name + sizeof(PUBLIC_DIR));
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("public: remove %s", path);
		close(socks[i].fd);
	}
	nsocks = 0;
}
