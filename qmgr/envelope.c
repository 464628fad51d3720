/*
 * envelope.c: a message's envelope in memory and as the small text file
 * stored in env/ (bulwark-queue(5)). The writer produces one canonical
 * form; the parser accepts that form only, with every length bounded, so
 * a damaged file is refused and moved aside rather than half-believed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmgr.h"

#define ENV_MAX_TOKENS	12

struct ebuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

struct eparser {
	struct envelope	*env;
	char		*err;
	size_t		 errlen;
	int		 lineno;
	uint32_t	 seen;		/* header keys, by bit */
	size_t		 nrcpt;		/* announced by "nrcpt" */
	int		 ended;
};

struct name_bit {
	const char	*name;
	uint32_t	 bit;
};

static const char *const state_names[] = {
	"pending", "delivered", "deferred", "failed",
};
static const char *const body_names[] = { "7bit", "8bitmime", "binarymime" };
static const char *const ret_names[] = { "none", "full", "hdrs" };

static const struct name_bit notify_names[] = {
	{ "success", QM_NOTIFY_SUCCESS },
	{ "failure", QM_NOTIFY_FAILURE },
	{ "delay", QM_NOTIFY_DELAY },
	{ "never", QM_NOTIFY_NEVER },
	{ NULL, 0 },
};

static const struct name_bit reported_names[] = {
	{ "delay", RCPT_REPORTED_DELAY },
	{ "failure", RCPT_REPORTED_FAILURE },
	{ "success", RCPT_REPORTED_SUCCESS },
	{ NULL, 0 },
};

/*
 * The envelope in memory.
 */

void
envelope_init(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
}

void
envelope_free(struct envelope *env)
{
	size_t	i;

	for (i = 0; i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].orcpt);
		free(env->rcpt[i].text);
	}
	free(env->rcpt);
	free(env->sender);
	free(env->client_addr);
	free(env->client_name);
	free(env->helo);
	free(env->auth);
	free(env->envid);
	envelope_init(env);
}

int
envelope_set(char **field, const char *value)
{
	char	*s;

	if ((s = strdup(value == NULL ? "" : value)) == NULL)
		return -1;
	free(*field);
	*field = s;
	return 0;
}

static struct envelope_rcpt *
envelope_rcpt_grow(struct envelope *env)
{
	struct envelope_rcpt	*v;
	size_t			 cap;

	if (env->nrcpt >= ENVELOPE_RCPT_MAX) {
		errno = E2BIG;
		return NULL;
	}
	if (env->nrcpt == env->rcpt_cap) {
		cap = env->rcpt_cap == 0 ? 4 : env->rcpt_cap * 2;
		if (cap > ENVELOPE_RCPT_MAX)
			cap = ENVELOPE_RCPT_MAX;
		v = reallocarray(env->rcpt, cap, sizeof(*v));
		if (v == NULL)
			return NULL;
		env->rcpt = v;
		env->rcpt_cap = cap;
	}
	v = &env->rcpt[env->nrcpt];
	memset(v, 0, sizeof(*v));
	return v;
}

int
envelope_rcpt_add(struct envelope *env, const char *addr, const char *orcpt,
    uint32_t notify)
{
	struct envelope_rcpt	*r;

	if ((r = envelope_rcpt_grow(env)) == NULL)
		return -1;
	if (envelope_set(&r->addr, addr) == -1 ||
	    envelope_set(&r->orcpt, orcpt) == -1 ||
	    envelope_set(&r->text, "") == -1) {
		free(r->addr);
		free(r->orcpt);
		free(r->text);
		return -1;
	}
	r->notify = notify;
	r->state = RCPT_PENDING;
	env->nrcpt++;
	return 0;
}

int
envelope_qid_valid(const char *s)
{
	size_t	i;

	for (i = 0; i < QMGR_QID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return s[i] == '\0';
}

/* 1 to 3 digits */
static const char *
dsn_digits(const char *s)
{
	size_t	n = strspn(s, "0123456789");

	return n >= 1 && n <= 3 ? s + n : NULL;
}

int
envelope_dsn_valid(const char *s)
{
	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	if ((s = dsn_digits(s + 2)) == NULL || *s != '.')
		return 0;
	return (s = dsn_digits(s + 1)) != NULL && *s == '\0';
}

const char *
envelope_state_name(enum rcpt_state st)
{
	return (size_t)st < 4 ? state_names[st] : "?";
}

int
envelope_rcpt_final(const struct envelope_rcpt *r)
{
	return r->state == RCPT_DELIVERED || r->state == RCPT_FAILED;
}

/*
 * Writing.
 */

static void
eb_add(struct ebuf *b, const char *s, size_t n)
{
	size_t	 cap;
	char	*p;

	if (b->err)
		return;
	if (n > ENVELOPE_FILE_MAX - b->len) {
		b->err = 1;
		return;
	}
	if (b->len + n > b->cap) {
		cap = b->cap == 0 ? 1024 : b->cap;
		while (cap < b->len + n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void __attribute__((format(printf, 2, 3)))
eb_printf(struct ebuf *b, const char *fmt, ...)
{
	char	buf[128];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		b->err = 1;
		return;
	}
	eb_add(b, buf, (size_t)n);
}

/* A space, then s encoded: "-" for empty, %XX for anything that is not
 * printable ASCII, for space and for '%'. */
static void
eb_field(struct ebuf *b, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	const unsigned char	*u = (const unsigned char *)s;
	char			 e[3];

	eb_add(b, " ", 1);
	if (*u == '\0') {
		eb_add(b, "-", 1);
		return;
	}
	if (strcmp(s, "-") == 0) {
		eb_add(b, "%2D", 3);
		return;
	}
	for (; *u != '\0'; u++) {
		if (*u > 0x20 && *u < 0x7f && *u != '%') {
			eb_add(b, (const char *)u, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[*u >> 4];
		e[2] = hex[*u & 0xf];
		eb_add(b, e, 3);
	}
}

static void
eb_bits(struct ebuf *b, uint32_t bits, const struct name_bit *names)
{
	const char	*sep = " ";

	if (bits == 0) {
		eb_add(b, " -", 2);
		return;
	}
	for (; names->name != NULL; names++) {
		if (!(bits & names->bit))
			continue;
		eb_add(b, sep, 1);
		eb_add(b, names->name, strlen(names->name));
		sep = ",";
	}
}

static void
eb_rcpt(struct ebuf *b, const struct envelope_rcpt *r)
{
	eb_add(b, "rcpt", 4);
	eb_field(b, r->addr);
	eb_field(b, r->orcpt);
	eb_bits(b, r->notify, notify_names);
	eb_printf(b, " %s %u %lld", envelope_state_name(r->state),
	    r->attempts, (long long)r->next_try);
	eb_bits(b, r->reported, reported_names);
	eb_field(b, r->dsn);
	eb_field(b, r->text);
	eb_add(b, "\n", 1);
}

static void
eb_line(struct ebuf *b, const char *key, const char *value)
{
	eb_add(b, key, strlen(key));
	eb_field(b, value);
	eb_add(b, "\n", 1);
}

char *
envelope_format(const struct envelope *env, size_t *len)
{
	struct ebuf	b = { NULL, 0, 0, 0 };
	size_t		i;

	if (env->body > QM_BODY_BINARYMIME || env->ret > QM_RET_HDRS)
		return NULL;
	eb_printf(&b, "version %d\nqid %s\narrival %lld\n", ENVELOPE_VERSION,
	    env->qid, (long long)env->arrival);
	eb_line(&b, "sender", env->sender);
	eb_line(&b, "client-addr", env->client_addr);
	eb_line(&b, "client-name", env->client_name);
	eb_line(&b, "helo", env->helo);
	eb_line(&b, "auth", env->auth);
	eb_printf(&b, "body %s\nsmtputf8 %d\nret %s\n", body_names[env->body],
	    (env->flags & QM_F_SMTPUTF8) ? 1 : 0, ret_names[env->ret]);
	eb_line(&b, "envid", env->envid);
	eb_printf(&b, "size %llu\nnrcpt %zu\n", (unsigned long long)env->size,
	    env->nrcpt);
	for (i = 0; i < env->nrcpt; i++)
		eb_rcpt(&b, &env->rcpt[i]);
	eb_add(&b, "end\n", 5);	/* and a NUL, not counted */
	if (b.err) {
		free(b.p);
		return NULL;
	}
	*len = b.len - 1;
	return b.p;
}

/*
 * Parsing.
 */

static int __attribute__((format(printf, 2, 3)))
perr(struct eparser *p, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->lineno > 0)
		snprintf(p->err, p->errlen, "line %d: %s", p->lineno, msg);
	else
		snprintf(p->err, p->errlen, "%s", msg);
	return -1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes a field written by eb_field into a malloc'd string of at most
 * max bytes. */
static int
parse_field(struct eparser *p, const char *tok, size_t max, char **out)
{
	char	buf[ENVELOPE_LINE_MAX];
	size_t	n = 0;
	int	hi, lo;

	if (strcmp(tok, "-") == 0)
		tok = "";
	for (; *tok != '\0'; tok++) {
		if (n >= max || n >= sizeof(buf) - 1)
			return perr(p, "field longer than %zu bytes", max);
		if (*tok != '%') {
			buf[n++] = *tok;
			continue;
		}
		if ((hi = hexval(tok[1])) == -1 || (lo = hexval(tok[2])) == -1)
			return perr(p, "bad %%-escape");
		if ((buf[n++] = (char)(hi << 4 | lo)) == '\0')
			return perr(p, "escaped NUL byte");
		tok += 2;
	}
	buf[n] = '\0';
	free(*out);
	if ((*out = strdup(buf)) == NULL)
		return perr(p, "out of memory");
	return 0;
}

/* A decimal number without sign or leading zeros, at most max. */
static int
parse_num(struct eparser *p, const char *s, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0, d;
	size_t		n = strlen(s);

	if (n == 0 || n > 20 || strspn(s, "0123456789") != n ||
	    (n > 1 && s[0] == '0'))
		return perr(p, "bad number \"%.32s\"", s);
	for (; *s != '\0'; s++) {
		d = (uint64_t)(*s - '0');
		if (d > max || v > max / 10 || v * 10 > max - d)
			return perr(p, "number out of range");
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
parse_name(struct eparser *p, const char *s, const char *const *names,
    size_t n, uint32_t *out)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (uint32_t)i;
			return 0;
		}
	return perr(p, "unknown value \"%.32s\"", s);
}

/* "-" or a comma-separated list of names, each at most once. */
static int
parse_bits(struct eparser *p, const char *s, const struct name_bit *names,
    uint32_t *out)
{
	const struct name_bit	*nb;
	size_t			 n;

	*out = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	for (;;) {
		n = strcspn(s, ",");
		for (nb = names; nb->name != NULL; nb++)
			if (strlen(nb->name) == n && strncmp(s, nb->name, n) == 0)
				break;
		if (nb->name == NULL || (*out & nb->bit))
			return perr(p, "bad flag list");
		*out |= nb->bit;
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

/* Splits line in place at single spaces into at most max tokens and
 * returns their number; refuses empty tokens and bytes outside
 * printable ASCII. */
static int
tokenize(struct eparser *p, char *line, char **tok, int max)
{
	int	n = 0, i;
	char	*s;

	for (s = line; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return perr(p, "control or 8-bit byte in line");
	for (s = line;;) {
		if (n == max)
			return perr(p, "too many fields");
		tok[n++] = s;
		if ((s = strchr(s, ' ')) == NULL)
			break;
		*s++ = '\0';
	}
	for (i = 0; i < n; i++)
		if (tok[i][0] == '\0')
			return perr(p, "empty field");
	return n;
}

enum header_key {
	K_QID, K_ARRIVAL, K_SENDER, K_CLIENT_ADDR, K_CLIENT_NAME, K_HELO,
	K_AUTH, K_BODY, K_SMTPUTF8, K_RET, K_ENVID, K_SIZE, K_NRCPT,
	K_NKEYS
};

#define K_ALL	((1U << K_NKEYS) - 1)

static const char *const header_keys[K_NKEYS] = {
	"qid", "arrival", "sender", "client-addr", "client-name", "helo",
	"auth", "body", "smtputf8", "ret", "envid", "size", "nrcpt",
};

static char **
header_str(struct envelope *env, enum header_key k)
{
	switch (k) {
	case K_SENDER:
		return &env->sender;
	case K_CLIENT_ADDR:
		return &env->client_addr;
	case K_CLIENT_NAME:
		return &env->client_name;
	case K_HELO:
		return &env->helo;
	case K_AUTH:
		return &env->auth;
	case K_ENVID:
		return &env->envid;
	default:
		return NULL;
	}
}

static int
parse_nrcpt(struct eparser *p, const char *v)
{
	uint64_t	n;

	if (parse_num(p, v, ENVELOPE_RCPT_MAX, &n) == -1)
		return -1;
	if (n == 0)
		return perr(p, "no recipients");
	p->env->rcpt = calloc((size_t)n, sizeof(*p->env->rcpt));
	if (p->env->rcpt == NULL)
		return perr(p, "out of memory");
	p->env->rcpt_cap = p->nrcpt = (size_t)n;
	return 0;
}

static int
parse_header(struct eparser *p, enum header_key k, const char *v)
{
	struct envelope	*env = p->env;
	uint64_t	 n;
	char		**field;

	if ((field = header_str(env, k)) != NULL)
		return parse_field(p, v, ENVELOPE_FIELD_MAX, field);
	switch (k) {
	case K_QID:
		if (!envelope_qid_valid(v))
			return perr(p, "bad queue id");
		strlcpy(env->qid, v, sizeof(env->qid));
		return 0;
	case K_ARRIVAL:
		if (parse_num(p, v, ENVELOPE_TIME_MAX, &n) == -1)
			return -1;
		env->arrival = (int64_t)n;
		return 0;
	case K_BODY:
		return parse_name(p, v, body_names, 3, &env->body);
	case K_SMTPUTF8:
		if (parse_num(p, v, 1, &n) == -1)
			return -1;
		env->flags = n ? QM_F_SMTPUTF8 : 0;
		return 0;
	case K_RET:
		return parse_name(p, v, ret_names, 3, &env->ret);
	case K_SIZE:
		return parse_num(p, v, UINT64_MAX, &env->size);
	case K_NRCPT:
		return parse_nrcpt(p, v);
	default:
		return perr(p, "internal: key %d", (int)k);
	}
}

static int
parse_dsn(struct eparser *p, const char *tok, struct envelope_rcpt *r)
{
	char	*dsn = NULL;
	int	 rc = 0;

	if (parse_field(p, tok, ENVELOPE_DSN_MAX, &dsn) == -1)
		return -1;
	if (dsn[0] != '\0' && !envelope_dsn_valid(dsn))
		rc = perr(p, "bad status code");
	else
		strlcpy(r->dsn, dsn, sizeof(r->dsn));
	free(dsn);
	return rc;
}

/* The numbers and flags of a recipient line: tok[3..7]. */
static int
parse_rcpt_state(struct eparser *p, char **tok, struct envelope_rcpt *r)
{
	uint64_t	n;
	uint32_t	st = 0;

	if (parse_bits(p, tok[3], notify_names, &r->notify) == -1 ||
	    parse_name(p, tok[4], state_names, 4, &st) == -1)
		return -1;
	if ((r->notify & QM_NOTIFY_NEVER) && r->notify != QM_NOTIFY_NEVER)
		return perr(p, "NOTIFY=NEVER with other values");
	r->state = (enum rcpt_state)st;
	if (parse_num(p, tok[5], ENVELOPE_ATTEMPTS_MAX, &n) == -1)
		return -1;
	r->attempts = (uint32_t)n;
	if (parse_num(p, tok[6], ENVELOPE_TIME_MAX, &n) == -1)
		return -1;
	r->next_try = (int64_t)n;
	return parse_bits(p, tok[7], reported_names, &r->reported);
}

/* rcpt addr orcpt notify state attempts next-try reported dsn text */
static int
parse_rcpt(struct eparser *p, char **tok, int ntok)
{
	struct envelope		*env = p->env;
	struct envelope_rcpt	*r;

	if (ntok != 10)
		return perr(p, "recipient line needs 9 fields");
	if (p->seen != K_ALL)
		return perr(p, "recipient before the header is complete");
	if (env->nrcpt == p->nrcpt)
		return perr(p, "more recipients than announced");
	r = &env->rcpt[env->nrcpt++];	/* zeroed: freed on failure */
	if (parse_field(p, tok[1], ENVELOPE_FIELD_MAX, &r->addr) == -1 ||
	    parse_field(p, tok[2], ENVELOPE_FIELD_MAX, &r->orcpt) == -1 ||
	    parse_rcpt_state(p, tok, r) == -1 ||
	    parse_dsn(p, tok[8], r) == -1 ||
	    parse_field(p, tok[9], ENVELOPE_FIELD_MAX, &r->text) == -1)
		return -1;
	if (r->addr[0] == '\0')
		return perr(p, "empty recipient address");
	return 0;
}

static int
parse_version(struct eparser *p, char **tok, int ntok)
{
	uint64_t	v;

	if (ntok != 2 || strcmp(tok[0], "version") != 0)
		return perr(p, "not an envelope: no version line");
	if (parse_num(p, tok[1], UINT32_MAX, &v) == -1)
		return -1;
	if (v != ENVELOPE_VERSION)
		return perr(p, "unsupported envelope version %llu",
		    (unsigned long long)v);
	return 0;
}

static int
parse_end(struct eparser *p, int ntok)
{
	int	k;

	if (ntok != 1)
		return perr(p, "bad end line");
	for (k = 0; k < K_NKEYS; k++)
		if (!(p->seen & (1U << k)))
			return perr(p, "missing \"%s\"", header_keys[k]);
	if (p->env->nrcpt != p->nrcpt)
		return perr(p, "%zu recipients, %zu announced",
		    p->env->nrcpt, p->nrcpt);
	p->ended = 1;
	return 0;
}

static int
parse_line(struct eparser *p, char *line)
{
	char	*tok[ENV_MAX_TOKENS];
	int	 ntok, k;

	if ((ntok = tokenize(p, line, tok, ENV_MAX_TOKENS)) == -1)
		return -1;
	if (p->lineno == 1)
		return parse_version(p, tok, ntok);
	if (strcmp(tok[0], "rcpt") == 0)
		return parse_rcpt(p, tok, ntok);
	if (strcmp(tok[0], "end") == 0)
		return parse_end(p, ntok);
	for (k = 0; k < K_NKEYS; k++)
		if (strcmp(tok[0], header_keys[k]) == 0)
			break;
	if (k == K_NKEYS)
		return perr(p, "unknown key \"%.32s\"", tok[0]);
	if (ntok != 2)
		return perr(p, "\"%s\" needs one value", header_keys[k]);
	if (p->seen & (1U << k))
		return perr(p, "duplicate \"%s\"", header_keys[k]);
	if (p->env->nrcpt > 0)
		return perr(p, "\"%s\" after the recipients", header_keys[k]);
	p->seen |= 1U << k;
	return parse_header(p, (enum header_key)k, tok[1]);
}

int
envelope_parse(struct envelope *env, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct eparser	 p = { env, err, errlen, 0, 0, 0, 0 };
	char		 line[ENVELOPE_LINE_MAX];
	const char	*s = text, *end = text + len, *nl;
	size_t		 n;

	envelope_init(env);
	while (s < end && !p.ended) {
		p.lineno++;
		n = (size_t)(end - s) < sizeof(line) ?
		    (size_t)(end - s) : sizeof(line);
		if ((nl = memchr(s, '\n', n)) == NULL) {
			if (n == sizeof(line))
				perr(&p, "line too long");
			else
				perr(&p, "truncated: no newline");
			goto fail;
		}
		memcpy(line, s, (size_t)(nl - s));
		line[nl - s] = '\0';
		if (memchr(line, '\0', (size_t)(nl - s)) != NULL) {
			perr(&p, "NUL byte in line");
			goto fail;
		}
		if (parse_line(&p, line) == -1)
			goto fail;
		s = nl + 1;
	}
	if (!p.ended) {
		p.lineno = 0;
		perr(&p, len == 0 ? "empty file" : "truncated: no end line");
		goto fail;
	}
	if (s != end) {
		perr(&p, "data after the end line");
		goto fail;
	}
	return 0;
fail:
	envelope_free(env);
	return -1;
}
