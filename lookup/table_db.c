/*
 * table_db.c: the hash: and btree: table types, Berkeley DB 5.3 files
 * opened without an environment: read-only (DB_RDONLY) to look up, and
 * created exclusively (DB_CREATE|DB_EXCL) to build. Berkeley DB's own
 * messages are kept for the error text rather than printed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <db.h>

#include "table.h"

/* Berkeley DB reports details through a callback with no argument of
 * ours; the last one is kept here and added to the error text. */
static char	tdb_msg[TABLE_ERR_MAX];

static void
tdb_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	strlcpy(tdb_msg, msg != NULL ? msg : "", sizeof(tdb_msg));
}

static void
tdb_err(char *err, size_t errlen, const char *what, const char *file, int rc)
{
	snprintf(err, errlen, "%s %s: %s%s%s", what, file, db_strerror(rc),
	    tdb_msg[0] != '\0' ? " (" : "", tdb_msg[0] != '\0' ? tdb_msg : "");
	if (tdb_msg[0] != '\0')
		strlcat(err, ")", errlen);
	tdb_msg[0] = '\0';
}

static DB *
tdb_new(const char *file, char *err, size_t errlen)
{
	DB	*db;
	int	 rc;

	tdb_msg[0] = '\0';
	if ((rc = db_create(&db, NULL, 0)) != 0) {
		tdb_err(err, errlen, "cannot set up", file, rc);
		return NULL;
	}
	db->set_errcall(db, tdb_errcall);
	return db;
}

/* Opens for reading, or creates anew (DB_CREATE | DB_EXCL) for a build. */
static void *
tdb_open_flags(const char *file, DBTYPE type, u_int32_t flags, char *err,
    size_t errlen)
{
	DB	*db;
	int	 rc;

	if ((db = tdb_new(file, err, errlen)) == NULL)
		return NULL;
	rc = db->open(db, NULL, file, NULL, type, flags,
	    (flags & DB_CREATE) ? 0600 : 0);
	if (rc != 0) {
		tdb_err(err, errlen, (flags & DB_CREATE) ? "cannot create" :
		    "cannot open", file, rc);
		(void)db->close(db, 0);
		errno = rc > 0 ? rc : EIO;
		return NULL;
	}
	return db;
}

static void *
tdb_open(const char *file, DBTYPE type, char *err, size_t errlen)
{
	return tdb_open_flags(file, type, DB_RDONLY, err, errlen);
}

static void *
tdb_open_hash(const char *file, char *err, size_t errlen)
{
	return tdb_open(file, DB_HASH, err, errlen);
}

static void *
tdb_open_btree(const char *file, char *err, size_t errlen)
{
	return tdb_open(file, DB_BTREE, err, errlen);
}

static int
tdb_get(void *h, const void *key, size_t klen, void *val, size_t vallen,
    size_t *got, char *err, size_t errlen)
{
	DB	*db = h;
	DBT	 k, v;
	int	 rc;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	v.data = val;
	v.ulen = (u_int32_t)vallen;
	v.flags = DB_DBT_USERMEM;
	tdb_msg[0] = '\0';
	rc = db->get(db, NULL, &k, &v, 0);
	if (rc == DB_NOTFOUND || rc == DB_KEYEMPTY)
		return TABLE_NOTFOUND;
	if (rc == 0 || rc == DB_BUFFER_SMALL) {
		*got = v.size;	/* the whole length: the caller checks */
		return TABLE_FOUND;
	}
	tdb_err(err, errlen, "cannot read", "table", rc);
	return TABLE_ERROR;
}

static int
tdb_fd(void *h)
{
	DB	*db = h;
	int	 fd;

	return db->fd(db, &fd) == 0 ? fd : -1;
}

static void
tdb_close(void *h)
{
	DB	*db = h;

	(void)db->close(db, 0);
}

static void *
tdb_create(const char *file, DBTYPE type, char *err, size_t errlen)
{
	return tdb_open_flags(file, type, DB_CREATE | DB_EXCL, err, errlen);
}

static void *
tdb_create_hash(const char *file, char *err, size_t errlen)
{
	return tdb_create(file, DB_HASH, err, errlen);
}

static void *
tdb_create_btree(const char *file, char *err, size_t errlen)
{
	return tdb_create(file, DB_BTREE, err, errlen);
}

static int
tdb_put(void *h, const void *key, size_t klen, const void *val,
    size_t vallen, char *err, size_t errlen)
{
	DB	*db = h;
	DBT	 k, v;
	int	 rc;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)(uintptr_t)key;
	k.size = (u_int32_t)klen;
	v.data = (void *)(uintptr_t)val;
	v.size = (u_int32_t)vallen;
	tdb_msg[0] = '\0';
	rc = db->put(db, NULL, &k, &v, DB_NOOVERWRITE);
	if (rc == DB_KEYEXIST)
		return 1;
	if (rc == 0)
		return 0;
	tdb_err(err, errlen, "cannot write", "table", rc);
	return -1;
}

static int
tdb_finish(void *h, char *err, size_t errlen)
{
	DB	*db = h;
	int	 rc;

	tdb_msg[0] = '\0';
	if ((rc = db->close(db, 0)) != 0) {	/* close syncs */
		tdb_err(err, errlen, "cannot write", "table", rc);
		return -1;
	}
	return 0;
}

const struct table_ops table_hash_ops = {
	.type = "hash",
	.suffix = ".db",
	.open = tdb_open_hash,
	.get = tdb_get,
	.fd = tdb_fd,
	.close = tdb_close,
	.create = tdb_create_hash,
	.put = tdb_put,
	.finish = tdb_finish,
};

const struct table_ops table_btree_ops = {
	.type = "btree",
	.suffix = ".db",
	.open = tdb_open_btree,
	.get = tdb_get,
	.fd = tdb_fd,
	.close = tdb_close,
	.create = tdb_create_btree,
	.put = tdb_put,
	.finish = tdb_finish,
};
