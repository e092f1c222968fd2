/*
 * Retention: dropping what is older than the configured periods
 * (docs/retention.md). Blocking, for `meterline maintain` and serve's
 * maintenance thread; never on the loop.
 *
 * - messages, outbox: partitioned by the month a row was written; a
 *   partition whose upper bound is at or before now - period is detached
 *   (CONCURRENTLY: live traffic is not blocked) and dropped. Before a
 *   partition of messages goes, the stable ids and photos written before
 *   its upper bound are deleted, so that an id never outlives the log row
 *   the store joins it with.
 * - message_ids, photos: rows written before now - period are deleted in
 *   batches of RETENTION_BATCH.
 */
#ifndef METERLINE_RETENTION_H
#define METERLINE_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#define RETENTION_BATCH 5000

struct retention_opts {
	/* seconds; 0 keeps forever */
	int64_t messages, outbox, photos, message_ids;
	int64_t now_us; /* the clock, Unix microseconds (a test moves it) */
};

struct retention_report {
	int partitions; /* partitions detached and dropped */
	int64_t ids; /* message_ids rows deleted */
	int64_t photos; /* message_photos rows deleted */
};

/*
 * Apply the periods to the database at conninfo. Safe to run from several
 * instances at once (each step is idempotent; a detach another run began
 * is finished). 0, or -1 with why in err; what was dropped before the
 * failure is in the report.
 */
int retention_run(const char *conninfo, const struct retention_opts *,
    struct retention_report *, char *err, size_t errlen);

#endif
