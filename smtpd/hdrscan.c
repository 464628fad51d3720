/*
 * hdrscan.c: RFC 5322 §2.2 header fields: a name of printable ASCII
 * without ':' then ':'; a line starting with a space or tab continues
 * the field before it. Anything else ends the header section.
 */
#include <ctype.h>
#include <string.h>

#include "hdrscan.h"

enum { H_LS, H_NAME, H_VALUE, H_DONE };

void
hdr_scan_init(struct hdr_scan *h)
{
	memset(h, 0, sizeof(*h));
	h->st = H_LS;
}

static void
hdr_scan_name(struct hdr_scan *h)
{
	h->name[h->nlen < sizeof(h->name) ? h->nlen : sizeof(h->name) - 1] =
	    '\0';
	if (strcmp(h->name, "date") == 0)
		h->seen |= HDR_SEEN_DATE;
	else if (strcmp(h->name, "message-id") == 0)
		h->seen |= HDR_SEEN_MESSAGE_ID;
}

enum hdr_result
hdr_scan_byte(struct hdr_scan *h, uint8_t c)
{
	enum hdr_result	r = HDR_MORE;

	switch (h->st) {
	case H_LS:
		h->line_pos = h->pos;
		if (c == '\r' || c == '\n')
			r = HDR_END_BLANK;
		else if (c == ' ' || c == '\t')
			h->st = h->pos == 0 ? H_DONE : H_VALUE;
		else if (c > ' ' && c < 0x7f && c != ':') {
			h->nlen = 0;
			h->name[h->nlen++] = (char)tolower(c);
			h->st = H_NAME;
		} else
			r = HDR_END_BODY;
		if (h->st == H_DONE)
			r = HDR_END_BODY;
		break;
	case H_NAME:
		if (c == ':') {
			hdr_scan_name(h);
			h->st = H_VALUE;
		} else if (c > ' ' && c < 0x7f) {
			if (h->nlen < sizeof(h->name))
				h->name[h->nlen] = (char)tolower(c);
			h->nlen++;
		} else
			r = HDR_END_BODY;
		break;
	case H_VALUE:
		if (c == '\n')
			h->st = H_LS;
		break;
	}
	h->pos++;
	if (r != HDR_MORE)
		h->st = H_DONE;
	return r;
}

int
hdr_scan_at_line_start(const struct hdr_scan *h)
{
	return h->st == H_LS;
}
