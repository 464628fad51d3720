/*
 * public_sock.h: a client's connection to one of the public sockets in
 * SPOOL/public/ (control for bulwarkctl and mailq, submit for sendmail).
 */
#ifndef BULWARK_PUBLIC_SOCK_H
#define BULWARK_PUBLIC_SOCK_H

#include <stddef.h>

/* Connects to SPOOL/public/NAME with a socket of type; the descriptor,
 * or -1 with errno (ENAMETOOLONG when the path does not fit). path gets
 * the socket's path, for messages. */
int	public_connect(const char *spool, const char *name, int type,
	    char *path, size_t pathlen);

#endif
