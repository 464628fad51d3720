/*
 * wire.c: bounded writer and reader for IPC payloads (see wire.h).
 * Integers are little-endian on the wire; the peers share a host, but a
 * fixed order keeps the decoder obviously correct.
 */
#include <stdlib.h>
#include <string.h>

#include "wire.h"

void
wire_w_init(struct wire_w *w)
{
	w->len = 0;
	w->err = 0;
}

void
wire_w_bytes(struct wire_w *w, const void *p, size_t n)
{
	if (w->err || n > sizeof(w->buf) - w->len) {
		w->err = 1;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void
wire_w_le(struct wire_w *w, uint64_t v, size_t width)
{
	uint8_t	b[8];
	size_t	i;

	for (i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	wire_w_bytes(w, b, width);
}

void
wire_w_u8(struct wire_w *w, uint8_t v)
{
	wire_w_le(w, v, 1);
}

void
wire_w_u32(struct wire_w *w, uint32_t v)
{
	wire_w_le(w, v, 4);
}

void
wire_w_u64(struct wire_w *w, uint64_t v)
{
	wire_w_le(w, v, 8);
}

void
wire_w_str(struct wire_w *w, const char *s)
{
	size_t	n = s == NULL ? 0 : strlen(s);

	if (n > UINT32_MAX) {
		w->err = 1;
		return;
	}
	wire_w_u32(w, (uint32_t)n);
	wire_w_bytes(w, s, n);
}

void
wire_r_init(struct wire_r *r, const struct ipc_msg *m)
{
	r->p = m->data;
	r->left = m->len;
	r->err = 0;
}

static uint64_t
wire_r_le(struct wire_r *r, size_t width)
{
	uint64_t	v = 0;
	size_t		i;

	if (r->err || r->left < width) {
		r->err = 1;
		return 0;
	}
	for (i = 0; i < width; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += width;
	r->left -= width;
	return v;
}

uint8_t
wire_r_u8(struct wire_r *r)
{
	return (uint8_t)wire_r_le(r, 1);
}

uint32_t
wire_r_u32(struct wire_r *r)
{
	return (uint32_t)wire_r_le(r, 4);
}

uint64_t
wire_r_u64(struct wire_r *r)
{
	return wire_r_le(r, 8);
}

/* Returns the string's bytes in place, or NULL with the error flag set. */
static const uint8_t *
wire_r_span(struct wire_r *r, size_t *len)
{
	const uint8_t	*s;
	uint32_t	 n;

	n = wire_r_u32(r);
	if (r->err || n > r->left || memchr(r->p, '\0', n) != NULL) {
		r->err = 1;
		return NULL;
	}
	s = r->p;
	r->p += n;
	r->left -= n;
	*len = n;
	return s;
}

void
wire_r_str(struct wire_r *r, char *dst, size_t dstlen)
{
	const uint8_t	*s;
	size_t		 n;

	if (dstlen > 0)
		dst[0] = '\0';
	if ((s = wire_r_span(r, &n)) == NULL)
		return;
	if (n >= dstlen) {
		r->err = 1;
		return;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

char *
wire_r_strdup(struct wire_r *r, size_t maxlen)
{
	const uint8_t	*s;
	size_t		 n;
	char		*out;

	if ((s = wire_r_span(r, &n)) == NULL)
		return NULL;
	if (n > maxlen || (out = malloc(n + 1)) == NULL) {
		r->err = 1;
		return NULL;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

int
wire_r_end(const struct wire_r *r)
{
	return r->err || r->left != 0 ? -1 : 0;
}

int
wire_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}
