/*
 * forwarding.c: what a user's ~/.forward adds to a recipient's
 * destinations. Its targets (as lookup expanded them) join the list after
 * the others, each remembering whose .forward named it: the user's own
 * name there means the mailbox (sendmail's and Postfix's rule), and a
 * user met again on the way (a -> b -> a) is a loop, bounced (5.4.6)
 * rather than followed for ever.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local.h"
#include "mailbox.h"

#define FORWARDING_CHAIN_MAX	LOCAL_TEXT_MAX

static int
forwarding_same_user(const struct local_user *a, const struct local_user *b)
{
	return a->uid == b->uid && strcmp(a->name, b->name) == 0;
}

int
forwarding_same(const struct local_dest *a, const struct local_dest *b)
{
	return a->kind == b->kind && a->noforward == b->noforward &&
	    forwarding_same_user(&a->user, &b->user) &&
	    strcmp(a->detail, b->detail) == 0 && strcmp(a->arg, b->arg) == 0;
}

/* How many .forward files led to dests[i]. */
static int
forwarding_depth(const struct delivery *d, int i)
{
	int	n = 0;

	for (i = d->dests[i].parent; i != -1; i = d->dests[i].parent)
		n++;
	return n;
}

/* "a -> b -> user": the users whose .forward files led here. */
static void
forwarding_chain(const struct delivery *d, const char *user, char *buf,
    size_t len)
{
	int	path[LOCAL_FORWARD_DEPTH + 1], n = 0, i;

	for (i = d->cur; i != -1 && n <= LOCAL_FORWARD_DEPTH;
	    i = d->dests[i].parent)
		path[n++] = i;
	buf[0] = '\0';
	while (n-- > 0) {
		strlcat(buf, d->dests[path[n]].user.name, len);
		strlcat(buf, " -> ", len);
	}
	strlcat(buf, user, len);
}

/* t, named by the .forward of dests[d->cur], is a user whose .forward
 * led there: 1 (a loop). */
static int
forwarding_loops(const struct delivery *d, const struct local_dest *t)
{
	int	i;

	if (t->kind != DEST_MAILBOX || t->noforward)
		return 0;
	for (i = d->dests[d->cur].parent; i != -1; i = d->dests[i].parent)
		if (forwarding_same_user(&d->dests[i].user, &t->user))
			return 1;
	return 0;
}

/* A reason the targets cannot be taken (res), or 0. */
static int
forwarding_refuse(const struct delivery *d, const struct local_dest *add,
    size_t n, struct local_result *res)
{
	char	chain[FORWARDING_CHAIN_MAX];
	size_t	i;

	memset(res, 0, sizeof(*res));
	if (forwarding_depth(d, (int)d->cur) >= LOCAL_FORWARD_DEPTH) {
		mailbox_result(res, DL_PERMFAIL, "5.4.6", "mail forwarded "
		    "through more than %d .forward files",
		    LOCAL_FORWARD_DEPTH);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (forwarding_loops(d, &add[i])) {
			forwarding_chain(d, add[i].user.name, chain,
			    sizeof(chain));
			mailbox_result(res, DL_PERMFAIL, "5.4.6", ".forward "
			    "loop: %s", chain);
			return -1;
		}
	if (d->ndests + n > LOCAL_MAX_DESTS) {
		mailbox_result(res, DL_PERMFAIL, "5.5.3", "more than %d "
		    "destinations", LOCAL_MAX_DESTS);
		return -1;
	}
	return 0;
}

/* Is t among the destinations already? */
static int
forwarding_known(const struct delivery *d, const struct local_dest *t)
{
	size_t	i;

	for (i = 0; i < d->ndests; i++)
		if (forwarding_same(&d->dests[i], t))
			return 1;
	return 0;
}

int
forwarding_merge(struct delivery *d, const struct local_dest *add, size_t n,
    struct local_result *res)
{
	struct local_dest	*v, t;
	size_t			 i;

	if (forwarding_refuse(d, add, n, res) == -1)
		return -1;
	if ((v = reallocarray(d->dests, d->ndests + n, sizeof(*v))) == NULL) {
		mailbox_result(res, DL_TEMPFAIL, "4.3.0", "out of memory");
		return -1;
	}
	d->dests = v;
	for (i = 0; i < n; i++) {
		t = add[i];
		t.parent = (int)d->cur;
		t.forwarded = 0;
		if (t.kind == DEST_MAILBOX &&
		    forwarding_same_user(&t.user, &v[d->cur].user))
			t.noforward = 1;	/* alice's "alice": hers */
		if (!forwarding_known(d, &t))
			v[d->ndests++] = t;
	}
	v[d->cur].forwarded = 1;
	return 0;
}
