/*
 * test_maildir.c: unit tests of bulwark-local's Maildir side
 * (deliver/maildir.c, stream.c, headers.c): unique names and the host
 * name's encoding, CRLF -> LF across every buffer split, the loop scan of
 * the header section, and a whole delivery into a temporary home.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "../../deliver/mailbox.h"

/* A stream_write_fn that collects the output in memory. */
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

/* in through the filter split at cut, then at every byte */
static void
check_filter(int flags, const char *in, const char *want)
{
	static struct sink	k;
	size_t			n = strlen(in), cut, i;

	for (cut = 0; cut <= n + 1; cut++) {
		memset(&k, 0, sizeof(k));
		stream_init(&st, flags, sink_write, &k);
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
		assert_int_equal(st.written, strlen(want));
	}
}

static void
test_encode_host(void **state)
{
	char	out[64];

	assert_int_equal(maildir_encode_host("mx.example.org", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "mx.example.org");
	assert_int_equal(maildir_encode_host("a/b:c", out, sizeof(out)), 0);
	assert_string_equal(out, "a\\057b\\072c");
	assert_int_equal(maildir_encode_host("::", out, sizeof(out)), 0);
	assert_string_equal(out, "\\072\\072");
	assert_int_equal(maildir_encode_host("abc", out, 4), 0);
	assert_int_equal(maildir_encode_host("abcd", out, 4), -1);
	assert_int_equal(maildir_encode_host("a/", out, 5), -1);
	assert_int_equal(maildir_encode_host("a/", out, 6), 0);
}

static void
test_unique(void **state)
{
	struct timeval	tv = { 1234567890, 42 };
	char		out[MAILDIR_NAME_MAX];

	assert_int_equal(maildir_unique(out, sizeof(out), &tv, 99, 7,
	    "mx:1/x"), 0);
	assert_string_equal(out, "1234567890.M000042P99Q7.mx\\0721\\057x");
	assert_int_equal(maildir_unique(out, 10, &tv, 99, 7, "h"), -1);
}

static void
test_crlf(void **state)
{
	check_filter(STREAM_CRLF, "a\r\nb\r\n", "a\nb\n");
	check_filter(STREAM_CRLF, "\r\n\r\n", "\n\n");
	check_filter(STREAM_CRLF, "a\rb\r\n", "a\rb\n");	/* bare CR */
	check_filter(STREAM_CRLF, "a\r\r\nb", "a\r\nb\n");
	check_filter(STREAM_CRLF, "x\r", "x\r\n");	/* CR at the end */
	check_filter(STREAM_CRLF, "lf\nonly\n", "lf\nonly\n");
	check_filter(STREAM_CRLF, "", "");
	check_filter(0, "a\r\nb", "a\r\nb\n");			/* no filter */
}

/* Conversion across the stream's own buffer end, through a real file. */
static void
test_crlf_big(void **state)
{
	static char	in[3 * STREAM_BUFSZ], out[3 * STREAM_BUFSZ];
	char		path[] = "/tmp/test_maildir.XXXXXX";
	size_t		i, n = 0;
	ssize_t		got;
	int		fd;

	for (i = 0; n + 2 <= sizeof(in) - 1; i++) {
		in[n++] = (char)('a' + i % 26);
		if (i % 7 == 0) {
			in[n++] = '\r';
			in[n++] = '\n';
		}
	}
	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	stream_init(&st, STREAM_CRLF, mailbox_write_fd, &fd);
	assert_int_equal(stream_put(&st, in, n), 0);
	assert_int_equal(stream_finish(&st), 0);
	got = pread(fd, out, sizeof(out), 0);
	assert_true(got > 0);
	assert_int_equal((uint64_t)got, st.written);
	assert_null(memchr(out, '\r', (size_t)got));
	close(fd);
}

static struct hdr_scan	h;

static void
scan(const char *msg, const char *rcpt, size_t step)
{
	size_t	i, n = strlen(msg);

	hdr_scan_init(&h, rcpt);
	for (i = 0; i < n; i += step)
		if (hdr_scan_feed(&h, msg + i, n - i < step ? n - i : step))
			break;
	hdr_scan_end(&h);
}

static int
is_loop(const char *msg, const char *rcpt)
{
	int	loop;

	scan(msg, rcpt, 1);
	loop = hdr_scan_is_loop(&h, LOCAL_MAX_RECEIVED);
	scan(msg, rcpt, 5);
	assert_int_equal(hdr_scan_is_loop(&h, LOCAL_MAX_RECEIVED), loop);
	scan(msg, rcpt, 4096);
	assert_int_equal(hdr_scan_is_loop(&h, LOCAL_MAX_RECEIVED), loop);
	return loop;
}

static void
test_scan_delivered_to(void **state)
{
	const char	*r = "bob@example.org";

	assert_false(is_loop("Subject: hi\r\n\r\nbody\r\n", r));
	assert_true(is_loop("Delivered-To: bob@example.org\r\n\r\nb\r\n", r));
	assert_true(is_loop("delivered-to:   BOB@Example.ORG  \r\n\r\n", r));
	assert_true(is_loop("Delivered-To: <bob@example.org>\n\nb\n", r));
	assert_true(is_loop("Delivered-To :bob@example.org\n", r));
	assert_true(is_loop("X: y\r\nDelivered-To:\r\n bob@example.org\r\n"
	    "\r\n", r));
	assert_false(is_loop("Delivered-To: alice@example.org\r\n\r\n", r));
	assert_false(is_loop("Delivered-To: bob@example.org.uk\r\n\r\n", r));
	assert_false(is_loop("X-Delivered-To: bob@example.org\r\n\r\n", r));
	assert_false(is_loop("Subject: x\r\n\r\nDelivered-To: "
	    "bob@example.org\r\n", r));
	assert_false(is_loop("Subject: Delivered-To: bob@example.org\r\n", r));
}

static void
test_scan_received(void **state)
{
	static char	msg[64 * 1024];
	size_t		n = 0;
	int		i;

	for (i = 0; i < LOCAL_MAX_RECEIVED; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n,
		    "Received: from a\r\n\tby b; %d\r\n", i);
	n += (size_t)snprintf(msg + n, sizeof(msg) - n, "\r\nReceived: x\r\n");
	assert_false(is_loop(msg, "bob@example.org"));
	assert_int_equal(h.received, LOCAL_MAX_RECEIVED);
	n -= strlen("\r\nReceived: x\r\n");
	(void)snprintf(msg + n, sizeof(msg) - n, "received : y\r\n\r\n");
	assert_true(is_loop(msg, "bob@example.org"));
	assert_int_equal(h.received, LOCAL_MAX_RECEIVED + 1);
}

static void
test_scan_stops_at_body(void **state)
{
	scan("A: b\r\n\r\nReceived: x\r\n", "r@x", 1);
	assert_true(h.done);
	assert_int_equal(h.received, 0);
	scan("Received: x\r\n", "r@x", 1);	/* no body: all header */
	assert_int_equal(h.received, 1);
}

static void
test_trace(void **state)
{
	char	out[128];

	assert_int_equal(hdr_delivered_to("Bob+x@Example.ORG", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "Bob+x@example.org");
	assert_int_equal(hdr_trace(out, sizeof(out), "", "b@x"), 34);
	assert_string_equal(out, "Return-Path: <>\nDelivered-To: b@x\n");
	assert_int_equal(hdr_trace(out, 10, "a@b", "b@x"), -1);
}

static char	home[PATH_MAX];

static int
msg_file(const char *text)
{
	char	path[] = "/tmp/test_maildir_msg.XXXXXX";
	int	fd;

	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

/* The one file in dir, read into buf; its name in name. */
static void
only_file(const char *dir, char *name, size_t namelen, char *buf,
    size_t len, struct stat *sb)
{
	char		 path[PATH_MAX * 3];
	struct dirent	*e;
	DIR		*dp;
	int		 n = 0, fd;
	ssize_t		 got;

	assert_non_null(dp = opendir(dir));
	while ((e = readdir(dp)) != NULL)
		if (e->d_name[0] != '.') {
			strlcpy(name, e->d_name, namelen);
			n++;
		}
	closedir(dp);
	assert_int_equal(n, 1);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(fstat(fd, sb), 0);
	got = read(fd, buf, len - 1);
	assert_true(got >= 0);
	buf[got] = '\0';
	close(fd);
}

static int
count_files(const char *dir)
{
	struct dirent	*e;
	DIR		*dp;
	int		 n = 0;

	assert_non_null(dp = opendir(dir));
	while ((e = readdir(dp)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}

static void
deliver_into(const char *maildir)
{
	static struct local_result	res;
	struct local_env		env;
	struct stat			sb;
	char				dir[PATH_MAX * 2], name[256], buf[4096];

	env.msgfd = msg_file("Subject: t\r\n\r\nFrom me\r\nline\r\n");
	env.sender = "alice@example.net";
	env.dtrcpt = "bob@example.org";
	env.seq = 3;
	env.once = NULL;
	env.retry = 0;
	memset(&res, 0, sizeof(res));
	assert_int_equal(maildir_deliver(home, maildir, &env, &res), 0);
	assert_int_equal(res.status, DL_OK);
	assert_string_equal(res.dsn, "2.0.0");
	snprintf(dir, sizeof(dir), "%s/%s/new", home, maildir);
	only_file(dir, name, sizeof(name), buf, sizeof(buf), &sb);
	assert_string_equal(buf, "Return-Path: <alice@example.net>\n"
	    "Delivered-To: bob@example.org\nSubject: t\n\nFrom me\nline\n");
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_non_null(strstr(name, "Q3."));
	assert_non_null(strstr(res.mailbox, name));
	snprintf(dir, sizeof(dir), "%s/%s/tmp", home, maildir);
	assert_int_equal(count_files(dir), 0);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(dir, sizeof(dir), "%s/%s/cur", home, maildir);
	assert_int_equal(stat(dir, &sb), 0);
	close(env.msgfd);
}

static void
test_deliver(void **state)
{
	char	cmd[PATH_MAX + 16];

	strlcpy(home, "/tmp/test_maildir_home.XXXXXX", sizeof(home));
	assert_non_null(mkdtemp(home));
	deliver_into("Maildir");
	deliver_into("Mail/inbox");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	assert_int_equal(system(cmd), 0);
}

/* One delivery, tried again and again (its answer was lost): one copy,
 * named after the delivery, found in new/ or, by a retry, in cur/. */
static void
test_deliver_once(void **state)
{
	static struct local_result	res;
	struct local_env		env = { -1, "", "b@x", 1, NULL, 0 };
	char				cmd[PATH_MAX + 16], dir[PATH_MAX * 2];
	char				from[PATH_MAX * 3], to[PATH_MAX * 3];
	char				name[256], buf[512];
	struct stat			sb;
	int				i;

	strlcpy(home, "/tmp/test_maildir_home.XXXXXX", sizeof(home));
	assert_non_null(mkdtemp(home));
	env.msgfd = msg_file("Subject: once\r\n\r\nbody\r\n");
	env.once = "1795469980.B6B04B29C80384027R00ff";
	for (i = 0; i < 3; i++) {
		memset(&res, 0, sizeof(res));
		env.retry = i == 2;
		assert_int_equal(maildir_deliver(home, "Maildir", &env, &res),
		    0);
		assert_int_equal(res.status, DL_OK);
		assert_int_equal(res.note[0] != '\0', i > 0);
	}
	snprintf(dir, sizeof(dir), "%s/Maildir/new", home);
	only_file(dir, name, sizeof(name), buf, sizeof(buf), &sb);
	assert_int_equal(strncmp(name, env.once, strlen(env.once)), 0);
	assert_int_equal(name[strlen(env.once)], '.');
	assert_non_null(strstr(buf, "body"));

	/* a reader moved it: only a retry looks there */
	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/Maildir/cur/%s:2,S", home, name);
	assert_int_equal(rename(from, to), 0);
	memset(&res, 0, sizeof(res));
	env.retry = 1;
	assert_int_equal(maildir_deliver(home, "Maildir", &env, &res), 0);
	assert_int_equal(res.status, DL_OK);
	assert_true(res.note[0] != '\0');
	assert_int_equal(count_files(dir), 0);
	snprintf(dir, sizeof(dir), "%s/Maildir/tmp", home);
	assert_int_equal(count_files(dir), 0);

	/* another delivery of the same message is not this one */
	env.once = "1795469980.B6B04B29C80384027R00fe";
	memset(&res, 0, sizeof(res));
	assert_int_equal(maildir_deliver(home, "Maildir", &env, &res), 0);
	assert_true(res.note[0] == '\0');
	snprintf(dir, sizeof(dir), "%s/Maildir/new", home);
	assert_int_equal(count_files(dir), 1);
	close(env.msgfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	assert_int_equal(system(cmd), 0);
}

static void
test_deliver_no_home(void **state)
{
	static struct local_result	res;
	struct local_env		env = { -1, "", "b@x", 1, NULL, 0 };

	env.msgfd = msg_file("A: b\r\n\r\n");
	assert_int_equal(maildir_deliver("/nonexistent/home", "Maildir",
	    &env, &res), -1);
	assert_int_equal(res.status, DL_TEMPFAIL);
	assert_string_equal(res.dsn, "4.3.0");
	close(env.msgfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_host),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_crlf_big),
		cmocka_unit_test(test_scan_delivered_to),
		cmocka_unit_test(test_scan_received),
		cmocka_unit_test(test_scan_stops_at_body),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_deliver),
		cmocka_unit_test(test_deliver_once),
		cmocka_unit_test(test_deliver_no_home),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
