/*
 * log.h: one line per event, to syslog (mail facility) or to stderr when
 * the master runs in the foreground; children inherit the choice.
 */
#ifndef BULWARK_LOG_H
#define BULWARK_LOG_H

#include <stdarg.h>

void	log_init(const char *ident, int foreground);
void	log_set_ident(const char *ident);
void	log_set_debug(int on);
int	log_is_foreground(void);

void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn and fatal append ": strerror(errno)" */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
