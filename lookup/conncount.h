/*
 * conncount.h: the SMTP sessions of all smtpd workers, per client
 * address and in all, for connection-limit and connection-limit-per-ip.
 */
#ifndef BULWARK_CONNCOUNT_H
#define BULWARK_CONNCOUNT_H

#include <stdint.h>

#include "proto.h"

#define CONN_ADDR_MAX		64	/* an address as text (INET6 is 46) */
#define CONN_CLIENTS_MAX	200000	/* addresses with a session */

struct ipc_msg;
struct link;

/* One more session of link (a worker) from addr: LK_OK and counted, or
 * LK_CONN_TOTAL, LK_CONN_CLIENT (not for an exempt, trusted client), or
 * LK_TEMPFAIL. */
enum lk_status	conn_admit(uint32_t link, const char *addr, int exempt,
		    unsigned limit, unsigned limit_per_client);
/* One session of link from addr ended; one never counted is ignored. */
void		conn_release(uint32_t link, const char *addr);
/* The worker behind link is gone, and its sessions with it. */
void		conn_link_gone(uint32_t link);
/* Sessions from addr, or in all (NULL). */
unsigned	conn_count(const char *addr);

/* LK_CONNECT and LK_DISCONNECT */
void		answer_connect(struct link *, struct ipc_msg *);
void		answer_disconnect(struct link *, struct ipc_msg *);

#endif
