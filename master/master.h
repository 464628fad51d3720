/*
 * master.h: the supervisor's parts: listeners it binds, children it runs
 * and links, and the spool it prepares. Shared by the files of master/ only.
 */
#ifndef BULWARK_MASTER_H
#define BULWARK_MASTER_H

#include <sys/types.h>

#include "config.h"
#include "proto.h"

struct event_base;

struct listener {
	struct cfg_listener	cfg;
	int			fd;
};

struct listener_set {
	struct listener	*v;
	size_t		 n;
};

/* listeners.c */
int	listeners_open(const struct config *, const struct listener_set *old,
	    struct listener_set *out, char *err, size_t errlen);
void	listeners_close(struct listener_set *);
void	listener_name(const struct cfg_listener *, char *buf, size_t len);

/* spool.c */
int	spool_prepare(const struct config *);
int	spool_lock(const struct config *);
int	spool_write_pid(int fd);

/* children.c */
struct master_state {
	struct event_base	*base;
	struct config		*cfg;
	char			*cfg_text;
	size_t			 cfg_len;
	char			 cfg_name[4096];
	unsigned		 generation;
	struct listener_set	 listeners;
	char			 daemon_dir[4096];
	int			 foreground;
	int			 debug;
	int			 stopping;
};

extern struct master_state	master;

void	children_start_all(void);
void	children_reap(void);
void	children_reload(void);
void	children_stop_all(void);
int	children_running(void);

#endif
