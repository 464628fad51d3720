/*
 * test_sasl.c: unit tests of smtpd's AUTH parsers (smtpd/sasl.c: strict
 * base64 and the PLAIN message) and of the header scanner that decides
 * where submission adds Date: and Message-ID: (smtpd/hdrscan.c). Inputs
 * live in exact-size heap buffers so that AddressSanitizer sees any
 * over-read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hdrscan.h"
#include "sasl.h"

static int
decode(const char *s, uint8_t *out, size_t outlen)
{
	size_t	 len = strlen(s);
	char	*copy = malloc(len ? len : 1);
	int	 n;

	assert_non_null(copy);
	memcpy(copy, s, len);
	n = sasl_b64_decode(copy, len, out, outlen);
	free(copy);
	return n;
}

static void
test_b64_good(void **state)
{
	uint8_t	out[64];

	assert_int_equal(decode("", out, sizeof(out)), 0);
	assert_int_equal(decode("Zg==", out, sizeof(out)), 1);
	assert_memory_equal(out, "f", 1);
	assert_int_equal(decode("Zm8=", out, sizeof(out)), 2);
	assert_memory_equal(out, "fo", 2);
	assert_int_equal(decode("Zm9v", out, sizeof(out)), 3);
	assert_memory_equal(out, "foo", 3);
	assert_int_equal(decode("Zm9vYmFy", out, sizeof(out)), 6);
	assert_memory_equal(out, "foobar", 6);
	/* "\0alice\0secret" */
	assert_int_equal(decode("AGFsaWNlAHNlY3JldA==", out, sizeof(out)), 13);
	assert_memory_equal(out, "\0alice\0secret", 13);
}

static void
test_b64_bad(void **state)
{
	uint8_t	out[64];

	/* length, alphabet, whitespace, padding in the wrong place */
	assert_int_equal(decode("Zg=", out, sizeof(out)), -1);
	assert_int_equal(decode("Zg", out, sizeof(out)), -1);
	assert_int_equal(decode("Zm9", out, sizeof(out)), -1);
	assert_int_equal(decode("Zm 9", out, sizeof(out)), -1);
	assert_int_equal(decode("Zm9\n", out, sizeof(out)), -1);
	assert_int_equal(decode("Zm-v", out, sizeof(out)), -1);
	assert_int_equal(decode("Zm_v", out, sizeof(out)), -1);
	assert_int_equal(decode("Z===", out, sizeof(out)), -1);
	assert_int_equal(decode("====", out, sizeof(out)), -1);
	assert_int_equal(decode("Zg==Zm9v", out, sizeof(out)), -1);
	assert_int_equal(decode("Z=g=", out, sizeof(out)), -1);
	/* not canonical: bits under the padding set */
	assert_int_equal(decode("Zh==", out, sizeof(out)), -1);
	assert_int_equal(decode("Zm9=", out, sizeof(out)), -1);
	/* a NUL inside is not base64 */
	assert_int_equal(sasl_b64_decode("Zm\0v", 4, out, sizeof(out)), -1);
}

static void
test_b64_bounds(void **state)
{
	uint8_t	out[3];

	assert_int_equal(decode("Zm9v", out, 3), 3);
	assert_int_equal(decode("Zm9v", out, 2), -1);
	assert_int_equal(decode("Zm8=", out, 2), 2);
	assert_int_equal(decode("Zm9vYg==", out, 3), -1);
}

static void
test_b64_roundtrip(void **state)
{
	uint8_t	in[256], back[256];
	char	enc[SASL_B64_LEN(256) + 1];
	size_t	len, i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	for (len = 0; len <= sizeof(in); len++) {
		assert_int_equal(sasl_b64_encode(in, len, enc, sizeof(enc)),
		    (int)SASL_B64_LEN(len));
		assert_int_equal(decode(enc, back, sizeof(back)), (int)len);
		assert_memory_equal(in, back, len);
	}
	assert_int_equal(sasl_b64_encode(in, 3, enc, 4), -1);
	assert_int_equal(sasl_b64_encode(in, 3, enc, 5), 4);
	assert_string_equal(enc, "AwoR");
}

static int
plain(const char *msg, size_t len, char *login, char *pw)
{
	uint8_t	*copy = malloc(len ? len : 1);
	int	 rc;

	assert_non_null(copy);
	memcpy(copy, msg, len);
	rc = sasl_plain_parse(copy, len, login, SASL_LOGIN_MAX + 1, pw,
	    SASL_PASSWORD_MAX + 1);
	free(copy);
	return rc;
}

static void
test_plain(void **state)
{
	char	login[SASL_LOGIN_MAX + 1], pw[SASL_PASSWORD_MAX + 1];
	char	big[SASL_PLAIN_MAX + 16];

	assert_int_equal(plain("\0alice\0secret", 13, login, pw), 0);
	assert_string_equal(login, "alice");
	assert_string_equal(pw, "secret");
	/* authzid equal to authcid is no proxy */
	assert_int_equal(plain("alice\0alice\0s", 13, login, pw), 0);
	/* UTF-8 logins; passwords may hold anything but NUL */
	assert_int_equal(plain("\0j\xc3\xb6rg\0p\x01\xff", 10, login, pw), 0);
	assert_string_equal(login, "j\xc3\xb6rg");
	/* refused */
	assert_int_equal(plain("bob\0alice\0s", 11, login, pw), -1);
	assert_int_equal(plain("\0alice\0", 7, login, pw), -1);
	assert_int_equal(plain("\0\0secret", 8, login, pw), -1);
	assert_int_equal(plain("\0alice", 6, login, pw), -1);
	assert_int_equal(plain("alice", 5, login, pw), -1);
	assert_int_equal(plain("", 0, login, pw), -1);
	assert_int_equal(plain("\0alice\0se\0cret", 15, login, pw), -1);
	assert_int_equal(plain("\0al\x01ice\0s", 10, login, pw), -1);
	assert_int_equal(plain("\0al\xc3ice\0s", 10, login, pw), -1);
	assert_int_equal(plain("\0\xed\xa0\x80\0s", 7, login, pw), -1);
	/* the longest login and password, and one octet more of each */
	memset(big, 'a', sizeof(big));
	big[0] = '\0';
	big[SASL_LOGIN_MAX + 1] = '\0';
	assert_int_equal(plain(big, SASL_LOGIN_MAX + 2 + SASL_PASSWORD_MAX,
	    login, pw), 0);
	assert_int_equal(strlen(login), SASL_LOGIN_MAX);
	assert_int_equal(strlen(pw), SASL_PASSWORD_MAX);
	assert_int_equal(plain(big, SASL_LOGIN_MAX + 3 + SASL_PASSWORD_MAX,
	    login, pw), -1);
	big[SASL_LOGIN_MAX + 1] = 'a';
	big[SASL_LOGIN_MAX + 2] = '\0';
	assert_int_equal(plain(big, SASL_LOGIN_MAX + 4, login, pw), -1);
}

/* Feeds text through the scanner; the result and where it stopped. */
static enum hdr_result
scan(const char *text, struct hdr_scan *h, size_t *at)
{
	enum hdr_result	r = HDR_MORE;
	size_t		i;

	hdr_scan_init(h);
	for (i = 0; text[i] != '\0' && r == HDR_MORE; i++)
		r = hdr_scan_byte(h, (uint8_t)text[i]);
	*at = i;
	return r;
}

static void
test_hdrscan(void **state)
{
	struct hdr_scan	h;
	size_t		at;

	assert_int_equal(scan("Subject: x\r\nDATE: y\r\n\r\nbody", &h, &at),
	    HDR_END_BLANK);
	assert_int_equal(h.line_pos, 21);
	assert_int_equal(h.seen, HDR_SEEN_DATE);
	assert_int_equal(scan("Message-Id: <a@b>\r\n folded\r\n\r\n", &h,
	    &at), HDR_END_BLANK);
	assert_int_equal(h.seen, HDR_SEEN_MESSAGE_ID);
	/* names that only start like ours */
	assert_int_equal(scan("Dates: x\r\nMessage-ID-X: y\r\n\r\n", &h,
	    &at), HDR_END_BLANK);
	assert_int_equal(h.seen, 0);
	/* the body starts without an empty line */
	assert_int_equal(scan("Subject: x\r\nHello world\r\n", &h, &at),
	    HDR_END_BODY);
	assert_int_equal(h.line_pos, 12);
	assert_int_equal(scan("Hello\r\n", &h, &at), HDR_END_BODY);
	assert_int_equal(h.line_pos, 0);
	assert_int_equal(scan(" leading space\r\n", &h, &at), HDR_END_BODY);
	assert_int_equal(h.line_pos, 0);
	assert_int_equal(scan(": no name\r\n", &h, &at), HDR_END_BODY);
	assert_int_equal(scan("\r\nbody", &h, &at), HDR_END_BLANK);
	assert_int_equal(h.line_pos, 0);
	/* a message of headers only ends at a line start */
	assert_int_equal(scan("Subject: x\r\n", &h, &at), HDR_MORE);
	assert_true(hdr_scan_at_line_start(&h));
	assert_int_equal(scan("Subject: x", &h, &at), HDR_MORE);
	assert_false(hdr_scan_at_line_start(&h));
	/* a long name is no crash and no match */
	assert_int_equal(scan("Xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: y\r\n\r\n",
	    &h, &at), HDR_END_BLANK);
	assert_int_equal(h.seen, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_good),
		cmocka_unit_test(test_b64_bad),
		cmocka_unit_test(test_b64_bounds),
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_hdrscan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
