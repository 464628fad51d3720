/*
 * ctl_cmds.c: the queue commands bulwarkctl(8) shares with sendmail(1)
 * and mailq(1): list the queue page by page, change one message (or all:
 * flush), find the spool in the configuration, and the whole of mailq
 * and of "bulwarkctl flush" for sendmail -bp and -q.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "ctl_client.h"

static struct wire_w	req;

/* Every page of the list, printed as it comes. */
int
ctl_list(int sock, enum ctl_list_style style, const char *match)
{
	struct ctl_list_totals	 t = { 0, 0 };
	struct ipc_msg		 m;
	struct wire_r		 r;
	char			 after[QM_QID_MAX + 1] = "";
	char			 prev[QM_QID_MAX + 1];
	uint32_t		 flags, count;
	int			 rc;

	if (getuid() != 0 && (rc = ctl_ident(sock)) != 0)
		return rc;
	do {
		wire_w_init(&req);
		qc_list_req_write(&req, after, match);
		if ((rc = ctl_call(sock, CQ_LIST, &req, &m)) != 0)
			return rc;
		if (m.type != CQ_LIST_REPLY)
			return ctl_bad_answer("list");
		wire_r_init(&r, &m);
		strlcpy(prev, after, sizeof(prev));
		/* queue ids sort as strings: each page must go on */
		if (qc_list_head_read(&r, &flags, after, &count) == -1 ||
		    ((flags & QC_LIST_MORE) && strcmp(after, prev) <= 0))
			return ctl_bad_answer("list");
		if ((rc = ctl_print_list_page(stdout, style, &r, count,
		    &t)) != 0)
			return rc;
	} while (flags & QC_LIST_MORE);
	ctl_print_list_end(stdout, style, &t);
	return 0;
}

/* One change of one message (or of all, qid ""): "QID: held". */
int
ctl_change(int sock, uint16_t type, const char *qid)
{
	struct ipc_msg	m;
	struct wire_r	r;
	char		text[QC_TEXT_MAX + 1];
	int		rc;

	wire_w_init(&req);
	qc_str_write(&req, qid);
	if ((rc = ctl_call(sock, type, &req, &m)) != 0)
		return rc;
	wire_r_init(&r, &m);
	if (m.type != CQ_OK || qc_str_read(&r, text, sizeof(text)) == -1 ||
	    wire_r_end(&r) == -1)
		return ctl_bad_answer("change");
	if (qid[0] != '\0')
		printf("%s: %s\n", qid, text);
	else
		printf("%s\n", text);
	return 0;
}

const char *
ctl_spool_of(const char *conf)
{
	struct config	*cf;
	char		 err[CONFIG_ERR_MAX];
	static char	 spool[4096];

	if ((cf = config_load(conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", ctl_progname, err);
		exit(EX_CONFIG);
	}
	strlcpy(spool, cf->spool_dir, sizeof(spool));
	config_free(cf);
	return spool;
}


/* Connect, run one command, and check that what it printed left. */
static int
ctl_once(const char *conf, int flush)
{
	int	sock, rc;

	if ((sock = ctl_connect(ctl_spool_of(conf))) < 0)
		return -sock;
	rc = flush ? ctl_change(sock, CQ_FLUSH, "") :
	    ctl_list(sock, CTL_LIST_MAILQ, "");
	close(sock);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror(ctl_progname);
		return EX_IOERR;
	}
	return rc;
}

int
ctl_mailq_main(const char *conf)
{
	return ctl_once(conf, 0);
}

int
ctl_flush_main(const char *conf)
{
	return ctl_once(conf, 1);
}
