/*
 * master.h: the supervisor's parts: listeners it binds, children it runs
 * and links, and the spool it prepares. Shared by the files of master/ only.
 */
#ifndef BULWARK_MASTER_H
#define BULWARK_MASTER_H

#include <sys/types.h>

#include <stdint.h>

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
int	spool_dir(const char *path, uid_t, gid_t, mode_t);
int	spool_prepare(const struct config *);
int	spool_lock(const struct config *);
int	spool_write_pid(int fd);

/* public.c: the public Unix sockets in SPOOL/public/. public_open
 * binds SPOOL/public/NAME (type SOCK_STREAM or SOCK_SEQPACKET, chmod to
 * mode) and hands it to every start of a daemon of kind, as a
 * CTL_LISTENER of listener kind lkind named "public/NAME". */
struct public_sock {
	char		 name[40];
	enum proc_kind	 kind;
	uint32_t	 lkind;
	int		 fd;
};

int	public_init(const struct config *);
int	public_open(const char *name, int type, mode_t mode,
	    enum proc_kind kind, uint32_t lkind);
/* the i-th socket, or NULL past the last */
const struct public_sock *public_get(size_t i);
void	public_close(void);

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
