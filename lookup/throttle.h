/*
 * throttle.h: failure counts over a sliding window, per key ("client
 * address" or "login"), bounded in memory. lookup keeps them for AUTH so
 * that every smtpd worker sees the same count.
 */
#ifndef BULWARK_THROTTLE_H
#define BULWARK_THROTTLE_H

#include <time.h>

#define THROTTLE_KEY_MAX	320
#define THROTTLE_ENTRIES_MAX	20000

/* Has key failed limit times within window seconds before now? */
int	throttle_over(const char *key, unsigned limit, unsigned window,
	    time_t now);
void	throttle_fail(const char *key, unsigned window, time_t now);
void	throttle_clear(const char *key);

#endif
