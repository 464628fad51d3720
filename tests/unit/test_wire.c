/*
 * test_wire.c: unit tests of the IPC payload writer and reader
 * (common/wire.c): byte order, the writer's overflow flag, and every way
 * the reader must refuse a hostile payload: a buffer too short for the
 * field, a string longer than what is left, a string holding a NUL, a
 * destination too small, and trailing bytes.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

/* A reader over raw bytes, as a received frame would give it. */
static void
reader(struct wire_r *r, struct ipc_msg *m, const void *p, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->type = 1;
	m->fd = -1;
	m->len = (uint32_t)len;
	m->data = p;
	wire_r_init(r, m);
}

static struct wire_w *
writer(void)
{
	struct wire_w	*w;

	w = malloc(sizeof(*w));
	assert_non_null(w);
	memset(w, 0xa5, sizeof(*w));
	wire_w_init(w);
	assert_int_equal(w->len, 0);
	assert_int_equal(w->err, 0);
	return w;
}

static void
test_round_trip(void **state)
{
	struct wire_w	*w = writer();
	struct wire_r	 r;
	struct ipc_msg	 m;
	char		 s[16];
	char		*d;

	wire_w_u8(w, 0xfe);
	wire_w_u32(w, 0xdeadbeef);
	wire_w_u64(w, 0x0102030405060708ULL);
	wire_w_str(w, "hello");
	wire_w_str(w, NULL);
	wire_w_str(w, "");
	wire_w_str(w, "dup me");
	wire_w_bytes(w, "xyz", 3);
	assert_int_equal(w->err, 0);
	assert_int_equal(w->len, 1 + 4 + 8 + (4 + 5) + 4 + 4 + (4 + 6) + 3);

	reader(&r, &m, w->buf, w->len);
	assert_int_equal(wire_r_u8(&r), 0xfe);
	assert_int_equal(wire_r_u32(&r), 0xdeadbeef);
	assert_true(wire_r_u64(&r) == 0x0102030405060708ULL);
	wire_r_str(&r, s, sizeof(s));
	assert_string_equal(s, "hello");
	wire_r_str(&r, s, sizeof(s));
	assert_string_equal(s, "");
	wire_r_str(&r, s, sizeof(s));
	assert_string_equal(s, "");
	d = wire_r_strdup(&r, 64);
	assert_non_null(d);
	assert_string_equal(d, "dup me");
	free(d);
	assert_int_equal(r.err, 0);
	/* the three raw bytes are left: not a clean end */
	assert_int_equal(wire_r_end(&r), -1);
	assert_int_equal(wire_r_u8(&r), 'x');
	assert_int_equal(wire_r_u8(&r), 'y');
	assert_int_equal(wire_r_u8(&r), 'z');
	assert_int_equal(wire_r_end(&r), 0);
	free(w);
}

static void
test_little_endian(void **state)
{
	static const uint8_t	 want[] = {
		0x04, 0x03, 0x02, 0x01,
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		0x02, 0x00, 0x00, 0x00, 'h', 'i',
	};
	struct wire_w		*w = writer();

	wire_w_u32(w, 0x01020304);
	wire_w_u64(w, 0x1122334455667788ULL);
	wire_w_str(w, "hi");
	assert_int_equal(w->err, 0);
	assert_int_equal(w->len, sizeof(want));
	assert_memory_equal(w->buf, want, sizeof(want));
	free(w);
}

static void
test_writer_overflow(void **state)
{
	struct wire_w	*w = writer();
	uint8_t		*big;
	char		*s;

	big = calloc(1, IPC_MAX_PAYLOAD + 1);
	assert_non_null(big);

	/* exactly full is fine */
	wire_w_bytes(w, big, IPC_MAX_PAYLOAD);
	assert_int_equal(w->err, 0);
	assert_int_equal(w->len, IPC_MAX_PAYLOAD);
	/* one more byte is not, and nothing is appended */
	wire_w_u8(w, 1);
	assert_int_equal(w->err, 1);
	assert_int_equal(w->len, IPC_MAX_PAYLOAD);

	/* the flag is sticky: a write that would fit is refused too */
	wire_w_init(w);
	wire_w_bytes(w, big, IPC_MAX_PAYLOAD - 2);
	wire_w_u32(w, 7);		/* 4 > 2 left */
	assert_int_equal(w->err, 1);
	assert_int_equal(w->len, IPC_MAX_PAYLOAD - 2);
	wire_w_u8(w, 1);		/* would fit, but err is set */
	assert_int_equal(w->err, 1);
	assert_int_equal(w->len, IPC_MAX_PAYLOAD - 2);

	/* u64 at the edge */
	wire_w_init(w);
	wire_w_bytes(w, big, IPC_MAX_PAYLOAD - 7);
	wire_w_u64(w, 1);
	assert_int_equal(w->err, 1);

	/* a string whose prefix fits but whose bytes do not */
	wire_w_init(w);
	s = malloc(IPC_MAX_PAYLOAD);
	assert_non_null(s);
	memset(s, 'a', IPC_MAX_PAYLOAD - 1);
	s[IPC_MAX_PAYLOAD - 1] = '\0';
	wire_w_str(w, s);		/* 4 + 65535 > 65536 */
	assert_int_equal(w->err, 1);

	/* the largest string that fits */
	wire_w_init(w);
	s[IPC_MAX_PAYLOAD - 4] = '\0';
	wire_w_str(w, s);
	assert_int_equal(w->err, 0);
	assert_int_equal(w->len, IPC_MAX_PAYLOAD);

	/* a huge byte count does not wrap the bounds check */
	wire_w_init(w);
	wire_w_u8(w, 1);
	wire_w_bytes(w, big, SIZE_MAX);
	assert_int_equal(w->err, 1);
	assert_int_equal(w->len, 1);

	free(s);
	free(big);
	free(w);
}

static void
test_reader_short(void **state)
{
	static const uint8_t	 b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct wire_r		 r;
	struct ipc_msg		 m;

	reader(&r, &m, b, 0);
	assert_int_equal(wire_r_u8(&r), 0);
	assert_int_equal(r.err, 1);
	assert_int_equal(wire_r_end(&r), -1);

	reader(&r, &m, b, 3);
	assert_int_equal(wire_r_u32(&r), 0);
	assert_int_equal(r.err, 1);
	assert_int_equal(wire_r_end(&r), -1);

	reader(&r, &m, b, 7);
	assert_true(wire_r_u64(&r) == 0);
	assert_int_equal(r.err, 1);

	/* sticky: once in error, even a field that is there reads 0 */
	reader(&r, &m, b, 5);
	assert_int_equal(wire_r_u32(&r), 0x04030201);
	assert_true(wire_r_u64(&r) == 0);	/* 1 byte left */
	assert_int_equal(r.err, 1);
	assert_int_equal(wire_r_u8(&r), 0);	/* 5 is there, not read */
	assert_int_equal(wire_r_end(&r), -1);

	/* and the string readers fail on a short length prefix */
	{
		char	dst[8] = "junk";

		reader(&r, &m, b, 2);
		wire_r_str(&r, dst, sizeof(dst));
		assert_string_equal(dst, "");
		assert_int_equal(r.err, 1);
		reader(&r, &m, b, 2);
		assert_null(wire_r_strdup(&r, 100));
		assert_int_equal(r.err, 1);
	}
}

static void
test_reader_string_beyond(void **state)
{
	/* says 10 bytes, has 5 */
	static const uint8_t	 b[] = { 10, 0, 0, 0, 'a', 'b', 'c', 'd', 'e' };
	/* says 4 GiB - 1 */
	static const uint8_t	 huge[] = { 0xff, 0xff, 0xff, 0xff, 'a' };
	struct wire_r		 r;
	struct ipc_msg		 m;
	char			 dst[64];

	reader(&r, &m, b, sizeof(b));
	wire_r_str(&r, dst, sizeof(dst));
	assert_int_equal(r.err, 1);
	assert_string_equal(dst, "");
	assert_int_equal(wire_r_end(&r), -1);

	reader(&r, &m, b, sizeof(b));
	assert_null(wire_r_strdup(&r, sizeof(dst)));
	assert_int_equal(r.err, 1);

	reader(&r, &m, huge, sizeof(huge));
	wire_r_str(&r, dst, sizeof(dst));
	assert_int_equal(r.err, 1);
	reader(&r, &m, huge, sizeof(huge));
	assert_null(wire_r_strdup(&r, SIZE_MAX));
	assert_int_equal(r.err, 1);
}

static void
test_reader_embedded_nul(void **state)
{
	static const uint8_t	 b[] = { 3, 0, 0, 0, 'a', '\0', 'b' };
	static const uint8_t	 last[] = { 2, 0, 0, 0, 'a', '\0' };
	struct wire_r		 r;
	struct ipc_msg		 m;
	char			 dst[16];

	reader(&r, &m, b, sizeof(b));
	wire_r_str(&r, dst, sizeof(dst));
	assert_int_equal(r.err, 1);
	assert_string_equal(dst, "");
	assert_int_equal(wire_r_end(&r), -1);

	reader(&r, &m, b, sizeof(b));
	assert_null(wire_r_strdup(&r, sizeof(dst)));
	assert_int_equal(r.err, 1);

	/* a trailing NUL counts too: no string carries its terminator */
	reader(&r, &m, last, sizeof(last));
	wire_r_str(&r, dst, sizeof(dst));
	assert_int_equal(r.err, 1);
}

static void
test_reader_dst_too_small(void **state)
{
	static const uint8_t	 b[] = { 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o' };
	struct wire_r		 r;
	struct ipc_msg		 m;
	char			 dst[8];
	char			*d;

	/* 5 bytes need 6 with the NUL */
	memset(dst, 'X', sizeof(dst));
	reader(&r, &m, b, sizeof(b));
	wire_r_str(&r, dst, 5);
	assert_int_equal(r.err, 1);
	assert_string_equal(dst, "");
	assert_int_equal(dst[5], 'X');		/* nothing beyond dstlen */

	/* no room at all */
	reader(&r, &m, b, sizeof(b));
	dst[0] = 'X';
	wire_r_str(&r, dst, 0);
	assert_int_equal(r.err, 1);
	assert_int_equal(dst[0], 'X');

	/* just enough */
	reader(&r, &m, b, sizeof(b));
	wire_r_str(&r, dst, 6);
	assert_int_equal(r.err, 0);
	assert_string_equal(dst, "hello");
	assert_int_equal(wire_r_end(&r), 0);

	/* strdup's maxlen works the same way */
	reader(&r, &m, b, sizeof(b));
	assert_null(wire_r_strdup(&r, 4));
	assert_int_equal(r.err, 1);
	reader(&r, &m, b, sizeof(b));
	d = wire_r_strdup(&r, 5);
	assert_non_null(d);
	assert_string_equal(d, "hello");
	assert_int_equal(wire_r_end(&r), 0);
	free(d);
}

static void
test_reader_trailing(void **state)
{
	static const uint8_t	 b[] = { 1, 0, 0, 0, 9 };
	struct wire_r		 r;
	struct ipc_msg		 m;

	reader(&r, &m, b, sizeof(b));
	assert_int_equal(wire_r_u32(&r), 1);
	assert_int_equal(r.err, 0);
	assert_int_equal(wire_r_end(&r), -1);	/* one byte too many */

	reader(&r, &m, b, 4);
	assert_int_equal(wire_r_u32(&r), 1);
	assert_int_equal(wire_r_end(&r), 0);

	/* an empty payload read as empty is a clean end */
	reader(&r, &m, b, 0);
	assert_int_equal(wire_r_end(&r), 0);

	/* an error with nothing left is still an error */
	reader(&r, &m, b, 4);
	(void)wire_r_u64(&r);
	assert_int_equal(r.left, 4);
	(void)wire_r_u32(&r);		/* sticky: not consumed */
	assert_int_equal(wire_r_end(&r), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_little_endian),
		cmocka_unit_test(test_writer_overflow),
		cmocka_unit_test(test_reader_short),
		cmocka_unit_test(test_reader_string_beyond),
		cmocka_unit_test(test_reader_embedded_nul),
		cmocka_unit_test(test_reader_dst_too_small),
		cmocka_unit_test(test_reader_trailing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
