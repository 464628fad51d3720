/*
 * local.c: bulwark-local, the local delivery agent. It keeps root only to
 * fork one child per delivery that becomes the recipient before it opens
 * anything of the recipient's.
 */
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
#include "link.h"
#include "log.h"

static const struct ipc_rule local_rules[] = {
	{ 0, 0, 0, 0 },
};

static void
local_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
}

static void
local_link(enum proc_kind peer, uint32_t id, int fd)
{
	if (peer != PROC_QMGR && peer != PROC_LOOKUP) {
		log_warnx("unexpected link from %s", proc_kind_name(peer));
		close(fd);
		return;
	}
	link_add(peer, id, fd, local_rules, local_dispatch, NULL);
}

static const struct daemon_ops local_ops = {
	.kind = PROC_LOCAL,
	.user = NULL,
	.link = local_link,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &local_ops);
}
