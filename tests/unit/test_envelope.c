/*
 * test_envelope.c: unit tests of qmgr's envelope format (qmgr/envelope.c):
 * a round trip through text, and refusal of every damaged form: truncated
 * files, garbage, a wrong version, over-long fields, missing, duplicate
 * and unknown keys, bad values and bad escapes.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../qmgr/qmgr.h"

static char	err[256];

/* An envelope that uses every field, with bytes that need escaping. */
static void
sample(struct envelope *env)
{
	envelope_init(env);
	strlcpy(env->qid, "65F0A1B2C3D4E001", sizeof(env->qid));
	env->arrival = 1710000000;
	assert_int_equal(envelope_set(&env->sender, "j\xc3\xb6rg@example.org"),
	    0);
	assert_int_equal(envelope_set(&env->client_addr, "192.0.2.1"), 0);
	assert_int_equal(envelope_set(&env->client_name, "mx.example.net"),
	    0);
	assert_int_equal(envelope_set(&env->helo, "[192.0.2.1] 100%"), 0);
	assert_int_equal(envelope_set(&env->auth, ""), 0);
	assert_int_equal(envelope_set(&env->envid, "-"), 0);
	env->body = QM_BODY_8BITMIME;
	env->flags = QM_F_SMTPUTF8;
	env->ret = QM_RET_HDRS;
	env->size = 12345;
	assert_int_equal(envelope_rcpt_add(env, "\"john doe\"@example.test",
	    "rfc822;john doe@example.test", QM_NOTIFY_FAILURE |
	    QM_NOTIFY_DELAY), 0);
	assert_int_equal(envelope_rcpt_add(env, "bob@example.test", "",
	    QM_NOTIFY_NEVER), 0);
	assert_int_equal(envelope_rcpt_add(env, "carol@example.test", "", 0),
	    0);
	env->rcpt[1].state = RCPT_DEFERRED;
	env->rcpt[1].attempts = 3;
	env->rcpt[1].next_try = 1710003600;
	env->rcpt[1].reported = RCPT_REPORTED_DELAY;
	strlcpy(env->rcpt[1].dsn, "4.2.2", sizeof(env->rcpt[1].dsn));
	assert_int_equal(envelope_set(&env->rcpt[1].text,
	    "mailbox full\r\n250 fake"), 0);
	env->rcpt[2].state = RCPT_FAILED;
	env->rcpt[2].reported = RCPT_REPORTED_FAILURE | RCPT_REPORTED_DELAY;
	strlcpy(env->rcpt[2].dsn, "5.1.1", sizeof(env->rcpt[2].dsn));
}

static char *
sample_text(size_t *len)
{
	struct envelope	 env;
	char		*text;

	sample(&env);
	text = envelope_format(&env, len);
	assert_non_null(text);
	envelope_free(&env);
	return text;
}

static int
parse_str(const char *text)
{
	struct envelope	env;
	int		rc;

	err[0] = '\0';
	rc = envelope_parse(&env, text, strlen(text), err, sizeof(err));
	if (rc == 0)
		envelope_free(&env);
	return rc;
}

/* The sample's text with the first line starting with key replaced by
 * line (or removed when line is NULL). */
static char *
edit(const char *key, const char *line)
{
	char	*text, *out, *p, *nl = NULL;
	size_t	 len, klen = strlen(key), outlen;

	text = sample_text(&len);
	outlen = len + (line ? strlen(line) : 0) + 2;
	out = malloc(outlen);
	assert_non_null(out);
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		if (strncmp(p, key, klen) == 0 &&
		    (p[klen] == ' ' || p[klen] == '\n'))
			break;
	}
	assert_true(*p != '\0');
	snprintf(out, outlen, "%.*s%s%s%s", (int)(p - text), text,
	    line ? line : "", line ? "\n" : "", nl + 1);
	free(text);
	return out;
}

static void
expect_refused(const char *key, const char *line)
{
	char	*text = edit(key, line);

	if (parse_str(text) == 0)
		fail_msg("accepted after %s -> %s", key, line ? line : "(none)");
	assert_true(err[0] != '\0');
	free(text);
}

static void
test_round_trip(void **state)
{
	struct envelope	 env, back;
	char		*text, *again;
	size_t		 len, len2, i;

	sample(&env);
	text = envelope_format(&env, &len);
	assert_non_null(text);
	assert_int_equal(envelope_parse(&back, text, len, err, sizeof(err)),
	    0);
	assert_string_equal(back.qid, env.qid);
	assert_true(back.arrival == env.arrival);
	assert_string_equal(back.sender, env.sender);
	assert_string_equal(back.helo, env.helo);
	assert_string_equal(back.auth, "");
	assert_string_equal(back.envid, "-");
	assert_int_equal(back.body, QM_BODY_8BITMIME);
	assert_int_equal(back.flags, QM_F_SMTPUTF8);
	assert_int_equal(back.ret, QM_RET_HDRS);
	assert_true(back.size == 12345);
	assert_int_equal(back.nrcpt, 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(back.rcpt[i].addr, env.rcpt[i].addr);
		assert_string_equal(back.rcpt[i].orcpt, env.rcpt[i].orcpt);
		assert_string_equal(back.rcpt[i].text, env.rcpt[i].text);
		assert_string_equal(back.rcpt[i].dsn, env.rcpt[i].dsn);
		assert_int_equal(back.rcpt[i].notify, env.rcpt[i].notify);
		assert_int_equal(back.rcpt[i].state, env.rcpt[i].state);
		assert_int_equal(back.rcpt[i].attempts, env.rcpt[i].attempts);
		assert_true(back.rcpt[i].next_try == env.rcpt[i].next_try);
		assert_int_equal(back.rcpt[i].reported, env.rcpt[i].reported);
	}
	again = envelope_format(&back, &len2);
	assert_non_null(again);
	assert_int_equal(len, len2);
	assert_memory_equal(text, again, len);
	/* one line per record: escaped text never breaks a line */
	assert_null(strstr(text, "\r"));
	assert_non_null(strstr(text, "%0D%0A"));
	free(text);
	free(again);
	envelope_free(&env);
	envelope_free(&back);
}

static void
expect_accepted(const char *key, const char *line)
{
	char	*text = edit(key, line);

	if (parse_str(text) == -1)
		fail_msg("refused %s: %s", line, err);
	free(text);
}

/* The edges of what is valid are valid. */
static void
test_limits(void **state)
{
	expect_accepted("size", "size 18446744073709551615");
	expect_refused("size", "size 18446744073709551616");
	expect_accepted("smtputf8", "smtputf8 1");
	expect_accepted("arrival", "arrival 0");
	expect_refused("arrival", "arrival 00");
	expect_accepted("rcpt", "rcpt a@b - - pending 1000000 1099511627776 "
	    "- - -");
	expect_refused("rcpt", "rcpt a@b - - pending 0 1099511627777 - - -");
	expect_accepted("rcpt", "rcpt a%20b@c rfc822;x success,failure,delay "
	    "delivered 1 2 delay,failure,success 2.1.5 a%25b");
	expect_accepted("sender", "sender %2D");
}

static void
test_truncated(void **state)
{
	struct envelope	 env;
	char		*text;
	size_t		 len, n;

	text = sample_text(&len);
	for (n = 0; n < len; n++) {
		if (envelope_parse(&env, text, n, err, sizeof(err)) == 0)
			fail_msg("accepted %zu of %zu bytes", n, len);
	}
	assert_int_equal(envelope_parse(&env, text, len, err, sizeof(err)), 0);
	envelope_free(&env);
	free(text);
}

static void
test_garbage(void **state)
{
	struct envelope	 env;
	char		 buf[4096], *text;
	size_t		 len, i, pos;
	unsigned	 seed = 12345;
	int		 round;

	for (round = 0; round < 2000; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = (char)(seed >> 16);
		}
		len = (seed >> 8) % sizeof(buf);
		assert_int_equal(envelope_parse(&env, buf, len, err,
		    sizeof(err)), -1);
	}
	/* one flipped byte in a good file: refused or still well-formed */
	text = sample_text(&len);
	for (pos = 0; pos < len; pos++) {
		char	saved = text[pos];

		text[pos] = (char)0xff;
		assert_int_equal(envelope_parse(&env, text, len, err,
		    sizeof(err)), -1);
		text[pos] = saved;
	}
	free(text);
	assert_int_equal(parse_str(""), -1);
	assert_int_equal(parse_str("\n\n\n"), -1);
	assert_int_equal(envelope_parse(&env, "version 1\n\0end\n", 16, err,
	    sizeof(err)), -1);
}

static void
test_version(void **state)
{
	expect_refused("version", "version 2");
	expect_refused("version", "version 0");
	expect_refused("version", "version 01");
	expect_refused("version", "version");
	expect_refused("version", "version 1 1");
	expect_refused("version", NULL);
	assert_int_equal(parse_str("qid 65F0A1B2C3D4E001\nversion 1\n"), -1);
}

static void
test_overlong(void **state)
{
	char	line[ENVELOPE_LINE_MAX * 2];
	char	field[ENVELOPE_FIELD_MAX + 2];
	char	*ok;

	memset(field, 'a', ENVELOPE_FIELD_MAX);
	field[ENVELOPE_FIELD_MAX] = '\0';
	snprintf(line, sizeof(line), "sender %s", field);
	ok = edit("sender", line);
	assert_int_equal(parse_str(ok), 0);
	free(ok);
	field[ENVELOPE_FIELD_MAX] = 'a';
	field[ENVELOPE_FIELD_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "sender %s", field);
	expect_refused("sender", line);
	snprintf(line, sizeof(line), "rcpt %s - - pending 0 0 - - -", field);
	expect_refused("rcpt", line);
	/* a line beyond the maximum, even of valid escapes */
	memset(line, 0, sizeof(line));
	memcpy(line, "helo ", 5);
	memset(line + 5, 'b', ENVELOPE_LINE_MAX);
	expect_refused("helo", line);
	expect_refused("size", "size 184467440737095516150");
	expect_refused("arrival", "arrival 99999999999999");
	expect_refused("rcpt", "rcpt a@b - - pending 1000001 0 - - -");
	expect_refused("rcpt", "rcpt a@b - - pending 0 0 - 4.1234.1 -");
}

static void
test_missing(void **state)
{
	static const char *const keys[] = {
		"qid", "arrival", "sender", "client-addr", "client-name",
		"helo", "auth", "body", "smtputf8", "ret", "envid", "size",
		"nrcpt", "rcpt", "end",
	};
	size_t	i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		expect_refused(keys[i], NULL);
}

static void
test_bad_values(void **state)
{
	expect_refused("qid", "qid 65f0a1b2c3d4e001");
	expect_refused("qid", "qid 65F0A1B2C3D4E00");
	expect_refused("qid", "qid ../../etc/passw");
	expect_refused("arrival", "arrival -1");
	expect_refused("arrival", "arrival 0x10");
	expect_refused("body", "body 9bit");
	expect_refused("smtputf8", "smtputf8 2");
	expect_refused("ret", "ret all");
	expect_refused("nrcpt", "nrcpt 2");
	expect_refused("nrcpt", "nrcpt 4");
	expect_refused("nrcpt", "nrcpt 0");
	expect_refused("sender", "sender a%2");
	expect_refused("sender", "sender a%zz");
	expect_refused("sender", "sender a%00b");
	expect_refused("sender", "sender a%0d");
	expect_refused("sender", "sender a b");
	expect_refused("sender", "sender  a");
	expect_refused("sender", "sender a ");
	expect_refused("sender", "sender a\tb");
	expect_refused("sender", "sender");
	expect_refused("sender", "bogus-key x");
	expect_refused("end", "end now");
	expect_refused("rcpt", "rcpt - - - pending 0 0 - - -");
	expect_refused("rcpt", "rcpt a@b - - lost 0 0 - - -");
	expect_refused("rcpt", "rcpt a@b - success,success pending 0 0 - - -");
	expect_refused("rcpt", "rcpt a@b - never,delay pending 0 0 - - -");
	expect_refused("rcpt", "rcpt a@b - - pending 0 0 bogus - -");
	expect_refused("rcpt", "rcpt a@b - - pending 0 0 - 6.0.0 -");
	expect_refused("rcpt", "rcpt a@b - - pending 0 0 - - - extra");
	expect_refused("rcpt", "rcpt a@b - - pending 0 0 - -");
}

static void
test_structure(void **state)
{
	char	*text, *more;
	size_t	 len;

	expect_refused("size", "helo x\nsize 12345");	/* duplicate */
	expect_refused("end", "size 1\nend");	/* header after rcpts */
	expect_refused("end", "end\nend");	/* data after the end */
	expect_refused("end", "rcpt a@b - - pending 0 0 - - -\nend");
	/* a rcpt line before the header is complete */
	more = edit("version", "version 1\nrcpt a@b - - pending 0 0 - - -");
	assert_int_equal(parse_str(more), -1);
	free(more);
	text = sample_text(&len);
	assert_int_equal(parse_str(text), 0);
	free(text);
}

static void
test_helpers(void **state)
{
	assert_true(envelope_qid_valid("0123456789ABCDEF"));
	assert_false(envelope_qid_valid("0123456789ABCDEF0"));
	assert_false(envelope_qid_valid("0123456789abcdef"));
	assert_false(envelope_qid_valid(""));
	assert_true(envelope_dsn_valid("2.0.0"));
	assert_true(envelope_dsn_valid("5.123.456"));
	assert_false(envelope_dsn_valid("5.1234.4"));
	assert_false(envelope_dsn_valid("3.0.0"));
	assert_false(envelope_dsn_valid("5.0."));
	assert_false(envelope_dsn_valid("5.0.0 "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
