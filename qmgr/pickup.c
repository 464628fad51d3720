/*
 * pickup.c: the maildrop (SPOOL/queue/maildrop), where sendmail(1)
 * leaves messages while Bulwark is not running. qmgr looks at it when it
 * starts, every PICKUP_SCAN_SEC, and when the whole queue is flushed;
 * one file at a time, it asks lookup who the file's owner is and, unless
 * that user is root or a trusted-user, whether the sender is theirs, as
 * smtpd does for the submit socket. A sender that is not is replaced by
 * the user's own address (the mail was accepted already: sendmail said
 * so), and logged. Then the message is queued and the file removed.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "link.h"
#include "log.h"
#include "qmgr.h"
#include "wire.h"

#define PICKUP_SCAN_SEC		60	/* a look even without a flush */
#define PICKUP_RETRY_SEC	5	/* after lookup was away */
#define PICKUP_LOOKUP_SEC	10	/* lookup must answer within */
#define PICKUP_TMP_AGE_SEC	3600	/* a tmp. file this old is dead */
#define PICKUP_NAMES_MAX	10000	/* files taken in one pass */
#define PICKUP_LOGIN_MAX	255

enum pickup_wait { WAIT_NONE, WAIT_UID, WAIT_SENDER };

static int			 mdir = -1;
static struct event		*scan_ev, *timer_ev;
static char			**names;
static size_t			 nnames, next_name;
static struct pickup_file	 cur;
static enum pickup_wait		 waiting;
static uint32_t			 wait_id, next_id;
static char			 login[PICKUP_LOGIN_MAX + 1];

static void	pickup_next(void);

static void
names_free(void)
{
	while (nnames > 0)
		free(names[--nnames]);
	free(names);
	names = NULL;
	next_name = 0;
}

static void
pickup_later(int sec)
{
	struct timeval	tv = { sec, 0 };

	if (scan_ev != NULL)
		evtimer_add(scan_ev, &tv);
}

/* The names in the maildrop, taken before any is touched. */
static int
pickup_list(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd;

	if ((fd = dup(mdir)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("pickup: read %s/", MAILDROP_DIR);
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	if ((names = calloc(PICKUP_NAMES_MAX, sizeof(*names))) == NULL) {
		closedir(d);
		return -1;
	}
	while (nnames < PICKUP_NAMES_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((names[nnames] = strdup(de->d_name)) == NULL)
			break;
		nnames++;
	}
	closedir(d);
	return 0;
}

static void
pickup_scan(evutil_socket_t fd, short ev, void *arg)
{
	if (cur.buf != NULL || names != NULL || qmgr_retiring)
		return;			/* a pass is under way */
	if (pickup_list() == -1) {
		names_free();
		pickup_later(PICKUP_SCAN_SEC);
		return;
	}
	pickup_next();
}

void
pickup_kick(void)
{
	if (scan_ev != NULL)
		event_active(scan_ev, EV_TIMEOUT, 0);
}

/* A temporary name is sendmail at work, unless it has been for long. */
static void
pickup_tmp(const char *name)
{
	struct stat	st;

	if (fstatat(mdir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_mtime + PICKUP_TMP_AGE_SEC < time(NULL))
		queue_set_aside(mdir, MAILDROP_DIR, name, "a sendmail "
		    "never finished writing it");
}

/* Ask lookup (LK_UID or LK_SENDER) and wait for its answer. */
static int
pickup_ask(uint16_t type)
{
	struct link	*l;
	struct wire_w	 w;
	struct timeval	 tv = { PICKUP_LOOKUP_SEC, 0 };

	if ((l = link_get(PROC_LOOKUP)) == NULL)
		return -1;
	if (++next_id == 0)
		next_id = 1;
	wire_w_init(&w);
	wire_w_u32(&w, next_id);
	if (type == LK_UID)
		wire_w_u32(&w, cur.uid);
	else {
		wire_w_str(&w, login);
		wire_w_str(&w, cur.md.sender);
	}
	if (w.err || ipc_send(l->chan, type, w.buf, w.len, -1) == -1)
		return -1;
	wait_id = next_id;
	waiting = type == LK_UID ? WAIT_UID : WAIT_SENDER;
	evtimer_add(timer_ev, &tv);
	return 0;
}

/* This pass ends here: the file stays for the next one. */
static void
pickup_defer(const char *why)
{
	log_info("pickup: maildrop/%s left for later: %s", cur.name, why);
	evtimer_del(timer_ev);
	waiting = WAIT_NONE;
	pickup_file_free(&cur);
	names_free();
	pickup_later(PICKUP_RETRY_SEC);
}

static void
pickup_done(void)
{
	if (pickup_queue(&cur, login) == -1) {
		pickup_defer("cannot queue it now");
		return;
	}
	if (unlinkat(mdir, cur.name, 0) == -1 || fsync(mdir) == -1)
		log_warn("pickup: remove %s/%s", MAILDROP_DIR, cur.name);
	pickup_file_free(&cur);
	pickup_next();
}

/* The next file of this pass, as far as it can go without lookup. */
static void
pickup_next(void)
{
	const char	*name;

	while (next_name < nnames && !qmgr_retiring) {
		name = names[next_name++];
		if (strncmp(name, MAILDROP_TMP_PREFIX,
		    strlen(MAILDROP_TMP_PREFIX)) == 0) {
			pickup_tmp(name);
			continue;
		}
		if (pickup_read(mdir, name, &cur) != 0)
			continue;
		if (pickup_ask(LK_UID) == -1)
			pickup_defer("lookup is away");
		return;
	}
	names_free();
	pickup_later(PICKUP_SCAN_SEC);
}

/* The current file can never be queued: aside with it, and on. */
static void
pickup_unfit(const char *why)
{
	queue_set_aside(mdir, MAILDROP_DIR, cur.name, why);
	pickup_file_free(&cur);
	pickup_next();
}

static int
pickup_trusted(void)
{
	size_t	i;

	if (cur.uid == 0)
		return 1;
	for (i = 0; i < daemon_cfg->trusted_users.n; i++)
		if (strcmp(daemon_cfg->trusted_users.v[i], login) == 0)
			return 1;
	return 0;
}

/* The owner has a name: is the sender theirs to use? */
static void
pickup_uid_answer(uint32_t st, const char *name)
{
	char	why[64];

	if (st == LK_TEMPFAIL) {
		pickup_defer("user database unavailable");
		return;
	}
	if (st != LK_OK) {
		snprintf(why, sizeof(why), "uid %u has no login",
		    (unsigned)cur.uid);
		pickup_unfit(why);
		return;
	}
	strlcpy(login, name, sizeof(login));
	if (pickup_trusted() || cur.md.sender[0] == '\0')
		pickup_done();
	else if (pickup_ask(LK_SENDER) == -1)
		pickup_defer("lookup is away");
}

/* Not the user's: the user's own address instead, as sendmail would
 * have used without -f. */
static void
pickup_sender_answer(uint32_t st)
{
	const char	*domain;
	char		 own[PICKUP_LOGIN_MAX + 2 + 256];
	int		 n;

	if (st == LK_TEMPFAIL) {
		pickup_defer("sender check unavailable");
		return;
	}
	if (st != LK_OK) {
		domain = daemon_cfg->local_domains.n > 0 ?
		    daemon_cfg->local_domains.v[0] : daemon_cfg->hostname;
		n = snprintf(own, sizeof(own), "%s@%s", login, domain);
		if (n < 0 || (size_t)n >= sizeof(cur.md.sender)) {
			pickup_unfit("sender not owned, login too long");
			return;
		}
		log_warnx("pickup: maildrop/%s uid=%u login=<%s> from=<%s> "
		    "status=sender-replaced reason=\"sender not owned by "
		    "login\" new=<%s>", cur.name, (unsigned)cur.uid, login,
		    cur.md.sender, own);
		strlcpy(cur.md.sender, own, sizeof(cur.md.sender));
	}
	pickup_done();
}

int
pickup_lookup_reply(struct ipc_msg *m)
{
	struct wire_r	r;
	char		name[PICKUP_LOGIN_MAX + 1] = "";
	uint32_t	id, st;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	st = wire_r_u32(&r);
	if (m->type == LK_UID_REPLY)
		wire_r_str(&r, name, sizeof(name));
	if (wire_r_end(&r) == -1)
		return -1;
	if (waiting == WAIT_NONE || id != wait_id ||
	    (m->type == LK_UID_REPLY) != (waiting == WAIT_UID))
		return 0;		/* an answer that came too late */
	evtimer_del(timer_ev);
	waiting = WAIT_NONE;
	if (m->type == LK_UID_REPLY)
		pickup_uid_answer(st, name);
	else
		pickup_sender_answer(st);
	qmgr_idle_check();
	return 0;
}

static void
pickup_timeout(evutil_socket_t fd, short ev, void *arg)
{
	pickup_defer("lookup did not answer");
}

/* The maildrop is made by the master (owner _bulwarkq, group
 * _bulwarkdrop, mode 1730); without it there is nothing to pick up. */
void
pickup_init(void)
{
	struct stat	st;

	mdir = open(MAILDROP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW);
	if (mdir == -1 || fstat(mdir, &st) == -1 || st.st_uid != geteuid()) {
		log_warnx("pickup: no maildrop directory of ours; mail left "
		    "by sendmail while Bulwark is down will wait");
		if (mdir != -1)
			close(mdir);
		mdir = -1;
		return;
	}
	if ((scan_ev = evtimer_new(daemon_base, pickup_scan, NULL)) == NULL ||
	    (timer_ev = evtimer_new(daemon_base, pickup_timeout, NULL)) ==
	    NULL)
		fatalx("pickup: events");
	pickup_kick();
}
