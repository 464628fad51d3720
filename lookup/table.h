/*
 * table.h: lookup tables named "type:path", as administrators know them
 * from Postfix ("hash:/etc/bulwark/aliases"). Callers see one small
 * interface; each type (table_db.c: hash and btree in Berkeley DB) is a
 * struct table_ops, so that lmdb: or cdb: can join without touching them.
 *
 * The file of "type:path" is path plus the type's suffix (".db" for hash
 * and btree: hash:/etc/bulwark/aliases is /etc/bulwark/aliases.db).
 * Keys are stored lower-case and without a trailing NUL; values as given,
 * without a trailing NUL. The reader also finds keys written with a
 * trailing NUL (sendmail's makemap, Postfix's postalias) and drops the
 * NUL of their values.
 */
#ifndef BULWARK_TABLE_H
#define BULWARK_TABLE_H

#include <sys/types.h>

#include <stddef.h>

#define TABLE_KEY_MAX		512	/* bytes of a key */
#define TABLE_VALUE_MAX		(64 * 1024)	/* bytes of a value */
#define TABLE_SPEC_MAX		1024	/* "type:path" */
#define TABLE_ERR_MAX		512
#define TABLE_RETRY_SECS	5	/* s before a broken table is retried */
#define TABLE_CHECK_SECS	1	/* s between stat()s of an open one */

/* What table_get found. */
enum table_rc {
	TABLE_ERROR = -1,	/* the table cannot answer: see table_error */
	TABLE_NOTFOUND = 0,
	TABLE_FOUND = 1,
};

struct table;

/* One type of table. Handles are the type's own. get returns an enum
 * table_rc; create makes a new file that no one else can have opened;
 * put returns 0, 1 for a key already there (kept), or -1. */
struct table_ops {
	const char	*type;		/* "hash" */
	const char	*suffix;	/* ".db" */
	void		*(*open)(const char *file, char *err, size_t errlen);
	int		 (*get)(void *h, const void *key, size_t klen,
			    void *val, size_t vallen, size_t *got,
			    char *err, size_t errlen);
	/* the descriptor of the open file, for fstat; -1 if none */
	int		 (*fd)(void *h);
	void		 (*close)(void *h);
	void		*(*create)(const char *file, char *err, size_t errlen);
	int		 (*put)(void *h, const void *key, size_t klen,
			    const void *val, size_t vallen, char *err,
			    size_t errlen);
	/* writes everything out and closes; -1 on failure (closed too) */
	int		 (*finish)(void *h, char *err, size_t errlen);
};

/* The types there are (table_db.c). */
extern const struct table_ops	table_hash_ops;
extern const struct table_ops	table_btree_ops;

/* The ops of a type name, or NULL. */
const struct table_ops	*table_type(const char *type, size_t len);
/* Splits "type:path" into the ops and the path (into path); -1 if the
 * type is unknown or the path not absolute. */
int	table_spec_parse(const char *spec, const struct table_ops **,
	    char *path, size_t pathlen);
/* The file a spec reads: path plus the type's suffix. */
int	table_file(const char *spec, char *file, size_t filelen);

/* Opens a table. NULL only for a bad spec or no memory (with err); a
 * table whose file is missing or corrupt is returned all the same, in a
 * broken state: table_get then answers TABLE_ERROR (and tries to open it
 * again, at most every TABLE_RETRY_SECS), never TABLE_NOTFOUND. */
struct table	*table_open(const char *spec, char *err, size_t errlen);
/* Looks key up (lower-cased) and copies its value, NUL-terminated, into
 * val. A value that does not fit is TABLE_ERROR. */
int		 table_get(struct table *, const char *key, char *val,
		    size_t vallen);
/* Reopens the table if its file changed (device, inode, size or mtime)
 * or it was broken. 1: reopened, 0: unchanged, -1: broken. */
int		 table_refresh(struct table *);
/* Like table_refresh, but at most every TABLE_CHECK_SECS (open) or
 * TABLE_RETRY_SECS (broken); for each query. */
int		 table_check(struct table *);
const char	*table_spec(const struct table *);
/* Why the table is broken, or why the last lookup failed. */
const char	*table_error(const struct table *);
int		 table_is_open(const struct table *);
/* The owner and mode of the open file; -1 if broken. */
int		 table_owner(const struct table *, uid_t *, mode_t *);
/* 1 once after each attempt to (re)open the file, then 0: the caller
 * logs the outcome (table_is_open, table_error). */
int		 table_attempted(struct table *);
void		 table_close(struct table *);

/* Building: a new table file beside its final name, renamed over it
 * only once complete and on stable storage. Keys are lower-cased. */
struct table_build;

struct table_build *table_build_begin(const char *spec, char *err,
		    size_t errlen);
/* 0, 1 if the key was already there (the first value is kept), -1 */
int		 table_build_put(struct table_build *, const char *key,
		    const char *val, char *err, size_t errlen);
/* fsync, mode 0644, rename over the final name, fsync the directory.
 * Frees b, also on failure (and removes the temporary file). */
int		 table_build_commit(struct table_build *, char *err,
		    size_t errlen);
void		 table_build_abort(struct table_build *);
/* Give the file to uid:gid at commit (only root can), e.g. the owner of
 * its source, as Postfix's postalias does. */
void		 table_build_owner(struct table_build *, uid_t, gid_t);

#endif
