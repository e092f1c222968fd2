/*
 * Photos and shared phone numbers of a channel (schema 0005): recorded
 * after their message committed and before the webhook's 200, photos
 * fetched from the platform afterwards. Private to src/channel.
 */
#ifndef METERLINE_CHAN_MEDIA_INT_H
#define METERLINE_CHAN_MEDIA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "meterline/channel.h"

struct chan_media;

struct chan_media *chan_media_new(
    struct event_base *, const struct chan_opts *, struct chan_stats *st);
void chan_media_free(struct chan_media *); /* NULL-safe */

/* What an update left to record beside its message. */
struct chan_media_rec {
	int64_t message_id;
	const char *sender;
	int64_t time_us;
	const char *photo; /* "" none */
	const char *phone; /* "" none */
};

/*
 * Record r durably; done(arg, ok) runs once, later or before this returns
 * (ok false: nothing recorded, the webhook asks for a retry). Records that
 * come while a round is on its way share the next round (one commit for a
 * burst). -1 at once when the database is not there (done never runs).
 */
int chan_media_record(struct chan_media *, const struct chan_media_rec *r,
    void (*done)(void *arg, bool ok), void *arg);

#endif
