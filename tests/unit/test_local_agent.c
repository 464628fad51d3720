/*
 * test_local_agent.c: bulwark-local end to end. The test plays master,
 * qmgr and lookup around the real binary (build/bulwark-local, or
 * $BULWARK_LOCAL), with a temporary system user, and checks what lands in
 * the Maildir or the mbox: content, owner, mode, and every refusal. It
 * needs root (useradd, setuid children); otherwise it exits 77 (skip).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "proto.h"
#include "wire.h"

#define SKIP		77
#define WAIT_MS		20000
#define NCONCURRENT	30	/* more than LOCAL_MAX_CHILDREN */

struct agent {
	pid_t	pid;
	int	ctl, qmgr, lookup;
};

static char		user[32], home[PATH_MAX], spool[PATH_MAX];
static uid_t		uid;
static gid_t		gid;
static int		user_made;
static uint8_t		rbuf[IPC_HDR_SIZE + IPC_MAX_PAYLOAD];
static struct wire_w	w;
static uint32_t		next_id = 1;

static const struct ipc_rule test_rules[] = {
	{ CTL_READY, 4, 4, IPC_FD_NONE },
	{ CTL_BADPEER, 4, 4, IPC_FD_NONE },
	{ DL_RESULT, 16, 1024, IPC_FD_NONE },
	{ LK_EXPAND, 8, 1024, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

/* snprintf that fails the test rather than cut the text short */
static void __attribute__((format(printf, 3, 4)))
fmt(char *buf, size_t len, const char *f, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		fprintf(stderr, "FAIL: text too long for its buffer\n");
		exit(1);
	}
}

static void
cleanup(void)
{
	char	cmd[PATH_MAX + 64];

	if (user_made) {
		fmt(cmd, sizeof(cmd), "userdel %s 2>/dev/null", user);
		if (system(cmd) != 0)
			fprintf(stderr, "userdel %s failed\n", user);
		user_made = 0;
	}
	if (home[0] != '\0') {
		fmt(cmd, sizeof(cmd), "rm -rf %s %s", home, spool);
		(void)!system(cmd);
	}
}

static void __attribute__((format(printf, 1, 2), noreturn))
fail(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

#define CHECK(c)	do { if (!(c)) fail("%s:%d: %s", __FILE__, __LINE__, \
			    #c); } while (0)

static void
make_user(void)
{
	struct passwd	*pw;
	char		 cmd[PATH_MAX + 128];

	fmt(user, sizeof(user), "bwlt%ld", (long)getpid());
	strlcpy(home, "/tmp/bwlt-home.XXXXXX", sizeof(home));
	strlcpy(spool, "/tmp/bwlt-spool.XXXXXX", sizeof(spool));
	CHECK(mkdtemp(home) != NULL && mkdtemp(spool) != NULL);
	fmt(cmd, sizeof(cmd), "useradd -M -N -g nogroup -d %s "
	    "-s /usr/sbin/nologin %s", home, user);
	CHECK(system(cmd) == 0);
	user_made = 1;
	CHECK((pw = getpwnam(user)) != NULL);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	CHECK(chown(home, uid, gid) == 0 && chmod(home, 0700) == 0);
	CHECK(chmod(spool, 0755) == 0);		/* root's, like /var/mail */
}

static const char *
agent_path(void)
{
	static char	path[PATH_MAX];
	char		*slash;
	ssize_t		 n;

	if (getenv("BULWARK_LOCAL") != NULL)
		return getenv("BULWARK_LOCAL");
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	CHECK(n > 0);
	path[n] = '\0';
	CHECK((slash = strrchr(path, '/')) != NULL);
	strlcpy(slash, "/../bulwark-local", sizeof(path) - (size_t)(slash -
	    path));
	return path;
}

static void
recv_frame(int sock, struct ipc_msg *m)
{
	struct pollfd	 pfd = { .fd = sock, .events = POLLIN };
	const char	*why;

	if (poll(&pfd, 1, WAIT_MS) != 1)
		fail("no frame within %d ms", WAIT_MS);
	if (ipc_recv_blocking(sock, test_rules, rbuf, sizeof(rbuf), m,
	    &why) == -1)
		fail("receive: %s", why);
}

static void
send_link(int ctl, enum proc_kind kind, uint32_t id, int fd)
{
	wire_w_init(&w);
	wire_w_u32(&w, kind);
	wire_w_u32(&w, id);
	CHECK(ipc_send_fd(ctl, CTL_LINK, w.buf, w.len, fd) == 0);
}

static void
send_config(int ctl, const char *text)
{
	int	fd;

	CHECK((fd = memfd_create("bulwark.conf", MFD_CLOEXEC)) != -1);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	wire_w_init(&w);
	wire_w_u32(&w, 1);
	wire_w_str(&w, "test.conf");
	CHECK(ipc_send_fd(ctl, CTL_CONFIG, w.buf, w.len, fd) == 0);
	close(fd);
}

static void
exec_agent(int ctl)
{
	const char	*path = agent_path();

	if (dup2(ctl, 3) == -1 || fcntl(3, F_SETFD, 0) == -1)
		_exit(127);
	execl(path, "bulwark-local", "-F", "-i", "7", (char *)NULL);
	fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

static void
agent_start(struct agent *a, const char *conf)
{
	struct ipc_msg	m;
	int		ctl[2], q[2], l[2];

	CHECK(ipc_socketpair(ctl) == 0 && ipc_socketpair(q) == 0 &&
	    ipc_socketpair(l) == 0);
	CHECK((a->pid = fork()) != -1);
	if (a->pid == 0)
		exec_agent(ctl[1]);
	close(ctl[1]);
	a->ctl = ctl[0];
	a->qmgr = q[0];
	a->lookup = l[0];
	send_config(a->ctl, conf);
	send_link(a->ctl, PROC_QMGR, 10, q[1]);
	send_link(a->ctl, PROC_LOOKUP, 11, l[1]);
	close(q[1]);
	close(l[1]);
	CHECK(ipc_send_fd(a->ctl, CTL_START, NULL, 0, -1) == 0);
	recv_frame(a->ctl, &m);
	CHECK(m.type == CTL_READY);
}

static void
agent_stop(struct agent *a)
{
	int	status, i;

	close(a->ctl);		/* "master went away": it exits */
	close(a->qmgr);
	if (a->lookup != -1)
		close(a->lookup);
	for (i = 0; i < 100 && waitpid(a->pid, &status, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 100) {
		kill(a->pid, SIGKILL);
		(void)waitpid(a->pid, &status, 0);
		fail("agent did not exit");
	}
}

static int
msg_file(const char *text)
{
	char	path[] = "/tmp/bwlt-msg.XXXXXX";
	int	fd, ro;

	CHECK((fd = mkstemp(path)) != -1);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	CHECK((ro = open(path, O_RDONLY | O_CLOEXEC)) != -1);
	unlink(path);
	close(fd);
	return ro;
}

/* One delivery of the queue file fd (left open). */
static uint32_t
send_deliver_as(struct agent *a, const char *qid, uint32_t flags,
    const char *sender, const char *rcpt, int fd)
{
	uint32_t	id = next_id++;

	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_str(&w, qid);
	wire_w_str(&w, sender);
	wire_w_str(&w, rcpt);
	wire_w_str(&w, rcpt);
	wire_w_u32(&w, flags);
	CHECK(ipc_send_fd(a->qmgr, DL_DELIVER, w.buf, w.len, fd) == 0);
	return id;
}

/* Not a queue id of qmgr's: every delivery makes its own copy. */
static uint32_t
send_deliver(struct agent *a, const char *sender, const char *rcpt,
    const char *text)
{
	int		fd = msg_file(text);
	uint32_t	id;

	id = send_deliver_as(a, "QID00042", 0, sender, rcpt, fd);
	close(fd);
	return id;
}

/* Reads one LK_EXPAND; returns its id and leaves the address in addr. */
static uint32_t
recv_lookup(struct agent *a, char *addr, size_t len)
{
	struct ipc_msg	m;
	struct wire_r	r;
	uint32_t	id;

	recv_frame(a->lookup, &m);
	CHECK(m.type == LK_EXPAND);
	wire_r_init(&r, &m);
	id = wire_r_u32(&r);
	wire_r_str(&r, addr, len);
	CHECK(wire_r_end(&r) == 0);
	return id;
}

/* The answer of lookup: the test user's mailbox, or a refusal. */
static void
answer_lookup(struct agent *a, uint32_t id, uint32_t status, uid_t u,
    gid_t g)
{
	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_u32(&w, status);
	wire_w_str(&w, status == LK_OK ? "2.0.0" : status == LK_TEMPFAIL ?
	    "4.3.0" : "5.1.1");
	wire_w_str(&w, status == LK_OK ? "" : "refused by the test");
	wire_w_u32(&w, status == LK_OK ? 1 : 0);
	if (status == LK_OK) {
		wire_w_u32(&w, LKD_USER);
		wire_w_u32(&w, u);
		wire_w_u32(&w, g);
		wire_w_str(&w, user);
		wire_w_str(&w, home);
		wire_w_str(&w, "");
		wire_w_str(&w, "");
	}
	CHECK(ipc_send_fd(a->lookup, LK_EXPAND_REPLY, w.buf, w.len, -1) == 0);
}

/* The DL_RESULT for id: status and dsn checked, text returned. */
static void
expect_result(struct agent *a, uint32_t id, uint32_t status, const char *dsn)
{
	struct ipc_msg	m;
	struct wire_r	r;
	char		got_dsn[16], text[512];
	uint32_t	got_id, got_status;

	recv_frame(a->qmgr, &m);
	CHECK(m.type == DL_RESULT);
	wire_r_init(&r, &m);
	got_id = wire_r_u32(&r);
	got_status = wire_r_u32(&r);
	wire_r_str(&r, got_dsn, sizeof(got_dsn));
	wire_r_str(&r, text, sizeof(text));
	CHECK(wire_r_end(&r) == 0);
	if (got_id != id || got_status != status || strcmp(got_dsn, dsn) != 0)
		fail("result %u: status %u dsn %s (%s), wanted %u: %u %s",
		    got_id, got_status, got_dsn, text, id, status, dsn);
}

/* One delivery with one lookup answered as asked. */
static void
deliver_one(struct agent *a, const char *rcpt, const char *text,
    uint32_t lk_status, uid_t u, uint32_t want, const char *dsn)
{
	char		addr[256];
	uint32_t	id, qid;

	id = send_deliver(a, "alice@example.net", rcpt, text);
	qid = recv_lookup(a, addr, sizeof(addr));
	CHECK(strcmp(rcpt, addr) == 0);
	answer_lookup(a, qid, lk_status, u, gid);
	expect_result(a, id, want, dsn);
}

static int
count_dir(const char *dir)
{
	struct dirent	*e;
	DIR		*dp;
	int		 n = 0;

	CHECK((dp = opendir(dir)) != NULL);
	while ((e = readdir(dp)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}

/* The content of the one (or first) file in new/, with its stat. */
static char *
read_new(struct stat *sb)
{
	static char	 buf[8192];
	char		 dir[PATH_MAX + 32], path[PATH_MAX + 300];
	struct dirent	*e;
	DIR		*dp;
	ssize_t		 n;
	int		 fd;

	fmt(dir, sizeof(dir), "%s/Maildir/new", home);
	CHECK((dp = opendir(dir)) != NULL);
	while ((e = readdir(dp)) != NULL && e->d_name[0] == '.')
		;
	CHECK(e != NULL);
	fmt(path, sizeof(path), "%s/%s", dir, e->d_name);
	closedir(dp);
	CHECK((fd = open(path, O_RDONLY)) != -1 && fstat(fd, sb) == 0);
	CHECK((n = read(fd, buf, sizeof(buf) - 1)) >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void
test_maildir(void)
{
	struct agent	 a;
	struct stat	 sb;
	char		 rcpt[128], want[512], dir[PATH_MAX + 32];
	const char	*text;

	agent_start(&a, "hostname mx.example.org\nlocal-domains example.org\n");
	fmt(rcpt, sizeof(rcpt), "%s+Tag@Example.ORG", user);
	deliver_one(&a, rcpt, "Subject: hi\r\n\r\nFrom me\r\n", LK_OK, uid,
	    DL_OK, "2.0.0");
	text = read_new(&sb);
	fmt(want, sizeof(want), "Return-Path: <alice@example.net>\n"
	    "Delivered-To: %s+Tag@example.org\nSubject: hi\n\nFrom me\n", user);
	CHECK(strcmp(text, want) == 0);
	CHECK(sb.st_uid == uid && sb.st_gid == gid);
	CHECK((sb.st_mode & 07777) == 0600);
	fmt(dir, sizeof(dir), "%s/Maildir", home);
	CHECK(stat(dir, &sb) == 0 && sb.st_uid == uid &&
	    (sb.st_mode & 07777) == 0700);
	fmt(dir, sizeof(dir), "%s/Maildir/tmp", home);
	CHECK(count_dir(dir) == 0);

	/* a loop: already delivered to this recipient */
	fmt(want, sizeof(want), "Delivered-To: %s+tag@example.org\r\n"
	    "\r\nx\r\n", user);
	deliver_one(&a, rcpt, want, LK_OK, uid, DL_PERMFAIL, "5.4.6");
	deliver_one(&a, rcpt, "A: b\r\n\r\n", LK_NOUSER, 0, DL_PERMFAIL,
	    "5.1.1");
	deliver_one(&a, rcpt, "A: b\r\n\r\n", LK_TEMPFAIL, 0, DL_TEMPFAIL,
	    "4.3.0");
	deliver_one(&a, rcpt, "A: b\r\n\r\n", LK_OK, 0, DL_PERMFAIL, "5.7.1");
	/* refused before any lookup */
	expect_result(&a, send_deliver(&a, "", "@example.org", "A: b\r\n"),
	    DL_PERMFAIL, "5.1.3");
	expect_result(&a, send_deliver(&a, "", "bob@elsewhere.example",
	    "A: b\r\n"), DL_TEMPFAIL, "4.3.5");
	expect_result(&a, send_deliver(&a, "a\r\nX: y", rcpt, "A: b\r\n"),
	    DL_PERMFAIL, "5.1.7");
	fmt(dir, sizeof(dir), "%s/Maildir/new", home);
	CHECK(count_dir(dir) == 1);
	agent_stop(&a);
}

/* More deliveries at once than children may run: all get through. */
static void
test_concurrency(void)
{
	struct agent	a;
	char		rcpt[128], local[256], dir[PATH_MAX + 32];
	uint32_t	q;
	int		i;

	agent_start(&a, "hostname mx.example.org\nlocal-domains example.org\n");
	fmt(rcpt, sizeof(rcpt), "%s@example.org", user);
	for (i = 0; i < NCONCURRENT; i++)
		(void)send_deliver(&a, "", rcpt, "A: b\r\n\r\nbody\r\n");
	for (i = 0; i < NCONCURRENT; i++) {
		q = recv_lookup(&a, local, sizeof(local));
		answer_lookup(&a, q, LK_OK, uid, gid);
	}
	for (i = 0; i < NCONCURRENT; i++) {
		struct ipc_msg	m;
		struct wire_r	r;

		recv_frame(a.qmgr, &m);
		CHECK(m.type == DL_RESULT);
		wire_r_init(&r, &m);
		(void)wire_r_u32(&r);
		CHECK(wire_r_u32(&r) == DL_OK);
	}
	fmt(dir, sizeof(dir), "%s/Maildir/new", home);
	CHECK(count_dir(dir) == NCONCURRENT + 1);

	/* lookup goes away: a query in flight and the next fail soft */
	(void)send_deliver(&a, "", rcpt, "A: b\r\n\r\n");
	(void)recv_lookup(&a, local, sizeof(local));
	close(a.lookup);
	a.lookup = -1;
	expect_result(&a, next_id - 1, DL_TEMPFAIL, "4.3.0");
	q = send_deliver(&a, "", rcpt, "A: b\r\n\r\n");
	expect_result(&a, q, DL_TEMPFAIL, "4.3.0");
	agent_stop(&a);
}

static void
test_mbox(void)
{
	struct agent	 a;
	struct stat	 sb;
	char		 conf[PATH_MAX + 256], rcpt[128], path[PATH_MAX + 64];
	char		 buf[4096], *p;
	ssize_t		 n;
	int		 fd;

	fmt(conf, sizeof(conf), "hostname mx.example.org\nlocal-domains "
	    "example.org\ndelivery-format mbox\nmbox-path %s/%%u\n", spool);
	agent_start(&a, conf);
	fmt(rcpt, sizeof(rcpt), "%s@example.org", user);
	deliver_one(&a, rcpt, "Subject: one\r\n\r\nFrom here\r\n", LK_OK, uid,
	    DL_OK, "2.0.0");
	deliver_one(&a, rcpt, "Subject: two\r\n\r\nbody\r\n", LK_OK, uid,
	    DL_OK, "2.0.0");
	fmt(path, sizeof(path), "%s/%s", spool, user);
	CHECK((fd = open(path, O_RDONLY)) != -1 && fstat(fd, &sb) == 0);
	CHECK(sb.st_uid == uid && (sb.st_mode & 07777) == 0600);
	CHECK((n = read(fd, buf, sizeof(buf) - 1)) > 0);
	buf[n] = '\0';
	close(fd);
	CHECK(strncmp(buf, "From alice@example.net ", 23) == 0);
	CHECK((p = strstr(buf, "\nSubject: one\n\n>From here\n\nFrom "))
	    != NULL);
	CHECK(strstr(p, "\nSubject: two\n\nbody\n\n") != NULL);
	CHECK(buf[n - 1] == '\n' && buf[n - 2] == '\n');

	/* a symlink where the mailbox should be */
	CHECK(unlink(path) == 0 && symlink("/etc/passwd", path) == 0);
	deliver_one(&a, rcpt, "A: b\r\n\r\n", LK_OK, uid, DL_PERMFAIL,
	    "5.2.0");
	agent_stop(&a);
}

/* One destination of an LK_EXPAND_REPLY, with the test user's rights. */
static void
put_dest(uint32_t kind, uid_t u, const char *detail, const char *arg)
{
	int	nobody = kind == LKD_FORWARD || kind == LKD_NOUSER;

	wire_w_u32(&w, kind);
	wire_w_u32(&w, nobody ? 0 : u);
	wire_w_u32(&w, nobody ? 0 : gid);
	wire_w_str(&w, nobody ? "" : user);
	wire_w_str(&w, nobody ? "" : home);
	wire_w_str(&w, detail);
	wire_w_str(&w, arg);
}

/* Sends the reply built in w after id, status OK and n destinations. */
static uint32_t
expand_begin(struct agent *a, const char *rcpt, const char *text,
    uint32_t n)
{
	char		addr[256];
	uint32_t	id, q;

	id = send_deliver(a, "s@example.net", rcpt, text);
	q = recv_lookup(a, addr, sizeof(addr));
	CHECK(strcmp(addr, rcpt) == 0);
	wire_w_init(&w);
	wire_w_u32(&w, q);
	wire_w_u32(&w, LK_OK);
	wire_w_str(&w, "2.0.0");
	wire_w_str(&w, "");
	wire_w_u32(&w, n);
	return id;
}

static void
expand_end(struct agent *a)
{
	CHECK(ipc_send_fd(a->lookup, LK_EXPAND_REPLY, w.buf, w.len, -1) == 0);
}

static char *
read_file(const char *path)
{
	static char	buf[4096];
	ssize_t		n;
	int		fd;

	CHECK((fd = open(path, O_RDONLY)) != -1);
	CHECK((n = read(fd, buf, sizeof(buf) - 1)) >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* An alias's worth of destinations for one recipient: each delivered
 * as the user, one answer for all. */
static void
test_destinations(void)
{
	struct agent	a;
	char		inbox[PATH_MAX + 32], box[PATH_MAX + 32];
	char		file[PATH_MAX + 32], cmd[PATH_MAX * 2], out[PATH_MAX];
	int		before;
	uint32_t	id;

	agent_start(&a, "hostname mx.example.org\nlocal-domains example.org"
	    "\nmaildir-detail-folders on\n");
	fmt(inbox, sizeof(inbox), "%s/Maildir/new", home);
	fmt(box, sizeof(box), "%s/Maildir/.box/new", home);
	fmt(file, sizeof(file), "%s/archive", home);
	fmt(out, sizeof(out), "%s/piped", home);
	fmt(cmd, sizeof(cmd), "cat > \"$HOME/piped\"; printf '%%s %%s' "
	    "\"$RECIPIENT\" \"$SENDER\" > \"$HOME/env\"");
	before = count_dir(inbox);
	id = expand_begin(&a, "list@example.org", "Subject: multi\r\n\r\n"
	    "From x\r\n", 5);
	put_dest(LKD_USER, uid, "", "");
	put_dest(LKD_USER, uid, "box", "");
	put_dest(LKD_FILE, uid, "", file);
	put_dest(LKD_PIPE, uid, "", cmd);
	put_dest(LKD_NOUSER, 0, "", "ghost");
	expand_end(&a);
	expect_result(&a, id, DL_OK, "2.0.0");	/* 4 of 5 */
	CHECK(count_dir(inbox) == before + 1 && count_dir(box) == 1);
	CHECK(strncmp(read_file(file), "From s@example.net ", 19) == 0);
	CHECK(strstr(read_file(file), "\nSubject: multi\n\n>From x\n\n"));
	CHECK(strcmp(read_file(out), "Return-Path: <s@example.net>\n"
	    "Delivered-To: list@example.org\nSubject: multi\n\nFrom x\n") == 0);
	fmt(out, sizeof(out), "%s/env", home);
	CHECK(strcmp(read_file(out), "list@example.org s@example.net") == 0);

	/* any deferral defers; all bounced bounces; root is refused */
	id = expand_begin(&a, "list@example.org", "A: b\r\n\r\n", 2);
	put_dest(LKD_USER, uid, "", "");
	put_dest(LKD_FORWARD, 0, "", "x@elsewhere.example");
	expand_end(&a);
	expect_result(&a, id, DL_TEMPFAIL, "4.3.5");
	id = expand_begin(&a, "list@example.org", "A: b\r\n\r\n", 3);
	put_dest(LKD_NOUSER, 0, "", "ghost");
	put_dest(LKD_PIPE, 0, "", "true");
	put_dest(LKD_PIPE, uid, "", "echo no; exit 67");
	expand_end(&a);
	expect_result(&a, id, DL_PERMFAIL, "5.1.1");
	id = expand_begin(&a, "list@example.org", "A: b\r\n\r\n", 1);
	put_dest(LKD_PIPE, uid, "", "exit 75");
	expand_end(&a);
	expect_result(&a, id, DL_TEMPFAIL, "4.3.0");

	/* a destination lookup should never send: the link is dropped */
	id = expand_begin(&a, "list@example.org", "A: b\r\n\r\n", 1);
	put_dest(LKD_FILE, uid, "", "relative/path");
	expand_end(&a);
	expect_result(&a, id, DL_TEMPFAIL, "4.3.0");
	agent_stop(&a);

	/* commands and files switched off */
	agent_start(&a, "hostname mx.example.org\nlocal-domains example.org"
	    "\nallow-commands off\nallow-files off\n");
	id = expand_begin(&a, "list@example.org", "A: b\r\n\r\n", 2);
	put_dest(LKD_PIPE, uid, "", "true");
	put_dest(LKD_FILE, uid, "", file);
	expand_end(&a);
	expect_result(&a, id, DL_PERMFAIL, "5.7.1");
	id = expand_begin(&a, "list@example.org", "A: b\r\n\r\n", 1);
	put_dest(LKD_FILE, uid, "", "/dev/null");
	expand_end(&a);
	expect_result(&a, id, DL_OK, "2.0.0");
	agent_stop(&a);
}

/* One destination of two deferred: the retry of the same recipient
 * delivers only the one that was deferred (the record in the spool),
 * and the record goes once the recipient is answered for good. */
static void
test_retry_skips_delivered(void)
{
	struct agent	a;
	char		conf[PATH_MAX + 256], inbox[PATH_MAX + 32];
	char		flag[PATH_MAX + 32], cmd[PATH_MAX * 2], rec[PATH_MAX + 32];
	int		before;
	uint32_t	id;

	fmt(conf, sizeof(conf), "hostname mx.example.org\nlocal-domains "
	    "example.org\nspool-directory %s\n", spool);
	fmt(inbox, sizeof(inbox), "%s/Maildir/new", home);
	fmt(flag, sizeof(flag), "%s/ok-now", home);
	fmt(cmd, sizeof(cmd), "test -e \"$HOME/ok-now\" || exit 75; "
	    "cat > \"$HOME/piped-retry\"");
	fmt(rec, sizeof(rec), "%s/delivered", spool);
	agent_start(&a, conf);
	before = count_dir(inbox);
	id = expand_begin(&a, "list@example.org", "Subject: retry\r\n\r\n",
	    2);
	put_dest(LKD_USER, uid, "", "");
	put_dest(LKD_PIPE, uid, "", cmd);
	expand_end(&a);
	expect_result(&a, id, DL_TEMPFAIL, "4.3.0");
	CHECK(count_dir(inbox) == before + 1 && count_dir(rec) == 1);

	/* the command can take it now: the mailbox gets no second copy */
	CHECK(close(open(flag, O_WRONLY | O_CREAT, 0600)) == 0);
	CHECK(chown(flag, uid, gid) == 0);
	id = expand_begin(&a, "list@example.org", "Subject: retry\r\n\r\n",
	    2);
	put_dest(LKD_USER, uid, "", "");
	put_dest(LKD_PIPE, uid, "", cmd);
	expand_end(&a);
	expect_result(&a, id, DL_OK, "2.0.0");
	CHECK(count_dir(inbox) == before + 1 && count_dir(rec) == 0);
	agent_stop(&a);
}

/* The same delivery again (its answer was lost: qmgr, the agent or the
 * master was killed after the write): the copy of the first try is
 * found, in new/ or, on a retry, where a reader moved it in cur/, and
 * no second one is made. The same queue file to another recipient, or
 * another file under the same queue id, is another delivery. */
static void
test_lost_answer(void)
{
	struct agent	 a;
	char		 rcpt[128], local[256], newd[PATH_MAX + 32];
	char		 curd[PATH_MAX + 32], from[PATH_MAX * 2];
	char		 to[PATH_MAX * 2], name[256];
	const char	*qid = "6B04B29C80384027";
	struct dirent	*e;
	DIR		*dp;
	uint32_t	 id, q;
	int		 i, before, fd;

	agent_start(&a, "hostname mx.example.org\nlocal-domains example.org\n");
	fmt(rcpt, sizeof(rcpt), "%s@example.org", user);
	fmt(newd, sizeof(newd), "%s/Maildir/new", home);
	fmt(curd, sizeof(curd), "%s/Maildir/cur", home);
	before = count_dir(newd);
	fd = msg_file("Subject: once\r\n\r\nbody\r\n");
	for (i = 0; i < 3; i++) {
		id = send_deliver_as(&a, qid, i == 2 ? DL_F_RETRY : 0, "",
		    rcpt, fd);
		q = recv_lookup(&a, local, sizeof(local));
		answer_lookup(&a, q, LK_OK, uid, gid);
		expect_result(&a, id, DL_OK, "2.0.0");
		CHECK(count_dir(newd) == before + 1);
	}
	/* named after the delivery: the queue id's time and the queue id */
	CHECK((dp = opendir(newd)) != NULL);
	name[0] = '\0';
	while ((e = readdir(dp)) != NULL)
		if (strncmp(e->d_name, "1795469980.B6B04B29C80384027R", 29) == 0)
			strlcpy(name, e->d_name, sizeof(name));
	closedir(dp);
	CHECK(name[0] != '\0');

	/* a reader took it to cur/: a retry finds it there */
	fmt(from, sizeof(from), "%s/%s", newd, name);
	fmt(to, sizeof(to), "%s/%s:2,S", curd, name);
	CHECK(rename(from, to) == 0);
	id = send_deliver_as(&a, qid, DL_F_RETRY, "", rcpt, fd);
	q = recv_lookup(&a, local, sizeof(local));
	answer_lookup(&a, q, LK_OK, uid, gid);
	expect_result(&a, id, DL_OK, "2.0.0");
	CHECK(count_dir(newd) == before && count_dir(curd) == 1);

	/* another recipient of the same message is another delivery */
	fmt(rcpt, sizeof(rcpt), "%s+x@example.org", user);
	id = send_deliver_as(&a, qid, DL_F_RETRY, "", rcpt, fd);
	q = recv_lookup(&a, local, sizeof(local));
	answer_lookup(&a, q, LK_OK, uid, gid);
	expect_result(&a, id, DL_OK, "2.0.0");
	CHECK(count_dir(newd) == before + 1);
	/* and so is another queue file under a queue id used again */
	close(fd);
	fd = msg_file("Subject: once\r\n\r\nbody\r\n");
	id = send_deliver_as(&a, qid, 0, "", rcpt, fd);
	q = recv_lookup(&a, local, sizeof(local));
	answer_lookup(&a, q, LK_OK, uid, gid);
	expect_result(&a, id, DL_OK, "2.0.0");
	CHECK(count_dir(newd) == before + 2);
	CHECK(unlink(to) == 0);
	close(fd);
	agent_stop(&a);
}

int
main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "not root: skipped\n");
		return SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);
	make_user();
	test_maildir();
	test_concurrency();
	test_mbox();
	test_destinations();
	test_retry_skips_delivered();
	test_lost_answer();
	printf("ok\n");
	return 0;
}
