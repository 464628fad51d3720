/*
 * test_smtp_parse.c: unit tests of the SMTP command-line parser
 * (smtpd/parse.c): every verb, the MAIL and RCPT parameters good, bad and
 * repeated, SIZE and BDAT overflow, xtext and RFC 6533 decoding, UTF-8
 * with and without SMTPUTF8, NUL bytes, and the replies. Lines live in
 * exact-size heap buffers so that AddressSanitizer sees any over-read.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <cmocka.h>

#include "parse.h"

static struct smtp_cmd	 cmd;
static char		*copy;

static void *
xmalloc(size_t n)
{
	void	*p = malloc(n);

	if (p == NULL)
		abort();
	return p;
}

/* Parse line[0..len) from an exact copy; the copy is kept alive until
 * the next call because cmd.initial points into it. */
static int
parse_n(const char *line, size_t len, unsigned flags)
{
	free(copy);
	copy = xmalloc(len ? len : 1);
	memcpy(copy, line, len);
	return smtp_parse_line(copy, len, flags, &cmd);
}

static int
parse(const char *line, unsigned flags)
{
	return parse_n(line, strlen(line), flags);
}

static void
ok(const char *line, unsigned flags, enum smtp_verb verb)
{
	if (parse(line, flags) != 0)
		fail_msg("\"%s\" refused: %d %s %s", line, cmd.reply.code,
		    cmd.reply.enhanced, cmd.reply.text);
	assert_int_equal(cmd.verb, verb);
}

static void
bad(const char *line, unsigned flags, int code, const char *enh,
    const char *text)
{
	if (parse(line, flags) != -1)
		fail_msg("\"%s\" accepted", line);
	assert_int_equal(cmd.reply.code, code);
	assert_string_equal(cmd.reply.enhanced, enh);
	if (text != NULL)
		assert_string_equal(cmd.reply.text, text);
}

static void
test_verbs(void **state)
{
	ok("HELO mail.example.org", 0, SMTP_CMD_HELO);
	ok("ehlo mail.example.org", 0, SMTP_CMD_EHLO);
	ok("MAIL FROM:<a@b.example>", 0, SMTP_CMD_MAIL);
	ok("RCPT TO:<a@b.example>", 0, SMTP_CMD_RCPT);
	ok("DATA", 0, SMTP_CMD_DATA);
	ok("data", 0, SMTP_CMD_DATA);
	ok("BDAT 1", 0, SMTP_CMD_BDAT);
	ok("RSET", 0, SMTP_CMD_RSET);
	ok("NOOP", 0, SMTP_CMD_NOOP);
	ok("QUIT", 0, SMTP_CMD_QUIT);
	ok("Quit", 0, SMTP_CMD_QUIT);
	ok("HELP", 0, SMTP_CMD_HELP);
	ok("VRFY x", 0, SMTP_CMD_VRFY);
	ok("EXPN x", 0, SMTP_CMD_EXPN);
	ok("STARTTLS", 0, SMTP_CMD_STARTTLS);
	ok("starttls", 0, SMTP_CMD_STARTTLS);
	ok("AUTH PLAIN", 0, SMTP_CMD_AUTH);
	assert_string_equal(smtp_verb_name(SMTP_CMD_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_CMD_UNKNOWN), "UNKNOWN");
	assert_string_equal(smtp_verb_name(SMTP_CMD_MAX), "UNKNOWN");
}

static void
test_unknown(void **state)
{
	static const char *const lines[] = {
		"", " ", "FOO", "FOO bar", "MAILFROM:<a@b.example>",
		" MAIL FROM:<a@b.example>", "DATA\t", "DAT", "DATAX",
		"HELO\tx.example", "QUIT\r", "STARTTLS\n", "\xc3\xa9",
		"TURN", "ETRN x", "XCLIENT ADDR=1.2.3.4", "GET / HTTP/1.0",
		"EHL", "E",
	};
	static const char nul[] = "DATA\0";
	static const char nul2[] = "DA\0A";
	size_t	i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		bad(lines[i], 0, 500, "5.5.2", "Command unrecognized");
		assert_int_equal(cmd.verb, SMTP_CMD_UNKNOWN);
	}
	assert_int_equal(parse_n(nul, sizeof(nul) - 1, 0), -1);
	assert_int_equal(cmd.reply.code, 500);
	assert_int_equal(parse_n(nul2, sizeof(nul2) - 1, 0), -1);
	assert_int_equal(cmd.reply.code, 500);
	assert_int_equal(parse_n("DATA", 2, 0), -1);
	assert_int_equal(cmd.reply.code, 500);
}

static void
test_helo(void **state)
{
	ok("EHLO Mail.Example.ORG", 0, SMTP_CMD_EHLO);
	assert_string_equal(cmd.helo, "mail.example.org");
	assert_int_equal(cmd.helo_family, 0);
	ok("HELO localhost", 0, SMTP_CMD_HELO);
	assert_string_equal(cmd.helo, "localhost");
	ok("EHLO [192.0.2.1]", 0, SMTP_CMD_EHLO);
	assert_string_equal(cmd.helo, "[192.0.2.1]");
	assert_int_equal(cmd.helo_family, AF_INET);
	ok("EHLO [IPv6:2001:DB8::1]", 0, SMTP_CMD_EHLO);
	assert_string_equal(cmd.helo, "[IPv6:2001:db8::1]");
	assert_int_equal(cmd.helo_family, AF_INET6);
	/* a bare IP address is a valid domain, syntactically */
	ok("EHLO 192.0.2.1", 0, SMTP_CMD_EHLO);
	assert_int_equal(cmd.helo_family, 0);

	bad("HELO", 0, 501, "5.5.4", "Syntax: HELO hostname");
	bad("HELO ", 0, 501, "5.5.4", "Syntax: HELO hostname");
	bad("EHLO", 0, 501, "5.5.4", "Syntax: EHLO hostname");
	bad("EHLO ", 0, 501, "5.5.4", "Syntax: EHLO hostname");
	assert_int_equal(cmd.verb, SMTP_CMD_EHLO);
	bad("EHLO  x.example", 0, 501, "5.5.4", "Invalid domain name");
	bad("EHLO x.example ", 0, 501, "5.5.4", "Invalid domain name");
	bad("EHLO x.example extra", 0, 501, "5.5.4", "Invalid domain name");
	bad("EHLO my_host", 0, 501, "5.5.4", "Invalid domain name");
	bad("EHLO x.example.", 0, 501, "5.5.4", "Invalid domain name");
	bad("EHLO [300.0.0.1]", 0, 501, "5.5.4", "Invalid domain name");
	bad("EHLO [tag:x]", 0, 501, "5.5.4", "Invalid domain name");
	bad("EHLO b\xc3\xbc" "cher.de", 0, 501, "5.5.4",
	    "Invalid domain name");
	bad("EHLO <x.example>", 0, 501, "5.5.4", "Invalid domain name");
	bad("EHLO x.example\r\nMAIL FROM:<>", 0, 501, "5.5.4",
	    "Invalid domain name");
}

static void
test_mail(void **state)
{
	ok("MAIL FROM:<User@Example.ORG>", 0, SMTP_CMD_MAIL);
	assert_string_equal(cmd.path.local, "User");
	assert_string_equal(cmd.path.domain, "example.org");
	assert_string_equal(cmd.path.canon, "User@example.org");
	assert_int_equal(cmd.mail.has, 0);
	ok("mail from:<a@b.example>", 0, SMTP_CMD_MAIL);
	ok("Mail From:<a@b.example>", 0, SMTP_CMD_MAIL);
	ok("MAIL FROM:<>", 0, SMTP_CMD_MAIL);
	assert_true(cmd.path.flags & ADDRESS_IS_NULL);
	/* the liberal single space after the colon */
	ok("MAIL FROM: <a@b.example>", 0, SMTP_CMD_MAIL);
	assert_string_equal(cmd.path.canon, "a@b.example");
	ok("MAIL FROM: <>", 0, SMTP_CMD_MAIL);
	ok("MAIL FROM:<@r.example:a@b.example>", 0, SMTP_CMD_MAIL);
	assert_true(cmd.path.flags & ADDRESS_ROUTE);

	bad("MAIL", 0, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
	bad("MAIL ", 0, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
	bad("MAIL FROM:", 0, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
	bad("MAIL FROM: ", 0, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
	bad("MAIL FROM:a@b.example", 0, 501, "5.5.4",
	    "Syntax: MAIL FROM:<address>");
	bad("MAIL FROM:  <a@b.example>", 0, 501, "5.5.4",
	    "Syntax: MAIL FROM:<address>");
	bad("MAIL FROM :<a@b.example>", 0, 501, "5.5.4",
	    "Syntax: MAIL FROM:<address>");
	bad("MAIL  FROM:<a@b.example>", 0, 501, "5.5.4",
	    "Syntax: MAIL FROM:<address>");
	bad("MAIL FROM:\t<a@b.example>", 0, 501, "5.5.4",
	    "Syntax: MAIL FROM:<address>");
	bad("MAIL TO:<a@b.example>", 0, 501, "5.5.4",
	    "Syntax: MAIL FROM:<address>");
	bad("MAIL FRO", 0, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
	assert_int_equal(cmd.verb, SMTP_CMD_MAIL);
	/* address errors carry their own reply */
	bad("MAIL FROM:<a b@c.example>", 0, 501, "5.1.3", NULL);
	bad("MAIL FROM:<a@b.example.>", 0, 553, "5.1.3", NULL);
	bad("MAIL FROM:<a@b.example", 0, 501, "5.1.3", NULL);
	bad("MAIL FROM:<a>", 0, 501, "5.1.3", NULL);
	bad("MAIL FROM:<Postmaster>", 0, 501, "5.1.3", NULL);
	/* what follows the path */
	bad("MAIL FROM:<a@b.example> ", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<a@b.example>  SIZE=1", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<a@b.example>SIZE=1", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<a@b.example> SIZE=1 ", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<a@b.example>>", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<a@b.example> <c@d.example>", 0, 501, "5.5.4",
	    "Syntax error in parameters");
}

static void
test_mail_size(void **state)
{
	ok("MAIL FROM:<> SIZE=0", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.has, SMTP_P_SIZE);
	assert_int_equal(cmd.mail.size, 0);
	ok("MAIL FROM:<> size=12345", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.size, 12345);
	ok("MAIL FROM:<> SIZE=000000000000000000000000042", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.size, 42);
	ok("MAIL FROM:<> SIZE=18446744073709551615", 0, SMTP_CMD_MAIL);
	assert_true(cmd.mail.size == UINT64_MAX);
	bad("MAIL FROM:<> SIZE=18446744073709551616", 0, 552, "5.3.4", NULL);
	bad("MAIL FROM:<> SIZE=99999999999999999999999999", 0, 552, "5.3.4",
	    NULL);
	bad("MAIL FROM:<> SIZE", 0, 501, "5.5.4", "Invalid SIZE parameter");
	bad("MAIL FROM:<> SIZE=", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> SIZE=-1", 0, 501, "5.5.4",
	    "Invalid SIZE parameter");
	bad("MAIL FROM:<> SIZE=+1", 0, 501, "5.5.4",
	    "Invalid SIZE parameter");
	bad("MAIL FROM:<> SIZE=1k", 0, 501, "5.5.4",
	    "Invalid SIZE parameter");
	bad("MAIL FROM:<> SIZE=0x10", 0, 501, "5.5.4",
	    "Invalid SIZE parameter");
	bad("MAIL FROM:<> SIZE=1=2", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> SIZE=1 SIZE=1", 0, 501, "5.5.4",
	    "Duplicate parameter");
	bad("MAIL FROM:<> SIZE=1 size=2", 0, 501, "5.5.4",
	    "Duplicate parameter");
}

static void
test_mail_body_ret(void **state)
{
	ok("MAIL FROM:<> BODY=7BIT", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.body, SMTP_BODY_7BIT);
	ok("MAIL FROM:<> BODY=8bitmime", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.body, SMTP_BODY_8BITMIME);
	ok("MAIL FROM:<> body=BinaryMIME", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.body, SMTP_BODY_BINARYMIME);
	bad("MAIL FROM:<> BODY=8BIT", 0, 501, "5.5.4",
	    "Invalid BODY parameter");
	bad("MAIL FROM:<> BODY", 0, 501, "5.5.4", "Invalid BODY parameter");
	bad("MAIL FROM:<> BODY=7BIT BODY=7BIT", 0, 501, "5.5.4",
	    "Duplicate parameter");

	ok("MAIL FROM:<> RET=FULL", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.ret, SMTP_RET_FULL);
	ok("MAIL FROM:<> ret=hdrs", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.ret, SMTP_RET_HDRS);
	bad("MAIL FROM:<> RET=ALL", 0, 501, "5.5.4", "Invalid RET parameter");
	bad("MAIL FROM:<> RET", 0, 501, "5.5.4", "Invalid RET parameter");
	bad("MAIL FROM:<> RET=FULL RET=HDRS", 0, 501, "5.5.4",
	    "Duplicate parameter");

	ok("MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME RET=HDRS "
	    "ENVID=QQ314159 AUTH=<> SMTPUTF8", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.has, SMTP_P_SIZE | SMTP_P_BODY |
	    SMTP_P_RET | SMTP_P_ENVID | SMTP_P_AUTH | SMTP_P_SMTPUTF8);
	assert_int_equal(cmd.mail.size, 100);
	assert_string_equal(cmd.mail.envid, "QQ314159");
	assert_string_equal(cmd.mail.auth, "<>");
}

static void
test_mail_smtputf8(void **state)
{
	ok("MAIL FROM:<a@b.example> SMTPUTF8", 0, SMTP_CMD_MAIL);
	assert_int_equal(cmd.mail.has, SMTP_P_SMTPUTF8);
	ok("MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", 0, SMTP_CMD_MAIL);
	assert_string_equal(cmd.path.local, "j\xc3\xb6rg");
	assert_true(cmd.path.flags & ADDRESS_UTF8);
	ok("MAIL FROM:<j\xc3\xb6rg@b.example> smtputf8 SIZE=1", 0,
	    SMTP_CMD_MAIL);
	ok("MAIL FROM:<a@\xe4\xbe\x8b.example> SMTPUTF8", 0, SMTP_CMD_MAIL);
	bad("MAIL FROM:<j\xc3\xb6rg@b.example>", 0, 553, "5.6.7", NULL);
	bad("MAIL FROM:<j\xc3\xb6rg@b.example> SIZE=1", 0, 553, "5.6.7",
	    NULL);
	bad("MAIL FROM:<j\xc3@b.example> SMTPUTF8", 0, 501, "5.1.3",
	    "Malformed UTF-8 in address");
	bad("MAIL FROM:<j\xc2\x85@b.example> SMTPUTF8", 0, 501, "5.1.3",
	    NULL);
	bad("MAIL FROM:<> SMTPUTF8=YES", 0, 501, "5.5.4",
	    "SMTPUTF8 takes no value");
	bad("MAIL FROM:<> SMTPUTF8 SMTPUTF8", 0, 501, "5.5.4",
	    "Duplicate parameter");
	/* UTF-8 in a MAIL parameter value reaches the parameter, which
	 * refuses it; malformed UTF-8 never gets that far */
	bad("MAIL FROM:<> SMTPUTF8 ENVID=\xc3\xa9", 0, 501, "5.5.4",
	    "Invalid ENVID parameter");
	bad("MAIL FROM:<> SMTPUTF8 ENVID=\xc3", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> X-FOO=\xc3\xa9", 0, 555, "5.5.4", NULL);
}

static void
test_xtext(void **state)
{
	char	out[16];

	assert_int_equal(smtp_xtext_decode("abc", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(smtp_xtext_decode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(smtp_xtext_decode("a+2Bb+3D", 8, out, sizeof(out)),
	    4);
	assert_string_equal(out, "a+b=");
	assert_int_equal(smtp_xtext_decode("+2b+3d", 6, out, sizeof(out)),
	    2);
	assert_string_equal(out, "+=");
	assert_int_equal(smtp_xtext_decode("+20", 3, out, sizeof(out)), 1);
	assert_string_equal(out, " ");
	assert_int_equal(smtp_xtext_decode("+7E!", 4, out, sizeof(out)), 2);
	assert_string_equal(out, "~!");
	assert_int_equal(smtp_xtext_decode("+C3+A9", 6, out, sizeof(out)), 2);
	assert_string_equal(out, "\xc3\xa9");
	/* refused */
	assert_int_equal(smtp_xtext_decode("+", 1, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+2", 2, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("a+2", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+G0", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+0G", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+ 2", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+00", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+0A", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+0D+0A", 6, out, sizeof(out)),
	    -1);
	assert_int_equal(smtp_xtext_decode("+7F", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+C3", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+C2+85", 6, out, sizeof(out)),
	    -1);
	assert_int_equal(smtp_xtext_decode("a=b", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("a b", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("a\0b", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("\xc3\xa9", 2, out, sizeof(out)),
	    -1);
	assert_int_equal(smtp_xtext_decode("a\x7f", 2, out, sizeof(out)), -1);
	/* output bounds: 15 characters fit in 16, 16 do not */
	assert_int_equal(smtp_xtext_decode("aaaaaaaaaaaaaaa", 15, out,
	    sizeof(out)), 15);
	assert_int_equal(smtp_xtext_decode("aaaaaaaaaaaaaaaa", 16, out,
	    sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("a", 1, out, 0), -1);
	assert_int_equal(smtp_xtext_decode("", 0, out, 1), 0);
	assert_int_equal(smtp_xtext_decode("a", 1, out, 1), -1);
}

static void
test_mail_envid(void **state)
{
	char	line[256];

	ok("MAIL FROM:<> ENVID=QQ314159", 0, SMTP_CMD_MAIL);
	assert_string_equal(cmd.mail.envid, "QQ314159");
	ok("MAIL FROM:<> ENVID=a+2Bb+20c", 0, SMTP_CMD_MAIL);
	assert_string_equal(cmd.mail.envid, "a+b c");
	bad("MAIL FROM:<> ENVID=a+2", 0, 501, "5.5.4",
	    "Invalid ENVID parameter");
	bad("MAIL FROM:<> ENVID=a+ZZ", 0, 501, "5.5.4",
	    "Invalid ENVID parameter");
	bad("MAIL FROM:<> ENVID=a+0D+0A", 0, 501, "5.5.4",
	    "Invalid ENVID parameter");
	bad("MAIL FROM:<> ENVID=a+00b", 0, 501, "5.5.4",
	    "Invalid ENVID parameter");
	bad("MAIL FROM:<> ENVID", 0, 501, "5.5.4",
	    "Invalid ENVID parameter");
	bad("MAIL FROM:<> ENVID=a ENVID=b", 0, 501, "5.5.4",
	    "Duplicate parameter");
	/* 100 characters as sent is the limit */
	snprintf(line, sizeof(line), "MAIL FROM:<> ENVID=%0100d", 7);
	ok(line, 0, SMTP_CMD_MAIL);
	assert_int_equal(strlen(cmd.mail.envid), 100);
	snprintf(line, sizeof(line), "MAIL FROM:<> ENVID=%0101d", 7);
	bad(line, 0, 501, "5.5.4", "Invalid ENVID parameter");
	snprintf(line, sizeof(line), "MAIL FROM:<> ENVID=%097d+41", 7);
	ok(line, 0, SMTP_CMD_MAIL);
	assert_int_equal(strlen(cmd.mail.envid), 98);
}

static void
test_mail_auth(void **state)
{
	char	line[600];
	size_t	n;

	ok("MAIL FROM:<a@b.example> AUTH=<>", 0, SMTP_CMD_MAIL);
	assert_string_equal(cmd.mail.auth, "<>");
	ok("MAIL FROM:<a@b.example> AUTH=e+3Dmc2@example.com", 0,
	    SMTP_CMD_MAIL);
	assert_string_equal(cmd.mail.auth, "e=mc2@example.com");
	ok("MAIL FROM:<a@b.example> auth=user@example.com", 0,
	    SMTP_CMD_MAIL);
	assert_string_equal(cmd.mail.auth, "user@example.com");
	bad("MAIL FROM:<a@b.example> AUTH", 0, 501, "5.5.4",
	    "Invalid AUTH parameter");
	bad("MAIL FROM:<a@b.example> AUTH=+0A", 0, 501, "5.5.4",
	    "Invalid AUTH parameter");
	bad("MAIL FROM:<a@b.example> AUTH=+", 0, 501, "5.5.4",
	    "Invalid AUTH parameter");
	bad("MAIL FROM:<a@b.example> AUTH=<> AUTH=<>", 0, 501, "5.5.4",
	    "Duplicate parameter");
	/* 256 decoded characters fit, 257 do not */
	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<> AUTH=");
	memset(line + n, 'x', 256);
	line[n + 256] = '\0';
	ok(line, 0, SMTP_CMD_MAIL);
	line[n + 256] = 'x';
	line[n + 257] = '\0';
	bad(line, 0, 501, "5.5.4", "Invalid AUTH parameter");
}

static void
test_params_generic(void **state)
{
	bad("MAIL FROM:<> FOO", 0, 555, "5.5.4", "Unsupported parameter");
	bad("MAIL FROM:<> FOO=bar", 0, 555, "5.5.4", "Unsupported parameter");
	bad("MAIL FROM:<> X-THING-1=a", 0, 555, "5.5.4", NULL);
	bad("MAIL FROM:<> SIZE=1 XYZ", 0, 555, "5.5.4", NULL);
	bad("MAIL FROM:<> NOTIFY=NEVER", 0, 555, "5.5.4", NULL);
	bad("MAIL FROM:<> ORCPT=rfc822;a@b", 0, 555, "5.5.4", NULL);
	bad("RCPT TO:<a@b.example> SIZE=1", 0, 555, "5.5.4", NULL);
	bad("RCPT TO:<a@b.example> SMTPUTF8", 0, 555, "5.5.4", NULL);
	/* syntax errors come before "unknown" */
	bad("MAIL FROM:<> -FOO", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> =1", 0, 501, "5.5.4", "Syntax error in parameters");
	bad("MAIL FROM:<> FOO_BAR=1", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> FOO=", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> FOO=a=b", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> FOO=a\tb", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> FOO=a\x7f", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> FOO=a\r\n", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("MAIL FROM:<> SIZE=\xff", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	/* a keyword may end with a hyphen, per the grammar */
	bad("MAIL FROM:<> X-=1", 0, 555, "5.5.4", NULL);
}

static void
test_rcpt(void **state)
{
	ok("RCPT TO:<User@Example.ORG>", 0, SMTP_CMD_RCPT);
	assert_string_equal(cmd.path.canon, "User@example.org");
	ok("rcpt to:<a@b.example>", 0, SMTP_CMD_RCPT);
	ok("RCPT TO: <a@b.example>", 0, SMTP_CMD_RCPT);
	ok("RCPT TO:<Postmaster>", 0, SMTP_CMD_RCPT);
	assert_true(cmd.path.flags & ADDRESS_IS_POSTMASTER);
	assert_string_equal(cmd.path.local, "postmaster");
	ok("RCPT TO:<postmaster>", 0, SMTP_CMD_RCPT);
	ok("RCPT TO:<POSTMASTER> NOTIFY=NEVER", 0, SMTP_CMD_RCPT);
	ok("RCPT TO:<postmaster@ours.example>", 0, SMTP_CMD_RCPT);
	assert_false(cmd.path.flags & ADDRESS_IS_POSTMASTER);

	bad("RCPT", 0, 501, "5.5.4", "Syntax: RCPT TO:<address>");
	bad("RCPT TO:", 0, 501, "5.5.4", "Syntax: RCPT TO:<address>");
	bad("RCPT TO:a@b.example", 0, 501, "5.5.4",
	    "Syntax: RCPT TO:<address>");
	bad("RCPT FROM:<a@b.example>", 0, 501, "5.5.4",
	    "Syntax: RCPT TO:<address>");
	bad("RCPT TO:  <a@b.example>", 0, 501, "5.5.4",
	    "Syntax: RCPT TO:<address>");
	bad("RCPT TO:<>", 0, 501, "5.1.3", "Null address not allowed here");
	bad("RCPT TO:<user>", 0, 501, "5.1.3", "Address must have a domain");
	bad("RCPT TO:<a@b.example> ", 0, 501, "5.5.4",
	    "Syntax error in parameters");
}

static void
test_rcpt_relay_forms(void **state)
{
	ok("RCPT TO:<user%remote.example@ours.example>", 0, SMTP_CMD_RCPT);
	assert_true(address_is_relay_trick(&cmd.path));
	assert_string_equal(cmd.path.domain, "ours.example");
	ok("RCPT TO:<\"user@remote.example\"@ours.example>", 0,
	    SMTP_CMD_RCPT);
	assert_true(address_is_relay_trick(&cmd.path));
	ok("RCPT TO:<@ours.example:user@remote.example>", 0, SMTP_CMD_RCPT);
	assert_true(address_is_relay_trick(&cmd.path));
	assert_string_equal(cmd.path.domain, "remote.example");
	ok("RCPT TO:<remote.example!user@ours.example>", 0, SMTP_CMD_RCPT);
	assert_true(address_is_relay_trick(&cmd.path));
	ok("RCPT TO:<user@[127.0.0.1]>", 0, SMTP_CMD_RCPT);
	assert_true(cmd.path.flags & ADDRESS_LITERAL);
	assert_false(address_is_relay_trick(&cmd.path));
	bad("RCPT TO:<user@remote.example@ours.example>", 0, 501, "5.1.3",
	    NULL);
	bad("RCPT TO:<user@ours.example.>", 0, 553, "5.1.3", NULL);
}

static void
test_rcpt_utf8(void **state)
{
	bad("RCPT TO:<j\xc3\xb6rg@b.example>", 0, 553, "5.6.7", NULL);
	ok("RCPT TO:<j\xc3\xb6rg@b.example>", SMTP_PARSE_F_UTF8,
	    SMTP_CMD_RCPT);
	assert_true(cmd.path.flags & ADDRESS_UTF8);
	bad("RCPT TO:<j\xed\xa0\x80rg@b.example>", SMTP_PARSE_F_UTF8, 501,
	    "5.1.3", NULL);
	/* and in parameters */
	bad("RCPT TO:<a@b.example> ORCPT=utf-8;j\xc3\xb6rg@b.example", 0,
	    501, "5.5.4", "Non-ASCII parameter needs SMTPUTF8");
	ok("RCPT TO:<a@b.example> ORCPT=utf-8;j\xc3\xb6rg@b.example",
	    SMTP_PARSE_F_UTF8, SMTP_CMD_RCPT);
	assert_string_equal(cmd.rcpt.orcpt, "j\xc3\xb6rg@b.example");
	assert_string_equal(cmd.rcpt.orcpt_raw, "j\xc3\xb6rg@b.example");
	bad("RCPT TO:<a@b.example> ORCPT=utf-8;j\xc3rg@b.example",
	    SMTP_PARSE_F_UTF8, 501, "5.5.4", "Syntax error in parameters");
	/* raw UTF-8 is not xtext */
	bad("RCPT TO:<a@b.example> ORCPT=rfc822;j\xc3\xb6rg@b.example",
	    SMTP_PARSE_F_UTF8, 501, "5.5.4", "Invalid ORCPT parameter");
}

static void
test_rcpt_notify(void **state)
{
	ok("RCPT TO:<a@b.example> NOTIFY=NEVER", 0, SMTP_CMD_RCPT);
	assert_int_equal(cmd.rcpt.has, SMTP_P_NOTIFY);
	assert_int_equal(cmd.rcpt.notify, SMTP_NOTIFY_NEVER);
	ok("RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE,DELAY", 0,
	    SMTP_CMD_RCPT);
	assert_int_equal(cmd.rcpt.notify, SMTP_NOTIFY_SUCCESS |
	    SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY);
	ok("RCPT TO:<a@b.example> notify=delay,success", 0, SMTP_CMD_RCPT);
	assert_int_equal(cmd.rcpt.notify, SMTP_NOTIFY_SUCCESS |
	    SMTP_NOTIFY_DELAY);
	ok("RCPT TO:<a@b.example> NOTIFY=failure", 0, SMTP_CMD_RCPT);
	assert_int_equal(cmd.rcpt.notify, SMTP_NOTIFY_FAILURE);
	static const char *const nots[] = {
		"NEVER,SUCCESS", "SUCCESS,NEVER", "SUCCESS,", ",SUCCESS",
		"SUCCESS,,DELAY", "SUCCESS,SUCCESS", "NEVER,NEVER", "FOO",
		"SUCCES", "SUCCESSX", "success;delay",
	};
	char	line[128];
	size_t	i;

	for (i = 0; i < sizeof(nots) / sizeof(nots[0]); i++) {
		snprintf(line, sizeof(line), "RCPT TO:<a@b.example> NOTIFY=%s",
		    nots[i]);
		bad(line, 0, 501, "5.5.4", "Invalid NOTIFY parameter");
	}
	bad("RCPT TO:<a@b.example> NOTIFY", 0, 501, "5.5.4",
	    "Invalid NOTIFY parameter");
	bad("RCPT TO:<a@b.example> NOTIFY=", 0, 501, "5.5.4",
	    "Syntax error in parameters");
	bad("RCPT TO:<a@b.example> NOTIFY=NEVER NOTIFY=NEVER", 0, 501,
	    "5.5.4", "Duplicate parameter");
}

static void
test_rcpt_orcpt(void **state)
{
	char	line[700];
	size_t	n;

	ok("RCPT TO:<a@b.example> ORCPT=rfc822;a@b.example", 0,
	    SMTP_CMD_RCPT);
	assert_int_equal(cmd.rcpt.has, SMTP_P_ORCPT);
	assert_int_equal(cmd.rcpt.orcpt_type, SMTP_ORCPT_RFC822);
	assert_string_equal(cmd.rcpt.orcpt_type_name, "rfc822");
	assert_string_equal(cmd.rcpt.orcpt, "a@b.example");
	ok("RCPT TO:<a@b.example> ORCPT=RFC822;a+2Bb@c.example "
	    "NOTIFY=SUCCESS", 0, SMTP_CMD_RCPT);
	assert_int_equal(cmd.rcpt.orcpt_type, SMTP_ORCPT_RFC822);
	assert_string_equal(cmd.rcpt.orcpt_type_name, "rfc822");
	assert_string_equal(cmd.rcpt.orcpt, "a+b@c.example");
	assert_string_equal(cmd.rcpt.orcpt_raw, "a+2Bb@c.example");
	assert_int_equal(cmd.rcpt.notify, SMTP_NOTIFY_SUCCESS);
	/* RFC 6533 */
	ok("RCPT TO:<a@b.example> ORCPT=UTF-8;j\\x{F6}rg@b.example", 0,
	    SMTP_CMD_RCPT);
	assert_int_equal(cmd.rcpt.orcpt_type, SMTP_ORCPT_UTF8);
	assert_string_equal(cmd.rcpt.orcpt, "j\xc3\xb6rg@b.example");
	assert_string_equal(cmd.rcpt.orcpt_raw, "j\\x{F6}rg@b.example");
	ok("RCPT TO:<a@b.example> ORCPT=utf-8;\\x{1F600}\\x{2B}@b", 0,
	    SMTP_CMD_RCPT);
	assert_string_equal(cmd.rcpt.orcpt, "\xf0\x9f\x98\x80+@b");
	ok("RCPT TO:<a@b.example> ORCPT=utf-8;\\x{10FFFF}\\x{5c}", 0,
	    SMTP_CMD_RCPT);
	assert_string_equal(cmd.rcpt.orcpt, "\xf4\x8f\xbf\xbf\\");
	/* another registered type: decoded as xtext */
	ok("RCPT TO:<a@b.example> ORCPT=X400;c+3Dus+3Ba+3Dx", 0,
	    SMTP_CMD_RCPT);
	assert_int_equal(cmd.rcpt.orcpt_type, SMTP_ORCPT_OTHER);
	assert_string_equal(cmd.rcpt.orcpt_type_name, "x400");
	assert_string_equal(cmd.rcpt.orcpt, "c=us;a=x");
	/* a backslash is plain xchar in xtext */
	ok("RCPT TO:<a@b.example> ORCPT=rfc822;a\\b", 0, SMTP_CMD_RCPT);
	assert_string_equal(cmd.rcpt.orcpt, "a\\b");
	static const char *const nots[] = {
		"a@b.example", ";a@b.example", "rfc822;", "rfc822;a+2",
		"rfc822;a+0A", "rfc 822;a", "rf(c;a",
		"utf-8;\\x{D800}", "utf-8;\\x{DFFF}", "utf-8;\\x{110000}",
		"utf-8;\\x{1}", "utf-8;\\x{41", "utf-8;\\x41", "utf-8;\\",
		"utf-8;\\x{}", "utf-8;\\x{0000041}", "utf-8;a+2Bb",
		"utf-8;\\x{0A}", "utf-8;\\x{85}", "utf-8;\\y{41}",
		"abcdefghijklmnopqrstuvwxyz0123456;a",
	};
	size_t	i;

	for (i = 0; i < sizeof(nots) / sizeof(nots[0]); i++) {
		snprintf(line, sizeof(line), "RCPT TO:<a@b.example> ORCPT=%s",
		    nots[i]);
		if (parse(line, SMTP_PARSE_F_UTF8) != -1)
			fail_msg("ORCPT=%s accepted", nots[i]);
		assert_int_equal(cmd.reply.code, 501);
	}
	bad("RCPT TO:<a@b.example> ORCPT=rfc822;a ORCPT=rfc822;b", 0, 501,
	    "5.5.4", "Duplicate parameter");
	/* 500 characters as sent is the limit */
	n = (size_t)snprintf(line, sizeof(line),
	    "RCPT TO:<a@b.example> ORCPT=rfc822;");
	memset(line + n, 'x', 493);
	line[n + 493] = '\0';
	ok(line, 0, SMTP_CMD_RCPT);
	assert_int_equal(strlen(cmd.rcpt.orcpt), 493);
	line[n + 493] = 'x';
	line[n + 494] = '\0';
	bad(line, 0, 501, "5.5.4", "Invalid ORCPT parameter");
}

static void
test_bdat(void **state)
{
	ok("BDAT 0", 0, SMTP_CMD_BDAT);
	assert_int_equal(cmd.bdat.size, 0);
	assert_int_equal(cmd.bdat.last, 0);
	assert_int_equal(cmd.bdat.size_valid, 1);
	ok("BDAT 1000 LAST", 0, SMTP_CMD_BDAT);
	assert_int_equal(cmd.bdat.size, 1000);
	assert_int_equal(cmd.bdat.last, 1);
	ok("bdat 5 last", 0, SMTP_CMD_BDAT);
	assert_int_equal(cmd.bdat.last, 1);
	ok("BDAT 0 LAST", 0, SMTP_CMD_BDAT);
	ok("BDAT 18446744073709551615", 0, SMTP_CMD_BDAT);
	assert_true(cmd.bdat.size == UINT64_MAX);

	bad("BDAT", 0, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	assert_int_equal(cmd.bdat.size_valid, 0);
	bad("BDAT ", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 0);
	bad("BDAT x", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 0);
	bad("BDAT 12x", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 0);
	bad("BDAT -1", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 0);
	bad("BDAT  10", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 0);
	bad("BDAT 18446744073709551616", 0, 552, "5.3.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 0);
	bad("BDAT 99999999999999999999999999 LAST", 0, 552, "5.3.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 0);
	/* the size is known, so the chunk can still be skipped */
	bad("BDAT 10 LASTX", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 1);
	assert_int_equal(cmd.bdat.size, 10);
	bad("BDAT 10  LAST", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 1);
	bad("BDAT 10 LAST ", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 1);
	bad("BDAT 10 ", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 1);
	bad("BDAT 10 FIRST", 0, 501, "5.5.4", NULL);
	assert_int_equal(cmd.bdat.size_valid, 1);
}

static void
test_noarg(void **state)
{
	bad("DATA x", 0, 501, "5.5.4", "Syntax: DATA");
	bad("DATA ", 0, 501, "5.5.4", "Syntax: DATA");
	bad("RSET x", 0, 501, "5.5.4", "Syntax: RSET");
	bad("QUIT now", 0, 501, "5.5.4", "Syntax: QUIT");
	bad("STARTTLS x", 0, 501, "5.5.4", "Syntax: STARTTLS");
	assert_int_equal(cmd.verb, SMTP_CMD_STARTTLS);
	ok("NOOP", 0, SMTP_CMD_NOOP);
	ok("NOOP ", 0, SMTP_CMD_NOOP);
	ok("NOOP hello there", 0, SMTP_CMD_NOOP);
	ok("HELP", 0, SMTP_CMD_HELP);
	ok("HELP MAIL", 0, SMTP_CMD_HELP);
	ok("help \x01\xff", 0, SMTP_CMD_HELP);
	assert_int_equal(parse_n("NOOP \0\r\n", 8, 0), 0);
}

static void
test_vrfy(void **state)
{
	ok("VRFY user", 0, SMTP_CMD_VRFY);
	assert_string_equal(cmd.arg, "user");
	ok("EXPN staff list", 0, SMTP_CMD_EXPN);
	assert_string_equal(cmd.arg, "staff list");
	ok("VRFY <j\xc3\xb6rg@b.example>", 0, SMTP_CMD_VRFY);
	assert_string_equal(cmd.arg, "<j\xc3\xb6rg@b.example>");
	bad("VRFY", 0, 501, "5.5.4", "Syntax: VRFY address");
	bad("VRFY ", 0, 501, "5.5.4", "Syntax: VRFY address");
	bad("EXPN", 0, 501, "5.5.4", "Syntax: EXPN list");
	bad("VRFY a\tb", 0, 501, "5.5.4", "Syntax: VRFY address");
	bad("VRFY a\x1b[2J", 0, 501, "5.5.4", "Syntax: VRFY address");
	bad("VRFY a\xc2\x9b" "2J", 0, 501, "5.5.4", NULL);
	bad("VRFY a\xc3", 0, 501, "5.5.4", NULL);
	assert_int_equal(parse_n("VRFY a\0b", 8, 0), -1);
}

static void
test_auth(void **state)
{
	char	line[64];

	ok("AUTH PLAIN", 0, SMTP_CMD_AUTH);
	assert_string_equal(cmd.mech, "PLAIN");
	assert_null(cmd.initial);
	assert_int_equal(cmd.initial_len, 0);
	ok("auth plain dGVzdAB0ZXN0AHRlc3Q=", 0, SMTP_CMD_AUTH);
	assert_string_equal(cmd.mech, "PLAIN");
	assert_int_equal(cmd.initial_len, 20);
	assert_memory_equal(cmd.initial, "dGVzdAB0ZXN0AHRlc3Q=", 20);
	ok("AUTH PLAIN =", 0, SMTP_CMD_AUTH);
	assert_int_equal(cmd.initial_len, 1);
	ok("AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9", 0, SMTP_CMD_AUTH);
	assert_string_equal(cmd.mech, "SCRAM-SHA-256");
	ok("AUTH x_oauth2 a+/=", 0, SMTP_CMD_AUTH);
	assert_string_equal(cmd.mech, "X_OAUTH2");
	ok("AUTH ABCDEFGHIJKLMNOPQRST", 0, SMTP_CMD_AUTH);

	bad("AUTH", 0, 501, "5.5.4",
	    "Syntax: AUTH mechanism [initial-response]");
	bad("AUTH ", 0, 501, "5.5.4", NULL);
	bad("AUTH  PLAIN", 0, 501, "5.5.4", NULL);
	bad("AUTH PLAIN ", 0, 501, "5.5.4", NULL);
	bad("AUTH ABCDEFGHIJKLMNOPQRSTU", 0, 501, "5.5.4", NULL);
	bad("AUTH PL.AIN", 0, 501, "5.5.4", NULL);
	bad("AUTH PLAIN abc$", 0, 501, "5.5.2",
	    "Cannot Base64-decode client response");
	bad("AUTH PLAIN a b", 0, 501, "5.5.2", NULL);
	bad("AUTH PLAIN abc\r", 0, 501, "5.5.2", NULL);
	snprintf(line, sizeof(line), "AUTH PLAIN ab%cc", 0);
	assert_int_equal(parse_n(line, 15, 0), -1);
	assert_int_equal(cmd.reply.code, 501);
}

static void
test_nul_bytes(void **state)
{
	static const char m1[] = "MAIL FROM:<a@b.example>\0";
	static const char m2[] = "MAIL FROM:<a\0@b.example>";
	static const char m3[] = "MAIL FROM:<a@b.example> SIZE=1\0";
	static const char m4[] = "MAIL\0FROM:<a@b.example>";
	static const char m5[] = "RCPT TO:<a@b.example> NOTIFY=NEVER\0";
	static const char m6[] = "EHLO x.example\0";

	assert_int_equal(parse_n(m1, sizeof(m1) - 1, 0), -1);
	assert_int_equal(cmd.reply.code, 501);
	assert_string_equal(cmd.reply.enhanced, "5.5.4");
	assert_int_equal(parse_n(m2, sizeof(m2) - 1, 0), -1);
	assert_int_equal(cmd.reply.code, 501);
	assert_string_equal(cmd.reply.enhanced, "5.1.3");
	assert_int_equal(parse_n(m3, sizeof(m3) - 1, 0), -1);
	assert_string_equal(cmd.reply.text, "Syntax error in parameters");
	assert_int_equal(parse_n(m4, sizeof(m4) - 1, 0), -1);
	assert_int_equal(cmd.reply.code, 500);
	assert_int_equal(parse_n(m5, sizeof(m5) - 1, 0), -1);
	assert_int_equal(cmd.reply.code, 501);
	assert_int_equal(parse_n(m6, sizeof(m6) - 1, 0), -1);
	assert_int_equal(cmd.reply.code, 501);
	/* the length rules, not the NUL */
	assert_int_equal(parse_n(m1, sizeof(m1) - 2, 0), 0);
	assert_int_equal(parse_n(m6, sizeof(m6) - 2, 0), 0);
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

/* Every prefix of many lines, each from an exact buffer: no over-read,
 * and every refusal is a well-formed, static, printable reply. */
static void
test_prefixes(void **state)
{
	static const char *const lines[] = {
		("MAIL FROM:<@a.example,@b.example:\"x y\"@[IPv6:::1]> "
		    "SIZE=123 BODY=8BITMIME RET=HDRS ENVID=a+2Bb "
		    "AUTH=u+40x SMTPUTF8"),
		("RCPT TO:<j\xc3\xb6rg@\xe4\xbe\x8b.example> NOTIFY=SUCCESS,"
		    "DELAY ORCPT=utf-8;\\x{F6}\xc3\xb6"),
		"RCPT TO:<Postmaster>",
		"EHLO [192.0.2.1]",
		"BDAT 123456 LAST",
		"AUTH PLAIN dGVzdA==",
		"VRFY someone",
	};
	size_t	i, n;
	int	r;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		for (n = 0; n <= strlen(lines[i]); n++) {
			r = parse_n(lines[i], n, SMTP_PARSE_F_UTF8);
			if (r == 0)
				continue;
			assert_int_equal(r, -1);
			assert_true(cmd.reply.code >= 500 &&
			    cmd.reply.code < 600);
			assert_true(printable(cmd.reply.enhanced));
			assert_true(printable(cmd.reply.text));
		}
		assert_int_equal(parse_n(lines[i], strlen(lines[i]),
		    SMTP_PARSE_F_UTF8), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_mail_size),
		cmocka_unit_test(test_mail_body_ret),
		cmocka_unit_test(test_mail_smtputf8),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_mail_envid),
		cmocka_unit_test(test_mail_auth),
		cmocka_unit_test(test_params_generic),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_rcpt_relay_forms),
		cmocka_unit_test(test_rcpt_utf8),
		cmocka_unit_test(test_rcpt_notify),
		cmocka_unit_test(test_rcpt_orcpt),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_noarg),
		cmocka_unit_test(test_vrfy),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_prefixes),
	};
	int	r;

	r = cmocka_run_group_tests(tests, NULL, NULL);
	free(copy);
	return r;
}
