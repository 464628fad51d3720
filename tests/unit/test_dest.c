/*
 * test_dest.c: unit tests of qmgr's destinations (qmgr/dest.c): which
 * recipients share one (a local user whatever the +detail, case or
 * local domain; an address of a virtual domain; a remote domain), and
 * the count of deliveries in flight against destination-concurrency-limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "daemon.h"
#include "../../qmgr/qmgr.h"

static struct config *
conf(const char *text)
{
	static char	 err[256];
	struct config	*cf;

	cf = config_parse(text, strlen(text), "test.conf", err, sizeof(err));
	if (cf == NULL)
		fail_msg("%s", err);
	return cf;
}

static void
key_is(const struct config *cf, const char *rcpt, const char *want)
{
	char	key[QM_ADDR_MAX + 16];

	assert_int_equal(dest_key(cf, rcpt, key, sizeof(key)), 0);
	assert_string_equal(key, want);
}

static void
test_key(void **state)
{
	struct config	*cf;
	char		 small[8];

	cf = conf("hostname mx.example.org\nlocal-domains example.org "
	    "localhost\nvirtual-domains virt.example\n");
	key_is(cf, "alice@example.org", "user:alice");
	key_is(cf, "Alice+list@EXAMPLE.org", "user:alice");
	key_is(cf, "alice@localhost", "user:alice");
	key_is(cf, "alice", "user:alice");
	key_is(cf, "bob@virt.example", "addr:bob@virt.example");
	key_is(cf, "Bob+x@Virt.Example", "addr:bob@virt.example");
	key_is(cf, "carol@Remote.Example", "domain:remote.example");
	key_is(cf, "dave@remote.example", "domain:remote.example");
	key_is(cf, "\"a@b\"@example.org", "user:\"a@b\"");
	assert_int_equal(dest_key(cf, "alice@example.org", small,
	    sizeof(small)), -1);
	config_free(cf);

	/* without a delimiter, +detail is part of the name */
	cf = conf("hostname mx.example.org\nlocal-domains example.org\n"
	    "recipient-delimiter none\n");
	key_is(cf, "alice+list@example.org", "user:alice+list");
	config_free(cf);
}

static void
test_limit(void **state)
{
	struct dest	*a, *a2, *b;

	daemon_cfg = conf("hostname mx.example.org\nlocal-domains "
	    "example.org\ndestination-concurrency-limit 2\n");
	assert_int_equal(dest_limit(), 2);
	assert_non_null(a = dest_find("alice@example.org"));
	assert_non_null(a2 = dest_find("alice+x@example.org"));
	assert_ptr_equal(a, a2);
	assert_non_null(b = dest_find("bob@example.org"));
	assert_ptr_not_equal(a, b);
	assert_int_equal(dest_count(), 2);
	assert_string_equal(dest_name(a), "user:alice");

	dest_started(a);
	assert_int_equal(dest_free_slots(a), 1);
	dest_started(a);
	assert_int_equal(dest_free_slots(a), 0);
	assert_int_equal(dest_free_slots(b), 2);
	dest_release(a);		/* in use: stays */
	dest_release(b);		/* idle: goes */
	assert_int_equal(dest_count(), 1);
	assert_ptr_equal(dest_find("ALICE@example.org"), a);
	assert_int_equal(dest_inflight(a), 2);
	dest_ended(a);
	dest_ended(a);
	assert_int_equal(dest_free_slots(a), 2);
	dest_release(a);
	assert_int_equal(dest_count(), 0);
	config_free(daemon_cfg);
	daemon_cfg = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
