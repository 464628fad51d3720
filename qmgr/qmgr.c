/*
 * qmgr.c: bulwark-qmgr, owner of the queue. Chrooted into the spool's
 * queue directory as _bulwarkq; it alone creates, commits and removes
 * queue files, and hands deliveries to the agents.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "privsep.h"

#define QMGR_LOCK_WAIT_SEC	10

static char	queue_root[4200];

static const char *
qmgr_chroot(const struct config *cfg)
{
	return queue_root;
}

/* One qmgr per spool, even for the instant when a restarted master has
 * started a new one while the old is still exiting. */
static void
qmgr_lock(void)
{
	char	path[4300];
	int	fd, i;

	snprintf(path, sizeof(path), "%s/lock", queue_root);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		fatal("open %s", path);
	for (i = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; i++) {
		if (errno != EWOULDBLOCK || i >= QMGR_LOCK_WAIT_SEC * 10)
			fatal("lock %s", path);
		usleep(100000);
	}
	/* kept open: the lock lasts as long as this process */
}

static void
qmgr_setup(struct config *cfg)
{
	snprintf(queue_root, sizeof(queue_root), "%s/queue", cfg->spool_dir);
	qmgr_lock();
}

static const struct ipc_rule qmgr_rules[] = {
	{ 0, 0, 0, 0 },
};

static void
qmgr_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
}

static void
qmgr_link(enum proc_kind peer, uint32_t id, int fd)
{
	switch (peer) {
	case PROC_SMTPD:
	case PROC_LOCAL:
	case PROC_LOOKUP:
		link_add(peer, id, fd, qmgr_rules, qmgr_dispatch, NULL);
		break;
	default:
		log_warnx("unexpected link from %s", proc_kind_name(peer));
		close(fd);
	}
}

static const struct daemon_ops qmgr_ops = {
	.kind = PROC_QMGR,
	.user = BULWARK_USER_QMGR,
	.chroot_dir = qmgr_chroot,
	.setup = qmgr_setup,
	.link = qmgr_link,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &qmgr_ops);
}
