/*
 * conncount.c: the SMTP sessions open on all smtpd workers, counted in
 * one place so that connection-limit and connection-limit-per-ip hold
 * for the server as a whole. Each worker's share of a count is kept
 * apart, so that a worker that dies takes its sessions with it; a
 * lookup that restarts starts from zero and under-counts the sessions
 * already open until they end.
 */
#include <sys/tree.h>

#ifndef __unused	/* sys/tree.h's static functions use it */
#define __unused __attribute__((unused))
#endif

#include <stdlib.h>
#include <string.h>

#include "conncount.h"
#include "daemon.h"
#include "link.h"
#include "log.h"
#include "lookup.h"
#include "wire.h"

struct conn_share {
	struct conn_share	*next;
	uint32_t		 link;
	unsigned		 n;
};

struct conn_client {
	RB_ENTRY(conn_client)	 entry;
	char			 addr[CONN_ADDR_MAX + 1];
	unsigned		 n;		/* all workers' */
	struct conn_share	*shares;
};

static int
conn_cmp(const struct conn_client *a, const struct conn_client *b)
{
	return strcmp(a->addr, b->addr);
}

RB_HEAD(conn_tree, conn_client);
RB_GENERATE_STATIC(conn_tree, conn_client, entry, conn_cmp);

static struct conn_tree	clients = RB_INITIALIZER(&clients);
static size_t		nclients;
static unsigned		nsessions;

static struct conn_client *
conn_find(const char *addr)
{
	struct conn_client	key;

	if (strlcpy(key.addr, addr, sizeof(key.addr)) >= sizeof(key.addr))
		return NULL;
	return RB_FIND(conn_tree, &clients, &key);
}

static struct conn_share *
conn_share(struct conn_client *c, uint32_t link, int create)
{
	struct conn_share	*sh;

	for (sh = c->shares; sh != NULL; sh = sh->next)
		if (sh->link == link)
			return sh;
	if (!create || (sh = calloc(1, sizeof(*sh))) == NULL)
		return NULL;
	sh->link = link;
	sh->next = c->shares;
	c->shares = sh;
	return sh;
}

/* Takes n sessions of link away from c; frees what is left empty. */
static void
conn_drop(struct conn_client *c, struct conn_share *sh, unsigned n)
{
	struct conn_share	**pp;

	sh->n -= n;
	c->n -= n;
	nsessions -= n;
	if (sh->n == 0) {
		for (pp = &c->shares; *pp != sh; pp = &(*pp)->next)
			;
		*pp = sh->next;
		free(sh);
	}
	if (c->n == 0) {
		RB_REMOVE(conn_tree, &clients, c);
		free(c);
		nclients--;
	}
}

enum lk_status
conn_admit(uint32_t link, const char *addr, int exempt, unsigned limit,
    unsigned limit_per_client)
{
	struct conn_client	*c;
	struct conn_share	*sh;

	if (nsessions >= limit)
		return LK_CONN_TOTAL;
	if ((c = conn_find(addr)) == NULL) {
		if (nclients >= CONN_CLIENTS_MAX || strlen(addr) > CONN_ADDR_MAX)
			return LK_CONN_TOTAL;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return LK_TEMPFAIL;
		strlcpy(c->addr, addr, sizeof(c->addr));
		RB_INSERT(conn_tree, &clients, c);
		nclients++;
	}
	if (!exempt && c->n >= limit_per_client)
		return LK_CONN_CLIENT;
	if ((sh = conn_share(c, link, 1)) == NULL) {
		if (c->n == 0) {
			RB_REMOVE(conn_tree, &clients, c);
			free(c);
			nclients--;
		}
		return LK_TEMPFAIL;
	}
	sh->n++;
	c->n++;
	nsessions++;
	return LK_OK;
}

void
conn_release(uint32_t link, const char *addr)
{
	struct conn_client	*c;
	struct conn_share	*sh;

	/* unknown: counted by a lookup before this one */
	if ((c = conn_find(addr)) != NULL &&
	    (sh = conn_share(c, link, 0)) != NULL)
		conn_drop(c, sh, 1);
}

void
conn_link_gone(uint32_t link)
{
	struct conn_client	*c, *next;
	struct conn_share	*sh;

	RB_FOREACH_SAFE(c, conn_tree, &clients, next)
		if ((sh = conn_share(c, link, 0)) != NULL)
			conn_drop(c, sh, sh->n);
}

unsigned
conn_count(const char *addr)
{
	struct conn_client	*c;

	if (addr == NULL)
		return nsessions;
	return (c = conn_find(addr)) != NULL ? c->n : 0;
}

/*
 * The questions of smtpd.
 */

void
answer_connect(struct link *l, struct ipc_msg *m)
{
	static struct wire_w	w;
	struct wire_r		r;
	char			addr[CONN_ADDR_MAX + 1];
	uint32_t		id, flags, status;

	wire_r_init(&r, m);
	id = wire_r_u32(&r);
	flags = wire_r_u32(&r);
	wire_r_str(&r, addr, sizeof(addr));
	if (wire_r_end(&r) == -1 || !wire_text_ok(addr)) {
		link_drop(l, "malformed connect query");
		return;
	}
	status = conn_admit(l->id, addr, (flags & LK_F_TRUSTED) != 0,
	    daemon_cfg->connection_limit, daemon_cfg->connection_limit_per_ip);
	wire_w_init(&w);
	wire_w_u32(&w, id);
	wire_w_u32(&w, status);
	wire_w_str(&w, addr);
	if (w.err || ipc_send(l->chan, LK_CONNECT_REPLY, w.buf, w.len,
	    -1) == -1)
		log_warnx("%s: cannot answer", l->name);
}

void
answer_disconnect(struct link *l, struct ipc_msg *m)
{
	struct wire_r	r;
	char		addr[CONN_ADDR_MAX + 1];

	wire_r_init(&r, m);
	wire_r_str(&r, addr, sizeof(addr));
	if (wire_r_end(&r) == -1) {
		link_drop(l, "malformed disconnect");
		return;
	}
	conn_release(l->id, addr);
}
