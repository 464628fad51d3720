/*
 * stream.c: the output filter every mailbox writer uses. It buffers
 * writes through a replaceable write function (so that tests can make a
 * write fail), turns the queue file's CRLF into LF and applies mboxrd
 * quoting. Both filters keep their state across calls.
 */
#include <errno.h>
#include <string.h>

#include "mailbox.h"

static const char	from_[] = "From ";

void
stream_init(struct stream *s, int flags, stream_write_fn *fn, void *arg)
{
	s->write = fn;
	s->arg = arg;
	s->flags = flags;
	s->err = 0;
	s->written = 0;
	s->cr = 0;
	s->bol = 1;
	s->match = 0;
	s->gt = 0;
	s->from = 0;
	s->last = -1;
	s->len = 0;
}

int
stream_flush(struct stream *s)
{
	if (s->err)
		return -1;
	if (s->len == 0)
		return 0;
	if (s->write(s->arg, s->buf, s->len) == -1) {
		s->err = errno != 0 ? errno : EIO;
		return -1;
	}
	s->written += s->len;
	s->len = 0;
	return 0;
}

static void
stream_out(struct stream *s, uint8_t c)
{
	if (s->err)
		return;
	s->buf[s->len++] = c;
	s->last = c;
	if (s->len == sizeof(s->buf))
		(void)stream_flush(s);
}

/* n bytes that need no filtering, as stream_out would put them. */
static void
stream_block(struct stream *s, const uint8_t *p, size_t n)
{
	size_t	room;

	if (n == 0)
		return;
	s->last = p[n - 1];
	while (n > 0 && !s->err) {
		room = sizeof(s->buf) - s->len;
		if (room > n)
			room = n;
		memcpy(s->buf + s->len, p, room);
		s->len += room;
		p += room;
		n -= room;
		if (s->len == sizeof(s->buf))
			(void)stream_flush(s);
	}
}

/* How many bytes from p stream_quote would pass through unchanged with
 * nothing held back: up to a CR (which may start a CRLF) or, when
 * quoting, an LF (after which a From_ line may start). The window keeps
 * the search for a CR from passing many LFs, which would make a text of
 * bare LFs cost the square of its length. */
#define STREAM_RUN_WINDOW	1024

static size_t
stream_plain_run(const struct stream *s, const uint8_t *p, size_t len)
{
	const uint8_t	*e;

	if (s->cr || s->match ||
	    ((s->flags & STREAM_QUOTE_FROM) && s->bol))
		return 0;
	if (len > STREAM_RUN_WINDOW)
		len = STREAM_RUN_WINDOW;
	if ((s->flags & STREAM_CRLF) && (e = memchr(p, '\r', len)) != NULL)
		len = (size_t)(e - p);
	if ((s->flags & STREAM_QUOTE_FROM) &&
	    (e = memchr(p, '\n', len)) != NULL)
		len = (size_t)(e - p);
	return len;
}

/* Gives back the "^>*From" prefix held while it could still match. */
static void
stream_release(struct stream *s)
{
	size_t	i;

	for (; s->gt > 0; s->gt--)
		stream_out(s, '>');
	for (i = 0; i < s->from; i++)
		stream_out(s, (uint8_t)from_[i]);
	s->from = 0;
	s->match = 0;
}

/* One byte after CRLF conversion: the mboxrd quoting. */
static void
stream_quote(struct stream *s, uint8_t c)
{
	if ((s->flags & STREAM_QUOTE_FROM) && s->bol) {
		s->bol = 0;
		s->match = 1;
	}
	if (s->match) {
		if (c == '>' && s->from == 0) {
			s->gt++;
			return;
		}
		if (c == (uint8_t)from_[s->from]) {
			if (++s->from < sizeof(from_) - 1)
				return;
			stream_out(s, '>');	/* the line gets one more */
			stream_release(s);
			return;
		}
		stream_release(s);
	}
	stream_out(s, c);
	if (c == '\n')
		s->bol = 1;
}

int
stream_put(struct stream *s, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 i, run;

	for (i = 0; i < len && !s->err; i++) {
		if ((run = stream_plain_run(s, p + i, len - i)) > 0) {
			stream_block(s, p + i, run);
			i += run - 1;
			continue;
		}
		if (s->flags & STREAM_CRLF) {
			if (s->cr) {
				s->cr = 0;
				if (p[i] != '\n')
					stream_quote(s, '\r');
			}
			if (p[i] == '\r') {
				s->cr = 1;
				continue;
			}
		}
		stream_quote(s, p[i]);
	}
	return s->err ? -1 : 0;
}

int
stream_raw(struct stream *s, const void *data, size_t len)
{
	stream_block(s, data, len);
	s->bol = s->last == '\n';
	return s->err ? -1 : 0;
}

int
stream_finish(struct stream *s)
{
	if (s->cr) {
		s->cr = 0;
		stream_quote(s, '\r');
	}
	if (s->match)
		stream_release(s);
	if (s->last != -1 && s->last != '\n')
		stream_out(s, '\n');
	s->bol = 1;
	return stream_flush(s);
}
