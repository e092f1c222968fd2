/*
 * Gathering (docs/store.md): messages whose source may send more
 * (INTAKE_F_MAY_WAIT) wait up to [store] gather to share one transaction;
 * a message without the flag starts its batch at once, those waiting with
 * it included; with gather = 0 nothing waits. The wait is 1 s here so
 * that a slow (sanitizer, loaded) commit cannot pass for it.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "meterline/clock.h"
#include "tstore.h"

#define GATHER_MS 1000

static uint64_t
batches(const struct tstore *t)
{
	struct store_stats s;

	store_stats(t->st, &s);
	return s.batches;
}

static int
done_count(const struct tres *r, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += r[i].done;
	return k;
}

static void
submit(struct tstore *t, unsigned flags, int k, struct tres *res)
{
	char sender[32], text[64];

	snprintf(sender, sizeof(sender), "7916555%04d", k);
	snprintf(text, sizeof(text), "ПС 102057522 %d", 11700 + k);
	t->flags = flags;
	tstore_submit(t, "sms", sender, text, tstore_time(k), NULL, res);
	t->flags = 0;
}

/*
 * Wait for the three results of r, all applied in one transaction (the
 * store's count of batches was b0 before); the milliseconds since t0.
 */
static int64_t
wait_one_batch(struct tstore *t, struct tres *r, uint64_t b0, int64_t t0)
{
	tstore_wait((struct tstore *[]){ t }, 1);
	ITEST_EQ_LONG(done_count(r, 3), 3);
	ITEST_EQ_LONG((long)(batches(t) - b0), 1);
	for (int i = 0; i < 3; i++)
		ITEST_EQ_LONG(r[i].status, INTAKE_APPLIED);
	return (clock_mono_us() - t0) / 1000;
}

/* Three messages that may wait: one batch, not before the wait is over. */
static void
test_waits_for_more(struct tstore *t)
{
	struct tres r[3] = { 0 };
	uint64_t b0 = batches(t);
	int64_t t0 = clock_mono_us(), took_ms;

	for (int i = 0; i < 3; i++) {
		submit(t, INTAKE_F_MAY_WAIT, i, &r[i]);
		tstore_spin(t->base, 50);
	}
	ITEST_EQ_LONG(done_count(r, 3), 0);
	ITEST_EQ_LONG((long)(batches(t) - b0), 0);
	took_ms = wait_one_batch(t, r, b0, t0);
	ITEST_CHECK(took_ms >= GATHER_MS - 50);
	printf("ok: 3 messages that may wait: one batch after %lld ms\n",
	    (long long)took_ms);
}

/* One message without the flag takes those waiting with it, at once. */
static void
test_urgent_starts(struct tstore *t)
{
	struct tres r[3] = { 0 };
	uint64_t b0 = batches(t);
	int64_t t0 = clock_mono_us(), took_ms;

	submit(t, INTAKE_F_MAY_WAIT, 10, &r[0]);
	submit(t, INTAKE_F_MAY_WAIT, 11, &r[1]);
	submit(t, 0, 12, &r[2]);
	took_ms = wait_one_batch(t, r, b0, t0);
	ITEST_CHECK(took_ms < GATHER_MS / 2);
	printf("ok: a message without the flag: one batch after %lld ms\n",
	    (long long)took_ms);
}

/* gather = 0: a message that may wait still goes at once. */
static void
test_no_gather(struct tstore *t)
{
	struct tres r;
	int64_t t0 = clock_mono_us(), took_ms;

	t->cfg->store.gather_ms = 0;
	memset(&r, 0, sizeof(r));
	submit(t, INTAKE_F_MAY_WAIT, 20, &r);
	tstore_wait((struct tstore *[]){ t }, 1);
	took_ms = (clock_mono_us() - t0) / 1000;
	ITEST_CHECK(r.done && r.status == INTAKE_APPLIED);
	ITEST_CHECK(took_ms < GATHER_MS / 2);
	t->cfg->store.gather_ms = GATHER_MS;
	printf("ok: gather = 0: at once (%lld ms)\n", (long long)took_ms);
}

int
main(void)
{
	const char *conninfo = tstore_db("itest_store_gather");
	struct event_base *base = event_base_new();
	struct tstore t;

	tstore_open(&t, base, conninfo, 256);
	t.cfg->store.gather_ms = GATHER_MS;
	test_waits_for_more(&t);
	test_urgent_starts(&t);
	test_no_gather(&t);
	tstore_close(&t);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
