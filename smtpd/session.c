/*
 * session.c: one SMTP session (placeholder until the smtpd issue).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "smtpd.h"

static unsigned	nsessions;

unsigned
session_count(void)
{
	return nsessions;
}

static void
session_end(struct bufferevent *bev)
{
	bufferevent_free(bev);
	nsessions--;
	smtpd_session_ended();
}

static void
session_read(struct bufferevent *bev, void *arg)
{
	char	*line;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), NULL,
	    EVBUFFER_EOL_CRLF)) != NULL) {
		if (strcasecmp(line, "QUIT") == 0) {
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "221 2.0.0 Bye\r\n");
			free(line);
			session_end(bev);
			return;
		}
		evbuffer_add_printf(bufferevent_get_output(bev),
		    "250 2.0.0 Ok\r\n");
		free(line);
	}
}

static void
session_event(struct bufferevent *bev, short what, void *arg)
{
	session_end(bev);
}

void
session_new(int fd, struct sockaddr *sa, socklen_t salen, int kind)
{
	struct bufferevent	*bev;

	bev = bufferevent_socket_new(daemon_base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	nsessions++;
	bufferevent_setcb(bev, session_read, NULL, session_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	evbuffer_add_printf(bufferevent_get_output(bev),
	    "220 %s ESMTP Bulwark\r\n", daemon_cfg->hostname);
}
