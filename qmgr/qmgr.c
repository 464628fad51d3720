/*
 * qmgr.c: bulwark-qmgr, owner of the queue. Chrooted into the spool's
 * queue directory as _bulwarkq; it alone creates, commits and removes
 * queue files, and hands deliveries to the agents. This file is the
 * process: start-up, recovery, its links, and retirement.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "privsep.h"
#include "qmgr.h"

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

/* lookup answers the control socket's questions about logins, and
 * the pickup's about the maildrop's owners and their senders */
static const struct ipc_rule lookup_rules[] = {
	{ LK_USER_REPLY, 24, IPC_MAX_PAYLOAD, IPC_FD_NONE },
	{ LK_UID_REPLY, 12, 12 + 255, IPC_FD_NONE },
	{ LK_SENDER_REPLY, 8, 8, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

int	qmgr_retiring;
int64_t	qmgr_started;

static void
qmgr_lookup_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	if (m->type == LK_USER_REPLY && control_lookup_reply(m) == 0)
		return;
	if ((m->type == LK_UID_REPLY || m->type == LK_SENDER_REPLY) &&
	    pickup_lookup_reply(m) == 0)
		return;
	link_drop(arg, "malformed reply");
}

/* The master's public sockets: for qmgr, the control socket. */
static void
qmgr_listener(int fd, int kind, const char *name)
{
	if (kind == CTL_LISTEN_CONTROL)
		control_listen(fd);
	else {
		log_warnx("unexpected listener %s", name);
		close(fd);
	}
}

static void
qmgr_link(enum proc_kind peer, uint32_t id, int fd)
{
	switch (peer) {
	case PROC_SMTPD:
		smtpd_link_add(id, fd);
		break;
	case PROC_LOCAL:
		sched_local_link(id, fd);
		break;
	case PROC_LOOKUP:
		/* link_add logs its own failure */
		(void)link_add(peer, id, fd, lookup_rules,
		    qmgr_lookup_dispatch, NULL);
		break;
	default:
		log_warnx("unexpected link from %s", proc_kind_name(peer));
		close(fd);
	}
}

/* In the chroot, as _bulwarkq: make the tree, then recover the queue. */
static void
qmgr_start(void)
{
	long	n;

	if (queue_init() == -1)
		fatalx("queue: cannot set up the queue directory");
	qmgr_started = sched_now();
	/* without it, commits are made in the event loop: slower, as sure */
	(void)syncer_init();
	sched_init();
	if ((n = queue_recover(sched_recovered)) == -1)
		fatalx("queue: cannot scan the queue directory");
	log_info("queue: %ld messages recovered, retry %u-%us, lifetime %us",
	    n, sched_retry_min(), sched_retry_max(), sched_lifetime());
	pickup_init();
}

static void
qmgr_reconfigure(struct config *cfg, struct config *old)
{
	sched_kick();
}

/* Nothing is lost by exiting at any time; waiting for the work in
 * flight only spares deliveries and sessions a retry. */
void
qmgr_idle_check(void)
{
	if (!qmgr_retiring || sched_inflight() > 0 ||
	    smtpd_link_open_count() > 0)
		return;
	log_info("retired: idle");
	exit(0);
}

static void
qmgr_retire(void)
{
	log_info("retiring: no new messages or deliveries");
	qmgr_retiring = 1;
	qmgr_idle_check();
}

static const struct daemon_ops qmgr_ops = {
	.kind = PROC_QMGR,
	.user = BULWARK_USER_QMGR,
	.chroot_dir = qmgr_chroot,
	.setup = qmgr_setup,
	.start = qmgr_start,
	.listener = qmgr_listener,
	.link = qmgr_link,
	.reconfigure = qmgr_reconfigure,
	.retire = qmgr_retire,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &qmgr_ops);
}
