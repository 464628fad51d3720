/*
 * admin.c: what an administrator does to queued messages through the
 * control socket: flush (retry now), hold and release (the envelope moves
 * between env/ and hold/, so a hold outlives a restart), and delete. Each
 * change is on disk before it is answered, and is one log line.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "qmgr.h"

struct qmgr_counters	qmgr_counters;

int
admin_active(const struct envelope *env)
{
	size_t	i;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].busy)
			return 1;
	return 0;
}

size_t
admin_held_count(void)
{
	struct envelope	*env;
	size_t		 n = 0;

	for (env = sched_env_next(""); env != NULL;
	    env = sched_env_next(env->qid))
		n += env->held != 0;
	return n;
}

/* Every recipient still to be tried is due now. Not written to the
 * envelope: the attempt it brings rewrites it anyway. */
static int
admin_flush_one(struct envelope *env, int64_t now)
{
	struct envelope_rcpt	*r;
	size_t			 i;
	int			 any = 0;

	for (i = 0; i < env->nrcpt; i++) {
		r = &env->rcpt[i];
		if (envelope_rcpt_final(r) || r->busy)
			continue;
		if (r->next_try > now)
			r->next_try = now;
		any = 1;
	}
	if (any)
		sched_env_update(env);
	return any;
}

enum admin_result
admin_flush(const char *qid, const char *who, size_t *n)
{
	struct envelope	*env;
	int64_t		 now = sched_now();

	*n = 0;
	if (qid != NULL) {
		if ((env = sched_env_find(qid)) == NULL)
			return ADMIN_NOTFOUND;
		if (env->held)
			return ADMIN_HELD;
		*n = (size_t)admin_flush_one(env, now);
		log_info("qid=%s from=<%s> status=flushed reason=\"%s\"",
		    env->qid, env->sender, who);
		return ADMIN_OK;
	}
	for (env = sched_env_next(""); env != NULL;
	    env = sched_env_next(env->qid))
		if (!env->held)
			*n += (size_t)admin_flush_one(env, now);
	pickup_kick();		/* and whatever waits in the maildrop */
	log_info("queue: flush of %zu messages, %s", *n, who);
	return ADMIN_OK;
}

enum admin_result
admin_hold(const char *qid, int hold, const char *who)
{
	struct envelope	*env;

	if ((env = sched_env_find(qid)) == NULL)
		return ADMIN_NOTFOUND;
	if ((env->held != 0) == hold)
		return ADMIN_ALREADY;
	if (queue_hold(env, hold) == -1)
		return ADMIN_IOERR;
	env->held = hold;
	/* a delivery in flight ends as it will: its result is written
	 * where the envelope now is */
	sched_env_update(env);
	log_info("qid=%s from=<%s> status=%s reason=\"%s\"", env->qid,
	    env->sender, hold ? "held" : "released", who);
	return ADMIN_OK;
}

enum admin_result
admin_delete(const char *qid, const char *who)
{
	struct envelope	*env;

	if ((env = sched_env_find(qid)) == NULL)
		return ADMIN_NOTFOUND;
	/* the agent holds the file open; its result would find nothing to
	 * record: let it finish first */
	if (admin_active(env))
		return ADMIN_BUSY;
	if (queue_delete(env) == -1)
		return ADMIN_IOERR;
	log_info("qid=%s from=<%s> nrcpt=%zu status=deleted reason=\"%s\"",
	    env->qid, env->sender, env->nrcpt, who);
	sched_env_forget(env);
	return ADMIN_OK;
}
