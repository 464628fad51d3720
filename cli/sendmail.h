/*
 * sendmail.h: sendmail(1)'s parts: its command line (sm_opts.c), the
 * message read from standard input (sm_input.c) and its header work for
 * -t (sm_headers.c), the output buffer (sm_out.c), the SMTP client of
 * the submit socket (sm_smtp.c), the maildrop (sm_drop.c) with the
 * set-group-id rules (sm_priv.c), and the -bs relay (sm_relay.c).
 * Every failure is said once on stderr and returned as a sysexits code.
 */
#ifndef BULWARK_SENDMAIL_H
#define BULWARK_SENDMAIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SM_DEFAULT_CONFIG	"/etc/bulwark/bulwark.conf"
#define SM_CONFIG_ENV		"BULWARK_CONFIG"
#define SM_RCPT_MAX		10000	/* recipients of one message */
#define SM_HEADER_MAX		(1024 * 1024)	/* bytes of the header */
#define SM_ERR_MAX		512

extern const char	*sm_progname;

/* sm_opts.c */
enum sm_mode {
	SM_MODE_SEND,		/* -bm, the default */
	SM_MODE_MAILQ,		/* -bp, or called mailq */
	SM_MODE_NEWALIASES,	/* -bi, or called newaliases */
	SM_MODE_SMTP,		/* -bs */
	SM_MODE_FLUSH,		/* -q */
	SM_MODE_NOTHING,	/* -q30m: the queue manager retries anyway */
};

struct sm_opts {
	enum sm_mode	  mode;
	const char	 *conf;		/* -C, NULL: none given */
	const char	 *sender;	/* -f or -r, NULL: none given */
	const char	 *fullname;	/* -F */
	int		  extract;	/* -t */
	int		  ignore_dots;	/* -i, -oi */
	int		  verbose;	/* -v */
	uint32_t	  notify;	/* -N, QM_NOTIFY_* (0: not given) */
	uint32_t	  ret;		/* -R, QM_RET_* */
	const char	 *envid;	/* -V */
	char		**rcpts;	/* the operands */
	int		  nrcpts;
};

/* Parses argv (progname: the basename sendmail was called by). 0, or
 * EX_USAGE with the reason in err. Uses getopt(3): not reentrant. */
int	sm_opts_parse(int argc, char **argv, const char *progname,
	    struct sm_opts *, char *err, size_t errlen);

/* sm_input.c: the message, its header in memory, its body in a
 * temporary file, each line as read without its line end. */
struct sm_header {
	char	*text;		/* "Name: value", folded lines joined by LF */
	size_t	 len;
};

struct sm_msg {
	struct sm_header	*h;
	size_t			 nh;
	size_t			 hcap;
	size_t			 hbytes;
	FILE			*body;	/* LF line ends */
	uint64_t		 size;	/* bytes as sent, with CRLF */
	int			 eightbit;
};

/* Reads in until EOF (or a lone "." unless ignore_dots). 0, or a
 * sysexits code after saying why on stderr. limit: bytes at most. */
int	sm_read(FILE *in, int ignore_dots, uint64_t limit, struct sm_msg *);
void	sm_msg_free(struct sm_msg *);

/* sm_headers.c */
/* 1 if some header is named name (case-insensitive) */
int	sm_has_header(const struct sm_msg *, const char *name);
/* Appends a header of len bytes as read: 0, or -1 (no memory). */
int	sm_header_push(struct sm_msg *, const char *text, size_t len);
/* Adds a header (text without line end), counted in the size; 0 or
 * sysexits after saying why. */
int	sm_add_header(struct sm_msg *, const char *text);
/* Removes every Bcc: header. */
void	sm_remove_bcc(struct sm_msg *);
/* Calls add for each address of To:, Cc: and Bcc:; 0 or sysexits. */
int	sm_extract(const struct sm_msg *,
	    int (*add)(void *, const char *, char *, size_t), void *arg);
/* The From: header for addr and an optional full name, into buf. */
int	sm_from_header(const char *addr, const char *fullname, char *buf,
	    size_t len);

/* sm_out.c: a buffered writer onto a descriptor, with a timeout. */
struct sm_out {
	int	fd;
	int	timeout_ms;	/* -1: none */
	int	err;		/* errno of the first failure, 0 */
	size_t	len;
	char	buf[65536];
};

void	sm_out_init(struct sm_out *, int fd, int timeout_ms);
void	sm_out_put(struct sm_out *, const char *, size_t);
int	sm_out_flush(struct sm_out *);	/* 0 or -1 (errno in err) */
/* The message as sent: CRLF line ends, dot-stuffed if dots. */
int	sm_write_message(const struct sm_msg *, struct sm_out *, int dots);

/* sm_priv.c: set-group-id for the maildrop only. */
void	sm_priv_init(void);		/* first thing in main */
void	sm_priv_forget(void);		/* for good */
int	sm_priv_raise(void);		/* 0 or -1 */
void	sm_priv_lower(void);
int	sm_priv_have(void);		/* 1 while it can still raise */

/* What sendmail submits: built by sendmail.c, sent by sm_smtp.c or
 * written by sm_drop.c. */
struct sm_submit {
	const char	 *hostname;	/* config's */
	const char	 *spool;
	char		 *sender;	/* "" for <> */
	char		**rcpts;
	size_t		  nrcpts;
	uint32_t	  notify;
	uint32_t	  ret;
	const char	 *envid;
	int		  smtputf8;
	struct sm_msg	 *msg;
	int		  verbose;
};

/* sm_smtp.c: over SPOOL/public/submit. 0, a sysexits code, or
 * SM_NO_DAEMON when nobody listens there (for the maildrop). */
#define SM_NO_DAEMON	(-1)
int	sm_submit_connect(const char *spool, int *fd);
int	sm_smtp_send(const struct sm_submit *, int fd);

/* sm_drop.c */
int	sm_drop(const struct sm_submit *);

/* sm_relay.c: -bs */
int	sm_relay(const char *spool, const char *hostname);

#endif
