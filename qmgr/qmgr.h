/*
 * qmgr.h: the queue manager's shared types and module interfaces: the
 * envelope and its text format (envelope.c), the queue directory
 * (queue.c), the hand-off from smtpd (smtpd_link.c), the delivery
 * scheduler (sched.c) and delivery status notifications (bounce.c).
 */
#ifndef BULWARK_QMGR_H
#define BULWARK_QMGR_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"
#include "maildrop.h"
#include "proto.h"

struct link;

/* Named limits (bulwark-queue(5)). */
#define QMGR_QID_LEN		16	/* upper-case hex characters */
#define QMGR_COMMIT_BATCH	128	/* commits made durable together */
#define ENVELOPE_VERSION	1
#define ENVELOPE_FIELD_MAX	QM_ADDR_MAX	/* decoded bytes of a field */
#define ENVELOPE_LINE_MAX	8192	/* bytes of one line, with its LF */
#define ENVELOPE_FILE_MAX	(64 * 1024 * 1024)
#define ENVELOPE_RCPT_MAX	100000	/* recipients of one message */
#define ENVELOPE_DSN_MAX	15	/* "X.YYY.ZZZ" and then some */
#define ENVELOPE_TIME_MAX	((int64_t)1 << 40)	/* seconds */
#define ENVELOPE_ATTEMPTS_MAX	1000000

/* Defaults for the configuration's queue timers, in seconds. */
#define QMGR_RETRY_MIN_DEFAULT		300
#define QMGR_RETRY_MAX_DEFAULT		3600
#define QMGR_LIFETIME_DEFAULT		(5 * 24 * 3600)
#define QMGR_DELAY_WARNING_DEFAULT	(4 * 3600)
#define QMGR_DEST_LIMIT_DEFAULT		20	/* deliveries in flight */

enum rcpt_state {
	RCPT_PENDING,		/* never tried */
	RCPT_DELIVERED,
	RCPT_DEFERRED,		/* tried, failed temporarily, will retry */
	RCPT_FAILED,		/* failed for good */
};

/* What a recipient's sender has been told about it (RFC 3464 actions). */
#define RCPT_REPORTED_DELAY	0x1
#define RCPT_REPORTED_FAILURE	0x2
#define RCPT_REPORTED_SUCCESS	0x4

struct envelope_rcpt {
	char		*addr;
	char		*orcpt;		/* "type;address" or "" */
	uint32_t	 notify;	/* QM_NOTIFY_*, 0: not given */
	enum rcpt_state	 state;
	uint32_t	 attempts;
	int64_t		 next_try;	/* unix seconds */
	uint32_t	 reported;	/* RCPT_REPORTED_* */
	char		 dsn[ENVELOPE_DSN_MAX + 1];	/* "" or "X.Y.Z" */
	char		*text;		/* last status text, or "" */
	/* in memory only, never written */
	int		 busy;		/* a delivery is in flight */
	int		 unsure;	/* a try may have been delivered
					   without our hearing of it */
};

struct envelope {
	char			 qid[QMGR_QID_LEN + 1];
	int64_t			 arrival;	/* unix seconds */
	char			*sender;	/* "" for the null sender */
	char			*client_addr;
	char			*client_name;
	char			*helo;
	char			*auth;		/* "" when not authenticated */
	uint32_t		 body;		/* QM_BODY_* */
	uint32_t		 flags;		/* QM_F_* */
	uint32_t		 ret;		/* QM_RET_* */
	char			*envid;		/* "" when not given */
	uint64_t		 size;		/* bytes of the message file */
	/* in memory only: the envelope is in hold/, not env/ */
	int			 held;
	size_t			 nrcpt;
	size_t			 rcpt_cap;
	struct envelope_rcpt	*rcpt;
};

/* envelope.c: the envelope in memory and as text. */
void		 envelope_init(struct envelope *);
void		 envelope_free(struct envelope *);
/* Sets *field to a copy of value ("" for NULL); -1 on ENOMEM. */
int		 envelope_set(char **field, const char *value);
int		 envelope_rcpt_add(struct envelope *, const char *addr,
		    const char *orcpt, uint32_t notify);
/* A malloc'd, NUL-terminated text of the envelope and its length
 * (without the NUL), or NULL. */
char		*envelope_format(const struct envelope *, size_t *len);
/* Parses text into env (initialised here; freed on failure). */
int		 envelope_parse(struct envelope *env, const char *text,
		    size_t len, char *err, size_t errlen);
int		 envelope_qid_valid(const char *);
int		 envelope_dsn_valid(const char *);
const char	*envelope_state_name(enum rcpt_state);
/* 1 when the recipient needs no more delivery attempts */
int		 envelope_rcpt_final(const struct envelope_rcpt *);

/* queue.c: the queue directory; paths are relative to the chroot. */
int		 queue_init(void);
/* Creates msg/QID write-only and returns its descriptor, or -1. */
int		 queue_create(char qid[QMGR_QID_LEN + 1]);
/* The steps of a commit (commit.c): tmp/QID with the envelope written
 * (not synced yet), open for writing, or -1; tmp/QID renamed to env/QID
 * (0 or -1); the directories that a commit syncs. */
int		 queue_env_prepare(const struct envelope *);
int		 queue_env_install(const char *qid);
enum queue_dir { QUEUE_DIR_MSG, QUEUE_DIR_ENV };
int		 queue_dir_fd(enum queue_dir);
/* Rewrite env/QID (hold/QID if held) atomically and durably. */
int		 queue_env_write(const struct envelope *);
/* Remove a delivered message: env/QID (or hold/QID) first, then
 * msg/QID. */
int		 queue_remove(const char *qid);
/* The same at once and durably, for a message deleted by hand. */
int		 queue_delete(const struct envelope *);
/* Move the envelope between env/ and hold/ (env->held says where it is
 * now), durably. */
int		 queue_hold(const struct envelope *, int hold);
/* Move name (in the directory dirfd, called what in logs) to corrupt/
 * as WHAT.NAME, durably, and log why. */
void		 queue_set_aside(int dirfd, const char *what,
		    const char *name, const char *why);
/* write(2) until all of p is written: 0, or -1 with errno. */
int		 queue_write_all(int fd, const char *p, size_t len);
/* Remove an uncommitted msg/QID. */
void		 queue_discard(const char *qid);
/* A read-only descriptor of msg/QID, or -1. */
int		 queue_open_msg(const char *qid);
/* Scan the queue at start; load() takes over each good envelope's
 * content (held set for those in hold/). Returns the number of messages
 * loaded, or -1. */
long		 queue_recover(void (*load)(struct envelope *));

/* spare.c: emptied envelope files for reuse. spare_put moves dirfd/name
 * into the spare directory (given to spare_init once it is empty) and
 * empties it, or unlinks it when enough are kept: 0, or -1 with errno.
 * spare_take moves one to dirfd/name and opens it write-only, or is -1:
 * none left, create one. */
void		 spare_init(int sparefd);
int		 spare_put(int dirfd, const char *name);
int		 spare_take(int dirfd, const char *name);

/* syncer.c: fsync(2) in a few threads of their own. A job's done()
 * runs in the event loop once its fd is synced (err: 0 or errno).
 * syncer_ready() is 0 until syncer_init() has succeeded. */
struct sync_job {
	int		  fd;
	int		  err;
	void		(*done)(struct sync_job *);
	void		 *arg;
	struct sync_job	 *next;
};
int		 syncer_init(void);
int		 syncer_ready(void);
void		 syncer_submit(struct sync_job *);

/* commit.c: msg/QID and its envelope made durable, the commit point;
 * env->size is set from the file. commit_start does it for a batch in
 * the background and calls done() for each item, with rc 0, or -1 and
 * why (the caller then discards the message); commit_one does it for
 * one message at once: 0, or -1 with why. */
struct commit_batch;
struct commit_item {
	struct envelope		*env;
	int			 msgfd;	/* the caller's, or -1: by name */
	int			 rc;
	char			 why[128];
	void			*arg;	/* the caller's */
	/* commit.c's own */
	struct commit_batch	*batch;
	int			 ownfd;
	int			 envfd;
	struct sync_job		 job;		/* the message file's */
	struct sync_job		 envjob;	/* the envelope's */
};
typedef void	 commit_done_fn(struct commit_item *);
void		 commit_start(struct commit_item **, size_t n,
		    commit_done_fn *);
/* done() for each item at once, failed with why */
void		 commit_refuse(struct commit_item **, size_t n,
		    commit_done_fn *, const char *why);
int		 commit_one(struct envelope *, char *why, size_t whylen);

/* smtpd_link.c: the hand-off of new messages from smtpd. */
void		 smtpd_link_add(uint32_t id, int fd);
size_t		 smtpd_link_open_count(void);

/* sched.c: delivery scheduling to deliver-local. */
void		 sched_init(void);
void		 sched_local_link(uint32_t id, int fd);
/* Takes over env's content (env is left empty). */
void		 sched_add(struct envelope *env);
/* The same for a message found in the queue at start: a delivery of
 * any of its recipients may have been in flight when the last queue
 * manager stopped. */
void		 sched_recovered(struct envelope *env);
void		 sched_kick(void);
size_t		 sched_count(void);
size_t		 sched_inflight(void);
int64_t		 sched_now(void);
unsigned	 sched_retry_min(void);
unsigned	 sched_retry_max(void);
unsigned	 sched_lifetime(void);
unsigned	 sched_delay_warning(void);
/* The queued messages by queue id (admin.c, control.c): the envelope
 * of qid, or NULL; the first whose id sorts after after ("": the
 * first), or NULL at the end. */
struct envelope	*sched_env_find(const char *qid);
struct envelope	*sched_env_next(const char *after);
/* env's hold or retry times changed: schedule it again */
void		 sched_env_update(struct envelope *env);
/* env is gone from disk: forget it (env is freed) */
void		 sched_env_forget(struct envelope *env);

/* dest.c: destinations (a local user, an address of a virtual domain,
 * another domain) and their deliveries in flight, at most dest_limit()
 * each; sched.c parks on a destination at its limit the messages that
 * wait for it. */
struct config;
struct dest;
struct qmsg;
TAILQ_HEAD(dest_parked, qmsg);
/* "user:alice", "addr:bob@virtual.example", "domain:example.net";
 * -1 if it does not fit in outlen */
int		 dest_key(const struct config *, const char *rcpt, char *out,
		    size_t outlen);
unsigned	 dest_limit(void);
/* the destination of rcpt, made if need be; NULL if out of memory */
struct dest	*dest_find(const char *rcpt);
const char	*dest_name(const struct dest *);
size_t		 dest_free_slots(const struct dest *);
size_t		 dest_inflight(const struct dest *);
void		 dest_started(struct dest *);
void		 dest_ended(struct dest *);
struct dest_parked *dest_parked(struct dest *);
/* forgets d if no delivery is in flight to it and nothing is parked */
void		 dest_release(struct dest *);
size_t		 dest_count(void);

/* admin.c: what an administrator does to queued messages, each change
 * on disk before it is answered and logged in one line. who says who
 * asked, for the log. */
enum admin_result {
	ADMIN_OK,
	ADMIN_ALREADY,		/* already held, or not held */
	ADMIN_NOTFOUND,
	ADMIN_HELD,		/* flush of a held message */
	ADMIN_BUSY,		/* a delivery is in flight */
	ADMIN_IOERR,
};

struct qmgr_counters {		/* since qmgr started */
	uint64_t	received;	/* messages from smtpd */
	uint64_t	delivered;	/* recipients */
	uint64_t	deferred;	/* temporary failures */
	uint64_t	bounced;	/* recipients failed for good */
};
extern struct qmgr_counters	qmgr_counters;

/* qid NULL: every message not on hold; *n: how many were flushed */
enum admin_result admin_flush(const char *qid, const char *who, size_t *n);
enum admin_result admin_hold(const char *qid, int hold, const char *who);
enum admin_result admin_delete(const char *qid, const char *who);
/* 1 if some recipient of env is in delivery */
int		 admin_active(const struct envelope *);
size_t		 admin_held_count(void);

/* bounce.c: delivery status notifications (RFC 3464). Queues one DSN
 * for the recipients of env that need a report now and marks them
 * reported. Returns 1 if one was queued, 0 if none was needed, or -1. */
int		 bounce_queue(struct envelope *env, int64_t now);
/* 1 when some recipient of env needs a report at now */
int		 bounce_needed(const struct envelope *env, int64_t now);

/* control.c: the control socket (the master's CTL_LISTEN_CONTROL). */
void		 control_listen(int fd);
/* lookup's LK_USER_REPLY; -1 if malformed */
int		 control_lookup_reply(struct ipc_msg *);

/* control_list.c: the answers that describe the queue. login NULL:
 * every sender's messages, else only that user's. */
struct wire_w;
void		 control_list_build(struct wire_w *, const char *after,
		    const char *match, const char *login);
void		 control_show_build(struct wire_w *, const struct envelope *);
void		 control_counters_build(struct wire_w *);

/* pickup.c: the maildrop that sendmail(1) fills when Bulwark is down,
 * read at start, every PICKUP_SCAN_SEC, and on a flush of the queue. */
void		 pickup_init(void);
void		 pickup_kick(void);
/* lookup's LK_UID_REPLY and LK_SENDER_REPLY; -1 if malformed */
int		 pickup_lookup_reply(struct ipc_msg *);

/* pickup_file.c: one file of the maildrop. */
struct pickup_file {
	char		 name[256];
	char		*buf;		/* the whole file */
	size_t		 len;
	uint32_t	 uid;		/* its owner: who sent it */
	struct maildrop	 md;
};

/* Reads and checks maildrop/name (dir: the maildrop): 0 with f
 * filled, 1 if it was unfit and set aside in corrupt/, -1 if it is
 * gone. */
int		 pickup_read(int dir, const char *name, struct pickup_file *);
/* Queues f's message as login's: 0, or -1 (logged; nothing queued). */
int		 pickup_queue(struct pickup_file *, const char *login);
void		 pickup_file_free(struct pickup_file *);

/* qmgr.c */
extern int	 qmgr_retiring;
extern int64_t	 qmgr_started;
void		 qmgr_idle_check(void);

#endif
