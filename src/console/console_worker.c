/*
 * A worker thread for the console's slow jobs (a replay, decoding and
 * scaling a photo): work(arg) runs on the thread, done(arg, false) then
 * runs on the loop, woken through a pipe, as console_kdf.c does for
 * argon2id. A bounded queue: a job beyond max_queue is refused at once
 * (the page answers 503), so a flood cannot pile up work.
 *
 * Lifetimes: a job is owned by the worker until its done has run;
 * console_worker_free lets the running job finish (the thread is joined),
 * then calls done(arg, true) for every job not yet reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "console_int.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

struct wk_job {
	void (*work)(void *);
	void (*done)(void *, bool cancelled);
	void *arg;
	struct wk_job *next;
};

struct console_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wk_job *todo, *todo_tail; /* for the thread */
	struct wk_job *done; /* for the loop, newest first */
	size_t queued, max_queue; /* queued: submitted, not yet reported */
	bool stop;
	int pipe[2];
	struct event *ev;
};

static void *
wk_thread(void *arg)
{
	struct console_worker *w = arg;
	char one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct wk_job *j;

		while (w->todo == NULL && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = w->todo;
		w->todo = j->next;
		if (w->todo == NULL)
			w->todo_tail = NULL;
		pthread_mutex_unlock(&w->mu);
		j->work(j->arg);
		pthread_mutex_lock(&w->mu);
		j->next = w->done;
		w->done = j;
		/* a full pipe already holds a wake-up */
		if (write(w->pipe[1], &one, 1) < 0 && errno != EAGAIN)
			break;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Take the finished jobs, oldest first. */
static struct wk_job *
wk_take_done(struct console_worker *w)
{
	struct wk_job *list, *rev = NULL;

	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	while (list != NULL) {
		struct wk_job *n = list->next;

		list->next = rev;
		rev = list;
		list = n;
	}
	return rev;
}

static void
wk_report(struct console_worker *w, struct wk_job *j, bool cancelled)
{
	while (j != NULL) {
		struct wk_job *n = j->next;

		pthread_mutex_lock(&w->mu);
		w->queued--;
		pthread_mutex_unlock(&w->mu);
		j->done(j->arg, cancelled);
		free(j);
		j = n;
	}
}

static void
wk_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct console_worker *w = arg;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	wk_report(w, wk_take_done(w), false);
}

struct console_worker *
console_worker_new(struct event_base *base, size_t max_queue)
{
	struct console_worker *w = xcalloc(1, sizeof(*w));

	w->max_queue = max_queue;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pipe(w->pipe) != 0)
		fatalx("console: pipe: %s", strerror(errno));
	fcntl(w->pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(w->pipe[1], F_SETFL, O_NONBLOCK);
	w->ev =
	    event_new(base, w->pipe[0], EV_READ | EV_PERSIST, wk_wake_cb, w);
	event_add(w->ev, NULL);
	if (pthread_create(&w->thread, NULL, wk_thread, w) != 0)
		fatalx("console: cannot start a worker thread");
	return w;
}

int
console_worker_submit(struct console_worker *w, void (*work)(void *),
    void (*done)(void *, bool), void *arg)
{
	struct wk_job *j;

	pthread_mutex_lock(&w->mu);
	if (w->queued >= w->max_queue || w->stop) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	w->queued++;
	j = xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	if (w->todo_tail)
		w->todo_tail->next = j;
	else
		w->todo = j;
	w->todo_tail = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void
console_worker_free(struct console_worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	/* finished but not reported: their results still count as lost */
	wk_report(w, wk_take_done(w), true);
	wk_report(w, w->todo, true);
	event_free(w->ev);
	close(w->pipe[0]);
	close(w->pipe[1]);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
