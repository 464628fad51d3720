/*
 * dotscan_ref.h: what smtpd/dotscan.c must make of a whole input,
 * written the plain way, for the unit test and the fuzz harness to
 * compare it with, and the sink they collect the scanner's output in. Walks line starts and CRs by looking ahead instead
 * of keeping a state: after a CRLF (or at the start) a line's first dot
 * is dropped, and ".<CRLF>" there ends the data; after a bare LF a dot
 * is data; a CR not followed by LF, and an LF not after a CR, are bare
 * (an LF then becomes CRLF when normalizing). Returns the bytes used
 * (through the end of the data), or n if it never ends; out gets what
 * the message holds (at most 2n bytes), *bare whether any was bare.
 */
#ifndef BULWARK_DOTSCAN_REF_H
#define BULWARK_DOTSCAN_REF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Where the tests collect what the scanner emits. */
struct dot_sink {
	uint8_t	*buf;
	size_t	 len, cap;
	int	 bare;
};

static void
dot_sink_emit(void *arg, const void *p, size_t n)
{
	struct dot_sink	*k = arg;

	if (n > k->cap - k->len)
		abort();
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

static void
dot_sink_bare(void *arg)
{
	((struct dot_sink *)arg)->bare = 1;
}

static size_t
dotscan_ref(const uint8_t *in, size_t n, int normalize, uint8_t *out,
    size_t *outlen, int *bare)
{
	size_t	i = 0, o = 0;
	int	hard = 1;	/* at a line start after a CRLF */

	*bare = 0;
	while (i < n) {
		if (hard && in[i] == '.') {
			if (i + 2 < n && in[i + 1] == '\r' && in[i + 2] == '\n') {
				*outlen = o;
				return i + 3;
			}
			if (i + 2 >= n && (i + 1 == n || in[i + 1] == '\r'))
				break;		/* the end may still come */
			hard = 0;
			i++;			/* a stuffed dot */
			continue;
		}
		hard = 0;
		if (in[i] == '\r') {
			if (i + 1 == n)
				break;		/* held: is it CRLF? */
			if (in[i + 1] == '\n') {
				out[o++] = '\r';
				out[o++] = '\n';
				i += 2;
				hard = 1;
				continue;
			}
			*bare = 1;
			out[o++] = in[i++];
			continue;
		}
		if (in[i] == '\n') {
			*bare = 1;
			if (normalize) {
				out[o++] = '\r';
				out[o++] = '\n';
			}
			i++;
			if (i < n && in[i] == '.') {	/* only data here */
				out[o++] = '.';
				i++;
			}
			continue;
		}
		out[o++] = in[i++];
	}
	*outlen = o;
	return n;
}

#endif
