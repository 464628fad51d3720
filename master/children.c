/*
 * children.c: starting, linking, restarting and stopping the daemons.
 * Every pair of daemons that talk gets a fresh socketpair whenever one of
 * them starts; the peer receives its end over its control socket, so no
 * daemon needs a path to another's socket.
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc.h"
#include "log.h"
#include "daemon.h"
#include "master.h"
#include "wire.h"

#define RESTART_MIN_MS		100
#define RESTART_MAX_MS		30000
#define RESTART_STABLE_SEC	10	/* up this long: a crash is not a loop */
#define STOP_GRACE_SEC		10

struct child {
	TAILQ_ENTRY(child)	 entry;
	enum proc_kind		 kind;
	unsigned		 slot;		/* smtpd worker number */
	uint32_t		 id;		/* unique per start */
	unsigned		 generation;
	pid_t			 pid;
	struct ipc_chan		*ctl;
	int			 retired;
	time_t			 started;
	unsigned		 backoff_ms;
	struct event		*restart_ev;
};

static TAILQ_HEAD(, child)	children = TAILQ_HEAD_INITIALIZER(children);
static uint32_t			next_id = 1;
static struct event		*stop_timer;
static struct wire_w		 ctl_w;	/* one control frame at a time */

static const struct ipc_rule master_rules[] = {
	{ CTL_READY, 4, 4, IPC_FD_NONE },
	{ CTL_BADPEER, 4, 4, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

/* Who talks to whom (DESIGN.md). */
static const enum proc_kind links[][2] = {
	{ PROC_SMTPD, PROC_QMGR },
	{ PROC_SMTPD, PROC_LOOKUP },
	{ PROC_QMGR, PROC_LOCAL },
	{ PROC_QMGR, PROC_LOOKUP },
	{ PROC_LOCAL, PROC_LOOKUP },
};

static const char *
child_binary(enum proc_kind k)
{
	switch (k) {
	case PROC_SMTPD:
		return "bulwark-smtpd";
	case PROC_QMGR:
		return "bulwark-qmgr";
	case PROC_LOOKUP:
		return "bulwark-lookup";
	case PROC_LOCAL:
		return "bulwark-local";
	default:
		return NULL;
	}
}

static int
linked(enum proc_kind a, enum proc_kind b)
{
	size_t	i;

	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if ((links[i][0] == a && links[i][1] == b) ||
		    (links[i][0] == b && links[i][1] == a))
			return 1;
	return 0;
}

static int
config_memfd(void)
{
	int	fd;

	fd = memfd_create("bulwark.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1)
		return -1;
	if (write(fd, master.cfg_text, master.cfg_len) !=
	    (ssize_t)master.cfg_len ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
child_send_config(struct child *c)
{
	int	fd;

	if ((fd = config_memfd()) == -1) {
		log_warn("configuration memfd");
		return -1;
	}
	wire_w_init(&ctl_w);
	wire_w_u32(&ctl_w, master.generation);
	wire_w_str(&ctl_w, master.cfg_name);
	return ipc_send(c->ctl, CTL_CONFIG, ctl_w.buf, ctl_w.len, fd);
}

static int
child_send_u32s(struct child *c, uint16_t type, uint32_t a, uint32_t b,
    const char *s, int fd)
{
	wire_w_init(&ctl_w);
	wire_w_u32(&ctl_w, a);
	if (s != NULL)
		wire_w_str(&ctl_w, s);
	else
		wire_w_u32(&ctl_w, b);
	return ipc_send(c->ctl, type, ctl_w.buf, ctl_w.len, fd);
}

static void
child_link(struct child *a, struct child *b)
{
	int	sv[2];

	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair for %s-%s", proc_kind_name(a->kind),
		    proc_kind_name(b->kind));
		return;
	}
	child_send_u32s(a, CTL_LINK, b->kind, b->id, NULL, sv[0]);
	child_send_u32s(b, CTL_LINK, a->kind, a->id, NULL, sv[1]);
}

static void
child_send_listeners(struct child *c)
{
	char	name[128];
	size_t	i;
	int	fd;

	for (i = 0; i < master.listeners.n; i++) {
		if ((fd = dup(master.listeners.v[i].fd)) == -1) {
			log_warn("dup listener");
			continue;
		}
		listener_name(&master.listeners.v[i].cfg, name, sizeof(name));
		child_send_u32s(c, CTL_LISTENER,
		    master.listeners.v[i].cfg.kind, 0, name, fd);
	}
}

/* The public sockets this kind serves (public.c). */
static void
child_send_public(struct child *c)
{
	const struct public_sock	*p;
	size_t				 i;
	int				 fd;

	for (i = 0; (p = public_get(i)) != NULL; i++) {
		if (p->kind != c->kind)
			continue;
		if ((fd = dup(p->fd)) == -1) {
			log_warn("dup %s", p->name);
			continue;
		}
		child_send_u32s(c, CTL_LISTENER, p->lkind, 0, p->name, fd);
	}
}

static void	child_dispatch(struct ipc_chan *, struct ipc_msg *, void *);
static void	child_closed(struct ipc_chan *, const char *, void *);

static void
child_exec(struct child *c, int sock)
{
	char		 path[4200], id[16];
	char		*argv[6];
	sigset_t	 none;
	int		 i = 0, null;

	if (sock == DAEMON_CTL_FD) {
		if (fcntl(sock, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(sock, DAEMON_CTL_FD) == -1)
		_exit(127);
	if ((null = open("/dev/null", O_RDONLY)) != -1) {
		dup2(null, STDIN_FILENO);
		if (null > STDERR_FILENO && null != DAEMON_CTL_FD)
			close(null);
	}
	closefrom(DAEMON_CTL_FD + 1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(path, sizeof(path), "%s/%s", master.daemon_dir,
	    child_binary(c->kind));
	snprintf(id, sizeof(id), "%u", c->id);
	argv[i++] = (char *)child_binary(c->kind);
	if (master.foreground)
		argv[i++] = "-F";
	if (master.debug)
		argv[i++] = "-D";
	argv[i++] = "-i";
	argv[i++] = id;
	argv[i] = NULL;
	execv(path, argv);
	log_warn("exec %s", path);
	_exit(127);
}

static int
child_spawn(struct child *c)
{
	struct child	*p;
	char		 peer[64];
	int		 sv[2];

	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	c->id = next_id++;
	c->generation = master.generation;
	if ((c->pid = fork()) == -1) {
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (c->pid == 0)
		child_exec(c, sv[1]);
	close(sv[1]);
	snprintf(peer, sizeof(peer), "%s[%d]", proc_kind_name(c->kind),
	    (int)c->pid);
	c->ctl = ipc_chan_new(master.base, sv[0], peer, master_rules,
	    child_dispatch, child_closed, c);
	if (c->ctl == NULL)
		fatalx("cannot watch %s", peer);
	c->started = time(NULL);
	child_send_config(c);
	if (c->kind == PROC_SMTPD)
		child_send_listeners(c);
	child_send_public(c);
	TAILQ_FOREACH(p, &children, entry)
		if (p != c && p->pid > 0 && p->ctl != NULL &&
		    linked(c->kind, p->kind))
			child_link(c, p);
	ipc_send(c->ctl, CTL_START, NULL, 0, -1);
	log_info("started %s[%d]", proc_kind_name(c->kind), (int)c->pid);
	return 0;
}

static void
child_restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct child	*c = arg;

	if (master.stopping)
		return;
	if (child_spawn(c) == -1) {
		struct timeval tv = { 1, 0 };
		evtimer_add(c->restart_ev, &tv);
	}
}

static struct child *
child_new(enum proc_kind kind, unsigned slot)
{
	struct child	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	c->kind = kind;
	c->slot = slot;
	c->restart_ev = evtimer_new(master.base, child_restart_cb, c);
	if (c->restart_ev == NULL)
		fatalx("evtimer_new");
	TAILQ_INSERT_TAIL(&children, c, entry);
	return c;
}

static void
child_free(struct child *c)
{
	TAILQ_REMOVE(&children, c, entry);
	event_free(c->restart_ev);
	ipc_chan_free(c->ctl);
	free(c);
}

static void
start_smtpd_generation(void)
{
	unsigned	i, n = config_smtpd_workers(master.cfg);

	for (i = 0; i < n; i++)
		child_spawn(child_new(PROC_SMTPD, i));
}

void
children_start_all(void)
{
	child_spawn(child_new(PROC_LOOKUP, 0));
	child_spawn(child_new(PROC_QMGR, 0));
	child_spawn(child_new(PROC_LOCAL, 0));
	start_smtpd_generation();
}

static void
child_dispatch(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct child	*c = arg, *p;
	struct wire_r	 r;
	uint32_t	 id;

	if (m->type == CTL_READY) {
		log_debug("%s[%d] ready", proc_kind_name(c->kind), (int)c->pid);
		return;
	}
	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	if (wire_r_end(&r) == -1)
		return;
	TAILQ_FOREACH(p, &children, entry)
		if (p->id == id && p->pid > 0 && linked(c->kind, p->kind))
			break;
	if (p == NULL)
		return;
	/* smtpd faces the Internet: if it is the one that was subverted,
	 * its word must not let it take the queue or lookup down. Its peers
	 * have already dropped the link; only reports about smtpd act. */
	if (c->kind == PROC_SMTPD) {
		log_warnx("%s[%d] reports that %s[%d] broke the protocol; "
		    "not acted on (reports from smtpd are not trusted)",
		    proc_kind_name(c->kind), (int)c->pid,
		    proc_kind_name(p->kind), (int)p->pid);
		return;
	}
	log_warnx("%s[%d] reports that %s[%d] broke the protocol; "
	    "restarting it", proc_kind_name(c->kind), (int)c->pid,
	    proc_kind_name(p->kind), (int)p->pid);
	kill(p->pid, SIGKILL);
}

static void
child_closed(struct ipc_chan *ch, const char *why, void *arg)
{
	struct child	*c = arg;

	/* A daemon that breaks the control protocol is not to be trusted
	 * with anything more, and one that closed its control socket is
	 * out of reach: end it either way; the reaper restarts it. A
	 * daemon that is exiting anyway is a zombie until reaped, so the
	 * signal cannot hit another process. */
	if (c->pid <= 0)
		return;
	if (strcmp(why, "eof") != 0)
		log_warnx("%s[%d]: bad control frame (%s); killing it",
		    proc_kind_name(c->kind), (int)c->pid, why);
	kill(c->pid, SIGKILL);
}

static void
child_describe_exit(struct child *c, int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
}

static void
child_died(struct child *c, int status)
{
	char		how[64];
	struct timeval	tv;
	time_t		up = time(NULL) - c->started;

	child_describe_exit(c, status, how, sizeof(how));
	ipc_chan_free(c->ctl);
	c->ctl = NULL;
	c->pid = 0;
	if (master.stopping || c->retired) {
		log_info("%s %s", proc_kind_name(c->kind), how);
		child_free(c);
		return;
	}
	if (up >= RESTART_STABLE_SEC || c->backoff_ms == 0)
		c->backoff_ms = RESTART_MIN_MS;
	else if ((c->backoff_ms *= 2) > RESTART_MAX_MS)
		c->backoff_ms = RESTART_MAX_MS;
	log_warnx("%s %s after %llds; restarting in %u.%03us",
	    proc_kind_name(c->kind), how, (long long)up,
	    c->backoff_ms / 1000, c->backoff_ms % 1000);
	tv.tv_sec = c->backoff_ms / 1000;
	tv.tv_usec = (c->backoff_ms % 1000) * 1000;
	evtimer_add(c->restart_ev, &tv);
}

void
children_reap(void)
{
	struct child	*c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(c, &children, entry)
			if (c->pid == pid)
				break;
		if (c != NULL)
			child_died(c, status);
	}
	if (master.stopping && TAILQ_EMPTY(&children))
		event_base_loopexit(master.base, NULL);
}

/* The new configuration is in master.cfg and master.listeners already.
 * Long-lived daemons take it in place; smtpd workers are replaced by a
 * new generation, and the old one finishes its sessions and exits. */
void
children_reload(void)
{
	struct child	*c, *next;

	TAILQ_FOREACH(c, &children, entry)
		if (c->pid > 0 && c->kind != PROC_SMTPD)
			child_send_config(c);
	TAILQ_FOREACH_SAFE(c, &children, entry, next) {
		if (c->kind != PROC_SMTPD || c->retired)
			continue;
		c->retired = 1;
		if (c->pid > 0)
			ipc_send(c->ctl, CTL_RETIRE, NULL, 0, -1);
		else
			child_free(c);	/* was waiting to restart */
	}
	start_smtpd_generation();
}

static void
stop_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct child	*c;

	TAILQ_FOREACH(c, &children, entry)
		if (c->pid > 0) {
			log_warnx("%s[%d] did not stop; killing it",
			    proc_kind_name(c->kind), (int)c->pid);
			kill(c->pid, SIGKILL);
		}
}

void
children_stop_all(void)
{
	struct child	*c, *next;
	struct timeval	 tv = { STOP_GRACE_SEC, 0 };

	master.stopping = 1;
	TAILQ_FOREACH_SAFE(c, &children, entry, next) {
		if (c->pid > 0)
			kill(c->pid, SIGTERM);
		else
			child_free(c);
	}
	if (TAILQ_EMPTY(&children)) {
		event_base_loopexit(master.base, NULL);
		return;
	}
	stop_timer = evtimer_new(master.base, stop_timeout_cb, NULL);
	if (stop_timer != NULL)
		evtimer_add(stop_timer, &tv);
}

int
children_running(void)
{
	struct child	*c;
	int		 n = 0;

	TAILQ_FOREACH(c, &children, entry)
		n += c->pid > 0;
	return n;
}
