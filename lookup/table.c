/*
 * table.c: the table interface of table.h over the per-type ops: names
 * ("type:path"), lower-cased keys, the broken state of a missing or
 * corrupt file (an error to every query, never "not found"), reopening a
 * file that changed on disk, and building a file aside then renaming it.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "table.h"

#define TABLE_TMP_TRIES	10

struct table {
	char			 spec[TABLE_SPEC_MAX];
	char			 file[PATH_MAX];
	const struct table_ops	*ops;
	void			*h;		/* NULL: broken */
	struct stat		 st;		/* of the open file */
	time_t			 checked;	/* monotonic seconds */
	int			 attempted;
	char			 err[TABLE_ERR_MAX];
};

struct table_build {
	const struct table_ops	*ops;
	void			*h;
	char			 file[PATH_MAX];
	char			 tmp[PATH_MAX];
	uid_t			 uid;
	gid_t			 gid;
	int			 chown;
};

/* Error texts may be cut short; they never overflow. */
static void __attribute__((format(printf, 3, 4)))
table_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct table_ops *const table_types[] = {
	&table_hash_ops,
	&table_btree_ops,
};

const struct table_ops *
table_type(const char *type, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(table_types) / sizeof(table_types[0]); i++)
		if (strlen(table_types[i]->type) == len &&
		    strncmp(table_types[i]->type, type, len) == 0)
			return table_types[i];
	return NULL;
}

int
table_spec_parse(const char *spec, const struct table_ops **ops, char *path,
    size_t pathlen)
{
	const char	*colon = strchr(spec, ':');

	if (colon == NULL || colon[1] != '/' ||
	    (*ops = table_type(spec, (size_t)(colon - spec))) == NULL)
		return -1;
	if (strlcpy(path, colon + 1, pathlen) >= pathlen)
		return -1;
	return 0;
}

int
table_file(const char *spec, char *file, size_t filelen)
{
	const struct table_ops	*ops;

	if (table_spec_parse(spec, &ops, file, filelen) == -1 ||
	    strlcat(file, ops->suffix, filelen) >= filelen)
		return -1;
	return 0;
}

static time_t
table_now(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return ts.tv_sec;
}

/* Lower-cases key into buf; its length, or -1 if empty or too long. */
static int
table_key(const char *key, char *buf, size_t buflen)
{
	size_t	i;

	for (i = 0; key[i] != '\0'; i++) {
		if (i + 1 >= buflen)
			return -1;
		buf[i] = (char)tolower((unsigned char)key[i]);
	}
	buf[i] = '\0';
	return i == 0 ? -1 : (int)i;
}

/*
 * Reading.
 */

static void
table_shut(struct table *t)
{
	if (t->h != NULL)
		t->ops->close(t->h);
	t->h = NULL;
}

/* (Re)opens the file; 0, or -1 and broken. */
static int
table_reopen(struct table *t)
{
	int	fd;

	table_shut(t);
	t->attempted = 1;
	t->checked = table_now();
	t->err[0] = '\0';
	if ((t->h = t->ops->open(t->file, t->err, sizeof(t->err))) == NULL)
		return -1;
	fd = t->ops->fd(t->h);
	if ((fd != -1 && fstat(fd, &t->st) == 0) ||
	    (fd == -1 && stat(t->file, &t->st) == 0))
		return 0;
	table_seterr(t->err, sizeof(t->err), "cannot stat %s: %s", t->file,
	    strerror(errno));
	table_shut(t);
	return -1;
}

struct table *
table_open(const char *spec, char *err, size_t errlen)
{
	struct table	*t;
	char		 path[PATH_MAX];

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		table_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (strlcpy(t->spec, spec, sizeof(t->spec)) >= sizeof(t->spec) ||
	    table_spec_parse(spec, &t->ops, path, sizeof(path)) == -1 ||
	    table_file(spec, t->file, sizeof(t->file)) == -1) {
		table_seterr(err, errlen, "bad table \"%s\" (expected "
		    "hash:/path or btree:/path)", spec);
		free(t);
		return NULL;
	}
	(void)table_reopen(t);
	return t;
}

static int
table_changed(const struct table *t)
{
	struct stat	st;

	if (stat(t->file, &st) == -1)
		return 1;
	return st.st_dev != t->st.st_dev || st.st_ino != t->st.st_ino ||
	    st.st_size != t->st.st_size ||
	    st.st_mtim.tv_sec != t->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != t->st.st_mtim.tv_nsec;
}

int
table_refresh(struct table *t)
{
	if (t->h != NULL && !table_changed(t)) {
		t->checked = table_now();
		return 0;
	}
	return table_reopen(t) == 0 ? 1 : -1;
}

int
table_check(struct table *t)
{
	time_t	now = table_now();

	if (t->h != NULL && now - t->checked < TABLE_CHECK_SECS)
		return 0;
	if (t->h == NULL && now - t->checked < TABLE_RETRY_SECS)
		return -1;
	return table_refresh(t);
}

/* The value's length in val (NUL-terminated), or -1 with t->err. */
static int
table_value(struct table *t, char *val, size_t vallen, size_t got)
{
	const char	*nul;

	if (got >= vallen) {
		table_seterr(t->err, sizeof(t->err), "%s: a value is longer "
		    "than %zu bytes", t->spec, vallen - 1);
		return -1;
	}
	if ((nul = memchr(val, '\0', got)) != NULL && nul != val + got - 1) {
		table_seterr(t->err, sizeof(t->err), "%s: a value holds a NUL "
		    "byte", t->spec);
		return -1;
	}
	val[got] = '\0';
	return 0;
}

int
table_get(struct table *t, const char *key, char *val, size_t vallen)
{
	char	k[TABLE_KEY_MAX + 1];
	size_t	got = 0;
	int	klen, rc;

	if (vallen == 0 || (t->h == NULL && table_check(t) == -1)) {
		if (vallen != 0)
			val[0] = '\0';
		return TABLE_ERROR;
	}
	val[0] = '\0';
	if ((klen = table_key(key, k, sizeof(k))) == -1)
		return TABLE_NOTFOUND;	/* no such key can be stored */
	rc = t->ops->get(t->h, k, (size_t)klen, val, vallen - 1, &got,
	    t->err, sizeof(t->err));
	if (rc == TABLE_NOTFOUND)	/* written with a trailing NUL? */
		rc = t->ops->get(t->h, k, (size_t)klen + 1, val, vallen - 1,
		    &got, t->err, sizeof(t->err));
	if (rc == TABLE_FOUND && table_value(t, val, vallen, got) == -1)
		rc = TABLE_ERROR;
	if (rc != TABLE_FOUND)
		val[0] = '\0';
	return rc;
}

const char *
table_spec(const struct table *t)
{
	return t->spec;
}

const char *
table_error(const struct table *t)
{
	return t->h == NULL && t->err[0] == '\0' ? "not open" : t->err;
}

int
table_is_open(const struct table *t)
{
	return t->h != NULL;
}

int
table_owner(const struct table *t, uid_t *uid, mode_t *mode)
{
	if (t->h == NULL)
		return -1;
	*uid = t->st.st_uid;
	*mode = t->st.st_mode;
	return 0;
}

int
table_attempted(struct table *t)
{
	int	a = t->attempted;

	t->attempted = 0;
	return a;
}

void
table_close(struct table *t)
{
	if (t == NULL)
		return;
	table_shut(t);
	free(t);
}

/*
 * Building.
 */

/* dir/.base.XXXXXXXX beside file */
static int
table_tmp_name(const char *file, char *tmp, size_t tmplen)
{
	const char	*slash = strrchr(file, '/');
	int		 n;

	if (slash == NULL)
		return -1;
	n = snprintf(tmp, tmplen, "%.*s/.%s.%08x", (int)(slash - file), file,
	    slash + 1, arc4random());
	return n < 0 || (size_t)n >= tmplen ? -1 : 0;
}

struct table_build *
table_build_begin(const char *spec, char *err, size_t errlen)
{
	struct table_build	*b;
	char			 path[PATH_MAX];
	int			 i;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		table_seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (table_spec_parse(spec, &b->ops, path, sizeof(path)) == -1 ||
	    table_file(spec, b->file, sizeof(b->file)) == -1) {
		table_seterr(err, errlen, "bad table \"%s\" (expected "
		    "hash:/path or btree:/path)", spec);
		free(b);
		return NULL;
	}
	for (i = 0; i < TABLE_TMP_TRIES && b->h == NULL; i++) {
		if (table_tmp_name(b->file, b->tmp, sizeof(b->tmp)) == -1) {
			table_seterr(err, errlen, "%s: name too long", b->file);
			break;
		}
		errno = 0;
		b->h = b->ops->create(b->tmp, err, errlen);
		if (b->h == NULL && errno != EEXIST)
			break;
	}
	if (b->h == NULL) {
		free(b);
		return NULL;
	}
	return b;
}

int
table_build_put(struct table_build *b, const char *key, const char *val,
    char *err, size_t errlen)
{
	char	k[TABLE_KEY_MAX + 1];
	size_t	vlen = strlen(val);
	int	klen;

	if ((klen = table_key(key, k, sizeof(k))) == -1) {
		table_seterr(err, errlen, "key is empty or longer than %d "
		    "bytes", TABLE_KEY_MAX);
		return -1;
	}
	if (vlen >= TABLE_VALUE_MAX) {
		table_seterr(err, errlen, "value of \"%s\" is longer than %d "
		    "bytes", k, TABLE_VALUE_MAX - 1);
		return -1;
	}
	return b->ops->put(b->h, k, (size_t)klen, val, vlen, err, errlen);
}

void
table_build_owner(struct table_build *b, uid_t uid, gid_t gid)
{
	b->uid = uid;
	b->gid = gid;
	b->chown = 1;
}

/* The finished temporary file: owner, mode 0644, on disk. */
static int
table_build_sync(struct table_build *b, char *err, size_t errlen)
{
	int	fd, rc = -1;

	if ((fd = open(b->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		table_seterr(err, errlen, "cannot open %s: %s", b->tmp,
		    strerror(errno));
		return -1;
	}
	if (b->chown && fchown(fd, b->uid, b->gid) == -1)
		table_seterr(err, errlen, "cannot chown %s: %s", b->tmp,
		    strerror(errno));
	else if (fchmod(fd, 0644) == -1 || fsync(fd) == -1)
		table_seterr(err, errlen, "cannot sync %s: %s", b->tmp,
		    strerror(errno));
	else
		rc = 0;
	if (close(fd) == -1 && rc == 0) {
		table_seterr(err, errlen, "cannot sync %s: %s", b->tmp,
		    strerror(errno));
		rc = -1;
	}
	return rc;
}

static int
table_sync_dir(const char *file, char *err, size_t errlen)
{
	char	dir[PATH_MAX], *slash;
	int	fd, rc;

	strlcpy(dir, file, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;
	slash[slash == dir ? 1 : 0] = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		table_seterr(err, errlen, "cannot open %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if ((rc = fsync(fd)) == -1)
		table_seterr(err, errlen, "cannot sync %s: %s", dir,
		    strerror(errno));
	close(fd);
	return rc;
}

int
table_build_commit(struct table_build *b, char *err, size_t errlen)
{
	void	*h = b->h;
	int	 rc = -1;

	b->h = NULL;
	if (b->ops->finish(h, err, errlen) == -1 ||
	    table_build_sync(b, err, errlen) == -1)
		goto fail;
	if (rename(b->tmp, b->file) == -1) {
		table_seterr(err, errlen, "cannot rename %s to %s: %s", b->tmp,
		    b->file, strerror(errno));
		goto fail;
	}
	rc = table_sync_dir(b->file, err, errlen);
	free(b);
	return rc;
fail:
	(void)unlink(b->tmp);
	free(b);
	return -1;
}

void
table_build_abort(struct table_build *b)
{
	char	err[TABLE_ERR_MAX];

	if (b == NULL)
		return;
	if (b->h != NULL)
		(void)b->ops->finish(b->h, err, sizeof(err));
	(void)unlink(b->tmp);
	free(b);
}
