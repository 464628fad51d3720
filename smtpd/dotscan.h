/*
 * dotscan.h: the end of DATA (RFC 5321 §4.1.1.4, §4.5.2). Only
 * <CRLF>.<CRLF> ends the data; a dot that starts a line is removed;
 * a bare CR or LF is reported (SMTP smuggling, CVE-2023-51764) and,
 * when normalizing, a bare LF becomes CRLF. What the message holds goes
 * to emit(), in order, in pieces of any size.
 */
#ifndef BULWARK_DOTSCAN_H
#define BULWARK_DOTSCAN_H

#include <stddef.h>
#include <stdint.h>

typedef void	dot_emit_fn(void *arg, const void *p, size_t n);
typedef void	dot_bare_fn(void *arg);

struct dot_scan {
	int		 st;
	int		 normalize;	/* a bare LF is written as CRLF */
	dot_emit_fn	*emit;
	dot_bare_fn	*bare;		/* a bare CR or LF was seen */
	void		*arg;
};

void	dot_scan_init(struct dot_scan *, int normalize, dot_emit_fn *,
	    dot_bare_fn *, void *arg);
/* Scans up to n bytes: returns how many it used, all of them or up to
 * and including the end of the data. */
size_t	dot_scan(struct dot_scan *, const uint8_t *p, size_t n);
/* 1 once <CRLF>.<CRLF> was seen */
int	dot_scan_done(const struct dot_scan *);

#endif
