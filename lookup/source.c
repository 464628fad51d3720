/*
 * source.c: reading table sources (aliases, "key value" maps) into
 * entries, and :include: files into targets, with every problem reported
 * as "name:line: message". Lines are joined into entries here; what an
 * alias's targets may be is alias.c's business.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "table.h"

#define SOURCE_ENTRY_MAX	(TABLE_VALUE_MAX + ALIAS_NAME_MAX + 8)

struct source {
	enum source_syntax	 syntax;
	const char		*name;
	source_entry_fn		*entry;
	source_error_fn		*error;
	void			*arg;
	int			 nerr;
	int			 lineno;	/* of the physical line */
	int			 start;		/* of the entry; 0: none */
	int			 bad;		/* the entry is refused */
	size_t			 len;
	char			*buf;		/* the entry, joined */
	char			*value;		/* canonical alias targets */
};

static void __attribute__((format(printf, 3, 4)))
source_err(struct source *s, int line, const char *fmt, ...)
{
	char	msg[SOURCE_MSG_MAX];
	va_list	ap;
	int	n;

	s->nerr++;
	n = snprintf(msg, sizeof(msg), "%s:%d: ", s->name, line);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	(void)vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	s->error(s->arg, msg);
}

/* No NUL and no control character but a tab. 0, or -1 (reported). */
static int
source_bytes(struct source *s, const char *line, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (((unsigned char)line[i] < ' ' && line[i] != '\t') ||
		    line[i] == 0x7f) {
			source_err(s, s->lineno, "control character 0x%02x "
			    "in line", (unsigned char)line[i]);
			return -1;
		}
	return 0;
}

static int
source_canon(void *arg, enum alias_kind kind, const char *target)
{
	struct source	*s = arg;

	if (alias_append_kind(s->value, TABLE_VALUE_MAX, kind, target) == -1) {
		source_err(s, s->start, "the targets are longer than %d bytes",
		    TABLE_VALUE_MAX - 1);
		return 1;
	}
	return 0;
}

/* "name: targets" */
static void
source_alias(struct source *s)
{
	char	*name = s->buf, *colon, *end, err[SOURCE_MSG_MAX];
	int	 rc;

	if ((colon = strchr(name, ':')) == NULL) {
		source_err(s, s->start, "expected \"name: target, ...\"");
		return;
	}
	for (end = colon; end > name && (end[-1] == ' ' || end[-1] == '\t');)
		end--;
	*end = '\0';
	if (name[0] == '"' && end - name >= 2 && end[-1] == '"') {
		end[-1] = '\0';
		name++;
	}
	if (!alias_name_ok(name)) {
		source_err(s, s->start, "bad alias name \"%s\"", name);
		return;
	}
	s->value[0] = '\0';
	rc = alias_split(colon + 1, source_canon, s, err, sizeof(err));
	if (rc == -1)
		source_err(s, s->start, "alias \"%s\": %s", name, err);
	else if (rc == 0 && s->value[0] == '\0')
		source_err(s, s->start, "alias \"%s\" has no target", name);
	else if (rc == 0 && s->entry(s->arg, name, s->value, s->start) != 0)
		s->nerr++;
}

/* "key value" */
static void
source_map(struct source *s)
{
	char	*key = s->buf, *value;
	size_t	 klen = strcspn(key, " \t");

	value = key + klen + strspn(key + klen, " \t");
	key[klen] = '\0';
	if (klen > TABLE_KEY_MAX)
		source_err(s, s->start, "key longer than %d bytes",
		    TABLE_KEY_MAX);
	else if (*value == '\0')
		source_err(s, s->start, "no value for \"%s\"", key);
	else if (s->entry(s->arg, key, value, s->start) != 0)
		s->nerr++;
}

/* The entry gathered so far is complete. */
static void
source_flush(struct source *s)
{
	while (s->len > 0 && (s->buf[s->len - 1] == ' ' ||
	    s->buf[s->len - 1] == '\t'))
		s->len--;
	s->buf[s->len] = '\0';
	if (s->start != 0 && !s->bad) {
		if (s->syntax == SOURCE_ALIASES)
			source_alias(s);
		else
			source_map(s);
	}
	s->start = 0;
	s->bad = 0;
	s->len = 0;
}

static void
source_add(struct source *s, const char *text, size_t len)
{
	if (s->bad)
		return;
	if (s->len + len + 1 >= SOURCE_ENTRY_MAX) {
		source_err(s, s->start, "entry longer than %d bytes",
		    SOURCE_ENTRY_MAX - 2);
		s->bad = 1;
		return;
	}
	memcpy(s->buf + s->len, text, len);
	s->len += len;
}

static void
source_line(struct source *s, const char *line, size_t len)
{
	size_t	lead = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
		lead++;
	if (lead == len || line[lead] == '#')
		return;
	if (lead == 0) {
		source_flush(s);
		s->start = s->lineno;
	} else if (s->start == 0) {
		source_err(s, s->lineno, "continuation line without an entry "
		    "above it");
		return;
	} else
		source_add(s, " ", 1);
	if (source_bytes(s, line, len) == -1)
		s->bad = 1;
	source_add(s, line + lead, len - lead);
}

int
source_parse(enum source_syntax syntax, const char *name, const char *text,
    size_t len, source_entry_fn *entry, source_error_fn *error, void *arg)
{
	struct source	 s;
	const char	*p = text, *end = text + len, *nl;

	memset(&s, 0, sizeof(s));
	s.syntax = syntax;
	s.name = name;
	s.entry = entry;
	s.error = error;
	s.arg = arg;
	if ((s.buf = malloc(SOURCE_ENTRY_MAX)) == NULL ||
	    (s.value = malloc(TABLE_VALUE_MAX)) == NULL) {
		free(s.buf);
		source_err(&s, 0, "out of memory");
		return s.nerr;
	}
	while (p < end) {
		s.lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		source_line(&s, p, (size_t)((nl != NULL ? nl : end) - p));
		p = nl != NULL ? nl + 1 : end;
	}
	source_flush(&s);
	free(s.buf);
	free(s.value);
	return s.nerr;
}

int
source_include(const char *name, const char *text, size_t len,
    alias_target_fn *fn, void *arg, char *err, size_t errlen)
{
	const char	*p = text, *end = text + len, *nl;
	char		 line[ALIAS_TARGET_MAX * 4], why[SOURCE_MSG_MAX];
	size_t		 n;
	int		 lineno = 0, rc;

	for (; p < end; p = nl != NULL ? nl + 1 : end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL) {
			snprintf(err, errlen, "%s:%d: line too long or holding "
			    "a NUL byte", name, lineno);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (line[strspn(line, " \t")] == '#')
			continue;
		rc = alias_split(line, fn, arg, why, sizeof(why));
		if (rc == -1)
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
		if (rc != 0)
			return rc;
	}
	return 0;
}
