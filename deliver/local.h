/*
 * local.h: the parts of bulwark-local and how they meet. local.c talks to
 * qmgr; resolve.c turns a recipient into a mailbox owner through lookup;
 * deliver.c runs one child per delivery; child.c is that child, which
 * becomes the owner and writes through maildir.c or mbox.c.
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

#define LOCAL_NAME_MAX		256	/* user name */
#define LOCAL_DSN_MAX		16
#define LOCAL_TEXT_MAX		256
#define LOCAL_MAILBOX_MAX	1024	/* path shown in the log */

/* The outcome of one delivery; also what a child writes to its parent
 * through a pipe, in one write(2) smaller than PIPE_BUF. */
struct local_result {
	uint32_t	status;			/* DL_OK, DL_TEMPFAIL, ... */
	char		dsn[LOCAL_DSN_MAX];	/* "2.0.0" */
	char		text[LOCAL_TEXT_MAX];
	char		mailbox[LOCAL_MAILBOX_MAX];
};

struct local_user {
	uid_t	uid;
	gid_t	gid;
	char	name[LOCAL_NAME_MAX];
	char	home[PATH_MAX];
};

/* Where a recipient's mail goes once resolved. Only the user's mailbox
 * for now; aliases and .forward will add files, pipes and addresses,
 * each written with the rights of the user named here. */
enum local_dest_kind {
	DEST_MAILBOX,
};

struct local_dest {
	enum local_dest_kind	kind;
	struct local_user	user;
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
	int			 msgfd;		/* read-only message */
	char			 qid[QM_QID_MAX + 1];
	char			 sender[QM_ADDR_MAX + 1];
	char			 rcpt[QM_ADDR_MAX + 1];
	char			 orcpt[QM_ADDR_MAX + 1];
	char			 dtrcpt[QM_ADDR_MAX + 1]; /* Delivered-To */
	struct local_dest	 dest;
	struct event		*timer;		/* of the state's module */
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
};

/* local.c */
void	local_resolved(struct delivery *);
void	local_done(struct delivery *, const struct local_result *);

/* resolve.c */
void	resolve_start(struct delivery *);
void	resolve_reply(struct link *, struct ipc_msg *);
void	resolve_link_gone(uint32_t link);
void	resolve_cancel(struct delivery *);

/* deliver.c */
int	deliver_init(void);
void	deliver_start(struct delivery *);
void	deliver_cancel(struct delivery *);

/* child.c: runs in the forked child and never returns */
void	child_main(const struct delivery *, const struct config *,
	    int resfd) __attribute__((noreturn));

#endif
