/*
 * ctl_client.h: bulwarkctl's side of the queue control socket
 * (SPOOL/public/control): connect, one request and its answer at a time,
 * and the printing of what the answers say (ctl_print.c). Every failure
 * is reported on stderr once and returned as a sysexits.h code.
 */
#ifndef BULWARK_CTL_CLIENT_H
#define BULWARK_CTL_CLIENT_H

#include <stdint.h>
#include <stdio.h>

#include "ipc.h"
#include "queuectl.h"
#include "wire.h"

#define CTL_TIMEOUT_SEC	30	/* qmgr answers each request within */

extern const char	*ctl_progname;

/* Connects to SPOOL/public/control; the socket, or -sysexit. */
int	ctl_connect(const char *spool_dir);
/* Sends one request, reads its answer into *reply (valid until the next
 * call). 0, or a sysexits code after saying why on stderr; an error
 * answer (CQ_ERROR) is reported the same way. */
int	ctl_call(int sock, uint16_t type, const struct wire_w *req,
	    struct ipc_msg *reply);
/* For a list as someone other than root: say who we are (CQ_IDENT). */
int	ctl_ident(int sock);
/* A malformed answer: report it; returns EX_PROTOCOL. */
int	ctl_bad_answer(const char *what);

/* ctl_print.c */
enum ctl_list_style {
	CTL_LIST_QUEUE,		/* bulwarkctl queue: every state */
	CTL_LIST_MAILQ,		/* sendmail's mailq, as Postfix prints it */
};

struct ctl_list_totals {
	uint64_t	messages;
	uint64_t	bytes;
};

/* Print one page of a list answer; 0 or EX_PROTOCOL. */
int	ctl_print_list_page(FILE *, enum ctl_list_style, struct wire_r *,
	    uint32_t count, struct ctl_list_totals *);
void	ctl_print_list_end(FILE *, enum ctl_list_style,
	    const struct ctl_list_totals *);
int	ctl_print_show(FILE *, struct wire_r *);
int	ctl_print_counters(FILE *, struct wire_r *);
/* text without control characters (\t and \n kept if lines) */
void	ctl_print_safe(FILE *, const char *, int lines);

/* ctl_cmds.c: each prints what it got, 0 or a sysexits code */
int	ctl_list(int sock, enum ctl_list_style, const char *match);
/* one change of qid ("": every message, for a flush) */
int	ctl_change(int sock, uint16_t type, const char *qid);
/* bulwark.conf's spool directory; exits EX_CONFIG if it cannot */
const char *ctl_spool_of(const char *conf);
/* mailq, and a flush of the whole queue, from the configuration on */
int	ctl_mailq_main(const char *conf);
int	ctl_flush_main(const char *conf);

#endif
