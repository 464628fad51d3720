/*
 * queuectl.h: the payloads of the queue control protocol (CQ_* in
 * proto.h) between bulwarkctl/mailq and qmgr: one writer and one checking
 * reader for each, so that the two sides cannot disagree. Every reader
 * bounds every field and returns -1 on anything out of range.
 */
#ifndef BULWARK_QUEUECTL_H
#define BULWARK_QUEUECTL_H

#include <stdint.h>

#include "proto.h"
#include "wire.h"

struct config;

/* Named limits (bulwarkctl(8)). */
#define QC_REQUEST_MAX	1024		/* bytes of a request's payload */
#define QC_LOGIN_MAX	64		/* a login name */
#define QC_MATCH_MAX	256		/* a list's search text */
#define QC_TEXT_MAX	QM_ADDR_MAX	/* an address or a status text */
#define QC_DSN_MAX	15
#define QC_HEADERS_MAX	(16 * 1024)	/* header bytes shown */
#define QC_COUNTERS_MAX	32
#define QC_NAME_MAX	32		/* a counter's name */

/* A message's flags. */
#define QC_F_HELD	0x1		/* on hold: not scheduled */
#define QC_F_ACTIVE	0x2		/* a delivery is in flight */
#define QC_F_MASK	0x3

/* A list reply's flags. */
#define QC_LIST_MORE	0x1		/* ask again with after = next */

/* Why a request failed (CQ_ERROR); bulwarkctl maps them to sysexits. */
enum qc_error {
	QCE_BADREQ = 1,		/* malformed or unknown request */
	QCE_DENIED,		/* not for this user */
	QCE_NOTFOUND,		/* no such message */
	QCE_STATE,		/* not now: the message is on hold */
	QCE_TEMP,		/* busy or a daemon away: try again */
	QCE_IOERR,		/* the queue could not be changed */
	QCE_MAX = QCE_IOERR,
};

enum qc_state {
	QC_PENDING,
	QC_DELIVERED,
	QC_DEFERRED,
	QC_FAILED,
	QC_STATE_MAX = QC_FAILED,
};

/* One message as listed; its recipients follow on the wire. */
struct qc_msg {
	char		qid[QM_QID_MAX + 1];
	uint32_t	flags;		/* QC_F_* */
	int64_t		arrival;	/* unix seconds */
	uint64_t	size;
	char		sender[QC_TEXT_MAX + 1];	/* "" null sender */
	uint32_t	nrcpt;		/* recipients in the queue */
	uint32_t	count;		/* recipients that follow */
};

struct qc_rcpt {
	char		addr[QC_TEXT_MAX + 1];
	uint32_t	state;		/* enum qc_state */
	uint32_t	attempts;
	int64_t		next_try;	/* unix seconds */
	char		dsn[QC_DSN_MAX + 1];
	char		text[QC_TEXT_MAX + 1];
};

/* The rest of the envelope, for CQ_SHOW. */
struct qc_details {
	char		client_addr[QC_TEXT_MAX + 1];
	char		client_name[QC_TEXT_MAX + 1];
	char		helo[QC_TEXT_MAX + 1];
	char		auth[QC_TEXT_MAX + 1];
	char		envid[QC_TEXT_MAX + 1];
	uint32_t	body;		/* QM_BODY_* */
	uint32_t	ret;		/* QM_RET_* */
	uint32_t	smtputf8;	/* 0 or 1 */
};

const char	*qc_state_name(uint32_t);
/* 1 for a queue id as the protocol carries it: 1 to QM_QID_MAX
 * upper-case hex digits */
int		 qc_qid_ok(const char *);

/* 1 if sender is login's own address: login, login+detail (with the
 * configured delimiter), either bare or at a local domain or the host
 * name; letters in any case. What a non-root user may list. */
int		 qc_sender_is_user(const struct config *, const char *sender,
		    const char *login);
/* 1 for a login name as qmgr will ask lookup about it */
int		 qc_login_ok(const char *);

/* Requests. */
void	qc_str_write(struct wire_w *, const char *);
/* A request of one string no longer than max (CQ_IDENT, CQ_SHOW, ...) */
int	qc_str_read(struct wire_r *, char *dst, size_t dstlen);
void	qc_list_req_write(struct wire_w *, const char *after,
	    const char *match);
int	qc_list_req_read(struct wire_r *, char after[QM_QID_MAX + 1],
	    char match[QC_MATCH_MAX + 1]);

/* Replies. */
void	qc_error_write(struct wire_w *, enum qc_error, const char *text);
int	qc_error_read(struct wire_r *, uint32_t *code, char *text,
	    size_t textlen);
void	qc_list_head_write(struct wire_w *, uint32_t flags, const char *next,
	    uint32_t count);
int	qc_list_head_read(struct wire_r *, uint32_t *flags,
	    char next[QM_QID_MAX + 1], uint32_t *count);
void	qc_msg_write(struct wire_w *, const struct qc_msg *);
int	qc_msg_read(struct wire_r *, struct qc_msg *);
void	qc_rcpt_write(struct wire_w *, const struct qc_rcpt *);
int	qc_rcpt_read(struct wire_r *, struct qc_rcpt *);
void	qc_details_write(struct wire_w *, const struct qc_details *);
int	qc_details_read(struct wire_r *, struct qc_details *);
void	qc_counter_write(struct wire_w *, const char *name, uint64_t value);
int	qc_counter_read(struct wire_r *, char name[QC_NAME_MAX + 1],
	    uint64_t *value);
/* A count of items to follow, at most max (CQ_COUNTERS_REPLY, ...) */
int	qc_count_read(struct wire_r *, uint32_t max, uint32_t *n);

#endif
