/*
 * proto.h: the table of every message a daemon may be sent, by link.
 * Types are unique across the system so that a frame sent down the wrong
 * link is refused by the receiver's rules rather than misread.
 */
#ifndef BULWARK_PROTO_H
#define BULWARK_PROTO_H

enum proc_kind {
	PROC_MASTER,
	PROC_SMTPD,
	PROC_QMGR,
	PROC_LOOKUP,
	PROC_LOCAL,
	PROC_KIND_MAX,
};

const char	*proc_kind_name(enum proc_kind);

/* master <-> every child: the control link (fd 3 of every child) */
enum {
	CTL_CONFIG = 1,		/* m->c fd: sealed memfd with the text;
				   u32 generation */
	CTL_LISTENER,		/* m->c fd: listening socket; u32 kind,
				   str "host:port" */
	CTL_LINK,		/* m->c fd: socket to a peer; u32 peer kind,
				   u32 peer instance */
	CTL_START,		/* m->c: set-up done, drop privileges */
	CTL_RETIRE,		/* m->c: stop accepting, exit when idle */
	CTL_READY,		/* c->m: privileges dropped, serving;
				   u32 pid */
	CTL_BADPEER,		/* c->m: u32 id of a peer that sent a bad
				   frame; the master ends it */
};

/* CTL_LISTENER kinds of the public Unix sockets in SPOOL/public/
 * (master/public.c), after the TCP ones of enum listener_kind */
enum {
	CTL_LISTEN_CONTROL = 100,	/* public/control, for qmgr */
	CTL_LISTEN_SUBMIT,		/* public/submit, for smtpd: sendmail
					   speaks SMTP there as its uid */
};

/* smtpd|deliver-local|qmgr -> lookup and back */
enum {
	LK_RCPT = 100,		/* u32 id, u32 flags, str address */
	LK_RCPT_REPLY,		/* u32 id, u32 status, str dsn, str text */
	LK_USER,		/* u32 id, str local part */
	LK_USER_REPLY,		/* u32 id, u32 status, u32 uid, u32 gid,
				   str user, str home */
	LK_EXPAND,		/* u32 id, str address: what does it
				   expand to (aliases, virtual, users)? */
	LK_EXPAND_REPLY,	/* u32 id, u32 status, str dsn, str text,
				   u32 count, then count times: u32 kind
				   (LKD_*), u32 uid, u32 gid, str user,
				   str home, str detail, str arg; no
				   destinations unless status is LK_OK */
	LK_EXPAND_FORWARD,	/* u32 id, u32 uid, str user, str targets:
				   what does the ~/.forward of user (read
				   by deliver-local as the user, in alias
				   syntax) expand to? LK_EXPAND_REPLY */
	/* smtpd only; from 120 so that the list above can grow */
	LK_AUTH = 120,		/* u32 id, str client address, str login,
				   str password */
	LK_AUTH_REPLY,		/* u32 id, u32 status (LK_OK, LK_AUTH_*,
				   LK_TEMPFAIL) */
	LK_SENDER,		/* u32 id, str login, str sender: may the
				   login use the sender address? */
	LK_SENDER_REPLY,	/* u32 id, u32 status (LK_OK,
				   LK_SENDER_DENIED, LK_TEMPFAIL) */
	LK_UID,			/* u32 id, u32 uid: the local user's name
				   (the sendmail socket's peer) */
	LK_UID_REPLY,		/* u32 id, u32 status (LK_OK, LK_NOUSER,
				   LK_TEMPFAIL), str name */
	LK_CONNECT,		/* u32 id, u32 flags (LK_F_TRUSTED: no
				   per-address limit), str client address:
				   may it have one more session? Counted if
				   LK_OK. */
	LK_CONNECT_REPLY,	/* u32 id, u32 status (LK_OK, LK_CONN_TOTAL,
				   LK_CONN_CLIENT, LK_TEMPFAIL), str client
				   address (a session gone meanwhile gives
				   its count back by it) */
	LK_DISCONNECT,		/* str client address: a session counted
				   on this link ended; no answer */
};

#define LK_F_TRUSTED	0x1	/* client is in trusted-networks */
#define LK_F_AUTH	0x2	/* client authenticated */

enum lk_status {
	LK_OK,
	LK_NOUSER,		/* 550 5.1.1 */
	LK_RELAY_DENIED,	/* 554 5.7.1 */
	LK_TEMPFAIL,		/* 451 4.3.0 */
	LK_BAD_ADDRESS,		/* 553 5.1.3 */
	LK_PERMFAIL,		/* 5.x.x as the reply's dsn says (a loop) */
	LK_AUTH_FAILED = 20,	/* 535 5.7.8 */
	LK_AUTH_THROTTLED,	/* 454 4.7.0: too many failures lately */
	LK_SENDER_DENIED,	/* 553 5.7.1 */
	LK_CONN_TOTAL = 30,	/* 421 4.7.0: connection-limit */
	LK_CONN_CLIENT,		/* 421 4.7.0: connection-limit-per-ip */
};

/* The destinations of an LK_EXPAND_REPLY. uid, gid, user and home are
 * whose rights the delivery runs with; arg is what the kind says. */
enum lk_dest_kind {
	LKD_USER,		/* the user's mailbox; detail: +detail */
	LKD_FILE,		/* arg: /path (append), or /path/ (Maildir) */
	LKD_PIPE,		/* arg: the command for /bin/sh -c */
	LKD_MAILDIR,		/* arg: /path/ of a virtual Maildir */
	LKD_FORWARD,		/* arg: a non-local address */
	LKD_NOUSER,		/* arg: a name that is no one (5.1.1) */
	LKD_INBOX,		/* as LKD_USER, but no .forward (\user) */
	LKD_KIND_MAX,
};

/* smtpd -> qmgr and back: the only way a message enters the queue.
 * QM_RCPT frames of one message precede its QM_COMMIT on the same link;
 * qmgr checks their count against the commit's. */
enum {
	QM_OPEN = 200,		/* u32 id */
	QM_OPEN_OK,		/* q->s fd: message file, write-only;
				   u32 id, str qid */
	QM_OPEN_FAIL,		/* u32 id, str reason */
	QM_RCPT,		/* u32 id, str qid, str addr, str orcpt,
				   u32 notify (QM_NOTIFY_*) */
	QM_COMMIT,		/* u32 id, str qid, str sender, str client
				   address, str client name, str helo,
				   str auth id, u32 body (QM_BODY_*), u32
				   flags (QM_F_*), u32 ret (QM_RET_*), str
				   envid, u64 size, u32 nrcpt */
	QM_COMMIT_OK,		/* u32 id, str qid */
	QM_COMMIT_FAIL,		/* u32 id, str qid, str reason */
	QM_ABORT,		/* str qid: discard an uncommitted file */
};

#define QM_NOTIFY_SUCCESS	0x1
#define QM_NOTIFY_FAILURE	0x2
#define QM_NOTIFY_DELAY		0x4
#define QM_NOTIFY_NEVER		0x8	/* 0: not given (default rules) */

enum { QM_BODY_7BIT, QM_BODY_8BITMIME, QM_BODY_BINARYMIME };
enum { QM_RET_NONE, QM_RET_FULL, QM_RET_HDRS };
#define QM_F_SMTPUTF8		0x1

#define QM_QID_MAX		32
#define QM_ADDR_MAX		512

/* qmgr -> deliver-local and back: one recipient per delivery */
enum {
	DL_DELIVER = 300,	/* q->d fd: message, read-only; u32 id,
				   str qid, str sender, str rcpt, str orcpt,
				   u32 flags (DL_F_*) */
	DL_RESULT,		/* u32 id, u32 status (DL_*), str dsn
				   ("2.0.0"), str text */
};

/* An earlier try of this recipient may have been delivered without its
 * answer reaching the queue (qmgr restarted, the agent went away or did
 * not answer in time): the agent looks for its copy harder. */
#define DL_F_RETRY		0x1

enum dl_status {
	DL_OK,
	DL_TEMPFAIL,
	DL_PERMFAIL,
};

/* bulwarkctl|mailq -> qmgr over SPOOL/public/control, and back
 * (common/queuectl.h has the payloads). One request, then its one
 * reply; a client that asks again before its answer is dropped. Only
 * root may do more than CQ_IDENT and CQ_LIST, and a list for anyone
 * else holds only the messages whose sender is that user. */
enum {
	CQ_IDENT = 400,		/* str login: who a non-root client says it
				   is; qmgr checks it with lookup against
				   the peer's SO_PEERCRED uid */
	CQ_LIST,		/* str after (queue id, "" from the start),
				   str match ("" for all) */
	CQ_SHOW,		/* str qid */
	CQ_FLUSH,		/* str qid, "" for every message */
	CQ_HOLD,		/* str qid */
	CQ_RELEASE,		/* str qid */
	CQ_DELETE,		/* str qid */
	CQ_COUNTERS,		/* (empty) */
	CQ_REQUEST_LAST = 449,	/* requests are 400..449 */
	CQ_OK = 450,		/* str text */
	CQ_ERROR,		/* u32 code (QCE_*), str text */
	CQ_LIST_REPLY,		/* u32 flags, str next, u32 count, then
				   count messages */
	CQ_SHOW_REPLY,		/* message, details, recipients, headers */
	CQ_COUNTERS_REPLY,	/* u32 count, count times str name, u64 */
};

#endif
