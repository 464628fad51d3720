/*
 * throttle.c: a count of failures per key that starts afresh once its
 * window has passed since the first failure. When the tree is full,
 * expired entries go first, then the oldest: an attacker who floods it
 * with new keys can make us forget, never make us refuse others.
 */
#include <sys/tree.h>

#ifndef __unused	/* sys/tree.h's static functions use it */
#define __unused __attribute__((unused))
#endif

#include <stdlib.h>
#include <string.h>

#include "throttle.h"

struct failure {
	RB_ENTRY(failure)	 entry;
	char			 key[THROTTLE_KEY_MAX];
	time_t			 since;
	unsigned		 count;
};

static int
failure_cmp(const struct failure *a, const struct failure *b)
{
	return strcmp(a->key, b->key);
}

RB_HEAD(failure_tree, failure);
RB_GENERATE_STATIC(failure_tree, failure, entry, failure_cmp)

static struct failure_tree	failures = RB_INITIALIZER(&failures);
static size_t			nfailures;

static struct failure *
failure_find(const char *key)
{
	struct failure	f;

	strlcpy(f.key, key, sizeof(f.key));
	return RB_FIND(failure_tree, &failures, &f);
}

static void
failure_remove(struct failure *f)
{
	RB_REMOVE(failure_tree, &failures, f);
	free(f);
	nfailures--;
}

static void
failure_make_room(unsigned window, time_t now)
{
	struct failure	*f, *next, *oldest = NULL;

	RB_FOREACH_SAFE(f, failure_tree, &failures, next) {
		if (now - f->since >= (time_t)window)
			failure_remove(f);
		else if (oldest == NULL || f->since < oldest->since)
			oldest = f;
	}
	if (nfailures >= THROTTLE_ENTRIES_MAX && oldest != NULL)
		failure_remove(oldest);
}

int
throttle_over(const char *key, unsigned limit, unsigned window, time_t now)
{
	struct failure	*f;

	if ((f = failure_find(key)) == NULL)
		return 0;
	if (now - f->since >= (time_t)window) {
		failure_remove(f);
		return 0;
	}
	return f->count >= limit;
}

void
throttle_fail(const char *key, unsigned window, time_t now)
{
	struct failure	*f;

	if ((f = failure_find(key)) != NULL &&
	    now - f->since >= (time_t)window) {
		failure_remove(f);
		f = NULL;
	}
	if (f == NULL) {
		if (nfailures >= THROTTLE_ENTRIES_MAX)
			failure_make_room(window, now);
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return;
		strlcpy(f->key, key, sizeof(f->key));
		f->since = now;
		RB_INSERT(failure_tree, &failures, f);
		nfailures++;
	}
	f->count++;
}

void
throttle_clear(const char *key)
{
	struct failure	*f;

	if ((f = failure_find(key)) != NULL)
		failure_remove(f);
}
