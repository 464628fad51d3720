/*
 * master.c: bulwark, the supervisor. Reads and checks the configuration,
 * binds the listeners, prepares and locks the spool, starts every daemon
 * and restarts the ones that die; SIGHUP reloads, SIGTERM stops. It never
 * reads a byte from the network.
 */

#include <sys/socket.h>

#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "master.h"
#include "tls_ctx.h"

#define DEFAULT_CONFIG	"/etc/bulwark/bulwark.conf"

struct master_state	master;

static void
usage(void)
{
	fprintf(stderr, "usage: bulwark [-dDn] [-f file]\n");
	exit(1);
}

/* Loads every certificate and key once, as smtpd will: a key that does
 * not match its certificate, or a cipher list OpenSSL refuses, is an
 * error of "bulwark -n" and of a reload, not a worker that dies. */
static int
master_check_tls(const struct config *cfg, char *err, size_t errlen)
{
	struct tls_server	srv;

	if (tls_server_load(cfg, &srv, err, errlen) == -1)
		return -1;
	tls_server_free(&srv);
	return 0;
}

/* Reads the file once: the same bytes are parsed here and sent to every
 * daemon, so they cannot disagree about what the configuration says. */
static struct config *
master_read_config(const char *path, char **text, size_t *len, char *err,
    size_t errlen)
{
	struct config	*cfg;
	char		*buf;
	size_t		 off;

	if ((buf = config_read_file(path, &off, err, errlen)) == NULL)
		return NULL;
	if ((cfg = config_parse(buf, off, path, err, errlen)) == NULL ||
	    config_check_files(cfg, err, errlen) == -1 ||
	    master_check_tls(cfg, err, errlen) == -1) {
		config_free(cfg);
		free(buf);
		return NULL;
	}
	*text = buf;
	*len = off;
	return cfg;
}

static int
is_executable_dir(const char *dir)
{
	char	path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/bulwark-smtpd", dir);
	return access(path, X_OK) == 0;
}

/* The daemons live beside the master in a build tree, in the libexec
 * directory once installed, or where the configuration says. */
static void
master_find_daemons(void)
{
	char	self[PATH_MAX];
	ssize_t	n;

	if (master.cfg->daemon_dir != NULL) {
		strlcpy(master.daemon_dir, master.cfg->daemon_dir,
		    sizeof(master.daemon_dir));
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if (is_executable_dir(dirname(self))) {
			strlcpy(master.daemon_dir, self,
			    sizeof(master.daemon_dir));
			return;
		}
	}
	strlcpy(master.daemon_dir, BULWARK_LIBEXECDIR,
	    sizeof(master.daemon_dir));
}

static void
master_reload(void)
{
	struct listener_set	 set;
	struct config		*cfg;
	char			 err[CONFIG_ERR_MAX], *text;
	size_t			 len;

	log_info("reloading %s", master.cfg_name);
	cfg = master_read_config(master.cfg_name, &text, &len, err,
	    sizeof(err));
	if (cfg == NULL) {
		log_warnx("reload refused, keeping the running "
		    "configuration: %s", err);
		return;
	}
	if (strcmp(cfg->spool_dir, master.cfg->spool_dir) != 0)
		log_warnx("reload: spool-directory changes need a restart; "
		    "keeping %s", master.cfg->spool_dir);
	if (listeners_open(cfg, &master.listeners, &set, err,
	    sizeof(err)) == -1) {
		log_warnx("reload refused, keeping the running "
		    "configuration: %s", err);
		config_free(cfg);
		free(text);
		return;
	}
	free(cfg->spool_dir);
	if ((cfg->spool_dir = strdup(master.cfg->spool_dir)) == NULL)
		fatal("strdup");
	listeners_close(&master.listeners);
	master.listeners = set;
	config_free(master.cfg);
	free(master.cfg_text);
	master.cfg = cfg;
	master.cfg_text = text;
	master.cfg_len = len;
	master.generation++;
	children_reload();
	log_info("reloaded; configuration generation %u", master.generation);
}

static void
master_signal(evutil_socket_t sig, short ev, void *arg)
{
	switch (sig) {
	case SIGCHLD:
		children_reap();
		break;
	case SIGHUP:
		if (!master.stopping)
			master_reload();
		break;
	case SIGTERM:
	case SIGINT:
		if (!master.stopping) {
			log_info("stopping on signal %d", (int)sig);
			listeners_close(&master.listeners);
			public_close();
			children_stop_all();
		}
		break;
	}
}

static void
master_signals(void)
{
	static const int	 sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };
	struct event		*ev;
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		ev = evsignal_new(master.base, sigs[i], master_signal, NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("cannot watch signal %d", sigs[i]);
	}
}

static void
master_start(void)
{
	char	err[CONFIG_ERR_MAX];
	int	lock;

	if (geteuid() != 0)
		fatalx("bulwark must be started as root");
	if (spool_prepare(master.cfg) == -1)
		fatalx("cannot prepare the spool %s", master.cfg->spool_dir);
	if ((lock = spool_lock(master.cfg)) == -1)
		exit(1);
	if (listeners_open(master.cfg, NULL, &master.listeners, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	/* after the lock: a refused second master leaves them alone */
	if (public_init(master.cfg) == -1 ||
	    public_open("control", SOCK_SEQPACKET, 0666, PROC_QMGR,
	    CTL_LISTEN_CONTROL) == -1 ||
	    public_open("submit", SOCK_STREAM, 0666, PROC_SMTPD,
	    CTL_LISTEN_SUBMIT) == -1)
		fatalx("cannot bind the public sockets in %s/public",
		    master.cfg->spool_dir);
	if (!master.foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		spool_write_pid(lock);
	}
	master_find_daemons();
	if ((master.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	master_signals();
	log_info("bulwark %s starting: %zu listeners, daemons from %s",
	    BULWARK_VERSION, master.listeners.n, master.daemon_dir);
	children_start_all();
}

int
main(int argc, char **argv)
{
	const char	*path = DEFAULT_CONFIG;
	char		 err[CONFIG_ERR_MAX];
	int		 ch, check_only = 0;

	while ((ch = getopt(argc, argv, "dDf:n")) != -1) {
		switch (ch) {
		case 'd':
			master.foreground = 1;
			break;
		case 'D':
			master.debug = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("bulwark/master", master.foreground || check_only);
	log_set_debug(master.debug);
	strlcpy(master.cfg_name, path, sizeof(master.cfg_name));
	master.cfg = master_read_config(path, &master.cfg_text,
	    &master.cfg_len, err, sizeof(err));
	if (master.cfg == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check_only) {
		fprintf(stderr, "%s: configuration ok\n", path);
		return 0;
	}
	master_start();
	event_base_dispatch(master.base);
	log_info("stopped");
	return 0;
}
