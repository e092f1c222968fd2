/*
 * Driving a real store (src/store/store.c) from a test: an event base, a
 * config, submit-and-wait helpers that keep each result.
 */
#ifndef METERLINE_TSTORE_H
#define METERLINE_TSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "meterline/config.h"
#include "meterline/intake.h"
#include "meterline/store.h"

struct event_base;

/* One message's result, copied out of the done callback. */
struct tres {
	bool done;
	enum intake_status status;
	char outcome[32];
	char reason[48];
	char reply[1100];
	int64_t id;
	int *outstanding;
};

struct tstore {
	struct event_base *base; /* shared by the stores of one test */
	struct store *st;
	struct config *cfg;
	int outstanding;
	/* given with every message submitted while set (SMPP's facts) */
	const struct intake_acks *acks;
	unsigned flags; /* INTAKE_F_* of every message submitted */
};

/* 2026-11-20 12:00 Moscow time (inside the default 18-25 window), + min. */
int64_t tstore_time(int minutes);

/*
 * Create a store on base for conninfo with [store] batch_max and the
 * default config otherwise; wait until it is ready (or fail the test).
 */
void tstore_open(
    struct tstore *, struct event_base *, const char *conninfo, int batch_max);
/* The same with a dry-run store (nothing ever committed). */
void tstore_open_dry(
    struct tstore *, struct event_base *, const char *conninfo, int batch_max);
void tstore_close(struct tstore *);

/* Submit; the result lands in *res when done. Fails the test if refused. */
void tstore_submit(struct tstore *, const char *channel, const char *sender,
    const char *text, int64_t time_us, const char *external_id,
    struct tres *res);
/* Same, but return submit's value (-1: refused) instead of failing. */
int tstore_try_submit(struct tstore *, const char *channel, const char *sender,
    const char *text, int64_t time_us, const char *external_id,
    struct tres *res);

/* Run the loop until every submitted message of these stores is done. */
void tstore_wait(struct tstore *const *stores, int n);
/* Run the loop until the store is ready again (after a failure). */
void tstore_wait_ready(struct tstore *);
/* Run the loop for about ms milliseconds. */
void tstore_spin(struct event_base *, int ms);

/* One message, submitted and waited for: the common case. */
void tstore_say(struct tstore *, const char *sender, const char *text,
    int64_t time_us, struct tres *res);

/* Fresh database name: migrated, sample contracts imported. */
const char *tstore_db(const char *name);

#endif
