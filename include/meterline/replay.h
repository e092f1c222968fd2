/*
 * Replay and export of the message log (docs/replay.md).
 *
 * Formats: JSON Lines, one object per line with time (RFC 3339 with an
 * offset), channel, from, to, text and optionally id (export-log adds
 * outcome, reason, reply, which replay ignores); or CSV with the header
 * time,channel,from,to,text[,id] (RFC 4180 quoting).
 *
 * Replay hands every message to the store (store_submit), exactly as a
 * live channel does, with its own time as "now"; a message without an id
 * gets a stable one from its contents, so nothing is applied twice.
 */
#ifndef METERLINE_REPLAY_H
#define METERLINE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "meterline/intake.h"

struct config;
struct store_stats;
struct tz;

/* ---- times ------------------------------------------------------------- */

/*
 * Parse an RFC 3339 time with an offset ("2026-11-24T12:30:00+03:00",
 * "...Z", fractions of a second up to microseconds) into Unix
 * microseconds. Returns 0, or -1 when it is not one.
 */
int replay_time_parse(const char *s, int64_t *us);

/*
 * Format Unix microseconds as RFC 3339 in the zone tz (its offset at that
 * instant; UTC when tz is NULL), with microseconds only when non-zero.
 * buf needs 40 bytes. Returns buf.
 */
char *
replay_time_format(int64_t us, const struct tz *tz, char *buf, size_t len);

/*
 * A time given on the command line: RFC 3339, or a date YYYY-MM-DD meaning
 * its local midnight in tz. 0, or -1 when it is neither.
 */
int replay_when_parse(const char *s, const struct tz *tz, int64_t *us);

/* ---- reading ------------------------------------------------------------ */

enum replay_format { REPLAY_FMT_AUTO, REPLAY_FMT_JSONL, REPLAY_FMT_CSV };

/* One message to replay. The strings live in one allocation, buf. */
struct replay_rec {
	int64_t time_us;
	const char *channel, *from, *to, *text, *id; /* id: given or stable */
	size_t text_len;
	const char *file; /* borrowed: the name given to replay_read */
	long line; /* where its record starts */
	size_t seq; /* order read, across files */
	char *buf; /* owned */
};

struct replay_set {
	struct replay_rec *recs;
	size_t n, cap;
	long bad; /* malformed records reported */
	long refused; /* records outside the time bounds (replay_bound) */
};

/* A malformed record: name:line: why. */
typedef void (*replay_bad_cb)(
    const char *name, long line, const char *why, void *arg);

/*
 * Read every record of in (named name in reports; the name is borrowed and
 * must outlive the set) into set, in the given format or detected from the
 * first non-empty line ('{' is JSON Lines, "time," a CSV header). Malformed
 * records are reported through bad and skipped. Returns 0, or -1 with why
 * in err when the file as a whole cannot be read (read error, unknown
 * format, bad CSV header).
 */
int replay_read(struct replay_set *, FILE *in, const char *name,
    enum replay_format, replay_bad_cb bad, void *arg, char *err, size_t errlen);
void replay_set_free(struct replay_set *);

/*
 * Drop the records whose time is outside the [intake] bounds around
 * now_us (intake_time_check: too far ahead, or older than max_age), each
 * reported through bad as "<why>; not replayed" and counted in refused.
 */
struct config_intake;
void replay_bound(struct replay_set *, const struct config_intake *,
    int64_t now_us, replay_bad_cb bad, void *arg);

/* Sort by time, stably (the order read breaks ties). */
void replay_sort(struct replay_set *);

/* ---- running ------------------------------------------------------------ */

struct replay_opts {
	const char *conninfo;
	const struct config *cfg; /* borrowed: window, dialogs, templates */
	bool dry_run; /* store_opts.dry_run: nothing committed */
	bool send_replies; /* else INTAKE_F_NO_OUTBOX */
	int max_inflight; /* 0: 4000; best about 4 x batch_max */
	int connections; /* 0: the store's default */
	int ready_timeout_s; /* 0: 30 */
	/* called about every progress_ms (0: never) with done/total */
	void (*progress)(size_t done, size_t total, void *arg);
	void *progress_arg;
	struct store_stats *stats; /* filled at the end when non-NULL */
	int progress_ms;
};

/*
 * What one message did. status INTAKE_TEMPFAIL here means it could not be
 * stored even after retries (the database went away).
 */
struct replay_outcome {
	enum intake_status status;
	const char *outcome, *reason, *reply; /* NULL when none */
	int64_t message_id;
};

/*
 * The outcome and reason a report shows for out: "duplicate" with what
 * the original did as the reason, "failed"/"not_stored" when the message
 * could not be stored (returns true then), else the outcome as it is.
 */
bool replay_outcome_shown(const struct replay_outcome *out,
    const char **outcome, const char **reason);

/* Called once per record, in the set's order (after replay_sort: time). */
typedef void (*replay_result_cb)(const struct replay_rec *, size_t n,
    const struct replay_outcome *, void *arg);

/*
 * Apply every record of the sorted set through a store on a private event
 * loop: a sender's message is submitted only once its previous one is
 * done, at most max_inflight at once, so group commit batches them.
 * Returns 0 when every record got a result (failures included), -1 with
 * why in err when the store could not start or never became ready.
 */
int replay_run(const struct replay_set *, const struct replay_opts *,
    replay_result_cb, void *arg, char *err, size_t errlen);

/* ---- exporting ---------------------------------------------------------- */

struct replay_export_opts {
	const char *conninfo;
	const struct tz *tz; /* offsets of the times written */
	bool has_since, has_until;
	int64_t since_us, until_us; /* message time: since <= t < until */
	const char *channel; /* NULL: all */
	const char *contract; /* NULL: all */
	const char *sender; /* NULL: all */
	const char *outcome; /* "accepted", "duplicate"...; NULL: all */
};

/*
 * Write the message log as JSON Lines to out in the messages' time order,
 * through a cursor (a few thousand rows in memory at a time), each line
 * with the contract, the stored values and submission status, and the
 * reply's delivery state and receipt. *rows gets the count. Returns 0, or
 * -1 with why in err.
 */
int replay_export(const struct replay_export_opts *, FILE *out, long *rows,
    char *err, size_t errlen);

#endif
