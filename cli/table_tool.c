/*
 * table_tool.c: bulwark-table(8), the table tool, also run as
 * "bulwarkctl table". "build" compiles a text source (key value lines,
 * or aliases with -a) into its table file atomically, as newaliases does
 * for the alias table; "get" prints the value of one key, as lookup
 * would find it (postmap -q).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "table.h"
#include "table_tool.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: bulwark-table build [-av] [-t hash|btree] FILE\n"
	    "       bulwark-table get [-t hash|btree] FILE KEY\n"
	    "FILE may also be given as TYPE:FILE (hash:/etc/bulwark/virtual)"
	    "\n");
	exit(2);
}

/* "type:/absolute/path" from -t and FILE (which may carry its type). */
static void
table_tool_spec(const char *type, const char *file, char *spec, size_t len,
    char *path, size_t pathlen)
{
	const struct table_ops	*ops;
	char			 cwd[PATH_MAX];
	int			 n;

	if (table_spec_parse(file, &ops, path, pathlen) == 0) {
		strlcpy(spec, file, len);
		return;
	}
	if (table_type(type, strlen(type)) == NULL) {
		fprintf(stderr, "bulwark-table: unknown table type \"%s\"\n",
		    type);
		exit(2);
	}
	if (file[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
		perror("bulwark-table: getcwd");
		exit(2);
	}
	n = snprintf(spec, len, "%s:%s%s%s", type, file[0] == '/' ? "" : cwd,
	    file[0] == '/' ? "" : "/", file);
	if (n < 0 || (size_t)n >= len ||
	    table_spec_parse(spec, &ops, path, pathlen) == -1) {
		fprintf(stderr, "bulwark-table: bad table file \"%s\"\n", file);
		exit(2);
	}
}

static int
table_tool_get(const char *spec, const char *key)
{
	static char	 val[TABLE_VALUE_MAX];
	struct table	*t;
	char		 err[TABLE_ERR_MAX];
	int		 rc;

	if ((t = table_open(spec, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bulwark-table: %s\n", err);
		return 2;
	}
	rc = table_get(t, key, val, sizeof(val));
	if (rc == TABLE_FOUND)
		printf("%s\n", val);
	else if (rc == TABLE_ERROR)
		fprintf(stderr, "bulwark-table: %s: %s\n", spec,
		    table_error(t));
	table_close(t);
	return rc == TABLE_FOUND ? 0 : rc == TABLE_NOTFOUND ? 1 : 2;
}

int
table_tool_main(int argc, char **argv)
{
	const char	*type = "hash", *cmd;
	char		 spec[PATH_MAX + 16], path[PATH_MAX];
	int		 ch, aliases = 0, verbose = 0;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "at:v")) != -1) {
		switch (ch) {
		case 'a':
			aliases = 1;
			break;
		case 't':
			type = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "build") == 0 && argc == 1) {
		table_tool_spec(type, argv[0], spec, sizeof(spec), path,
		    sizeof(path));
		return compile_table(spec, path, aliases ? SOURCE_ALIASES :
		    SOURCE_MAP, stderr, verbose) == 0 ? 0 : 1;
	}
	if (strcmp(cmd, "get") == 0 && argc == 2 && !aliases) {
		table_tool_spec(type, argv[0], spec, sizeof(spec), path,
		    sizeof(path));
		return table_tool_get(spec, argv[1]);
	}
	usage();
}
