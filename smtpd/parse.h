/*
 * parse.h: one SMTP command line (without its CRLF) into a struct
 * smtp_cmd, or into the reply that refuses it. Pure: no I/O, no
 * allocation, no session state beyond the flags the caller passes.
 *
 * The caller still checks what depends on the session: command order;
 * that the extension behind each parameter was offered (SIZE, 8BITMIME,
 * BINARYMIME and CHUNKING, SMTPUTF8, DSN for RET/ENVID/NOTIFY/ORCPT,
 * AUTH), or else 555 5.5.4; that BODY=BINARYMIME goes with BDAT; size
 * limits; whether a relay trick (address.h) names one of our domains.
 */
#ifndef BULWARK_PARSE_H
#define BULWARK_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "address.h"

/* RFC 5321 §4.5.3.1.4: a command line is 512 octets with its CRLF. The
 * session enforces it (and the longer bounds extensions allow); the
 * parser accepts any length and never reads past it. */
#define SMTP_LINE_MAX		512
#define SMTP_ENVID_MAX		100	/* RFC 3461 §4.4, as sent */
#define SMTP_ORCPT_MAX		500	/* RFC 3461 §4.2, as sent */
#define SMTP_AUTH_PARAM_MAX	ADDRESS_PATH_MAX	/* AUTH=, decoded */
#define SMTP_MECH_MAX		20	/* RFC 4422 §3.1 sasl-mech */
#define SMTP_ARG_MAX		SMTP_LINE_MAX	/* VRFY, EXPN */
#define SMTP_ORCPT_TYPE_MAX	32	/* "rfc822", "utf-8", ... */

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,	/* 500 5.5.2 */
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_HELP,
	SMTP_CMD_VRFY,
	SMTP_CMD_EXPN,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_MAX,
};

/* Which parameters were given (.has of the parameter structs). */
#define SMTP_P_SIZE	0x0001
#define SMTP_P_BODY	0x0002
#define SMTP_P_SMTPUTF8	0x0004
#define SMTP_P_RET	0x0008
#define SMTP_P_ENVID	0x0010
#define SMTP_P_AUTH	0x0020
#define SMTP_P_NOTIFY	0x0100
#define SMTP_P_ORCPT	0x0200

enum smtp_body {
	SMTP_BODY_NONE = 0,	/* not given */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,	/* RFC 6152 */
	SMTP_BODY_BINARYMIME,	/* RFC 3030: the caller insists on BDAT */
};

enum smtp_ret {
	SMTP_RET_NONE = 0,
	SMTP_RET_FULL,
	SMTP_RET_HDRS,
};

/* NOTIFY= (RFC 3461 §4.1); NEVER never comes with another. */
#define SMTP_NOTIFY_NEVER	0x1
#define SMTP_NOTIFY_SUCCESS	0x2
#define SMTP_NOTIFY_FAILURE	0x4
#define SMTP_NOTIFY_DELAY	0x8

enum smtp_orcpt_type {
	SMTP_ORCPT_NONE = 0,
	SMTP_ORCPT_RFC822,	/* value: xtext-decoded */
	SMTP_ORCPT_UTF8,	/* value: RFC 6533 \x{HEX} decoded to UTF-8 */
	SMTP_ORCPT_OTHER,	/* another registered type: xtext-decoded */
};

struct smtp_mail_params {
	unsigned		has;		/* SMTP_P_* */
	uint64_t		size;		/* SIZE= (RFC 1870) */
	enum smtp_body		body;
	enum smtp_ret		ret;
	/* ENVID= decoded: printable ASCII, no controls */
	char			envid[SMTP_ENVID_MAX + 1];
	/* AUTH= decoded (RFC 4954 §5): an addr-spec or "<>"; printable
	 * ASCII or well-formed UTF-8, not validated as an address */
	char			auth[SMTP_AUTH_PARAM_MAX + 1];
};

struct smtp_rcpt_params {
	unsigned		has;		/* SMTP_P_* */
	unsigned		notify;		/* SMTP_NOTIFY_* */
	enum smtp_orcpt_type	orcpt_type;
	/* addr-type, lower-cased: "rfc822", "utf-8", "x400"... */
	char			orcpt_type_name[SMTP_ORCPT_TYPE_MAX + 1];
	/* ORCPT value after the ';', as sent (already safe: printable
	 * ASCII or well-formed UTF-8), for relaying the parameter on */
	char			orcpt_raw[SMTP_ORCPT_MAX + 1];
	/* and decoded, for the Original-Recipient field of a DSN */
	char			orcpt[SMTP_ORCPT_MAX + 1];
};

struct smtp_bdat {
	uint64_t		size;
	int			last;
	/* On error: nonzero when size is still right, so the session
	 * can read and discard the chunk; zero when the session cannot
	 * know where the next command starts and must close. */
	int			size_valid;
};

struct smtp_cmd {
	enum smtp_verb		 verb;
	/* Set when smtp_parse_line() returns -1 */
	struct smtp_reply	 reply;
	/* HELO/EHLO: a lower-cased domain or a canonical literal */
	char			 helo[ADDRESS_DOMAIN_MAX + 1];
	int			 helo_family;	/* nonzero for a literal */
	/* MAIL: reverse-path; RCPT: forward-path */
	struct address		 path;
	struct smtp_mail_params	 mail;
	struct smtp_rcpt_params	 rcpt;
	struct smtp_bdat	 bdat;
	/* AUTH: mechanism, upper-cased */
	char			 mech[SMTP_MECH_MAX + 1];
	/* AUTH initial response (RFC 4954 §4): points into the caller's
	 * line, NULL when absent; only base64 characters or a single "=",
	 * not decoded. Can be longer than SMTP_LINE_MAX (12288 octets). */
	const char		*initial;
	size_t			 initial_len;
	/* VRFY/EXPN argument: printable ASCII or well-formed UTF-8 */
	char			 arg[SMTP_ARG_MAX + 1];
};

/* Flags for smtp_parse_line() */
#define SMTP_PARSE_F_UTF8	0x1	/* the transaction's MAIL had
					   SMTPUTF8: RCPT may hold UTF-8 */

/*
 * Parse one command line, line[0..len) without CRLF; it may hold any
 * byte, NUL included. Returns 0 with cmd filled, or -1 with cmd->reply
 * set (cmd->verb says which command failed; SMTP_CMD_UNKNOWN for an
 * unrecognized verb). For BDAT see struct smtp_bdat on errors.
 */
int		 smtp_parse_line(const char *line, size_t len, unsigned flags,
		    struct smtp_cmd *cmd);

/* "MAIL", "EHLO", ...; "UNKNOWN" for the rest. For logs. */
const char	*smtp_verb_name(enum smtp_verb);

/*
 * RFC 3461 §4 xtext ("+" and two hex digits, either case) into out, which
 * gets a NUL. Refuses characters outside xchar, bad or short "+XX",
 * output that does not fit, and output that is not printable ASCII or
 * well-formed UTF-8 (no NUL, no controls). Returns the decoded length,
 * or -1.
 */
int		 smtp_xtext_decode(const char *in, size_t len, char *out,
		    size_t outlen);

#endif
