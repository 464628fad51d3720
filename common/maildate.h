/*
 * maildate.h: the date of RFC 5322 §3.3 as a Date: or Received: line
 * wants it, local time with its offset ("Tue, 1 Jul 2025 10:00:00
 * +0200"). For sendmail's maildrop and qmgr's pickup.
 */
#ifndef BULWARK_MAILDATE_H
#define BULWARK_MAILDATE_H

#include <stddef.h>
#include <time.h>

#define MAILDATE_MAX	64	/* bytes, with the NUL */

/* 0, or -1 if the clock or the buffer fails */
int	mail_date(time_t when, char *buf, size_t len);

#endif
