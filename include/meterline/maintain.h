/*
 * The maintenance of [retention] (docs/retention.md): once, for
 * `meterline maintain`, or every [retention] interval inside serve, on a
 * thread of its own with its own blocking connection, so that nothing of
 * it runs on the loop.
 */
#ifndef METERLINE_MAINTAIN_H
#define METERLINE_MAINTAIN_H

#include <stddef.h>
#include <stdint.h>

#include "meterline/retention.h"

struct config;
struct event_base;
struct maintain;

/* Whether cfg asks for any retention at all. */
int maintain_wanted(const struct config *);

/* Apply cfg's periods as if the clock read now_us. 0 or -1 with err. */
int maintain_run(const struct config *, int64_t now_us,
    struct retention_report *, char *err, size_t errlen);

/*
 * Serve's timer: a run a minute (or interval, if shorter) after the start, then every interval; a
 * run still going when the next is due is not doubled. NULL when cfg
 * wants no retention or no interval. cfg is copied.
 */
struct maintain *maintain_start(struct event_base *, const struct config *);
/* Stop the timer and wait for a run in progress. NULL-safe. */
void maintain_free(struct maintain *);

#endif
