/*
 * test_qmgr_handoff.c: bulwark-qmgr end to end without the master. The
 * test plays the master (control socket on fd 3), an smtpd and a
 * deliver-local: it hands messages over, answers deliveries (a tempfail
 * retried, failures and successes reported), kills qmgr -9 to see a
 * restart deliver what was committed, plants damaged files for the
 * recovery scan, and sends hostile frames. Needs root (qmgr chroots and
 * becomes _bulwarkq); exits 77 (skipped) otherwise. BULWARK_QMGR
 * overrides the daemon's path; BULWARK_TEST_KEEP keeps the test spool.
 */

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "privsep.h"
#include "ipc.h"
#include "proto.h"
#include "wire.h"
#include "../../qmgr/qmgr.h"

#define WAIT_MS		5000
#define BODY		"Subject: test\r\n\r\nhello\r\n"

struct qmgr_proc {
	pid_t	pid;
	int	ctl;
	int	smtpd;
	int	local;
};

struct delivery {
	uint32_t	id;
	char		qid[QM_QID_MAX + 1];
	char		sender[QM_ADDR_MAX + 1];
	char		rcpt[QM_ADDR_MAX + 1];
	char		orcpt[QM_ADDR_MAX + 1];
	uint32_t	flags;		/* DL_F_* */
	char		body[8192];
};

static char		 qmgr_path[PATH_MAX];
static char		 spool[64];
static char		 qdir[128];
static int		 fast_retry;	/* config knows queue-retry-min */
static const char	*extra_conf = "";	/* for one test */
static uint8_t		 rbuf[IPC_HDR_SIZE + IPC_MAX_PAYLOAD];
static struct wire_w	 w;
static struct qmgr_proc	 q = { -1, -1, -1, -1 };

static const struct ipc_rule ctl_rules[] = {
	{ CTL_READY, 4, 4, IPC_FD_NONE },
	{ CTL_BADPEER, 4, 4, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

static const struct ipc_rule smtpd_rules[] = {
	{ QM_OPEN_OK, 8, 8 + QM_QID_MAX, IPC_FD_REQUIRED },
	{ QM_OPEN_FAIL, 8, 1024, IPC_FD_NONE },
	{ QM_COMMIT_OK, 8, 8 + QM_QID_MAX, IPC_FD_NONE },
	{ QM_COMMIT_FAIL, 12, 1024, IPC_FD_NONE },
	{ 0, 0, 0, 0 },
};

static const struct ipc_rule local_rules[] = {
	{ DL_DELIVER, 24, 4096, IPC_FD_REQUIRED },
	{ 0, 0, 0, 0 },
};

/*
 * Plumbing.
 */

/* 0 with a frame, -1 on timeout, -2 on EOF or error. */
static int
recv_frame(int sock, const struct ipc_rule *rules, struct ipc_msg *m,
    int ms)
{
	struct pollfd	 pfd = { .fd = sock, .events = POLLIN };
	const char	*why;

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	if (ipc_recv_blocking(sock, rules, rbuf, sizeof(rbuf), m, &why) == -1)
		return -2;
	return 0;
}

static void
send_frame(int sock, uint16_t type, int fd)
{
	assert_false(w.err);
	assert_int_equal(ipc_send_fd(sock, type, w.buf, w.len, fd), 0);
}

static char *
qpath(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%s", qdir, dir, name);
	return buf;
}

static int
exists(const char *dir, const char *name)
{
	char	path[256];

	return access(qpath(dir, name, path, sizeof(path)), F_OK) == 0;
}

/* Wait until dir/name exists (want 1) or not (want 0). */
static int
wait_file(const char *dir, const char *name, int want, int ms)
{
	for (; ms > 0; ms -= 20) {
		if (exists(dir, name) == want)
			return 1;
		usleep(20000);
	}
	return exists(dir, name) == want;
}

static const char *
config_text(void)
{
	static char	text[512];

	snprintf(text, sizeof(text), "hostname mail.example.test\n"
	    "local-domains example.test\nspool-directory %s\n%s%s", spool,
	    fast_retry ? "queue-retry-min 1s\nqueue-retry-max 2s\n" : "",
	    extra_conf);
	return text;
}

static void
send_config(int ctl)
{
	const char	*text = config_text();
	int		 fd;

	fd = memfd_create("test.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL), 0);
	wire_w_init(&w);
	wire_w_u32(&w, 1);
	wire_w_str(&w, "test.conf");
	send_frame(ctl, CTL_CONFIG, fd);
	close(fd);
}

/* A new link to qmgr; returns our end. */
static int
link_peer(enum proc_kind kind, uint32_t id)
{
	int	sv[2];

	assert_int_equal(ipc_socketpair(sv), 0);
	wire_w_init(&w);
	wire_w_u32(&w, kind);
	wire_w_u32(&w, id);
	send_frame(q.ctl, CTL_LINK, sv[1]);
	close(sv[1]);
	return sv[0];
}

static void
qmgr_spawn(void)
{
	struct ipc_msg	m;
	char		log[128];
	int		sv[2], fd;

	assert_int_equal(ipc_socketpair(sv), 0);
	snprintf(log, sizeof(log), "%s/qmgr.log", spool);
	q.pid = fork();
	assert_true(q.pid >= 0);
	if (q.pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) ==
		    -1 || dup2(fd, 2) == -1 || dup2(sv[1], 3) == -1)
			_exit(127);
		execl(qmgr_path, "bulwark-qmgr", "-F", "-D", "-i", "2",
		    (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	q.ctl = sv[0];
	send_config(q.ctl);
	q.smtpd = link_peer(PROC_SMTPD, 10);
	q.local = link_peer(PROC_LOCAL, 11);
	wire_w_init(&w);
	send_frame(q.ctl, CTL_START, -1);
	assert_int_equal(recv_frame(q.ctl, ctl_rules, &m, WAIT_MS), 0);
	assert_int_equal(m.type, CTL_READY);
}

static void
qmgr_kill(void)
{
	int	status;

	if (q.pid <= 0)
		return;
	kill(q.pid, SIGKILL);
	waitpid(q.pid, &status, 0);
	close(q.ctl);
	close(q.smtpd);
	close(q.local);
	q.pid = q.ctl = q.smtpd = q.local = -1;
}

/*
 * The fake smtpd.
 */

static void
open_msg(uint32_t id, char *qid, const char *body)
{
	struct ipc_msg	m;
	struct wire_r	r;
	uint32_t	rid;

	wire_w_init(&w);
	wire_w_u32(&w, id);
	send_frame(q.smtpd, QM_OPEN, -1);
	assert_int_equal(recv_frame(q.smtpd, smtpd_rules, &m, WAIT_MS), 0);
	assert_int_equal(m.type, QM_OPEN_OK);
	wire_r_init(&r, &m);
	rid = wire_r_u32(&r);
	wire_r_str(&r, qid, QM_QID_MAX + 1);
	assert_int_equal(wire_r_end(&r), 0);
	assert_int_equal(rid, id);
	assert_true(envelope_qid_valid(qid));
	assert_int_equal(write(m.fd, body, strlen(body)), (int)strlen(body));
	/* write-only: smtpd cannot read the queue through it */
	assert_int_equal(fcntl(m.fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	close(m.fd);
}

static void
send_rcpt(uint32_t id, const char *qid, const char *addr, const char *orcpt,
    uint32_t notify)
{
	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_str(&w, qid);
	wire_w_str(&w, addr);
	wire_w_str(&w, orcpt);
	wire_w_u32(&w, notify);
	send_frame(q.smtpd, QM_RCPT, -1);
}

static void
send_commit(uint32_t id, const char *qid, const char *sender, uint32_t nrcpt)
{
	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_str(&w, qid);
	wire_w_str(&w, sender);
	wire_w_str(&w, "192.0.2.7");
	wire_w_str(&w, "client.example.net");
	wire_w_str(&w, "client.example.net");
	wire_w_str(&w, "");
	wire_w_u32(&w, QM_BODY_8BITMIME);
	wire_w_u32(&w, 0);
	wire_w_u32(&w, QM_RET_FULL);
	wire_w_str(&w, "envid-1");
	wire_w_u64(&w, strlen(BODY));
	wire_w_u32(&w, nrcpt);
	send_frame(q.smtpd, QM_COMMIT, -1);
}

/* Returns the reply type (QM_COMMIT_OK or QM_COMMIT_FAIL). */
static int
commit(uint32_t id, const char *qid, const char *sender, uint32_t nrcpt)
{
	struct ipc_msg	m;
	struct wire_r	r;
	char		rqid[QM_QID_MAX + 1];

	send_commit(id, qid, sender, nrcpt);
	assert_int_equal(recv_frame(q.smtpd, smtpd_rules, &m, WAIT_MS), 0);
	wire_r_init(&r, &m);
	assert_int_equal(wire_r_u32(&r), id);
	wire_r_str(&r, rqid, sizeof(rqid));
	assert_string_equal(rqid, qid);
	return m.type;
}

/* A committed message with the given recipients; qid is filled in. */
static void
queue_msg(uint32_t id, char *qid, const char *sender, const char **rcpts,
    size_t n)
{
	size_t	i;

	open_msg(id, qid, BODY);
	for (i = 0; i < n; i++)
		send_rcpt(id, qid, rcpts[i], "", QM_NOTIFY_FAILURE);
	assert_int_equal(commit(id, qid, sender, (uint32_t)n), QM_COMMIT_OK);
	assert_true(exists("env", qid));
	assert_true(exists("msg", qid));
}

/*
 * The fake deliver-local.
 */

static int
get_delivery(struct delivery *d, int ms)
{
	struct ipc_msg	m;
	struct wire_r	r;
	ssize_t		n;
	int		rc;

	memset(d, 0, sizeof(*d));
	if ((rc = recv_frame(q.local, local_rules, &m, ms)) != 0)
		return rc;
	assert_int_equal(m.type, DL_DELIVER);
	wire_r_init(&r, &m);
	d->id = wire_r_u32(&r);
	wire_r_str(&r, d->qid, sizeof(d->qid));
	wire_r_str(&r, d->sender, sizeof(d->sender));
	wire_r_str(&r, d->rcpt, sizeof(d->rcpt));
	wire_r_str(&r, d->orcpt, sizeof(d->orcpt));
	d->flags = wire_r_u32(&r);
	assert_int_equal(wire_r_end(&r), 0);
	assert_int_equal(fcntl(m.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	n = pread(m.fd, d->body, sizeof(d->body) - 1, 0);
	assert_true(n >= 0);
	d->body[n] = '\0';
	close(m.fd);
	return 0;
}

static void
answer(const struct delivery *d, enum dl_status st, const char *dsn,
    const char *text)
{
	wire_w_init(&w);
	wire_w_u32(&w, d->id);
	wire_w_u32(&w, st);
	wire_w_str(&w, dsn);
	wire_w_str(&w, text);
	send_frame(q.local, DL_RESULT, -1);
}

static void
read_env(const char *qid, struct envelope *env)
{
	char	path[256], err[256], *text;
	FILE	*f;
	size_t	 n;

	text = malloc(65536);
	assert_non_null(text);
	f = fopen(qpath("env", qid, path, sizeof(path)), "r");
	assert_non_null(f);
	n = fread(text, 1, 65536, f);
	fclose(f);
	if (envelope_parse(env, text, n, err, sizeof(err)) == -1)
		fail_msg("%s: %s", path, err);
	free(text);
}

static void
write_env(const struct envelope *env)
{
	char	path[256], *text;
	size_t	len;
	FILE	*f;

	text = envelope_format(env, &len);
	assert_non_null(text);
	f = fopen(qpath("env", env->qid, path, sizeof(path)), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(text);
}

static int
log_has(const char *needle)
{
	char	path[128], *buf;
	FILE	*f;
	size_t	 n;
	int	 found;

	snprintf(path, sizeof(path), "%s/qmgr.log", spool);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	found = strstr(buf, needle) != NULL;
	free(buf);
	return found;
}

/* Wait until recipient idx of qid is in state st; fills env. */
static void
wait_rcpt_state(const char *qid, size_t idx, enum rcpt_state st,
    struct envelope *env)
{
	int	ms;

	for (ms = 0; ms < WAIT_MS; ms += 20) {
		read_env(qid, env);
		if (env->nrcpt > idx && env->rcpt[idx].state == st)
			return;
		envelope_free(env);
		usleep(20000);
	}
	fail_msg("%s: recipient %zu never reached state %s", qid, idx,
	    envelope_state_name(st));
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The tests.
 */

/* Two recipients handed over; the envelope on disk says what smtpd
 * sent, and the commit was logged. */
static void
handoff_two(char *qid)
{
	struct envelope	env;
	char		line[256];

	open_msg(1, qid, BODY);
	send_rcpt(1, qid, "a@example.test", "rfc822;A@example.test",
	    QM_NOTIFY_FAILURE | QM_NOTIFY_DELAY);
	send_rcpt(1, qid, "b@example.test", "", 0);
	assert_int_equal(commit(1, qid, "sender@example.org", 2), QM_COMMIT_OK);
	read_env(qid, &env);
	assert_int_equal(env.nrcpt, 2);
	assert_string_equal(env.rcpt[0].orcpt, "rfc822;A@example.test");
	assert_int_equal(env.rcpt[0].notify, QM_NOTIFY_FAILURE |
	    QM_NOTIFY_DELAY);
	assert_string_equal(env.envid, "envid-1");
	assert_true(env.size == strlen(BODY));
	envelope_free(&env);
	snprintf(line, sizeof(line), "qid=%s from=<sender@example.org> "
	    "size=%zu nrcpt=2 client=192.0.2.7 status=queued", qid,
	    strlen(BODY));
	assert_true(log_has(line));
}

/* The deferred recipient's next delivery: after queue-retry-min, or, when
 * the configuration cannot make that short, after "time passed" on disk
 * and a restart. */
static void
retry_delivery(const char *qid, struct envelope *env, struct delivery *dr)
{
	int64_t	t0 = now_ms();

	if (fast_retry) {
		assert_int_equal(get_delivery(dr, 4000), 0);
		assert_true(now_ms() - t0 >= 800);
		return;
	}
	assert_true(env->rcpt[1].next_try >= (int64_t)time(NULL) + 290);
	qmgr_kill();
	env->rcpt[1].next_try = 0;
	write_env(env);
	qmgr_spawn();
	assert_int_equal(get_delivery(dr, WAIT_MS), 0);
}

static void
test_delivery_and_retry(void **state)
{
	struct delivery	 da, db, dr, none;
	struct envelope	 env;
	char		 qid[QM_QID_MAX + 1];

	qmgr_spawn();
	handoff_two(qid);
	assert_int_equal(get_delivery(&da, WAIT_MS), 0);
	assert_int_equal(get_delivery(&db, WAIT_MS), 0);
	assert_string_equal(da.qid, qid);
	assert_string_equal(da.sender, "sender@example.org");
	assert_string_equal(da.rcpt, "a@example.test");
	assert_string_equal(da.orcpt, "rfc822;A@example.test");
	assert_string_equal(da.body, BODY);
	assert_string_equal(db.rcpt, "b@example.test");
	assert_true(da.id != db.id);
	assert_int_equal(da.flags, 0);		/* a first try */

	answer(&da, DL_OK, "2.0.0", "delivered to maildir");
	answer(&db, DL_TEMPFAIL, "4.2.2", "mailbox full");
	wait_rcpt_state(qid, 1, RCPT_DEFERRED, &env);
	assert_int_equal(env.rcpt[0].state, RCPT_DELIVERED);
	assert_int_equal(env.rcpt[1].attempts, 1);
	assert_string_equal(env.rcpt[1].dsn, "4.2.2");
	assert_string_equal(env.rcpt[1].text, "mailbox full");
	retry_delivery(qid, &env, &dr);
	envelope_free(&env);
	assert_string_equal(dr.qid, qid);
	assert_string_equal(dr.rcpt, "b@example.test");
	assert_int_equal(dr.flags, 0);	/* the agent said it was not */
	answer(&dr, DL_OK, "2.0.0", "delivered");
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	/* the delivered recipient is not tried again */
	assert_int_equal(get_delivery(&none, 300), -1);
	assert_true(log_has("to=<b@example.test> status=deferred dsn=4.2.2"));
	assert_true(log_has("to=<b@example.test> status=sent dsn=2.0.0"));
	qmgr_kill();
}

static void
test_recovery_after_kill(void **state)
{
	const char	*rcpts[] = { "c@example.test" };
	struct delivery	 d, again;
	char		 qid[QM_QID_MAX + 1];

	qmgr_spawn();
	queue_msg(2, qid, "s@example.org", rcpts, 1);
	assert_int_equal(get_delivery(&d, WAIT_MS), 0);
	qmgr_kill();		/* the delivery was never answered */
	assert_true(exists("env", qid));
	assert_true(exists("msg", qid));

	qmgr_spawn();
	assert_int_equal(get_delivery(&again, WAIT_MS), 0);
	assert_string_equal(again.qid, d.qid);
	assert_string_equal(again.sender, d.sender);
	assert_string_equal(again.rcpt, d.rcpt);
	assert_string_equal(again.orcpt, d.orcpt);
	assert_string_equal(again.body, d.body);
	/* its answer may have been lost: the agent is told */
	assert_int_equal(d.flags, 0);
	assert_int_equal(again.flags, DL_F_RETRY);
	answer(&again, DL_OK, "2.0.0", "ok");
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	qmgr_kill();
}

/* deliver-local restarts: what was in flight is tried again soon. */
static void
test_local_gone(void **state)
{
	const char	*rcpts[] = { "d@example.test" };
	struct delivery	 d, again;
	char		 qid[QM_QID_MAX + 1];
	struct envelope	 env;

	qmgr_spawn();
	queue_msg(3, qid, "s@example.org", rcpts, 1);
	assert_int_equal(get_delivery(&d, WAIT_MS), 0);
	close(q.local);
	q.local = link_peer(PROC_LOCAL, 14);
	assert_int_equal(get_delivery(&again, WAIT_MS), 0);
	assert_string_equal(again.qid, qid);
	read_env(qid, &env);
	assert_int_equal(env.rcpt[0].attempts, 0);	/* not counted */
	assert_int_equal(again.flags, DL_F_RETRY);
	envelope_free(&env);
	answer(&again, DL_OK, "2.0.0", "ok");
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	qmgr_kill();
}

static void
send_abort(const char *qid)
{
	wire_w_init(&w);
	wire_w_str(&w, qid);
	send_frame(q.smtpd, QM_ABORT, -1);
}

static void
test_protocol(void **state)
{
	const char	*rcpts[] = { "e@example.test" };
	struct ipc_msg	 m;
	struct delivery	 d;
	struct wire_r	 r;
	char		 qid[QM_QID_MAX + 1];

	qmgr_spawn();
	/* the recipient count must match */
	open_msg(20, qid, BODY);
	send_rcpt(20, qid, "e@example.test", "", 0);
	assert_int_equal(commit(20, qid, "s@example.org", 2), QM_COMMIT_FAIL);
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	assert_false(exists("env", qid));
	/* an abort removes the file */
	open_msg(21, qid, BODY);
	send_abort(qid);
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	/* so does the end of the link */
	open_msg(22, qid, BODY);
	close(q.smtpd);
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	/* a recipient for a file never opened: the peer is dropped */
	q.smtpd = link_peer(PROC_SMTPD, 12);
	open_msg(23, qid, BODY);
	send_rcpt(23, "0123456789ABCDEF", "e@example.test", "", 0);
	assert_int_equal(recv_frame(q.smtpd, smtpd_rules, &m, WAIT_MS), -2);
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	assert_int_equal(recv_frame(q.ctl, ctl_rules, &m, WAIT_MS), 0);
	assert_int_equal(m.type, CTL_BADPEER);
	wire_r_init(&r, &m);
	assert_int_equal(wire_r_u32(&r), 12);
	close(q.smtpd);
	/* a control character in an address: dropped too */
	q.smtpd = link_peer(PROC_SMTPD, 13);
	open_msg(24, qid, BODY);
	send_rcpt(24, qid, "e@example.test\r\nfake", "", 0);
	assert_int_equal(recv_frame(q.smtpd, smtpd_rules, &m, WAIT_MS), -2);
	close(q.smtpd);
	/* and qmgr carries on */
	q.smtpd = link_peer(PROC_SMTPD, 15);
	queue_msg(25, qid, "s@example.org", rcpts, 1);
	assert_int_equal(get_delivery(&d, WAIT_MS), 0);
	answer(&d, DL_OK, "2.0.0", "ok");
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	qmgr_kill();
}

/* A commit that nobody waits for any more, as smtpd's ABORT or the end
 * of its link right behind it: the commit may be under way in the
 * background by then. The message must be delivered if, and only if,
 * it was answered with success; either way no file is left. */
static void
unanswered_commit(uint32_t id, int close_link, useconds_t after)
{
	struct ipc_msg	 m;
	struct wire_r	 r;
	struct delivery	 d;
	char		 qid[QM_QID_MAX + 1], barrier[QM_QID_MAX + 1];
	int		 answered_ok = 0;

	open_msg(id, qid, BODY);
	send_rcpt(id, qid, "e@example.test", "", 0);
	send_commit(id, qid, "s@example.org", 1);
	usleep(after);
	if (close_link)
		close(q.smtpd);
	else {
		/* frames are taken in order: once a later open is answered,
		 * the abort was seen, and any answer to the commit came */
		send_abort(qid);
		wire_w_init(&w);
		wire_w_u32(&w, id + 1000);
		send_frame(q.smtpd, QM_OPEN, -1);
		assert_int_equal(recv_frame(q.smtpd, smtpd_rules, &m, WAIT_MS),
		    0);
		if ((answered_ok = m.type == QM_COMMIT_OK))
			assert_int_equal(recv_frame(q.smtpd, smtpd_rules, &m,
			    WAIT_MS), 0);
		assert_int_equal(m.type, QM_OPEN_OK);
		wire_r_init(&r, &m);
		(void)wire_r_u32(&r);
		wire_r_str(&r, barrier, sizeof(barrier));
		close(m.fd);
		send_abort(barrier);
	}
	/* an answered message is delivered at once; one that was not is
	 * removed without a delivery */
	if (answered_ok) {
		assert_int_equal(get_delivery(&d, WAIT_MS), 0);
		assert_string_equal(d.qid, qid);
		answer(&d, DL_OK, "2.0.0", "ok");
	}
	/* after the link closed, an answer may have gone unread */
	if (close_link && get_delivery(&d, 200) == 0)
		answer(&d, DL_OK, "2.0.0", "ok");
	if (close_link && !wait_file("env", qid, 0, WAIT_MS) &&
	    get_delivery(&d, WAIT_MS) == 0)
		answer(&d, DL_OK, "2.0.0", "ok");
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	if (!answered_ok && !close_link)
		assert_int_not_equal(get_delivery(&d, 50), 0);
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	assert_true(wait_file("tmp", qid, 0, WAIT_MS));
	if (close_link)
		q.smtpd = link_peer(PROC_SMTPD, 100 + id);
}

static void
test_unanswered_commit(void **state)
{
	const char	*rcpts[] = { "e@example.test" };
	struct delivery	 d;
	char		 qid[QM_QID_MAX + 1];
	uint32_t	 i;

	qmgr_spawn();
	/* at once, and after a while: before the commit, during it (its
	 * fsyncs take a few hundred microseconds), after it */
	for (i = 0; i < 20; i++)
		unanswered_commit(40 + i, i % 2, (useconds_t)(i / 2) * 150);
	/* and qmgr carries on */
	queue_msg(60, qid, "s@example.org", rcpts, 1);
	assert_int_equal(get_delivery(&d, WAIT_MS), 0);
	answer(&d, DL_OK, "2.0.0", "ok");
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	qmgr_kill();
}

/* A file in the queue as qmgr would own it. */
static void
plant(const char *dir, const char *name, const char *text)
{
	struct passwd	*pw = getpwnam(BULWARK_USER_QMGR);
	char		 path[256];
	int		 fd;

	assert_non_null(pw);
	fd = open(qpath(dir, name, path, sizeof(path)), O_WRONLY | O_CREAT |
	    O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
	assert_int_equal(fchown(fd, pw->pw_uid, pw->pw_gid), 0);
	close(fd);
}

static void
plant_env(const char *qid, const char *rcpt)
{
	struct envelope	 env;
	char		*text;
	size_t		 len;

	envelope_init(&env);
	strlcpy(env.qid, qid, sizeof(env.qid));
	env.arrival = time(NULL);
	assert_int_equal(envelope_set(&env.sender, "old@example.org"), 0);
	assert_int_equal(envelope_set(&env.client_addr, "192.0.2.9"), 0);
	assert_int_equal(envelope_set(&env.client_name, ""), 0);
	assert_int_equal(envelope_set(&env.helo, "x"), 0);
	assert_int_equal(envelope_set(&env.auth, ""), 0);
	assert_int_equal(envelope_set(&env.envid, ""), 0);
	env.size = strlen(BODY);
	assert_int_equal(envelope_rcpt_add(&env, rcpt, "", 0), 0);
	text = envelope_format(&env, &len);
	assert_non_null(text);
	plant("env", qid, text);
	free(text);
	envelope_free(&env);
}

#define Q_GARBAGE	"AAAAAAAAAAAAAAA1"
#define Q_NOMSG		"AAAAAAAAAAAAAAA2"
#define Q_NOENV		"AAAAAAAAAAAAAAA3"
#define Q_TMP		"AAAAAAAAAAAAAAA4"
#define Q_GOOD		"AAAAAAAAAAAAAAA5"

static void
test_recovery_scan(void **state)
{
	struct delivery	d;

	plant("env", Q_GARBAGE, "version 1\nqid " Q_GARBAGE "\nsender x");
	plant("msg", Q_GARBAGE, BODY);
	plant_env(Q_NOMSG, "f@example.test");
	plant("msg", Q_NOENV, BODY);
	plant("tmp", Q_TMP, "half an envelope");
	plant("env", "not-a-queue-id", "?");
	plant_env(Q_GOOD, "g@example.test");
	plant("msg", Q_GOOD, BODY);

	qmgr_spawn();		/* READY comes before the scan */
	assert_true(wait_file("env", Q_GARBAGE, 0, WAIT_MS));
	assert_true(wait_file("msg", Q_NOENV, 0, WAIT_MS));
	assert_true(exists("corrupt", "env." Q_GARBAGE));
	assert_true(exists("corrupt", "msg." Q_GARBAGE));
	assert_true(exists("corrupt", "env." Q_NOMSG));
	assert_false(exists("tmp", Q_TMP));
	assert_true(exists("corrupt", "env.not-a-queue-id"));
	assert_int_equal(get_delivery(&d, WAIT_MS), 0);
	assert_string_equal(d.qid, Q_GOOD);
	assert_string_equal(d.sender, "old@example.org");
	assert_string_equal(d.rcpt, "g@example.test");
	answer(&d, DL_OK, "2.0.0", "ok");
	assert_true(wait_file("env", Q_GOOD, 0, WAIT_MS));
	assert_true(log_has("env/" Q_GARBAGE " moved to corrupt/"));
	qmgr_kill();
}

static void
plant_text(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_bounce(void **state)
{
	const char	*rcpts[] = { "bad@example.test" };
	struct delivery	 d, b, none;
	char		 qid[QM_QID_MAX + 1], line[128];

	qmgr_spawn();
	queue_msg(30, qid, "sender@example.org", rcpts, 1);
	assert_int_equal(get_delivery(&d, WAIT_MS), 0);
	answer(&d, DL_PERMFAIL, "5.1.1", "no such user");
	assert_int_equal(get_delivery(&b, WAIT_MS), 0);
	assert_string_not_equal(b.qid, qid);
	assert_string_equal(b.sender, "");
	assert_string_equal(b.rcpt, "sender@example.org");
	assert_non_null(strstr(b.body, "To: <sender@example.org>\r\n"));
	assert_non_null(strstr(b.body, "multipart/report; "
	    "report-type=delivery-status"));
	assert_non_null(strstr(b.body, "\r\nFinal-Recipient: rfc822; "
	    "bad@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
	snprintf(line, sizeof(line), "X-Bulwark-Queue-ID: %s\r\n", qid);
	assert_non_null(strstr(b.body, line));
	assert_non_null(strstr(b.body, "Original-Envelope-Id: envid-1\r\n"));
	assert_non_null(strstr(b.body, "message/rfc822\r\n\r\n" BODY));
	if (getenv("BULWARK_TEST_KEEP") != NULL) {
		snprintf(line, sizeof(line), "%s/bounce.eml", spool);
		plant_text(line, b.body);
	}
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	assert_true(wait_file("msg", qid, 0, WAIT_MS));
	answer(&b, DL_OK, "2.0.0", "ok");
	assert_true(wait_file("env", b.qid, 0, WAIT_MS));
	assert_true(log_has("to=<bad@example.test> status=bounced dsn=5.1.1"));

	/* a failed report is not reported on */
	queue_msg(31, qid, "sender@example.org", rcpts, 1);
	assert_int_equal(get_delivery(&d, WAIT_MS), 0);
	answer(&d, DL_PERMFAIL, "5.1.1", "no such user");
	assert_int_equal(get_delivery(&b, WAIT_MS), 0);
	answer(&b, DL_PERMFAIL, "5.1.1", "no sender either");
	assert_true(wait_file("env", b.qid, 0, WAIT_MS));
	assert_int_equal(get_delivery(&none, 500), -1);
	qmgr_kill();
}

/* NOTIFY=SUCCESS: a "delivered" report, without the message. */
static void
test_report_success(void **state)
{
	struct delivery	d, b;
	char		qid[QM_QID_MAX + 1];

	qmgr_spawn();
	open_msg(32, qid, BODY);
	send_rcpt(32, qid, "good@example.test", "rfc822;Good@example.test",
	    QM_NOTIFY_SUCCESS);
	assert_int_equal(commit(32, qid, "sender@example.org", 1),
	    QM_COMMIT_OK);
	assert_int_equal(get_delivery(&d, WAIT_MS), 0);
	answer(&d, DL_OK, "2.1.5", "delivered to mailbox");
	assert_int_equal(get_delivery(&b, WAIT_MS), 0);
	assert_string_equal(b.sender, "");
	assert_non_null(strstr(b.body, "\r\nOriginal-Recipient: "
	    "rfc822;Good@example.test\r\nAction: delivered\r\n"
	    "Status: 2.1.5\r\n"));
	assert_null(strstr(b.body, "hello"));
	answer(&b, DL_OK, "2.0.0", "ok");
	assert_true(wait_file("env", b.qid, 0, WAIT_MS));

	qmgr_kill();
}

/* Tempfails until the lifetime ends: a delay warning, then a failure
 * report with 4.4.7. Needs the queue-* keywords in the configuration. */
static void
test_expiry(void **state)
{
	const char	*rcpts[] = { "slow@example.test" };
	struct delivery	 d;
	char		 qid[QM_QID_MAX + 1];
	int		 delayed = 0, failed = 0, tries = 0;
	int64_t		 t0 = now_ms();

	if (!fast_retry)
		skip();
	extra_conf = "queue-lifetime 3s\ndelay-warning 1s\n";
	qmgr_spawn();
	open_msg(40, qid, BODY);
	send_rcpt(40, qid, rcpts[0], "", QM_NOTIFY_DELAY | QM_NOTIFY_FAILURE);
	assert_int_equal(commit(40, qid, "sender@example.org", 1),
	    QM_COMMIT_OK);
	while (!failed && now_ms() - t0 < 10000) {
		if (get_delivery(&d, 1000) != 0)
			continue;
		if (d.sender[0] != '\0') {
			assert_string_equal(d.qid, qid);
			tries++;
			answer(&d, DL_TEMPFAIL, "4.2.1", "try later");
			continue;
		}
		assert_string_equal(d.rcpt, "sender@example.org");
		if (strstr(d.body, "\r\nAction: delayed\r\n") != NULL)
			delayed++;
		if (strstr(d.body, "\r\nAction: failed\r\nStatus: 4.4.7\r\n"))
			failed++;
		answer(&d, DL_OK, "2.0.0", "ok");
	}
	extra_conf = "";
	assert_int_equal(delayed, 1);
	assert_int_equal(failed, 1);
	assert_true(tries >= 3);
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	assert_true(log_has("to=<slow@example.test> status=bounced "
	    "dsn=4.4.7"));
	qmgr_kill();
}

static uint32_t
rnd(uint32_t *seed, uint32_t n)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 8) % n;
}

static void
rnd_str(uint32_t *seed, const char *qid)
{
	char	buf[600];
	size_t	n, i;

	switch (rnd(seed, 4)) {
	case 0:
		wire_w_str(&w, qid);
		return;
	case 1:
		wire_w_str(&w, "");
		return;
	}
	n = rnd(seed, sizeof(buf) - 1);
	for (i = 0; i < n; i++)
		buf[i] = (char)(1 + rnd(seed, 255));
	buf[n] = '\0';
	wire_w_str(&w, buf);
}

/* One frame of a QM_* type: well-formed in shape, random in content,
 * or random bytes. */
static uint16_t
rnd_frame(uint32_t *seed, const char *qid)
{
	static const uint16_t	types[] = { QM_OPEN, QM_RCPT, QM_COMMIT,
	    QM_ABORT };
	uint16_t		type = types[rnd(seed, 4)];
	int			i, n;

	wire_w_init(&w);
	if (rnd(seed, 4) == 0) {
		for (n = (int)rnd(seed, 200), i = 0; i < n; i++)
			wire_w_u8(&w, (uint8_t)rnd(seed, 256));
		return type;
	}
	if (type != QM_ABORT)
		wire_w_u32(&w, rnd(seed, 3));
	rnd_str(seed, qid);
	if (type == QM_RCPT) {
		rnd_str(seed, qid);
		rnd_str(seed, qid);
		wire_w_u32(&w, rnd(seed, 20));
	} else if (type == QM_COMMIT) {
		for (i = 0; i < 5; i++)
			rnd_str(seed, qid);
		for (i = 0; i < 3; i++)
			wire_w_u32(&w, rnd(seed, 4));
		rnd_str(seed, qid);
		wire_w_u64(&w, rnd(seed, 100));
		wire_w_u32(&w, rnd(seed, 3));
	}
	return type;
}

/* Hostile smtpd frames: a peer may be dropped, qmgr never falls. */
static void
test_hostile_frames(void **state)
{
	const char	*rcpts[] = { "h@example.test" };
	struct ipc_msg	 m;
	struct delivery	 d;
	char		 qid[QM_QID_MAX + 1];
	uint32_t	 seed = 42, round;
	uint16_t	 type;

	qmgr_spawn();
	for (round = 0; round < 300; round++) {
		if (round % 10 == 0) {
			close(q.smtpd);
			q.smtpd = link_peer(PROC_SMTPD, 100 + round);
			open_msg(1, qid, BODY);
		}
		type = rnd_frame(&seed, qid);
		if (ipc_send_fd(q.smtpd, type, w.buf, w.len, -1) == -1 ||
		    recv_frame(q.smtpd, smtpd_rules, &m, 0) == -2) {
			close(q.smtpd);
			q.smtpd = link_peer(PROC_SMTPD, 1000 + round);
			open_msg(1, qid, BODY);
		}
		while (recv_frame(q.ctl, ctl_rules, &m, 0) == 0)
			;	/* CTL_BADPEER reports */
	}
	close(q.smtpd);
	q.smtpd = link_peer(PROC_SMTPD, 5000);
	queue_msg(50, qid, "s@example.org", rcpts, 1);
	do {	/* random commits may have queued messages too */
		assert_int_equal(get_delivery(&d, WAIT_MS), 0);
		answer(&d, DL_OK, "2.0.0", "ok");
	} while (strcmp(d.qid, qid) != 0);
	assert_true(wait_file("env", qid, 0, WAIT_MS));
	assert_int_equal(kill(q.pid, 0), 0);
	qmgr_kill();
}

static int
teardown(void **state)
{
	extra_conf = "";
	qmgr_kill();
	return 0;
}

/* Remove the test spool, unless a test failed and it has the evidence
 * (or BULWARK_TEST_KEEP is set). */
static void
spool_remove(void)
{
	static const char *const dirs[] = {
		"msg", "env", "tmp", "corrupt", "hold",
	};
	char	path[256];
	size_t	i;
	DIR	*d;
	struct dirent *de;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", qdir, dirs[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/lock", qdir);
	unlink(path);
	rmdir(qdir);
	snprintf(path, sizeof(path), "%s/qmgr.log", spool);
	unlink(path);
	rmdir(spool);
}

static int
setup_spool(void)
{
	struct passwd	*pw = getpwnam(BULWARK_USER_QMGR);
	static const char *const dirs[] = { "msg", "env", "tmp", "corrupt" };
	char		 path[256];
	size_t		 i;

	strlcpy(spool, "/tmp/bulwark-qtest.XXXXXX", sizeof(spool));
	if (pw == NULL || mkdtemp(spool) == NULL)
		return -1;
	snprintf(qdir, sizeof(qdir), "%s/queue", spool);
	if (mkdir(qdir, 0700) == -1 ||
	    chown(qdir, pw->pw_uid, pw->pw_gid) == -1)
		return -1;
	/* made here so that the recovery test can plant files first */
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", qdir, dirs[i]);
		if (mkdir(path, 0700) == -1 ||
		    chown(path, pw->pw_uid, pw->pw_gid) == -1)
			return -1;
	}
	return 0;
}

static int
find_qmgr(void)
{
	char	self[PATH_MAX], *slash;
	ssize_t	n;

	if (getenv("BULWARK_QMGR") != NULL) {
		strlcpy(qmgr_path, getenv("BULWARK_QMGR"), sizeof(qmgr_path));
		return 0;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return -1;
	slash[1] = '\0';
	if (strlcpy(qmgr_path, self, sizeof(qmgr_path)) >= sizeof(qmgr_path) ||
	    strlcat(qmgr_path, "../bulwark-qmgr", sizeof(qmgr_path)) >=
	    sizeof(qmgr_path))
		return -1;
	return access(qmgr_path, X_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_recovery_scan, teardown),
		cmocka_unit_test_teardown(test_delivery_and_retry, teardown),
		cmocka_unit_test_teardown(test_recovery_after_kill, teardown),
		cmocka_unit_test_teardown(test_local_gone, teardown),
		cmocka_unit_test_teardown(test_protocol, teardown),
		cmocka_unit_test_teardown(test_unanswered_commit, teardown),
		cmocka_unit_test_teardown(test_bounce, teardown),
		cmocka_unit_test_teardown(test_report_success, teardown),
		cmocka_unit_test_teardown(test_expiry, teardown),
		cmocka_unit_test_teardown(test_hostile_frames, teardown),
	};
	char	 err[CONFIG_ERR_MAX];
	struct config *cf;
	int	 failed;

	if (geteuid() != 0 || getpwnam(BULWARK_USER_QMGR) == NULL) {
		fprintf(stderr, "skipped: needs root and user %s\n",
		    BULWARK_USER_QMGR);
		return 77;
	}
	if (find_qmgr() == -1) {
		fprintf(stderr, "skipped: no bulwark-qmgr next to the test\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	if (setup_spool() == -1) {
		perror("test spool");
		return 1;
	}
	fast_retry = 1;
	cf = config_parse(config_text(), strlen(config_text()), "t", err,
	    sizeof(err));
	if (cf == NULL) {
		fast_retry = 0;
		fprintf(stderr, "note: no queue-retry-min in the configuration "
		    "yet (%s); the retry is tested across a restart\n", err);
	}
	config_free(cf);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (failed == 0 && getenv("BULWARK_TEST_KEEP") == NULL)
		spool_remove();
	else
		fprintf(stderr, "test spool kept: %s\n", spool);
	return failed;
}
