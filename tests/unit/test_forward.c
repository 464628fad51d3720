/*
 * test_forward.c: ~/.forward (deliver/forward.c): the permission rule
 * (forward_check), the parser that shares the alias syntax (forward_parse)
 * and the reading of real files, links and FIFOs as a user (forward_read;
 * the parts that change user need root and are skipped without it).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../deliver/forward.h"

#define NOBODY	65534

static char	dir[64];
static char	list[FORWARD_LIST_MAX];
static char	why[FORWARD_WHY_MAX];

static int
check(mode_t mode, uid_t owner, off_t size, uid_t uid)
{
	struct stat	st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_uid = owner;
	st.st_size = size;
	why[0] = '\0';
	return forward_check(&st, uid, why, sizeof(why));
}

static void
test_check(void **state)
{
	(void)state;
	assert_int_equal(check(S_IFREG | 0644, 1000, 10, 1000), 0);
	assert_int_equal(check(S_IFREG | 0400, 1000, 0, 1000), 0);
	assert_int_equal(check(S_IFREG | 0644, 1001, 10, 1000), -1);
	assert_string_equal(why, "not owned by the user");
	assert_int_equal(check(S_IFREG | 0664, 1000, 10, 1000), -1);
	assert_string_equal(why, "writable by group or others");
	assert_int_equal(check(S_IFREG | 0602, 1000, 10, 1000), -1);
	assert_string_equal(why, "writable by group or others");
	assert_int_equal(check(S_IFDIR | 0755, 1000, 10, 1000), -1);
	assert_string_equal(why, "not a regular file");
	assert_int_equal(check(S_IFIFO | 0600, 1000, 0, 1000), -1);
	assert_int_equal(check(S_IFREG | 0600, 1000, FORWARD_FILE_MAX, 1000),
	    0);
	assert_int_equal(check(S_IFREG | 0600, 1000, FORWARD_FILE_MAX + 1,
	    1000), -1);
	assert_string_equal(why, "too large");
}

static int
parse(const char *text)
{
	list[0] = 'x';
	why[0] = '\0';
	return forward_parse(text, strlen(text), list, sizeof(list), why,
	    sizeof(why));
}

static void
test_parse_targets(void **state)
{
	(void)state;
	/* every kind, comments, CRLF, quotes keeping a comma */
	assert_int_equal(parse("# forward my mail\r\nbob, \\alice\r\n"
	    "  \"|/usr/bin/procmail -a one, two\"\n\n/home/alice/mbox\n"
	    "/home/alice/Maildir/ , x@remote.example"), 6);
	assert_string_equal(list, "bob, \"\\\\alice\", \"|/usr/bin/procmail "
	    "-a one, two\", /home/alice/mbox, /home/alice/Maildir/, "
	    "x@remote.example");
	/* nothing in it */
	assert_int_equal(parse(""), 0);
	assert_string_equal(list, "");
	assert_int_equal(parse("# only a comment\n\n   \n"), 0);
	/* shell characters in an address stay text in one target */
	assert_int_equal(parse("a;b$(id)`x`|y@example.org"), 1);
	assert_string_equal(list, "a;b$(id)`x`|y@example.org");
}

static void
test_parse_errors(void **state)
{
	char	small[16];

	(void)state;
	assert_int_equal(parse("bob\n:include:/etc/passwd\n"), -1);
	assert_string_equal(why, ":include: is not allowed in a .forward");
	assert_int_equal(parse("bob\nsome words here\n"), -1);
	assert_string_equal(why, ".forward:2: bad target \"some words "
	    "here\"");
	assert_int_equal(parse("bob, \"open\n"), -1);
	assert_string_equal(why, ".forward:1: unterminated quote");
	assert_int_equal(parse("bob\x01\n"), -1);
	assert_string_equal(why, ".forward:1: control character in target");
	assert_int_equal(forward_parse("bob\0x\n", 6, list, sizeof(list), why,
	    sizeof(why)), -1);
	assert_string_equal(why, ".forward:1: line too long or holding a NUL "
	    "byte");
	assert_int_equal(parse("|"), -1);
	assert_string_equal(why, ".forward:1: empty command");
	assert_int_equal(parse("\\"), -1);
	assert_int_equal(forward_parse("alice, bob, carol", 17, small,
	    sizeof(small), why, sizeof(why)), -1);
	assert_string_equal(why, "more than 15 bytes of targets");
}

static int
setup_dir(void **state)
{
	(void)state;
	strlcpy(dir, "/tmp/bwfwd.XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		return -1;
	return 0;
}

static int
teardown_dir(void **state)
{
	char	cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
put(const char *name, const char *text, mode_t mode)
{
	char	path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static enum forward_rc
rd(uid_t uid)
{
	why[0] = '\0';
	return forward_read(dir, uid, list, sizeof(list), why, sizeof(why));
}

static void
test_read(void **state)
{
	char	path[128], target[128];

	(void)state;
	assert_int_equal(rd(getuid()), FORWARD_NONE);
	put(".forward", "bob, /tmp/x\n", 0600);
	assert_int_equal(rd(getuid()), FORWARD_FOUND);
	assert_string_equal(list, "bob, /tmp/x");
	assert_int_equal(rd(getuid() + 1), FORWARD_IGNORED);
	assert_string_equal(why, "not owned by the user");
	put(".forward", "bob\n", 0620);
	assert_int_equal(rd(getuid()), FORWARD_IGNORED);
	assert_string_equal(why, "writable by group or others");
	put(".forward", "# nothing\n", 0600);
	assert_int_equal(rd(getuid()), FORWARD_NONE);
	put(".forward", "bad target\n", 0600);
	assert_int_equal(rd(getuid()), FORWARD_IGNORED);

	/* a link is followed (as the user: see test_read_as_user) */
	snprintf(path, sizeof(path), "%s/.forward", dir);
	snprintf(target, sizeof(target), "%s/real", dir);
	put("real", "carol\n", 0600);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(rd(getuid()), FORWARD_FOUND);
	assert_string_equal(list, "carol");
	/* one that goes nowhere is no .forward */
	assert_int_equal(unlink(target), 0);
	assert_int_equal(rd(getuid()), FORWARD_NONE);
	/* a FIFO does not hang the reader; a directory is no file */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(rd(getuid()), FORWARD_IGNORED);
	assert_string_equal(why, "not a regular file");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(rd(getuid()), FORWARD_IGNORED);
	assert_int_equal(rmdir(path), 0);
}

/* A link to a file only root may read gives the user nothing: the
 * reader runs as the user, never as root. */
static void
test_read_as_user(void **state)
{
	char	path[128], secret[128];
	pid_t	pid;
	int	status;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	put("secret", "stolen@example.org\n", 0600);
	snprintf(path, sizeof(path), "%s/.forward", dir);
	assert_int_equal(symlink(secret, path), 0);
	assert_int_equal(lchown(path, NOBODY, NOBODY), 0);
	if ((pid = fork()) == 0) {
		if (setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
		    setresuid(NOBODY, NOBODY, NOBODY) == -1)
			_exit(2);
		_exit(rd(NOBODY) == FORWARD_IGNORED &&
		    strstr(why, "Permission denied") != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WIFEXITED(status) && WEXITSTATUS(status) == 0, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_parse_targets),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test_setup_teardown(test_read, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_read_as_user, setup_dir,
		    teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
