/*
 * daemon.c: the life of a daemon as the master runs it. Exec'd with the
 * control socket on fd 3, it reads its configuration, sockets and links
 * until START, takes its user and chroot, says READY, and then serves
 * until the master goes away or asks it to retire.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "privsep.h"
#include "wire.h"

struct event_base	*daemon_base;
struct config		*daemon_cfg;
uint32_t		 daemon_id;

static const struct daemon_ops	*ops;
static struct ipc_chan		*ctl;
static uint8_t			 ctl_buf[IPC_HDR_SIZE + IPC_MAX_PAYLOAD];

static const struct ipc_rule ctl_rules[] = {
	{ CTL_CONFIG, 4, 4 + 4 + 4096, IPC_FD_REQUIRED },
	{ CTL_LISTENER, 8, 8 + 128, IPC_FD_REQUIRED },
	{ CTL_LINK, 8, 8, IPC_FD_REQUIRED },
	{ CTL_START, 0, 0, IPC_FD_NONE },
	{ CTL_RETIRE, 0, 0, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

void
daemon_peer_name(char *buf, size_t len, enum proc_kind kind, uint32_t id)
{
	snprintf(buf, len, "%s#%u", proc_kind_name(kind), id);
}

static struct config *
daemon_read_config(struct ipc_msg *m)
{
	struct config	*cfg;
	struct wire_r	 r;
	char		 name[4096], err[CONFIG_ERR_MAX];

	wire_r_init(&r, m);
	(void)wire_r_u32(&r);		/* generation, for the log */
	wire_r_str(&r, name, sizeof(name));
	if (wire_r_end(&r) == -1) {
		log_warnx("control: malformed configuration frame");
		return NULL;
	}
	if ((cfg = config_load_fd(m->fd, name, err, sizeof(err))) == NULL)
		log_warnx("configuration refused: %s", err);
	return cfg;
}

/* Frames that may come both before and after START. */
static void
daemon_ctl_common(struct ipc_msg *m)
{
	struct wire_r	r;
	char		name[128];
	uint32_t	kind, id = 0;

	wire_r_init(&r, m);
	kind = wire_r_u32(&r);
	if (m->type == CTL_LISTENER)
		wire_r_str(&r, name, sizeof(name));
	else
		id = wire_r_u32(&r);
	if (wire_r_end(&r) == -1 ||
	    (m->type == CTL_LINK && kind >= PROC_KIND_MAX)) {
		log_warnx("control: malformed frame %u", m->type);
		close(m->fd);
		return;
	}
	if (m->type == CTL_LISTENER && ops->listener != NULL)
		ops->listener(m->fd, (int)kind, name);
	else if (m->type == CTL_LINK && ops->link != NULL)
		ops->link((enum proc_kind)kind, id, m->fd);
	else
		close(m->fd);
}

static void
daemon_ctl_dispatch(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	struct config	*cfg, *old;

	switch (m->type) {
	case CTL_CONFIG:
		cfg = daemon_read_config(m);
		close(m->fd);
		if (cfg == NULL)
			return;
		old = daemon_cfg;
		daemon_cfg = cfg;
		if (ops->reconfigure != NULL)
			ops->reconfigure(cfg, old);
		config_free(old);
		log_info("configuration reloaded");
		break;
	case CTL_LISTENER:
	case CTL_LINK:
		daemon_ctl_common(m);
		break;
	case CTL_RETIRE:
		if (ops->retire == NULL)
			exit(0);
		ops->retire();
		break;
	default:
		log_warnx("control: unexpected frame %u after start", m->type);
		break;
	}
}

static void
daemon_ctl_closed(struct ipc_chan *c, const char *why, void *arg)
{
	log_info("master went away (%s); exiting", why);
	exit(0);
}

/* Before START the conversation is synchronous: nothing else runs yet. */
static void
daemon_setup_phase(void)
{
	struct ipc_msg	 m;
	const char	*why;

	for (;;) {
		if (ipc_recv_blocking(DAEMON_CTL_FD, ctl_rules, ctl_buf,
		    sizeof(ctl_buf), &m, &why) == -1)
			fatalx("control: %s before start", why);
		switch (m.type) {
		case CTL_CONFIG:
			config_free(daemon_cfg);
			daemon_cfg = daemon_read_config(&m);
			close(m.fd);
			if (daemon_cfg == NULL)
				fatalx("no usable configuration");
			break;
		case CTL_START:
			if (daemon_cfg == NULL)
				fatalx("control: start without configuration");
			return;
		case CTL_LISTENER:
		case CTL_LINK:
			daemon_ctl_common(&m);
			break;
		default:
			fatalx("control: frame %u before start", m.type);
		}
	}
}

/* Control frames after start carry one number: a pid or a peer's id. */
static void
daemon_ctl_send_u32(uint16_t type, uint32_t v)
{
	static struct wire_w	w;

	wire_w_init(&w);
	wire_w_u32(&w, v);
	if (ipc_send(ctl, type, w.buf, w.len, -1) == -1 && type == CTL_READY)
		fatalx("control: cannot say ready");
}

void
daemon_report_bad_peer(uint32_t id)
{
	if (ctl != NULL)
		daemon_ctl_send_u32(CTL_BADPEER, id);
}

static void
daemon_args(int argc, char **argv, int *foreground, int *debug)
{
	const char	*errstr;
	int		 ch;

	while ((ch = getopt(argc, argv, "DFi:")) != -1) {
		switch (ch) {
		case 'D':
			*debug = 1;
			break;
		case 'F':
			*foreground = 1;
			break;
		case 'i':
			daemon_id = (uint32_t)strtonum(optarg, 0, UINT32_MAX,
			    &errstr);
			if (errstr != NULL)
				fatalx("bad -i %s", optarg);
			break;
		default:
			fatalx("usage: %s [-DF] [-i id] (run by bulwark)",
			    argv[0]);
		}
	}
}

int
daemon_main(int argc, char **argv, const struct daemon_ops *dops)
{
	char	ident[32];
	int	foreground = 0, debug = 0;

	ops = dops;
	daemon_args(argc, argv, &foreground, &debug);
	snprintf(ident, sizeof(ident), "bulwark/%s", proc_kind_name(ops->kind));
	log_init(ident, foreground);
	log_set_debug(debug);
	/* the master decides when a daemon stops; a terminal's ^C or
	 * hang-up is for the master alone */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((daemon_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");

	daemon_setup_phase();
	if (ops->setup != NULL)
		ops->setup(daemon_cfg);
	if (ops->user != NULL)
		privsep_drop(ops->user, ops->chroot_dir == NULL ? NULL :
		    ops->chroot_dir(daemon_cfg), ops->group == NULL ? NULL :
		    ops->group(daemon_cfg));

	ctl = ipc_chan_new(daemon_base, DAEMON_CTL_FD, "master", ctl_rules,
	    daemon_ctl_dispatch, daemon_ctl_closed, NULL);
	if (ctl == NULL)
		fatalx("control channel");
	daemon_ctl_send_u32(CTL_READY, (uint32_t)getpid());
	if (ops->start != NULL)
		ops->start();
	log_debug("serving");
	event_base_dispatch(daemon_base);
	return 0;
}
