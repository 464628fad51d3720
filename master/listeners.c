/*
 * listeners.c: the TCP listening sockets. Bound by the master as root and
 * handed to the smtpd workers; on reload a socket whose address did not
 * change is kept, so that no connection is refused during a reload.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

#define LISTEN_BACKLOG	1024

void
listener_name(const struct cfg_listener *l, char *buf, size_t len)
{
	if (strchr(l->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", l->host, l->port);
	else
		snprintf(buf, len, "%s:%u", l->host, l->port);
}

static int
listener_bind(const struct cfg_listener *l, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	char			 name[128];
	int			 fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, l->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, l->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(l->port);
		sslen = sizeof(*sin6);
	} else {
		snprintf(err, errlen, "listen: bad address %s", l->host);
		return -1;
	}
	listener_name(l, name, sizeof(name));
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errlen, "listen on %s: %s", name,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static struct listener *
listener_find(const struct listener_set *set, const struct cfg_listener *l)
{
	size_t	i;

	if (set == NULL)
		return NULL;
	for (i = 0; i < set->n; i++)
		if (set->v[i].fd != -1 && set->v[i].cfg.port == l->port &&
		    strcmp(set->v[i].cfg.host, l->host) == 0)
			return &set->v[i];
	return NULL;
}

/* Builds the set for cfg, taking over the sockets of old that are still
 * wanted (their fd in old becomes -1). On failure nothing changes. */
int
listeners_open(const struct config *cfg, const struct listener_set *old,
    struct listener_set *out, char *err, size_t errlen)
{
	struct listener	*v, *prev;
	size_t		 i;

	if ((v = calloc(cfg->nlisteners, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cfg->nlisteners; i++) {
		v[i].cfg = cfg->listeners[i];
		if ((prev = listener_find(old, &v[i].cfg)) != NULL)
			v[i].fd = -2;	/* taken below, once all bound */
		else if ((v[i].fd = listener_bind(&v[i].cfg, err,
		    errlen)) == -1) {
			while (i-- > 0)
				if (v[i].fd >= 0)
					close(v[i].fd);
			free(v);
			return -1;
		}
	}
	for (i = 0; i < cfg->nlisteners; i++) {
		if (v[i].fd != -2)
			continue;
		prev = listener_find(old, &v[i].cfg);
		v[i].fd = prev->fd;
		prev->fd = -1;
	}
	out->v = v;
	out->n = cfg->nlisteners;
	return 0;
}

void
listeners_close(struct listener_set *set)
{
	size_t	i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].fd >= 0)
			close(set->v[i].fd);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}
