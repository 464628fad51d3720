/*
 * test_addrlist.c: unit tests of the RFC 5322 address-list parser that
 * sendmail -t reads To:, Cc: and Bcc: with (cli/addrlist.c): display
 * names, groups, comments, quoted strings, folding, routes, the
 * obsolete forms, and every way a field must be refused.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addrlist.h"

static char	got[16][ADDRLIST_ADDR_MAX + 1];
static int	ngot;

static int
collect(void *arg, const char *addr, char *err, size_t errlen)
{
	if (arg != NULL && strcmp(addr, arg) == 0) {
		snprintf(err, errlen, "stopped at %s", addr);
		return -1;
	}
	if (ngot < 16)
		strlcpy(got[ngot], addr, sizeof(got[0]));
	ngot++;
	return 0;
}

static int
parse(const char *s)
{
	char	err[256];

	ngot = 0;
	return addrlist_parse(s, strlen(s), collect, NULL, err, sizeof(err));
}

/* s must give exactly the n addresses that follow */
static void
expect(const char *s, int n, ...)
{
	va_list	ap;
	int	i;

	assert_int_equal(parse(s), n);
	assert_int_equal(ngot, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(got[i], va_arg(ap, const char *));
	va_end(ap);
}

static void
test_plain(void **state)
{
	expect("a@example.org", 1, "a@example.org");
	expect(" a@example.org , b@example.net ", 2, "a@example.org",
	    "b@example.net");
	expect("first.last+tag@sub.example.org", 1,
	    "first.last+tag@sub.example.org");
	expect("", 0);
	expect("  ", 0);
}

static void
test_display_names(void **state)
{
	expect("Bob <bob@example.org>", 1, "bob@example.org");
	expect("\"Doe, John\" <jd@example.org>, c@example.org", 2,
	    "jd@example.org", "c@example.org");
	expect("John Q. Public <jqp@example.org>", 1, "jqp@example.org");
	expect("<bare@example.org>", 1, "bare@example.org");
	expect("=?utf-8?q?J=C3=B6rg?= <j@example.org>", 1, "j@example.org");
	expect("J\xc3\xb6rg <j\xc3\xb6rg@ex\xc3\xa4mple.org>", 1,
	    "j\xc3\xb6rg@ex\xc3\xa4mple.org");
	/* a broken client's unquoted '@' in the name */
	expect("bob@example.org <bob@example.org>", 1, "bob@example.org");
}

static void
test_comments_and_folding(void **state)
{
	expect("(x) a@example.org (y)", 1, "a@example.org");
	expect("a@example.org (a (nested) comment, with comma)", 1,
	    "a@example.org");
	expect("a@example.org (\\) quoted paren)", 1, "a@example.org");
	expect("a@example.org,\r\n\tb@example.org,\n c@example.org", 3,
	    "a@example.org", "b@example.org", "c@example.org");
	expect("Bob\r\n <bob@example.org>", 1, "bob@example.org");
}

static void
test_groups(void **state)
{
	expect("undisclosed-recipients:;", 0);
	expect("Friends: a@example.org, B <b@example.org>;, c@example.org",
	    3, "a@example.org", "b@example.org", "c@example.org");
	expect("G: a@example.org;", 1, "a@example.org");
	expect("G:;, H: h@example.org ; ", 1, "h@example.org");
}

static void
test_obsolete_forms(void **state)
{
	expect("<@r1.example,@r2.example:u@example.org>", 1,
	    "u@example.org");
	expect(", , a@example.org,,", 1, "a@example.org");
	expect("\"john doe\"@example.org", 1, "\"john doe\"@example.org");
	expect("\"a\\\"b\"@example.org", 1, "\"a\\\"b\"@example.org");
	expect("u@[192.0.2.1]", 1, "u@[192.0.2.1]");
	expect("bob", 1, "bob");
	expect("bob, carol@example.org", 2, "bob", "carol@example.org");
	expect("a . b @ example.org", 1, "a.b@example.org");
}

static void
refused(const char *s)
{
	char	err[256] = "";

	ngot = 0;
	assert_int_equal(addrlist_parse(s, strlen(s), collect, NULL, err,
	    sizeof(err)), -1);
	assert_true(err[0] != '\0');
}

static void
test_refused(void **state)
{
	char	longaddr[600];

	refused("a@example.org b@example.org");
	refused("<a@example.org");
	refused("Bob <a@example.org");
	refused("\"abc <a@example.org>");
	refused("(unterminated a@example.org");
	refused("a@");
	refused("a@\"quoted\"");
	refused("G: a@example.org");
	refused("G: H: a@example.org;;");
	refused("<>");
	refused("a@example.org; b@example.org");
	refused("a\\b@example.org");
	refused("u@[192.0.2.1");
	refused("<@r1.example u@example.org>");
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + 400, "@example.org", 13);
	refused(longaddr);
}

static void
test_deep_comments(void **state)
{
	char	s[200];
	int	i;

	for (i = 0; i < 40; i++)
		s[i] = '(';
	strlcpy(s + 40, "x", sizeof(s) - 40);
	refused(s);
	/* NUL bytes inside the length are characters, not an end */
	assert_int_equal(addrlist_parse("a@b\0c@d", 7, collect, NULL, s,
	    sizeof(s)), -1);
}

static void
test_callback_stops(void **state)
{
	char	err[256] = "";

	ngot = 0;
	assert_int_equal(addrlist_parse("a@x, stop@x, c@x", 16, collect,
	    "stop@x", err, sizeof(err)), -1);
	assert_int_equal(ngot, 1);
	assert_string_equal(err, "stopped at stop@x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_display_names),
		cmocka_unit_test(test_comments_and_folding),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_obsolete_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_deep_comments),
		cmocka_unit_test(test_callback_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
