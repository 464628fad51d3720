/*
 * wire.h: building and reading IPC payloads. A payload is a sequence of
 * little fixed-width integers and length-prefixed strings. The reader has
 * a sticky error flag: callers read every field, then check once with
 * wire_r_end(), which also refuses trailing bytes.
 */
#ifndef BULWARK_WIRE_H
#define BULWARK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct wire_w {
	uint8_t	buf[IPC_MAX_PAYLOAD];
	size_t	len;
	int	err;		/* set when the payload would overflow */
};

struct wire_r {
	const uint8_t	*p;
	size_t		 left;
	int		 err;
};

void	wire_w_init(struct wire_w *);
void	wire_w_u8(struct wire_w *, uint8_t);
void	wire_w_u32(struct wire_w *, uint32_t);
void	wire_w_u64(struct wire_w *, uint64_t);
/* NULL is sent as an empty string */
void	wire_w_str(struct wire_w *, const char *);
void	wire_w_bytes(struct wire_w *, const void *, size_t);

void	wire_r_init(struct wire_r *, const struct ipc_msg *);
uint8_t	wire_r_u8(struct wire_r *);
uint32_t wire_r_u32(struct wire_r *);
uint64_t wire_r_u64(struct wire_r *);
/* Copies a string into dst (always NUL-terminated). A string that does
 * not fit, or holds a NUL byte, sets the error flag. */
void	wire_r_str(struct wire_r *, char *dst, size_t dstlen);
/* 1 if s has no control characters (C0 or DEL): text from a peer that
 * goes into logs, reports and lookups. */
int	wire_text_ok(const char *s);
/* Returns a malloc'd copy; NULL (and the error flag) on failure. */
char	*wire_r_strdup(struct wire_r *, size_t maxlen);
int	wire_r_end(const struct wire_r *);

#endif
