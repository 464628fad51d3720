/*
 * session.h: the state of one SMTP session, shared by the files that
 * drive it: session.c (I/O, limits, life), command.c (the commands),
 * data.c (DATA and BDAT into the queue file) and client.c (lookup and
 * qmgr requests).
 */
#ifndef BULWARK_SESSION_H
#define BULWARK_SESSION_H

#include <sys/socket.h>
#include <sys/tree.h>

#include <stdint.h>

#include "address.h"
#include "parse.h"
#include "proto.h"

struct bufferevent;

/* RFC 5321 §4.5.3.1.4 plus room for AUTH's initial response
 * (RFC 4954 §4: 12288 octets). */
#define SESSION_LINE_MAX	12288
#define SESSION_NONTX_MAX	100	/* commands without a transaction */
/* RFC 5321 §4.5.3.1.4 is 512 with CRLF; MAIL and RCPT grow with
 * SIZE, DSN (RFC 3461 §5: ORCPT 500, ENVID 100) and SMTPUTF8. */
#define SESSION_CMD_MAX		512
#define SESSION_MAILRCPT_MAX	2048
#define SESSION_DATA_BUF	(64 * 1024)

enum session_state {
	S_CONNECTED,		/* greeting sent, no HELO yet */
	S_HELO,			/* HELO/EHLO done, no transaction */
	S_MAIL,			/* MAIL accepted */
	S_RCPT,			/* at least one RCPT accepted */
	S_DATA,			/* reading DATA */
	S_BDAT,			/* reading a BDAT chunk */
	S_BDAT_WAIT,		/* between BDAT chunks */
	S_CLOSING,		/* flushing a last reply */
};

enum session_wait {
	W_NONE,
	W_LOOKUP,		/* RCPT: lookup's answer */
	W_OPEN,			/* DATA/BDAT: qmgr's queue file */
	W_COMMIT,		/* end of data: qmgr's commit */
};

struct rcpt {
	char		addr[ADDRESS_PATH_MAX + 1];
	char		orcpt[SMTP_ORCPT_MAX + 1];
	unsigned	notify;		/* QM_NOTIFY_* */
};

/* The bytes of a message on their way into the queue file. */
struct data_state {
	uint8_t		*buf;		/* SESSION_DATA_BUF */
	size_t		 len;
	uint64_t	 size;		/* bytes of message so far */
	uint64_t	 chunk_left;	/* BDAT */
	int		 last_chunk;	/* BDAT LAST seen */
	int		 st;		/* DATA end-of-data scanner state */
	int		 prev_cr;	/* line-ending check across reads */
	int		 bad_newline;	/* a bare CR or LF was seen */
	int		 too_big;
	int		 write_error;
};

struct session {
	RB_ENTRY(session)	 entry;		/* by id */
	uint32_t		 id;
	int			 fd;
	struct bufferevent	*bev;
	struct event		*cmd_timer;	/* a whole command's deadline */
	struct sockaddr_storage	 ss;
	char			 addr[64];	/* client address, text */
	int			 listener_kind;
	int			 trusted;
	enum session_state	 state;
	enum session_wait	 wait;
	int			 esmtp;
	int			 skipping;	/* discarding an over-long line */
	uint64_t		 discard;	/* octets of a refused chunk */
	unsigned		 errors;
	unsigned		 nontx;
	char			 helo[ADDRESS_DOMAIN_MAX + 1];

	/* the transaction */
	struct address		 sender;
	struct smtp_mail_params	 mail;
	struct rcpt		*rcpts;
	size_t			 nrcpts, rcpts_cap;
	unsigned		 rcpt_flags;	/* of the pending RCPT */
	struct rcpt		 pending;	/* RCPT waiting for lookup */
	int			 bdat_used;
	char			 qid[QM_QID_MAX + 1];
	int			 msgfd;
	uint32_t		 qmgr_id;	/* link that opened the file */
	struct data_state	 data;
	unsigned		 messages;	/* accepted in this session */
};

RB_HEAD(session_tree, session);
RB_PROTOTYPE(session_tree, session, entry, session_cmp)

/* session.c */
void		 session_reply(struct session *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 session_error(struct session *, int code, const char *enh,
		    const char *text);
void		 session_close(struct session *, const char *reason);
void		 session_resume(struct session *);
void		 session_reset(struct session *);
/* Command phase: a whole command line must arrive within
 * command-timeout, however slowly it trickles. Data phase: each read
 * must come within data-timeout (RFC 5321 §4.5.3.2). */
void		 session_timeout_command(struct session *);
void		 session_timeout_data(struct session *);
struct session	*session_by_id(uint32_t);
void		 session_each(void (*)(struct session *, void *), void *);

/* command.c */
void		 command_line(struct session *, const char *line, size_t len);
void		 command_rcpt_answer(struct session *, uint32_t status,
		    const char *dsn, const char *text);
void		 command_data_start(struct session *);

/* data.c */
int		 data_begin(struct session *);
/* consume message bytes from the input; 1 when the message ended */
int		 data_consume(struct session *);
void		 data_finish(struct session *);
void		 data_end(struct session *);
void		 data_commit_answer(struct session *, int ok,
		    const char *text);

/* client.c */
int		 client_lookup_rcpt(struct session *, const char *addr);
int		 client_qmgr_open(struct session *);
int		 client_qmgr_commit(struct session *);
void		 client_qmgr_abort(struct session *);

#endif
