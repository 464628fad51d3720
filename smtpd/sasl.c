/*
 * sasl.c: base64 and the PLAIN message, strict: RFC 4954 §4 makes a
 * response that is not valid base64 a 501, so nothing is "repaired".
 */
#include <string.h>

#include "sasl.h"

static const char	b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

int
sasl_b64_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	size_t		i, n = 0, pad = 0;
	uint32_t	q;
	int		v, k, last;

	if (len % 4 != 0 || len > (size_t)INT32_MAX)
		return -1;
	if (len > 0 && in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	if (len / 4 * 3 - pad > outlen)
		return -1;
	for (i = 0; i < len; i += 4) {
		last = i + 4 == len;
		q = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=') {
				if (!last || (size_t)k < 4 - pad)
					return -1;
				v = 0;
			} else if ((v = b64_value(in[i + k])) < 0 ||
			    (last && (size_t)k >= 4 - pad))
				return -1;
			q = q << 6 | (uint32_t)v;
		}
		/* the bits under the padding must be zero (canonical) */
		if (last && ((pad == 1 && (q & 0xff) != 0) ||
		    (pad == 2 && (q & 0xffff) != 0)))
			return -1;
		out[n++] = (uint8_t)(q >> 16);
		if (!last || pad < 2)
			out[n++] = (uint8_t)(q >> 8);
		if (!last || pad < 1)
			out[n++] = (uint8_t)q;
	}
	return (int)n;
}

int
sasl_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	size_t		i, n = 0;
	uint32_t	q;

	if (SASL_B64_LEN(len) + 1 > outlen)
		return -1;
	for (i = 0; i < len; i += 3) {
		q = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			q |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			q |= in[i + 2];
		out[n++] = b64[q >> 18 & 63];
		out[n++] = b64[q >> 12 & 63];
		out[n++] = i + 1 < len ? b64[q >> 6 & 63] : '=';
		out[n++] = i + 2 < len ? b64[q & 63] : '=';
	}
	out[n] = '\0';
	return (int)n;
}

/* Well-formed UTF-8 (RFC 3629) without controls; NUL-free. */
static int
utf8_text_ok(const uint8_t *s, size_t len)
{
	size_t	i = 0, k, need;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			if (s[i] < 0x20 || s[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 1, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			need = 2, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 3, cp = s[i] & 0x07;
		else
			return 0;
		if (i + need >= len)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (need == 3 && (cp < 0x10000 ||
		    cp > 0x10ffff)))
			return 0;
		i += need + 1;
	}
	return 1;
}

int
sasl_login_ok(const uint8_t *s, size_t len)
{
	return len > 0 && len <= SASL_LOGIN_MAX && utf8_text_ok(s, len);
}

int
sasl_password_ok(const uint8_t *s, size_t len)
{
	return len > 0 && len <= SASL_PASSWORD_MAX &&
	    memchr(s, '\0', len) == NULL;
}

int
sasl_plain_parse(const uint8_t *msg, size_t len, char *login,
    size_t loginlen, char *password, size_t passlen)
{
	const uint8_t	*nul1, *nul2, *authc, *pw;
	size_t		 zlen, clen, plen;

	if ((nul1 = memchr(msg, '\0', len)) == NULL)
		return -1;
	zlen = (size_t)(nul1 - msg);
	authc = nul1 + 1;
	if ((nul2 = memchr(authc, '\0', len - zlen - 1)) == NULL)
		return -1;
	clen = (size_t)(nul2 - authc);
	pw = nul2 + 1;
	plen = len - zlen - clen - 2;
	if (!sasl_login_ok(authc, clen) || !sasl_password_ok(pw, plen) ||
	    clen >= loginlen || plen >= passlen)
		return -1;
	if (zlen != 0 && (zlen != clen || memcmp(msg, authc, clen) != 0))
		return -1;
	memcpy(login, authc, clen);
	login[clen] = '\0';
	memcpy(password, pw, plen);
	password[plen] = '\0';
	return 0;
}
