/*
 * fuzz_smtp_parse.c: libFuzzer harness for the SMTP command parser and
 * the path parser (smtpd/parse.c, smtpd/address.c). The first byte picks
 * the flags, the rest is one command line. Beyond "no crash", it checks
 * what callers rely on: every kept string is safe text, every reply is
 * static printable ASCII, and a canonical address parses back to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(x)	do { if (!(x)) abort(); } while (0)

/* Printable ASCII or well-formed UTF-8 (no controls, no CR/LF). */
static void
check_safe(const char *s, size_t max)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 n = strnlen(s, max + 1), i = 0, k;

	CHECK(n <= max);
	while (i < n) {
		if (u[i] >= 0x20 && u[i] <= 0x7e)
			i++;
		else {
			CHECK((k = address_utf8_len(u + i, n - i)) > 0);
			i += k;
		}
	}
}

static void
check_reply(const struct smtp_reply *r)
{
	const char	*s;

	CHECK(r->code >= 500 && r->code <= 599);
	CHECK(r->enhanced != NULL && r->text != NULL);
	CHECK(r->enhanced[0] == '5' && r->text[0] != '\0');
	for (s = r->text; *s != '\0'; s++)
		CHECK(*s >= 0x20 && *s <= 0x7e);
}

/* A canonical address must parse back, with the same flags, to itself. */
static void
check_address(const struct address *a, unsigned flags)
{
	struct address	b;
	char		buf[ADDRESS_PATH_MAX + 3];
	size_t		n, used;

	check_safe(a->local, ADDRESS_LOCAL_MAX);
	check_safe(a->domain, ADDRESS_DOMAIN_MAX);
	check_safe(a->canon, ADDRESS_PATH_MAX);
	if (a->flags & (ADDRESS_IS_NULL | ADDRESS_IS_POSTMASTER))
		return;
	n = strlen(a->canon);
	CHECK(n <= ADDRESS_PATH_MAX - 2);
	buf[0] = '<';
	memcpy(buf + 1, a->canon, n);
	buf[n + 1] = '>';
	CHECK(address_parse_path(buf, n + 2, flags, &b, &used) == ADDRESS_OK);
	CHECK(used == n + 2);
	CHECK(strcmp(a->canon, b.canon) == 0);
	CHECK(strcmp(a->local, b.local) == 0);
	CHECK(strcmp(a->domain, b.domain) == 0);
	CHECK((a->flags & ADDRESS_RELAY_TRICK) ==
	    (b.flags & ADDRESS_RELAY_TRICK) || (a->flags & ADDRESS_ROUTE));
}

static void
check_cmd(const struct smtp_cmd *c, const char *line, size_t len)
{
	check_safe(c->helo, ADDRESS_DOMAIN_MAX);
	check_safe(c->mail.envid, SMTP_ENVID_MAX);
	check_safe(c->mail.auth, SMTP_AUTH_PARAM_MAX);
	check_safe(c->rcpt.orcpt, SMTP_ORCPT_MAX);
	check_safe(c->rcpt.orcpt_raw, SMTP_ORCPT_MAX);
	check_safe(c->rcpt.orcpt_type_name, SMTP_ORCPT_TYPE_MAX);
	check_safe(c->mech, SMTP_MECH_MAX);
	check_safe(c->arg, SMTP_ARG_MAX);
	if (c->initial != NULL)
		CHECK(c->initial > line && c->initial + c->initial_len <=
		    line + len);
	if (c->verb == SMTP_CMD_MAIL || c->verb == SMTP_CMD_RCPT)
		check_address(&c->path, ADDRESS_F_UTF8 |
		    ADDRESS_F_NULL_OK | ADDRESS_F_POSTMASTER_OK);
	if (c->rcpt.notify & SMTP_NOTIFY_NEVER)
		CHECK(c->rcpt.notify == SMTP_NOTIFY_NEVER);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_cmd		 cmd;
	struct address		 a;
	char			*line, dom[ADDRESS_DOMAIN_MAX + 1], x[64];
	unsigned		 flags;
	size_t			 len, used;
	enum address_error	 e;

	if (size == 0)
		return 0;
	flags = data[0];
	len = size - 1;
	/* an exact copy, so that ASan sees a read past the end */
	if ((line = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(line, data + 1, len);

	if (smtp_parse_line(line, len, flags & SMTP_PARSE_F_UTF8, &cmd) == 0)
		check_cmd(&cmd, line, len);
	else
		check_reply(&cmd.reply);

	e = address_parse_path(line, len, flags & 7, &a, &used);
	if (e == ADDRESS_OK) {
		CHECK(used <= len && used <= ADDRESS_PATH_MAX);
		check_address(&a, flags & 7);
	} else
		check_reply(address_error_reply(e));
	if (address_parse_mailbox(line, len, flags & 7, &a) == ADDRESS_OK)
		check_address(&a, flags & 7);
	if (address_parse_domain(line, len, flags & 7, dom, sizeof(dom),
	    NULL, NULL) == ADDRESS_OK)
		check_safe(dom, ADDRESS_DOMAIN_MAX);
	if (smtp_xtext_decode(line, len, x, sizeof(x)) >= 0)
		check_safe(x, sizeof(x) - 1);
	free(line);
	return 0;
}
