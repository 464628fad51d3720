/*
 * commit.c: the commit point, for a batch of new messages at once.
 * In two steps, the second waiting for the fsyncs of the first:
 *   1. every message file, every envelope (written to tmp/ with the
 *      file's size) and msg/ synced, all at once;
 *   2. every envelope renamed into env/, then env/ synced.
 * Only then is a message in the queue, and its item done. The fsyncs
 * of a step go to the syncer together, so the disk has them all at
 * once and qmgr's event loop goes on meanwhile; a batch run "now"
 * (commit_one) does the same steps in place, for the few callers that
 * must have the answer before they go on (bounces, the maildrop).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qmgr.h"

enum commit_step { STEP_FILES, STEP_RENAMED };

struct commit_batch {
	struct commit_item	**v;
	size_t			  n;
	commit_done_fn		 *done;
	enum commit_step	  step;
	size_t			  pending;	/* fsyncs of this step */
	struct sync_job		  dirjob;
	int			  now;		/* run in place */
	struct sync_job		 *now_head, **now_tail;
};

static void	commit_next(struct commit_batch *);

static void
item_fail(struct commit_item *it, const char *why)
{
	if (it->rc == 0) {
		it->rc = -1;
		strlcpy(it->why, why, sizeof(it->why));
	}
}

/* A message file or an envelope synced (step 1). */
static void
commit_item_synced(struct sync_job *job)
{
	struct commit_item	*it = job->arg;
	struct commit_batch	*b = it->batch;
	int			 msg = job == &it->job;

	if (job->err != 0) {
		errno = job->err;
		log_warn("queue: fsync %s%s", msg ? "msg/" : "tmp/",
		    it->env->qid);
		item_fail(it, msg ? "cannot sync the message file" :
		    "cannot sync the envelope");
	}
	if (--b->pending == 0)
		commit_next(b);
}

/* msg/ (step 1) or env/ (step 2) synced; a failure fails every item
 * that is left, and is kept as fd -1 until then. */
static void
commit_dir_synced(struct sync_job *job)
{
	struct commit_batch	*b = job->arg;

	if (job->err != 0) {
		errno = job->err;
		log_warn("queue: fsync %s/", b->step == STEP_FILES ?
		    "msg" : "env");
		job->fd = -1;
	}
	if (--b->pending == 0)
		commit_next(b);
}

static void
commit_sync(struct commit_batch *b, struct sync_job *job, int fd,
    void (*done)(struct sync_job *), void *arg)
{
	job->fd = fd;
	job->err = 0;
	job->arg = arg;
	job->done = done;
	b->pending++;
	if (!b->now) {
		syncer_submit(job);
		return;
	}
	job->next = NULL;
	*b->now_tail = job;
	b->now_tail = &job->next;
}

/* Step 1: each message file (by the descriptor the caller kept, or
 * opened again by name), its envelope written to tmp/ with the file's
 * size, and msg/: all synced at once. Each step syncs its directory,
 * so each has a completion that moves the batch on. */
static void
commit_files(struct commit_batch *b)
{
	struct commit_item	*it;
	struct stat		 st;
	size_t			 i;

	b->step = STEP_FILES;
	for (i = 0; i < b->n; i++) {
		it = b->v[i];
		it->batch = b;
		it->rc = 0;
		it->envfd = -1;
		it->ownfd = -1;
		if (it->msgfd == -1)
			it->msgfd = it->ownfd = queue_open_msg(it->env->qid);
		if (it->msgfd == -1 || fstat(it->msgfd, &st) == -1 ||
		    !S_ISREG(st.st_mode)) {
			item_fail(it, "cannot sync the message file");
			continue;
		}
		it->env->size = (uint64_t)st.st_size;
		if ((it->envfd = queue_env_prepare(it->env)) == -1) {
			item_fail(it, "cannot write the envelope");
			continue;
		}
		commit_sync(b, &it->job, it->msgfd, commit_item_synced, it);
		commit_sync(b, &it->envjob, it->envfd, commit_item_synced, it);
	}
	commit_sync(b, &b->dirjob, queue_dir_fd(QUEUE_DIR_MSG),
	    commit_dir_synced, b);
}

/* Step 2: the envelopes into env/, where recovery finds them. */
static void
commit_rename(struct commit_batch *b)
{
	struct commit_item	*it;
	size_t			 i;
	int			 dir_ok = b->dirjob.fd != -1;

	b->step = STEP_RENAMED;
	for (i = 0; i < b->n; i++) {
		it = b->v[i];
		if (it->envfd != -1 && close(it->envfd) == -1)
			item_fail(it, "cannot write the envelope");
		it->envfd = -1;
		if (!dir_ok)
			item_fail(it, "cannot sync the message directory");
		if (it->rc == 0 && queue_env_install(it->env->qid) == -1)
			item_fail(it, "cannot commit the envelope");
	}
	commit_sync(b, &b->dirjob, queue_dir_fd(QUEUE_DIR_ENV),
	    commit_dir_synced, b);
}

/* The callers discard whatever failed, env/ and tmp/ included. */
static void
commit_finish(struct commit_batch *b)
{
	struct commit_item	*it;
	size_t			 i;

	for (i = 0; i < b->n; i++) {
		it = b->v[i];
		if (b->dirjob.fd == -1)
			item_fail(it, "cannot sync the envelope directory");
		if (it->ownfd != -1) {
			close(it->ownfd);
			it->msgfd = it->ownfd = -1;
		}
		it->batch = NULL;
		if (b->done != NULL)
			b->done(it);
	}
	if (!b->now) {
		free(b->v);
		free(b);
	}
}

static void
commit_next(struct commit_batch *b)
{
	switch (b->step) {
	case STEP_FILES:
		commit_rename(b);
		break;
	case STEP_RENAMED:
		commit_finish(b);
		break;
	}
}

/* The steps in place: each fsync now, its completion next. */
static void
commit_run_now(struct commit_batch *b)
{
	struct sync_job	*job;

	b->now = 1;
	b->now_head = NULL;
	b->now_tail = &b->now_head;
	commit_files(b);
	while ((job = b->now_head) != NULL) {
		if ((b->now_head = job->next) == NULL)
			b->now_tail = &b->now_head;
		job->err = fsync(job->fd) == -1 ? errno : 0;
		job->done(job);
	}
}

void
commit_start(struct commit_item **items, size_t n, commit_done_fn *done)
{
	struct commit_batch	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->v = reallocarray(NULL, n, sizeof(*b->v))) == NULL) {
		free(b);
		log_warn("queue: commit");
		commit_refuse(items, n, done, "out of memory");
		return;
	}
	memcpy(b->v, items, n * sizeof(*items));
	b->n = n;
	b->done = done;
	if (!syncer_ready()) {
		commit_run_now(b);
		free(b->v);
		free(b);
		return;
	}
	commit_files(b);
}

void
commit_refuse(struct commit_item **items, size_t n, commit_done_fn *done,
    const char *why)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		items[i]->rc = 0;
		item_fail(items[i], why);
		done(items[i]);
	}
}

int
commit_one(struct envelope *env, char *why, size_t whylen)
{
	struct commit_item	 it, *v[1] = { &it };
	struct commit_batch	 b;

	memset(&it, 0, sizeof(it));
	it.env = env;
	it.msgfd = -1;
	memset(&b, 0, sizeof(b));
	b.v = v;
	b.n = 1;
	commit_run_now(&b);
	if (it.rc == -1)
		strlcpy(why, it.why, whylen);
	return it.rc;
}
