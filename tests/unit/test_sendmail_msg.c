/*
 * test_sendmail_msg.c: unit tests of what sendmail does to a message
 * (cli/sm_input.c, cli/sm_headers.c, cli/sm_out.c): where the input
 * ends (a lone "." unless -i), line ends, the header and its folded
 * lines, refusals (NUL, a CR inside a line, too large), the recipients
 * of To:/Cc:/Bcc:, Bcc: removed, From:, and the message as sent:
 * CRLF, dot-stuffed for DATA.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <cmocka.h>

#include "sendmail.h"

static struct sm_msg	m;

static int
read_text(const char *text, size_t len, int ignore_dots, uint64_t limit)
{
	FILE	*in;
	int	 rc;

	assert_non_null(in = fmemopen((void *)text, len, "r"));
	rc = sm_read(in, ignore_dots, limit, &m);
	fclose(in);
	return rc;
}

#define READ(s, dots)	read_text((s), sizeof(s) - 1, (dots), 1 << 20)

/* The message as it would be sent, NUL-terminated (static). */
static const char *
sent(int dots)
{
	static char	 buf[8192];
	struct sm_out	*o;
	FILE		*f;
	size_t		 n;

	assert_non_null(f = tmpfile());
	assert_non_null(o = malloc(sizeof(*o)));
	sm_out_init(o, fileno(f), -1);
	assert_int_equal(sm_write_message(&m, o, dots), 0);
	free(o);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
test_dot_ends_input(void **state)
{
	assert_int_equal(READ("Subject: a\n\nbody\n.\nafter\n", 0), 0);
	assert_string_equal(sent(0), "Subject: a\r\n\r\nbody\r\n");
	sm_msg_free(&m);
	assert_int_equal(READ("Subject: a\n\nbody\n.\nafter\n", 1), 0);
	assert_string_equal(sent(0), "Subject: a\r\n\r\nbody\r\n.\r\n"
	    "after\r\n");
	/* for DATA, the dots are doubled */
	assert_string_equal(sent(1), "Subject: a\r\n\r\nbody\r\n..\r\n"
	    "after\r\n");
	sm_msg_free(&m);
	/* ".." or ". " are data even without -i */
	assert_int_equal(READ("S: a\n\n..\n. \n", 0), 0);
	assert_string_equal(sent(1), "S: a\r\n\r\n...\r\n.. \r\n");
	sm_msg_free(&m);
}

static void
test_lines(void **state)
{
	assert_int_equal(READ("From someone Mon Jan 1\r\nTo: a@x\r\n"
	    "Subject: long\r\n folded\r\n\tagain\r\n\r\nb\xc3\xa4\r\nno end",
	    0), 0);
	assert_int_equal(m.nh, 2);
	assert_string_equal(m.h[1].text, "Subject: long\n folded\n\tagain");
	assert_true(m.eightbit);
	assert_string_equal(sent(0), "To: a@x\r\nSubject: long\r\n folded"
	    "\r\n\tagain\r\n\r\nb\xc3\xa4\r\nno end\r\n");
	sm_msg_free(&m);
	/* the first line that is no header starts the body */
	assert_int_equal(READ("To: a@x\nnot a header\nX: y\n", 0), 0);
	assert_int_equal(m.nh, 1);
	assert_false(m.eightbit);
	assert_string_equal(sent(0), "To: a@x\r\n\r\nnot a header\r\nX: y"
	    "\r\n");
	sm_msg_free(&m);
	assert_int_equal(READ("", 0), 0);
	assert_int_equal(m.nh, 0);
	sm_msg_free(&m);
}

static void
test_refused(void **state)
{
	char	big[300];

	assert_int_equal(READ("To: a@x\n\nNUL\0here\n", 0), EX_DATAERR);
	sm_msg_free(&m);
	assert_int_equal(READ("To: a@x\n\nCR\rinside\n", 0), EX_DATAERR);
	sm_msg_free(&m);
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	assert_int_equal(read_text(big, sizeof(big), 0, 100), EX_DATAERR);
	sm_msg_free(&m);
	assert_int_equal(read_text("a\nb\nc\nd\n", 8, 0, 7), EX_DATAERR);
	sm_msg_free(&m);
}

static char	found[8][64];
static int	nfound;

static int
collect(void *arg, const char *addr, char *err, size_t errlen)
{
	if (nfound < 8)
		strlcpy(found[nfound], addr, sizeof(found[0]));
	nfound++;
	return 0;
}

static void
test_extract_and_bcc(void **state)
{
	assert_int_equal(READ("To: A <a@x>, b@x\nSubject: s\ncc: c@x\n"
	    "BCC: Secret <d@x>,\n e@x\nX-To: no@x\n\nbody\n", 0), 0);
	nfound = 0;
	assert_int_equal(sm_extract(&m, collect, NULL), 0);
	assert_int_equal(nfound, 5);
	assert_string_equal(found[0], "a@x");
	assert_string_equal(found[2], "c@x");
	assert_string_equal(found[4], "e@x");
	assert_true(sm_has_header(&m, "bcc"));
	sm_remove_bcc(&m);
	assert_false(sm_has_header(&m, "Bcc"));
	assert_false(sm_has_header(&m, "From"));
	assert_int_equal(sm_add_header(&m, "From: me@x"), 0);
	assert_string_equal(sent(0), "To: A <a@x>, b@x\r\nSubject: s\r\n"
	    "cc: c@x\r\nX-To: no@x\r\nFrom: me@x\r\n\r\nbody\r\n");
	sm_msg_free(&m);
	assert_int_equal(READ("To: a@x b@x\n\n", 0), 0);
	assert_int_equal(sm_extract(&m, collect, NULL), EX_DATAERR);
	sm_msg_free(&m);
}

static void
test_from_header(void **state)
{
	char	buf[128];

	assert_int_equal(sm_from_header("me@x", NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "From: me@x");
	assert_int_equal(sm_from_header("me@x", "", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "From: me@x");
	assert_int_equal(sm_from_header("me@x", "A \"B\" C\\\n", buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "From: \"A \\\"B\\\" C\\\\ \" <me@x>");
	assert_int_equal(sm_from_header("me@x", "Name", buf, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dot_ends_input),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_extract_and_bcc),
		cmocka_unit_test(test_from_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
