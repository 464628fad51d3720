/*
 * spool.c: the spool tree and the master's lock on it. The master makes
 * the tree it needs at every start, with the owners and modes the daemons
 * rely on, so that a new spool directory needs no hand set-up.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "privsep.h"

int
spool_dir(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat	st;

	if (mkdir(path, mode) == -1 && errno != EEXIST) {
		log_warn("spool: mkdir %s", path);
		return -1;
	}
	if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("spool: %s is not a directory", path);
		return -1;
	}
	if (chown(path, uid, gid) == -1 || chmod(path, mode) == -1) {
		log_warn("spool: set owner and mode of %s", path);
		return -1;
	}
	return 0;
}

/*
 * The maildrop must be where qmgr, chrooted into queue/, can read it, and
 * where the set-group-id sendmail can write but not list. So queue/ is
 * 0710 with the group _bulwarkdrop, which lets the group through to
 * queue/maildrop/ and nothing else (every other directory in queue/ is
 * 0700), and maildrop/ is 1730: the group may create files, not read the
 * directory, and remove only its own (sticky). Without the group (an
 * old set-up) both stay _bulwarkq's alone: only root's sendmail can
 * then leave mail while Bulwark is down.
 */
static int
spool_maildrop(const char *spool, uid_t quid, gid_t qgid)
{
	struct group	*gr;
	char		 path[4096];
	gid_t		 dgid = qgid;
	mode_t		 qmode = 0700, mmode = 0700;

	errno = 0;
	if ((gr = getgrnam(BULWARK_GROUP_DROP)) != NULL) {
		dgid = gr->gr_gid;
		qmode = 0710;
		mmode = 01730;
	} else
		log_warnx("spool: no group %s: sendmail cannot leave mail "
		    "while bulwark is down", BULWARK_GROUP_DROP);
	snprintf(path, sizeof(path), "%s/queue", spool);
	if (spool_dir(path, quid, dgid, qmode) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/queue/maildrop", spool);
	return spool_dir(path, quid, dgid, mmode);
}

int
spool_prepare(const struct config *cfg)
{
	char	path[4096];
	uid_t	quid;
	gid_t	qgid;

	privsep_user(BULWARK_USER_QMGR, &quid, &qgid);
	if (spool_dir(cfg->spool_dir, 0, 0, 0755) == -1)
		return -1;
	/* root-owned and unwritable: the chroot of smtpd */
	snprintf(path, sizeof(path), "%s/empty", cfg->spool_dir);
	if (spool_dir(path, 0, 0, 0555) == -1)
		return -1;
	return spool_maildrop(cfg->spool_dir, quid, qgid);
}

/* A lock, not just a pid file: a second master on the same spool would
 * run a second qmgr over the same queue. */
int
spool_lock(const struct config *cfg)
{
	char	path[4096], pid[32];
	int	fd;
	ssize_t	n;

	snprintf(path, sizeof(path), "%s/master.pid", cfg->spool_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		log_warn("open %s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_warnx("another bulwark master (pid %s) runs on %s",
		    pid[0] ? pid : "?", cfg->spool_dir);
		close(fd);
		return -1;
	}
	if (spool_write_pid(fd) == -1) {
		close(fd);
		return -1;
	}
	return fd;	/* kept open for the master's life */
}

int
spool_write_pid(int fd)
{
	char	pid[32];
	int	n;

	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n) {
		log_warn("write master.pid");
		return -1;
	}
	return 0;
}
