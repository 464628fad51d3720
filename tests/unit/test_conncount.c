/*
 * test_conncount.c: lookup's count of all smtpd workers' sessions
 * (lookup/conncount.c): the two limits, the trusted exemption, releases
 * by the worker that counted, and a worker's sessions gone with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conncount.h"

#define W1	7		/* two workers' link ids */
#define W2	9

static void
test_per_client_limit_spans_workers(void **state)
{
	/* 3 a client: wherever the sessions land, the 4th is refused */
	assert_int_equal(conn_admit(W1, "192.0.2.1", 0, 100, 3), LK_OK);
	assert_int_equal(conn_admit(W2, "192.0.2.1", 0, 100, 3), LK_OK);
	assert_int_equal(conn_admit(W2, "192.0.2.1", 0, 100, 3), LK_OK);
	assert_int_equal(conn_admit(W1, "192.0.2.1", 0, 100, 3),
	    LK_CONN_CLIENT);
	assert_int_equal(conn_count("192.0.2.1"), 3);
	/* another client is not touched; a trusted one is exempt */
	assert_int_equal(conn_admit(W1, "192.0.2.2", 0, 100, 3), LK_OK);
	assert_int_equal(conn_admit(W1, "192.0.2.1", 1, 100, 3), LK_OK);
	assert_int_equal(conn_count("192.0.2.1"), 4);
	/* one ends: room for one more */
	conn_release(W2, "192.0.2.1");
	conn_release(W2, "192.0.2.1");
	assert_int_equal(conn_count("192.0.2.1"), 2);
	assert_int_equal(conn_admit(W2, "192.0.2.1", 0, 100, 3), LK_OK);
	/* a release by a worker that did not count it changes nothing */
	conn_release(W2, "192.0.2.2");
	conn_release(W1, "198.51.100.9");
	assert_int_equal(conn_count("192.0.2.2"), 1);
	conn_link_gone(W1);
	conn_link_gone(W2);
	assert_int_equal(conn_count(NULL), 0);
}

static void
test_total_limit(void **state)
{
	char	addr[32];
	int	i;

	for (i = 0; i < 5; i++) {
		snprintf(addr, sizeof(addr), "2001:db8::%d", i);
		assert_int_equal(conn_admit(i % 2 ? W1 : W2, addr, i == 0, 5,
		    50), LK_OK);
	}
	assert_int_equal(conn_admit(W1, "2001:db8::99", 1, 5, 50),
	    LK_CONN_TOTAL);
	assert_int_equal(conn_count(NULL), 5);
	conn_release(W2, "2001:db8::0");
	assert_int_equal(conn_admit(W1, "2001:db8::99", 0, 5, 50), LK_OK);
	conn_link_gone(W1);
	conn_link_gone(W2);
	assert_int_equal(conn_count(NULL), 0);
}

static void
test_worker_gone(void **state)
{
	assert_int_equal(conn_admit(W1, "192.0.2.1", 0, 100, 2), LK_OK);
	assert_int_equal(conn_admit(W2, "192.0.2.1", 0, 100, 2), LK_OK);
	assert_int_equal(conn_admit(W1, "192.0.2.3", 0, 100, 2), LK_OK);
	assert_int_equal(conn_admit(W1, "192.0.2.1", 0, 100, 2),
	    LK_CONN_CLIENT);
	/* W1's sessions go with it; W2's stay counted */
	conn_link_gone(W1);
	assert_int_equal(conn_count("192.0.2.1"), 1);
	assert_int_equal(conn_count("192.0.2.3"), 0);
	assert_int_equal(conn_count(NULL), 1);
	assert_int_equal(conn_admit(W2, "192.0.2.1", 0, 100, 2), LK_OK);
	assert_int_equal(conn_admit(W2, "192.0.2.1", 0, 100, 2),
	    LK_CONN_CLIENT);
	conn_link_gone(W2);
	assert_int_equal(conn_count(NULL), 0);
}

static void
test_bad_addresses(void **state)
{
	char	longaddr[CONN_ADDR_MAX + 2];

	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	assert_int_equal(conn_admit(W1, longaddr, 0, 100, 2), LK_CONN_TOTAL);
	conn_release(W1, longaddr);
	assert_int_equal(conn_count(NULL), 0);
	assert_int_equal(conn_admit(W1, "", 0, 100, 2), LK_OK);
	conn_release(W1, "");
	assert_int_equal(conn_count(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_client_limit_spans_workers),
		cmocka_unit_test(test_total_limit),
		cmocka_unit_test(test_worker_gone),
		cmocka_unit_test(test_bad_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
