/*
 * test_mbox.c: unit tests of bulwark-local's mbox side (deliver/mbox.c,
 * stream.c): mboxrd quoting across every buffer split, the From_ line,
 * %u, a delivery read back, the refusals (symlink, hard link, owner), the
 * locks, and a write that fails mid-message, injected or on a full tmpfs,
 * leaving the mailbox at its former size.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../deliver/mailbox.h"

struct sink {
	char	buf[8192];
	size_t	len;
};

static int
sink_write(void *arg, const void *p, size_t n)
{
	struct sink	*k = arg;

	if (n > sizeof(k->buf) - k->len) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	return 0;
}

static struct stream	st;
static char		dir[PATH_MAX];
static char		mbox[PATH_MAX + 32];

/* in through the mbox filters split at every point, and byte by byte */
static void
check_quote(const char *in, const char *want)
{
	static struct sink	k;
	size_t			n = strlen(in), cut, i;

	for (cut = 0; cut <= n + 1; cut++) {
		memset(&k, 0, sizeof(k));
		stream_init(&st, STREAM_CRLF | STREAM_QUOTE_FROM, sink_write,
		    &k);
		if (cut <= n) {
			assert_int_equal(stream_put(&st, in, cut), 0);
			assert_int_equal(stream_put(&st, in + cut, n - cut), 0);
		} else {
			for (i = 0; i < n; i++)
				assert_int_equal(stream_put(&st, in + i, 1), 0);
		}
		assert_int_equal(stream_finish(&st), 0);
		k.buf[k.len] = '\0';
		assert_string_equal(k.buf, want);
	}
}

static void
test_quote(void **state)
{
	check_quote("From x\r\n", ">From x\n");
	check_quote("a\r\nFrom x\r\n>From y\r\n>>From z\r\n",
	    "a\n>From x\n>>From y\n>>>From z\n");
	check_quote("From\r\nFrom:\r\nFromage\r\n xFrom a\r\n",
	    "From\nFrom:\nFromage\n xFrom a\n");
	check_quote(">>>\r\n>>Fro\r\n>\r\n", ">>>\n>>Fro\n>\n");
	check_quote("From ", ">From \n");		/* at the very end */
	check_quote(">Fro", ">Fro\n");		/* held, given back */
	check_quote("x From y\r\nFrom  two\r\n", "x From y\n>From  two\n");
	check_quote("\r\nFrom \r\n", "\n>From \n");
	check_quote("\rFrom x\r\n", "\rFrom x\n");	/* a bare CR is data */
}

/* What the filters must make of in: CRLF to LF, then ">" before every
 * line that matches ^>*From , then a final LF if missing. */
static size_t
reference_filter(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t	i, o = 0, j, len = 0;
	uint8_t	*conv = malloc(n + 1);

	assert_non_null(conv);
	for (i = 0; i < n; i++)
		if (!(in[i] == '\r' && i + 1 < n && in[i + 1] == '\n'))
			conv[len++] = in[i];
	for (i = 0; i < len; i++) {
		if (i == 0 || conv[i - 1] == '\n') {
			for (j = i; j < len && conv[j] == '>'; j++)
				;
			if (len - j >= 5 && memcmp(conv + j, "From ", 5) == 0)
				out[o++] = '>';
		}
		out[o++] = conv[i];
	}
	if (o > 0 && out[o - 1] != '\n')
		out[o++] = '\n';
	free(conv);
	return o;
}

struct bigsink {
	uint8_t	*buf;
	size_t	 len, cap;
};

static int
bigsink_write(void *arg, const void *p, size_t n)
{
	struct bigsink	*k = arg;

	assert_true(n <= k->cap - k->len);
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	return 0;
}

/* Random text made of the bytes that matter (CR, LF, '>', "From "),
 * longer than the stream's buffer, put in random pieces: the block
 * copies must give what byte-at-a-time filtering would. */
static void
test_filter_random(void **state)
{
	static const char *const bits[] = { "\r", "\n", "\r\n", ">",
	    "From ", "Fro", "x", "abcdefghijklmnopqrstuvwxyz0123456789" };
	size_t		 cap = 3 * STREAM_BUFSZ, n, i, want_len, put, k;
	uint8_t		*in = malloc(cap), *want = malloc(2 * cap);
	struct bigsink	 sink = { malloc(2 * cap), 0, 2 * cap };
	int		 round;

	assert_true(in != NULL && want != NULL && sink.buf != NULL);
	srandom(1);
	for (round = 0; round < 200; round++) {
		size_t limit = round % 10 == 0 ? cap - 64 : 512;

		for (n = 0; n < limit; n += strlen(bits[k])) {
			k = (size_t)random() % (sizeof(bits) / sizeof(bits[0]));
			memcpy(in + n, bits[k], strlen(bits[k]));
		}
		want_len = reference_filter(in, n, want);
		sink.len = 0;
		stream_init(&st, STREAM_CRLF | STREAM_QUOTE_FROM,
		    bigsink_write, &sink);
		for (i = 0; i < n; i += put) {
			put = 1 + (size_t)random() % (round % 2 ? 7 : 9000);
			if (put > n - i)
				put = n - i;
			assert_int_equal(stream_put(&st, in + i, put), 0);
		}
		assert_int_equal(stream_finish(&st), 0);
		assert_int_equal(sink.len, want_len);
		assert_memory_equal(sink.buf, want, want_len);
	}
	free(in);
	free(want);
	free(sink.buf);
}

static void
test_raw_not_quoted(void **state)
{
	static struct sink	k;

	memset(&k, 0, sizeof(k));
	stream_init(&st, STREAM_CRLF | STREAM_QUOTE_FROM, sink_write, &k);
	assert_int_equal(stream_raw(&st, "From a@b date\n", 14), 0);
	assert_int_equal(stream_put(&st, "From x\r\n", 8), 0);
	assert_int_equal(stream_finish(&st), 0);
	k.buf[k.len] = '\0';
	assert_string_equal(k.buf, "From a@b date\n>From x\n");
}

static void
test_from_line(void **state)
{
	char	out[128];

	assert_int_equal(mbox_from_line(out, sizeof(out), "", 0), 44);
	assert_string_equal(out,
	    "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
	assert_true(mbox_from_line(out, sizeof(out), "\"a b\"@c",
	    1000000000) > 0);
	assert_string_equal(out, "From \"a_b\"@c Sun Sep  9 01:46:40 2001\n");
	assert_int_equal(mbox_from_line(out, 20, "a@b", 0), -1);
}

static void
test_expand(void **state)
{
	char	out[32];

	assert_int_equal(mbox_expand_path(out, sizeof(out), "/var/mail/%u",
	    "bob"), 0);
	assert_string_equal(out, "/var/mail/bob");
	assert_int_equal(mbox_expand_path(out, sizeof(out), "/m/%%u/%u.mbox",
	    "b"), 0);
	assert_string_equal(out, "/m/%u/b.mbox");
	assert_int_equal(mbox_expand_path(out, 8, "/var/mail/%u", "b"), -1);
	assert_int_equal(mbox_expand_path(out, 14, "/var/mail/%u", "bob"), 0);
	assert_int_equal(mbox_expand_path(out, 13, "/var/mail/%u", "bob"), -1);
}

static int
setup_dir(void **state)
{
	strlcpy(dir, "/tmp/test_mbox.XXXXXX", sizeof(dir));
	assert_non_null(mkdtemp(dir));
	snprintf(mbox, sizeof(mbox), "%s/bob", dir);
	return 0;
}

static int
teardown_dir(void **state)
{
	char	cmd[PATH_MAX + 16];

	if (getuid() == 0)
		(void)umount2(dir, MNT_DETACH);	/* test_tmpfs_full's */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
msg_file(const char *text, size_t len)
{
	char	path[] = "/tmp/test_mbox_msg.XXXXXX";
	int	fd;

	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	return fd;
}

static char *
slurp(const char *path, size_t *len)
{
	static char	buf[512 * 1024];
	ssize_t		n;
	int		fd;

	assert_true((fd = open(path, O_RDONLY)) != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static off_t
size_of(const char *path)
{
	struct stat	sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

static struct local_result	res;

static int
deliver(const char *text, const char *sender)
{
	struct local_env	env;
	int			rc;

	env.msgfd = msg_file(text, strlen(text));
	env.sender = sender;
	env.dtrcpt = "bob@example.org";
	env.seq = 1;
	memset(&res, 0, sizeof(res));
	rc = mbox_deliver(mbox, getuid(), &env, &res);
	close(env.msgfd);
	return rc;
}

/* "From <sender> <24 characters of date>\n" */
static const char *
skip_from(const char *p, const char *sender)
{
	size_t	n = strlen(sender);

	assert_memory_equal(p, "From ", 5);
	assert_memory_equal(p + 5, sender, n);
	assert_int_equal(p[5 + n], ' ');
	assert_int_equal(p[5 + n + 1 + 24], '\n');
	return p + 5 + n + 1 + 24 + 1;
}

static void
test_roundtrip(void **state)
{
	const char	*one = "Return-Path: <a@b>\nDelivered-To: "
			    "bob@example.org\nSubject: one\n\n"
			    ">From here\nend\n\n";
	const char	*p;
	struct stat	 sb;

	assert_int_equal(deliver("Subject: one\r\n\r\nFrom here\r\nend", "a@b"),
	    0);
	assert_int_equal(res.status, DL_OK);
	assert_string_equal(res.mailbox, mbox);
	assert_int_equal(deliver("Subject: two\r\n\r\n>From x\r\n", ""), 0);
	assert_int_equal(stat(mbox, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	p = skip_from(slurp(mbox, NULL), "a@b");
	assert_memory_equal(p, one, strlen(one));
	p += strlen(one);
	p = skip_from(p, "MAILER-DAEMON");
	assert_string_equal(p, "Return-Path: <>\nDelivered-To: "
	    "bob@example.org\nSubject: two\n\n>>From x\n\n");
}

static void
test_dotlock_removed_and_stale(void **state)
{
	char		lock[PATH_MAX + 64];
	struct timespec	old[2] = { { 1000, 0 }, { 1000, 0 } };
	int		fd;

	snprintf(lock, sizeof(lock), "%s.lock", mbox);
	assert_int_equal(deliver("A: b\r\n\r\n", "a@b"), 0);
	assert_int_equal(access(lock, F_OK), -1);
	assert_true((fd = open(lock, O_CREAT | O_WRONLY, 0600)) != -1);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	assert_int_equal(deliver("A: b\r\n\r\n", "a@b"), 0);	/* stale */
	assert_int_equal(access(lock, F_OK), -1);
}

/* Another process holds the fcntl lock a moment: delivery waits. */
static void
test_fcntl_wait(void **state)
{
	struct flock	fl;
	pid_t		pid;
	int		fd, status, p[2];
	char		c;

	assert_int_equal(deliver("A: b\r\n\r\n", "a@b"), 0);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		fd = open(mbox, O_RDWR);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		if (fd == -1 || fcntl(fd, F_SETLK, &fl) == -1)
			_exit(1);
		(void)!write(p[1], "x", 1);
		usleep(500000);
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(deliver("B: c\r\n\r\n", "a@b"), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(slurp(mbox, NULL), "B: c\n"));
	close(p[0]);
	close(p[1]);
}

static void
test_refuse_symlink(void **state)
{
	char	target[PATH_MAX + 32];

	snprintf(target, sizeof(target), "%s/target", dir);
	assert_int_equal(close(open(target, O_CREAT | O_WRONLY, 0600)), 0);
	assert_int_equal(symlink(target, mbox), 0);
	assert_int_equal(deliver("A: b\r\n\r\n", "a@b"), -1);
	assert_int_equal(res.status, DL_PERMFAIL);
	assert_string_equal(res.dsn, "5.2.0");
	assert_int_equal(size_of(target), 0);
}

static void
test_refuse_hardlink(void **state)
{
	char	other[PATH_MAX + 32];

	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(close(open(other, O_CREAT | O_WRONLY, 0600)), 0);
	assert_int_equal(link(other, mbox), 0);
	assert_int_equal(deliver("A: b\r\n\r\n", "a@b"), -1);
	assert_int_equal(res.status, DL_PERMFAIL);
	assert_non_null(strstr(res.text, "more than one link"));
	assert_int_equal(size_of(other), 0);
}

static void
test_refuse_fifo_and_owner(void **state)
{
	assert_int_equal(mkfifo(mbox, 0600), 0);
	assert_int_equal(deliver("A: b\r\n\r\n", "a@b"), -1);
	assert_int_equal(res.status, DL_PERMFAIL);
	assert_non_null(strstr(res.text, "not a regular file"));
	if (getuid() != 0)
		return;
	assert_int_equal(unlink(mbox), 0);
	assert_int_equal(close(open(mbox, O_CREAT | O_WRONLY, 0600)), 0);
	assert_int_equal(chown(mbox, 4242, 4242), 0);
	assert_int_equal(deliver("A: b\r\n\r\n", "a@b"), -1);
	assert_non_null(strstr(res.text, "not owned by the recipient"));
	assert_int_equal(size_of(mbox), 0);
}

/* Writes at most budget bytes for real, then fails with fail_errno. */
struct failing {
	int	fd;
	size_t	budget;
	int	fail_errno;
};

static int
failing_write(void *arg, const void *p, size_t n)
{
	struct failing	*f = arg;
	size_t		 now = n < f->budget ? n : f->budget;

	if (now > 0 && write(f->fd, p, now) != (ssize_t)now)
		return -1;
	f->budget -= now;
	if (now < n) {
		errno = f->fail_errno;
		return -1;
	}
	return 0;
}

static void
check_failure(int err, const char *dsn, size_t budget, size_t msglen)
{
	static char		msg[200 * 1024];
	struct local_env	env;
	struct failing		f;
	off_t			before;
	char			copy[64];

	memset(msg, 'x', msglen);
	memcpy(msg, "A: b\r\n\r\n", 8);
	assert_int_equal(deliver("Subject: first\r\n\r\nbody\r\n", "a@b"), 0);
	before = size_of(mbox);
	strlcpy(copy, slurp(mbox, NULL) + before - 20, sizeof(copy));
	env.msgfd = msg_file(msg, msglen);
	env.sender = "a@b";
	env.dtrcpt = "bob@example.org";
	env.seq = 2;
	assert_true((f.fd = open(mbox, O_WRONLY | O_APPEND)) != -1);
	f.budget = budget;
	f.fail_errno = err;
	memset(&res, 0, sizeof(res));
	assert_int_equal(mbox_append(f.fd, &env, failing_write, &f, &res), -1);
	assert_int_equal(res.status, DL_TEMPFAIL);
	assert_string_equal(res.dsn, dsn);
	assert_int_equal(size_of(mbox), before);
	assert_string_equal(slurp(mbox, NULL) + before - 20, copy);
	close(f.fd);
	close(env.msgfd);
	assert_int_equal(unlink(mbox), 0);
}

static void
test_write_failure(void **state)
{
	check_failure(ENOSPC, "4.3.1", 0, 100);
	check_failure(ENOSPC, "4.3.1", 50, 100);
	check_failure(EDQUOT, "4.2.2", 70000, 150000);	/* after a flush */
	check_failure(EIO, "4.3.0", 131072, 150000);
}

/* The real thing: a full file system. */
static void
test_tmpfs_full(void **state)
{
	static char		msg[256 * 1024];
	struct local_env	env;
	off_t			before;

	if (getuid() != 0 || mount("tmpfs", dir, "tmpfs", 0,
	    "size=64k,mode=0700") == -1) {
		skip();
		return;
	}
	assert_int_equal(deliver("Subject: first\r\n\r\nbody\r\n", "a@b"), 0);
	before = size_of(mbox);
	memset(msg, 'y', sizeof(msg));
	memcpy(msg, "A: b\r\n\r\n", 8);
	env.msgfd = msg_file(msg, sizeof(msg));
	env.sender = "a@b";
	env.dtrcpt = "bob@example.org";
	env.seq = 3;
	memset(&res, 0, sizeof(res));
	assert_int_equal(mbox_deliver(mbox, getuid(), &env, &res), -1);
	close(env.msgfd);
	assert_int_equal(res.status, DL_TEMPFAIL);
	assert_string_equal(res.dsn, "4.3.1");
	assert_int_equal(size_of(mbox), before);
	assert_int_equal(umount(dir), 0);
}

/* Root creates a missing mailbox only where no user can interfere. */
static void
test_create_as_root(void **state)
{
	char		sub[PATH_MAX * 2], link_[PATH_MAX * 3];
	char		path[PATH_MAX * 4];
	struct stat	sb;

	if (getuid() != 0) {
		skip();
		return;
	}
	mbox_create_as_root(mbox, 4242, 4243);		/* /tmp/x: trusted */
	assert_int_equal(lstat(mbox, &sb), 0);
	assert_int_equal(sb.st_uid, 4242);
	assert_int_equal(sb.st_gid, 4243);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_size, 0);
	mbox_create_as_root(mbox, 4244, 4244);		/* exists: untouched */
	assert_int_equal(lstat(mbox, &sb), 0);
	assert_int_equal(sb.st_uid, 4242);

	snprintf(sub, sizeof(sub), "%s/user", dir);	/* a user's dir */
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(chown(sub, 4242, 4242), 0);
	snprintf(path, sizeof(path), "%s/mbox", sub);
	mbox_create_as_root(path, 4242, 4242);
	assert_int_equal(access(path, F_OK), -1);

	snprintf(link_, sizeof(link_), "%s/ln", sub);	/* user's symlink */
	assert_int_equal(symlink(dir, link_), 0);
	assert_int_equal(lchown(link_, 4242, 4242), 0);
	snprintf(path, sizeof(path), "%s/ln/evil", sub);
	mbox_create_as_root(path, 4242, 4242);
	snprintf(path, sizeof(path), "%s/evil", dir);
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(lchown(link_, 0, 0), 0);	/* root's symlink */
	snprintf(path, sizeof(path), "%s/ln/good", sub);
	mbox_create_as_root(path, 4242, 4242);
	snprintf(path, sizeof(path), "%s/good", dir);
	assert_int_equal(access(path, F_OK), -1);	/* sub is the user's */

	snprintf(sub, sizeof(sub), "%s/spool", dir);	/* root's, in root's */
	assert_int_equal(mkdir(sub, 02775), 0);
	assert_int_equal(chmod(sub, 02775), 0);
	snprintf(link_, sizeof(link_), "%s/ln", dir);
	assert_int_equal(symlink("spool", link_), 0);
	snprintf(path, sizeof(path), "%s/ln/good", dir);
	mbox_create_as_root(path, 4242, 4243);
	snprintf(path, sizeof(path), "%s/spool/good", dir);
	assert_int_equal(lstat(path, &sb), 0);
	assert_int_equal(sb.st_uid, 4242);
	assert_int_equal(sb.st_gid, 0);			/* set-group-id dir */

	assert_int_equal(chmod(sub, 0777), 0);		/* world-writable */
	snprintf(path, sizeof(path), "%s/spool/bad", dir);
	mbox_create_as_root(path, 4242, 4243);
	assert_int_equal(access(path, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_filter_random),
		cmocka_unit_test(test_raw_not_quoted),
		cmocka_unit_test(test_from_line),
		cmocka_unit_test(test_expand),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_dotlock_removed_and_stale,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_fcntl_wait, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_refuse_symlink, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_refuse_hardlink, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_refuse_fifo_and_owner,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_failure, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_tmpfs_full, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_create_as_root, setup_dir,
		    teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
