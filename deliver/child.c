/*
 * child.c: one destination in a process of its own. Still root, it may
 * only create a missing mbox in a trusted spool (see mbox_create_as_root);
 * then it becomes the destination's user (groups, gid, uid) before it
 * opens anything of theirs, checks for a mail loop, writes the mailbox,
 * file or Maildir or runs the command, and reports to its parent
 * through a pipe in one write.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "forward.h"
#include "local.h"
#include "mailbox.h"

static void
child_on_term(int sig)
{
	mailbox_cancelled = 1;
}

/* The parent's libevent handlers mean nothing here. SIGTERM (the
 * parent's timeout) makes the writers stop and roll back. */
static void
child_signals(void)
{
	struct sigaction	sa;
	sigset_t		none;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	(void)sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = child_on_term;		/* no SA_RESTART */
	(void)sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Everything above stderr goes but the message and the result pipe:
 * the links to qmgr, lookup and the master are not the user's. */
static void
child_close_fds(int a, int b)
{
	int		keep[2];
	unsigned	from = 3;
	size_t		i;

	keep[0] = a < b ? a : b;
	keep[1] = a < b ? b : a;
	for (i = 0; i < 2; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			(void)close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	(void)close_range(from, ~0U, 0);
}

static int
child_check_ids(uid_t uid, gid_t gid)
{
	uid_t	ru, eu, su;
	gid_t	rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		return -1;
	if (ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid)
		return -1;
	if (setuid(0) != -1 || seteuid(0) != -1)
		return -1;
	return 0;
}

/* The user's groups as the parent found them, else as we find them
 * (or at least the primary one); gid; uid. */
static int
child_setgroups(const struct local_user *u, const struct local_groups *g)
{
	if (g->n >= 0)
		return setgroups((size_t)g->n, g->list);
	/* initgroups needs the group database; without it the primary
	 * group alone only ever gives fewer rights */
	if (initgroups(u->name, u->gid) == -1)
		return setgroups(1, &u->gid);
	return 0;
}

static int
child_become(const struct local_user *u, const struct local_groups *g,
    struct local_result *res)
{
	if (u->uid == 0) {
		mailbox_result(res, DL_PERMFAIL, "5.7.1",
		    "will not deliver as root");
		return -1;
	}
	if (child_setgroups(u, g) == -1 ||
	    setresgid(u->gid, u->gid, u->gid) == -1 ||
	    setresuid(u->uid, u->uid, u->uid) == -1 ||
	    child_check_ids(u->uid, u->gid) == -1) {
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "cannot become "
		    "user %s: %s", u->name, strerror(errno));
		return -1;
	}
	/* the user may not ptrace us nor regain anything by exec */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "prctl: %s",
		    strerror(errno));
		return -1;
	}
	(void)umask(077);
	return 0;
}

/* +detail as a Maildir++ folder name: letters, digits, '-' and '_'. */
static int
child_folder_ok(const char *detail)
{
	size_t	len = strlen(detail);

	return len > 0 && len <= LOCAL_FOLDER_MAX && strspn(detail,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_") == len;
}

/* The user's ~/.forward, unless switched off or this is \user: 1 if it
 * takes the mail (res and list say where to), 0 to go on to the
 * mailbox, -1 if it cannot be read now (res). */
static int
child_forward(const struct local_dest *t, const struct config *cfg,
    char *list, size_t len, struct local_result *res)
{
	const struct local_user	*u = &t->user;
	char			 why[FORWARD_WHY_MAX];

	if (!cfg->forward_files || t->noforward)
		return 0;
	switch (forward_read(u->home, u->uid, list, len, why, sizeof(why))) {
	case FORWARD_NONE:
		return 0;
	case FORWARD_IGNORED:
		mailbox_note(res, "~%s/.forward ignored: %s", u->name, why);
		return 0;
	case FORWARD_FOUND:
		mailbox_result(res, DL_OK, "2.0.0", "forwarded by ~%s/.forward",
		    u->name);
		mailbox_name(res, "%s/%s", u->home, FORWARD_NAME);
		res->forward_len = (uint32_t)strlen(list) + 1;
		return 1;
	case FORWARD_TEMPFAIL:
		break;
	}
	mailbox_result(res, DL_TEMPFAIL, "4.3.0", "~%s/.forward: %s",
	    u->name, why);
	return -1;
}

/* The user's own mailbox: Maildir (or its .detail folder) or mbox,
 * unless the user's ~/.forward sends the mail elsewhere (list). */
static void
child_mailbox(const struct local_dest *t, const struct config *cfg,
    const struct local_groups *g, const struct local_env *env, char *list,
    struct local_result *res)
{
	const struct local_user	*u = &t->user;
	char			 path[PATH_MAX];
	int			 mbox;

	mbox = cfg->delivery_format == DELIVERY_MBOX;
	if (mbox && mbox_expand_path(path, sizeof(path), cfg->mbox_path,
	    u->name) == -1) {
		mailbox_result(res, DL_TEMPFAIL, "4.3.5", "mailbox path of %s "
		    "too long", u->name);
		return;
	}
	if (!mbox && cfg->maildir_detail_folders && child_folder_ok(t->detail))
		(void)snprintf(path, sizeof(path), "%s/.%s", cfg->maildir,
		    t->detail);
	else if (!mbox)
		strlcpy(path, cfg->maildir, sizeof(path));
	if (mbox)
		strlcpy(res->mailbox, path, sizeof(res->mailbox));
	else
		mailbox_name(res, "%s/%s", u->home, path);
	if (mbox && u->uid != 0)
		mbox_create_as_root(path, u->uid, u->gid);
	if (child_become(u, g, res) == -1 || mailbox_check_loop(env, res) == -1 ||
	    child_forward(t, cfg, list, FORWARD_LIST_MAX, res) != 0)
		return;
	if (mbox)
		(void)mbox_deliver(path, u->uid, env, res);
	else
		(void)maildir_deliver(u->home, path, env, res);
}

/* A Maildir named by its path ("/var/mail/vhosts/d/u/"): the first
 * component is the "home" it is opened from, the rest is made as
 * needed (as the user). */
static void
child_maildir_at(const char *arg, const struct local_env *env,
    struct local_result *res)
{
	char	path[PATH_MAX], *rest;
	size_t	len;

	if ((len = strlcpy(path, arg, sizeof(path))) >= sizeof(path) ||
	    len < 2) {
		mailbox_result(res, DL_TEMPFAIL, "4.3.5", "bad maildir %s",
		    arg);
		return;
	}
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	if ((rest = strchr(path + 1, '/')) == NULL)
		(void)maildir_deliver("/", path + 1, env, res);
	else {
		*rest++ = '\0';
		(void)maildir_deliver(path, rest, env, res);
	}
}

static void
child_deliver(const struct delivery *d, const struct config *cfg,
    const struct local_groups *g, const struct local_env *env, char *list,
    struct local_result *res)
{
	const struct local_dest	*t = &d->dests[d->cur];
	size_t			 len = strlen(t->arg);

	if (t->kind == DEST_MAILBOX) {
		child_mailbox(t, cfg, g, env, list, res);
		return;
	}
	strlcpy(res->mailbox, t->kind == DEST_PIPE ? "command" : t->arg,
	    sizeof(res->mailbox));
	if (child_become(&t->user, g, res) == -1 ||
	    mailbox_check_loop(env, res) == -1)
		return;
	if (t->kind == DEST_PIPE)
		(void)pipe_deliver(t->arg, &t->user, d->rcpt, env, res);
	else if (t->kind == DEST_MAILDIR ||
	    (t->kind == DEST_FILE && len > 0 && t->arg[len - 1] == '/'))
		child_maildir_at(t->arg, env, res);
	else if (t->kind == DEST_FILE)
		(void)mbox_deliver(t->arg, t->user.uid, env, res);
	else
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "nothing to do");
}

/* All of buf to fd; 0 or -1. */
static int
child_write(int fd, const void *buf, size_t len)
{
	ssize_t	n;

	do
		n = write(fd, buf, len);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

void
child_main(const struct delivery *d, const struct config *cfg,
    const struct local_groups *g, int resfd)
{
	static struct local_result	res;
	static char			list[FORWARD_LIST_MAX];
	struct local_env		env;
	char				once[ONCE_NAME_MAX];
	struct stat			msg;
	int				rc;

	child_signals();
	child_close_fds(d->msgfd, resfd);
	memset(&res, 0, sizeof(res));
	mailbox_result(&res, DL_TEMPFAIL, "4.3.0", "no result");
	env.msgfd = d->msgfd;
	env.sender = d->sender;
	env.dtrcpt = d->dtrcpt;
	env.seq = d->seq;
	/* without a name of its own, a Maildir copy is named as any other
	 * and a retry after a lost answer may make a second one */
	env.once = fstat(d->msgfd, &msg) == 0 && once_name(d->qid, &msg,
	    d->rcpt, &d->dests[d->cur], once, sizeof(once)) == 0 ? once : NULL;
	env.retry = (d->flags & DL_F_RETRY) != 0;
	child_deliver(d, cfg, g, &env, list, &res);
	/* the list after the result: the pipe holds both (64 KiB), so
	 * this does not wait for the parent, which reads once we exit */
	rc = child_write(resfd, &res, sizeof(res));
	if (rc == 0 && res.forward_len > 0)
		rc = child_write(resfd, list, res.forward_len);
	_exit(rc == 0 ? 0 : 1);
}
