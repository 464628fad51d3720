/*
 * bulwarkctl.c: bulwarkctl(8), the administrator's command, and mailq(1)
 * when called by that name. It reads bulwark.conf only to find the spool,
 * and asks the queue manager over SPOOL/public/control: list the queue,
 * show, flush, hold, release or delete a message, print the counters.
 * "table" runs bulwark-table(8)'s code. Exit codes are sysexits(3).
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "ctl_client.h"
#include "table_tool.h"

#define DEFAULT_CONFIG	"/etc/bulwark/bulwark.conf"

static struct wire_w	req;

static void __attribute__((noreturn))
usage(int mailq)
{
	if (mailq)
		fprintf(stderr, "usage: mailq [-C bulwark.conf]\n");
	else
		fprintf(stderr,
		    "usage: bulwarkctl [-f bulwark.conf] command\n"
		    "  queue [TEXT]     list the queue (messages mentioning "
		    "TEXT)\n"
		    "  show ID          one message, its envelope and header\n"
		    "  flush [ID ...]   retry now (every message, or these)\n"
		    "  hold ID ...      keep from delivery\n"
		    "  release ID ...   deliver again\n"
		    "  delete ID ...    remove from the queue\n"
		    "  counters         messages and deliveries since start\n"
		    "  table build|get  see bulwark-table(8)\n");
	exit(EX_USAGE);
}

/* A request (with qid, or none) whose one answer is printed whole. */
static int
cmd_print(int sock, uint16_t type, const char *qid, uint16_t answer,
    int (*print)(FILE *, struct wire_r *))
{
	struct ipc_msg	m;
	struct wire_r	r;
	int		rc;

	wire_w_init(&req);
	if (qid != NULL)
		qc_str_write(&req, qid);
	if ((rc = ctl_call(sock, type, &req, &m)) != 0)
		return rc;
	if (m.type != answer)
		return ctl_bad_answer("unexpected answer");
	wire_r_init(&r, &m);
	return print(stdout, &r);
}

/* The queue ids of a command, each checked before any is sent. */
static int
check_qids(int argc, char **argv)
{
	int	i;

	for (i = 0; i < argc; i++)
		if (!qc_qid_ok(argv[i])) {
			fprintf(stderr, "%s: %s is not a queue id\n",
			    ctl_progname, argv[i]);
			return EX_USAGE;
		}
	return 0;
}

static int
cmd_changes(int sock, uint16_t type, int argc, char **argv)
{
	int	i, rc, first = 0;

	if ((rc = check_qids(argc, argv)) != 0)
		return rc;
	if (argc == 0)
		return ctl_change(sock, type, "");
	for (i = 0; i < argc; i++)
		if ((rc = ctl_change(sock, type, argv[i])) != 0 && first == 0)
			first = rc;
	return first;
}

static const struct {
	const char	*name;
	uint16_t	 type;
	int		 min;		/* queue ids at least */
} changes[] = {
	{ "flush", CQ_FLUSH, 0 },
	{ "hold", CQ_HOLD, 1 },
	{ "release", CQ_RELEASE, 1 },
	{ "delete", CQ_DELETE, 1 },
};

static int
run(int sock, const char *cmd, int argc, char **argv)
{
	size_t	i;

	if (strcmp(cmd, "queue") == 0 && argc <= 1)
		return ctl_list(sock, CTL_LIST_QUEUE, argc ? argv[0] : "");
	if (strcmp(cmd, "show") == 0 && argc == 1)
		return check_qids(1, argv) != 0 ? EX_USAGE : cmd_print(sock,
		    CQ_SHOW, argv[0], CQ_SHOW_REPLY, ctl_print_show);
	if (strcmp(cmd, "counters") == 0 && argc == 0)
		return cmd_print(sock, CQ_COUNTERS, NULL, CQ_COUNTERS_REPLY,
		    ctl_print_counters);
	for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
		if (strcmp(cmd, changes[i].name) == 0 &&
		    argc >= changes[i].min)
			return cmd_changes(sock, changes[i].type, argc, argv);
	usage(0);
}

int
main(int argc, char **argv)
{
	const char	*conf = DEFAULT_CONFIG;
	char		*base = basename(argv[0]);
	int		 ch, sock, rc, mailq = strcmp(base, "mailq") == 0;

	ctl_progname = mailq ? "mailq" : "bulwarkctl";
	while ((ch = getopt(argc, argv, mailq ? "C:f:v" : "+f:")) != -1) {
		switch (ch) {
		case 'C':
		case 'f':
			conf = optarg;
			break;
		case 'v':
			break;
		default:
			usage(mailq);
		}
	}
	argc -= optind;
	argv += optind;
	if (mailq ? argc != 0 : argc < 1)
		usage(mailq);
	/* bulwark-table's command line from its command on (argv[0]) */
	if (!mailq && strcmp(argv[0], "table") == 0)
		return table_tool_main(argc, argv);
	if ((sock = ctl_connect(ctl_spool_of(conf))) < 0)
		return -sock;
	if (mailq)
		rc = ctl_list(sock, CTL_LIST_MAILQ, "");
	else
		rc = run(sock, argv[0], argc - 1, argv + 1);
	close(sock);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror(ctl_progname);
		return EX_IOERR;
	}
	return rc;
}
