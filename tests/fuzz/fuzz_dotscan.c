/*
 * fuzz_dotscan.c: the end of DATA (smtpd/dotscan.c) against the plain
 * reference in dotscan_ref.h. The first byte of an input chooses
 * normalizing (bit 0) and the largest piece the input is fed in (the
 * rest: 1 to 128 bytes); the input then always ends with <CRLF>.<CRLF>,
 * which may come sooner. Aborts when the scanner's output, its report of
 * bare line ends, or where it stopped differs from the reference's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotscan.h"
#include "../dotscan_ref.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dot_scan	 d;
	struct dot_sink	 k;
	uint8_t		*in, *want;
	size_t		 n, i = 0, piece, used, want_len, want_used;
	int		 normalize, want_bare;

	if (size < 1)
		return 0;
	normalize = data[0] & 1;
	piece = 1 + (data[0] >> 1);
	n = size - 1 + 5;
	in = malloc(n);
	want = malloc(2 * n);
	k.buf = malloc(2 * n);
	if (in == NULL || want == NULL || k.buf == NULL)
		abort();
	memcpy(in, data + 1, size - 1);
	memcpy(in + size - 1, "\r\n.\r\n", 5);
	k.len = 0;
	k.cap = 2 * n;
	k.bare = 0;
	dot_scan_init(&d, normalize, dot_sink_emit, dot_sink_bare, &k);
	while (i < n && !dot_scan_done(&d)) {
		used = dot_scan(&d, in + i, piece < n - i ? piece : n - i);
		if (used == 0)
			abort();
		i += used;
	}
	want_used = dotscan_ref(in, n, normalize, want, &want_len, &want_bare);
	if (!dot_scan_done(&d) || i != want_used || k.len != want_len ||
	    memcmp(k.buf, want, want_len) != 0 || k.bare != want_bare)
		abort();
	free(in);
	free(want);
	free(k.buf);
	return 0;
}
