/* Test driver for the store: see tstore.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "itest.h"
#include "meterline/conf.h"
#include "meterline/import.h"
#include "meterline/migrate.h"
#include "meterline/xmalloc.h"
#include "tstore.h"

int64_t
tstore_time(int minutes)
{
	/* 2026-11-20T09:00:00Z = 12:00 in Moscow */
	return (1795165200LL + (int64_t)minutes * 60) * 1000000LL;
}

static void
tstore_done(const struct intake_result *r, void *arg)
{
	struct tres *res = arg;

	res->done = true;
	res->status = r->status;
	snprintf(res->outcome, sizeof(res->outcome), "%s",
	    r->outcome ? r->outcome : "");
	snprintf(
	    res->reason, sizeof(res->reason), "%s", r->reason ? r->reason : "");
	snprintf(
	    res->reply, sizeof(res->reply), "%s", r->reply ? r->reply : "");
	res->id = r->message_id;
	(*res->outstanding)--;
}

void
tstore_spin(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

void
tstore_wait_ready(struct tstore *t)
{
	for (int i = 0; i < 600 && !store_ready(t->st); i++)
		tstore_spin(t->base, 50);
	if (!store_ready(t->st))
		itest_fail("store not ready after 30 s");
}

static void
tstore_open_opts(struct tstore *t, struct event_base *base,
    const char *conninfo, int batch_max, bool dry_run)
{
	struct store_opts o = { .conninfo = conninfo, .dry_run = dry_run };
	char ini[128], err[1024];

	memset(t, 0, sizeof(*t));
	t->base = base;
	t->cfg = xmalloc(sizeof(*t->cfg));
	snprintf(ini, sizeof(ini), "[store]\nbatch_max = %d\n", batch_max);
	if (config_load_string(t->cfg, "test", ini, err, sizeof(err)) != 0)
		itest_fail("config: %s", err);
	o.cfg = t->cfg;
	o.backoff_max_ms = 500;
	if ((t->st = store_new(base, &o, err, sizeof(err))) == NULL)
		itest_fail("store_new: %s", err);
	tstore_wait_ready(t);
}

void
tstore_open(struct tstore *t, struct event_base *base, const char *conninfo,
    int batch_max)
{
	tstore_open_opts(t, base, conninfo, batch_max, false);
}

void
tstore_open_dry(struct tstore *t, struct event_base *base, const char *conninfo,
    int batch_max)
{
	tstore_open_opts(t, base, conninfo, batch_max, true);
}

void
tstore_close(struct tstore *t)
{
	store_free(t->st);
	free(t->cfg);
	t->st = NULL;
}

int
tstore_try_submit(struct tstore *t, const char *channel, const char *sender,
    const char *text, int64_t time_us, const char *external_id,
    struct tres *res)
{
	struct inbound_msg m = {
		.channel = channel,
		.sender = sender,
		.recipient = "7377",
		.text = text,
		.text_len = strlen(text),
		.time_us = time_us,
		.external_id = external_id,
		.flags = t->flags,
		.acks = t->acks,
	};

	memset(res, 0, sizeof(*res));
	res->outstanding = &t->outstanding;
	if (store_submit(t->st, &m, tstore_done, res) != 0)
		return -1;
	t->outstanding++;
	return 0;
}

void
tstore_submit(struct tstore *t, const char *channel, const char *sender,
    const char *text, int64_t time_us, const char *external_id,
    struct tres *res)
{
	if (tstore_try_submit(
	        t, channel, sender, text, time_us, external_id, res) != 0)
		itest_fail("store_submit refused '%s'", text);
}

void
tstore_wait(struct tstore *const *stores, int n)
{
	for (int i = 0; i < 1200; i++) {
		int left = 0;

		for (int k = 0; k < n; k++)
			left += stores[k]->outstanding;
		if (left == 0)
			return;
		tstore_spin(stores[0]->base, 25);
	}
	itest_fail("messages still outstanding after 30 s");
}

void
tstore_say(struct tstore *t, const char *sender, const char *text,
    int64_t time_us, struct tres *res)
{
	struct tstore *one[1] = { t };

	tstore_submit(t, "sms", sender, text, time_us, NULL, res);
	tstore_wait(one, 1);
}

const char *
tstore_db(const char *name)
{
	static char conninfo[512];
	struct migrate_report mrep;
	struct import_report irep;
	char err[1024];
	FILE *f;

	snprintf(conninfo, sizeof(conninfo), "%s", itest_db_create(name));
	if (migrate_run(conninfo, &mrep, err, sizeof(err)) != 0)
		itest_fail("migrate: %s", err);
	if ((f = fopen(MLINE_TEST_DATA "/contracts-sample.csv", "r")) == NULL)
		itest_fail("no sample contracts");
	if (import_contracts(conninfo, f, "sample", NULL, NULL, &irep, err,
	        sizeof(err)) != 0 ||
	    irep.bad_lines != 0)
		itest_fail("import: %s", err);
	fclose(f);
	return conninfo;
}
