/*
 * config.c: the one parser of bulwark.conf. It turns the text of the file
 * into a struct config, checking every value where it stands, and reports
 * the first mistake as "name:line: message". It never logs: the caller
 * decides what an error means (refuse to start, or keep the old settings).
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"

#define CONFIG_MAX_ARGS		(CONFIG_MAX_LINE / 2 + 1)
#define DOMAIN_MAX		253
#define LABEL_MAX		63
#define SIZE_MAX_LIMIT		(2ULL * 1024 * 1024 * 1024)
#define DURATION_MAX		(7U * 24 * 60 * 60)

struct parser;
typedef int (*kw_handler)(struct parser *, char **);

/* One keyword: its handler, how many values it takes, whether it may be
 * repeated, and for the generic handlers where and within what bounds the
 * value goes. */
struct keyword {
	const char	*name;
	kw_handler	 handler;
	int		 minargs;
	int		 maxargs;	/* -1: any number */
	int		 repeat;
	size_t		 off;		/* offsetof(struct config, ...) */
	uint64_t	 min;
	uint64_t	 max;
};

struct parser {
	struct config	*cf;
	const char	*name;
	char		*err;
	size_t		 errlen;
	int		 lineno;
	const struct keyword *kw;	/* the keyword of this line */
	int		 argc;		/* and how many values it has */
	int		*seen;		/* first line of each keyword */
	int		*vlines;	/* line of each virtual domain */
	char		 buf[CONFIG_MAX_LINE + 1];
	char		*argv[CONFIG_MAX_ARGS];
};

static int	kw_hostname(struct parser *, char **);
static int	kw_domains(struct parser *, char **);
static int	kw_listen(struct parser *, char **);
static int	kw_networks(struct parser *, char **);
static int	kw_size(struct parser *, char **);
static int	kw_count(struct parser *, char **);
static int	kw_duration(struct parser *, char **);
static int	kw_switch(struct parser *, char **);
static int	kw_bare_lf(struct parser *, char **);
static int	kw_format(struct parser *, char **);
static int	kw_abspath(struct parser *, char **);
static int	kw_tls_cert(struct parser *, char **);
static int	kw_tls_key(struct parser *, char **);
static int	kw_table(struct parser *, char **);
static int	kw_maildir(struct parser *, char **);
static int	kw_mbox_path(struct parser *, char **);
static int	kw_delimiter(struct parser *, char **);
static int	kw_milter(struct parser *, char **);
static int	kw_user(struct parser *, char **);
static int	kw_tls_sni(struct parser *, char **);
static int	kw_tls_version(struct parser *, char **);
static int	kw_string(struct parser *, char **);
static int	kw_users(struct parser *, char **);

#define OFF(field)	offsetof(struct config, field)

static const struct keyword keywords[] = {
	{ "hostname",		kw_hostname,	1, 1,  0, 0, 0, 0 },
	{ "local-domains",	kw_domains,	1, -1, 1,
	    OFF(local_domains), 0, 0 },
	{ "virtual-domains",	kw_domains,	1, -1, 1,
	    OFF(virtual_domains), 0, 0 },
	{ "listen",		kw_listen,	1, 2,  1, 0, 0, 0 },
	{ "trusted-networks",	kw_networks,	1, -1, 1, 0, 0, 0 },
	{ "message-size-limit",	kw_size,	1, 1,  0,
	    OFF(message_size_limit), 1, SIZE_MAX_LIMIT },
	{ "recipient-limit",	kw_count,	1, 1,  0,
	    OFF(recipient_limit), 1, 100000 },
	{ "connection-limit",	kw_count,	1, 1,  0,
	    OFF(connection_limit), 1, 1000000 },
	{ "connection-limit-per-ip", kw_count,	1, 1,  0,
	    OFF(connection_limit_per_ip), 1, 1000000 },
	{ "error-limit",	kw_count,	1, 1,  0,
	    OFF(error_limit), 1, 1000 },
	{ "smtpd-workers",	kw_count,	1, 1,  0,
	    OFF(smtpd_workers), 0, 64 },
	{ "command-timeout",	kw_duration,	1, 1,  0,
	    OFF(command_timeout), 1, DURATION_MAX },
	{ "data-timeout",	kw_duration,	1, 1,  0,
	    OFF(data_timeout), 1, DURATION_MAX },
	{ "queue-retry-min",	kw_duration,	1, 1,  0,
	    OFF(queue_retry_min), 1, DURATION_MAX },
	{ "queue-retry-max",	kw_duration,	1, 1,  0,
	    OFF(queue_retry_max), 1, DURATION_MAX },
	{ "queue-lifetime",	kw_duration,	1, 1,  0,
	    OFF(queue_lifetime), 1, 100U * 24 * 60 * 60 },
	{ "delay-warning",	kw_duration,	1, 1,  0,
	    OFF(delay_warning), 1, DURATION_MAX },
	{ "destination-concurrency-limit", kw_count, 1, 1, 0,
	    OFF(destination_concurrency_limit), 1, 1000 },
	{ "bare-linefeed",	kw_bare_lf,	1, 1,  0, 0, 0, 0 },
	{ "vrfy",		kw_switch,	1, 1,  0, OFF(vrfy_enabled), 0, 0 },
	{ "expn",		kw_switch,	1, 1,  0, OFF(expn_enabled), 0, 0 },
	{ "spool-directory",	kw_abspath,	1, 1,  0, OFF(spool_dir), 0, 0 },
	{ "daemon-directory",	kw_abspath,	1, 1,  0, OFF(daemon_dir), 0, 0 },
	{ "tls-certificate",	kw_tls_cert,	1, 1,  0, OFF(tls_cert), 0, 0 },
	{ "tls-key",		kw_tls_key,	1, 1,  0, OFF(tls_key), 0, 0 },
	{ "tls-sni",		kw_tls_sni,	3, 3,  1, 0, 0, 0 },
	{ "tls-min-version",	kw_tls_version,	1, 1,  0, 0, 0, 0 },
	{ "tls-ciphers",	kw_string,	1, 1,  0, OFF(tls_ciphers), 0, 0 },
	{ "tls-ciphersuites",	kw_string,	1, 1,  0,
	    OFF(tls_ciphersuites), 0, 0 },
	{ "auth-trusted-plaintext", kw_switch,	1, 1,  0,
	    OFF(auth_trusted_plaintext), 0, 0 },
	{ "auth-system-users",	kw_switch,	1, 1,  0,
	    OFF(auth_system_users), 0, 0 },
	{ "auth-failure-delay",	kw_duration,	1, 1,  0,
	    OFF(auth_failure_delay), 0, 60 },
	{ "auth-failure-limit",	kw_count,	1, 1,  0,
	    OFF(auth_failure_limit), 1, 1000 },
	{ "auth-failure-window", kw_duration,	1, 1,  0,
	    OFF(auth_failure_window), 1, DURATION_MAX },
	{ "received-show-login", kw_switch,	1, 1,  0,
	    OFF(received_show_login), 0, 0 },
	{ "sender-login-table",	kw_table,	1, 1,  0,
	    OFF(sender_login_table), 0, 0 },
	{ "trusted-users",	kw_users,	1, -1, 1, 0, 0, 0 },
	{ "alias-table",	kw_table,	1, 1,  0, OFF(alias_table), 0, 0 },
	{ "virtual-table",	kw_table,	1, 1,  0,
	    OFF(virtual_table), 0, 0 },
	{ "credentials-table",	kw_table,	1, 1,  0,
	    OFF(credentials_table), 0, 0 },
	{ "delivery-format",	kw_format,	1, 1,  0, 0, 0, 0 },
	{ "maildir",		kw_maildir,	1, 1,  0, OFF(maildir), 0, 0 },
	{ "mbox-path",		kw_mbox_path,	1, 1,  0, OFF(mbox_path), 0, 0 },
	{ "recipient-delimiter", kw_delimiter,	1, 1,  0, 0, 0, 0 },
	{ "maildir-detail-folders", kw_switch,	1, 1,  0,
	    OFF(maildir_detail_folders), 0, 0 },
	{ "allow-commands",	kw_switch,	1, 1,  0,
	    OFF(allow_commands), 0, 0 },
	{ "allow-files",	kw_switch,	1, 1,  0,
	    OFF(allow_files), 0, 0 },
	{ "forward-files",	kw_switch,	1, 1,  0,
	    OFF(forward_files), 0, 0 },
	{ "virtual-user",	kw_user,	1, 1,  0,
	    OFF(virtual_user), 0, 0 },
	{ "milter",		kw_milter,	1, 1,  1, 0, 0, 0 },
};

#define NKEYWORDS	(sizeof(keywords) / sizeof(keywords[0]))

/* Field access for the generic handlers. */
#define FIELD(p, type)	((type *)(void *)((char *)(p)->cf + (p)->kw->off))

/*
 * Errors.
 */

/* "name:line: message", or "name: message" when line is 0. */
static void __attribute__((format(printf, 5, 0)))
vseterr(char *err, size_t errlen, const char *name, int line,
    const char *fmt, va_list ap)
{
	int	n;

	if (err == NULL || errlen == 0)
		return;
	if (line > 0)
		n = snprintf(err, errlen, "%s:%d: ", name, line);
	else
		n = snprintf(err, errlen, "%s: ", name);
	if (n < 0 || (size_t)n >= errlen)
		return;
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
}

static void __attribute__((format(printf, 5, 6)))
seterr(char *err, size_t errlen, const char *name, int line,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vseterr(err, errlen, name, line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
perr(struct parser *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vseterr(p->err, p->errlen, p->name, p->lineno, fmt, ap);
	va_end(ap);
}

static int
nomem(struct parser *p)
{
	perr(p, "out of memory");
	return -1;
}

/*
 * Small value parsers: each returns 0 and the value, or -1.
 */

/* Decimal digits only, no sign, no space; at most max. */
static int
parse_digits(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "letters digits hyphens, dot-separated labels"; one trailing dot is
 * allowed (and removed by the callers); the last label is not all digits,
 * so that an address is never taken for a name. */
static int
valid_domain(const char *s)
{
	size_t	len = strlen(s), i, label = 0;
	int	alldigits = 1;

	if (len > 1 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > DOMAIN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			alldigits = 1;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if (s[i] == '-' && label == 0)
			return 0;
		if (!isdigit((unsigned char)s[i]))
			alldigits = 0;
		if (++label > LABEL_MAX)
			return 0;
	}
	return label > 0 && s[len - 1] != '-' && !alldigits;
}

/* A port: 1..65535, digits only. */
static int
parse_port(const char *s, uint16_t *port)
{
	uint64_t	v;

	if (parse_digits(s, strlen(s), 65535, &v) == -1 || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
abs_path_ok(const char *s)
{
	return s[0] == '/' && strlen(s) < PATH_MAX;
}

/* Does the path have a ".." component? */
static int
has_dotdot(const char *s)
{
	const char	*c;

	for (c = s; (c = strstr(c, "..")) != NULL; c += 2)
		if ((c == s || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
			return 1;
	return 0;
}

static int
set_string(struct parser *p, char **field, const char *value)
{
	char	*s;

	if ((s = strdup(value)) == NULL)
		return nomem(p);
	free(*field);
	*field = s;
	return 0;
}

/*
 * Lists of domains.
 */

static int
strlist_add(struct cfg_strlist *l, const char *s)
{
	char	**v, *d;

	if ((d = strdup(s)) == NULL)
		return -1;
	if ((v = reallocarray(l->v, l->n + 1, sizeof(*v))) == NULL) {
		free(d);
		return -1;
	}
	v[l->n++] = d;
	l->v = v;
	return 0;
}

static void
strlist_free(struct cfg_strlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Index of the domain in the list (case-insensitive, one trailing dot
 * ignored), or -1. */
static long
domain_index(const struct cfg_strlist *l, const char *d)
{
	size_t	len, i;

	if (d == NULL)
		return -1;
	len = strlen(d);
	if (len > 1 && d[len - 1] == '.')
		len--;
	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == len && strncasecmp(l->v[i], d, len) == 0)
			return (long)i;
	return -1;
}

/* Copy a valid domain into buf lower-cased without its trailing dot. */
static void
domain_normalize(const char *d, char *buf, size_t bufsz)
{
	size_t	i;

	strlcpy(buf, d, bufsz);
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	if (i > 1 && buf[i - 1] == '.')
		buf[i - 1] = '\0';
}

static int
add_domain(struct parser *p, struct cfg_strlist *l, const char *d)
{
	struct config	*cf = p->cf;
	int		 local = (l == &cf->local_domains), *vl;
	char		 buf[DOMAIN_MAX + 2];

	if (!valid_domain(d)) {
		perr(p, "bad domain name \"%s\"", d);
		return -1;
	}
	domain_normalize(d, buf, sizeof(buf));
	if (domain_index(l, buf) != -1) {
		perr(p, "domain \"%s\" is listed twice", buf);
		return -1;
	}
	if (domain_index(local ? &cf->virtual_domains : &cf->local_domains,
	    buf) != -1) {
		perr(p, "domain \"%s\" cannot be both local and virtual", buf);
		return -1;
	}
	if (!local) {
		vl = reallocarray(p->vlines, l->n + 1, sizeof(*vl));
		if (vl == NULL)
			return nomem(p);
		p->vlines = vl;
		vl[l->n] = p->lineno;
	}
	if (strlist_add(l, buf) == -1)
		return nomem(p);
	return 0;
}

/*
 * Keyword handlers. Each gets the values (argv[0] is the first value, the
 * keyword is p->kw->name) and returns 0, or -1 with the error set.
 */

static int
kw_hostname(struct parser *p, char **argv)
{
	size_t	len;

	if (!valid_domain(argv[0])) {
		perr(p, "bad hostname \"%s\"", argv[0]);
		return -1;
	}
	len = strlcpy(p->cf->hostname, argv[0], sizeof(p->cf->hostname));
	if (len > 1 && p->cf->hostname[len - 1] == '.')
		p->cf->hostname[len - 1] = '\0';
	return 0;
}

static int
kw_domains(struct parser *p, char **argv)
{
	int	i;

	for (i = 0; i < p->argc; i++)
		if (add_domain(p, FIELD(p, struct cfg_strlist),
		    argv[i]) == -1)
			return -1;
	return 0;
}

/* "ADDR:PORT", "[ADDR6]:PORT" or "*:PORT" into a canonical numeric host
 * (no brackets) and a port. */
static int
split_listen(struct parser *p, const char *spec, char *host, size_t hostsz,
    uint16_t *port)
{
	const char	*h = spec, *colon;
	size_t		 hlen;
	int		 v6 = (spec[0] == '[');
	char		 addr[INET6_ADDRSTRLEN];
	unsigned char	 bin[sizeof(struct in6_addr)];

	if (v6) {
		h++;
		if ((colon = strchr(h, ']')) == NULL || colon[1] != ':')
			goto bad;
		hlen = colon - h;
		colon++;
	} else {
		if ((colon = strchr(h, ':')) == NULL)
			goto bad;
		hlen = colon - h;
	}
	if (hlen == 0 || hlen >= sizeof(addr))
		goto bad;
	memcpy(addr, h, hlen);
	addr[hlen] = '\0';
	if (!v6 && strcmp(addr, "*") == 0)
		strlcpy(addr, "0.0.0.0", sizeof(addr));
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1) {
		perr(p, "bad address \"%s\" in \"%s\"", addr, spec);
		return -1;
	}
	if (parse_port(colon + 1, port) == -1) {
		perr(p, "bad port \"%s\" in \"%s\"", colon + 1, spec);
		return -1;
	}
	inet_ntop(v6 ? AF_INET6 : AF_INET, bin, host, hostsz);
	return 0;
bad:
	perr(p, "bad listen address \"%s\" (expected ADDR:PORT, [ADDR6]:PORT "
	    "or *:PORT)", spec);
	return -1;
}

static int
listener_kind(const char *s, enum listener_kind *kind)
{
	static const enum listener_kind kinds[] = {
		LISTEN_SMTP, LISTEN_SUBMISSION, LISTEN_SUBMISSIONS
	};
	size_t	i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(s, config_listener_kind_name(kinds[i])) == 0) {
			*kind = kinds[i];
			return 0;
		}
	return -1;
}

static int
add_listener(struct parser *p, const struct cfg_listener *l)
{
	struct config		*cf = p->cf;
	struct cfg_listener	*v;
	size_t			 i;

	for (i = 0; i < cf->nlisteners; i++)
		if (cf->listeners[i].port == l->port &&
		    strcmp(cf->listeners[i].host, l->host) == 0) {
			perr(p, "listener %s%s%s:%u already defined on line %d",
			    strchr(l->host, ':') ? "[" : "", l->host,
			    strchr(l->host, ':') ? "]" : "", l->port,
			    cf->listeners[i].line);
			return -1;
		}
	if (cf->nlisteners >= CONFIG_MAX_LISTENERS) {
		perr(p, "too many listeners (at most %d)",
		    CONFIG_MAX_LISTENERS);
		return -1;
	}
	v = reallocarray(cf->listeners, cf->nlisteners + 1, sizeof(*v));
	if (v == NULL)
		return nomem(p);
	v[cf->nlisteners++] = *l;
	cf->listeners = v;
	return 0;
}

static int
kw_listen(struct parser *p, char **argv)
{
	struct cfg_listener	l;

	memset(&l, 0, sizeof(l));
	l.kind = LISTEN_SMTP;
	l.line = p->lineno;
	if (split_listen(p, argv[0], l.host, sizeof(l.host), &l.port) == -1)
		return -1;
	if (p->argc > 1 && listener_kind(argv[1], &l.kind) == -1) {
		perr(p, "unknown listener kind \"%s\" (smtp, submission or "
		    "submissions)", argv[1]);
		return -1;
	}
	return add_listener(p, &l);
}

/* Clear the bits of addr beyond prefix. */
static void
mask_network(uint8_t *addr, size_t len, unsigned prefix)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (prefix >= 8)
			prefix -= 8;
		else {
			addr[i] &= (uint8_t)(0xff00u >> prefix);
			prefix = 0;
		}
	}
}

static int
parse_network(const char *s, struct cfg_network *n)
{
	const char	*slash = strchr(s, '/');
	size_t		 alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned	 bits;
	uint64_t	 v;
	char		 addr[INET6_ADDRSTRLEN];

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(n, 0, sizeof(*n));
	n->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	bits = n->family == AF_INET6 ? 128 : 32;
	if (inet_pton(n->family, addr, n->addr) != 1)
		return -1;
	if (slash == NULL)
		v = bits;
	else if (parse_digits(slash + 1, strlen(slash + 1), bits, &v) == -1)
		return -1;
	n->prefix = (unsigned)v;
	mask_network(n->addr, bits / 8, n->prefix);
	return 0;
}

static int
add_network(struct parser *p, const struct cfg_network *n)
{
	struct config		*cf = p->cf;
	struct cfg_network	*v;

	v = reallocarray(cf->trusted, cf->ntrusted + 1, sizeof(*v));
	if (v == NULL)
		return nomem(p);
	v[cf->ntrusted++] = *n;
	cf->trusted = v;
	return 0;
}

static int
kw_networks(struct parser *p, char **argv)
{
	struct cfg_network	n;
	int			i;

	for (i = 0; i < p->argc; i++) {
		if (parse_network(argv[i], &n) == -1) {
			perr(p, "bad network \"%s\" (expected ADDR or "
			    "ADDR/PREFIX)", argv[i]);
			return -1;
		}
		if (n.prefix == 0) {
			perr(p, "network \"%s\" matches every address and "
			    "would make an open relay", argv[i]);
			return -1;
		}
		if (add_network(p, &n) == -1)
			return -1;
	}
	return 0;
}

/* Numbers with a unit suffix: the suffixes, what each multiplies by, and
 * how to say so in a message. */
struct units {
	const char	*suffixes;
	uint64_t	 mult[4];
	const char	*help;
};

static const struct units size_units = {
	"KMG", { 1024, 1024 * 1024, 1024 * 1024 * 1024, 0 },
	"a number of bytes, optionally followed by K, M or G"
};
static const struct units time_units = {
	"smhd", { 1, 60, 60 * 60, 24 * 60 * 60 },
	"a number of seconds, optionally followed by s, m, h or d"
};

/* A number with an optional one-letter suffix; too large a value comes
 * back as UINT64_MAX, so that the caller calls it out of range rather
 * than malformed. */
static int
parse_scaled(const char *s, const struct units *u, uint64_t *out)
{
	size_t		 len = strlen(s);
	uint64_t	 mult = 1, v;
	const char	*c;

	if (len > 1 && (s[len - 1] < '0' || s[len - 1] > '9')) {
		if ((c = strchr(u->suffixes, s[len - 1])) == NULL)
			return -1;
		mult = u->mult[c - u->suffixes];
		len--;
	}
	if (len == 0 || strspn(s, "0123456789") != len)
		return -1;
	if (parse_digits(s, len, UINT64_MAX, &v) == -1 ||
	    v > UINT64_MAX / mult)
		*out = UINT64_MAX;
	else
		*out = v * mult;
	return 0;
}

/* Print v with the largest suffix that divides it. */
static void
fmt_scaled(char *buf, size_t sz, uint64_t v, const struct units *u)
{
	size_t	i = strlen(u->suffixes);

	while (i > 0 && (v == 0 || v % u->mult[i - 1] != 0))
		i--;
	if (i == 0)
		snprintf(buf, sz, "%llu", (unsigned long long)v);
	else
		snprintf(buf, sz, "%llu%c",
		    (unsigned long long)(v / u->mult[i - 1]),
		    u->suffixes[i - 1]);
}

static int
scaled_value(struct parser *p, const char *s, const struct units *u,
    uint64_t *out)
{
	const struct keyword	*kw = p->kw;
	char			 lo[32], hi[32];

	if (parse_scaled(s, u, out) == -1) {
		perr(p, "bad value \"%s\" for \"%s\" (%s)", s, kw->name,
		    u->help);
		return -1;
	}
	if (*out < kw->min || *out > kw->max) {
		fmt_scaled(lo, sizeof(lo), kw->min, u);
		fmt_scaled(hi, sizeof(hi), kw->max, u);
		perr(p, "\"%s\" must be from %s to %s, not \"%s\"", kw->name,
		    lo, hi, s);
		return -1;
	}
	return 0;
}

static int
kw_size(struct parser *p, char **argv)
{
	return scaled_value(p, argv[0], &size_units, FIELD(p, uint64_t));
}

static int
kw_duration(struct parser *p, char **argv)
{
	uint64_t	v;

	if (scaled_value(p, argv[0], &time_units, &v) == -1)
		return -1;
	*FIELD(p, unsigned) = (unsigned)v;
	return 0;
}

static int
kw_count(struct parser *p, char **argv)
{
	const struct keyword	*kw = p->kw;
	const char		*s = argv[0];
	uint64_t		 v;

	if (strspn(s, "0123456789") != strlen(s)) {
		perr(p, "bad number \"%s\" for \"%s\"", s, kw->name);
		return -1;
	}
	if (parse_digits(s, strlen(s), kw->max, &v) == -1 || v < kw->min) {
		perr(p, "\"%s\" must be from %llu to %llu, not \"%s\"",
		    kw->name, (unsigned long long)kw->min,
		    (unsigned long long)kw->max, s);
		return -1;
	}
	*FIELD(p, unsigned) = (unsigned)v;
	return 0;
}

/* value must be one of the two names; its index goes to *idx. */
static int
choose(struct parser *p, const char *value, const char *const names[2],
    int *idx)
{
	int	i;

	for (i = 0; i < 2; i++)
		if (strcmp(value, names[i]) == 0) {
			*idx = i;
			return 0;
		}
	perr(p, "bad value \"%s\" for \"%s\" (%s or %s)", value,
	    p->kw->name, names[0], names[1]);
	return -1;
}

static int
kw_switch(struct parser *p, char **argv)
{
	static const char *const	names[2] = { "off", "on" };
	int				i;

	if (choose(p, argv[0], names, &i) == -1)
		return -1;
	*FIELD(p, int) = i;
	return 0;
}

static int
kw_bare_lf(struct parser *p, char **argv)
{
	static const char *const	names[2] = { "reject", "normalize" };
	int				i;

	if (choose(p, argv[0], names, &i) == -1)
		return -1;
	p->cf->bare_lf = i == 0 ? BARE_LF_REJECT : BARE_LF_NORMALIZE;
	return 0;
}

static int
kw_format(struct parser *p, char **argv)
{
	static const char *const	names[2] = { "maildir", "mbox" };
	int				i;

	if (choose(p, argv[0], names, &i) == -1)
		return -1;
	p->cf->delivery_format = i == 0 ? DELIVERY_MAILDIR : DELIVERY_MBOX;
	return 0;
}

static int
kw_abspath(struct parser *p, char **argv)
{
	if (!abs_path_ok(argv[0])) {
		perr(p, "\"%s\" needs an absolute path, not \"%s\"", p->kw->name,
		    argv[0]);
		return -1;
	}
	return set_string(p, FIELD(p, char *), argv[0]);
}

static int
kw_tls_cert(struct parser *p, char **argv)
{
	if (kw_abspath(p, argv) == -1)
		return -1;
	p->cf->tls_cert_line = p->lineno;
	return 0;
}

static int
kw_tls_key(struct parser *p, char **argv)
{
	if (kw_abspath(p, argv) == -1)
		return -1;
	p->cf->tls_key_line = p->lineno;
	return 0;
}

static int
kw_table(struct parser *p, char **argv)
{
	const char	*path = strchr(argv[0], ':');
	size_t		 tlen = path ? (size_t)(path - argv[0]) : 0;

	if (path == NULL || !((tlen == 4 && strncmp(argv[0], "hash", 4) == 0) ||
	    (tlen == 5 && strncmp(argv[0], "btree", 5) == 0)) ||
	    !abs_path_ok(path + 1)) {
		perr(p, "bad table \"%s\" for \"%s\" (expected hash:/path or "
		    "btree:/path)", argv[0], p->kw->name);
		return -1;
	}
	return set_string(p, FIELD(p, char *), argv[0]);
}

static int
kw_maildir(struct parser *p, char **argv)
{
	if (argv[0][0] == '/' || has_dotdot(argv[0]) ||
	    strlen(argv[0]) >= PATH_MAX) {
		perr(p, "\"maildir\" needs a path relative to the home "
		    "directory without \"..\", not \"%s\"", argv[0]);
		return -1;
	}
	return set_string(p, FIELD(p, char *), argv[0]);
}

static int
kw_mbox_path(struct parser *p, char **argv)
{
	const char	*c;

	if (!abs_path_ok(argv[0])) {
		perr(p, "\"mbox-path\" needs an absolute path, not \"%s\"",
		    argv[0]);
		return -1;
	}
	for (c = argv[0]; (c = strchr(c, '%')) != NULL; c += 2)
		if (c[1] != 'u' && c[1] != '%') {
			perr(p, "bad escape \"%%%.1s\" in \"%s\" (only %%u "
			    "and %%%% are allowed)", c + 1, argv[0]);
			return -1;
		}
	return set_string(p, FIELD(p, char *), argv[0]);
}

static int
kw_delimiter(struct parser *p, char **argv)
{
	if (strcmp(argv[0], "none") == 0)
		p->cf->recipient_delimiter = '\0';
	else if (strlen(argv[0]) == 1 && strchr("+-_=", argv[0][0]) != NULL)
		p->cf->recipient_delimiter = argv[0][0];
	else {
		perr(p, "bad value \"%s\" for \"recipient-delimiter\" (one of "
		    "+ - _ = or none)", argv[0]);
		return -1;
	}
	return 0;
}

/* A system user's name as useradd takes it: letters, digits, '_', '-'
 * and '.', not starting with '-' or '.'; looked up by lookup at run time,
 * where root is refused. */
static int
user_name_ok(struct parser *p, const char *s, int root_ok)
{
	size_t	len = strlen(s);

	if (len == 0 || len > 32 || s[0] == '-' || s[0] == '.' ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-.") != len) {
		perr(p, "bad user name \"%s\" for \"%s\"", s, p->kw->name);
		return -1;
	}
	if (!root_ok && strcmp(s, "root") == 0) {
		perr(p, "\"%s\" may not be root", p->kw->name);
		return -1;
	}
	return 0;
}

static int
kw_user(struct parser *p, char **argv)
{
	if (user_name_ok(p, argv[0], 0) == -1)
		return -1;
	return set_string(p, FIELD(p, char *), argv[0]);
}

/* "name cert key": the name a client asks for with SNI (RFC 6066), a
 * host name or "*." and one, matching a single label. */
static int
kw_tls_sni(struct parser *p, char **argv)
{
	struct config	*cf = p->cf;
	struct cfg_sni	*v, sni;
	const char	*host = argv[0];
	char		 buf[DOMAIN_MAX + 2];

	if (strncmp(host, "*.", 2) == 0)
		host += 2;
	if (!valid_domain(host)) {
		perr(p, "bad name \"%s\" for \"tls-sni\" (a host name or "
		    "*.domain)", argv[0]);
		return -1;
	}
	if (!abs_path_ok(argv[1]) || !abs_path_ok(argv[2])) {
		perr(p, "\"tls-sni\" needs absolute paths for the certificate "
		    "and the key");
		return -1;
	}
	domain_normalize(argv[0], buf, sizeof(buf));
	memset(&sni, 0, sizeof(sni));
	sni.line = p->lineno;
	if ((v = reallocarray(cf->tls_sni, cf->ntls_sni + 1,
	    sizeof(*v))) == NULL)
		return nomem(p);
	cf->tls_sni = v;
	if ((sni.name = strdup(buf)) == NULL ||
	    (sni.cert = strdup(argv[1])) == NULL ||
	    (sni.key = strdup(argv[2])) == NULL) {
		free(sni.name);
		free(sni.cert);
		return nomem(p);
	}
	cf->tls_sni[cf->ntls_sni++] = sni;
	return 0;
}

static int
kw_tls_version(struct parser *p, char **argv)
{
	static const char *const	names[2] = { "TLSv1.2", "TLSv1.3" };
	int				i;

	if (choose(p, argv[0], names, &i) == -1)
		return -1;
	p->cf->tls_min_version = i == 0 ? 12 : 13;
	return 0;
}

/* Text handed as it is to a library (OpenSSL's cipher lists): printable,
 * no spaces, the library judges the rest. */
static int
kw_string(struct parser *p, char **argv)
{
	const char	*c;

	for (c = argv[0]; *c != '\0'; c++)
		if (*c <= ' ' || *c > '~') {
			perr(p, "bad value for \"%s\"", p->kw->name);
			return -1;
		}
	return set_string(p, FIELD(p, char *), argv[0]);
}

static int
kw_users(struct parser *p, char **argv)
{
	int	i;

	for (i = 0; i < p->argc; i++) {
		if (user_name_ok(p, argv[i], 1) == -1)
			return -1;
		if (strlist_add(&p->cf->trusted_users, argv[i]) == -1)
			return nomem(p);
	}
	return 0;
}

/* "inet:HOST:PORT" (HOST an IPv4 address or a name) or
 * "inet6:[ADDR]:PORT". */
static int
milter_inet_ok(struct parser *p, const char *spec, int v6)
{
	const char	*h = spec + (v6 ? 6 : 5), *end;
	char		 host[DOMAIN_MAX + 2];
	unsigned char	 bin[sizeof(struct in6_addr)];
	uint16_t	 port;

	if (v6 && *h++ != '[')
		return 0;
	end = v6 ? strchr(h, ']') : strrchr(h, ':');
	if (end == NULL || end == h || (size_t)(end - h) >= sizeof(host) ||
	    (v6 && end[1] != ':'))
		return 0;
	memcpy(host, h, end - h);
	host[end - h] = '\0';
	if (v6 ? inet_pton(AF_INET6, host, bin) != 1 :
	    inet_pton(AF_INET, host, bin) != 1 && !valid_domain(host))
		return 0;
	end += v6 ? 2 : 1;
	if (parse_port(end, &port) == -1) {
		perr(p, "bad port \"%s\" in \"%s\"", end, spec);
		return -1;
	}
	return 1;
}

static int
kw_milter(struct parser *p, char **argv)
{
	const char	*s = argv[0];
	int		 ok;

	if (strncmp(s, "unix:", 5) == 0)
		ok = s[5] == '/' &&
		    strlen(s + 5) < sizeof(((struct sockaddr_un *)0)->sun_path);
	else if (strncmp(s, "inet:", 5) == 0 || strncmp(s, "inet6:", 6) == 0)
		ok = milter_inet_ok(p, s, s[4] == '6');
	else
		ok = 0;
	if (ok == -1)
		return -1;
	if (!ok) {
		perr(p, "bad milter \"%s\" (expected unix:/path, "
		    "inet:HOST:PORT or inet6:[ADDR]:PORT)", s);
		return -1;
	}
	if (strlist_add(&p->cf->milters, s) == -1)
		return nomem(p);
	return 0;
}

/*
 * Lines.
 */

static const struct keyword *
keyword_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYWORDS; i++)
		if (strcmp(keywords[i].name, name) == 0)
			return &keywords[i];
	return NULL;
}

static int
check_argc(struct parser *p, const struct keyword *kw, int argc)
{
	if (argc >= kw->minargs && (kw->maxargs < 0 || argc <= kw->maxargs))
		return 0;
	if (kw->maxargs == 1)
		perr(p, "\"%s\" needs one value", kw->name);
	else if (kw->maxargs < 0)
		perr(p, "\"%s\" needs at least one value", kw->name);
	else
		perr(p, "\"%s\" needs one or two values", kw->name);
	return -1;
}

/* Run the keyword of a tokenized line. */
static int
dispatch(struct parser *p, int argc, char **argv)
{
	const struct keyword	*kw;
	size_t			 i;

	if ((kw = keyword_find(argv[0])) == NULL) {
		perr(p, "unknown keyword \"%s\"", argv[0]);
		return -1;
	}
	i = kw - keywords;
	if (p->seen[i] && !kw->repeat) {
		perr(p, "\"%s\" already set on line %d", kw->name, p->seen[i]);
		return -1;
	}
	if (check_argc(p, kw, argc - 1) == -1)
		return -1;
	if (p->seen[i] == 0)
		p->seen[i] = p->lineno;
	p->kw = kw;
	p->argc = argc - 1;
	return kw->handler(p, argv + 1);
}

/* Check the bytes of one line (without its newline): no NUL, no control
 * character but tab (and a CR before the newline, which the caller has
 * removed), nothing but ASCII outside comments. */
static int
check_bytes(struct parser *p, const char *s, size_t len)
{
	size_t		i;
	int		comment = 0;
	unsigned char	c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '#')
			comment = 1;
		if (c == '\0') {
			perr(p, "NUL byte in line");
			return -1;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			perr(p, "control character 0x%02x in line", c);
			return -1;
		}
		if (c >= 0x80 && !comment) {
			perr(p, "non-ASCII byte 0x%02x outside a comment", c);
			return -1;
		}
	}
	return 0;
}

/* Split the line in p->buf into p->argv at spaces and tabs, ignoring
 * everything from '#'. */
static int
tokenize(struct parser *p)
{
	char	*s = p->buf, *hash;
	int	 argc = 0;

	if ((hash = strchr(s, '#')) != NULL)
		*hash = '\0';
	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			break;
		p->argv[argc++] = s;
		s += strcspn(s, " \t");
		if (*s == '\0')
			break;
		*s++ = '\0';
	}
	p->argv[argc] = NULL;
	return argc;
}

static int
parse_line(struct parser *p, const char *line, size_t len)
{
	int	argc;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CONFIG_MAX_LINE) {
		perr(p, "line is longer than %d bytes", CONFIG_MAX_LINE);
		return -1;
	}
	if (check_bytes(p, line, len) == -1)
		return -1;
	memcpy(p->buf, line, len);
	p->buf[len] = '\0';
	if ((argc = tokenize(p)) == 0)
		return 0;
	return dispatch(p, argc, p->argv);
}

/*
 * Defaults and checks that need the whole file.
 */

static int
default_hostname(struct parser *p)
{
	char	name[sizeof(p->cf->hostname)];

	memset(name, 0, sizeof(name));
	if (gethostname(name, sizeof(name) - 1) == -1 || !valid_domain(name)) {
		perr(p, "the system's host name \"%s\" is not a valid domain "
		    "name; set \"hostname\"", name);
		return -1;
	}
	strlcpy(p->cf->hostname, name, sizeof(p->cf->hostname));
	return 0;
}

static int
default_local_domains(struct parser *p)
{
	struct config	*cf = p->cf;
	const char	*defaults[] = { cf->hostname, "localhost" };
	long		 v;
	size_t		 i;
	char		 buf[DOMAIN_MAX + 2];

	for (i = 0; i < 2; i++) {
		domain_normalize(defaults[i], buf, sizeof(buf));
		if ((v = domain_index(&cf->virtual_domains, buf)) != -1) {
			p->lineno = p->vlines[v];
			perr(p, "virtual domain \"%s\" is also a local domain "
			    "by default; set \"local-domains\"", buf);
			return -1;
		}
		if (domain_index(&cf->local_domains, buf) == -1 &&
		    strlist_add(&cf->local_domains, buf) == -1)
			return nomem(p);
	}
	return 0;
}

static int
default_trusted(struct parser *p)
{
	struct cfg_network	n;

	if (parse_network("127.0.0.0/8", &n) == -1 || add_network(p, &n) == -1)
		return -1;
	if (parse_network("::1/128", &n) == -1 || add_network(p, &n) == -1)
		return -1;
	return 0;
}

static int
default_listener(struct parser *p)
{
	struct cfg_listener	l;

	memset(&l, 0, sizeof(l));
	strlcpy(l.host, "127.0.0.1", sizeof(l.host));
	l.port = 25;
	l.kind = LISTEN_SMTP;
	return add_listener(p, &l);
}

static int
check_tls(struct parser *p)
{
	struct config	*cf = p->cf;
	size_t		 i;

	p->lineno = cf->tls_cert ? cf->tls_cert_line : cf->tls_key_line;
	if (cf->tls_cert && cf->tls_key == NULL) {
		perr(p, "\"tls-certificate\" is set but \"tls-key\" is not");
		return -1;
	}
	if (cf->tls_key && cf->tls_cert == NULL) {
		perr(p, "\"tls-key\" is set but \"tls-certificate\" is not");
		return -1;
	}
	for (i = 0; i < cf->nlisteners && cf->tls_cert == NULL; i++)
		if (cf->listeners[i].kind != LISTEN_SMTP) {
			p->lineno = cf->listeners[i].line;
			perr(p, "a \"%s\" listener needs \"tls-certificate\" "
			    "and \"tls-key\"", config_listener_kind_name(
			    cf->listeners[i].kind));
			return -1;
		}
	if (cf->ntls_sni > 0 && cf->tls_cert == NULL) {
		p->lineno = cf->tls_sni[0].line;
		perr(p, "\"tls-sni\" needs a default \"tls-certificate\" "
		    "and \"tls-key\"");
		return -1;
	}
	return 0;
}

static int
apply_defaults(struct parser *p)
{
	struct config	*cf = p->cf;

	p->lineno = 0;
	if (cf->hostname[0] == '\0' && default_hostname(p) == -1)
		return -1;
	if (cf->local_domains.n == 0 && default_local_domains(p) == -1)
		return -1;
	if (cf->ntrusted == 0 && default_trusted(p) == -1)
		return -1;
	if (cf->nlisteners == 0 && default_listener(p) == -1)
		return -1;
	return check_tls(p);
}

static struct config *
config_new(const char *name)
{
	struct config	*cf;

	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return NULL;
	cf->message_size_limit = 25ULL * 1024 * 1024;
	cf->recipient_limit = 1000;
	cf->connection_limit = 1000;
	cf->connection_limit_per_ip = 50;
	cf->error_limit = 20;
	cf->smtpd_workers = 0;
	cf->command_timeout = 300;
	cf->data_timeout = 180;
	cf->queue_retry_min = 300;
	cf->queue_retry_max = 3600;
	cf->queue_lifetime = 5 * 86400;
	cf->delay_warning = 4 * 3600;
	cf->destination_concurrency_limit = 20;
	cf->bare_lf = BARE_LF_REJECT;
	cf->delivery_format = DELIVERY_MAILDIR;
	cf->recipient_delimiter = '+';
	cf->allow_commands = 1;
	cf->allow_files = 1;
	cf->tls_min_version = 12;
	cf->auth_failure_delay = 1;
	cf->auth_failure_limit = 5;
	cf->auth_failure_window = 300;
	cf->forward_files = 1;
	if ((cf->path = strdup(name)) == NULL ||
	    (cf->spool_dir = strdup("/var/spool/bulwark")) == NULL ||
	    (cf->maildir = strdup("Maildir")) == NULL ||
	    (cf->mbox_path = strdup("/var/mail/%u")) == NULL) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

/* Walk the text line by line; stop at the first error. */
static int
parse_text(struct parser *p, const char *text, size_t len)
{
	const char	*line = text, *end = text + len, *nl;

	while (line < end) {
		p->lineno++;
		nl = memchr(line, '\n', end - line);
		if (parse_line(p, line, (nl ? nl : end) - line) == -1)
			return -1;
		line = nl ? nl + 1 : end;
	}
	return apply_defaults(p);
}

/*
 * Public interface.
 */

struct config *
config_parse(const char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct parser	*p;
	struct config	*cf = NULL;

	if (name == NULL)
		name = "bulwark.conf";
	if (len > CONFIG_MAX_FILE) {
		seterr(err, errlen, name, 0, "larger than %d bytes",
		    CONFIG_MAX_FILE);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->seen = calloc(NKEYWORDS, sizeof(*p->seen))) == NULL ||
	    (cf = config_new(name)) == NULL) {
		seterr(err, errlen, name, 0, "out of memory");
		goto done;
	}
	p->cf = cf;
	p->name = name;
	p->err = err;
	p->errlen = errlen;
	if (parse_text(p, text, len) == -1) {
		config_free(cf);
		cf = NULL;
	}
done:
	if (p != NULL) {
		free(p->seen);
		free(p->vlines);
	}
	free(p);
	return cf;
}

char *
config_read_fd(int fd, const char *name, size_t *len, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;

	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, name, 0, "cannot stat: %s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, name, 0, "not a regular file");
		return NULL;
	}
	if ((buf = malloc(CONFIG_MAX_FILE + 1)) == NULL) {
		seterr(err, errlen, name, 0, "out of memory");
		return NULL;
	}
	if ((n = file_read_start(fd, buf, CONFIG_MAX_FILE + 1)) == -1) {
		seterr(err, errlen, name, 0, "cannot read: %s", strerror(errno));
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

char *
config_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	char	*text;
	int	 fd;

	/* O_NONBLOCK: opening a FIFO must not hang the master. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		seterr(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	text = config_read_fd(fd, path, len, err, errlen);
	close(fd);
	return text;
}

static struct config *
config_parse_owned(char *text, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct config	*cf;

	if (text == NULL)
		return NULL;
	cf = config_parse(text, len, name, err, errlen);
	free(text);
	return cf;
}

struct config *
config_load_fd(int fd, const char *name, char *err, size_t errlen)
{
	size_t	 len = 0;
	char	*text = config_read_fd(fd, name, &len, err, errlen);

	return config_parse_owned(text, len, name, err, errlen);
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	size_t	 len = 0;
	char	*text = config_read_file(path, &len, err, errlen);

	return config_parse_owned(text, len, path, err, errlen);
}

static int
check_open(const char *what, const char *path, int line, const char *name,
    char *err, size_t errlen, struct stat *st)
{
	int	fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		seterr(err, errlen, name, line, "%s \"%s\": %s", what, path,
		    strerror(errno));
		return -1;
	}
	r = fstat(fd, st);
	close(fd);
	if (r == -1) {
		seterr(err, errlen, name, line, "%s \"%s\": %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		seterr(err, errlen, name, line, "%s \"%s\" is not a regular "
		    "file", what, path);
		return -1;
	}
	if (st->st_size == 0) {
		seterr(err, errlen, name, line, "%s \"%s\" is empty", what,
		    path);
		return -1;
	}
	return 0;
}

/* A private key must be readable by root only: smtpd reads it before it
 * drops its privileges. */
static int
check_key(const char *key, int line, const char *name, char *err,
    size_t errlen)
{
	struct stat	st;

	if (check_open("tls-key", key, line, name, err, errlen, &st) == -1)
		return -1;
	if ((st.st_mode & 077) != 0) {
		seterr(err, errlen, name, line, "tls-key \"%s\" is "
		    "accessible by others (mode %04o); chmod 600 it",
		    key, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
config_check_files(const struct config *cf, char *err, size_t errlen)
{
	struct stat	st;
	const char	*name = cf->path ? cf->path : "bulwark.conf";
	size_t		 i;

	if (cf->tls_cert != NULL && check_open("tls-certificate",
	    cf->tls_cert, cf->tls_cert_line, name, err, errlen, &st) == -1)
		return -1;
	if (cf->tls_key != NULL && check_key(cf->tls_key, cf->tls_key_line,
	    name, err, errlen) == -1)
		return -1;
	for (i = 0; i < cf->ntls_sni; i++) {
		if (check_open("tls-sni certificate", cf->tls_sni[i].cert,
		    cf->tls_sni[i].line, name, err, errlen, &st) == -1 ||
		    check_key(cf->tls_sni[i].key, cf->tls_sni[i].line, name,
		    err, errlen) == -1)
			return -1;
	}
	return 0;
}

void
config_free(struct config *cf)
{
	size_t	i;

	if (cf == NULL)
		return;
	free(cf->path);
	strlist_free(&cf->local_domains);
	strlist_free(&cf->virtual_domains);
	free(cf->listeners);
	free(cf->trusted);
	free(cf->spool_dir);
	free(cf->daemon_dir);
	free(cf->tls_cert);
	free(cf->tls_key);
	free(cf->alias_table);
	free(cf->virtual_table);
	free(cf->credentials_table);
	free(cf->sender_login_table);
	free(cf->tls_ciphers);
	free(cf->tls_ciphersuites);
	for (i = 0; i < cf->ntls_sni; i++) {
		free(cf->tls_sni[i].name);
		free(cf->tls_sni[i].cert);
		free(cf->tls_sni[i].key);
	}
	free(cf->tls_sni);
	strlist_free(&cf->trusted_users);
	free(cf->maildir);
	free(cf->mbox_path);
	free(cf->virtual_user);
	strlist_free(&cf->milters);
	free(cf);
}

int
config_auth_enabled(const struct config *cf)
{
	return cf->credentials_table != NULL || cf->auth_system_users;
}

int
config_is_local_domain(const struct config *cf, const char *domain)
{
	return domain_index(&cf->local_domains, domain) != -1;
}

int
config_is_virtual_domain(const struct config *cf, const char *domain)
{
	return domain_index(&cf->virtual_domains, domain) != -1;
}

static int
prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	unsigned	full = prefix / 8, rest = prefix % 8;
	uint8_t		mask;

	if (memcmp(a, net, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff00u >> rest);
	return (a[full] & mask) == net[full];
}

int
config_is_trusted(const struct config *cf, const void *sa)
{
	const struct sockaddr		*s = sa;
	const struct sockaddr_in	*sin = sa;
	const struct sockaddr_in6	*sin6 = sa;
	const uint8_t			*a4 = NULL, *a6 = NULL;
	size_t				 i;

	if (s == NULL)
		return 0;
	if (s->sa_family == AF_INET)
		a4 = (const uint8_t *)&sin->sin_addr;
	else if (s->sa_family == AF_INET6) {
		a6 = (const uint8_t *)&sin6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			a4 = a6 + 12;
	} else
		return 0;
	for (i = 0; i < cf->ntrusted; i++) {
		if (cf->trusted[i].family == AF_INET && a4 != NULL &&
		    prefix_match(a4, cf->trusted[i].addr, cf->trusted[i].prefix))
			return 1;
		if (cf->trusted[i].family == AF_INET6 && a6 != NULL &&
		    prefix_match(a6, cf->trusted[i].addr, cf->trusted[i].prefix))
			return 1;
	}
	return 0;
}

const char *
config_listener_kind_name(enum listener_kind kind)
{
	switch (kind) {
	case LISTEN_SMTP:
		return "smtp";
	case LISTEN_SUBMISSION:
		return "submission";
	case LISTEN_SUBMISSIONS:
		return "submissions";
	}
	return "unknown";
}

unsigned
config_smtpd_workers(const struct config *cf)
{
	long	n;

	if (cf->smtpd_workers > 0)
		return cf->smtpd_workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}
