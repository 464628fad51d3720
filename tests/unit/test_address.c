/*
 * test_address.c: unit tests of the RFC 5321 path parser (smtpd/address.c):
 * the grammar, every open-relay form, the length limits at and one past
 * the boundary, quoted strings, literals, UTF-8 with and without SMTPUTF8,
 * NUL bytes, and the reply for each error. Inputs live in exact-size heap
 * buffers so that AddressSanitizer catches any read past the length.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <cmocka.h>

#include "address.h"

#define F_MAIL	ADDRESS_F_NULL_OK
#define F_RCPT	ADDRESS_F_POSTMASTER_OK
#define F_UTF8	ADDRESS_F_UTF8

/* abort() rather than an assertion: the compiler then knows the result
 * is never NULL. */
static void *
xmalloc(size_t n)
{
	void	*p = malloc(n);

	if (p == NULL)
		abort();
	return p;
}

static char *
dup_exact(const char *s, size_t len)
{
	char	*p = xmalloc(len ? len : 1);

	memcpy(p, s, len);
	return p;
}

/* Parse s[0..len), expecting the path to fill it all on success. */
static enum address_error
path_n(const char *s, size_t len, unsigned flags, struct address *a)
{
	char			*p = dup_exact(s, len);
	size_t			 used = 12345;
	enum address_error	 e;

	e = address_parse_path(p, len, flags, a, &used);
	if (e == ADDRESS_OK)
		assert_int_equal(used, len);
	else
		assert_int_equal(used, 0);
	free(p);
	return e;
}

static enum address_error
path(const char *s, unsigned flags, struct address *a)
{
	return path_n(s, strlen(s), flags, a);
}

static void
expect_ok(const char *s, unsigned flags, const char *local,
    const char *domain, const char *canon, unsigned aflags)
{
	struct address	a;

	assert_int_equal(path(s, flags, &a), ADDRESS_OK);
	assert_string_equal(a.local, local);
	assert_string_equal(a.domain, domain);
	assert_string_equal(a.canon, canon);
	assert_int_equal(a.flags, aflags);
}

static void
expect_err(const char *s, unsigned flags, enum address_error want)
{
	struct address	a;

	memset(&a, 0x5a, sizeof(a));
	assert_int_equal(path(s, flags, &a), want);
	/* nothing half-parsed survives an error */
	assert_int_equal(a.flags, 0);
	assert_string_equal(a.local, "");
	assert_string_equal(a.canon, "");
}

/* A string of n copies of c. */
static char *
rep(char c, size_t n)
{
	char	*s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* "<" local "@" domain ">" */
static char *
mkpath(const char *local, const char *domain)
{
	size_t	 n = strlen(local) + strlen(domain) + 4;
	char	*s = xmalloc(n);

	snprintf(s, n, "<%s@%s>", local, domain);
	return s;
}

/* A valid domain of exactly n octets (n >= 1): labels of 63 and dots. */
static char *
mkdomain(size_t n)
{
	char	*s = rep('a', n);
	size_t	 i;

	for (i = 63; i < n - 1; i += 64)
		s[i] = '.';
	return s;
}

static void
test_simple(void **state)
{
	expect_ok("<user@example.org>", 0, "user", "example.org",
	    "user@example.org", 0);
	expect_ok("<User.Name@Mail.Example.ORG>", 0, "User.Name",
	    "mail.example.org", "User.Name@mail.example.org", 0);
	expect_ok("<a@b>", 0, "a", "b", "a@b", 0);
	expect_ok("<first.m.last@x-y.example>", 0, "first.m.last",
	    "x-y.example", "first.m.last@x-y.example", 0);
	expect_ok("<1@2.3.4.5>", 0, "1", "2.3.4.5", "1@2.3.4.5", 0);
	expect_ok("<a+tag@example.org>", 0, "a+tag", "example.org",
	    "a+tag@example.org", 0);
}

static void
test_atext(void **state)
{
	/* every atext special but % and ! (those are relay tricks) */
	expect_ok("<#$&'*+-/=?^_`{|}~@example.org>", 0,
	    "#$&'*+-/=?^_`{|}~", "example.org",
	    "#$&'*+-/=?^_`{|}~@example.org", 0);
	expect_err("<a b@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a\t@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a(b)@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a,b@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a;b@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a\\b@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a\r\n@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a\x7f@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a[b]@example.org>", 0, ADDRESS_ERR_SYNTAX);
}

static void
test_dots(void **state)
{
	expect_err("<.a@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a.@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a..b@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<.@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<@example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@.example.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@example..org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@>", 0, ADDRESS_ERR_SYNTAX);
}

static void
test_brackets(void **state)
{
	struct address	a;
	size_t		used;
	const char	line[] = "<a@b.example> SIZE=10";

	expect_err("", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<", 0, ADDRESS_ERR_SYNTAX);
	expect_err(">", 0, ADDRESS_ERR_SYNTAX);
	expect_err("a@b.example", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@b.example", 0, ADDRESS_ERR_SYNTAX);
	expect_err("a@b.example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("< a@b.example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@b.example >", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<<a@b.example>>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@b.example;x>", 0, ADDRESS_ERR_SYNTAX);
	/* the caller decides what may follow the path */
	assert_int_equal(address_parse_path(line, sizeof(line) - 1, 0, &a,
	    &used), ADDRESS_OK);
	assert_int_equal(used, 13);
	assert_int_equal(address_parse_path(line, sizeof(line) - 1, 0, &a,
	    NULL), ADDRESS_OK);
}

static void
test_null_path(void **state)
{
	expect_ok("<>", F_MAIL, "", "", "", ADDRESS_IS_NULL);
	expect_err("<>", 0, ADDRESS_ERR_NULL_NOT_ALLOWED);
	expect_err("<>", F_RCPT, ADDRESS_ERR_NULL_NOT_ALLOWED);
	expect_err("< >", F_MAIL, ADDRESS_ERR_SYNTAX);
	expect_err("<@>", F_MAIL, ADDRESS_ERR_SYNTAX);
	expect_err("<\"\">", F_MAIL, ADDRESS_ERR_NO_DOMAIN);
}

static void
test_postmaster(void **state)
{
	expect_ok("<Postmaster>", F_RCPT, "postmaster", "", "postmaster",
	    ADDRESS_IS_POSTMASTER);
	expect_ok("<POSTMASTER>", F_RCPT, "postmaster", "", "postmaster",
	    ADDRESS_IS_POSTMASTER);
	expect_ok("<pOsTmAsTeR>", F_RCPT, "postmaster", "", "postmaster",
	    ADDRESS_IS_POSTMASTER);
	expect_err("<Postmaster>", 0, ADDRESS_ERR_NO_DOMAIN);
	expect_err("<Postmaster>", F_MAIL, ADDRESS_ERR_NO_DOMAIN);
	expect_err("<postmaste>", F_RCPT, ADDRESS_ERR_NO_DOMAIN);
	expect_err("<postmasters>", F_RCPT, ADDRESS_ERR_NO_DOMAIN);
	expect_err("<\"postmaster\">", F_RCPT, ADDRESS_ERR_NO_DOMAIN);
	expect_err("<@a.example:postmaster>", F_RCPT, ADDRESS_ERR_NO_DOMAIN);
	expect_ok("<Postmaster@Example.org>", F_RCPT, "Postmaster",
	    "example.org", "Postmaster@example.org", 0);
	expect_err("<user>", F_RCPT, ADDRESS_ERR_NO_DOMAIN);
}

static void
test_quoted(void **state)
{
	expect_ok("<\"john doe\"@example.org>", 0, "john doe", "example.org",
	    "\"john doe\"@example.org", ADDRESS_QUOTED);
	/* quoted for no reason: canonical form drops the quotes */
	expect_ok("<\"john\"@example.org>", 0, "john", "example.org",
	    "john@example.org", ADDRESS_QUOTED);
	expect_ok("<\"a\\\"b\"@x.org>", 0, "a\"b", "x.org",
	    "\"a\\\"b\"@x.org", ADDRESS_QUOTED);
	expect_ok("<\"a\\\\b\"@x.org>", 0, "a\\b", "x.org",
	    "\"a\\\\b\"@x.org", ADDRESS_QUOTED);
	/* a needless quoted-pair is decoded away */
	expect_ok("<\"\\a\\b\"@x.org>", 0, "ab", "x.org", "ab@x.org",
	    ADDRESS_QUOTED);
	expect_ok("<\"a>b\"@x.org>", 0, "a>b", "x.org", "\"a>b\"@x.org",
	    ADDRESS_QUOTED);
	expect_ok("<\".a\"@x.org>", 0, ".a", "x.org", "\".a\"@x.org",
	    ADDRESS_QUOTED);
	expect_ok("<\"a.\"@x.org>", 0, "a.", "x.org", "\"a.\"@x.org",
	    ADDRESS_QUOTED);
	expect_ok("<\"a..b\"@x.org>", 0, "a..b", "x.org", "\"a..b\"@x.org",
	    ADDRESS_QUOTED);
	expect_ok("<\" \"@x.org>", 0, " ", "x.org", "\" \"@x.org",
	    ADDRESS_QUOTED);
	expect_ok("<\"\\ \"@x.org>", 0, " ", "x.org", "\" \"@x.org",
	    ADDRESS_QUOTED);
	expect_err("<\"\"@x.org>", 0, ADDRESS_ERR_EMPTY_LOCAL);
	expect_err("<\"abc@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"abc\\\"@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"a\tb\"@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"a\\\tb\"@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"a\\\x7f\"@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"a\x7f\"@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"a\r\nb\"@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"a\"b@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a\"b\"@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"a\".b@x.org>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"a\">", 0, ADDRESS_ERR_NO_DOMAIN);
	expect_err("<\"", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<\"\\", 0, ADDRESS_ERR_SYNTAX);
}

static void
test_relay_tricks(void **state)
{
	struct address	a;

	expect_ok("<user%remote.example@ours.example>", 0,
	    "user%remote.example", "ours.example",
	    "user%remote.example@ours.example", ADDRESS_RELAY_TRICK);
	expect_ok("<remote.example!user@ours.example>", 0,
	    "remote.example!user", "ours.example",
	    "remote.example!user@ours.example", ADDRESS_RELAY_TRICK);
	expect_ok("<\"user@remote.example\"@ours.example>", 0,
	    "user@remote.example", "ours.example",
	    "\"user@remote.example\"@ours.example",
	    ADDRESS_RELAY_TRICK | ADDRESS_QUOTED);
	expect_ok("<\"user%remote\"@ours.example>", 0, "user%remote",
	    "ours.example", "user%remote@ours.example",
	    ADDRESS_RELAY_TRICK | ADDRESS_QUOTED);
	expect_ok("<\"a!b\"@ours.example>", 0, "a!b", "ours.example",
	    "a!b@ours.example", ADDRESS_RELAY_TRICK | ADDRESS_QUOTED);
	/* source routes: accepted, route dropped, flagged */
	expect_ok("<@ours.example:user@remote.example>", 0, "user",
	    "remote.example", "user@remote.example",
	    ADDRESS_ROUTE | ADDRESS_RELAY_TRICK);
	expect_ok("<@a.example,@b.example:user@c.example>", 0, "user",
	    "c.example", "user@c.example",
	    ADDRESS_ROUTE | ADDRESS_RELAY_TRICK);
	expect_ok("<@A.Example,@b.example,@c.example:u@[10.0.0.1]>", 0, "u",
	    "[10.0.0.1]", "u@[10.0.0.1]",
	    ADDRESS_ROUTE | ADDRESS_RELAY_TRICK | ADDRESS_LITERAL);
	/* a second unquoted @ is not a trick but a syntax error */
	expect_err("<user@remote.example@ours.example>", 0,
	    ADDRESS_ERR_SYNTAX);
	/* broken routes */
	expect_err("<@ours.example user@remote.example>", 0,
	    ADDRESS_ERR_SYNTAX);
	expect_err("<@ours.example,user@remote.example>", 0,
	    ADDRESS_ERR_SYNTAX);
	expect_err("<@:user@remote.example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<@a.example,:user@remote.example>", 0,
	    ADDRESS_ERR_SYNTAX);
	expect_err("<@a.example,,@b.example:u@c.example>", 0,
	    ADDRESS_ERR_SYNTAX);
	expect_err("<@[1.2.3.4]:user@remote.example>", 0,
	    ADDRESS_ERR_SYNTAX);
	expect_err("<@a.example:>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<@a.example:@b.example>", 0, ADDRESS_ERR_SYNTAX);
	/* the ordinary case is not flagged */
	assert_int_equal(path("<user@ours.example>", 0, &a), ADDRESS_OK);
	assert_false(address_is_relay_trick(&a));
	assert_int_equal(path("<u%r@ours.example>", 0, &a), ADDRESS_OK);
	assert_true(address_is_relay_trick(&a));
	assert_int_equal(path("<@x.example:u@ours.example>", 0, &a),
	    ADDRESS_OK);
	assert_true(address_is_relay_trick(&a));
}

static void
test_trailing_dot(void **state)
{
	expect_err("<user@ours.example.>", 0, ADDRESS_ERR_TRAILING_DOT);
	expect_err("<user@ours.>", 0, ADDRESS_ERR_TRAILING_DOT);
	expect_err("<user@ours.example..>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<user@ours.example.", 0, ADDRESS_ERR_TRAILING_DOT);
	expect_err("<@a.example.:user@ours.example>", 0,
	    ADDRESS_ERR_SYNTAX);
}

static void
test_domain_syntax(void **state)
{
	expect_ok("<a@x-1.example>", 0, "a", "x-1.example", "a@x-1.example",
	    0);
	expect_ok("<a@x--y.example>", 0, "a", "x--y.example",
	    "a@x--y.example", 0);
	expect_ok("<a@xn--bcher-kva.example>", 0, "a",
	    "xn--bcher-kva.example", "a@xn--bcher-kva.example", 0);
	expect_ok("<a@9.example>", 0, "a", "9.example", "a@9.example", 0);
	expect_err("<a@-x.example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@x-.example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@x.-example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@x_y.example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@x y.example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@x.example/>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<a@\"x\".example>", 0, ADDRESS_ERR_SYNTAX);
}

static void
test_literals(void **state)
{
	struct address	a;
	const uint8_t	v4[4] = { 127, 0, 0, 1 };
	const uint8_t	v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
			    0, 0, 0, 0, 0, 0, 0, 1 };

	assert_int_equal(path("<user@[127.0.0.1]>", 0, &a), ADDRESS_OK);
	assert_int_equal(a.flags, ADDRESS_LITERAL);
	assert_int_equal(a.literal_family, AF_INET);
	assert_memory_equal(a.literal_addr, v4, 4);
	assert_string_equal(a.domain, "[127.0.0.1]");
	assert_string_equal(a.canon, "user@[127.0.0.1]");

	assert_int_equal(path("<user@[IPv6:2001:DB8:0::1]>", 0, &a),
	    ADDRESS_OK);
	assert_int_equal(a.literal_family, AF_INET6);
	assert_memory_equal(a.literal_addr, v6, 16);
	assert_string_equal(a.domain, "[IPv6:2001:db8::1]");
	expect_ok("<u@[ipv6:::1]>", 0, "u", "[IPv6:::1]", "u@[IPv6:::1]",
	    ADDRESS_LITERAL);
	expect_ok("<u@[IPV6:::ffff:192.0.2.1]>", 0, "u",
	    "[IPv6:::ffff:192.0.2.1]", "u@[IPv6:::ffff:192.0.2.1]",
	    ADDRESS_LITERAL);
	expect_ok("<u@[0.0.0.0]>", 0, "u", "[0.0.0.0]", "u@[0.0.0.0]",
	    ADDRESS_LITERAL);
	expect_ok("<u@[255.255.255.255]>", 0, "u", "[255.255.255.255]",
	    "u@[255.255.255.255]", ADDRESS_LITERAL);

	expect_err("<u@[256.0.0.1]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[1.2.3]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[1.2.3.4.5]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[1.2.3.4 ]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[ 1.2.3.4]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[example.org]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[IPv6:1.2.3.4]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[IPv6:zz::1]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[IPv6:1:2:3:4:5:6:7:8:9]>", 0,
	    ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[IPv6:]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[IPv6:::1%eth0]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[IPv4:1.2.3.4]>", 0, ADDRESS_ERR_LITERAL_UNSUPPORTED);
	expect_err("<u@[x-tag:content]>", 0, ADDRESS_ERR_LITERAL_UNSUPPORTED);
	expect_err("<u@[tag:]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[-tag:x]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[:x]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[1.2.3.4>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<u@[1.2.3.4]x>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<u@[1.2.3.4].example>", 0, ADDRESS_ERR_SYNTAX);
	expect_err("<u@[1.2[3.4]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[1.2\\3.4]>", 0, ADDRESS_ERR_BAD_LITERAL);
	expect_err("<u@[\xc3\xa9]>", 0, ADDRESS_ERR_UTF8_NOT_ALLOWED);
	expect_err("<u@[\xc3\xa9]>", F_UTF8, ADDRESS_ERR_BAD_LITERAL);
}

static void
test_local_length(void **state)
{
	char	*l64 = rep('a', 64), *l65 = rep('a', 65), *s;
	char	*q62 = rep('q', 62), *q63 = rep('q', 63), *buf, *c;

	s = mkpath(l64, "example.org");
	s[strlen(s) - 1] = '\0';
	c = strdup(s + 1);
	s[strlen(s)] = '>';
	expect_ok(s, 0, l64, "example.org", c, 0);
	free(c);
	free(s);
	s = mkpath(l65, "example.org");
	expect_err(s, 0, ADDRESS_ERR_LOCAL_TOO_LONG);
	free(s);

	/* the limit counts the quotes: 62 + 2 is 64 */
	buf = xmalloc(128);
	snprintf(buf, 128, "<\"%s\"@x.org>", q62);
	assert_int_equal(path(buf, 0, &(struct address){ 0 }), ADDRESS_OK);
	snprintf(buf, 128, "<\"%s\"@x.org>", q63);
	expect_err(buf, 0, ADDRESS_ERR_LOCAL_TOO_LONG);
	/* and the backslashes */
	snprintf(buf, 128, "<\"\\%s\"@x.org>", q62 + 1);
	assert_int_equal(path(buf, 0, &(struct address){ 0 }), ADDRESS_OK);
	snprintf(buf, 128, "<\"\\%s\"@x.org>", q62);
	expect_err(buf, 0, ADDRESS_ERR_LOCAL_TOO_LONG);
	/* far too long, and never closed */
	snprintf(buf, 128, "<\"%s%s", q63, q62);
	expect_err(buf, 0, ADDRESS_ERR_LOCAL_TOO_LONG);
	free(buf);
	free(l64);
	free(l65);
	free(q62);
	free(q63);
}

static void
test_label_length(void **state)
{
	char	*l63 = rep('b', 63), *l64 = rep('b', 64), *d, *s, *c;
	size_t	 n = 63 + 9;

	d = xmalloc(n);
	c = xmalloc(n + 2);
	snprintf(d, n, "%s.example", l63);
	snprintf(c, n + 2, "a@%s", d);
	s = mkpath("a", d);
	expect_ok(s, 0, "a", d, c, 0);
	free(s);
	free(c);
	free(d);
	s = mkpath("a", l63);
	assert_int_equal(path(s, 0, &(struct address){ 0 }), ADDRESS_OK);
	free(s);
	s = mkpath("a", l64);
	expect_err(s, 0, ADDRESS_ERR_LABEL_TOO_LONG);
	free(s);
	free(l63);
	free(l64);
}

static void
test_domain_length(void **state)
{
	char		*d255 = mkdomain(255), *d256 = mkdomain(256), out[256];
	char		*s;
	uint8_t		 addr[16];
	int		 fam;

	/* a 255-octet domain is fine alone but cannot fit in a path */
	assert_int_equal(address_parse_domain(d255, 255, 0, out, sizeof(out),
	    &fam, addr), ADDRESS_OK);
	assert_string_equal(out, d255);
	assert_int_equal(fam, 0);
	assert_int_equal(address_parse_domain(d256, 256, 0, out, sizeof(out),
	    &fam, addr), ADDRESS_ERR_DOMAIN_TOO_LONG);
	assert_string_equal(out, "");
	s = mkpath("a", d255);
	expect_err(s, 0, ADDRESS_ERR_PATH_TOO_LONG);
	free(s);
	s = mkpath("a", d256);
	expect_err(s, 0, ADDRESS_ERR_DOMAIN_TOO_LONG);
	free(s);
	/* a domain whose 256th octet is a dot */
	d256[255] = '.';
	assert_int_equal(address_parse_domain(d256, 256, 0, out, sizeof(out),
	    &fam, addr), ADDRESS_ERR_TRAILING_DOT);
	free(d255);
	free(d256);
	d256 = mkdomain(300);
	d256[255] = '.';
	assert_int_equal(address_parse_domain(d256, 300, 0, out, sizeof(out),
	    &fam, addr), ADDRESS_ERR_DOMAIN_TOO_LONG);
	free(d256);
}

static void
test_path_length(void **state)
{
	char		*l64 = rep('a', 64), *d189 = mkdomain(189);
	char		*d190 = mkdomain(190), *s, *route;
	struct address	 a;
	size_t		 i;

	/* 1 + 64 + 1 + 189 + 1 = 256 */
	s = mkpath(l64, d189);
	assert_int_equal(strlen(s), 256);
	assert_int_equal(path(s, 0, &a), ADDRESS_OK);
	assert_int_equal(strlen(a.canon), 254);
	free(s);
	s = mkpath(l64, d190);
	assert_int_equal(strlen(s), 257);
	expect_err(s, 0, ADDRESS_ERR_PATH_TOO_LONG);
	free(s);

	/* a route counts too, and is stopped before it runs away */
	route = xmalloc(2048);
	strlcpy(route, "<", 2048);
	for (i = 0; i < 40; i++)
		strlcat(route, "@relay.example,", 2048);
	strlcat(route, "@last.example:u@x.example>", 2048);
	expect_err(route, 0, ADDRESS_ERR_PATH_TOO_LONG);
	/* 1 + 16 * 15 + 12: a long route that still fits */
	strlcpy(route, "<", 2048);
	for (i = 0; i < 16; i++)
		strlcat(route, "@relay.example,", 2048);
	route[strlen(route) - 1] = ':';
	strlcat(route, "u@x.example>", 2048);
	assert_int_equal(strlen(route), 253);
	assert_int_equal(path(route, 0, &a), ADDRESS_OK);
	assert_string_equal(a.canon, "u@x.example");
	/* 256 and 257 octets with a route */
	for (i = 237; i <= 238; i++) {
		s = mkdomain(i);
		strlcpy(route, "<@relay.example:u@", 2048);
		strlcat(route, s, 2048);
		strlcat(route, ">", 2048);
		assert_int_equal(strlen(route), 19 + i);
		assert_int_equal(path(route, 0, &a), i == 237 ? ADDRESS_OK :
		    ADDRESS_ERR_PATH_TOO_LONG);
		free(s);
	}
	free(route);
	free(l64);
	free(d189);
	free(d190);
}

static void
test_utf8(void **state)
{
	struct address	a;

	expect_err("<j\xc3\xb6rg@example.org>", 0,
	    ADDRESS_ERR_UTF8_NOT_ALLOWED);
	expect_err("<j\xc3\xb6rg@example.org>", F_MAIL | F_RCPT,
	    ADDRESS_ERR_UTF8_NOT_ALLOWED);
	expect_ok("<j\xc3\xb6rg@example.org>", F_UTF8, "j\xc3\xb6rg",
	    "example.org", "j\xc3\xb6rg@example.org", ADDRESS_UTF8);
	expect_err("<user@b\xc3\xbc" "cher.example>", 0,
	    ADDRESS_ERR_UTF8_NOT_ALLOWED);
	/* ASCII letters of a U-label are lower-cased, the rest kept */
	expect_ok("<U@B\xc3\x9c" "CHER.Example>", F_UTF8, "U",
	    "b\xc3\x9c" "cher.example", "U@b\xc3\x9c" "cher.example",
	    ADDRESS_UTF8);
	/* Chinese local part and domain, 4-byte emoji */
	expect_ok("<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe5\xb9\xbf\xe5\x91\x8a>", F_UTF8,
	    "\xe7\x94\xa8\xe6\x88\xb7",
	    "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	    "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe5\xb9\xbf\xe5\x91\x8a", ADDRESS_UTF8);
	expect_ok("<\xf0\x9f\x98\x80@x.example>", F_UTF8, "\xf0\x9f\x98\x80",
	    "x.example", "\xf0\x9f\x98\x80@x.example", ADDRESS_UTF8);
	expect_ok("<\"j\xc3\xb6 rg\"@x.example>", F_UTF8, "j\xc3\xb6 rg",
	    "x.example", "\"j\xc3\xb6 rg\"@x.example",
	    ADDRESS_UTF8 | ADDRESS_QUOTED);
	expect_err("<\"j\xc3\xb6rg\"@x.example>", 0,
	    ADDRESS_ERR_UTF8_NOT_ALLOWED);
	/* a quoted-pair is ASCII only */
	expect_err("<\"\\\xc3\xb6\"@x.example>", F_UTF8, ADDRESS_ERR_SYNTAX);
	/* a hyphen still may not end a U-label */
	expect_err("<a@\xc3\xb6-.example>", F_UTF8, ADDRESS_ERR_SYNTAX);
	/* a long U-label is not held to the 63-octet ASCII limit */
	assert_int_equal(path("<a@\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6\xc3\xb6"
	    "\xc3\xb6\xc3\xb6\xc3\xb6.example>", F_UTF8, &a), ADDRESS_OK);
}

static void
test_bad_utf8(void **state)
{
	static const char *const bad[] = {
		"<\x80@x.example>",		/* lone continuation */
		"<\xbf@x.example>",
		"<\xc3@x.example>",		/* truncated */
		"<\xc3",
		"<\xe4\xbe@x.example>",
		"<\xf0\x9f\x98@x.example>",
		"<\xc0\xaf@x.example>",		/* overlong '/' */
		"<\xc1\xbf@x.example>",
		"<\xe0\x80\xaf@x.example>",
		"<\xe0\x9f\xbf@x.example>",
		"<\xf0\x80\x80\xaf@x.example>",
		"<\xf0\x8f\xbf\xbf@x.example>",
		"<\xed\xa0\x80@x.example>",	/* surrogates */
		"<\xed\xbf\xbf@x.example>",
		"<\xf4\x90\x80\x80@x.example>",	/* past U+10FFFF */
		"<\xf5\x80\x80\x80@x.example>",
		"<\xf8\x88\x80\x80\x80@x.example>",
		"<\xfe@x.example>",
		"<\xff@x.example>",
		"<\xc2\x80@x.example>",		/* C1 controls */
		"<\xc2\x85@x.example>",
		"<\xc2\x9f@x.example>",
		"<\xc3\xc3@x.example>",
		"<a@\xc3.example>",
		"<a@x\xed\xa0\x80.example>",
		"<\"\xc2\x9b\"@x.example>",
		"<\"\xc3\"@x.example>",
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_err(bad[i], F_UTF8, ADDRESS_ERR_BAD_UTF8);
		expect_err(bad[i], 0, ADDRESS_ERR_UTF8_NOT_ALLOWED);
	}
	/* the edges that are fine */
	expect_ok("<\xc2\xa0@x.example>", F_UTF8, "\xc2\xa0", "x.example",
	    "\xc2\xa0@x.example", ADDRESS_UTF8);
	expect_ok("<\xed\x9f\xbf@x.example>", F_UTF8, "\xed\x9f\xbf",
	    "x.example", "\xed\x9f\xbf@x.example", ADDRESS_UTF8);
	expect_ok("<\xf4\x8f\xbf\xbf@x.example>", F_UTF8, "\xf4\x8f\xbf\xbf",
	    "x.example", "\xf4\x8f\xbf\xbf@x.example", ADDRESS_UTF8);
}

static void
test_utf8_len(void **state)
{
	const unsigned char	e9[] = { 0xc3, 0xa9 };
	const unsigned char	euro[] = { 0xe2, 0x82, 0xac };
	const unsigned char	smile[] = { 0xf0, 0x9f, 0x98, 0x80 };

	assert_int_equal(address_utf8_len(e9, 2), 2);
	assert_int_equal(address_utf8_len(e9, 1), 0);
	assert_int_equal(address_utf8_len(e9, 0), 0);
	assert_int_equal(address_utf8_len(euro, 3), 3);
	assert_int_equal(address_utf8_len(euro, 2), 0);
	assert_int_equal(address_utf8_len(smile, 4), 4);
	assert_int_equal(address_utf8_len(smile, 3), 0);
	assert_int_equal(address_utf8_len((const unsigned char *)"a", 1), 0);
	assert_int_equal(address_utf8_len((const unsigned char *)"", 1), 0);
}

static void
test_nul_bytes(void **state)
{
	struct address	a;
	static const char s1[] = "<us\0er@example.org>";
	static const char s2[] = "<user@exa\0mple.org>";
	static const char s3[] = "<\"a\0b\"@x.org>";
	static const char s4[] = "<user@[1.2.3.4\0]>";
	static const char s5[] = "<\0>";
	static const char s6[] = "<postmaster\0";
	static const char s7[] = "<@a\0:u@b>";

	assert_int_equal(path_n(s1, sizeof(s1) - 1, 0, &a), ADDRESS_ERR_SYNTAX);
	assert_int_equal(path_n(s2, sizeof(s2) - 1, 0, &a), ADDRESS_ERR_SYNTAX);
	assert_int_equal(path_n(s3, sizeof(s3) - 1, 0, &a), ADDRESS_ERR_SYNTAX);
	assert_int_equal(path_n(s4, sizeof(s4) - 1, 0, &a),
	    ADDRESS_ERR_BAD_LITERAL);
	assert_int_equal(path_n(s5, sizeof(s5) - 1, F_MAIL, &a),
	    ADDRESS_ERR_SYNTAX);
	assert_int_equal(path_n(s6, sizeof(s6) - 1, F_RCPT, &a),
	    ADDRESS_ERR_SYNTAX);
	assert_int_equal(path_n(s7, sizeof(s7) - 1, 0, &a), ADDRESS_ERR_SYNTAX);
}

/* Every prefix of valid paths: never a read past the length. */
static void
test_prefixes(void **state)
{
	static const char *const all[] = {
		"<@a.example,@b.example:\"j\\\"o e\"@[IPv6:2001:db8::1]>",
		"<\xe7\x94\xa8@\xe4\xbe\x8b.example>",
		"<Postmaster>",
		"<>",
		"<u@[192.0.2.1]>",
	};
	struct address	a;
	size_t		i, n, used;
	char		*p;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		for (n = 0; n <= strlen(all[i]); n++) {
			p = dup_exact(all[i], n);
			(void)address_parse_path(p, n, F_MAIL | F_RCPT |
			    F_UTF8, &a, &used);
			(void)address_parse_mailbox(p, n, F_UTF8, &a);
			(void)address_parse_domain(p, n, F_UTF8, a.domain,
			    sizeof(a.domain), NULL, NULL);
			free(p);
		}
		p = dup_exact(all[i], strlen(all[i]));
		assert_int_equal(address_parse_path(p, strlen(all[i]),
		    F_MAIL | F_RCPT | F_UTF8, &a, &used), ADDRESS_OK);
		free(p);
	}
}

static void
test_mailbox(void **state)
{
	struct address	a;

	assert_int_equal(address_parse_mailbox("user@Example.org", 16, 0, &a),
	    ADDRESS_OK);
	assert_string_equal(a.canon, "user@example.org");
	assert_int_equal(address_parse_mailbox("user@example.org>", 17, 0,
	    &a), ADDRESS_ERR_SYNTAX);
	assert_int_equal(address_parse_mailbox("<user@example.org>", 18, 0,
	    &a), ADDRESS_ERR_SYNTAX);
	assert_int_equal(address_parse_mailbox("user", 4, 0, &a),
	    ADDRESS_ERR_NO_DOMAIN);
	assert_int_equal(address_parse_mailbox("", 0, 0, &a),
	    ADDRESS_ERR_SYNTAX);
	assert_int_equal(address_parse_mailbox("a@b.", 4, 0, &a),
	    ADDRESS_ERR_TRAILING_DOT);
	assert_int_equal(address_parse_mailbox("j\xc3\xb6@b", 5, 0, &a),
	    ADDRESS_ERR_UTF8_NOT_ALLOWED);
	/* only the UTF-8 flag means something here */
	assert_int_equal(address_parse_mailbox("j\xc3\xb6@b", 5,
	    F_UTF8 | F_MAIL, &a), ADDRESS_OK);
	assert_int_equal(a.flags, ADDRESS_UTF8);
	assert_int_equal(address_parse_mailbox("a%b@c", 5, 0, &a),
	    ADDRESS_OK);
	assert_true(address_is_relay_trick(&a));
}

static void
test_mailbox_length(void **state)
{
	char		*l64 = rep('a', 64), *d189 = mkdomain(189), *s;
	struct address	 a;
	size_t		 n;

	n = 64 + 1 + 189;
	s = xmalloc(n + 2);
	snprintf(s, n + 2, "%s@%s", l64, d189);
	assert_int_equal(address_parse_mailbox(s, n, 0, &a), ADDRESS_OK);
	snprintf(s, n + 2, "%s@%sb", l64, d189);
	assert_int_equal(address_parse_mailbox(s, n + 1, 0, &a),
	    ADDRESS_ERR_PATH_TOO_LONG);
	free(s);
	free(l64);
	free(d189);
}

static void
test_domain(void **state)
{
	char	out[ADDRESS_DOMAIN_MAX + 1], small[8];
	uint8_t	addr[16];
	int	fam = -1;

	assert_int_equal(address_parse_domain("Mail.Example.ORG", 16, 0, out,
	    sizeof(out), &fam, addr), ADDRESS_OK);
	assert_string_equal(out, "mail.example.org");
	assert_int_equal(fam, 0);
	assert_int_equal(address_parse_domain("[192.0.2.1]", 11, 0, out,
	    sizeof(out), &fam, addr), ADDRESS_OK);
	assert_string_equal(out, "[192.0.2.1]");
	assert_int_equal(fam, AF_INET);
	assert_int_equal(addr[0], 192);
	assert_int_equal(address_parse_domain("[IPv6:::1]", 10, 0, out,
	    sizeof(out), &fam, NULL), ADDRESS_OK);
	assert_int_equal(fam, AF_INET6);
	assert_int_equal(address_parse_domain("localhost", 9, 0, out,
	    sizeof(out), NULL, NULL), ADDRESS_OK);
	assert_int_equal(address_parse_domain("example.org.", 12, 0, out,
	    sizeof(out), &fam, addr), ADDRESS_ERR_TRAILING_DOT);
	assert_int_equal(fam, 0);
	assert_int_equal(address_parse_domain("", 0, 0, out, sizeof(out),
	    &fam, addr), ADDRESS_ERR_SYNTAX);
	assert_int_equal(address_parse_domain("a_b.example", 11, 0, out,
	    sizeof(out), &fam, addr), ADDRESS_ERR_SYNTAX);
	assert_int_equal(address_parse_domain("a.example x", 11, 0, out,
	    sizeof(out), &fam, addr), ADDRESS_ERR_SYNTAX);
	assert_int_equal(address_parse_domain("a.example>", 10, 0, out,
	    sizeof(out), &fam, addr), ADDRESS_ERR_SYNTAX);
	assert_int_equal(address_parse_domain("b\xc3\xbc.de", 6, 0, out,
	    sizeof(out), &fam, addr), ADDRESS_ERR_UTF8_NOT_ALLOWED);
	assert_int_equal(address_parse_domain("b\xc3\xbc.de", 6, F_UTF8, out,
	    sizeof(out), &fam, addr), ADDRESS_OK);
	/* a short output buffer is an error, not a truncation */
	assert_int_equal(address_parse_domain("example.org", 11, 0, small,
	    sizeof(small), &fam, addr), ADDRESS_ERR_DOMAIN_TOO_LONG);
	assert_string_equal(small, "");
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

static void
test_replies(void **state)
{
	const struct smtp_reply	*r;
	int			 e, j;

	for (e = 0; e < ADDRESS_ERR_MAX; e++) {
		r = address_error_reply((enum address_error)e);
		assert_non_null(r);
		assert_true(r->code == 501 || r->code == 553);
		assert_non_null(r->enhanced);
		assert_int_equal(r->enhanced[0], '5');
		assert_true(strlen(r->text) > 0 && printable(r->text));
		assert_true(printable(r->enhanced));
		for (j = 1; j < e; j++)
			assert_string_not_equal(address_error_str(e),
			    address_error_str(j));
	}
	r = address_error_reply(ADDRESS_ERR_SYNTAX);
	assert_int_equal(r->code, 501);
	assert_string_equal(r->enhanced, "5.1.3");
	r = address_error_reply(ADDRESS_ERR_TRAILING_DOT);
	assert_int_equal(r->code, 553);
	assert_string_equal(r->enhanced, "5.1.3");
	r = address_error_reply(ADDRESS_ERR_UTF8_NOT_ALLOWED);
	assert_int_equal(r->code, 553);
	assert_string_equal(r->enhanced, "5.6.7");
	r = address_error_reply(ADDRESS_ERR_PATH_TOO_LONG);
	assert_int_equal(r->code, 501);
	r = address_error_reply((enum address_error)999);
	assert_int_equal(r->code, 501);
	assert_string_equal(address_error_str((enum address_error)999),
	    "unknown");
	assert_string_equal(address_error_str(ADDRESS_ERR_TRAILING_DOT),
	    "trailing-dot");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_atext),
		cmocka_unit_test(test_dots),
		cmocka_unit_test(test_brackets),
		cmocka_unit_test(test_null_path),
		cmocka_unit_test(test_postmaster),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_relay_tricks),
		cmocka_unit_test(test_trailing_dot),
		cmocka_unit_test(test_domain_syntax),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_local_length),
		cmocka_unit_test(test_label_length),
		cmocka_unit_test(test_domain_length),
		cmocka_unit_test(test_path_length),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_mailbox_length),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
