/*
 * headers.c: the header lines local delivery adds (Return-Path,
 * Delivered-To) and the loop check on the message's header section: a
 * Delivered-To: naming this recipient, or too many Received: lines. The
 * scanner is fed in pieces and looks no further than the first empty line.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mailbox.h"

void
hdr_scan_init(struct hdr_scan *h, const char *rcpt)
{
	memset(h, 0, sizeof(*h));
	h->rcpt = rcpt;
	h->bol = 1;
}

static int
hdr_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Compares the value, without surrounding blanks or <>, to rcpt. */
static int
hdr_value_is(const char *v, size_t n, const char *rcpt)
{
	while (n > 0 && hdr_is_wsp(*v)) {
		v++;
		n--;
	}
	while (n > 0 && hdr_is_wsp(v[n - 1]))
		n--;
	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		v++;
		n -= 2;
	}
	return n == strlen(rcpt) && strncasecmp(v, rcpt, n) == 0;
}

/* One whole (unfolded) header line is in h->line. */
static void
hdr_scan_header(struct hdr_scan *h)
{
	const char	*colon, *value;
	size_t		 nlen;

	if (h->len == 0 || (colon = memchr(h->line, ':', h->len)) == NULL) {
		h->len = 0;		/* nothing, or not a header field */
		return;
	}
	value = colon + 1;
	nlen = (size_t)(colon - h->line);
	while (nlen > 0 && hdr_is_wsp(h->line[nlen - 1]))
		nlen--;
	if (nlen == 8 && strncasecmp(h->line, "Received", 8) == 0)
		h->received++;
	else if (nlen == 12 && strncasecmp(h->line, "Delivered-To", 12) == 0 &&
	    h->len < sizeof(h->line) &&
	    hdr_value_is(value, h->len - (size_t)(value - h->line), h->rcpt))
		h->delivered = 1;
	h->len = 0;
}

static void
hdr_scan_byte(struct hdr_scan *h, char c)
{
	if (c == '\r')
		return;			/* CRLF or bare CR: neither matters */
	if (h->bol) {
		h->bol = 0;
		if (c == '\n') {	/* the empty line */
			hdr_scan_header(h);
			h->done = 1;
			return;
		}
		if (!hdr_is_wsp(c))
			hdr_scan_header(h);
	}
	if (c == '\n') {
		h->bol = 1;
		return;
	}
	/* one byte more than fits marks the line as too long to match */
	if (h->len < sizeof(h->line))
		h->line[h->len++] = c;
}

int
hdr_scan_feed(struct hdr_scan *h, const void *data, size_t len)
{
	const char	*p = data;
	size_t		 i;

	for (i = 0; i < len && !h->done; i++)
		hdr_scan_byte(h, p[i]);
	return h->done;
}

void
hdr_scan_end(struct hdr_scan *h)
{
	if (!h->done) {
		hdr_scan_header(h);
		h->done = 1;
	}
}

int
hdr_scan_is_loop(const struct hdr_scan *h, unsigned max_received)
{
	return h->delivered || h->received > max_received;
}

int
hdr_delivered_to(const char *rcpt, char *out, size_t outlen)
{
	char	*at;

	if (strlcpy(out, rcpt, outlen) >= outlen)
		return -1;
	if ((at = strrchr(out, '@')) != NULL)
		for (at++; *at != '\0'; at++)
			*at = (char)tolower((unsigned char)*at);
	return 0;
}

int
hdr_trace(char *out, size_t outlen, const char *sender, const char *dtrcpt)
{
	int	n;

	n = snprintf(out, outlen, "Return-Path: <%s>\nDelivered-To: %s\n",
	    sender, dtrcpt);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return n;
}
