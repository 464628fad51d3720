/*
 * local.h: the parts of bulwark-local and how they meet. local.c talks to
 * qmgr; resolve.c asks lookup what a recipient expands to; deliver.c runs
 * one child per destination; child.c is that child, which becomes the
 * owner and writes through maildir.c, mbox.c or pipe.c.
 */
#ifndef BULWARK_LOCAL_H
#define BULWARK_LOCAL_H

#include <sys/queue.h>
#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "proto.h"

/* Limits, each with the reason for its value. */
#define LOCAL_MAX_CHILDREN	20	/* deliveries writing at once */
#define LOCAL_MAX_PENDING	500	/* accepted, not answered yet; each
					   holds a descriptor (limit 1024) */
#define LOCAL_LOOKUP_TIMEOUT	30	/* s to wait for lookup's answer */
#define LOCAL_CHILD_TIMEOUT	600	/* s a child may take; then SIGTERM */
#define LOCAL_CHILD_GRACE	30	/* s after SIGTERM before SIGKILL */
#define LOCAL_MAX_RECEIVED	50	/* Received: headers before a loop */
#define MBOX_LOCK_WAIT		60	/* s to wait for the mailbox locks */
#define MBOX_DOTLOCK_STALE	300	/* s after which a dotlock is stale */

#define LOCAL_MAX_DESTS		1000	/* destinations of one recipient
					   (lookup's EXPAND_MAX_DESTS) */
#define LOCAL_FORWARD_DEPTH	10	/* .forward files one after another
					   (a -> b -> c ...) */
#define LOCAL_PIPE_TIMEOUT	300	/* s a command may run; below
					   LOCAL_CHILD_TIMEOUT */
#define LOCAL_PIPE_OUTPUT_MAX	8192	/* bytes of its output kept */
#define LOCAL_PIPE_PATH		"/usr/bin:/bin"

#define LOCAL_GROUPS_MAX	1024	/* a user's groups looked up before
					   the fork; more: the child asks */
#define LOCAL_NAME_MAX		256	/* user name */
#define LOCAL_DETAIL_MAX	128	/* +detail */
#define LOCAL_FOLDER_MAX	64	/* +detail as a Maildir folder */
#define LOCAL_ARG_MAX		1024	/* a path, command or address */
#define LOCAL_DSN_MAX		16
#define LOCAL_TEXT_MAX		256
#define LOCAL_MAILBOX_MAX	1024	/* path shown in the log */

/* The outcome of one delivery; also what a child writes to its parent
 * through a pipe, in one write(2) smaller than PIPE_BUF. A child that
 * found a ~/.forward instead says DL_OK and forward_len: that many bytes
 * (the canonical target list and its NUL) follow on the pipe. */
struct local_result {
	uint32_t	status;			/* DL_OK, DL_TEMPFAIL, ... */
	char		dsn[LOCAL_DSN_MAX];	/* "2.0.0" */
	char		text[LOCAL_TEXT_MAX];
	char		mailbox[LOCAL_MAILBOX_MAX];
	char		note[LOCAL_TEXT_MAX];	/* a warning for the log */
	uint32_t	forward_len;
};

struct local_user {
	uid_t	uid;
	gid_t	gid;
	char	name[LOCAL_NAME_MAX];
	char	home[PATH_MAX];
};

/* The groups a child takes with the user's ids, read by the parent:
 * a child that read the group database itself would load the NSS
 * modules anew each time (half its cost). n == -1: the child must. */
struct local_groups {
	int	n;
	gid_t	list[LOCAL_GROUPS_MAX];
};

/* Where a recipient's mail goes once lookup expanded it (aliases,
 * virtual entries, and the ~/.forward of each user reached, whose own
 * targets are added after it): one or more of these, each written with
 * the rights of the user named. */
enum local_dest_kind {
	DEST_MAILBOX,		/* the user's mailbox; detail: +detail */
	DEST_MAILDIR,		/* arg: /path/ of a virtual Maildir */
	DEST_FILE,		/* arg: /path appended, /path/ a Maildir */
	DEST_PIPE,		/* arg: a command for /bin/sh -c */
	DEST_FORWARD,		/* arg: a non-local address (not yet) */
	DEST_NOUSER,		/* arg: a name in a list that is no one */
};

struct local_dest {
	enum local_dest_kind	kind;
	struct local_user	user;
	char			detail[LOCAL_DETAIL_MAX];
	char			arg[LOCAL_ARG_MAX];
	int			parent;		/* index of the mailbox whose
						   .forward named it; -1 */
	int			noforward;	/* \user: no .forward */
	int			forwarded;	/* its .forward took the mail */
	int			delivered;	/* now or on an earlier try */
};

enum delivery_state {
	DS_NEW,			/* in no list yet, or in none any more */
	DS_RESOLVING,		/* waiting for lookup (resolve.c) */
	DS_QUEUED,		/* waiting for a child slot (deliver.c) */
	DS_RUNNING,		/* a child is writing (deliver.c) */
};

struct event;
struct ipc_msg;
struct link;

struct delivery {
	TAILQ_ENTRY(delivery)	 entry;		/* every delivery (local.c) */
	TAILQ_ENTRY(delivery)	 qentry;	/* the list of its state */
	enum delivery_state	 state;
	uint32_t		 qmgr;		/* link id of the asking qmgr */
	uint32_t		 id;		/* qmgr's request id */
	uint32_t		 seq;		/* ours, for unique names */
	uint32_t		 flags;		/* DL_F_*, from qmgr */
	int			 msgfd;		/* read-only message */
	char			 qid[QM_QID_MAX + 1];
	char			 sender[QM_ADDR_MAX + 1];
	char			 rcpt[QM_ADDR_MAX + 1];
	char			 orcpt[QM_ADDR_MAX + 1];
	char			 dtrcpt[QM_ADDR_MAX + 1]; /* Delivered-To */
	struct local_dest	*dests;		/* resolve.c: from lookup */
	size_t			 ndests;
	size_t			 cur;		/* the one being delivered */
	unsigned		 nok, ntemp, nperm;
	struct local_result	 temp;		/* the first deferral */
	struct local_result	 perm;		/* the first bounce */
	struct local_result	 last;
	struct event		*timer;		/* of the state's module */
	char			*fwdlist;	/* the .forward of dests[cur] */
	char			*done;		/* done.c: delivered before */
	uint32_t		 lk_id;		/* resolve.c: query id */
	uint32_t		 lk_link;	/* resolve.c: link asked */
	pid_t			 pid;		/* deliver.c */
	int			 pipefd;	/* deliver.c: child's result */
	int			 signalled;	/* deliver.c: last signal */
};

/* What a mailbox writer needs to know about the message. */
struct local_env {
	int		 msgfd;
	const char	*sender;	/* "" for the null sender */
	const char	*dtrcpt;	/* Delivered-To, domain lower-cased */
	uint32_t	 seq;
	/* once.c's name of this delivery, or NULL: the Maildir file is
	 * named after it, and a second copy under it is never made */
	const char	*once;
	/* an earlier try may have written it unanswered (DL_F_RETRY):
	 * look in the Maildir's cur/ too, where a reader moves it */
	int		 retry;
};

/* local.c: local_done answers for the whole recipient at once (it was
 * refused, or lookup failed); local_resolved starts on d->dests, and
 * local_dest_done takes the result of the one being delivered, which
 * may be its .forward (d->fwdlist); local_forwarded takes what lookup
 * made of that (or res, the reason it could not). */
void	local_resolved(struct delivery *);
void	local_done(struct delivery *, const struct local_result *);
void	local_dest_done(struct delivery *, const struct local_result *);
void	local_forwarded(struct delivery *, struct local_dest *, size_t,
	    const struct local_result *);

/* forwarding.c: the targets of the .forward of d->dests[d->cur] join
 * d->dests, or a reason they cannot (a loop) is left in res: -1. */
int	forwarding_merge(struct delivery *, const struct local_dest *,
	    size_t, struct local_result *);
/* The destinations are the same one (one copy each). */
int	forwarding_same(const struct local_dest *, const struct local_dest *);

/* once.c: the name of a delivery, the same on every try of it:
 * "SECONDS.BqidRhash" with the queue id's time and a hash of the queue
 * file (msg: its fstat), recipient and destination; -1 if qid is not a
 * queue id of qmgr's. */
#define ONCE_KEY_MAX	(LOCAL_NAME_MAX + LOCAL_DETAIL_MAX + LOCAL_ARG_MAX + 64)
#define ONCE_NAME_MAX	64
struct stat;
int	once_name(const char *qid, const struct stat *msg, const char *rcpt,
	    const struct local_dest *, char *out, size_t outlen);
/* One line that tells a destination from any other; -1 if it does not
 * fit in len (ONCE_KEY_MAX always does). */
int	once_key(const struct local_dest *, char *buf, size_t len);

/* done.c: the destinations of a deferred recipient that were delivered,
 * kept in the spool until the recipient is answered for good, so that a
 * retry delivers only the others. */
void	done_init(const struct config *);
/* what earlier tries delivered, into d->done */
void	done_load(struct delivery *);
int	done_has(const struct delivery *, const struct local_dest *);
/* before a deferral goes to qmgr: the delivered ones, on stable storage */
void	done_save(const struct delivery *);
/* the recipient is answered for good */
void	done_forget(const struct delivery *);
/* files of recipients qmgr gave up on, older than the queue lifetime */
void	done_expire(void);

/* resolve.c */
void	resolve_start(struct delivery *);
/* asks lookup what d->fwdlist, the .forward of d->dests[d->cur], means */
void	resolve_forward(struct delivery *);
void	resolve_reply(struct link *, struct ipc_msg *);
void	resolve_link_gone(uint32_t link);
void	resolve_cancel(struct delivery *);

/* deliver.c */
int	deliver_init(void);
void	deliver_start(struct delivery *);
void	deliver_cancel(struct delivery *);

/* child.c: runs in the forked child and never returns; it delivers
 * d->dests[d->cur] with the groups of that destination's user */
void	child_main(const struct delivery *, const struct config *,
	    const struct local_groups *, int resfd) __attribute__((noreturn));

/* pipe.c: in the child, as the user: runs command with the message on
 * its stdin, a clean environment, a time limit and bounded output. */
int	pipe_deliver(const char *command, const struct local_user *,
	    const char *rcpt, const struct local_env *,
	    struct local_result *);

#endif
