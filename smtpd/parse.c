/*
 * parse.c: the SMTP command grammar of RFC 5321 §4.1 and the MAIL/RCPT
 * parameters of RFC 1870, 6152, 3030, 3461, 4954 and 6531, turning one
 * client line into a struct smtp_cmd or into the reply that refuses it.
 * Pure and bounded: smtpd runs it on every line a client sends.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

struct cursor {
	const unsigned char	*p;
	size_t			 len;
	size_t			 pos;
};

typedef const struct smtp_reply *smtp_param_fn(const unsigned char *v,
    size_t vlen, int has_value, unsigned flags, struct smtp_cmd *);

struct smtp_param_def {
	const char	*name;
	unsigned	 bit;
	smtp_param_fn	*fn;
};

/* Replies: static text only, never an echo of what the client sent. */
#define REPLY(name, code, enh, text) \
	static const struct smtp_reply name = { code, enh, text }
REPLY(R_UNKNOWN, 500, "5.5.2", "Command unrecognized");
REPLY(R_HELO, 501, "5.5.4", "Syntax: HELO hostname");
REPLY(R_EHLO, 501, "5.5.4", "Syntax: EHLO hostname");
REPLY(R_HELO_DOMAIN, 501, "5.5.4", "Invalid domain name");
REPLY(R_MAIL, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
REPLY(R_RCPT, 501, "5.5.4", "Syntax: RCPT TO:<address>");
REPLY(R_DATA, 501, "5.5.4", "Syntax: DATA");
REPLY(R_RSET, 501, "5.5.4", "Syntax: RSET");
REPLY(R_QUIT, 501, "5.5.4", "Syntax: QUIT");
REPLY(R_STARTTLS, 501, "5.5.4", "Syntax: STARTTLS");
REPLY(R_VRFY, 501, "5.5.4", "Syntax: VRFY address");
REPLY(R_EXPN, 501, "5.5.4", "Syntax: EXPN list");
REPLY(R_BDAT, 501, "5.5.4", "Syntax: BDAT size [LAST]");
REPLY(R_BDAT_BIG, 552, "5.3.4", "Chunk size too large");
REPLY(R_AUTH, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
REPLY(R_AUTH_B64, 501, "5.5.2", "Cannot Base64-decode client response");
REPLY(R_PARAM_SYNTAX, 501, "5.5.4", "Syntax error in parameters");
REPLY(R_PARAM_UTF8, 501, "5.5.4", "Non-ASCII parameter needs SMTPUTF8");
REPLY(R_PARAM_UNKNOWN, 555, "5.5.4", "Unsupported parameter");
REPLY(R_PARAM_DUP, 501, "5.5.4", "Duplicate parameter");
REPLY(R_SIZE, 501, "5.5.4", "Invalid SIZE parameter");
REPLY(R_SIZE_BIG, 552, "5.3.4",
    "Message size exceeds fixed maximum message size");
REPLY(R_BODY, 501, "5.5.4", "Invalid BODY parameter");
REPLY(R_SMTPUTF8, 501, "5.5.4", "SMTPUTF8 takes no value");
REPLY(R_RET, 501, "5.5.4", "Invalid RET parameter");
REPLY(R_ENVID, 501, "5.5.4", "Invalid ENVID parameter");
REPLY(R_AUTH_PARAM, 501, "5.5.4", "Invalid AUTH parameter");
REPLY(R_NOTIFY, 501, "5.5.4", "Invalid NOTIFY parameter");
REPLY(R_ORCPT, 501, "5.5.4", "Invalid ORCPT parameter");

static int
smtp_parse_fail(struct smtp_cmd *cmd, const struct smtp_reply *r)
{
	cmd->reply = *r;
	return -1;
}

/* ASCII only: the locale must not change what a keyword is. */
static int
smtp_parse_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
smtp_parse_ieq(const unsigned char *s, size_t n, const char *lit)
{
	size_t	i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (smtp_parse_lower(s[i]) !=
		    smtp_parse_lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

static int
smtp_parse_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
smtp_parse_is_letdig(int c)
{
	return smtp_parse_is_digit(c) || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

static int
smtp_parse_hex(int c)
{
	if (smtp_parse_is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 1*DIGIT into a uint64_t. Returns 0, -1 (not digits) or -2 (overflow);
 * *n is how many digits were read. */
static int
smtp_parse_u64(const unsigned char *s, size_t len, uint64_t *v, size_t *n)
{
	uint64_t	acc = 0;
	size_t		i;
	unsigned	d;

	for (i = 0; i < len && smtp_parse_is_digit(s[i]); i++) {
		d = s[i] - '0';
		if (acc > (UINT64_MAX - d) / 10)
			return -2;
		acc = acc * 10 + d;
	}
	*n = i;
	if (i == 0)
		return -1;
	*v = acc;
	return 0;
}

/* Text that is safe to keep, log and send on: printable ASCII and
 * space, or well-formed UTF-8 (no C1 controls). */
static int
smtp_parse_safe_text(const unsigned char *s, size_t n)
{
	size_t	i = 0, k;

	while (i < n) {
		if (s[i] >= 0x20 && s[i] <= 0x7e)
			i++;
		else if ((k = address_utf8_len(s + i, n - i)) > 0)
			i += k;
		else
			return 0;
	}
	return 1;
}

int
smtp_xtext_decode(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i, o = 0;
	int			 hi, lo, c;

	if (outlen == 0)
		return -1;
	if (outlen > INT_MAX)
		outlen = INT_MAX;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (c == '+') {
			if (len - i < 3 ||
			    (hi = smtp_parse_hex(s[i + 1])) < 0 ||
			    (lo = smtp_parse_hex(s[i + 2])) < 0)
				return -1;
			c = hi << 4 | lo;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=')
			return -1;	/* xchar is "!" to "~" but "+", "=" */
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (!smtp_parse_safe_text((const unsigned char *)out, o))
		return -1;
	return (int)o;
}

static size_t
smtp_parse_utf8_put(uint32_t cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (unsigned char)(0xf0 | cp >> 18);
	b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* EmbeddedUnicodeChar = "\x{" HEXPOINT "}" (RFC 6533 §3): 2 to 6 hex
 * digits naming a scalar value. Returns the bytes consumed, or 0. */
static size_t
smtp_parse_hexpoint(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t	i;
	int	h;

	if (len < 6 || s[0] != '\\' || s[1] != 'x' || s[2] != '{')
		return 0;
	*cp = 0;
	for (i = 3; i < len && i < 10 && (h = smtp_parse_hex(s[i])) >= 0; i++)
		*cp = *cp << 4 | (uint32_t)h;
	if (i - 3 < 2 || i - 3 > 6 || i >= len || s[i] != '}')
		return 0;
	if (*cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return i + 1;
}

/* utf-8-addr-xtext / utf-8-addr-unitext (RFC 6533 §3) into UTF-8. Raw
 * UTF-8 only reaches here when the esmtp-value was allowed to hold it. */
static int
smtp_parse_uxtext(const unsigned char *s, size_t len, char *out,
    size_t outlen)
{
	unsigned char	b[4];
	size_t		i = 0, o = 0, n, k;
	uint32_t	cp;

	while (i < len) {
		if (s[i] == '\\') {
			if ((k = smtp_parse_hexpoint(s + i, len - i, &cp)) == 0)
				return -1;
			n = smtp_parse_utf8_put(cp, b);
		} else if (s[i] >= 0x80) {
			if ((n = k = address_utf8_len(s + i, len - i)) == 0)
				return -1;
			memcpy(b, s + i, n);
		} else if (s[i] > 32 && s[i] < 127 && s[i] != '+' &&
		    s[i] != '=') {
			b[0] = s[i];
			n = k = 1;
		} else
			return -1;
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, b, n);
		o += n;
		i += k;
	}
	out[o] = '\0';
	return smtp_parse_safe_text((const unsigned char *)out, o) ? 0 : -1;
}

/* SIZE=n (RFC 1870). A number too big for 64 bits is over any limit. */
static const struct smtp_reply *
smtp_param_size(const unsigned char *v, size_t vlen, int has_value,
    unsigned flags, struct smtp_cmd *cmd)
{
	size_t	n;
	int	r;

	if (!has_value)
		return &R_SIZE;
	r = smtp_parse_u64(v, vlen, &cmd->mail.size, &n);
	if (r == -2)
		return &R_SIZE_BIG;
	if (r == -1 || n != vlen)
		return &R_SIZE;
	return NULL;
}

/* BODY= (RFC 6152, RFC 3030): whether BINARYMIME was offered, and that
 * it then needs BDAT, is the session's business. */
static const struct smtp_reply *
smtp_param_body(const unsigned char *v, size_t vlen, int has_value,
    unsigned flags, struct smtp_cmd *cmd)
{
	if (!has_value)
		return &R_BODY;
	if (smtp_parse_ieq(v, vlen, "7BIT"))
		cmd->mail.body = SMTP_BODY_7BIT;
	else if (smtp_parse_ieq(v, vlen, "8BITMIME"))
		cmd->mail.body = SMTP_BODY_8BITMIME;
	else if (smtp_parse_ieq(v, vlen, "BINARYMIME"))
		cmd->mail.body = SMTP_BODY_BINARYMIME;
	else
		return &R_BODY;
	return NULL;
}

static const struct smtp_reply *
smtp_param_smtputf8(const unsigned char *v, size_t vlen, int has_value,
    unsigned flags, struct smtp_cmd *cmd)
{
	return has_value ? &R_SMTPUTF8 : NULL;
}

/* RET=FULL|HDRS (RFC 3461 §4.3) */
static const struct smtp_reply *
smtp_param_ret(const unsigned char *v, size_t vlen, int has_value,
    unsigned flags, struct smtp_cmd *cmd)
{
	if (has_value && smtp_parse_ieq(v, vlen, "FULL"))
		cmd->mail.ret = SMTP_RET_FULL;
	else if (has_value && smtp_parse_ieq(v, vlen, "HDRS"))
		cmd->mail.ret = SMTP_RET_HDRS;
	else
		return &R_RET;
	return NULL;
}

/* ENVID=xtext (RFC 3461 §4.4), at most 100 characters as sent */
static const struct smtp_reply *
smtp_param_envid(const unsigned char *v, size_t vlen, int has_value,
    unsigned flags, struct smtp_cmd *cmd)
{
	if (!has_value || vlen > SMTP_ENVID_MAX ||
	    smtp_xtext_decode((const char *)v, vlen, cmd->mail.envid,
	    sizeof(cmd->mail.envid)) == -1)
		return &R_ENVID;
	return NULL;
}

/* AUTH=xtext (RFC 4954 §5): the authenticated submitter or "<>". It is
 * kept decoded and not trusted: the session decides what to do with it. */
static const struct smtp_reply *
smtp_param_auth(const unsigned char *v, size_t vlen, int has_value,
    unsigned flags, struct smtp_cmd *cmd)
{
	if (!has_value || smtp_xtext_decode((const char *)v, vlen,
	    cmd->mail.auth, sizeof(cmd->mail.auth)) <= 0)
		return &R_AUTH_PARAM;
	return NULL;
}

/* NOTIFY=NEVER / 1#(SUCCESS / FAILURE / DELAY) (RFC 3461 §4.1). A
 * repeated element is refused: no client needs it. */
static const struct smtp_reply *
smtp_param_notify(const unsigned char *v, size_t vlen, int has_value,
    unsigned flags, struct smtp_cmd *cmd)
{
	size_t		start = 0, i;
	unsigned	bit, all = 0;

	if (!has_value)
		return &R_NOTIFY;
	for (i = 0; i <= vlen; i++) {
		if (i < vlen && v[i] != ',')
			continue;
		if (smtp_parse_ieq(v + start, i - start, "NEVER"))
			bit = SMTP_NOTIFY_NEVER;
		else if (smtp_parse_ieq(v + start, i - start, "SUCCESS"))
			bit = SMTP_NOTIFY_SUCCESS;
		else if (smtp_parse_ieq(v + start, i - start, "FAILURE"))
			bit = SMTP_NOTIFY_FAILURE;
		else if (smtp_parse_ieq(v + start, i - start, "DELAY"))
			bit = SMTP_NOTIFY_DELAY;
		else
			return &R_NOTIFY;
		if (all & bit)
			return &R_NOTIFY;
		all |= bit;
		start = i + 1;
	}
	if ((all & SMTP_NOTIFY_NEVER) && all != SMTP_NOTIFY_NEVER)
		return &R_NOTIFY;
	cmd->rcpt.notify = all;
	return NULL;
}

/*
 * ORCPT=addr-type ";" xtext (RFC 3461 §4.2). Any atom is accepted as
 * addr-type, as the RFC says the address need not follow that type's
 * syntax; "utf-8" (RFC 6533) has its own encoding. Kept as sent and
 * decoded.
 */
static const struct smtp_reply *
smtp_param_orcpt(const unsigned char *v, size_t vlen, int has_value,
    unsigned flags, struct smtp_cmd *cmd)
{
	struct smtp_rcpt_params	*r = &cmd->rcpt;
	const unsigned char	*semi, *x;
	size_t			 tlen, xlen, i;
	int			 bad;

	if (!has_value || vlen > SMTP_ORCPT_MAX ||
	    (semi = memchr(v, ';', vlen)) == NULL)
		return &R_ORCPT;
	tlen = semi - v;
	x = semi + 1;
	xlen = vlen - tlen - 1;
	if (tlen == 0 || tlen > SMTP_ORCPT_TYPE_MAX || xlen == 0)
		return &R_ORCPT;
	for (i = 0; i < tlen; i++) {
		if (!smtp_parse_is_letdig(v[i]) &&
		    strchr("!#$%&'*+-/=?^_`{|}~", v[i]) == NULL)
			return &R_ORCPT;
		r->orcpt_type_name[i] = (char)smtp_parse_lower(v[i]);
	}
	r->orcpt_type_name[tlen] = '\0';
	if (smtp_parse_ieq(v, tlen, "utf-8")) {
		r->orcpt_type = SMTP_ORCPT_UTF8;
		bad = smtp_parse_uxtext(x, xlen, r->orcpt, sizeof(r->orcpt));
	} else {
		r->orcpt_type = smtp_parse_ieq(v, tlen, "rfc822") ?
		    SMTP_ORCPT_RFC822 : SMTP_ORCPT_OTHER;
		bad = smtp_xtext_decode((const char *)x, xlen, r->orcpt,
		    sizeof(r->orcpt)) == -1;
	}
	if (bad)
		return &R_ORCPT;
	memcpy(r->orcpt_raw, x, xlen);
	r->orcpt_raw[xlen] = '\0';
	return NULL;
}

static const struct smtp_param_def smtp_mail_params[] = {
	{ "SIZE",	SMTP_P_SIZE,	 smtp_param_size },
	{ "BODY",	SMTP_P_BODY,	 smtp_param_body },
	{ "SMTPUTF8",	SMTP_P_SMTPUTF8, smtp_param_smtputf8 },
	{ "RET",	SMTP_P_RET,	 smtp_param_ret },
	{ "ENVID",	SMTP_P_ENVID,	 smtp_param_envid },
	{ "AUTH",	SMTP_P_AUTH,	 smtp_param_auth },
	{ NULL,		0,		 NULL },
};

static const struct smtp_param_def smtp_rcpt_params[] = {
	{ "NOTIFY",	SMTP_P_NOTIFY,	 smtp_param_notify },
	{ "ORCPT",	SMTP_P_ORCPT,	 smtp_param_orcpt },
	{ NULL,		0,		 NULL },
};

/* esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 when utf8_ok. */
static const struct smtp_reply *
smtp_parse_value(struct cursor *c, int utf8_ok)
{
	size_t	n;
	int	ch;

	while (c->pos < c->len && (ch = c->p[c->pos]) != ' ') {
		if (ch > 32 && ch < 127 && ch != '=')
			n = 1;
		else if (ch >= 0x80 && (n = address_utf8_len(c->p + c->pos,
		    c->len - c->pos)) > 0) {
			if (!utf8_ok)
				return &R_PARAM_UTF8;
		} else
			return &R_PARAM_SYNTAX;
		c->pos += n;
	}
	return NULL;
}

static const struct smtp_param_def *
smtp_parse_param_def(const struct smtp_param_def *defs,
    const unsigned char *k, size_t klen)
{
	for (; defs->name != NULL; defs++)
		if (smtp_parse_ieq(k, klen, defs->name))
			return defs;
	return NULL;
}

/*
 * *( SP esmtp-keyword ["=" esmtp-value] ) to the end of the line: one
 * space between parameters, nothing trailing. A keyword we do not know
 * gets 555 (RFC 5321 §4.1.1.11) once its syntax is known to be right.
 */
static int
smtp_parse_params(struct cursor *c, const struct smtp_param_def *defs,
    unsigned *has, int utf8_ok, unsigned flags, struct smtp_cmd *cmd)
{
	const struct smtp_param_def	*def;
	const struct smtp_reply		*r;
	size_t				 kstart, vstart;
	int				 has_value;

	while (c->pos < c->len) {
		if (c->p[c->pos++] != ' ')
			return smtp_parse_fail(cmd, &R_PARAM_SYNTAX);
		kstart = c->pos;
		while (c->pos < c->len && (smtp_parse_is_letdig(c->p[c->pos]) ||
		    (c->p[c->pos] == '-' && c->pos > kstart)))
			c->pos++;
		if (c->pos == kstart)
			return smtp_parse_fail(cmd, &R_PARAM_SYNTAX);
		def = smtp_parse_param_def(defs, c->p + kstart,
		    c->pos - kstart);
		has_value = c->pos < c->len && c->p[c->pos] == '=';
		vstart = c->pos + has_value;
		c->pos = vstart;
		if ((r = smtp_parse_value(c, utf8_ok)) != NULL)
			return smtp_parse_fail(cmd, r);
		if (has_value ? c->pos == vstart : c->pos != vstart)
			return smtp_parse_fail(cmd, &R_PARAM_SYNTAX);
		if (def == NULL)
			return smtp_parse_fail(cmd, &R_PARAM_UNKNOWN);
		if (*has & def->bit)
			return smtp_parse_fail(cmd, &R_PARAM_DUP);
		*has |= def->bit;
		if ((r = def->fn(c->p + vstart, c->pos - vstart, has_value,
		    flags, cmd)) != NULL)
			return smtp_parse_fail(cmd, r);
	}
	return 0;
}

/* " FROM:" / " TO:" and, liberally, one space before the '<': some
 * clients in the wild send "MAIL FROM: <a@example.org>". */
static int
smtp_parse_path_prefix(struct cursor *c, const char *kw)
{
	size_t	n = strlen(kw);

	if (c->len - c->pos < n + 1 || c->p[c->pos] != ' ' ||
	    !smtp_parse_ieq(c->p + c->pos + 1, n, kw))
		return 0;
	c->pos += n + 1;
	if (c->pos < c->len && c->p[c->pos] == ' ')
		c->pos++;
	return c->pos < c->len && c->p[c->pos] == '<';
}

/* MAIL FROM:<reverse-path> [SP Mail-parameters] */
static int
smtp_parse_mail(struct cursor *c, unsigned flags, struct smtp_cmd *cmd)
{
	enum address_error	e;
	size_t			n;

	if (!smtp_parse_path_prefix(c, "FROM:"))
		return smtp_parse_fail(cmd, &R_MAIL);
	/* UTF-8 is parsed first and judged once we know whether the
	 * SMTPUTF8 parameter, which follows the path, is there. */
	e = address_parse_path((const char *)c->p + c->pos, c->len - c->pos,
	    ADDRESS_F_NULL_OK | ADDRESS_F_UTF8, &cmd->path, &n);
	if (e != ADDRESS_OK)
		return smtp_parse_fail(cmd, address_error_reply(e));
	c->pos += n;
	if (smtp_parse_params(c, smtp_mail_params, &cmd->mail.has, 1, flags,
	    cmd) == -1)
		return -1;
	if ((cmd->path.flags & ADDRESS_UTF8) &&
	    !(cmd->mail.has & SMTP_P_SMTPUTF8))
		return smtp_parse_fail(cmd,
		    address_error_reply(ADDRESS_ERR_UTF8_NOT_ALLOWED));
	return 0;
}

/* RCPT TO:<forward-path> [SP Rcpt-parameters]; "<Postmaster>" too. */
static int
smtp_parse_rcpt(struct cursor *c, unsigned flags, struct smtp_cmd *cmd)
{
	enum address_error	e;
	unsigned		af = ADDRESS_F_POSTMASTER_OK;
	size_t			n;
	int			utf8 = (flags & SMTP_PARSE_F_UTF8) != 0;

	if (!smtp_parse_path_prefix(c, "TO:"))
		return smtp_parse_fail(cmd, &R_RCPT);
	if (utf8)
		af |= ADDRESS_F_UTF8;
	e = address_parse_path((const char *)c->p + c->pos, c->len - c->pos,
	    af, &cmd->path, &n);
	if (e != ADDRESS_OK)
		return smtp_parse_fail(cmd, address_error_reply(e));
	c->pos += n;
	return smtp_parse_params(c, smtp_rcpt_params, &cmd->rcpt.has, utf8,
	    flags, cmd);
}

/* The argument after the verb, which ended at a space or at the end of
 * the line: NULL when there is none, possibly empty ("DATA "). */
static void
smtp_parse_arg(const struct cursor *c, const unsigned char **arg, size_t *n)
{
	*arg = c->pos < c->len ? c->p + c->pos + 1 : NULL;
	*n = c->pos < c->len ? c->len - c->pos - 1 : 0;
}

/*
 * HELO/EHLO: a Domain or an address-literal, validated (RFC 5321
 * §4.1.1.1), ASCII only since SMTPUTF8 is not negotiated yet. A bare IP
 * address passes (it is a valid Domain, syntactically); an underscore,
 * a trailing dot or words after the name are refused: the name goes into
 * Received: headers and logs, so it must be exactly a name.
 */
static int
smtp_parse_helo(struct cursor *c, unsigned flags, struct smtp_cmd *cmd)
{
	const struct smtp_reply	*syntax = cmd->verb == SMTP_CMD_HELO ?
				    &R_HELO : &R_EHLO;
	const unsigned char	*a;
	size_t			 n;

	smtp_parse_arg(c, &a, &n);
	if (n == 0)
		return smtp_parse_fail(cmd, syntax);
	if (address_parse_domain((const char *)a, n, 0, cmd->helo,
	    sizeof(cmd->helo), &cmd->helo_family, NULL) != ADDRESS_OK)
		return smtp_parse_fail(cmd, &R_HELO_DOMAIN);
	return 0;
}

static int
smtp_parse_noarg(struct cursor *c, unsigned flags, struct smtp_cmd *cmd)
{
	const struct smtp_reply	*r;

	if (c->pos == c->len)
		return 0;
	switch (cmd->verb) {
	case SMTP_CMD_DATA:
		r = &R_DATA;
		break;
	case SMTP_CMD_RSET:
		r = &R_RSET;
		break;
	case SMTP_CMD_QUIT:
		r = &R_QUIT;
		break;
	default:
		r = &R_STARTTLS;
		break;
	}
	return smtp_parse_fail(cmd, r);
}

/* NOOP [SP String], HELP [SP String]: the verb ended at a space or at
 * the end, and whatever follows is ignored, as RFC 5321 allows. */
static int
smtp_parse_optarg(struct cursor *c, unsigned flags, struct smtp_cmd *cmd)
{
	return 0;
}

/* VRFY/EXPN SP String: kept when it is safe text. */
static int
smtp_parse_vrfy(struct cursor *c, unsigned flags, struct smtp_cmd *cmd)
{
	const struct smtp_reply	*syntax = cmd->verb == SMTP_CMD_VRFY ?
				    &R_VRFY : &R_EXPN;
	const unsigned char	*a;
	size_t			 n;

	smtp_parse_arg(c, &a, &n);
	if (n == 0 || n > SMTP_ARG_MAX || !smtp_parse_safe_text(a, n))
		return smtp_parse_fail(cmd, syntax);
	memcpy(cmd->arg, a, n);
	cmd->arg[n] = '\0';
	return 0;
}

/* BDAT SP chunk-size [SP "LAST"] (RFC 3030 §2) */
static int
smtp_parse_bdat(struct cursor *c, unsigned flags, struct smtp_cmd *cmd)
{
	const unsigned char	*a;
	size_t			 n, d;
	int			 r;

	smtp_parse_arg(c, &a, &n);
	if (a == NULL)
		return smtp_parse_fail(cmd, &R_BDAT);
	r = smtp_parse_u64(a, n, &cmd->bdat.size, &d);
	if (r == -2)
		return smtp_parse_fail(cmd, &R_BDAT_BIG);
	/* "BDAT 12x": no telling how many bytes follow. */
	if (r == -1 || (d < n && a[d] != ' '))
		return smtp_parse_fail(cmd, &R_BDAT);
	cmd->bdat.size_valid = 1;
	if (d == n)
		return 0;
	if (!smtp_parse_ieq(a + d + 1, n - d - 1, "LAST"))
		return smtp_parse_fail(cmd, &R_BDAT);
	cmd->bdat.last = 1;
	return 0;
}

/* base64 characters, or a lone "=" for an empty response (RFC 4954 §4) */
static int
smtp_parse_is_b64(const unsigned char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!smtp_parse_is_letdig(s[i]) && s[i] != '+' &&
		    s[i] != '/' && s[i] != '=')
			return 0;
	return n > 0;
}

/* AUTH SP sasl-mech [SP initial-response] */
static int
smtp_parse_auth(struct cursor *c, unsigned flags, struct smtp_cmd *cmd)
{
	const unsigned char	*a;
	size_t			 n, i;

	smtp_parse_arg(c, &a, &n);
	if (n == 0)
		return smtp_parse_fail(cmd, &R_AUTH);
	for (i = 0; i < n && a[i] != ' '; i++) {
		/* sasl-mech = 1*20(UPPER-ALPHA / DIGIT / "-" / "_") */
		if (i == SMTP_MECH_MAX || (!smtp_parse_is_letdig(a[i]) &&
		    a[i] != '-' && a[i] != '_'))
			return smtp_parse_fail(cmd, &R_AUTH);
		cmd->mech[i] = (char)(a[i] >= 'a' && a[i] <= 'z' ?
		    a[i] - 'a' + 'A' : a[i]);
	}
	if (i == 0)
		return smtp_parse_fail(cmd, &R_AUTH);
	cmd->mech[i] = '\0';
	if (i == n)
		return 0;
	if (i + 1 == n)
		return smtp_parse_fail(cmd, &R_AUTH);
	if (!smtp_parse_is_b64(a + i + 1, n - i - 1))
		return smtp_parse_fail(cmd, &R_AUTH_B64);
	cmd->initial = (const char *)a + i + 1;
	cmd->initial_len = n - i - 1;
	return 0;
}

static const struct {
	const char		*name;
	enum smtp_verb		 verb;
	int			(*fn)(struct cursor *, unsigned,
				    struct smtp_cmd *);
} smtp_verbs[] = {
	{ "HELO",	SMTP_CMD_HELO,		smtp_parse_helo },
	{ "EHLO",	SMTP_CMD_EHLO,		smtp_parse_helo },
	{ "MAIL",	SMTP_CMD_MAIL,		smtp_parse_mail },
	{ "RCPT",	SMTP_CMD_RCPT,		smtp_parse_rcpt },
	{ "DATA",	SMTP_CMD_DATA,		smtp_parse_noarg },
	{ "BDAT",	SMTP_CMD_BDAT,		smtp_parse_bdat },
	{ "RSET",	SMTP_CMD_RSET,		smtp_parse_noarg },
	{ "NOOP",	SMTP_CMD_NOOP,		smtp_parse_optarg },
	{ "QUIT",	SMTP_CMD_QUIT,		smtp_parse_noarg },
	{ "HELP",	SMTP_CMD_HELP,		smtp_parse_optarg },
	{ "VRFY",	SMTP_CMD_VRFY,		smtp_parse_vrfy },
	{ "EXPN",	SMTP_CMD_EXPN,		smtp_parse_vrfy },
	{ "STARTTLS",	SMTP_CMD_STARTTLS,	smtp_parse_noarg },
	{ "AUTH",	SMTP_CMD_AUTH,		smtp_parse_auth },
};

int
smtp_parse_line(const char *line, size_t len, unsigned flags,
    struct smtp_cmd *cmd)
{
	struct cursor	c = { (const unsigned char *)line, len, 0 };
	size_t		i;

	memset(cmd, 0, sizeof(*cmd));
	/* The verb runs to the first space or the end of the line. */
	while (c.pos < len && c.p[c.pos] != ' ')
		c.pos++;
	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++) {
		if (smtp_parse_ieq(c.p, c.pos, smtp_verbs[i].name)) {
			cmd->verb = smtp_verbs[i].verb;
			return smtp_verbs[i].fn(&c, flags, cmd);
		}
	}
	return smtp_parse_fail(cmd, &R_UNKNOWN);
}

const char *
smtp_verb_name(enum smtp_verb v)
{
	size_t	i;

	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (smtp_verbs[i].verb == v)
			return smtp_verbs[i].name;
	return "UNKNOWN";
}
