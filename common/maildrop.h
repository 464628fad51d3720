/*
 * maildrop.h: the maildrop file, what sendmail(1) leaves in
 * SPOOL/queue/maildrop/ when Bulwark is not running and what qmgr picks
 * up at its next start (bulwark-queue(5)). A small versioned text
 * envelope, then the message with CRLF line ends. The file is written by
 * any local user, so the parser is strict and bounded, and nothing in it
 * says who wrote it: qmgr takes that from the file's owner.
 */
#ifndef BULWARK_MAILDROP_H
#define BULWARK_MAILDROP_H

#include <stddef.h>
#include <stdint.h>

#define MAILDROP_DIR		"maildrop"	/* in the queue directory */
#define MAILDROP_MAGIC		"bulwark-maildrop"
#define MAILDROP_VERSION	1
#define MAILDROP_ADDR_MAX	256	/* RFC 5321 path, as smtpd takes */
#define MAILDROP_ENVID_MAX	100	/* RFC 3461 §4.4 */
#define MAILDROP_RCPT_MAX	10000	/* recipients of one file */
#define MAILDROP_LINE_MAX	512	/* bytes of one envelope line */
/* Names sendmail writes under before the rename: never picked up. */
#define MAILDROP_TMP_PREFIX	"tmp."

struct maildrop_rcpt {
	char		addr[MAILDROP_ADDR_MAX + 1];
	uint32_t	notify;		/* QM_NOTIFY_*, 0: not given */
};

struct maildrop {
	uint32_t		 flags;		/* QM_F_SMTPUTF8 */
	uint32_t		 body;		/* QM_BODY_7BIT, _8BITMIME */
	uint32_t		 ret;		/* QM_RET_*, NONE: not given */
	char			 envid[MAILDROP_ENVID_MAX + 1];
	char			 sender[MAILDROP_ADDR_MAX + 1];	/* "" : <> */
	struct maildrop_rcpt	*rcpt;
	size_t			 nrcpt;
	size_t			 rcpt_cap;
	/* the message: bytes [msg_off, msg_off + msg_len) of the file */
	size_t			 msg_off;
	size_t			 msg_len;
};

void	maildrop_init(struct maildrop *);
void	maildrop_free(struct maildrop *);
/* -1 (errno ENOMEM or E2BIG) when the recipient cannot be added; the
 * address is not checked here (the writer checks, the parser refuses). */
int	maildrop_rcpt_add(struct maildrop *, const char *addr,
	    uint32_t notify);
/* The envelope as text (malloc'd, NUL-terminated, *len without the
 * NUL), or NULL if a field would not parse back (err says which). */
char	*maildrop_format(const struct maildrop *, size_t *len, char *err,
	    size_t errlen);
/* Parses a whole file: 0 with md filled (free it with maildrop_free),
 * or -1 with the reason in err and md empty. */
int	maildrop_parse(const char *buf, size_t len, struct maildrop *md,
	    char *err, size_t errlen);

/* DSN NOTIFY as sendmail -N and the file write it: "never", or a comma
 * list of success, failure and delay. 0 or -1. */
int	maildrop_notify_parse(const char *s, uint32_t *notify);
/* "-" for 0; buf of 32 bytes is enough. */
void	maildrop_notify_format(uint32_t notify, char *buf, size_t len);
/* Is addr fit for the file (printable, no angle brackets, at most
 * MAILDROP_ADDR_MAX bytes; bytes >= 0x80 only if utf8)? 1 or 0. */
int	maildrop_addr_ok(const char *addr, int utf8);

#endif
