/*
 * smtpd.c: bulwark-smtpd, the SMTP server process. Takes the listening
 * sockets and its links from the master, drops to _bulwark in an empty
 * chroot, and serves sessions on one event loop.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "privsep.h"
#include "smtpd.h"

struct smtpd_listener {
	struct evconnlistener	*lev;
	int			 kind;
	char			 name[128];
};

static struct smtpd_listener	listeners[CONFIG_MAX_LISTENERS];
static size_t			nlisteners;
static int			retiring;
unsigned			smtpd_workers = 1;
static char			empty_root[4200];

static void
smtpd_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct smtpd_listener	*l = arg;

	session_new(fd, sa, (socklen_t)salen, l->kind);
}

static void
smtpd_listener(int fd, int kind, const char *name)
{
	struct smtpd_listener	*l;

	if (nlisteners == CONFIG_MAX_LISTENERS) {
		close(fd);
		return;
	}
	l = &listeners[nlisteners];
	l->kind = kind;
	strlcpy(l->name, name, sizeof(l->name));
	l->lev = evconnlistener_new(daemon_base, smtpd_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l->lev == NULL) {
		log_warnx("cannot serve %s", name);
		close(fd);
		return;
	}
	nlisteners++;
}

/* Out of descriptors: stop accepting for a moment rather than spin. */
void
smtpd_pause_accept(int pause)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++) {
		if (pause)
			evconnlistener_disable(listeners[i].lev);
		else if (!retiring)
			evconnlistener_enable(listeners[i].lev);
	}
}

static void
smtpd_retire(void)
{
	size_t	i;

	retiring = 1;
	for (i = 0; i < nlisteners; i++)
		evconnlistener_free(listeners[i].lev);
	nlisteners = 0;
	log_info("retiring: %u sessions left", session_count());
	if (session_count() == 0)
		exit(0);
}

/* Called by the session code when a session ends. */
void
smtpd_session_ended(void)
{
	if (retiring && session_count() == 0) {
		log_info("retired");
		exit(0);
	}
}

static void
smtpd_link(enum proc_kind peer, uint32_t id, int fd)
{
	switch (peer) {
	case PROC_QMGR:
		link_add(peer, id, fd, smtpd_qmgr_rules, smtpd_qmgr_dispatch,
		    smtpd_qmgr_gone);
		break;
	case PROC_LOOKUP:
		link_add(peer, id, fd, smtpd_lookup_rules,
		    smtpd_lookup_dispatch, smtpd_lookup_gone);
		break;
	default:
		log_warnx("unexpected link from %s", proc_kind_name(peer));
		close(fd);
	}
}

static const char *
smtpd_chroot(const struct config *cfg)
{
	snprintf(empty_root, sizeof(empty_root), "%s/empty", cfg->spool_dir);
	return empty_root;
}

static void
smtpd_setup(struct config *cfg)
{
	tzset();	/* the zone file is out of reach in the chroot */
	/* counted once, as root: /sys is out of reach in the chroot too */
	smtpd_workers = config_smtpd_workers(cfg);
	smtpd_tls_setup(cfg);
}

static const struct daemon_ops smtpd_ops = {
	.kind = PROC_SMTPD,
	.user = BULWARK_USER_SMTPD,
	.chroot_dir = smtpd_chroot,
	.setup = smtpd_setup,
	.listener = smtpd_listener,
	.link = smtpd_link,
	.retire = smtpd_retire,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &smtpd_ops);
}
