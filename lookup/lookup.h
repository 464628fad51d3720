/*
 * lookup.h: the parts of bulwark-lookup and how they meet. lookup.c is
 * the daemon (links, dispatch, the tables it keeps open and reopens);
 * answer.c answers the questions (recipients, users, expansions);
 * expand.c holds the rules of expansion, and table.c the tables.
 */
#ifndef BULWARK_LOOKUP_H
#define BULWARK_LOOKUP_H

#include "table.h"

#define LK_ADDR_MAX	512

struct ipc_msg;
struct link;

/* lookup.c: the configured tables, NULL where none is configured */
extern struct table	*lookup_alias_table;
extern struct table	*lookup_virtual_table;
/* auth.c */
extern struct table	*lookup_credentials_table;
extern struct table	*lookup_sender_login_table;

/* table_get after the periodic check of the file, with one log line for
 * each (re)opening and each failure of an open table. */
int	lookup_table_get(struct table *, const char *key, char *val,
	    size_t len);

/* answer.c */
void	answer_rcpt(struct link *, struct ipc_msg *);
void	answer_user(struct link *, struct ipc_msg *);
void	answer_expand(struct link *, struct ipc_msg *);
void	answer_forward(struct link *, struct ipc_msg *);

/* auth.c */
void	answer_auth(struct link *, struct ipc_msg *);
void	answer_sender(struct link *, struct ipc_msg *);
void	answer_uid(struct link *, struct ipc_msg *);

#endif
