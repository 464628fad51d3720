/*
 * tls.c: TLS for sessions. The contexts (tls_ctx.c) are built as root,
 * before the drop, so the keys are never reachable from the chroot; a
 * reload starts new workers, which load the files anew.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "smtpd.h"
#include "tls_ctx.h"

static struct tls_server	srv;

void
smtpd_tls_setup(struct config *cfg)
{
	char	err[512];

	/* openssl.cnf is out of reach once chrooted */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		fatalx("TLS: cannot initialise OpenSSL");
	if (tls_server_load(cfg, &srv, err, sizeof(err)) == -1)
		fatalx("TLS: %s", err);
}

int
tls_available(void)
{
	return srv.dflt != NULL;
}

static SSL *
tls_ssl_new(void)
{
	SSL	*ssl;

	if ((ssl = SSL_new(srv.dflt)) == NULL)
		log_warnx("TLS: cannot make a connection: %s",
		    ERR_reason_error_string(ERR_get_error()));
	return ssl;
}

static struct bufferevent *
tls_bev_done(struct bufferevent *bev, SSL *ssl)
{
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* many clients close without close_notify; that is not an error
	 * once the SMTP dialogue is over */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* Implicit TLS (RFC 8314): the handshake starts at once. */
struct bufferevent *
tls_accept_socket(int fd)
{
	SSL	*ssl;

	if ((ssl = tls_ssl_new()) == NULL)
		return NULL;
	return tls_bev_done(bufferevent_openssl_socket_new(daemon_base, fd,
	    ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE), ssl);
}

/* STARTTLS: TLS over the plaintext bufferevent, which the new one owns. */
struct bufferevent *
tls_accept_filter(struct bufferevent *plain)
{
	SSL	*ssl;

	if ((ssl = tls_ssl_new()) == NULL)
		return NULL;
	return tls_bev_done(bufferevent_openssl_filter_new(daemon_base, plain,
	    ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE), ssl);
}

/* The session's TLS for the Received header, "TLSv1.3 with cipher
 * TLS_AES_256_GCM_SHA384 (256/256 bits)" as Postfix writes it, and for
 * log lines, "TLSv1.3:TLS_AES_256_GCM_SHA384". */
void
tls_describe(struct bufferevent *bev, char *info, size_t infolen,
    char *logname, size_t lognamelen)
{
	SSL		*ssl = bufferevent_openssl_get_ssl(bev);
	const SSL_CIPHER *c;
	int		 alg = 0, bits;

	if (ssl == NULL || (c = SSL_get_current_cipher(ssl)) == NULL) {
		strlcpy(info, "TLS", infolen);
		strlcpy(logname, "TLS", lognamelen);
		return;
	}
	bits = SSL_CIPHER_get_bits(c, &alg);
	snprintf(info, infolen, "%s with cipher %s (%d/%d bits)",
	    SSL_get_version(ssl), SSL_CIPHER_get_name(c), bits, alg);
	snprintf(logname, lognamelen, "%s:%s", SSL_get_version(ssl),
	    SSL_CIPHER_get_name(c));
}

/* Why the TLS layer failed, for the log. */
void
tls_error(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long	e = bufferevent_get_openssl_error(bev);

	if (e == 0) {
		strlcpy(buf, "connection closed", len);
		return;
	}
	ERR_error_string_n(e, buf, len);
	while (bufferevent_get_openssl_error(bev) != 0)
		;
}
