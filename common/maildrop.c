/*
 * maildrop.c: the maildrop file's envelope, written by sendmail(1) and
 * read back by qmgr. One canonical form, keys in a fixed order, every
 * length bounded; anything else is refused whole, so that qmgr sets the
 * file aside instead of half-believing it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildrop.h"
#include "proto.h"

struct mdbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

struct mdparse {
	const char	*buf;
	size_t		 len;
	size_t		 off;		/* start of the next line */
	int		 lineno;
	char		 line[MAILDROP_LINE_MAX + 1];
	char		*err;
	size_t		 errlen;
};

static const char *const body_names[] = { "7bit", "8bitmime" };
static const char *const ret_names[] = { "-", "full", "hdrs" };
static const struct {
	const char	*name;
	uint32_t	 bit;
} notify_names[] = {
	{ "success", QM_NOTIFY_SUCCESS },
	{ "failure", QM_NOTIFY_FAILURE },
	{ "delay", QM_NOTIFY_DELAY },
};

void
maildrop_init(struct maildrop *md)
{
	memset(md, 0, sizeof(*md));
}

void
maildrop_free(struct maildrop *md)
{
	free(md->rcpt);
	maildrop_init(md);
}

int
maildrop_rcpt_add(struct maildrop *md, const char *addr, uint32_t notify)
{
	struct maildrop_rcpt	*v;
	size_t			 cap;

	if (md->nrcpt >= MAILDROP_RCPT_MAX || strlen(addr) >
	    MAILDROP_ADDR_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (md->nrcpt == md->rcpt_cap) {
		cap = md->rcpt_cap == 0 ? 8 : md->rcpt_cap * 2;
		if ((v = reallocarray(md->rcpt, cap, sizeof(*v))) == NULL)
			return -1;
		md->rcpt = v;
		md->rcpt_cap = cap;
	}
	strlcpy(md->rcpt[md->nrcpt].addr, addr, MAILDROP_ADDR_MAX + 1);
	md->rcpt[md->nrcpt].notify = notify;
	md->nrcpt++;
	return 0;
}

int
maildrop_addr_ok(const char *addr, int utf8)
{
	const unsigned char	*s = (const unsigned char *)addr;

	if (strlen(addr) > MAILDROP_ADDR_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s == 0x7f || *s == '<' || *s == '>' ||
		    (*s >= 0x80 && !utf8))
			return 0;
	return 1;
}

int
maildrop_notify_parse(const char *s, uint32_t *notify)
{
	const char	*end;
	size_t		 i, n;

	*notify = 0;
	if (strcasecmp(s, "never") == 0) {
		*notify = QM_NOTIFY_NEVER;
		return 0;
	}
	for (; ; s = end + 1) {
		end = s + strcspn(s, ",");
		n = (size_t)(end - s);
		for (i = 0; i < 3; i++)
			if (strlen(notify_names[i].name) == n &&
			    strncasecmp(s, notify_names[i].name, n) == 0)
				break;
		if (i == 3 || (*notify & notify_names[i].bit))
			return -1;
		*notify |= notify_names[i].bit;
		if (*end == '\0')
			return 0;
	}
}

void
maildrop_notify_format(uint32_t notify, char *buf, size_t len)
{
	size_t	i;

	if (notify == 0 || notify == QM_NOTIFY_NEVER) {
		strlcpy(buf, notify ? "never" : "-", len);
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < 3; i++)
		if (notify & notify_names[i].bit) {
			if (buf[0] != '\0')
				strlcat(buf, ",", len);
			strlcat(buf, notify_names[i].name, len);
		}
}

/*
 * Writing.
 */

static void
mb_printf(struct mdbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mb_printf(struct mdbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len)
			break;
		if ((p = realloc(b->p, b->cap * 2 + (size_t)n)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = b->cap * 2 + (size_t)n;
	}
	b->len += (size_t)n;
}

static int
envid_ok(const char *s)
{
	if (strlen(s) > MAILDROP_ENVID_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

/* What the parser would refuse, refused before a file is written. */
static const char *
maildrop_check(const struct maildrop *md)
{
	size_t	i;
	int	utf8 = (md->flags & QM_F_SMTPUTF8) != 0;

	if ((md->flags & ~(uint32_t)QM_F_SMTPUTF8) != 0 ||
	    md->body > QM_BODY_8BITMIME || md->ret > QM_RET_HDRS)
		return "bad flags";
	if (!envid_ok(md->envid))
		return "bad envelope id";
	if (!maildrop_addr_ok(md->sender, utf8))
		return "bad sender";
	if (md->nrcpt == 0 || md->nrcpt > MAILDROP_RCPT_MAX)
		return "no recipients, or too many";
	for (i = 0; i < md->nrcpt; i++)
		if (md->rcpt[i].addr[0] == '\0' ||
		    strchr(md->rcpt[i].addr, '@') == NULL ||
		    !maildrop_addr_ok(md->rcpt[i].addr, utf8))
			return "bad recipient";
	return NULL;
}

char *
maildrop_format(const struct maildrop *md, size_t *len, char *err,
    size_t errlen)
{
	struct mdbuf	 b = { NULL, 0, 0, 0 };
	const char	*why;
	char		 notify[32];
	size_t		 i;

	if ((why = maildrop_check(md)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	b.cap = 256 + md->nrcpt * 64;
	if ((b.p = malloc(b.cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mb_printf(&b, "%s %d\nsmtputf8 %d\nbody %s\nret %s\nenvid %s\n"
	    "sender <%s>\n", MAILDROP_MAGIC, MAILDROP_VERSION,
	    (md->flags & QM_F_SMTPUTF8) ? 1 : 0, body_names[md->body],
	    ret_names[md->ret], md->envid[0] ? md->envid : "-", md->sender);
	for (i = 0; i < md->nrcpt; i++) {
		maildrop_notify_format(md->rcpt[i].notify, notify,
		    sizeof(notify));
		mb_printf(&b, "rcpt %s <%s>\n", notify, md->rcpt[i].addr);
	}
	mb_printf(&b, "end %zu\n", md->nrcpt);
	if (b.err) {
		free(b.p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/*
 * Reading.
 */

static int
mp_fail(struct mdparse *p, const char *why)
{
	snprintf(p->err, p->errlen, "line %d: %s", p->lineno, why);
	return -1;
}

/* The next line into p->line, without its LF: 0, or -1. */
static int
mp_line(struct mdparse *p)
{
	const char	*nl;
	size_t		 n, i;

	p->lineno++;
	nl = memchr(p->buf + p->off, '\n', p->len - p->off);
	if (nl == NULL)
		return mp_fail(p, "truncated envelope");
	n = (size_t)(nl - (p->buf + p->off));
	if (n > MAILDROP_LINE_MAX)
		return mp_fail(p, "line too long");
	memcpy(p->line, p->buf + p->off, n);
	p->line[n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)p->line[i] < 0x20 || p->line[i] == 0x7f)
			return mp_fail(p, "control character");
	p->off += n + 1;
	return 0;
}

/* "key value" with the key expected: the value, or NULL. */
static const char *
mp_key(struct mdparse *p, const char *key)
{
	size_t	n = strlen(key);

	if (mp_line(p) == -1)
		return NULL;
	if (strncmp(p->line, key, n) != 0 || p->line[n] != ' ') {
		snprintf(p->err, p->errlen, "line %d: %s expected",
		    p->lineno, key);
		return NULL;
	}
	return p->line + n + 1;
}

/* One of names (n of them): its index, or -1. */
static int
mp_choice(struct mdparse *p, const char *key, const char *const *names,
    int n)
{
	const char	*v;
	int		 i;

	if ((v = mp_key(p, key)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return mp_fail(p, "unknown value");
}

/* "<addr>" filling v, into out. */
static int
mp_addr(struct mdparse *p, const char *v, int utf8, char *out)
{
	size_t	n = strlen(v);

	if (n < 2 || v[0] != '<' || v[n - 1] != '>' ||
	    n - 2 > MAILDROP_ADDR_MAX)
		return mp_fail(p, "bad address");
	memcpy(out, v + 1, n - 2);
	out[n - 2] = '\0';
	if (!maildrop_addr_ok(out, utf8))
		return mp_fail(p, "bad address");
	return 0;
}

static int
mp_head(struct mdparse *p, struct maildrop *md)
{
	static const char *const flag_names[] = { "0", "1" };
	char		 magic[32];
	const char	*v;
	int		 i;

	snprintf(magic, sizeof(magic), "%d", MAILDROP_VERSION);
	if ((v = mp_key(p, MAILDROP_MAGIC)) == NULL)
		return -1;
	if (strcmp(v, magic) != 0)
		return mp_fail(p, "unknown version");
	if ((i = mp_choice(p, "smtputf8", flag_names, 2)) == -1)
		return -1;
	md->flags = i ? QM_F_SMTPUTF8 : 0;
	if ((i = mp_choice(p, "body", body_names, 2)) == -1)
		return -1;
	md->body = (uint32_t)i;
	if ((i = mp_choice(p, "ret", ret_names, 3)) == -1)
		return -1;
	md->ret = (uint32_t)i;
	if ((v = mp_key(p, "envid")) == NULL)
		return -1;
	if (!envid_ok(v) || strchr(v, ' ') != NULL || v[0] == '\0')
		return mp_fail(p, "bad envelope id");
	strlcpy(md->envid, strcmp(v, "-") == 0 ? "" : v, sizeof(md->envid));
	if ((v = mp_key(p, "sender")) == NULL)
		return -1;
	return mp_addr(p, v, md->flags & QM_F_SMTPUTF8, md->sender);
}

static int
mp_rcpt(struct mdparse *p, struct maildrop *md, const char *v)
{
	char		 notify[32], canon[32], addr[MAILDROP_ADDR_MAX + 1];
	const char	*sp = strchr(v, ' ');
	uint32_t	 bits = 0;

	if (sp == NULL || (size_t)(sp - v) >= sizeof(notify))
		return mp_fail(p, "bad recipient");
	memcpy(notify, v, (size_t)(sp - v));
	notify[sp - v] = '\0';
	/* in the file, only the writer's own spelling */
	if (strcmp(notify, "-") != 0 &&
	    maildrop_notify_parse(notify, &bits) == -1)
		return mp_fail(p, "bad notify");
	maildrop_notify_format(bits, canon, sizeof(canon));
	if (strcmp(notify, canon) != 0)
		return mp_fail(p, "bad notify");
	if (mp_addr(p, sp + 1, md->flags & QM_F_SMTPUTF8, addr) == -1)
		return -1;
	if (addr[0] == '\0' || strchr(addr, '@') == NULL)
		return mp_fail(p, "recipient without a domain");
	if (maildrop_rcpt_add(md, addr, bits) == -1)
		return mp_fail(p, errno == E2BIG ? "too many recipients" :
		    "out of memory");
	return 0;
}

/* Every line ends in CRLF, and no CR stands alone. */
static int
mp_message(struct mdparse *p, struct maildrop *md)
{
	const char	*m = p->buf + p->off;
	size_t		 i, n = p->len - p->off;

	if (n < 2 || m[n - 2] != '\r' || m[n - 1] != '\n')
		return mp_fail(p, "message does not end in CRLF");
	for (i = 0; i < n; i++)
		if ((m[i] == '\r' && (i + 1 == n || m[i + 1] != '\n')) ||
		    (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')))
			return mp_fail(p, "bare CR or LF in the message");
	md->msg_off = p->off;
	md->msg_len = n;
	return 0;
}

static int
mp_body(struct mdparse *p, struct maildrop *md)
{
	char	count[32];

	for (;;) {
		if (mp_line(p) == -1)
			return -1;
		if (strncmp(p->line, "rcpt ", 5) == 0) {
			if (mp_rcpt(p, md, p->line + 5) == -1)
				return -1;
			continue;
		}
		snprintf(count, sizeof(count), "end %zu", md->nrcpt);
		if (md->nrcpt == 0 || strcmp(p->line, count) != 0)
			return mp_fail(p, "bad end of envelope");
		return mp_message(p, md);
	}
}

int
maildrop_parse(const char *buf, size_t len, struct maildrop *md, char *err,
    size_t errlen)
{
	struct mdparse	p;

	maildrop_init(md);
	memset(&p, 0, sizeof(p));
	p.buf = buf;
	p.len = len;
	p.err = err;
	p.errlen = errlen;
	if (mp_head(&p, md) == -1 || mp_body(&p, md) == -1) {
		maildrop_free(md);
		return -1;
	}
	return 0;
}
