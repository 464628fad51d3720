/*
 * sendmail.c: sendmail(1), the command scripts and mail clients call to
 * send mail, and mailq or newaliases by those names. It submits over
 * SPOOL/public/submit, where smtpd takes the message as the caller's
 * (SO_PEERCRED); when Bulwark is not running it leaves the message in
 * the maildrop for qmgr. This file is the program: configuration,
 * envelope, header work, and the choice between the two.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "addrlist.h"
#include "compile.h"
#include "config.h"
#include "ctl_client.h"
#include "maildate.h"
#include "sendmail.h"

struct rcpt_set {
	char		**v;
	size_t		  n;
	size_t		  cap;
	const char	 *origin;	/* the domain of a bare name */
	int		  utf8;		/* some address needs SMTPUTF8 */
};

static void __attribute__((noreturn))
usage(const char *why)
{
	fprintf(stderr, "%s: %s\n"
	    "usage: sendmail [-t] [-i] [-f sender] [-F name] [-C config] "
	    "[-N dsn] [-R ret] [-V envid] [--] [recipient ...]\n"
	    "       sendmail -bs | -bp | -bi | -q\n", sm_progname, why);
	exit(EX_USAGE);
}

static const char *
config_path(const struct sm_opts *o)
{
	const char	*env = getenv(SM_CONFIG_ENV);

	if (o->conf != NULL)
		return o->conf;
	return env != NULL && env[0] != '\0' ? env : SM_DEFAULT_CONFIG;
}

/* The configuration; a file that root did not write could point the
 * maildrop anywhere, so reading one gives the group up for good. */
static struct config *
config_open(const char *path)
{
	struct config	*cf;
	struct stat	 st;
	char		 err[CONFIG_ERR_MAX];
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		perror(path);
		exit(EX_CONFIG);
	}
	if (st.st_uid != 0 || (st.st_mode & 022) != 0)
		sm_priv_forget();
	cf = config_load_fd(fd, path, err, sizeof(err));
	close(fd);
	if (cf == NULL) {
		fprintf(stderr, "%s: %s\n", sm_progname, err);
		exit(EX_CONFIG);
	}
	return cf;
}

/* A domain for bare names, as Postfix's myorigin: the first local
 * domain (so that "sendmail root" stays here), else the host name. */
static const char *
config_origin(const struct config *cf)
{
	return cf->local_domains.n > 0 ? cf->local_domains.v[0] :
	    cf->hostname;
}

/* addr qualified with origin if it has no domain, checked as smtpd
 * would, and canonical, into out (ADDRESS_PATH_MAX + 1). */
static int
address_fix(const char *addr, const char *origin, char *out, int *utf8,
    char *err, size_t errlen)
{
	struct address		a;
	char			q[ADDRLIST_ADDR_MAX * 2];
	enum address_error	e;

	if (strchr(addr, '@') == NULL)
		snprintf(q, sizeof(q), "%s@%s", addr, origin);
	else
		strlcpy(q, addr, sizeof(q));
	if ((e = address_parse_mailbox(q, strlen(q), ADDRESS_F_UTF8, &a)) !=
	    ADDRESS_OK) {
		snprintf(err, errlen, "<%.300s>: bad address (%s)", q,
		    address_error_str(e));
		return -1;
	}
	if (a.flags & ADDRESS_UTF8)
		*utf8 = 1;
	strlcpy(out, a.canon, ADDRESS_PATH_MAX + 1);
	return 0;
}

/* addrlist's callback: one recipient more, unless already there. */
static int
rcpt_add(void *arg, const char *addr, char *err, size_t errlen)
{
	struct rcpt_set	 *rs = arg;
	char		  canon[ADDRESS_PATH_MAX + 1], **v;
	size_t		  i;

	if (address_fix(addr, rs->origin, canon, &rs->utf8, err, errlen) ==
	    -1)
		return -1;
	for (i = 0; i < rs->n; i++)
		if (strcasecmp(rs->v[i], canon) == 0)
			return 0;
	if (rs->n >= SM_RCPT_MAX) {
		snprintf(err, errlen, "more than %d recipients", SM_RCPT_MAX);
		return -1;
	}
	if (rs->n == rs->cap) {
		if ((v = reallocarray(rs->v, rs->cap ? rs->cap * 2 : 8,
		    sizeof(*v))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		rs->v = v;
		rs->cap = rs->cap ? rs->cap * 2 : 8;
	}
	if ((rs->v[rs->n] = strdup(canon)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rs->n++;
	return 0;
}

/* The operands: each may be a list ("a, B <b@example.org>"). */
static int
rcpts_from_args(const struct sm_opts *o, struct rcpt_set *rs)
{
	char	err[SM_ERR_MAX];
	int	i;

	for (i = 0; i < o->nrcpts; i++)
		if (addrlist_parse(o->rcpts[i], strlen(o->rcpts[i]), rcpt_add,
		    rs, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s: %s\n", sm_progname, err);
			return EX_DATAERR;
		}
	return 0;
}

/* -f as given ("<>" or "" for the null sender, a bare name qualified),
 * or the caller's own address. smtpd decides whether it may be used. */
static int
sender_of(const struct sm_opts *o, const struct passwd *pw,
    const char *origin, char *out, int *utf8)
{
	char	f[ADDRLIST_ADDR_MAX + 1], err[SM_ERR_MAX];
	size_t	n;

	if (o->sender == NULL) {
		snprintf(f, sizeof(f), "%s", pw->pw_name);
		return address_fix(f, origin, out, utf8, err, sizeof(err)) ==
		    0 ? 0 : (fprintf(stderr, "%s: %s\n", sm_progname, err),
		    EX_NOUSER);
	}
	strlcpy(f, o->sender, sizeof(f));
	n = strlen(f);
	if (n >= 2 && f[0] == '<' && f[n - 1] == '>') {
		memmove(f, f + 1, n - 2);
		f[n - 2] = '\0';
	}
	if (f[0] == '\0') {
		out[0] = '\0';
		return 0;
	}
	if (address_fix(f, origin, out, utf8, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: -f %s\n", sm_progname, err);
		return EX_DATAERR;
	}
	return 0;
}

/* The full name for an added From:: -F, else the password database's
 * (its first comma-separated field). */
static const char *
full_name(const struct sm_opts *o, const struct passwd *pw, char *buf,
    size_t len)
{
	if (o->fullname != NULL)
		return o->fullname;
	if (pw->pw_gecos == NULL)
		return NULL;
	strlcpy(buf, pw->pw_gecos, len);
	buf[strcspn(buf, ",")] = '\0';
	return buf;
}

/* Date: and Message-ID: for the maildrop (smtpd adds them otherwise). */
static int
add_date_id(struct sm_msg *m, const char *hostname)
{
	char	line[512], date[MAILDATE_MAX];
	time_t	now = time(NULL);

	if (!sm_has_header(m, "Date") && mail_date(now, date,
	    sizeof(date)) == 0) {
		snprintf(line, sizeof(line), "Date: %s", date);
		if (sm_add_header(m, line) != 0)
			return EX_OSERR;
	}
	if (!sm_has_header(m, "Message-ID")) {
		snprintf(line, sizeof(line), "Message-ID: <%llX.%X.%08X@%s>",
		    (unsigned long long)now, (unsigned)getpid(),
		    arc4random(), hostname);
		if (sm_add_header(m, line) != 0)
			return EX_OSERR;
	}
	return 0;
}

/* The header section as the message will go: recipients taken, Bcc:
 * gone, From: there. */
static int
prepare(const struct sm_opts *o, const struct passwd *pw,
    struct sm_submit *sub, struct rcpt_set *rs)
{
	char	line[1024], name[256], from[ADDRESS_PATH_MAX + 1];
	int	rc;

	if ((rc = rcpts_from_args(o, rs)) != 0)
		return rc;
	if (o->extract && (rc = sm_extract(sub->msg, rcpt_add, rs)) != 0)
		return rc;
	if (rs->n == 0) {
		fprintf(stderr, "%s: no recipient addresses found%s\n",
		    sm_progname, o->extract ? " in the header" : "");
		return EX_USAGE;
	}
	sm_remove_bcc(sub->msg);
	if (!sm_has_header(sub->msg, "From")) {
		if (sub->sender[0] != '\0')
			strlcpy(from, sub->sender, sizeof(from));
		else
			snprintf(from, sizeof(from), "%s@%s", pw->pw_name,
			    rs->origin);
		if (sm_from_header(from, full_name(o, pw, name, sizeof(name)),
		    line, sizeof(line)) == -1)
			return EX_DATAERR;
		if ((rc = sm_add_header(sub->msg, line)) != 0)
			return rc;
	}
	sub->rcpts = rs->v;
	sub->nrcpts = rs->n;
	sub->smtputf8 = rs->utf8;
	return 0;
}

/* Over the submit socket, or into the maildrop if nobody listens. */
static int
submit(struct sm_submit *sub)
{
	int	fd, rc;

	if ((rc = sm_submit_connect(sub->spool, &fd)) == 0)
		return sm_smtp_send(sub, fd);
	if (rc != SM_NO_DAEMON)
		return rc;
	if ((rc = add_date_id(sub->msg, sub->hostname)) != 0)
		return rc;
	return sm_drop(sub);
}

static int
send_main(const struct sm_opts *o, const struct config *cf)
{
	struct sm_submit	 sub;
	struct sm_msg		 msg;
	struct rcpt_set		 rs;
	struct passwd		*pw;
	char			 sender[ADDRESS_PATH_MAX + 1];
	int			 rc;

	if ((pw = getpwuid(getuid())) == NULL) {
		fprintf(stderr, "%s: who are you? (uid %u has no login)\n",
		    sm_progname, (unsigned)getuid());
		return EX_NOUSER;
	}
	memset(&sub, 0, sizeof(sub));
	memset(&rs, 0, sizeof(rs));
	rs.origin = config_origin(cf);
	if ((rc = sender_of(o, pw, rs.origin, sender, &rs.utf8)) != 0)
		return rc;
	if ((rc = sm_read(stdin, o->ignore_dots, cf->message_size_limit,
	    &msg)) == 0) {
		sub.hostname = cf->hostname;
		sub.spool = cf->spool_dir;
		sub.sender = sender;
		sub.notify = o->notify;
		sub.ret = o->ret;
		sub.envid = o->envid;
		sub.msg = &msg;
		sub.verbose = o->verbose;
		if ((rc = prepare(o, pw, &sub, &rs)) == 0)
			rc = submit(&sub);
	}
	sm_msg_free(&msg);
	while (rs.n > 0)
		free(rs.v[--rs.n]);
	free(rs.v);
	return rc;
}

int
main(int argc, char **argv)
{
	struct sm_opts	 o;
	struct config	*cf;
	char		 err[SM_ERR_MAX], *base;
	int		 rc;

	sm_priv_init();
	signal(SIGPIPE, SIG_IGN);
	base = basename(argv[0]);
	if (strcmp(base, "mailq") == 0 || strcmp(base, "newaliases") == 0)
		sm_progname = base;
	if (sm_opts_parse(argc, argv, base, &o, err, sizeof(err)) != 0)
		usage(err);
	if (o.mode != SM_MODE_SEND)
		sm_priv_forget();
	switch (o.mode) {
	case SM_MODE_MAILQ:
		ctl_progname = sm_progname;
		return ctl_mailq_main(config_path(&o));
	case SM_MODE_NEWALIASES:
		return newaliases_run(config_path(&o), o.verbose);
	case SM_MODE_FLUSH:
		ctl_progname = sm_progname;
		return ctl_flush_main(config_path(&o));
	case SM_MODE_NOTHING:
		return EX_OK;
	default:
		break;
	}
	cf = config_open(config_path(&o));
	if (o.mode == SM_MODE_SMTP)
		rc = sm_relay(cf->spool_dir, cf->hostname);
	else
		rc = send_main(&o, cf);
	config_free(cf);
	if (fflush(stdout) == EOF && rc == 0)
		rc = EX_IOERR;
	return rc;
}
