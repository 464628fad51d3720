/*
 * newaliases.c: newaliases(8). Reads bulwark.conf for alias-table
 * ("hash:/etc/bulwark/aliases") and compiles that text file into its
 * table (/etc/bulwark/aliases.db), atomically; on any error in the file
 * it says where and leaves the old table as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"

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
	const char	*conf = NEWALIASES_CONFIG;
	int		 ch, verbose = 0;

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
	return newaliases_run(conf, verbose);
}
