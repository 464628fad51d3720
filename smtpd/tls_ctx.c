/*
 * tls_ctx.c: OpenSSL contexts for smtpd, as RFC 8314 §4 and BCP 195 want
 * them for a mail server: TLS 1.2 and 1.3 only (configurable up), the
 * server's cipher order, no compression, no renegotiation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "config.h"
#include "tls_ctx.h"

/* BCP 195 (RFC 9325) and Mozilla's "intermediate": forward secrecy and
 * AEAD only, for TLS 1.2; TLS 1.3 keeps OpenSSL's suites. */
#define TLS_DEFAULT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"

static void
tls_err(char *err, size_t errlen, const struct config *cf, int line,
    const char *what, const char *file)
{
	char		 ssl[256] = "unknown error";
	unsigned long	 e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last != 0)
		ERR_error_string_n(last, ssl, sizeof(ssl));
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s \"%s\": %s", cf->path, line,
		    what, file, ssl);
	else
		snprintf(err, errlen, "%s: %s \"%s\": %s", cf->path, what,
		    file, ssl);
}

static int
tls_ctx_settings(SSL_CTX *ctx, const struct config *cf, char *err,
    size_t errlen)
{
	const char	*ciphers = cf->tls_ciphers ? cf->tls_ciphers :
			    TLS_DEFAULT_CIPHERS;

	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_min_proto_version(ctx, cf->tls_min_version == 13 ?
	    TLS1_3_VERSION : TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_dh_auto(ctx, 1) != 1) {
		tls_err(err, errlen, cf, 0, "TLS", "settings");
		return -1;
	}
	if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		tls_err(err, errlen, cf, 0, "tls-ciphers", ciphers);
		return -1;
	}
	if (cf->tls_ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, cf->tls_ciphersuites) != 1) {
		tls_err(err, errlen, cf, 0, "tls-ciphersuites",
		    cf->tls_ciphersuites);
		return -1;
	}
	/* sessions resume within one worker only; clients fall back to a
	 * full handshake elsewhere */
	(void)SSL_CTX_set_session_id_context(ctx, (const unsigned char *)
	    "bulwark-smtpd", 13);
	return 0;
}

static SSL_CTX *
tls_ctx_new(const struct config *cf, const char *cert, const char *key,
    int line, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_err(err, errlen, cf, line, "TLS", "context");
		return NULL;
	}
	if (tls_ctx_settings(ctx, cf, err, errlen) == -1)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_err(err, errlen, cf, line, "certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, cf, line, "key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, cf, line, "key does not match the "
		    "certificate", key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* OpenSSL's SNI callback: move the connection to the name's context. */
static int
tls_servername_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls_server	*srv = arg;
	const char		*name;
	SSL_CTX			*ctx;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL || (ctx = tls_server_lookup(srv, name)) == NULL)
		return SSL_TLSEXT_ERR_OK;	/* the default certificate */
	if (SSL_set_SSL_CTX(ssl, ctx) == NULL)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *
tls_server_lookup(const struct tls_server *srv, const char *name)
{
	const char	*dot;
	size_t		 i;

	for (i = 0; i < srv->nsni; i++)
		if (strcasecmp(srv->sni[i].name, name) == 0)
			return srv->sni[i].ctx;
	if ((dot = strchr(name, '.')) == NULL || dot == name)
		return NULL;
	for (i = 0; i < srv->nsni; i++)
		if (strncmp(srv->sni[i].name, "*.", 2) == 0 &&
		    strcasecmp(srv->sni[i].name + 2, dot + 1) == 0)
			return srv->sni[i].ctx;
	return NULL;
}

int
tls_server_load(const struct config *cf, struct tls_server *srv,
    char *err, size_t errlen)
{
	size_t	i;

	memset(srv, 0, sizeof(*srv));
	if (cf->tls_cert == NULL)
		return 0;
	if ((srv->dflt = tls_ctx_new(cf, cf->tls_cert, cf->tls_key,
	    cf->tls_cert_line, err, errlen)) == NULL)
		return -1;
	if (cf->ntls_sni > 0 && (srv->sni = calloc(cf->ntls_sni,
	    sizeof(*srv->sni))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", cf->path);
		tls_server_free(srv);
		return -1;
	}
	for (i = 0; i < cf->ntls_sni; i++) {
		strlcpy(srv->sni[i].name, cf->tls_sni[i].name,
		    sizeof(srv->sni[i].name));
		if ((srv->sni[i].ctx = tls_ctx_new(cf, cf->tls_sni[i].cert,
		    cf->tls_sni[i].key, cf->tls_sni[i].line, err,
		    errlen)) == NULL) {
			tls_server_free(srv);
			return -1;
		}
		srv->nsni++;
	}
	SSL_CTX_set_tlsext_servername_callback(srv->dflt, tls_servername_cb);
	SSL_CTX_set_tlsext_servername_arg(srv->dflt, srv);
	return 0;
}

void
tls_server_free(struct tls_server *srv)
{
	size_t	i;

	for (i = 0; i < srv->nsni; i++)
		SSL_CTX_free(srv->sni[i].ctx);
	free(srv->sni);
	SSL_CTX_free(srv->dflt);
	memset(srv, 0, sizeof(*srv));
}
