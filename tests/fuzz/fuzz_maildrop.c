/*
 * fuzz_maildrop.c: libFuzzer harness for the maildrop file reader
 * (common/maildrop.c), which qmgr runs on files any local user wrote.
 * Besides crashes and sanitizer reports it aborts when a file that
 * parses does not describe itself: the message must be the rest of the
 * file, CRLF throughout; every address must pass maildrop_addr_ok() and
 * every recipient have a domain; and the envelope, written again and
 * parsed again, must come back the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maildrop.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_same(const struct maildrop *a, const struct maildrop *b)
{
	size_t	i;

	if (a->flags != b->flags || a->body != b->body || a->ret != b->ret ||
	    strcmp(a->envid, b->envid) != 0 ||
	    strcmp(a->sender, b->sender) != 0 || a->nrcpt != b->nrcpt)
		abort();
	for (i = 0; i < a->nrcpt; i++)
		if (strcmp(a->rcpt[i].addr, b->rcpt[i].addr) != 0 ||
		    a->rcpt[i].notify != b->rcpt[i].notify)
			abort();
}

static void
check(const char *buf, size_t size, const struct maildrop *md)
{
	struct maildrop	 again;
	char		*text, err[128];
	size_t		 i, len;
	int		 utf8 = (md->flags & QM_F_SMTPUTF8) != 0;

	if (md->msg_off + md->msg_len != size || md->msg_len < 2 ||
	    memcmp(buf + size - 2, "\r\n", 2) != 0 || md->nrcpt == 0)
		abort();
	if (!maildrop_addr_ok(md->sender, utf8))
		abort();
	for (i = 0; i < md->nrcpt; i++)
		if (!maildrop_addr_ok(md->rcpt[i].addr, utf8) ||
		    strchr(md->rcpt[i].addr, '@') == NULL)
			abort();
	if ((text = maildrop_format(md, &len, err, sizeof(err))) == NULL)
		abort();
	if (len != md->msg_off || memcmp(text, buf, len) != 0)
		abort();	/* one canonical form */
	if (maildrop_parse(buf, size, &again, err, sizeof(err)) != 0)
		abort();
	check_same(md, &again);
	maildrop_free(&again);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildrop	 md;
	char		*buf, err[128];

	/* a buffer of exactly the input's size: an over-read is caught */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (maildrop_parse(buf, size, &md, err, sizeof(err)) == 0) {
		check(buf, size, &md);
		maildrop_free(&md);
	} else if (md.rcpt != NULL || memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	free(buf);
	return 0;
}
