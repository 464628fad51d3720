/*
 * address.c: the RFC 5321 §4.1.2 path grammar, with the §4.5.3.1 size
 * limits and the RFC 6531 UTF-8 extension, as a recursive-descent scanner
 * over a pointer and a length. It does no I/O and no allocation: smtpd
 * runs it on hostile bytes before anything else looks at an address.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "address.h"

struct scan {
	const unsigned char	*p;
	size_t			 len;
	size_t			 pos;
	unsigned		 flags;		/* ADDRESS_F_* from caller */
	unsigned		 found;		/* ADDRESS_UTF8 once seen */
};

/* Literal content longer than this cannot be an IPv6 address. */
#define LITERAL_TEXT_MAX	64

static int
address_peek(const struct scan *sc)
{
	return sc->pos < sc->len ? sc->p[sc->pos] : -1;
}

static int
address_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
address_is_letdig(int c)
{
	return address_is_alpha(c) || (c >= '0' && c <= '9');
}

static char
address_lower(int c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* ASCII only, so that the locale cannot change what a keyword is. */
static int
address_ieq(const unsigned char *s, size_t n, const char *lit)
{
	size_t	i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (address_lower(s[i]) != address_lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

/* RFC 5322 atext; RFC 6531 adds UTF8-non-ascii, handled by the caller. */
static int
address_is_atext(int c)
{
	return c >= 0 && (address_is_letdig(c) ||
	    (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL));
}

size_t
address_utf8_len(const unsigned char *s, size_t left)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (left == 0 || s[0] < 0xc2 || s[0] > 0xf4)
		return 0;	/* ASCII, continuation, C0/C1 overlong, > 4 */
	if (s[0] < 0xe0)
		n = 2;
	else if (s[0] < 0xf0) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	}
	if (left < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	/* C1 controls can steer terminals the address is logged to. */
	if (s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return n;
}

/* At a byte >= 0x80: the length of its UTF-8 sequence, or an error. */
static enum address_error
address_scan_utf8(struct scan *sc, size_t *n)
{
	if (!(sc->flags & ADDRESS_F_UTF8))
		return ADDRESS_ERR_UTF8_NOT_ALLOWED;
	*n = address_utf8_len(sc->p + sc->pos, sc->len - sc->pos);
	if (*n == 0)
		return ADDRESS_ERR_BAD_UTF8;
	sc->found |= ADDRESS_UTF8;
	return ADDRESS_OK;
}

/*
 * One sub-domain: Let-dig [Ldh-str], or a U-label under SMTPUTF8 (whose
 * IDNA2008 validity is not checked here). The text goes to out, lower-cased.
 */
static enum address_error
address_scan_label(struct scan *sc, size_t start, char *out, size_t *o)
{
	size_t			lstart = sc->pos, n;
	int			c, last = -1, ascii = 1;
	enum address_error	e;

	while ((c = address_peek(sc)) != -1) {
		if (address_is_letdig(c) || (c == '-' && sc->pos > lstart))
			n = 1;
		else if (c >= 0x80) {
			if ((e = address_scan_utf8(sc, &n)) != ADDRESS_OK)
				return e;
			ascii = 0;
		} else
			break;
		if (sc->pos + n - start > ADDRESS_DOMAIN_MAX)
			return ADDRESS_ERR_DOMAIN_TOO_LONG;
		while (n-- > 0)
			out[(*o)++] = address_lower(sc->p[sc->pos++]);
		last = c;
	}
	if (sc->pos == lstart || last == '-')
		return ADDRESS_ERR_SYNTAX;
	if (ascii && sc->pos - lstart > ADDRESS_LABEL_MAX)
		return ADDRESS_ERR_LABEL_TOO_LONG;
	return ADDRESS_OK;
}

/* Domain = sub-domain *("." sub-domain); out has room for the maximum. */
static enum address_error
address_scan_name(struct scan *sc, char *out)
{
	size_t			start = sc->pos, o = 0;
	enum address_error	e;
	int			c;

	for (;;) {
		if ((e = address_scan_label(sc, start, out, &o)) != ADDRESS_OK)
			return e;
		if (address_peek(sc) != '.')
			break;
		sc->pos++;
		c = address_peek(sc);
		/* "user@example.org." is common enough to get its own
		 * reason: the caller answers 553 rather than 501. */
		if (c == -1 || c == '>')
			return ADDRESS_ERR_TRAILING_DOT;
		if (sc->pos - start > ADDRESS_DOMAIN_MAX)
			return ADDRESS_ERR_DOMAIN_TOO_LONG;
		out[o++] = '.';
	}
	out[o] = '\0';
	return ADDRESS_OK;
}

/* Standardized-tag = Ldh-str: letters, digits, hyphens, no hyphen last. */
static int
address_is_ldh_str(const unsigned char *s, size_t n)
{
	size_t	i;

	if (n == 0 || !address_is_letdig(s[0]) || !address_is_letdig(s[n - 1]))
		return 0;
	for (i = 1; i < n; i++)
		if (!address_is_letdig(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* IPv4 or IPv6 literal text to binary and back to its canonical form. */
static enum address_error
address_literal_ip(const unsigned char *s, size_t n, int af, char *out,
    int *family, uint8_t addr[16])
{
	char	text[LITERAL_TEXT_MAX + 1], canon[INET6_ADDRSTRLEN];
	uint8_t	bin[16];

	if (n == 0 || n > LITERAL_TEXT_MAX)
		return ADDRESS_ERR_BAD_LITERAL;
	memcpy(text, s, n);
	text[n] = '\0';
	if (inet_pton(af, text, bin) != 1 ||
	    inet_ntop(af, bin, canon, sizeof(canon)) == NULL)
		return ADDRESS_ERR_BAD_LITERAL;
	/* Cannot truncate: at most 6 + 45 + 2 bytes. */
	(void)snprintf(out, ADDRESS_DOMAIN_MAX + 1, "[%s%s]",
	    af == AF_INET6 ? "IPv6:" : "", canon);
	*family = af;
	memset(addr, 0, 16);
	memcpy(addr, bin, af == AF_INET6 ? 16 : 4);
	return ADDRESS_OK;
}

/*
 * address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]". A general literal is well-formed but
 * names a kind of address nobody defined: refuse it as unsupported.
 */
static enum address_error
address_scan_literal(struct scan *sc, char *out, int *family,
    uint8_t addr[16])
{
	size_t			 start = sc->pos, cstart, clen;
	const unsigned char	*content, *colon;
	int			 c;

	cstart = ++sc->pos;
	while ((c = address_peek(sc)) != -1 && c != ']') {
		/* dcontent = %d33-90 / %d94-126 */
		if (c < 33 || c > 126 || c == '[' || c == '\\')
			return c >= 0x80 && !(sc->flags & ADDRESS_F_UTF8) ?
			    ADDRESS_ERR_UTF8_NOT_ALLOWED :
			    ADDRESS_ERR_BAD_LITERAL;
		if (++sc->pos - start > ADDRESS_DOMAIN_MAX)
			return ADDRESS_ERR_DOMAIN_TOO_LONG;
	}
	if (c != ']')
		return ADDRESS_ERR_SYNTAX;
	clen = sc->pos++ - cstart;
	if (sc->pos - start > ADDRESS_DOMAIN_MAX)
		return ADDRESS_ERR_DOMAIN_TOO_LONG;
	content = sc->p + cstart;
	if ((colon = memchr(content, ':', clen)) == NULL)
		return address_literal_ip(content, clen, AF_INET, out,
		    family, addr);
	if (address_ieq(content, colon - content, "IPv6"))
		return address_literal_ip(colon + 1, clen - 5, AF_INET6, out,
		    family, addr);
	if (address_is_ldh_str(content, colon - content) &&
	    clen > (size_t)(colon - content) + 1)
		return ADDRESS_ERR_LITERAL_UNSUPPORTED;
	return ADDRESS_ERR_BAD_LITERAL;
}

/* Domain / address-literal; literals only where the grammar has them. */
static enum address_error
address_scan_domain(struct scan *sc, int literal_ok, char *out,
    int *family, uint8_t addr[16])
{
	*family = 0;
	if (address_peek(sc) == '[')
		return literal_ok ? address_scan_literal(sc, out, family,
		    addr) : ADDRESS_ERR_SYNTAX;
	return address_scan_name(sc, out);
}

/* Dot-string = Atom *("." Atom); decoded text equals the raw text. */
static enum address_error
address_scan_dot_string(struct scan *sc, char *out)
{
	size_t			start = sc->pos, n;
	int			c, atom = 0;
	enum address_error	e;

	while ((c = address_peek(sc)) != -1) {
		if (address_is_atext(c))
			n = 1;
		else if (c == '.' && atom)
			n = 1;		/* no leading or double dot */
		else if (c >= 0x80) {
			if ((e = address_scan_utf8(sc, &n)) != ADDRESS_OK)
				return e;
		} else
			break;
		if (sc->pos + n - start > ADDRESS_LOCAL_MAX)
			return ADDRESS_ERR_LOCAL_TOO_LONG;
		atom = c != '.';
		memcpy(out + (sc->pos - start), sc->p + sc->pos, n);
		sc->pos += n;
	}
	if (!atom)
		return ADDRESS_ERR_SYNTAX;	/* empty, or a trailing dot */
	out[sc->pos - start] = '\0';
	return ADDRESS_OK;
}

/*
 * Quoted-string = DQUOTE *QcontentSMTP DQUOTE, decoded into out. The
 * 64-octet limit counts the local part as written, quotes included.
 */
static enum address_error
address_scan_quoted(struct scan *sc, char *out, size_t *olen)
{
	size_t			start = sc->pos++, o = 0, n;
	int			c;
	enum address_error	e;

	while ((c = address_peek(sc)) != '"') {
		if (c == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			sc->pos++;
			c = address_peek(sc);
			if (c < 32 || c > 126)
				return ADDRESS_ERR_SYNTAX;
			n = 1;
		} else if (c >= 32 && c <= 126)
			n = 1;		/* qtextSMTP, '"' and '\' handled */
		else if (c >= 0x80) {
			if ((e = address_scan_utf8(sc, &n)) != ADDRESS_OK)
				return e;
		} else
			return ADDRESS_ERR_SYNTAX;	/* end, NUL, CTL */
		if (sc->pos + n + 1 - start > ADDRESS_LOCAL_MAX)
			return ADDRESS_ERR_LOCAL_TOO_LONG;
		memcpy(out + o, sc->p + sc->pos, n);
		o += n;
		sc->pos += n;
	}
	sc->pos++;
	out[o] = '\0';
	*olen = o;
	return ADDRESS_OK;
}

/* A decoded local part that is not a Dot-string must be quoted again. */
static int
address_needs_quotes(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	int			 prev = '.';

	if (*u == '\0')
		return 1;
	for (; *u != '\0'; prev = *u++) {
		if (*u == '.' && prev == '.')
			return 1;
		if (*u != '.' && *u < 0x80 && !address_is_atext(*u))
			return 1;
	}
	return prev == '.';
}

/* canon = local "@" domain, quoting the local part when it must be. */
static enum address_error
address_canon(struct address *a)
{
	char		*q = a->canon, *end = a->canon + sizeof(a->canon) - 1;
	const char	*s;
	int		 quote = address_needs_quotes(a->local);

	if (quote)
		*q++ = '"';
	for (s = a->local; *s != '\0'; s++) {
		if (end - q < 3)
			return ADDRESS_ERR_PATH_TOO_LONG;
		if (quote && (*s == '"' || *s == '\\'))
			*q++ = '\\';
		*q++ = *s;
	}
	if (quote)
		*q++ = '"';
	*q = '\0';
	if (a->domain[0] == '\0')
		return ADDRESS_OK;
	if (strlcat(a->canon, "@", sizeof(a->canon)) >= sizeof(a->canon) ||
	    strlcat(a->canon, a->domain, sizeof(a->canon)) >= sizeof(a->canon))
		return ADDRESS_ERR_PATH_TOO_LONG;
	return ADDRESS_OK;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static enum address_error
address_scan_mailbox(struct scan *sc, struct address *a)
{
	enum address_error	e;
	size_t			n = 0;

	if (address_peek(sc) == '"') {
		if ((e = address_scan_quoted(sc, a->local, &n)) != ADDRESS_OK)
			return e;
		a->flags |= ADDRESS_QUOTED;
	} else {
		if ((e = address_scan_dot_string(sc, a->local)) != ADDRESS_OK)
			return e;
		n = strlen(a->local);
	}
	if (address_peek(sc) != '@')
		return address_peek(sc) == '>' || address_peek(sc) == -1 ?
		    ADDRESS_ERR_NO_DOMAIN : ADDRESS_ERR_SYNTAX;
	sc->pos++;
	if ((e = address_scan_domain(sc, 1, a->domain, &a->literal_family,
	    a->literal_addr)) != ADDRESS_OK)
		return e;
	if (a->literal_family != 0)
		a->flags |= ADDRESS_LITERAL;
	/* Only a quoted local part can be empty: it names nobody. */
	if (n == 0)
		return ADDRESS_ERR_EMPTY_LOCAL;
	if (strpbrk(a->local, "%!@") != NULL)
		a->flags |= ADDRESS_RELAY_TRICK;
	return ADDRESS_OK;
}

/* A-d-l = At-domain *( "," At-domain ) ":", validated then dropped. */
static enum address_error
address_scan_route(struct scan *sc)
{
	char			scratch[ADDRESS_DOMAIN_MAX + 1];
	enum address_error	e;
	int			family;
	uint8_t			addr[16];

	for (;;) {
		if (address_peek(sc) != '@')
			return ADDRESS_ERR_SYNTAX;
		sc->pos++;
		if ((e = address_scan_domain(sc, 0, scratch, &family,
		    addr)) != ADDRESS_OK)
			return e;
		/* A route can be made arbitrarily long: stop early. */
		if (sc->pos > ADDRESS_PATH_MAX)
			return ADDRESS_ERR_PATH_TOO_LONG;
		if (address_peek(sc) == ':') {
			sc->pos++;
			return ADDRESS_OK;
		}
		if (address_peek(sc) != ',')
			return ADDRESS_ERR_SYNTAX;
		sc->pos++;
	}
}

/* "<Postmaster>" is matched as a whole, case-insensitively (§4.1.1.3). */
static int
address_is_bare_postmaster(const char *s, size_t len)
{
	return len >= 12 &&
	    address_ieq((const unsigned char *)s, 12, "<postmaster>");
}

static enum address_error
address_parse_path_1(struct scan *sc, struct address *out)
{
	enum address_error	e;

	if (address_peek(sc) != '<')
		return ADDRESS_ERR_SYNTAX;
	sc->pos++;
	if (address_peek(sc) == '>') {
		if (!(sc->flags & ADDRESS_F_NULL_OK))
			return ADDRESS_ERR_NULL_NOT_ALLOWED;
		sc->pos++;
		out->flags |= ADDRESS_IS_NULL;
		return ADDRESS_OK;
	}
	if ((sc->flags & ADDRESS_F_POSTMASTER_OK) &&
	    address_is_bare_postmaster((const char *)sc->p, sc->len)) {
		sc->pos = 12;
		out->flags |= ADDRESS_IS_POSTMASTER;
		strlcpy(out->local, "postmaster", sizeof(out->local));
		return ADDRESS_OK;
	}
	if (address_peek(sc) == '@') {
		if ((e = address_scan_route(sc)) != ADDRESS_OK)
			return e;
		out->flags |= ADDRESS_ROUTE | ADDRESS_RELAY_TRICK;
	}
	if ((e = address_scan_mailbox(sc, out)) != ADDRESS_OK)
		return e;
	if (address_peek(sc) != '>')
		return ADDRESS_ERR_SYNTAX;
	sc->pos++;
	if (sc->pos > ADDRESS_PATH_MAX)
		return ADDRESS_ERR_PATH_TOO_LONG;
	return ADDRESS_OK;
}

static enum address_error
address_finish(enum address_error e, struct scan *sc, struct address *out)
{
	if (e == ADDRESS_OK) {
		out->flags |= sc->found;
		if (!(out->flags & ADDRESS_IS_NULL))
			e = address_canon(out);
	}
	if (e != ADDRESS_OK)
		memset(out, 0, sizeof(*out));
	return e;
}

enum address_error
address_parse_path(const char *s, size_t len, unsigned flags,
    struct address *out, size_t *consumed)
{
	struct scan		sc = { (const unsigned char *)s, len, 0,
				    flags, 0 };
	enum address_error	e;

	memset(out, 0, sizeof(*out));
	e = address_finish(address_parse_path_1(&sc, out), &sc, out);
	if (consumed != NULL)
		*consumed = e == ADDRESS_OK ? sc.pos : 0;
	return e;
}

enum address_error
address_parse_mailbox(const char *s, size_t len, unsigned flags,
    struct address *out)
{
	struct scan		sc = { (const unsigned char *)s, len, 0,
				    flags & ADDRESS_F_UTF8, 0 };
	enum address_error	e;

	memset(out, 0, sizeof(*out));
	e = address_scan_mailbox(&sc, out);
	if (e == ADDRESS_OK && sc.pos != len)
		e = ADDRESS_ERR_SYNTAX;
	/* The same bound as inside a path, brackets aside. */
	if (e == ADDRESS_OK && len > ADDRESS_PATH_MAX - 2)
		e = ADDRESS_ERR_PATH_TOO_LONG;
	return address_finish(e, &sc, out);
}

enum address_error
address_parse_domain(const char *s, size_t len, unsigned flags, char *out,
    size_t outlen, int *family, uint8_t addr[16])
{
	struct scan		sc = { (const unsigned char *)s, len, 0,
				    flags & ADDRESS_F_UTF8, 0 };
	char			buf[ADDRESS_DOMAIN_MAX + 1];
	uint8_t			bin[16] = { 0 };
	int			fam;
	enum address_error	e;

	e = address_scan_domain(&sc, 1, buf, &fam, bin);
	if (e == ADDRESS_OK && sc.pos != len)
		e = ADDRESS_ERR_SYNTAX;
	if (e == ADDRESS_OK && strlcpy(out, buf, outlen) >= outlen)
		e = ADDRESS_ERR_DOMAIN_TOO_LONG;
	if (e != ADDRESS_OK) {
		if (outlen > 0)
			out[0] = '\0';
		fam = 0;
	}
	if (family != NULL)
		*family = fam;
	if (addr != NULL)
		memcpy(addr, bin, sizeof(bin));
	return e;
}

int
address_is_relay_trick(const struct address *a)
{
	return (a->flags & ADDRESS_RELAY_TRICK) != 0;
}

static const struct {
	const char		*name;
	struct smtp_reply	 reply;
} address_errors[ADDRESS_ERR_MAX] = {
	[ADDRESS_OK] = { "ok",
	    { 501, "5.1.3", "Syntax error in address" } },
	[ADDRESS_ERR_SYNTAX] = { "syntax",
	    { 501, "5.1.3", "Syntax error in address" } },
	[ADDRESS_ERR_NO_DOMAIN] = { "no-domain",
	    { 501, "5.1.3", "Address must have a domain" } },
	[ADDRESS_ERR_EMPTY_LOCAL] = { "empty-local",
	    { 501, "5.1.3", "Empty local part in address" } },
	[ADDRESS_ERR_PATH_TOO_LONG] = { "path-too-long",
	    { 501, "5.1.3", "Path too long" } },
	[ADDRESS_ERR_LOCAL_TOO_LONG] = { "local-too-long",
	    { 553, "5.1.3", "Address rejected: local part too long" } },
	[ADDRESS_ERR_DOMAIN_TOO_LONG] = { "domain-too-long",
	    { 553, "5.1.3", "Address rejected: domain too long" } },
	[ADDRESS_ERR_LABEL_TOO_LONG] = { "label-too-long",
	    { 553, "5.1.3", "Address rejected: domain label too long" } },
	[ADDRESS_ERR_TRAILING_DOT] = { "trailing-dot",
	    { 553, "5.1.3", "Address rejected: domain ends with a dot" } },
	[ADDRESS_ERR_BAD_LITERAL] = { "bad-literal",
	    { 501, "5.1.3", "Invalid address literal" } },
	[ADDRESS_ERR_LITERAL_UNSUPPORTED] = { "literal-unsupported",
	    { 553, "5.1.3", "Address rejected: unsupported address literal" } },
	[ADDRESS_ERR_UTF8_NOT_ALLOWED] = { "utf8-not-allowed",
	    { 553, "5.6.7", "Non-ASCII address needs SMTPUTF8" } },
	[ADDRESS_ERR_BAD_UTF8] = { "bad-utf8",
	    { 501, "5.1.3", "Malformed UTF-8 in address" } },
	[ADDRESS_ERR_NULL_NOT_ALLOWED] = { "null-not-allowed",
	    { 501, "5.1.3", "Null address not allowed here" } },
};

const struct smtp_reply *
address_error_reply(enum address_error e)
{
	if ((unsigned)e >= ADDRESS_ERR_MAX)
		e = ADDRESS_ERR_SYNTAX;
	return &address_errors[e].reply;
}

const char *
address_error_str(enum address_error e)
{
	if ((unsigned)e >= ADDRESS_ERR_MAX)
		return "unknown";
	return address_errors[e].name;
}
