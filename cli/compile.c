/*
 * compile.c: one text source into one table file (see compile.h). The
 * entries go into a new file beside the table, which replaces the old
 * one by rename only when every line was good and the file is on disk;
 * run by root, the table gets the owner of its source, as with Postfix.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "fileio.h"
#include "table.h"

struct compile {
	struct table_build	*b;
	const char		*source;
	FILE			*errs;
	size_t			 entries;
};

static void
compile_error(void *arg, const char *msg)
{
	struct compile	*c = arg;

	fprintf(c->errs, "%s\n", msg);
}

static int
compile_entry(void *arg, const char *key, const char *value, int line)
{
	struct compile	*c = arg;
	char		 err[TABLE_ERR_MAX];
	int		 rc;

	rc = table_build_put(c->b, key, value, err, sizeof(err));
	if (rc == 1)
		fprintf(c->errs, "%s:%d: \"%s\" is already defined above\n",
		    c->source, line, key);
	else if (rc == -1)
		fprintf(c->errs, "%s:%d: %s\n", c->source, line, err);
	else
		c->entries++;
	return rc == 0 ? 0 : -1;
}

/* The whole source in a malloc'd buffer; its owner in *st. */
static char *
compile_read(const char *path, struct stat *st, size_t *len, FILE *errs)
{
	char	*buf = NULL;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1 || fstat(fd, st) == -1)
		goto fail;
	errno = EINVAL;
	if (!S_ISREG(st->st_mode) || st->st_size > SOURCE_MAX_FILE ||
	    (buf = file_slurp(fd, (size_t)st->st_size, len)) == NULL)
		goto fail;
	close(fd);
	return buf;
fail:
	fprintf(errs, "%s: cannot read: %s\n", path, errno == EINVAL ?
	    "not a regular file, or too large" : strerror(errno));
	if (fd != -1)
		close(fd);
	free(buf);
	return NULL;
}

int
compile_table(const char *spec, const char *source, enum source_syntax syn,
    FILE *errs, int verbose)
{
	struct compile	 c;
	struct stat	 st;
	char		 err[TABLE_ERR_MAX], *text, file[PATH_MAX];
	size_t		 len;
	int		 nerr;

	memset(&c, 0, sizeof(c));
	c.source = source;
	c.errs = errs;
	if ((text = compile_read(source, &st, &len, errs)) == NULL)
		return -1;
	if ((c.b = table_build_begin(spec, err, sizeof(err))) == NULL) {
		fprintf(errs, "%s\n", err);
		free(text);
		return -1;
	}
	nerr = source_parse(syn, source, text, len, compile_entry,
	    compile_error, &c);
	free(text);
	if (table_file(spec, file, sizeof(file)) == -1)
		strlcpy(file, spec, sizeof(file));
	if (nerr > 0) {
		table_build_abort(c.b);
		fprintf(errs, "%s: %d error%s; %s not changed\n", source, nerr,
		    nerr == 1 ? "" : "s", file);
		return -1;
	}
	if (geteuid() == 0)
		table_build_owner(c.b, st.st_uid, st.st_gid);
	if (table_build_commit(c.b, err, sizeof(err)) == -1) {
		fprintf(errs, "%s\n", err);
		return -1;
	}
	if (verbose)
		printf("%s: %zu entr%s\n", file, c.entries,
		    c.entries == 1 ? "y" : "ies");
	return 0;
}
