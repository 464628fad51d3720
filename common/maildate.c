/*
 * maildate.c: RFC 5322 §3.3 dates for the headers Bulwark adds outside
 * smtpd (sendmail's Date: in the maildrop, qmgr's Received: at pickup).
 */
#include <time.h>

#include "maildate.h"

int
mail_date(time_t when, char *buf, size_t len)
{
	struct tm	tm;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return -1;
	return 0;
}
