/*
 * sasl.h: the pure parts of SMTP AUTH (RFC 4954): strict base64 (RFC
 * 4648 §4, no line breaks, no whitespace, padding required) and the
 * PLAIN message (RFC 4616). No session, no I/O: unit-tested and fuzzed.
 */
#ifndef BULWARK_SASL_H
#define BULWARK_SASL_H

#include <stddef.h>
#include <stdint.h>

#define SASL_LOGIN_MAX		255	/* octets of a login name */
#define SASL_PASSWORD_MAX	1024	/* octets of a password */
/* the longest PLAIN message: authzid, authcid, password, two NULs */
#define SASL_PLAIN_MAX		(2 * SASL_LOGIN_MAX + SASL_PASSWORD_MAX + 2)
#define SASL_B64_LEN(n)		((((n) + 2) / 3) * 4)

/* Decodes in[0..len) into out; the decoded length, or -1 for anything
 * that is not canonical base64 or does not fit. out gets no NUL. */
int	sasl_b64_decode(const char *in, size_t len, uint8_t *out,
	    size_t outlen);
/* Encodes in[0..len) with a NUL into out; -1 if it does not fit. */
int	sasl_b64_encode(const uint8_t *in, size_t len, char *out,
	    size_t outlen);

/* PLAIN: "authzid NUL authcid NUL passwd". The authzid must be empty or
 * the authcid (no proxy logins); the login and password are non-empty,
 * NUL-free and UTF-8 without controls in the login. 0, or -1. */
int	sasl_plain_parse(const uint8_t *msg, size_t len, char *login,
	    size_t loginlen, char *password, size_t passlen);
/* A login name or password from LOGIN's exchange: the same rules. */
int	sasl_login_ok(const uint8_t *s, size_t len);
int	sasl_password_ok(const uint8_t *s, size_t len);

#endif
