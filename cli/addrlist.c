/*
 * addrlist.c: RFC 5322 §3.4 address lists for sendmail -t. A tokenizer
 * (atoms with their dots, quoted strings, domain literals, the specials;
 * comments and folding skipped) under a small recursive-descent parser
 * that only keeps the addr-specs: display names are looked at just long
 * enough to be skipped.
 */
#include <stdio.h>
#include <string.h>

#include "addrlist.h"

enum tok_kind { T_EOF, T_WORD, T_LITERAL, T_SPECIAL };

struct tok {
	enum tok_kind	 kind;
	const char	*p;		/* raw text in the input */
	size_t		 n;
	char		 c;		/* T_SPECIAL: which */
};

struct ap {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	char		*err;
	size_t		 errlen;
	addrlist_cb	 cb;
	void		*arg;
	int		 count;
};

static int
ap_fail(struct ap *a, const char *why)
{
	snprintf(a->err, a->errlen, "%s at offset %zu", why, a->pos);
	return -1;
}

/* RFC 5322 atext, and bytes of UTF-8 (RFC 6532), and the dot that
 * dot-atoms and obsolete phrases join words with. */
static int
atom_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80 ||
	    strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

static int
wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A comment, nested ones and quoted pairs inside; pos is at '('. */
static int
ap_comment(struct ap *a)
{
	int	depth = 0;

	for (; a->pos < a->len; a->pos++) {
		if (a->s[a->pos] == '\\') {
			a->pos++;
			continue;
		}
		if (a->s[a->pos] == '(' && ++depth > ADDRLIST_DEPTH_MAX)
			return ap_fail(a, "comments nested too deep");
		if (a->s[a->pos] == ')' && --depth == 0) {
			a->pos++;
			return 0;
		}
	}
	return ap_fail(a, "unterminated comment");
}

/* A quoted string or a domain literal, from pos (at open) to close. */
static int
ap_delimited(struct ap *a, char close, const char *what)
{
	for (a->pos++; a->pos < a->len; a->pos++) {
		if (a->s[a->pos] == '\\')
			a->pos++;
		else if (a->s[a->pos] == close) {
			a->pos++;
			return 0;
		} else if (close == ']' && a->s[a->pos] == '[')
			break;
	}
	return ap_fail(a, what);
}

static int
ap_next(struct ap *a, struct tok *t)
{
	for (;;) {
		while (a->pos < a->len && wsp(a->s[a->pos]))
			a->pos++;
		if (a->pos >= a->len || a->s[a->pos] != '(')
			break;
		if (ap_comment(a) == -1)
			return -1;
	}
	memset(t, 0, sizeof(*t));
	t->p = a->s + a->pos;
	if (a->pos >= a->len)
		return 0;		/* T_EOF */
	if (atom_char((unsigned char)a->s[a->pos])) {
		while (a->pos < a->len &&
		    atom_char((unsigned char)a->s[a->pos]))
			a->pos++;
		t->kind = T_WORD;
	} else if (a->s[a->pos] == '"') {
		if (ap_delimited(a, '"', "unterminated quoted string") == -1)
			return -1;
		t->kind = T_WORD;
	} else if (a->s[a->pos] == '[') {
		if (ap_delimited(a, ']', "bad domain literal") == -1)
			return -1;
		t->kind = T_LITERAL;
	} else if (strchr("<>@,;:", a->s[a->pos]) != NULL) {
		t->kind = T_SPECIAL;
		t->c = a->s[a->pos++];
	} else
		return ap_fail(a, "unexpected character");
	t->n = (size_t)(a->s + a->pos - t->p);
	return 0;
}

static int
ap_peek(struct ap *a, struct tok *t)
{
	size_t	pos = a->pos;
	int	rc = ap_next(a, t);

	a->pos = pos;
	return rc;
}

static int
is_special(const struct tok *t, char c)
{
	return t->kind == T_SPECIAL && t->c == c;
}

/* Expect the special c next. */
static int
ap_expect(struct ap *a, char c, const char *why)
{
	struct tok	t;

	if (ap_next(a, &t) == -1)
		return -1;
	return is_special(&t, c) ? 0 : ap_fail(a, why);
}

static int
ap_append(struct ap *a, char *out, size_t *n, const char *p, size_t len)
{
	if (*n + len >= ADDRLIST_ADDR_MAX + 1)
		return ap_fail(a, "address too long");
	memcpy(out + *n, p, len);
	*n += len;
	out[*n] = '\0';
	return 0;
}

/* local-part ["@" domain]: words joined as written (folding white
 * space between them dropped, as obs-local-part allows). */
static int
ap_addr_spec(struct ap *a)
{
	char		addr[ADDRLIST_ADDR_MAX + 1] = "";
	struct tok	t;
	size_t		n = 0;

	for (;;) {
		if (ap_peek(a, &t) == -1)
			return -1;
		if (t.kind != T_WORD)
			break;
		(void)ap_next(a, &t);
		if (ap_append(a, addr, &n, t.p, t.n) == -1)
			return -1;
	}
	if (n == 0)
		return ap_fail(a, "address expected");
	if (is_special(&t, '@')) {
		(void)ap_next(a, &t);
		if (ap_next(a, &t) == -1)
			return -1;
		if ((t.kind != T_WORD && t.kind != T_LITERAL) ||
		    (t.kind == T_WORD && t.p[0] == '"'))
			return ap_fail(a, "domain expected");
		if (ap_append(a, addr, &n, "@", 1) == -1 ||
		    ap_append(a, addr, &n, t.p, t.n) == -1)
			return -1;
	}
	if (a->cb(a->arg, addr, a->err, a->errlen) == -1)
		return -1;
	a->count++;
	return 0;
}

/* obs-route: "@a.example,@b.example:" before the addr-spec; dropped. */
static int
ap_route(struct ap *a)
{
	struct tok	t;

	for (;;) {
		if (ap_expect(a, '@', "bad route") == -1 ||
		    ap_next(a, &t) == -1)
			return -1;
		if (t.kind != T_WORD && t.kind != T_LITERAL)
			return ap_fail(a, "bad route");
		if (ap_next(a, &t) == -1)
			return -1;
		if (is_special(&t, ':'))
			return 0;
		if (!is_special(&t, ','))
			return ap_fail(a, "bad route");
	}
}

/* Whatever stands before '<' is a display name; then the angle-addr. */
static int
ap_name_addr(struct ap *a)
{
	struct tok	t;

	do {
		if (ap_next(a, &t) == -1)
			return -1;
		if (t.kind == T_EOF)
			return ap_fail(a, "'<' expected");
	} while (!is_special(&t, '<'));
	if (ap_peek(a, &t) == -1)
		return -1;
	if (is_special(&t, '@') && ap_route(a) == -1)
		return -1;
	if (ap_addr_spec(a) == -1)
		return -1;
	return ap_expect(a, '>', "'>' expected");
}

/* What the address starting here is: look ahead to the end of it. */
enum shape { SHAPE_SPEC, SHAPE_NAME_ADDR, SHAPE_GROUP };

static int
ap_shape(struct ap *a, enum shape *shape)
{
	struct tok	t;
	size_t		pos = a->pos;
	int		first = 1;

	*shape = SHAPE_SPEC;
	for (;;) {
		if (ap_next(a, &t) == -1)
			return -1;
		if (t.kind == T_EOF || is_special(&t, ',') ||
		    is_special(&t, ';'))
			break;
		if (is_special(&t, '<')) {
			*shape = SHAPE_NAME_ADDR;
			break;
		}
		if (first && is_special(&t, ':')) {
			*shape = SHAPE_GROUP;
			break;
		}
		if (t.kind == T_SPECIAL)
			first = 0;
	}
	a->pos = pos;
	return 0;
}

static int
ap_mailbox(struct ap *a, int group_ok);

/* display-name ":" [mailbox-list] ";" */
static int
ap_group(struct ap *a)
{
	struct tok	t;

	do {
		if (ap_next(a, &t) == -1)
			return -1;
		if (t.kind == T_EOF)
			return ap_fail(a, "':' expected");
	} while (!is_special(&t, ':'));
	for (;;) {
		if (ap_peek(a, &t) == -1)
			return -1;
		if (t.kind == T_EOF)
			return ap_fail(a, "group without ';'");
		if (is_special(&t, ';') || is_special(&t, ',')) {
			(void)ap_next(a, &t);
			if (t.c == ';')
				return 0;
			continue;
		}
		if (ap_mailbox(a, 0) == -1)
			return -1;
		if (ap_peek(a, &t) == -1)
			return -1;
		if (!is_special(&t, ',') && !is_special(&t, ';'))
			return ap_fail(a, "',' or ';' expected");
	}
}

static int
ap_mailbox(struct ap *a, int group_ok)
{
	enum shape	shape;

	if (ap_shape(a, &shape) == -1)
		return -1;
	if (shape == SHAPE_GROUP) {
		if (!group_ok)
			return ap_fail(a, "group inside a group");
		return ap_group(a);
	}
	if (shape == SHAPE_NAME_ADDR)
		return ap_name_addr(a);
	return ap_addr_spec(a);
}

int
addrlist_parse(const char *s, size_t len, addrlist_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct ap	a;
	struct tok	t;

	memset(&a, 0, sizeof(a));
	a.s = s;
	a.len = len;
	a.err = err;
	a.errlen = errlen;
	a.cb = cb;
	a.arg = arg;
	for (;;) {
		if (ap_next(&a, &t) == -1)
			return -1;
		if (t.kind == T_EOF)
			return a.count;
		if (is_special(&t, ','))
			continue;
		a.pos = (size_t)(t.p - s);	/* put it back */
		if (ap_mailbox(&a, 1) == -1)
			return -1;
		if (ap_next(&a, &t) == -1)
			return -1;
		if (t.kind == T_EOF)
			return a.count;
		if (!is_special(&t, ','))
			return ap_fail(&a, "',' expected");
	}
}
