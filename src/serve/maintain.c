/*
 * [retention] maintenance (maintain.h): the config's periods handed to
 * retention_run(), once or on serve's timer. A timed run goes on a thread
 * with its own blocking connection: the steps take seconds (a DETACH
 * CONCURRENTLY waits for the transactions using the table), which the
 * loop must never wait for. The thread touches only its own copy of the
 * periods and the conninfo, and logs its result.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "meterline/clock.h"
#include "meterline/config.h"
#include "meterline/log.h"
#include "meterline/maintain.h"
#include "meterline/xmalloc.h"

#define MAINTAIN_FIRST_S 60

struct maintain {
	struct event *timer;
	int64_t interval_s;
	char conninfo[CONFIG_CONNINFO_MAX + 1];
	struct retention_opts opts;
	pthread_t thread;
	bool started; /* a thread was started and not yet joined */
	atomic_bool running;
};

int
maintain_wanted(const struct config *cfg)
{
	const struct config_retention *r = &cfg->retention;

	return r->messages != 0 || r->outbox != 0 || r->photos != 0 ||
	    r->message_ids != 0;
}

static void
maintain_opts(
    const struct config *cfg, int64_t now_us, struct retention_opts *o)
{
	o->messages = cfg->retention.messages;
	o->outbox = cfg->retention.outbox;
	o->photos = cfg->retention.photos;
	o->message_ids = cfg->retention.message_ids;
	o->now_us = now_us;
}

int
maintain_run(const struct config *cfg, int64_t now_us,
    struct retention_report *rep, char *err, size_t errlen)
{
	struct retention_opts o;

	maintain_opts(cfg, now_us, &o);
	return retention_run(cfg->database.conninfo, &o, rep, err, errlen);
}

static void *
maintain_thread(void *arg)
{
	struct maintain *m = arg;
	struct retention_report rep;
	char err[512];

	m->opts.now_us = clock_real_us();
	if (retention_run(m->conninfo, &m->opts, &rep, err, sizeof(err)) < 0)
		log_warn("retention: %s (again in %lld s)", err,
		    (long long)m->interval_s);
	else
		log_info("retention: %d partitions dropped, %lld ids and %lld "
		         "photos deleted",
		    rep.partitions, (long long)rep.ids, (long long)rep.photos);
	atomic_store(&m->running, false);
	return NULL;
}

static void
maintain_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct maintain *m = arg;
	struct timeval tv = { (time_t)m->interval_s, 0 };

	(void)fd;
	(void)what;
	evtimer_add(m->timer, &tv);
	if (atomic_load(&m->running))
		return; /* the previous run is still going */
	if (m->started)
		pthread_join(m->thread, NULL);
	m->started = false;
	atomic_store(&m->running, true);
	if (pthread_create(&m->thread, NULL, maintain_thread, m) != 0) {
		atomic_store(&m->running, false);
		log_warn("retention: cannot start a thread");
		return;
	}
	m->started = true;
}

struct maintain *
maintain_start(struct event_base *base, const struct config *cfg)
{
	struct maintain *m;
	struct timeval first = { MAINTAIN_FIRST_S, 0 };

	if (cfg->retention.interval < MAINTAIN_FIRST_S)
		first.tv_sec = (time_t)cfg->retention.interval;
	if (!maintain_wanted(cfg) || cfg->retention.interval == 0)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->interval_s = cfg->retention.interval;
	snprintf(
	    m->conninfo, sizeof(m->conninfo), "%s", cfg->database.conninfo);
	maintain_opts(cfg, 0, &m->opts);
	m->timer = evtimer_new(base, maintain_timer_cb, m);
	evtimer_add(m->timer, &first);
	return m;
}

void
maintain_free(struct maintain *m)
{
	if (m == NULL)
		return;
	event_free(m->timer);
	if (m->started)
		pthread_join(m->thread, NULL);
	free(m);
}
