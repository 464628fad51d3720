/*
 * compile.h: what newaliases and bulwark-table share: a text source
 * compiled into its table file, atomically, every problem printed as
 * "file:line: message", and the old table left alone if there is any.
 */
#ifndef BULWARK_COMPILE_H
#define BULWARK_COMPILE_H

#include <stdio.h>

#include "source.h"

/* Builds spec ("hash:/etc/bulwark/aliases" -> /etc/bulwark/aliases.db)
 * from the file source. Problems go to errs; with verbose, a summary to
 * stdout. 0 on success, -1 if anything was wrong (nothing replaced). */
int	compile_table(const char *spec, const char *source,
	    enum source_syntax, FILE *errs, int verbose);

/* newaliases_run.c: newaliases(8) (and sendmail -bi) with the
 * configuration conf: 0, or 1 after saying what is wrong on stderr. */
int	newaliases_run(const char *conf, int verbose);

#endif
