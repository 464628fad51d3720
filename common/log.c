/*
 * log.c: syslog (mail facility) or stderr in the foreground. One call is
 * one line; newlines in the formatted text are replaced so that a hostile
 * string cannot forge a second log line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static char	log_ident[32] = "bulwark";
static int	log_foreground = 1;
static int	log_debug_on;

void
log_init(const char *ident, int foreground)
{
	log_foreground = foreground;
	log_set_ident(ident);
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_ident(const char *ident)
{
	strlcpy(log_ident, ident, sizeof(log_ident));
}

void
log_set_debug(int on)
{
	log_debug_on = on;
}

int
log_is_foreground(void)
{
	return log_foreground;
}

static void	log_emit(int, const char *, va_list, const char *)
		    __attribute__((format(printf, 2, 0)));

static void
log_emit(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char	 line[2048];
	size_t	 i;
	int	 n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (suffix != NULL)
		strlcat(line, suffix, sizeof(line));
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (log_foreground) {
		/* one write per line so that lines of several processes
		 * sharing stderr do not interleave */
		char	out[2200];

		n = snprintf(out, sizeof(out), "%s[%d]: %s\n", log_ident,
		    (int)getpid(), line);
		if (n > 0)
			(void)!write(STDERR_FILENO, out,
			    (size_t)n < sizeof(out) ? (size_t)n :
			    sizeof(out) - 1);
	} else
		syslog(pri, "%s", line);
}

#define LOG_FN(name, pri, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	char	 suffix[128];					\
	va_list	 ap;						\
	int	 saved = errno;					\
								\
	if (with_errno)						\
		snprintf(suffix, sizeof(suffix), ": %s",	\
		    strerror(saved));				\
	va_start(ap, fmt);					\
	log_emit(pri, fmt, ap, with_errno ? suffix : NULL);	\
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_warn, LOG_WARNING, 1)

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char	 suffix[128];
	va_list	 ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(errno));
	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, suffix);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
