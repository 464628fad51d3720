/*
 * hdrscan.h: finds where a message's header section ends and which of
 * Date: and Message-ID: it has, a byte at a time, so that submission can
 * add the missing ones (RFC 6409 §8) while the message streams to disk.
 */
#ifndef BULWARK_HDRSCAN_H
#define BULWARK_HDRSCAN_H

#include <stdint.h>

#define HDR_SEEN_DATE		0x1
#define HDR_SEEN_MESSAGE_ID	0x2

enum hdr_result {
	HDR_MORE,		/* still in the header section */
	HDR_END_BLANK,		/* the empty line that ends it starts at
				   line_pos */
	HDR_END_BODY,		/* the line at line_pos is no header: the
				   body starts there, without an empty line */
};

struct hdr_scan {
	int		st;
	uint64_t	pos;		/* bytes fed so far */
	uint64_t	line_pos;	/* where the current line starts */
	char		name[16];
	unsigned	nlen;
	unsigned	seen;		/* HDR_SEEN_* */
};

void		hdr_scan_init(struct hdr_scan *);
enum hdr_result	hdr_scan_byte(struct hdr_scan *, uint8_t);
/* At the end of the message: 1 if it ended at the start of a line, so
 * that headers can go at the end. */
int		hdr_scan_at_line_start(const struct hdr_scan *);

#endif
