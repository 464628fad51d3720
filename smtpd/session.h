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
#include "dotscan.h"
#include "hdrscan.h"
#include "parse.h"
#include "proto.h"
#include "sasl.h"

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
#define SESSION_CLOSE_POLLS	1500	/* 30 s of 20 ms for a last reply */

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
	W_AUTH,			/* AUTH: lookup's verdict, or the delay
				   after a failure */
	W_SENDER,		/* MAIL: may this login use the sender? */
	W_LOCAL_USER,		/* local socket: who is the peer's uid? */
	W_CONNECT,		/* before the greeting: within the limits
				   of all workers? */
};

/* Where an AUTH exchange is (RFC 4954 §4). */
enum auth_step {
	AUTH_NONE,
	AUTH_PLAIN_WAIT,	/* 334 sent: the PLAIN message */
	AUTH_LOGIN_USER,	/* 334 Username: */
	AUTH_LOGIN_PASS,	/* 334 Password: */
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
	struct dot_scan	 dot;		/* DATA: where its end is */
	int		 prev_cr;	/* line-ending check across reads */
	int		 bad_newline;	/* a bare CR or LF was seen */
	int		 too_big;
	int		 write_error;
	/* submission: where the headers end, which ones are there */
	int		 add_headers;
	struct hdr_scan	 hdr;
	int64_t		 buf_pos;	/* message offset of buf[0] */
};

#define SESSION_ADDR_MAX	63	/* an address as text (lookup's
					   CONN_ADDR_MAX is no less) */

struct session {
	RB_ENTRY(session)	 entry;		/* by id */
	uint32_t		 id;
	int			 fd;
	struct bufferevent	*bev;
	struct event		*cmd_timer;	/* a whole command's deadline */
	struct sockaddr_storage	 ss;
	char			 addr[SESSION_ADDR_MAX + 1]; /* client, text */
	int			 listener_kind;
	int			 trusted;
	uint32_t		 conn_link;	/* the lookup asked to admit */
	int			 conn_counted;	/* and it counted us */
	enum session_state	 state;
	enum session_wait	 wait;
	int			 esmtp;
	int			 skipping;	/* discarding an over-long line */
	uint64_t		 discard;	/* octets of a refused chunk */
	unsigned		 errors;
	unsigned		 nontx;
	char			 helo[ADDRESS_DOMAIN_MAX + 1];

	/* TLS: on from the handshake's start; tls_info once it is done */
	int			 tls;
	char			 tls_info[128];
	char			 tls_log[96];	/* "TLSv1.3:cipher" */
	unsigned		 close_polls;

	/* AUTH; for the local socket, the peer's user */
	char			 login[SASL_LOGIN_MAX + 1];	/* "": none */
	char			 auth_mech[8];	/* "PLAIN", "LOGIN" */
	enum auth_step		 auth_step;
	char			 auth_user[SASL_LOGIN_MAX + 1];	/* LOGIN */
	struct event		*auth_timer;	/* the delay after a failure */
	int			 local;		/* the sendmail socket */
	uint32_t		 local_uid;
	int			 sender_any;	/* root, trusted-users */

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
/* lookup's answer to LK_CONNECT (LK_OK without one): greet or refuse */
void		 session_admitted(struct session *, uint32_t status);
void		 session_reset(struct session *);
/* Command phase: a whole command line must arrive within
 * command-timeout, however slowly it trickles. Data phase: each read
 * must come within data-timeout (RFC 5321 §4.5.3.2). */
void		 session_timeout_command(struct session *);
void		 session_timeout_data(struct session *);
struct session	*session_by_id(uint32_t);
void		 session_each(void (*)(struct session *, void *), void *);
/* After "220 Ready to start TLS": everything pipelined after STARTTLS
 * is dropped unread (RFC 3207 §4.2), and the session starts over. */
void		 session_starttls(struct session *);
/* Does the session need TLS, or authentication, for a transaction? */
const char	*session_submission_refusal(struct session *);

/* command.c */
void		 command_line(struct session *, const char *line, size_t len);
void		 command_rcpt_answer(struct session *, uint32_t status,
		    const char *dsn, const char *text);
void		 command_data_start(struct session *);
void		 command_sender_answer(struct session *, uint32_t status);
void		 command_local_user(struct session *, uint32_t status,
		    const char *name);

/* data.c */
int		 data_begin(struct session *);
/* consume message bytes from the input; 1 when the message ended */
int		 data_consume(struct session *);
void		 data_finish(struct session *);
void		 data_end(struct session *);
void		 data_commit_answer(struct session *, int ok,
		    const char *text);

/* auth.c */
int		 auth_init(struct session *);
int		 auth_offered(struct session *);
void		 auth_command(struct session *, struct smtp_cmd *);
void		 auth_line(struct session *, const char *line, size_t len);
void		 auth_answer(struct session *, uint32_t status);
void		 auth_clear(struct session *);

/* client.c */
int		 client_lookup_rcpt(struct session *, const char *addr);
int		 client_qmgr_open(struct session *);
int		 client_qmgr_commit(struct session *);
void		 client_qmgr_abort(struct session *);
int		 client_lookup_auth(struct session *, const char *login,
		    const char *password);
int		 client_lookup_sender(struct session *);
int		 client_lookup_uid(struct session *);
/* LK_CONNECT: lookup counts the sessions of all workers */
int		 client_lookup_connect(struct session *);
void		 client_lookup_disconnect(uint32_t link, const char *addr);

#endif
