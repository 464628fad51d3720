/*
 * dotscan.c: the end of DATA, byte by byte where it matters and a run of
 * text at a time where it does not (see dotscan.h).
 */
#include <string.h>

#include "dotscan.h"

enum {
	ST_LS,		/* at the start of a line, after CRLF */
	ST_LS_SOFT,	/* at the start of a line, after a bare LF */
	ST_DOT,		/* "." at the start of a line */
	ST_DOT_CR,	/* ".\r" at the start of a line */
	ST_TEXT,	/* inside a line */
	ST_CR,		/* "\r" inside a line */
	ST_END,		/* <CRLF>.<CRLF> seen */
};

void
dot_scan_init(struct dot_scan *d, int normalize, dot_emit_fn *emit,
    dot_bare_fn *bare, void *arg)
{
	d->st = ST_LS;
	d->normalize = normalize;
	d->emit = emit;
	d->bare = bare;
	d->arg = arg;
}

int
dot_scan_done(const struct dot_scan *d)
{
	return d->st == ST_END;
}

/* One byte through the scanner. */
static void
dot_byte(struct dot_scan *d, uint8_t c)
{

	switch (d->st) {
	case ST_LS:
	case ST_LS_SOFT:
		if (c == '.') {
			/* after a bare LF a dot is only data */
			if (d->st == ST_LS_SOFT) {
				d->emit(d->arg, ".", 1);
				d->st = ST_TEXT;
			} else
				d->st = ST_DOT;
			return;
		}
		d->st = ST_TEXT;
		dot_byte(d, c);
		return;
	case ST_DOT:
		if (c == '\r') {
			d->st = ST_DOT_CR;
			return;
		}
		d->st = ST_TEXT;	/* the stuffed dot is dropped */
		dot_byte(d, c);
		return;
	case ST_DOT_CR:
		if (c == '\n') {
			d->st = ST_END;
			return;
		}
		d->bare(d->arg);		/* ".\r" then not LF */
		d->emit(d->arg, "\r", 1);
		d->st = ST_TEXT;
		dot_byte(d, c);
		return;
	case ST_TEXT:
		if (c == '\r')
			d->st = ST_CR;
		else if (c == '\n') {
			d->bare(d->arg);
			if (d->normalize)
				d->emit(d->arg, "\r\n", 2);
			d->st = ST_LS_SOFT;
		} else
			d->emit(d->arg, &c, 1);
		return;
	case ST_CR:
		if (c == '\n') {
			d->emit(d->arg, "\r\n", 2);
			d->st = ST_LS;
			return;
		}
		d->bare(d->arg);
		d->emit(d->arg, "\r", 1);
		d->st = ST_TEXT;
		dot_byte(d, c);
		return;
	}
}

/* Where the text from p[i] ends: the first CR or LF, or n. The window
 * keeps a search for the one from passing many of the other, which
 * would make text of bare LFs (or CRs) cost the square of its length. */
#define DOT_RUN_WINDOW	1024

static size_t
dot_text_run(const uint8_t *p, size_t i, size_t n)
{
	const uint8_t	*cr, *lf;

	if (n - i > DOT_RUN_WINDOW)
		n = i + DOT_RUN_WINDOW;
	if ((cr = memchr(p + i, '\r', n - i)) != NULL)
		n = (size_t)(cr - p);
	if ((lf = memchr(p + i, '\n', n - i)) != NULL)
		n = (size_t)(lf - p);
	return n;
}

size_t
dot_scan(struct dot_scan *d, const uint8_t *p, size_t n)
{
	size_t	i, run;

	for (i = 0; i < n && d->st != ST_END; ) {
		if (d->st == ST_TEXT) {
			/* the common case: copy a run of plain text */
			run = dot_text_run(p, i, n);
			if (run > i) {
				d->emit(d->arg, p + i, run - i);
				i = run;
				continue;
			}
		}
		dot_byte(d, p[i++]);
	}
	return i;
}
