/*
 * address.h: RFC 5321 paths and mailboxes, parsed without I/O or
 * allocation. The result holds the decoded local part, the lower-cased
 * domain, a canonical "local@domain" and the facts a policy needs (null
 * path, address literal, source route, relay tricks, UTF-8).
 */
#ifndef BULWARK_ADDRESS_H
#define BULWARK_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

/* RFC 5321 §4.5.3.1: octets as written on the wire. The path count
 * includes the angle brackets and any source route. */
#define ADDRESS_LOCAL_MAX	64
#define ADDRESS_DOMAIN_MAX	255
#define ADDRESS_LABEL_MAX	63	/* RFC 1035 §2.3.4, ASCII labels */
#define ADDRESS_PATH_MAX	256

/* What to answer a client. Every string is static, printable ASCII and
 * never holds client bytes, so it is always safe to send. Shared with
 * parse.h. */
struct smtp_reply {
	int		 code;		/* 501 */
	const char	*enhanced;	/* "5.1.3" (RFC 2034 / 3463) */
	const char	*text;		/* "Syntax error in address" */
};

/* Flags the caller passes in. */
#define ADDRESS_F_NULL_OK	0x01	/* "<>" accepted: MAIL FROM */
#define ADDRESS_F_POSTMASTER_OK	0x02	/* bare "<Postmaster>": RCPT TO */
#define ADDRESS_F_UTF8		0x04	/* SMTPUTF8 transaction (RFC 6531) */

/* Facts about a parsed address (struct address .flags). */
#define ADDRESS_IS_NULL		0x001	/* "<>" */
#define ADDRESS_IS_POSTMASTER	0x002	/* bare "<Postmaster>", no domain */
#define ADDRESS_QUOTED		0x004	/* local part was a Quoted-string */
#define ADDRESS_LITERAL		0x008	/* domain is [IPv4] or [IPv6:...] */
#define ADDRESS_ROUTE		0x010	/* a source route was given, dropped */
#define ADDRESS_UTF8		0x020	/* a byte >= 0x80 somewhere */
/*
 * ADDRESS_RELAY_TRICK is set when the address could make a host that
 * accepts it for a local domain forward the message somewhere else:
 *   - the decoded local part holds '%'  (user%remote@ours),
 *   - the decoded local part holds '!'  (remote!user@ours, UUCP),
 *   - the decoded local part holds '@'  ("user@remote"@ours; only a
 *     quoted local part can hold one),
 *   - a source route was given          (<@ours:user@remote>); the route
 *     is dropped, but a client that sends one still expects relaying.
 * The parser only reports it: lookup refuses such a recipient when the
 * domain is ours (554 5.7.1 or 550). An unquoted second '@' is a plain
 * syntax error (user@remote@ours), not a trick.
 */
#define ADDRESS_RELAY_TRICK	0x040

struct address {
	unsigned	flags;		/* ADDRESS_IS_* and friends */
	/* Decoded: quotes and quoted-pair backslashes removed. Holds no
	 * NUL and no control character. "postmaster" for the bare form,
	 * "" for the null path. */
	char		local[ADDRESS_LOCAL_MAX + 1];
	/* ASCII letters lower-cased; U-labels kept as sent (no IDNA
	 * mapping here). An address literal is rewritten in the canonical
	 * inet_ntop form inside its brackets: "[192.0.2.1]",
	 * "[IPv6:2001:db8::1]". "" for the null path and the postmaster. */
	char		domain[ADDRESS_DOMAIN_MAX + 1];
	/* "local@domain" with the local part quoted again only if it is
	 * not a valid Dot-string; "" for <>, "postmaster" for <Postmaster>.
	 * Safe to log and to send back inside angle brackets. */
	char		canon[ADDRESS_PATH_MAX + 1];
	/* For ADDRESS_LITERAL: AF_INET or AF_INET6 and the address in
	 * network order (4 or 16 bytes used). */
	int		literal_family;
	uint8_t		literal_addr[16];
};

enum address_error {
	ADDRESS_OK = 0,
	ADDRESS_ERR_SYNTAX,		/* 501 5.1.3 */
	ADDRESS_ERR_NO_DOMAIN,		/* 501 5.1.3: "<user>" */
	ADDRESS_ERR_EMPTY_LOCAL,	/* 501 5.1.3: ""@example.org */
	ADDRESS_ERR_PATH_TOO_LONG,	/* 501 5.1.3 (RFC 5321 §4.5.3.1.10) */
	ADDRESS_ERR_LOCAL_TOO_LONG,	/* 553 5.1.3 */
	ADDRESS_ERR_DOMAIN_TOO_LONG,	/* 553 5.1.3 */
	ADDRESS_ERR_LABEL_TOO_LONG,	/* 553 5.1.3 */
	ADDRESS_ERR_TRAILING_DOT,	/* 553 5.1.3: user@example.org. */
	ADDRESS_ERR_BAD_LITERAL,	/* 501 5.1.3: [300.1.1.1] */
	ADDRESS_ERR_LITERAL_UNSUPPORTED,/* 553 5.1.3: [tag:content] */
	ADDRESS_ERR_UTF8_NOT_ALLOWED,	/* 553 5.6.7 (RFC 6531 §3.7.4.1) */
	ADDRESS_ERR_BAD_UTF8,		/* 501 5.1.3 */
	ADDRESS_ERR_NULL_NOT_ALLOWED,	/* 501 5.1.3: "<>" as a recipient */
	ADDRESS_ERR_MAX,
};

/*
 * Parse a Path ("<" [A-d-l ":"] Mailbox ">", or "<>" / "<Postmaster>"
 * when flags allow) at the start of s[0..len). s need not be
 * NUL-terminated and may hold NUL bytes. On success *consumed (if not
 * NULL) is the number of bytes up to and including the closing '>';
 * the caller decides what may follow. out is always written (zeroed on
 * error).
 */
enum address_error	address_parse_path(const char *s, size_t len,
			    unsigned flags, struct address *out,
			    size_t *consumed);

/* A Mailbox without angle brackets that must fill s[0..len) exactly
 * (for AUTH=, lookups, tools). ADDRESS_F_UTF8 is the only flag used. */
enum address_error	address_parse_mailbox(const char *s, size_t len,
			    unsigned flags, struct address *out);

/* A Domain or address-literal filling s[0..len) exactly, as in the
 * HELO/EHLO argument. out gets the lower-cased form (outlen >=
 * ADDRESS_DOMAIN_MAX + 1 always suffices). family/addr may be NULL; for
 * a literal they get the address, otherwise *family is 0. */
enum address_error	address_parse_domain(const char *s, size_t len,
			    unsigned flags, char *out, size_t outlen,
			    int *family, uint8_t addr[16]);

/* Nonzero when ADDRESS_RELAY_TRICK is set; see above for the cases. */
int			address_is_relay_trick(const struct address *);

/* The reply to send for an error; never NULL (ADDRESS_OK and unknown
 * values give a generic 501 5.1.3). */
const struct smtp_reply	*address_error_reply(enum address_error);
/* A short name for logs: "syntax", "local-too-long", ... */
const char		*address_error_str(enum address_error);

/* Length of the well-formed UTF-8 sequence (2 to 4 bytes) that starts
 * at s, or 0: refuses ASCII, overlong forms, surrogates, code points
 * past U+10FFFF, truncated sequences and the C1 controls U+0080-U+009F.
 * Exported for parse.c. */
size_t			address_utf8_len(const unsigned char *s, size_t left);

#endif
