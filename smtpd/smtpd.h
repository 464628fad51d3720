/*
 * smtpd.h: the parts of bulwark-smtpd: the process (smtpd.c), sessions
 * (session.c), the links to qmgr and lookup (client.c) and TLS (tls.c).
 */
#ifndef BULWARK_SMTPD_H
#define BULWARK_SMTPD_H

#include <sys/socket.h>

#include "ipc.h"
#include "link.h"

struct config;

/* smtpd.c */
extern unsigned	smtpd_workers;	/* workers sharing the listeners, >= 1 */
void		smtpd_pause_accept(int pause);
void		smtpd_session_ended(void);

/* session.c */
void		session_new(int fd, struct sockaddr *, socklen_t, int kind);
unsigned	session_count(void);

/* client.c: requests to lookup and qmgr, answered asynchronously */
extern const struct ipc_rule	smtpd_qmgr_rules[];
extern const struct ipc_rule	smtpd_lookup_rules[];
void		smtpd_qmgr_dispatch(struct ipc_chan *, struct ipc_msg *,
		    void *);
void		smtpd_lookup_dispatch(struct ipc_chan *, struct ipc_msg *,
		    void *);
void		smtpd_qmgr_gone(struct link *);
void		smtpd_lookup_gone(struct link *);

/* tls.c */
struct bufferevent;
void		smtpd_tls_setup(struct config *);
int		tls_available(void);
struct bufferevent *tls_accept_socket(int fd);
struct bufferevent *tls_accept_filter(struct bufferevent *plain);
void		tls_describe(struct bufferevent *, char *info, size_t,
		    char *logname, size_t);
void		tls_error(struct bufferevent *, char *, size_t);

#endif
