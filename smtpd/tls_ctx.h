/*
 * tls_ctx.h: the server's OpenSSL contexts, built from the configuration:
 * the default certificate and one context per tls-sni name. Shared with
 * the master, which builds them once at "bulwark -n" so that a key that
 * does not match its certificate is an error at check time, with the
 * file and line, not a worker that dies at start.
 */
#ifndef BULWARK_TLS_CTX_H
#define BULWARK_TLS_CTX_H

#include <stddef.h>

#include <openssl/ssl.h>

struct config;

struct tls_sni_ctx {
	char	 name[256];	/* lower-case; "*.example.com" */
	SSL_CTX	*ctx;
};

struct tls_server {
	SSL_CTX			*dflt;		/* NULL: no TLS configured */
	struct tls_sni_ctx	*sni;
	size_t			 nsni;
};

/* Loads every certificate and key of cf into srv; -1 with
 * "file:line: message" in err. */
int	tls_server_load(const struct config *cf, struct tls_server *srv,
	    char *err, size_t errlen);
void	tls_server_free(struct tls_server *);
/* The context for an SNI name: exact first, then "*." and the name
 * without its first label; NULL if none matches. */
SSL_CTX	*tls_server_lookup(const struct tls_server *, const char *name);

#endif
