/*
 * test_maildrop.c: unit tests of the maildrop file (common/maildrop.c):
 * what the writer makes the parser reads back; the parser refuses every
 * file cut short in its envelope, every key out of place or value out
 * of range, and a message that is not CRLF throughout; NOTIFY lists.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "maildrop.h"
#include "proto.h"

static const char	msg[] = "Subject: hi\r\n\r\nbody\r\n";

/* A sample envelope's text followed by msg, malloc'd. */
static char *
sample(size_t *len, size_t *envlen)
{
	struct maildrop	 md;
	char		*text, *all, err[128];

	maildrop_init(&md);
	md.flags = QM_F_SMTPUTF8;
	md.body = QM_BODY_8BITMIME;
	md.ret = QM_RET_HDRS;
	strlcpy(md.envid, "id+2B1", sizeof(md.envid));
	strlcpy(md.sender, "me@example.org", sizeof(md.sender));
	assert_int_equal(maildrop_rcpt_add(&md, "a@example.org", 0), 0);
	assert_int_equal(maildrop_rcpt_add(&md, "\"b c\"@ex\xc3\xa4mple.org",
	    QM_NOTIFY_SUCCESS | QM_NOTIFY_DELAY), 0);
	assert_non_null(text = maildrop_format(&md, envlen, err,
	    sizeof(err)));
	maildrop_free(&md);
	*len = *envlen + sizeof(msg) - 1;
	assert_non_null(all = malloc(*len));
	memcpy(all, text, *envlen);
	memcpy(all + *envlen, msg, sizeof(msg) - 1);
	free(text);
	return all;
}

static void
test_round_trip(void **state)
{
	struct maildrop	 md;
	char		*buf, err[128];
	size_t		 len, envlen;

	buf = sample(&len, &envlen);
	assert_int_equal(maildrop_parse(buf, len, &md, err, sizeof(err)), 0);
	assert_int_equal(md.flags, QM_F_SMTPUTF8);
	assert_int_equal(md.body, QM_BODY_8BITMIME);
	assert_int_equal(md.ret, QM_RET_HDRS);
	assert_string_equal(md.envid, "id+2B1");
	assert_string_equal(md.sender, "me@example.org");
	assert_int_equal(md.nrcpt, 2);
	assert_string_equal(md.rcpt[1].addr, "\"b c\"@ex\xc3\xa4mple.org");
	assert_int_equal(md.rcpt[1].notify,
	    QM_NOTIFY_SUCCESS | QM_NOTIFY_DELAY);
	assert_int_equal(md.rcpt[0].notify, 0);
	assert_int_equal(md.msg_off, envlen);
	assert_int_equal(md.msg_len, sizeof(msg) - 1);
	maildrop_free(&md);
	free(buf);
}

static void
test_cut_short(void **state)
{
	struct maildrop	 md;
	char		*buf, err[128];
	size_t		 len, envlen, i;

	buf = sample(&len, &envlen);
	for (i = 0; i <= envlen + 1; i++) {
		assert_int_equal(maildrop_parse(buf, i, &md, err,
		    sizeof(err)), -1);
		assert_null(md.rcpt);
	}
	free(buf);
}

/* text must be refused */
static void
refused(const char *text)
{
	struct maildrop	md;
	char		err[128] = "";

	assert_int_equal(maildrop_parse(text, strlen(text), &md, err,
	    sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_null(md.rcpt);
}

#define HEAD	"bulwark-maildrop 1\nsmtputf8 0\nbody 7bit\nret -\n" \
		"envid -\nsender <me@x.example>\n"

static void
test_refused(void **state)
{
	struct maildrop	md;
	char		err[128];
	const char	*ok = HEAD "rcpt - <a@x.example>\nend 1\nS: x\r\n";

	assert_int_equal(maildrop_parse(ok, strlen(ok), &md, err,
	    sizeof(err)), 0);
	maildrop_free(&md);
	refused("bulwark-maildrop 2\n");
	refused("hello\n");
	refused("bulwark-maildrop 1\nbody 7bit\nsmtputf8 0\n");
	refused(HEAD "end 0\nS: x\r\n");
	refused(HEAD "rcpt - <a@x.example>\nend 2\nS: x\r\n");
	refused(HEAD "rcpt - <a@x.example>\nend 1\n");
	refused(HEAD "rcpt - <a@x.example>\nend 1\nS: x\n");
	refused(HEAD "rcpt - <a@x.example>\nend 1\nS: x\nT: y\r\n");
	refused(HEAD "rcpt - <a@x.example>\nend 1\nS: \rx\r\n");
	refused(HEAD "rcpt - <a>\nend 1\nS: x\r\n");
	refused(HEAD "rcpt - <>\nend 1\nS: x\r\n");
	refused(HEAD "rcpt - a@x.example\nend 1\nS: x\r\n");
	refused(HEAD "rcpt sometimes <a@x.example>\nend 1\nS: x\r\n");
	refused(HEAD "rcpt never,success <a@x.example>\nend 1\nS: x\r\n");
	/* found by fuzz_maildrop: one spelling only */
	refused(HEAD "rcpt deLay <a@x.example>\nend 1\nS: x\r\n");
	refused(HEAD "rcpt delay,success <a@x.example>\nend 1\nS: x\r\n");
	refused(HEAD "rcpt - <a@x\xc3\xa4.example>\nend 1\nS: x\r\n");
	refused(HEAD "rcpt - <a\t@x.example>\nend 1\nS: x\r\n");
	refused(HEAD "rcpt - <a<b@x.example>\nend 1\nS: x\r\n");
	refused(HEAD "sender <x@y.example>\nend 0\nS: x\r\n");
	refused("bulwark-maildrop 1\nsmtputf8 2\n");
	refused("bulwark-maildrop 1\nsmtputf8 0\nbody binarymime\n");
	refused("bulwark-maildrop 1\nsmtputf8 0\nbody 7bit\nret all\n");
	refused("bulwark-maildrop 1\nsmtputf8 0\nbody 7bit\nret -\n"
	    "envid a b\n");
	refused("bulwark-maildrop 1\r\nsmtputf8 0\n");
}

static void
test_long_lines(void **state)
{
	char	*text;
	size_t	 n = 2 * MAILDROP_LINE_MAX;

	assert_non_null(text = malloc(n + 64));
	snprintf(text, n + 64, "bulwark-maildrop 1\nsmtputf8 0\n");
	memset(text + strlen(text), 'x', n);
	text[n] = '\0';
	refused(text);
	free(text);
}

static void
test_writer_refuses(void **state)
{
	struct maildrop	md;
	char		err[128];
	size_t		len;

	maildrop_init(&md);
	assert_null(maildrop_format(&md, &len, err, sizeof(err)));
	assert_int_equal(maildrop_rcpt_add(&md, "nodomain", 0), 0);
	assert_null(maildrop_format(&md, &len, err, sizeof(err)));
	maildrop_free(&md);
	assert_int_equal(maildrop_rcpt_add(&md, "a@x\xc3\xa4", 0), 0);
	assert_null(maildrop_format(&md, &len, err, sizeof(err)));
	maildrop_free(&md);
}

static void
test_notify(void **state)
{
	uint32_t	n;
	char		buf[32];

	assert_int_equal(maildrop_notify_parse("FAILURE,success", &n), 0);
	assert_int_equal(n, QM_NOTIFY_FAILURE | QM_NOTIFY_SUCCESS);
	maildrop_notify_format(n, buf, sizeof(buf));
	assert_string_equal(buf, "success,failure");
	assert_int_equal(maildrop_notify_parse("never", &n), 0);
	maildrop_notify_format(n, buf, sizeof(buf));
	assert_string_equal(buf, "never");
	maildrop_notify_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	assert_int_equal(maildrop_notify_parse("", &n), -1);
	assert_int_equal(maildrop_notify_parse("success,", &n), -1);
	assert_int_equal(maildrop_notify_parse("delay,delay", &n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_writer_refuses),
		cmocka_unit_test(test_notify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
