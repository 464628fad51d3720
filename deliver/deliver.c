/*
 * deliver.c: the parent's side of the delivery children, one for each
 * destination of a delivery in turn. At most LOCAL_MAX_CHILDREN run at
 * once and the rest wait in order; each child
 * is reaped on SIGCHLD, its result read from its pipe and checked, and a
 * child that overstays gets SIGTERM, then SIGKILL. No result: tempfail.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "forward.h"
#include "local.h"
#include "log.h"

static TAILQ_HEAD(, delivery)	waiting = TAILQ_HEAD_INITIALIZER(waiting);
static TAILQ_HEAD(, delivery)	running = TAILQ_HEAD_INITIALIZER(running);
static unsigned			nrunning;
static uint32_t			next_seq;
static struct event		*ev_chld;

static void	deliver_sigchld(evutil_socket_t, short, void *);
static void	deliver_timeout(evutil_socket_t, short, void *);

int
deliver_init(void)
{
	ev_chld = evsignal_new(daemon_base, SIGCHLD, deliver_sigchld, NULL);
	if (ev_chld == NULL || evsignal_add(ev_chld, NULL) == -1) {
		log_warnx("cannot watch SIGCHLD");
		return -1;
	}
	return 0;
}

static void
deliver_fail(struct delivery *d, const char *dsn, const char *text)
{
	struct local_result	res;

	memset(&res, 0, sizeof(res));
	res.status = DL_TEMPFAIL;
	strlcpy(res.dsn, dsn, sizeof(res.dsn));
	strlcpy(res.text, text, sizeof(res.text));
	local_dest_done(d, &res);
}

static int
deliver_arm(struct delivery *d, int secs)
{
	struct timeval	tv = { secs, 0 };

	return evtimer_add(d->timer, &tv);
}

/* The groups of the user the child becomes; left for the child to
 * find (n = -1) when there are more than we keep. */
static void
deliver_groups(const struct local_user *u, struct local_groups *g)
{
	g->n = LOCAL_GROUPS_MAX;
	if (getgrouplist(u->name, u->gid, g->list, &g->n) == -1)
		g->n = -1;
}

/* Forks the child; -1 (nothing started) on failure. */
static int
deliver_fork(struct delivery *d)
{
	static struct local_groups	groups;
	int				p[2];
	pid_t				pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe");
		return -1;
	}
	d->seq = ++next_seq;
	deliver_groups(&d->dests[d->cur].user, &groups);
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(d, daemon_cfg, &groups, p[1]);
	}
	close(p[1]);
	d->pid = pid;
	d->pipefd = p[0];
	return 0;
}

static void
deliver_spawn(struct delivery *d)
{
	if ((d->timer = evtimer_new(daemon_base, deliver_timeout, d)) == NULL) {
		deliver_fail(d, "4.3.0", "out of memory");
		return;
	}
	if (deliver_fork(d) == -1) {
		event_free(d->timer);
		d->timer = NULL;
		deliver_fail(d, "4.3.0", "cannot start a delivery process");
		return;
	}
	if (deliver_arm(d, LOCAL_CHILD_TIMEOUT) == -1)
		log_warnx("qid=%s: cannot arm the delivery timer", d->qid);
	d->state = DS_RUNNING;
	d->signalled = 0;
	TAILQ_INSERT_TAIL(&running, d, qentry);
	nrunning++;
}

void
deliver_start(struct delivery *d)
{
	if (nrunning >= LOCAL_MAX_CHILDREN) {
		d->state = DS_QUEUED;
		TAILQ_INSERT_TAIL(&waiting, d, qentry);
		return;
	}
	deliver_spawn(d);
}

/* A waiting delivery can be forgotten; a running one must be reaped. */
void
deliver_cancel(struct delivery *d)
{
	if (d->state == DS_QUEUED)
		TAILQ_REMOVE(&waiting, d, qentry);
	d->state = DS_NEW;
}

static void
deliver_next(void)
{
	struct delivery	*d;

	while (nrunning < LOCAL_MAX_CHILDREN &&
	    (d = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, d, qentry);
		d->state = DS_NEW;
		deliver_spawn(d);
	}
}

/* The class of the DSN must agree with the status: 2, 4 or 5. */
static int
deliver_dsn_ok(const char *dsn, uint32_t status)
{
	static const char	cls[] = { '2', '4', '5' };
	size_t			i = 0;
	int			dots = 0;

	if (status > DL_PERMFAIL || dsn[0] != cls[status] || dsn[1] != '.')
		return 0;
	for (i = 2; dsn[i] != '\0'; i++) {
		if (dsn[i] == '.' && dsn[i - 1] != '.')
			dots++;
		else if (!isdigit((unsigned char)dsn[i]))
			return 0;
	}
	return dots == 1 && dsn[i - 1] != '.';
}

/* Control characters out of a text for the log. */
static void
deliver_printable(char *s, size_t len)
{
	size_t	i;

	s[len - 1] = '\0';
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			s[i] = ' ';
}

/* The .forward targets after the result, if the child found any for a
 * destination that may have them: into d->fwdlist. */
static int
deliver_read_forward(struct delivery *d, const struct local_result *res)
{
	const struct local_dest	*t = &d->dests[d->cur];
	uint32_t		 len = res->forward_len;
	ssize_t			 n;

	if (len == 0)
		return 0;
	if (len > FORWARD_LIST_MAX || res->status != DL_OK ||
	    t->kind != DEST_MAILBOX || t->noforward ||
	    !daemon_cfg->forward_files || (d->fwdlist = malloc(len)) == NULL)
		return -1;
	do
		n = read(d->pipefd, d->fwdlist, len);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)len || d->fwdlist[len - 1] != '\0' ||
	    strlen(d->fwdlist) != len - 1) {
		free(d->fwdlist);
		d->fwdlist = NULL;
		return -1;
	}
	return 0;
}

/* The child runs as the user: its report is checked like any input. */
static int
deliver_read_result(struct delivery *d, struct local_result *res)
{
	ssize_t	n;

	do
		n = read(d->pipefd, res, sizeof(*res));
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(*res))
		return -1;
	res->dsn[sizeof(res->dsn) - 1] = '\0';
	res->mailbox[sizeof(res->mailbox) - 1] = '\0';
	deliver_printable(res->text, sizeof(res->text));
	deliver_printable(res->note, sizeof(res->note));
	if (!deliver_dsn_ok(res->dsn, res->status))
		return -1;
	return deliver_read_forward(d, res);
}

static void
deliver_reaped(struct delivery *d, int status)
{
	struct local_result	res;
	char			why[LOCAL_TEXT_MAX];

	TAILQ_REMOVE(&running, d, qentry);
	d->state = DS_NEW;
	nrunning--;
	event_free(d->timer);
	d->timer = NULL;
	memset(&res, 0, sizeof(res));
	if (deliver_read_result(d, &res) == -1) {
		if (d->signalled)
			snprintf(why, sizeof(why), "delivery timed out");
		else if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "delivery process killed "
			    "by signal %d", WTERMSIG(status));
		else
			snprintf(why, sizeof(why), "delivery process failed "
			    "(exit %d)", WEXITSTATUS(status));
		memset(&res, 0, sizeof(res));
		res.status = DL_TEMPFAIL;
		strlcpy(res.dsn, "4.3.0", sizeof(res.dsn));
		strlcpy(res.text, why, sizeof(res.text));
	}
	if (res.note[0] != '\0')
		log_warnx("qid=%s to=<%s>: %s", d->qid, d->rcpt, res.note);
	close(d->pipefd);
	d->pipefd = -1;
	d->pid = -1;
	local_dest_done(d, &res);
}

static void
deliver_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct delivery	*d;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(d, &running, qentry)
			if (d->pid == pid)
				break;
		if (d != NULL)
			deliver_reaped(d, status);
	}
	deliver_next();
}

static void
deliver_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct delivery	*d = arg;

	if (d->signalled == 0) {
		log_warnx("qid=%s to=<%s>: delivery takes too long; stopping "
		    "it", d->qid, d->rcpt);
		d->signalled = SIGTERM;
		(void)kill(d->pid, SIGTERM);
		(void)deliver_arm(d, LOCAL_CHILD_GRACE);
	} else {
		d->signalled = SIGKILL;
		(void)kill(d->pid, SIGKILL);
	}
}
