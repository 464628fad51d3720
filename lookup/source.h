/*
 * source.h: the text sources tables are built from, and :include: files.
 * Both table syntaxes share the line rules: empty lines and lines whose
 * first non-blank character is '#' are skipped; a line that starts with a
 * blank continues the entry above it (joined with one space).
 *
 *	SOURCE_ALIASES	name: target, target, ...	(see alias.h)
 *	SOURCE_MAP	key value			(virtual, ...)
 *
 * Every problem is reported as "name:line: message" and the parse goes
 * on, so that one run shows them all.
 */
#ifndef BULWARK_SOURCE_H
#define BULWARK_SOURCE_H

#include <stddef.h>

#include "alias.h"

#define SOURCE_MAX_FILE		(64 * 1024 * 1024)	/* bytes of a source */
#define SOURCE_MAX_INCLUDE	(1024 * 1024)	/* bytes of an :include: */
#define SOURCE_MSG_MAX		1024

enum source_syntax {
	SOURCE_MAP,
	SOURCE_ALIASES,
};

/* One entry: the key as written, its value (for aliases the canonical
 * target list), and the line it starts on. Non-zero: an error, which the
 * callback has reported itself. */
typedef int	source_entry_fn(void *arg, const char *key, const char *value,
		    int line);
/* One problem, "name:line: message". */
typedef void	source_error_fn(void *arg, const char *msg);

/* Returns the number of problems (0: every entry was taken). */
int	source_parse(enum source_syntax, const char *name, const char *text,
	    size_t len, source_entry_fn *, source_error_fn *, void *arg);

/* An :include: file: targets, any number to a line, comma-separated;
 * comments and empty lines as above. Stops at the first problem: -1 with
 * "name:line: message" in err, or the callback's non-zero value. */
int	source_include(const char *name, const char *text, size_t len,
	    alias_target_fn *, void *arg, char *err, size_t errlen);

#endif
