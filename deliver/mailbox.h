/*
 * mailbox.h: the mailbox writers of bulwark-local, which run in the child
 * as the recipient: the output filter (stream.c), the trace headers and
 * the loop check (headers.c), what both formats share (mailbox.c), and
 * the Maildir (maildir.c) and mbox (mbox.c) formats themselves.
 */
#ifndef BULWARK_MAILBOX_H
#define BULWARK_MAILBOX_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "local.h"

/* stream.c: buffered output through a replaceable write function, with
 * CRLF -> LF and mboxrd ">From " quoting applied across buffer ends. */
#define STREAM_BUFSZ		(64 * 1024)
#define STREAM_CRLF		0x1	/* turn CRLF into LF */
#define STREAM_QUOTE_FROM	0x2	/* mboxrd: ^>*From  gets one more > */

/* Writes all of buf or returns -1 with errno set. */
typedef int	stream_write_fn(void *arg, const void *buf, size_t len);

struct stream {
	stream_write_fn	*write;
	void		*arg;
	int		 flags;
	int		 err;		/* errno of the first failure, sticky */
	uint64_t	 written;	/* bytes the write function took */
	int		 cr;		/* a CR held back: is it CRLF? */
	int		 bol;		/* at the start of a line */
	int		 match;		/* matching ^>*From  at bol */
	size_t		 gt;		/* '>' held back while matching */
	size_t		 from;		/* bytes of "From " matched */
	int		 last;		/* last byte out, -1 for none */
	size_t		 len;
	uint8_t		 buf[STREAM_BUFSZ];
};

void	stream_init(struct stream *, int flags, stream_write_fn *, void *);
/* The next two return 0, or -1 once any write has failed (s->err). */
int	stream_put(struct stream *, const void *, size_t);	/* filtered */
int	stream_raw(struct stream *, const void *, size_t);	/* as is */
/* Releases what the filters held back, ends the text with a LF if it
 * did not end with one, and writes out the buffer. */
int	stream_finish(struct stream *);
int	stream_flush(struct stream *);

/* headers.c */
#define HDR_LINE_MAX	1024	/* of one unfolded header we look into */

struct hdr_scan {
	const char	*rcpt;		/* a Delivered-To: equal to it: loop */
	unsigned	 received;	/* Received: headers seen */
	int		 delivered;	/* a Delivered-To: equal to rcpt */
	int		 done;		/* the header section has ended */
	int		 bol;
	size_t		 len;
	char		 line[HDR_LINE_MAX];
};

void	hdr_scan_init(struct hdr_scan *, const char *rcpt);
/* Returns 1 once the header section has ended: the rest need not be fed. */
int	hdr_scan_feed(struct hdr_scan *, const void *, size_t);
void	hdr_scan_end(struct hdr_scan *);
int	hdr_scan_is_loop(const struct hdr_scan *, unsigned max_received);
/* rcpt with its domain lower-cased; -1 if it does not fit */
int	hdr_delivered_to(const char *rcpt, char *out, size_t outlen);
/* "Return-Path: <sender>\nDelivered-To: rcpt\n"; length, or -1 */
int	hdr_trace(char *out, size_t outlen, const char *sender,
	    const char *dtrcpt);

/* mailbox.c */
extern volatile sig_atomic_t	mailbox_cancelled;	/* set on SIGTERM */

void	mailbox_result(struct local_result *, enum dl_status, const char *dsn,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A warning the parent logs, whatever the result. */
void	mailbox_note(struct local_result *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The mailbox named in the log (cut short if need be). */
void	mailbox_name(struct local_result *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A failed system call: ENOSPC, EDQUOT, ... to a temporary DSN. */
void	mailbox_errno_result(struct local_result *, int err, const char *what,
	    const char *path);
/* Reads the header section; a loop gives DL_PERMFAIL 5.4.6. 0 or -1. */
int	mailbox_check_loop(const struct local_env *, struct local_result *);
/* Trace headers, then the message through the stream. 0, or -1 with
 * errno: *read_err says whether reading the message failed. */
int	mailbox_copy(struct stream *, const struct local_env *,
	    int *read_err);
/* The stream_write_fn for a descriptor: arg points to an int. */
int	mailbox_write_fd(void *arg, const void *buf, size_t len);

/* maildir.c */
#define MAILDIR_NAME_MAX	256

/* Encodes '/' as \057 and ':' as \072; -1 if it does not fit. */
int	maildir_encode_host(const char *host, char *out, size_t outlen);
/* seconds.M<usec>P<pid>Q<counter>.<host>; -1 if it does not fit */
int	maildir_unique(char *out, size_t outlen, const struct timeval *,
	    pid_t, uint32_t counter, const char *host);
/* Delivers into home/maildir as the current user. 0 or -1, with res. */
int	maildir_deliver(const char *home, const char *maildir,
	    const struct local_env *, struct local_result *);

/* mbox.c */
/* mbox_path with %u replaced by user; -1 if it does not fit */
int	mbox_expand_path(char *out, size_t outlen, const char *fmt,
	    const char *user);
/* "From sender asctime\n" in UTC, MAILER-DAEMON for <>; length or -1 */
int	mbox_from_line(char *out, size_t outlen, const char *sender, time_t);
/* As root, before the child becomes the user: create a missing mailbox
 * for uid, but only in a directory no ordinary user can change. */
void	mbox_create_as_root(const char *path, uid_t, gid_t);
/* Appends one message to an open, locked mailbox; on failure cuts the
 * mailbox back to its former size. wfn NULL: write(2) to fd. */
int	mbox_append(int fd, const struct local_env *, stream_write_fn *wfn,
	    void *warg, struct local_result *);
/* Opens, checks, locks, appends, unlocks, as the current user (uid). */
int	mbox_deliver(const char *path, uid_t, const struct local_env *,
	    struct local_result *);

#endif
