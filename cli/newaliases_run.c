/*
 * newaliases_run.c: what newaliases(8) does once its options are read,
 * shared with sendmail -bi: find alias-table in bulwark.conf and compile
 * its text file into the table, atomically, or say where it is wrong.
 */
#include <limits.h>
#include <stdio.h>

#include "compile.h"
#include "config.h"
#include "table.h"

int
newaliases_run(const char *conf, int verbose)
{
	struct config		*cf;
	const struct table_ops	*ops;
	char			 err[CONFIG_ERR_MAX], path[PATH_MAX];
	int			 rc;

	if ((cf = config_load(conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "newaliases: %s\n", err);
		return 1;
	}
	if (cf->alias_table == NULL) {
		fprintf(stderr, "newaliases: %s sets no alias-table\n", conf);
		config_free(cf);
		return 1;
	}
	if (table_spec_parse(cf->alias_table, &ops, path, sizeof(path)) == -1) {
		fprintf(stderr, "newaliases: %s: unknown table type in "
		    "\"%s\"\n", conf, cf->alias_table);
		config_free(cf);
		return 1;
	}
	rc = compile_table(cf->alias_table, path, SOURCE_ALIASES, stderr,
	    verbose);
	config_free(cf);
	return rc == 0 ? 0 : 1;
}
