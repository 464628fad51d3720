/*
 * test_dotscan.c: the end of DATA (smtpd/dotscan.c). The smuggling
 * variants and dot-stuffing, each split at every point and fed a byte
 * at a time; then random inputs in random pieces against the plain
 * reference in dotscan_ref.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dotscan.h"
#include "../dotscan_ref.h"

/* Feeds in[0..n) in pieces of the sizes cut() gives; returns the bytes
 * used. */
static size_t
feed(const uint8_t *in, size_t n, int normalize, struct dot_sink *k,
    size_t (*cut)(size_t at, void *), void *arg)
{
	struct dot_scan	d;
	size_t		i = 0, piece, used;

	k->len = 0;
	k->bare = 0;
	dot_scan_init(&d, normalize, dot_sink_emit, dot_sink_bare, k);
	while (i < n && !dot_scan_done(&d)) {
		piece = cut(i, arg);
		if (piece > n - i)
			piece = n - i;
		used = dot_scan(&d, in + i, piece);
		assert_true(used <= piece);
		assert_true(used == piece || dot_scan_done(&d));
		i += used;
	}
	return dot_scan_done(&d) ? i : n;
}

static size_t
cut_at(size_t at, void *arg)
{
	size_t	split = *(size_t *)arg;

	return at < split ? split - at : (size_t)-1;
}

static size_t
cut_one(size_t at, void *arg)
{
	return 1;
}

static size_t
cut_random(size_t at, void *arg)
{
	return 1 + (size_t)random() % *(size_t *)arg;
}

/* text through the scanner split at every point, and a byte at a time:
 * always want (and the bytes after the end left unused) */
static void
check(const char *text, int normalize, const char *want, int want_bare,
    size_t want_used)
{
	static uint8_t	buf[4096];
	struct dot_sink	k = { buf, 0, sizeof(buf), 0 };
	size_t		n = strlen(text), split, used;

	for (split = 0; split <= n + 1; split++) {
		used = split <= n ? feed((const uint8_t *)text, n, normalize,
		    &k, cut_at, &split) : feed((const uint8_t *)text, n,
		    normalize, &k, cut_one, NULL);
		assert_int_equal(used, want_used);
		assert_int_equal(k.len, strlen(want));
		assert_memory_equal(k.buf, want, k.len);
		assert_int_equal(k.bare, want_bare);
	}
}

static void
test_plain_and_stuffed(void **state)
{
	check("a\r\n.\r\nNEXT", 0, "a\r\n", 0, 6);
	check(".\r\n", 0, "", 0, 3);
	check("..x\r\n.\r\n", 0, ".x\r\n", 0, 8);
	check("a\r\n..\r\n.\r\n", 0, "a\r\n.\r\n", 0, 10);
	check("x.\r\n.y\r\n.\r\n", 0, "x.\r\ny\r\n", 0, 11);
}

static void
test_smuggling_variants(void **state)
{
	/* none of these ends the data; each is bare somewhere */
	check("a\n.\nb\r\n.\r\n", 0, "a.b\r\n", 1, 10);
	check("a\n.\r\nb\r\n.\r\n", 0, "a.\r\nb\r\n", 1, 11);
	check("a\r.\rb\r\n.\r\n", 0, "a\r.\rb\r\n", 1, 10);
	check("a\r\n.\rb\r\n.\r\n", 0, "a\r\n\rb\r\n", 1, 11);
	check("a\nb\r\n.\r\n", 1, "a\r\nb\r\n", 1, 8);
	check("a\n.\nb\r\n.\r\n", 1, "a\r\n.\r\nb\r\n", 1, 10);
	check("a\rb\r\n.\r\n", 1, "a\rb\r\n", 1, 8);
}

static void
test_unfinished(void **state)
{
	/* what may still turn out to be a line end is held back */
	check("abc\r", 0, "abc", 0, 4);
	check("abc\r\n.", 0, "abc\r\n", 0, 6);
	check("abc\r\n.\r", 0, "abc\r\n", 0, 7);
}

static void
test_random_against_reference(void **state)
{
	static const char *const bits[] = { "\r", "\n", "\r\n", ".",
	    "\r\n.", ".\r", "x", "hello world" };
	size_t		 cap = 300000, n, k, want_len, want_used, used, most;
	uint8_t		*in = malloc(cap + 8), *want = malloc(2 * cap + 16);
	struct dot_sink	 sink = { malloc(2 * cap + 16), 0, 2 * cap + 16, 0 };
	int		 round, want_bare;

	assert_true(in != NULL && want != NULL && sink.buf != NULL);
	srandom(7);
	for (round = 0; round < 400; round++) {
		size_t limit = round % 50 == 0 ? cap - 16 : 200;

		for (n = 0; n < limit; n += strlen(bits[k])) {
			k = (size_t)random() % (sizeof(bits) / sizeof(bits[0]));
			memcpy(in + n, bits[k], strlen(bits[k]));
		}
		memcpy(in + n, "\r\n.\r\n", 5);		/* it must end */
		n += 5;
		want_used = dotscan_ref(in, n, round % 3 == 0, want,
		    &want_len, &want_bare);
		most = round % 2 ? 5 : 70000;
		used = feed(in, n, round % 3 == 0, &sink, cut_random, &most);
		assert_int_equal(used, want_used);
		assert_int_equal(sink.bare, want_bare);
		assert_int_equal(sink.len, want_len);
		assert_memory_equal(sink.buf, want, want_len);
	}
	free(in);
	free(want);
	free(sink.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_stuffed),
		cmocka_unit_test(test_smuggling_variants),
		cmocka_unit_test(test_unfinished),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
