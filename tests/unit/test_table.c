/*
 * test_table.c: unit tests of the tables (lookup/table.c, table_db.c)
 * and of compiling a source into one (cli/compile.c), in a temporary
 * directory: build and read back hash and btree, keys that are folded to
 * lower case, a missing or corrupt table (an error, never "not found"),
 * reopening a changed file, and a source with errors replacing nothing.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <db.h>

#include "compile.h"
#include "table.h"

static char	dir[256];
static char	spec[PATH_MAX + 16];
static char	val[TABLE_VALUE_MAX];

static int
setup(void **state)
{
	strlcpy(dir, "/tmp/bulwark-test-table.XXXXXX", sizeof(dir));
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* spec = type:dir/name; returns it */
static const char *
mkspec(const char *type, const char *name)
{
	snprintf(spec, sizeof(spec), "%s:%s/%s", type, dir, name);
	return spec;
}

static void
build(const char *s, const char *const *kv)
{
	struct table_build	*b;
	char			 err[TABLE_ERR_MAX];

	b = table_build_begin(s, err, sizeof(err));
	if (b == NULL)
		fail_msg("%s", err);
	for (; kv[0] != NULL; kv += 2)
		assert_int_equal(table_build_put(b, kv[0], kv[1], err,
		    sizeof(err)), 0);
	if (table_build_commit(b, err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

/* The files in dir, but for the named ones: none is left behind. */
static int
count_files(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
roundtrip(const char *type)
{
	static const char *const kv[] = {
		"Alice", "alice, bob", "postmaster", "root",
		"user@Virt.Example", "/var/mail/vhosts/virt/user/",
		NULL, NULL,
	};
	struct table	*t;
	struct stat	 st;
	char		 err[TABLE_ERR_MAX], file[PATH_MAX];
	uid_t		 owner;
	mode_t		 mode;

	build(mkspec(type, "t"), kv);
	assert_int_equal(count_files(), 0);
	assert_int_equal(table_file(spec, file, sizeof(file)), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_non_null(t = table_open(spec, err, sizeof(err)));
	assert_true(table_is_open(t));
	assert_int_equal(table_get(t, "alice", val, sizeof(val)), TABLE_FOUND);
	assert_string_equal(val, "alice, bob");
	assert_int_equal(table_get(t, "ALICE", val, sizeof(val)), TABLE_FOUND);
	assert_int_equal(table_get(t, "user@virt.example", val, sizeof(val)),
	    TABLE_FOUND);
	assert_string_equal(val, "/var/mail/vhosts/virt/user/");
	assert_int_equal(table_get(t, "bob", val, sizeof(val)),
	    TABLE_NOTFOUND);
	assert_string_equal(val, "");
	assert_int_equal(table_get(t, "", val, sizeof(val)), TABLE_NOTFOUND);
	/* a value too long for the caller's buffer is an error */
	assert_int_equal(table_get(t, "alice", val, 5), TABLE_ERROR);
	assert_int_equal(table_owner(t, &owner, &mode), 0);
	assert_int_equal(owner, getuid());
	assert_int_equal(mode & 07777, 0644);
	assert_int_equal(table_refresh(t), 0);
	table_close(t);
}

static void
test_hash(void **state)
{
	roundtrip("hash");
}

static void
test_btree(void **state)
{
	roundtrip("btree");
}

static void
test_bad_specs(void **state)
{
	char	err[TABLE_ERR_MAX], file[PATH_MAX];

	(void)state;
	assert_null(table_open("dbm:/etc/aliases", err, sizeof(err)));
	assert_string_equal(err, "bad table \"dbm:/etc/aliases\" (expected "
	    "hash:/path or btree:/path)");
	assert_null(table_open("hash:relative", err, sizeof(err)));
	assert_null(table_open("/etc/aliases", err, sizeof(err)));
	assert_null(table_build_begin("cdb:/x", err, sizeof(err)));
	assert_int_equal(table_file("btree:/etc/bulwark/aliases", file,
	    sizeof(file)), 0);
	assert_string_equal(file, "/etc/bulwark/aliases.db");
}

static void
test_duplicates(void **state)
{
	struct table_build	*b;
	struct table		*t;
	char			 err[TABLE_ERR_MAX];

	(void)state;
	assert_non_null(b = table_build_begin(mkspec("hash", "dup"), err,
	    sizeof(err)));
	assert_int_equal(table_build_put(b, "Key", "one", err, sizeof(err)),
	    0);
	assert_int_equal(table_build_put(b, "KEY", "two", err, sizeof(err)),
	    1);
	assert_int_equal(table_build_put(b, "", "x", err, sizeof(err)), -1);
	assert_int_equal(table_build_commit(b, err, sizeof(err)), 0);
	assert_non_null(t = table_open(spec, err, sizeof(err)));
	assert_int_equal(table_get(t, "key", val, sizeof(val)), TABLE_FOUND);
	assert_string_equal(val, "one");
	table_close(t);
}

/* Missing, then corrupt, then the wrong type: errors, not "not found";
 * a good file put in place is found by table_refresh. */
static void
test_broken(void **state)
{
	static const char *const kv[] = { "a", "b", NULL, NULL };
	struct table	*t;
	char		 err[TABLE_ERR_MAX], file[PATH_MAX];
	FILE		*f;

	(void)state;
	assert_non_null(t = table_open(mkspec("hash", "broken"), err,
	    sizeof(err)));
	assert_false(table_is_open(t));
	assert_int_equal(table_attempted(t), 1);
	assert_int_equal(table_attempted(t), 0);
	assert_non_null(strstr(table_error(t), "broken.db"));
	assert_int_equal(table_get(t, "a", val, sizeof(val)), TABLE_ERROR);
	assert_int_equal(table_refresh(t), -1);

	assert_int_equal(table_file(spec, file, sizeof(file)), 0);
	assert_non_null(f = fopen(file, "w"));
	assert_true(fputs("this is no Berkeley DB file\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(table_refresh(t), -1);
	assert_int_equal(table_get(t, "a", val, sizeof(val)), TABLE_ERROR);

	build(mkspec("btree", "broken"), kv);	/* same file, other type */
	assert_int_equal(table_refresh(t), -1);
	build(mkspec("hash", "broken"), kv);
	assert_int_equal(table_refresh(t), 1);
	assert_true(table_is_open(t));
	assert_int_equal(table_get(t, "a", val, sizeof(val)), TABLE_FOUND);
	table_close(t);
}

/* A rebuilt table is seen after table_refresh, not before. */
static void
test_reopen(void **state)
{
	static const char *const one[] = { "k", "old", NULL, NULL };
	static const char *const two[] = { "k", "new", "k2", "v", NULL, NULL };
	struct table	*t;
	char		 err[TABLE_ERR_MAX];

	(void)state;
	build(mkspec("hash", "re"), one);
	assert_non_null(t = table_open(spec, err, sizeof(err)));
	(void)table_attempted(t);
	build(spec, two);
	assert_int_equal(table_get(t, "k", val, sizeof(val)), TABLE_FOUND);
	assert_string_equal(val, "old");
	assert_int_equal(table_refresh(t), 1);
	assert_int_equal(table_attempted(t), 1);
	assert_int_equal(table_get(t, "k", val, sizeof(val)), TABLE_FOUND);
	assert_string_equal(val, "new");
	assert_int_equal(table_get(t, "k2", val, sizeof(val)), TABLE_FOUND);
	assert_int_equal(table_refresh(t), 0);
	table_close(t);
}

/* Keys and values written with a trailing NUL (makemap, postalias). */
static void
test_nul_compat(void **state)
{
	struct table	*t;
	DB		*db;
	DBT		 k, v;
	char		 err[TABLE_ERR_MAX], file[PATH_MAX];

	(void)state;
	assert_int_equal(table_file(mkspec("hash", "nul"), file,
	    sizeof(file)), 0);
	assert_int_equal(db_create(&db, NULL, 0), 0);
	assert_int_equal(db->open(db, NULL, file, NULL, DB_HASH, DB_CREATE,
	    0644), 0);
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = "root";
	k.size = 5;
	v.data = "alice";
	v.size = 6;
	assert_int_equal(db->put(db, NULL, &k, &v, 0), 0);
	k.data = "bad";
	k.size = 3;
	v.data = "a\0b";
	v.size = 3;
	assert_int_equal(db->put(db, NULL, &k, &v, 0), 0);
	assert_int_equal(db->close(db, 0), 0);
	assert_non_null(t = table_open(spec, err, sizeof(err)));
	assert_int_equal(table_get(t, "Root", val, sizeof(val)), TABLE_FOUND);
	assert_string_equal(val, "alice");
	/* a NUL inside a value: an error */
	assert_int_equal(table_get(t, "bad", val, sizeof(val)), TABLE_ERROR);
	table_close(t);
}

/* A source compiled: errors with file:line, and then nothing changes. */
static void
test_compile(void **state)
{
	struct table	*t;
	char		 src[PATH_MAX], err[TABLE_ERR_MAX], out[4096];
	FILE		*f, *errs;
	size_t		 n;

	(void)state;
	snprintf(src, sizeof(src), "%s/aliases", dir);
	assert_non_null(f = fopen(src, "w"));
	fputs("# test\nPostmaster: root\nteam: alice,\n  bob\n", f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(errs = tmpfile());
	assert_int_equal(compile_table(mkspec("hash", "aliases"), src,
	    SOURCE_ALIASES, errs, 0), 0);
	assert_non_null(t = table_open(spec, err, sizeof(err)));
	assert_int_equal(table_get(t, "team", val, sizeof(val)), TABLE_FOUND);
	assert_string_equal(val, "alice, bob");

	assert_non_null(f = fopen(src, "w"));
	fputs("team: carol\nbad line\npostmaster: root\nteam: x\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(compile_table(spec, src, SOURCE_ALIASES, errs, 0),
	    -1);
	rewind(errs);
	n = fread(out, 1, sizeof(out) - 1, errs);
	out[n] = '\0';
	fclose(errs);
	assert_non_null(strstr(out, "/aliases:2: expected \"name: target, "
	    "...\"\n"));
	assert_non_null(strstr(out, "/aliases:4: \"team\" is already defined "
	    "above\n"));
	assert_non_null(strstr(out, "2 errors; "));
	assert_int_equal(count_files(), 0);
	assert_int_equal(table_refresh(t), 0);	/* the old file stays */
	assert_int_equal(table_get(t, "team", val, sizeof(val)), TABLE_FOUND);
	assert_string_equal(val, "alice, bob");
	table_close(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_btree),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_nul_compat),
		cmocka_unit_test(test_compile),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
