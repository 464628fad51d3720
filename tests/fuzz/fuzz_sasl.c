/*
 * fuzz_sasl.c: libFuzzer harness for smtpd's AUTH parsers and the
 * header scanner (smtpd/sasl.c, smtpd/hdrscan.c). Beyond "no crash":
 * what decodes re-encodes to the same text (base64 is canonical), a
 * parsed PLAIN login is NUL-free text within its limit, and the scanner
 * never reports an end before the bytes it has seen.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdrscan.h"
#include "sasl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

static void
fuzz_b64(const uint8_t *data, size_t size)
{
	static uint8_t	out[SASL_PLAIN_MAX + 1];
	static char	back[SASL_B64_LEN(SASL_PLAIN_MAX) + 1];
	char		login[SASL_LOGIN_MAX + 1], pw[SASL_PASSWORD_MAX + 1];
	int		n;

	if ((n = sasl_b64_decode((const char *)data, size, out,
	    sizeof(out))) < 0)
		return;
	CHECK(sasl_b64_encode(out, (size_t)n, back, sizeof(back)) >= 0);
	CHECK(strlen(back) == size && memcmp(back, data, size) == 0);
	if (sasl_plain_parse(out, (size_t)n, login, sizeof(login), pw,
	    sizeof(pw)) == 0) {
		CHECK(strlen(login) > 0 && strlen(login) <= SASL_LOGIN_MAX);
		CHECK(strlen(pw) > 0 && strlen(pw) <= SASL_PASSWORD_MAX);
	}
}

static void
fuzz_headers(const uint8_t *data, size_t size)
{
	struct hdr_scan	h;
	enum hdr_result	r = HDR_MORE;
	size_t		i;

	hdr_scan_init(&h);
	for (i = 0; i < size && r == HDR_MORE; i++)
		r = hdr_scan_byte(&h, data[i]);
	CHECK(h.pos == i && h.line_pos <= h.pos);
	if (r == HDR_END_BLANK)
		CHECK(data[h.line_pos] == '\r' || data[h.line_pos] == '\n');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_b64(data, size);
	fuzz_headers(data, size);
	return 0;
}
