/*
 * addrlist.h: the addresses of an RFC 5322 address list, as a To:, Cc:
 * or Bcc: field body holds them (sendmail -t): display names, angle
 * addresses, groups, comments, quoted strings and folded lines, and the
 * obsolete forms mail still carries (routes, empty members, dots in
 * names). Pure: no I/O, no allocation.
 */
#ifndef BULWARK_ADDRLIST_H
#define BULWARK_ADDRLIST_H

#include <stddef.h>

#define ADDRLIST_ADDR_MAX	256	/* bytes of one address found */
#define ADDRLIST_DEPTH_MAX	32	/* nested comments */

/* Called with each address in order: "local@domain" with the local part
 * as written (quotes kept), or "local" alone when the address has no
 * domain. Returns 0 to go on, -1 to stop (addrlist_parse then fails with
 * err left as the callback set it). */
typedef int	(*addrlist_cb)(void *arg, const char *addr, char *err,
		    size_t errlen);

/* Parses s[0..len) (it need not be NUL-terminated; CR and LF count as
 * folding white space). Returns the number of addresses, or -1 with the
 * reason in err. */
int	addrlist_parse(const char *s, size_t len, addrlist_cb cb, void *arg,
	    char *err, size_t errlen);

#endif
