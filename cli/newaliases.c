/*
 * newaliases.c: newaliases(8). Reads bulwark.conf for alias-table
 * ("hash:/etc/bulwark/aliases") and compiles that text file into its
 * table (/etc/bulwark/aliases.db), atomically; on any error in the file
 * it says where and leaves the old table as it was.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "config.h"
#include "table.h"

#define NEWALIASES_CONFIG	"/etc/bulwark/bulwark.conf"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: newaliases [-v] [-f bulwark.conf]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct config		*cf;
	const struct table_ops	*ops;
	const char		*conf = NEWALIASES_CONFIG;
	char			 err[CONFIG_ERR_MAX], path[PATH_MAX];
	int			 ch, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "f:v")) != -1) {
		switch (ch) {
		case 'f':
			conf = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
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
