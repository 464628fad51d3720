/*
 * syncer.c: fsync(2) off the event loop, several at once. An fsync
 * waits for the disk; done in the event loop, every commit waited for
 * the ones before it and no delivery result was read meanwhile. A few
 * threads that do nothing but fsync let the disk work on several files
 * at once while qmgr goes on. Their only shared state is the two job
 * lists below; each job's done() runs back in the event loop, in the
 * order the jobs finished. Without threads (none could be started) a
 * job is synced at once and still finished from the event loop.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "qmgr.h"

#define SYNCER_THREADS	4	/* fsyncs the disk is given at once */

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 more = PTHREAD_COND_INITIALIZER;
static struct sync_job	*todo_head, **todo_tail = &todo_head;
static struct sync_job	*done_head, **done_tail = &done_head;
static int		 efd = -1;
static unsigned		 nthreads;
static struct event	*ev_done;

static void
job_push(struct sync_job ***tail, struct sync_job *job)
{
	job->next = NULL;
	**tail = job;
	*tail = &job->next;
}

static void
syncer_wake(void)
{
	uint64_t	one = 1;
	ssize_t		n;

	/* a full counter still wakes the loop: nothing to do on EAGAIN */
	n = write(efd, &one, sizeof(one));
	(void)n;
}

static void
syncer_run(struct sync_job *job)
{
	job->err = fsync(job->fd) == -1 ? errno : 0;
	pthread_mutex_lock(&lock);
	job_push(&done_tail, job);
	pthread_mutex_unlock(&lock);
	syncer_wake();
}

static void *
syncer_thread(void *arg)
{
	struct sync_job	*job;

	for (;;) {
		pthread_mutex_lock(&lock);
		while (todo_head == NULL)
			pthread_cond_wait(&more, &lock);
		job = todo_head;
		if ((todo_head = job->next) == NULL)
			todo_tail = &todo_head;
		pthread_mutex_unlock(&lock);
		syncer_run(job);
	}
	return NULL;
}

static void
syncer_done(evutil_socket_t fd, short ev, void *arg)
{
	struct sync_job	*job, *next;
	uint64_t	 count;
	ssize_t		 n;

	n = read(efd, &count, sizeof(count));	/* EAGAIN: woken twice */
	(void)n;
	pthread_mutex_lock(&lock);
	job = done_head;
	done_head = NULL;
	done_tail = &done_head;
	pthread_mutex_unlock(&lock);
	for (; job != NULL; job = next) {
		next = job->next;
		job->done(job);
	}
}

/* The threads take no signals: libevent's handlers are the main
 * thread's. */
static void
syncer_start_threads(void)
{
	sigset_t	all, old;
	pthread_t	t;

	sigfillset(&all);
	if (pthread_sigmask(SIG_BLOCK, &all, &old) != 0)
		return;
	for (nthreads = 0; nthreads < SYNCER_THREADS; nthreads++)
		if (pthread_create(&t, NULL, syncer_thread, NULL) != 0 ||
		    pthread_detach(t) != 0)
			break;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (nthreads == 0)
		log_warnx("syncer: no threads; syncing in the event loop");
}

int
syncer_init(void)
{
	if ((efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("syncer: eventfd");
		return -1;
	}
	ev_done = event_new(daemon_base, efd, EV_READ | EV_PERSIST,
	    syncer_done, NULL);
	if (ev_done == NULL || event_add(ev_done, NULL) == -1) {
		log_warnx("syncer: cannot watch the eventfd");
		return -1;
	}
	syncer_start_threads();
	return 0;
}

int
syncer_ready(void)
{
	return ev_done != NULL;
}

void
syncer_submit(struct sync_job *job)
{
	if (nthreads == 0) {
		syncer_run(job);
		return;
	}
	pthread_mutex_lock(&lock);
	job_push(&todo_tail, job);
	pthread_cond_signal(&more);
	pthread_mutex_unlock(&lock);
}
