/*
 * test_aliases.c: unit tests of aliases without any file or table: the
 * target syntax (lookup/alias.c), the source parser with its file:line
 * messages (lookup/source.c), and expansion (lookup/expand.c) over
 * tables, users and :include: files played by this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alias.h"
#include "expand.h"
#include "source.h"

/*
 * The source parser: entries and errors collected as text.
 */

static char	got[8192];

static int
collect_entry(void *arg, const char *key, const char *value, int line)
{
	char	buf[2048];

	snprintf(buf, sizeof(buf), "%d:%s=%s\n", line, key, value);
	strlcat(got, buf, sizeof(got));
	return 0;
}

static void
collect_error(void *arg, const char *msg)
{
	strlcat(got, "E ", sizeof(got));
	strlcat(got, msg, sizeof(got));
	strlcat(got, "\n", sizeof(got));
}

/* Parses text; returns the number of problems, entries and errors in
 * got. */
static int
parse(enum source_syntax syn, const char *text)
{
	got[0] = '\0';
	return source_parse(syn, "t", text, strlen(text), collect_entry,
	    collect_error, NULL);
}

static void
test_parse_basic(void **state)
{
	(void)state;
	assert_int_equal(parse(SOURCE_ALIASES, "postmaster: root\n"
	    "Root:alice\n\n  \nteam : alice,bob , carol@example.org\n"), 0);
	assert_string_equal(got, "1:postmaster=root\n2:Root=alice\n"
	    "5:team=alice, bob, carol@example.org\n");
	/* no newline at the end, CRLF */
	assert_int_equal(parse(SOURCE_ALIASES, "a: b\r\nc: d"), 0);
	assert_string_equal(got, "1:a=b\n2:c=d\n");
}

static void
test_parse_continuation(void **state)
{
	(void)state;
	assert_int_equal(parse(SOURCE_ALIASES, "team: alice,\n  bob,\n"
	    "# a comment between\n\tcarol\n\nnext: x\n"), 0);
	assert_string_equal(got, "1:team=alice, bob, carol\n6:next=x\n");
	/* a target may start on the next line */
	assert_int_equal(parse(SOURCE_ALIASES, "a:\n b\n"), 0);
	assert_string_equal(got, "1:a=b\n");
	/* a continuation without its comma joins two words */
	assert_int_equal(parse(SOURCE_ALIASES, "x: a\n b\n"), 1);
	assert_string_equal(got, "E t:1: alias \"x\": bad target \"a b\"\n");
	assert_int_equal(parse(SOURCE_ALIASES, "  a: b\nc: d\n"), 1);
	assert_string_equal(got, "E t:1: continuation line without an entry "
	    "above it\n2:c=d\n");
}

static void
test_parse_comments(void **state)
{
	(void)state;
	assert_int_equal(parse(SOURCE_ALIASES, "# aliases\n   # indented\n"
	    "a: b\n#c: d\n"), 0);
	assert_string_equal(got, "3:a=b\n");
	/* '#' only starts a comment at the start of a line */
	assert_int_equal(parse(SOURCE_ALIASES, "a: b # c\n"), 1);
	assert_string_equal(got, "E t:1: alias \"a\": bad target \"b # c\"\n");
}

static void
test_parse_quotes(void **state)
{
	(void)state;
	assert_int_equal(parse(SOURCE_ALIASES, "cmd: \"|/bin/echo a, b\", x,"
	    " \"/var/spool/with space\", |/bin/logger -t \"p, q\"\n"), 0);
	assert_string_equal(got, "1:cmd=\"|/bin/echo a, b\", x, "
	    "/var/spool/with space, \"|/bin/logger -t \\\"p, q\\\"\"\n");
	assert_int_equal(parse(SOURCE_ALIASES, "q: \"a \\\"b\\\" \\\\c\"\n"),
	    1);
	assert_int_equal(parse(SOURCE_ALIASES, "q: \"|echo \\\"b\\\" \\\\c"
	    "\"\n"), 0);
	assert_string_equal(got, "1:q=\"|echo \\\"b\\\" \\\\c\"\n");
	assert_int_equal(parse(SOURCE_ALIASES, "\"Quoted\": x\n"), 0);
	assert_string_equal(got, "1:Quoted=x\n");
	assert_int_equal(parse(SOURCE_ALIASES, "bad: \"open\n"), 1);
	assert_string_equal(got, "E t:1: alias \"bad\": unterminated quote\n");
}

static void
test_parse_kinds(void **state)
{
	(void)state;
	assert_int_equal(parse(SOURCE_ALIASES, "l: :include:/etc/lists/x,"
	    " :INCLUDE: /etc/y, /var/log/archive, /srv/maildir/, |cat, "
	    "a@b.example, a@[192.0.2.1]\n"), 0);
	assert_string_equal(got, "1:l=:include:/etc/lists/x, :include:/etc/y"
	    ", /var/log/archive, /srv/maildir/, |cat, a@b.example, "
	    "a@[192.0.2.1]\n");
}

static void
test_parse_errors(void **state)
{
	(void)state;
	assert_int_equal(parse(SOURCE_ALIASES, "ok: x\nno colon\n"
	    "bad name: x\nempty:\nempty2: , ,\nrel: :include:lists\n"
	    "cmd: |  \nat: a@\nat2: @b\nfine: y\nctl: a\x01\n"
	    "/abs: x\nlong: a\n"), 10);
	assert_string_equal(got,
	    "1:ok=x\n"
	    "E t:2: expected \"name: target, ...\"\n"
	    "E t:3: bad alias name \"bad name\"\n"
	    "E t:4: alias \"empty\" has no target\n"
	    "E t:5: alias \"empty2\" has no target\n"
	    "E t:6: alias \"rel\": :include: needs an absolute path\n"
	    "E t:7: alias \"cmd\": empty command\n"
	    "E t:8: alias \"at\": bad address \"a@\"\n"
	    "E t:9: alias \"at2\": bad address \"@b\"\n"
	    "10:fine=y\n"
	    "E t:11: control character 0x01 in line\n"
	    "E t:12: bad alias name \"/abs\"\n"
	    "13:long=a\n");
}

static void
test_parse_map(void **state)
{
	(void)state;
	assert_int_equal(parse(SOURCE_MAP, "# virtual\nalice@v.example  "
	    "alice\n@v.example\tcatch@example.org\nlist@v.example a,\n"
	    "  b\nkeyonly\n"), 1);
	assert_string_equal(got, "2:alice@v.example=alice\n"
	    "3:@v.example=catch@example.org\n4:list@v.example=a, b\n"
	    "E t:6: no value for \"keyonly\"\n");
}

/* What alias_split gives back, as "kind:target;" */
static int
collect_target(void *arg, enum alias_kind kind, const char *target)
{
	char	buf[ALIAS_TARGET_MAX + 8];

	snprintf(buf, sizeof(buf), "%d:%s;", (int)kind, target);
	strlcat(got, buf, sizeof(got));
	return 0;
}

static void
test_split_roundtrip(void **state)
{
	static const char *const targets[] = {
		"alice", "|/bin/sh -c \"x, y\"", "/path/with,comma",
		"\"leading quote", "back\\slash", " spaced ", "a@b.example",
	};
	char	list[1024] = "", err[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		assert_int_equal(alias_append(list, sizeof(list),
		    targets[i]), 0);
	got[0] = '\0';
	/* " spaced " and "\"leading quote" are bad names: the split stops */
	assert_int_equal(alias_split(list, collect_target, NULL, err,
	    sizeof(err)), -1);
	assert_string_equal(got, "0:alice;3:|/bin/sh -c \"x, y\";"
	    "2:/path/with,comma;");
	got[0] = '\0';
	list[0] = '\0';
	assert_int_equal(alias_append(list, 8, "abcdefgh"), -1);
	list[0] = '\0';
	assert_int_equal(alias_append(list, 12, "|a,b"), 0);
	assert_string_equal(list, "\"|a,b\"");
	assert_int_equal(alias_split(list, collect_target, NULL, err,
	    sizeof(err)), 0);
	assert_string_equal(got, "3:|a,b;");
	assert_int_equal(alias_name_ok("owner-list"), 1);
	assert_int_equal(alias_name_ok("a.b+c"), 1);
	assert_int_equal(alias_name_ok(".dot"), 0);
	assert_int_equal(alias_name_ok("a b"), 0);
	assert_int_equal(alias_name_ok("a@b"), 0);
	assert_int_equal(alias_name_ok(""), 0);
}

static void
test_include_parse(void **state)
{
	const char	*text = "# members\nalice, bob\n\n  carol\r\n"
			    "|/bin/true\n";
	char		 err[256];

	(void)state;
	got[0] = '\0';
	assert_int_equal(source_include("/inc", text, strlen(text),
	    collect_target, NULL, err, sizeof(err)), 0);
	assert_string_equal(got, "0:alice;0:bob;0:carol;3:|/bin/true;");
	text = "alice\nbad name\n";
	assert_int_equal(source_include("/inc", text, strlen(text),
	    collect_target, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "/inc:2: bad target \"bad name\"");
}

/*
 * Expansion over tables played by the test.
 */

struct kv {
	const char	*key;
	const char	*val;
};

static const struct kv	*aliases, *virtuals;
static int		 alias_error;
static uint32_t		 alias_owner = 0;

static int
mock_get(const struct kv *t, const char *key, char *val, size_t len)
{
	for (; t != NULL && t->key != NULL; t++)
		if (strcmp(t->key, key) == 0) {
			if (strlcpy(val, t->val, len) >= len)
				return TABLE_ERROR;
			return TABLE_FOUND;
		}
	return TABLE_NOTFOUND;
}

static int
mock_alias(void *arg, const char *key, char *val, size_t len)
{
	return alias_error ? TABLE_ERROR : mock_get(aliases, key, val, len);
}

static int
mock_alias_owner(void *arg, uint32_t *uid)
{
	*uid = alias_owner;
	return alias_owner == 666 ? -1 : 0;	/* 666: others may write */
}

static int
mock_virtual(void *arg, const char *key, char *val, size_t len)
{
	return mock_get(virtuals, key, val, len);
}

static const struct {
	const char	*name;
	uint32_t	 uid;
} users[] = {
	{ "root", 0 }, { "alice", 1000 }, { "bob", 1001 }, { "carol", 1002 },
	{ "vmail", 5000 }, { "nobody", 65534 }, { "listadm", 1003 },
};

static void
mock_fill(struct expand_user *u, const char *name, uint32_t uid)
{
	u->uid = uid;
	u->gid = uid + 100000;
	strlcpy(u->name, name, sizeof(u->name));
	snprintf(u->home, sizeof(u->home), "/home/%s", name);
}

/* The users above, and u0 .. u9999 (uid 20000 + n). */
static int
mock_user(void *arg, const char *name, struct expand_user *u)
{
	size_t	i;

	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (strcmp(users[i].name, name) == 0) {
			mock_fill(u, name, users[i].uid);
			return 1;
		}
	if (name[0] == 'u' && strlen(name) > 1 &&
	    strspn(name + 1, "0123456789") == strlen(name + 1)) {
		mock_fill(u, name, 20000 + (uint32_t)atoi(name + 1));
		return 1;
	}
	return strcmp(name, "broken") == 0 ? -1 : 0;
}

static int
mock_user_by_uid(void *arg, uint32_t uid, struct expand_user *u)
{
	size_t	i;

	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (users[i].uid == uid) {
			mock_fill(u, users[i].name, uid);
			return 1;
		}
	return 0;
}

static int
mock_include(void *arg, const char *path, char **text, size_t *len,
    uint32_t *owner, char *err, size_t errlen)
{
	const char	*t = NULL;

	if (strcmp(path, "/lists/staff") == 0)
		t = "# staff\nalice, |/usr/bin/archive\n/var/log/staff\n";
	else if (strcmp(path, "/lists/self") == 0)
		t = "bob\n:include:/lists/self\n";
	else if (strcmp(path, "/lists/owner") == 0)
		t = "owner\n";
	if (t == NULL) {
		snprintf(err, errlen, "%s: No such file or directory", path);
		return -1;
	}
	*text = strdup(t);
	*len = strlen(t);
	*owner = 1003;
	return *text == NULL ? -1 : 0;
}

static enum expand_domain
mock_domain(void *arg, const char *domain)
{
	if (strcmp(domain, "example.org") == 0)
		return EXPAND_LOCAL;
	if (strcmp(domain, "virt.example") == 0)
		return EXPAND_VIRTUAL;
	return EXPAND_REMOTE;
}

static struct expand_ops	ops = {
	.alias = mock_alias,
	.alias_owner = mock_alias_owner,
	.virtual = mock_virtual,
	.user = mock_user,
	.user_by_uid = mock_user_by_uid,
	.include = mock_include,
	.domain = mock_domain,
};

static struct expand	e;

static const char	*dests_text(void);

/* Expands the .forward list of user (uid); the destinations as below. */
static const char *
expand_fwd(const char *user, uint32_t uid, const char *list)
{
	expand_clear(&e);
	expand_init(&e, &ops, NULL);
	expand_forward(&e, user, uid, list);
	return dests_text();
}

/* Expands address; the destinations as "kind:user:uid:detail:arg;" */
static const char *
expand(const char *address)
{
	expand_clear(&e);
	expand_init(&e, &ops, NULL);
	e.virtual_user = "vmail";
	expand_address(&e, address);
	return dests_text();
}

static const char *
dests_text(void)
{
	static const char *const kinds[] = { "user", "file", "pipe",
					     "maildir", "forward", "nouser",
					     "inbox" };
	char			 buf[2048];
	size_t			 i;

	got[0] = '\0';
	for (i = 0; i < e.ndests; i++) {
		snprintf(buf, sizeof(buf), "%s:%s:%u:%s:%s;",
		    kinds[e.dests[i].kind], e.dests[i].user.name,
		    e.dests[i].user.uid, e.dests[i].detail, e.dests[i].arg);
		strlcat(got, buf, sizeof(got));
	}
	return got;
}

static void
test_expand_users(void **state)
{
	(void)state;
	aliases = NULL;
	assert_string_equal(expand("alice@example.org"),
	    "user:alice:1000::;");
	assert_int_equal(e.status, LK_OK);
	assert_string_equal(expand("Alice+Work@example.org"),
	    "user:alice:1000:work:;");
	assert_string_equal(expand("bob"), "user:bob:1001::;");
	assert_string_equal(expand("ghost@example.org"), "");
	assert_int_equal(e.status, LK_NOUSER);
	assert_string_equal(e.dsn, "5.1.1");
	/* postmaster without alias or user: root, whom delivery refuses */
	assert_string_equal(expand("postmaster@example.org"),
	    "user:root:0::;");
	assert_string_equal(expand("someone@remote.example"),
	    "forward::0::someone@remote.example;");
	assert_string_equal(expand("broken@example.org"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	assert_string_equal(e.dsn, "4.3.0");
	expand_clear(&e);
}

static void
test_expand_nested(void **state)
{
	static const struct kv	t[] = {
		{ "all", "team, carol, alice@example.org" },
		{ "team", "alice, bob" },
		{ "list", "alice, ghost" },
		{ "alice", "alice, bob" },
		{ "fwd", "someone@remote.example, bob" },
		{ "root", "alice" },
		{ NULL, NULL },
	};

	(void)state;
	aliases = t;
	/* alice is an alias of herself and bob: alice directly, bob once */
	assert_string_equal(expand("all@example.org"), "user:alice:1000::;"
	    "user:bob:1001::;user:carol:1002::;");
	assert_string_equal(expand("alice@example.org"),
	    "user:alice:1000::;user:bob:1001::;");
	/* the detail goes with every user of the alias found without it */
	assert_string_equal(expand("alice+x@example.org"),
	    "user:alice:1000:x:;user:bob:1001:x:;");
	assert_string_equal(expand("list"), "user:alice:1000::;"
	    "user:bob:1001::;nouser::0::ghost;");
	assert_int_equal(e.status, LK_OK);
	assert_string_equal(expand("fwd"), "forward::0::someone@remote."
	    "example;user:bob:1001::;");
	assert_string_equal(expand("postmaster"), "user:alice:1000::;"
	    "user:bob:1001::;");
	expand_clear(&e);
}

static void
test_expand_loop(void **state)
{
	static const struct kv	t[] = {
		{ "a", "b" },
		{ "b", "c, alice" },
		{ "c", "a" },
		{ "d", "d@example.org, x" },	/* a user of that name? no */
		{ "x", ":include:/lists/self" },
		{ NULL, NULL },
	};

	(void)state;
	aliases = t;
	assert_string_equal(expand("a@example.org"), "");
	assert_int_equal(e.status, LK_PERMFAIL);
	assert_string_equal(e.dsn, "5.4.6");
	assert_string_equal(e.text, "alias loop: a -> b -> c -> a");
	/* self-reference to a name that is no one, then an include loop */
	assert_string_equal(expand("d"), "");
	assert_int_equal(e.status, LK_PERMFAIL);
	assert_string_equal(e.text, "alias loop: d -> x -> /lists/self -> "
	    "/lists/self");
	expand_clear(&e);
}

static void
test_expand_depth(void **state)
{
	static struct kv	t[EXPAND_MAX_DEPTH + 3];
	static char		keys[EXPAND_MAX_DEPTH + 2][8];
	static char		vals[EXPAND_MAX_DEPTH + 2][8];
	int			i;

	(void)state;
	for (i = 0; i <= EXPAND_MAX_DEPTH; i++) {
		snprintf(keys[i], sizeof(keys[i]), "l%d", i);
		snprintf(vals[i], sizeof(vals[i]), "l%d", i + 1);
		t[i].key = keys[i];
		t[i].val = vals[i];
	}
	t[EXPAND_MAX_DEPTH].val = "alice";
	aliases = t;
	/* l1 .. l20: twenty levels are allowed */
	assert_string_equal(expand("l1"), "user:alice:1000::;");
	assert_string_equal(expand("l0"), "");
	assert_int_equal(e.status, LK_PERMFAIL);
	assert_string_equal(e.dsn, "5.4.6");
	assert_true(strncmp(e.text, "aliases nested more than 20 deep",
	    32) == 0);
	expand_clear(&e);
}

static void
test_expand_limit(void **state)
{
	static struct kv	t[2];
	static char		val[EXPAND_MAX_DESTS * 8];
	char			name[16];
	int			i;

	(void)state;
	val[0] = '\0';
	for (i = 0; i <= EXPAND_MAX_DESTS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(alias_append(val, sizeof(val), name), 0);
	}
	t[0].key = "big";
	t[0].val = val;
	aliases = t;
	assert_string_equal(expand("big"), "");
	assert_int_equal(e.status, LK_PERMFAIL);
	assert_string_equal(e.dsn, "5.5.3");
	/* exactly the limit is fine */
	*strrchr(val, ',') = '\0';
	(void)expand("big");
	assert_int_equal(e.status, LK_OK);
	assert_int_equal(e.ndests, EXPAND_MAX_DESTS);
	expand_clear(&e);
}

static void
test_expand_files_commands(void **state)
{
	static const struct kv	t[] = {
		{ "archive", "/var/log/archive, \"|/usr/bin/x --a, b\"" },
		{ "alice+spam", "/dev/null" },
		{ "staff", ":include:/lists/staff" },
		{ "missing", ":include:/lists/nope" },
		{ "owner", "alice" },
		{ "o", ":include:/lists/owner" },
		{ NULL, NULL },
	};

	(void)state;
	aliases = t;
	alias_owner = 0;	/* root: nobody */
	assert_string_equal(expand("archive"), "file:nobody:65534::"
	    "/var/log/archive;pipe:nobody:65534::/usr/bin/x --a, b;");
	alias_owner = 1001;	/* bob */
	assert_string_equal(expand("archive"), "file:bob:1001::"
	    "/var/log/archive;pipe:bob:1001::/usr/bin/x --a, b;");
	alias_owner = 4242;	/* no such user */
	assert_string_equal(expand("archive"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	alias_owner = 666;	/* a table others may write */
	assert_string_equal(expand("archive"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	assert_string_equal(expand("owner"), "user:alice:1000::;");
	alias_owner = 0;
	/* the alias with the detail wins over the user */
	assert_string_equal(expand("alice+spam@example.org"),
	    "file:nobody:65534::/dev/null;");
	/* an include's files and commands run as its owner (listadm) */
	assert_string_equal(expand("staff"), "user:alice:1000::;"
	    "pipe:listadm:1003::/usr/bin/archive;"
	    "file:listadm:1003::/var/log/staff;");
	assert_string_equal(expand("missing"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	assert_string_equal(e.text, ":include:: /lists/nope: No such file or "
	    "directory");
	assert_string_equal(expand("o"), "user:alice:1000::;");
	expand_clear(&e);
}

/* \\name: the user's mailbox, past aliases (and, in deliver-local,
 * past .forward). */
static void
test_expand_inbox(void **state)
{
	static const struct kv	t[] = {
		{ "alice", "bob" },
		{ "keep", "\"\\\\alice\", alice, \"\\\\ghost\"" },
		{ NULL, NULL },
	};

	(void)state;
	aliases = t;
	assert_string_equal(expand("keep"), "inbox:alice:1000::;"
	    "user:bob:1001::;nouser::0::ghost;");
	assert_int_equal(e.status, LK_OK);
	assert_int_equal(parse(SOURCE_ALIASES, "k: \\Alice, \\.x\n"), 1);
	assert_string_equal(got, "E t:1: alias \"k\": bad user name "
	    "\"\\.x\"\n");
	assert_int_equal(parse(SOURCE_ALIASES, "k: \\alice, x\n"), 0);
	assert_string_equal(got, "1:k=\"\\\\alice\", x\n");
	expand_clear(&e);
}

/* A ~/.forward's targets: the user's own name is the user, files and
 * commands run as the user, :include: is refused, loops inside the
 * aliases it names are loops. */
static void
test_expand_forward(void **state)
{
	static const struct kv	t[] = {
		{ "alice", "carol" },
		{ "team", "alice, bob" },
		{ "la", "lb" },
		{ "lb", "la" },
		{ NULL, NULL },
	};

	(void)state;
	aliases = t;
	alias_owner = 0;
	assert_string_equal(expand_fwd("alice", 1000, "alice, \"\\\\bob\", "
	    "/home/alice/archive, \"|/usr/bin/procmail -a x\", "
	    "someone@remote.example"), "user:alice:1000::;inbox:bob:1001::;"
	    "file:alice:1000::/home/alice/archive;"
	    "pipe:alice:1000::/usr/bin/procmail -a x;"
	    "forward::0::someone@remote.example;");
	assert_int_equal(e.status, LK_OK);
	/* the aliases a .forward names are aliases */
	assert_string_equal(expand_fwd("bob", 1001, "team"),
	    "user:carol:1002::;user:bob:1001::;");
	assert_string_equal(expand_fwd("bob", 1001, "la"), "");
	assert_int_equal(e.status, LK_PERMFAIL);
	assert_string_equal(e.dsn, "5.4.6");
	assert_string_equal(expand_fwd("bob", 1001, ":include:/lists/staff"),
	    "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	assert_string_equal(expand_fwd("bob", 1001, "ghost"), "");
	assert_int_equal(e.status, LK_NOUSER);
	assert_string_equal(expand_fwd("bob", 1001, "\"unterminated"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	expand_clear(&e);
}

static void
test_expand_virtual(void **state)
{
	static const struct kv	t[] = {
		{ "alias", "carol" },
		{ NULL, NULL },
	};
	static const struct kv	v[] = {
		{ "info@virt.example", "alice, bob@example.org" },
		{ "box@virt.example", "/var/mail/vhosts/virt.example/box/" },
		{ "al@virt.example", "alias" },
		{ "fwd@virt.example", "x@remote.example" },
		{ "bad@virt.example", "|/bin/sh" },
		{ "file@virt.example", "/var/mail/file" },
		{ "inc@virt.example", ":include:/lists/staff" },
		{ "@other.example", "x" },
		{ NULL, NULL },
	};

	(void)state;
	aliases = t;
	virtuals = v;
	assert_string_equal(expand("Info@Virt.Example"), "user:alice:1000::;"
	    "user:bob:1001::;");
	assert_string_equal(expand("info+tag@virt.example"),
	    "user:alice:1000:tag:;user:bob:1001:tag:;");
	assert_string_equal(expand("box@virt.example"), "maildir:vmail:5000::"
	    "/var/mail/vhosts/virt.example/box/;");
	assert_string_equal(expand("al@virt.example"), "user:carol:1002::;");
	assert_string_equal(expand("fwd@virt.example"),
	    "forward::0::x@remote.example;");
	assert_string_equal(expand("nobody@virt.example"), "");
	assert_int_equal(e.status, LK_NOUSER);
	assert_string_equal(expand("bad@virt.example"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	assert_string_equal(expand("file@virt.example"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	assert_string_equal(expand("inc@virt.example"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	/* no virtual-user: a Maildir cannot be written */
	expand_clear(&e);
	expand_init(&e, &ops, NULL);
	expand_address(&e, "box@virt.example");
	assert_int_equal(e.status, LK_TEMPFAIL);
	/* no virtual table at all */
	ops.virtual = NULL;
	assert_string_equal(expand("info@virt.example"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	ops.virtual = mock_virtual;
	virtuals = NULL;
	expand_clear(&e);
}

static void
test_expand_catchall(void **state)
{
	static const struct kv	v[] = {
		{ "alice@virt.example", "alice" },
		{ "@virt.example", "bob" },
		{ NULL, NULL },
	};

	(void)state;
	aliases = NULL;
	virtuals = v;
	assert_string_equal(expand("alice@virt.example"),
	    "user:alice:1000::;");
	assert_string_equal(expand("anyone@virt.example"), "user:bob:1001::;");
	virtuals = NULL;
	expand_clear(&e);
}

static void
test_expand_table_error(void **state)
{
	(void)state;
	aliases = NULL;
	alias_error = 1;
	/* a table that cannot answer is never "no such user" */
	assert_string_equal(expand("ghost@example.org"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	assert_string_equal(e.dsn, "4.3.0");
	assert_string_equal(expand("alice@example.org"), "");
	assert_int_equal(e.status, LK_TEMPFAIL);
	alias_error = 0;
	expand_clear(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_parse_continuation),
		cmocka_unit_test(test_parse_comments),
		cmocka_unit_test(test_parse_quotes),
		cmocka_unit_test(test_parse_kinds),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_map),
		cmocka_unit_test(test_split_roundtrip),
		cmocka_unit_test(test_include_parse),
		cmocka_unit_test(test_expand_users),
		cmocka_unit_test(test_expand_nested),
		cmocka_unit_test(test_expand_loop),
		cmocka_unit_test(test_expand_depth),
		cmocka_unit_test(test_expand_limit),
		cmocka_unit_test(test_expand_files_commands),
		cmocka_unit_test(test_expand_inbox),
		cmocka_unit_test(test_expand_forward),
		cmocka_unit_test(test_expand_virtual),
		cmocka_unit_test(test_expand_catchall),
		cmocka_unit_test(test_expand_table_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
