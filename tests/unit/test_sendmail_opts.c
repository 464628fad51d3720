/*
 * test_sendmail_opts.c: unit tests of sendmail's command line
 * (cli/sm_opts.c): what scripts and mail clients pass, the no-ops
 * accepted, the modes, the names mailq and newaliases, operands taken
 * in order, and every refusal (EX_USAGE with a reason).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include <cmocka.h>

#include "proto.h"
#include "sendmail.h"

#define ARGV_MAX	16

static struct sm_opts	o;
static char		err[SM_ERR_MAX];

/* argv from a NULL-terminated list of words, after "sendmail" */
static int
run_as(const char *progname, ...)
{
	static char	*argv[ARGV_MAX + 1];
	va_list		 ap;
	int		 argc = 0;
	char		*w;

	argv[argc++] = (char *)progname;
	va_start(ap, progname);
	while ((w = va_arg(ap, char *)) != NULL && argc < ARGV_MAX)
		argv[argc++] = w;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return sm_opts_parse(argc, argv, progname, &o, err, sizeof(err));
}

#define run(...)	run_as("sendmail", __VA_ARGS__, (char *)NULL)

static void
test_send(void **state)
{
	assert_int_equal(run("-t", "-i"), 0);
	assert_int_equal(o.mode, SM_MODE_SEND);
	assert_true(o.extract && o.ignore_dots);
	assert_int_equal(o.nrcpts, 0);

	assert_int_equal(run("-oi", "-f", "me@example.org", "-F", "Me Too",
	    "you@example.org"), 0);
	assert_true(o.ignore_dots && !o.extract);
	assert_string_equal(o.sender, "me@example.org");
	assert_string_equal(o.fullname, "Me Too");
	assert_int_equal(o.nrcpts, 1);
	assert_string_equal(o.rcpts[0], "you@example.org");

	assert_int_equal(run("-fme@example.org", "-C/tmp/x.conf", "a", "b"),
	    0);
	assert_string_equal(o.sender, "me@example.org");
	assert_string_equal(o.conf, "/tmp/x.conf");
	assert_int_equal(o.nrcpts, 2);
	assert_int_equal(run("-r", "<>", "a"), 0);
	assert_string_equal(o.sender, "<>");
	assert_false(o.ignore_dots);
}

static void
test_no_ops(void **state)
{
	assert_int_equal(run("-odi", "-odb", "-odq", "-oem", "-oee", "-om",
	    "-v", "-B", "8BITMIME", "-U", "-h", "5", "-n", "-oQ/x", "a"), 0);
	assert_true(o.verbose);
	assert_false(o.ignore_dots);
	assert_int_equal(o.nrcpts, 1);
	assert_int_equal(run("-bm", "-B7bit", "-L", "tag", "-x", "a"), 0);
	assert_int_equal(o.mode, SM_MODE_SEND);
}

static void
test_dsn(void **state)
{
	assert_int_equal(run("-N", "success,delay", "-R", "hdrs", "-V",
	    "env+1", "a"), 0);
	assert_int_equal(o.notify, QM_NOTIFY_SUCCESS | QM_NOTIFY_DELAY);
	assert_int_equal(o.ret, QM_RET_HDRS);
	assert_string_equal(o.envid, "env+1");
	assert_int_equal(run("-Nnever", "-Rfull", "a"), 0);
	assert_int_equal(o.notify, QM_NOTIFY_NEVER);
	assert_int_equal(o.ret, QM_RET_FULL);
	assert_int_equal(run("-N", "success,success", "a"), EX_USAGE);
	assert_int_equal(run("-N", "never,success", "a"), EX_USAGE);
	assert_int_equal(run("-N", "sometimes", "a"), EX_USAGE);
	assert_int_equal(run("-R", "body", "a"), EX_USAGE);
	assert_int_equal(run("-V", "has space", "a"), EX_USAGE);
	assert_int_equal(run("-B", "binarymime", "a"), EX_USAGE);
}

static void
test_modes(void **state)
{
	assert_int_equal(run("-bs"), 0);
	assert_int_equal(o.mode, SM_MODE_SMTP);
	assert_int_equal(run("-bp"), 0);
	assert_int_equal(o.mode, SM_MODE_MAILQ);
	assert_int_equal(run("-bi"), 0);
	assert_int_equal(o.mode, SM_MODE_NEWALIASES);
	assert_int_equal(run("-q"), 0);
	assert_int_equal(o.mode, SM_MODE_FLUSH);
	assert_int_equal(run("-q30m"), 0);
	assert_int_equal(o.mode, SM_MODE_NOTHING);
	assert_int_equal(run("-qIABC"), 0);
	assert_int_equal(o.mode, SM_MODE_FLUSH);
	assert_int_equal(run("-bd"), EX_USAGE);
	assert_int_equal(run("-bv", "a"), EX_USAGE);
	assert_int_equal(run("-bp", "a"), EX_USAGE);
}

static void
test_names(void **state)
{
	assert_int_equal(run_as("mailq", (char *)NULL), 0);
	assert_int_equal(o.mode, SM_MODE_MAILQ);
	assert_int_equal(run_as("mailq", "-C", "/x.conf", "-v",
	    (char *)NULL), 0);
	assert_string_equal(o.conf, "/x.conf");
	assert_int_equal(run_as("mailq", "extra", (char *)NULL), EX_USAGE);
	assert_int_equal(run_as("newaliases", (char *)NULL), 0);
	assert_int_equal(o.mode, SM_MODE_NEWALIASES);
}

static void
test_operands(void **state)
{
	/* no permutation: what follows the first operand is operands */
	assert_int_equal(run("a@example.org", "-t"), 0);
	assert_false(o.extract);
	assert_int_equal(o.nrcpts, 2);
	assert_string_equal(o.rcpts[1], "-t");
	assert_int_equal(run("-i", "--", "-odd@example.org"), 0);
	assert_int_equal(o.nrcpts, 1);
	assert_string_equal(o.rcpts[0], "-odd@example.org");
	assert_int_equal(run("-t", "extra@example.org"), 0);
	assert_int_equal(o.nrcpts, 1);
}

static void
test_refused(void **state)
{
	assert_int_equal(run("-i"), EX_USAGE);
	assert_non_null(strstr(err, "no recipients"));
	assert_int_equal(run("-Z", "a"), EX_USAGE);
	assert_non_null(strstr(err, "-Z"));
	assert_int_equal(run("a", "-f"), 0);	/* an operand there */
	assert_int_equal(run("-f"), EX_USAGE);
	assert_non_null(strstr(err, "-f"));
	assert_int_equal(run("-F"), EX_USAGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_no_ops),
		cmocka_unit_test(test_dsn),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_operands),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
