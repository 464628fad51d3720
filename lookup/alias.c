/*
 * alias.c: splitting an alias's target list, checking each target, and
 * writing a list back in the one canonical form newaliases stores (see
 * alias.h for the syntax). Nothing here reads a file or a table.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alias.h"

static int
alias_is_atext(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.",
	    c) != NULL);
}

int
alias_name_ok(const char *name)
{
	size_t	i;

	if (name[0] == '\0' || strchr("/|:\".", name[0]) != NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (i + 1 >= ALIAS_NAME_MAX ||
		    !alias_is_atext((unsigned char)name[i]))
			return 0;
	return 1;
}

/* user@domain: a local part without blanks, a domain of letters,
 * digits, dots and hyphens (or an [address literal]). */
static int
alias_address_ok(const char *t)
{
	const char	*at = strrchr(t, '@'), *c;

	if (at == NULL || at == t || at[1] == '\0')
		return 0;
	for (c = t; c < at; c++)
		if ((unsigned char)*c <= ' ' || strchr(",\"<>", *c) != NULL)
			return 0;
	if (at[1] == '[')
		return at[strlen(at) - 1] == ']' &&
		    strspn(at + 2, "0123456789abcdefABCDEF.:IPv") ==
		    strlen(at + 2) - 1;
	for (c = at + 1; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			return 0;
	return 1;
}

/* No control characters; a tab only in a command. */
static int
alias_bytes_ok(const char *t)
{
	for (; *t != '\0'; t++)
		if (((unsigned char)*t < ' ' && *t != '\t') || *t == 0x7f)
			return 0;
	return 1;
}

int
alias_classify(const char *t, enum alias_kind *kind, char *err,
    size_t errlen)
{
	size_t	ilen = strlen(ALIAS_INCLUDE);

	if (!alias_bytes_ok(t)) {
		snprintf(err, errlen, "control character in target");
		return -1;
	}
	if (strncasecmp(t, ALIAS_INCLUDE, ilen) == 0) {
		t += ilen + strspn(t + ilen, " \t");
		*kind = ALIAS_T_INCLUDE;
		if (t[0] == '/' && strchr(t, '\t') == NULL)
			return 0;
		snprintf(err, errlen, ":include: needs an absolute path");
		return -1;
	}
	if (t[0] == '\\') {
		*kind = ALIAS_T_MAILBOX;
		if (alias_name_ok(t + 1))
			return 0;
		snprintf(err, errlen, "bad user name \"%s\"", t);
		return -1;
	}
	if (t[0] == '|') {
		*kind = ALIAS_T_COMMAND;
		if (t[1 + strspn(t + 1, " \t")] != '\0')
			return 0;
		snprintf(err, errlen, "empty command");
		return -1;
	}
	*kind = t[0] == '/' ? ALIAS_T_FILE : strchr(t, '@') != NULL ?
	    ALIAS_T_ADDRESS : ALIAS_T_NAME;
	if ((*kind == ALIAS_T_FILE && strchr(t, '\t') == NULL) ||
	    (*kind == ALIAS_T_ADDRESS && alias_address_ok(t)) ||
	    (*kind == ALIAS_T_NAME && alias_name_ok(t)))
		return 0;
	snprintf(err, errlen, "bad %s \"%s\"", *kind == ALIAS_T_FILE ?
	    "file name" : *kind == ALIAS_T_ADDRESS ? "address" : "target", t);
	return -1;
}

/* Drops the quotes of a wholly quoted target, in place. */
static void
alias_unquote(char *t)
{
	size_t	i, o = 0, len = strlen(t);

	for (i = 1; i < len; i++) {
		if (t[i] == '\\' && i + 1 < len)
			i++;
		else if (t[i] == '"')
			break;
	}
	if (t[0] != '"' || i != len - 1)
		return;		/* not wholly quoted: keep as written */
	for (i = 1; i < len - 1; i++) {
		if (t[i] == '\\' && i + 1 < len - 1)
			i++;
		t[o++] = t[i];
	}
	t[o] = '\0';
}

/* One item from *pp up to an unquoted comma, trimmed and unquoted. */
static int
alias_item(const char **pp, char *item, size_t itemlen, char *err,
    size_t errlen)
{
	const char	*p = *pp, *start = p;
	size_t		 len;
	int		 quoted = 0;

	for (; *p != '\0' && (*p != ',' || quoted); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '\\' && quoted && p[1] != '\0')
			p++;
	}
	if (quoted) {
		snprintf(err, errlen, "unterminated quote");
		return -1;
	}
	*pp = *p == ',' ? p + 1 : p;
	len = (size_t)(p - start);
	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
		len--;
	if (len >= itemlen) {
		snprintf(err, errlen, "target longer than %zu bytes",
		    itemlen - 1);
		return -1;
	}
	memcpy(item, start, len);
	item[len] = '\0';
	alias_unquote(item);
	return 0;
}

int
alias_split(const char *list, alias_target_fn *fn, void *arg, char *err,
    size_t errlen)
{
	enum alias_kind	 kind;
	const char	*p = list, *t;
	char		 item[ALIAS_TARGET_MAX], why[256];
	int		 rc;

	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			return 0;
		if (alias_item(&p, item, sizeof(item), err, errlen) == -1)
			return -1;
		if (item[0] == '\0')
			continue;
		if (alias_classify(item, &kind, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		t = item;
		if (kind == ALIAS_T_INCLUDE)
			t = strchr(item + strlen(ALIAS_INCLUDE), '/');
		else if (kind == ALIAS_T_MAILBOX)
			t = item + 1;
		if ((rc = fn(arg, kind, t)) != 0)
			return rc;
	}
}

static int
alias_needs_quotes(const char *t)
{
	size_t	len = strlen(t);

	return strpbrk(t, ",\"\\") != NULL || len == 0 || t[0] == ' ' ||
	    t[0] == '\t' || t[len - 1] == ' ' || t[len - 1] == '\t';
}

int
alias_append(char *out, size_t outlen, const char *target)
{
	const char	*c;
	size_t		 o = strlen(out), need;

	if (o > 0 && strlcat(out, ", ", outlen) >= outlen)
		return -1;
	if (!alias_needs_quotes(target))
		return strlcat(out, target, outlen) >= outlen ? -1 : 0;
	o = strlen(out);
	for (need = o + 3, c = target; *c != '\0'; c++)
		need += (*c == '"' || *c == '\\') ? 2 : 1;
	if (need > outlen)
		return -1;
	out[o++] = '"';
	for (c = target; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			out[o++] = '\\';
		out[o++] = *c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

int
alias_append_kind(char *out, size_t outlen, enum alias_kind kind,
    const char *target)
{
	char	buf[ALIAS_TARGET_MAX + sizeof(ALIAS_INCLUDE)];

	if (kind != ALIAS_T_INCLUDE && kind != ALIAS_T_MAILBOX)
		return alias_append(out, outlen, target);
	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", kind ==
	    ALIAS_T_INCLUDE ? ALIAS_INCLUDE : "\\", target) >= sizeof(buf))
		return -1;
	return alias_append(out, outlen, buf);
}
