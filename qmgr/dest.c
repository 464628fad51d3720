/*
 * dest.c: destinations, and the deliveries in flight to each, so that
 * no destination gets more than destination-concurrency-limit at once.
 * A destination is what one recipient's mail lands in as far as the
 * queue manager can tell: a local user, an address of a virtual
 * domain, or another domain. Messages waiting for a destination are
 * parked on it (sched.c) and leave the way free to the others.
 */
#include <sys/tree.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "qmgr.h"

#define DEST_KEY_MAX	(QM_ADDR_MAX + 8)

struct dest {
	RB_ENTRY(dest)		 entry;
	struct dest_parked	 parked;	/* sched.c's messages */
	size_t			 inflight;
	char			 key[DEST_KEY_MAX];
};

static int	dest_cmp(struct dest *, struct dest *);
RB_HEAD(dest_tree, dest);
RB_GENERATE_INTERNAL(dest_tree, dest, entry, dest_cmp,
    __attribute__((unused)) static)

static struct dest_tree	dests = RB_INITIALIZER(&dests);
static size_t		ndests;

static int
dest_cmp(struct dest *a, struct dest *b)
{
	return strcmp(a->key, b->key);
}

static void
dest_lower(char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n && s[i] != '\0'; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
}

int
dest_key(const struct config *cf, const char *rcpt, char *out,
    size_t outlen)
{
	const char	*at = strrchr(rcpt, '@'), *domain;
	size_t		 llen;
	int		 n;

	domain = at != NULL ? at + 1 : "";
	llen = at != NULL ? (size_t)(at - rcpt) : strlen(rcpt);
	/* a user's mail is one mailbox whatever its +detail says */
	if (cf->recipient_delimiter != '\0' &&
	    memchr(rcpt, cf->recipient_delimiter, llen) != NULL)
		llen = (size_t)((const char *)memchr(rcpt,
		    cf->recipient_delimiter, llen) - rcpt);
	if (at == NULL || config_is_local_domain(cf, domain))
		n = snprintf(out, outlen, "user:%.*s", (int)llen, rcpt);
	else if (config_is_virtual_domain(cf, domain))
		n = snprintf(out, outlen, "addr:%.*s@%s", (int)llen, rcpt,
		    domain);
	else
		n = snprintf(out, outlen, "domain:%s", domain);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	/* case makes no other mailbox of it; when in doubt, one
	 * destination too few is only a stricter limit */
	dest_lower(out, outlen);
	return 0;
}

unsigned
dest_limit(void)
{
	unsigned	v = daemon_cfg->destination_concurrency_limit;

	return v > 0 ? v : QMGR_DEST_LIMIT_DEFAULT;
}

struct dest *
dest_find(const char *rcpt)
{
	struct dest	key, *d;

	if (dest_key(daemon_cfg, rcpt, key.key, sizeof(key.key)) == -1) {
		/* longer than any address smtpd takes: share one */
		strlcpy(key.key, "other:", sizeof(key.key));
	}
	if ((d = RB_FIND(dest_tree, &dests, &key)) != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("destination %s", key.key);
		return NULL;
	}
	strlcpy(d->key, key.key, sizeof(d->key));
	TAILQ_INIT(&d->parked);
	RB_INSERT(dest_tree, &dests, d);
	ndests++;
	return d;
}

const char *
dest_name(const struct dest *d)
{
	return d->key;
}

size_t
dest_free_slots(const struct dest *d)
{
	size_t	limit = dest_limit();

	return d->inflight < limit ? limit - d->inflight : 0;
}

void
dest_started(struct dest *d)
{
	if (++d->inflight == dest_limit())
		log_debug("destination %s: %zu deliveries in flight, the "
		    "limit", d->key, d->inflight);
}

void
dest_ended(struct dest *d)
{
	if (d->inflight > 0)
		d->inflight--;
}

size_t
dest_inflight(const struct dest *d)
{
	return d->inflight;
}

struct dest_parked *
dest_parked(struct dest *d)
{
	return &d->parked;
}

void
dest_release(struct dest *d)
{
	if (d == NULL || d->inflight > 0 || !TAILQ_EMPTY(&d->parked))
		return;
	RB_REMOVE(dest_tree, &dests, d);
	ndests--;
	free(d);
}

size_t
dest_count(void)
{
	return ndests;
}
