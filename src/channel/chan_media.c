/*
 * Photos and shared phones of one channel (chan_media_int.h; schema 0005).
 *
 * Recording runs on the channel's own connection, after the store
 * committed the message (so its id is known) and before
 * the webhook's 200: the platform then never needs to send the update
 * again, and if it does (a 503 here), the store calls it a duplicate with
 * the same message id and the rows are already there (ON CONFLICT).
 *
 * Fetching: every CM_POLL_S, and after a photo was recorded, up to
 * CM_FETCH_MAX due photos of this channel are claimed (a lease of
 * CM_LEASE_S, so another instance or a restart takes them up when we
 * die), fetched in the adapter's steps with the size cap, and written
 * back as bytes, too_large, or due again after a backoff (failed after
 * CM_ATTEMPTS).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chan_media_int.h"
#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

#define CM_POLL_S 2
#define CM_FETCH_MAX 4
#define CM_LEASE_S 120
#define CM_ATTEMPTS 5
#define CM_STEP_MAX_BODY 65536 /* a step's answer before the file */

enum cm_stmt { CM_PHOTO, CM_PHONE, CM_CLAIM, CM_STORE, CM_RETRY };

static const struct db_stmt cm_stmts[] = {
	[CM_PHOTO] = { "cm_photo",
	    "INSERT INTO message_photos (message_id, channel, sender,"
	    " received_at, ref) VALUES ($1::int8, $2, $3,"
	    " to_timestamp($4::float8 / 1e6), $5)"
	    " ON CONFLICT (message_id) DO NOTHING",
	    5 },
	[CM_PHONE] = { "cm_phone",
	    "INSERT INTO channel_phones (channel, sender, phone, message_id)"
	    " VALUES ($1, $2, $3, $4::int8) ON CONFLICT (channel, sender)"
	    " DO UPDATE SET phone = EXCLUDED.phone,"
	    " message_id = EXCLUDED.message_id, verified_at = now()",
	    4 },
	[CM_CLAIM] = { "cm_claim",
	    "UPDATE message_photos p SET attempts = p.attempts + 1,"
	    " next_at = now() + make_interval(secs => $2::int)"
	    " FROM (SELECT message_id FROM message_photos WHERE channel = $1"
	    "  AND state = 'pending' AND next_at <= now() ORDER BY next_at"
	    "  LIMIT $3::int FOR UPDATE SKIP LOCKED) d"
	    " WHERE p.message_id = d.message_id"
	    " RETURNING p.message_id, p.ref, p.attempts",
	    3 },
	[CM_STORE] = { "cm_store",
	    "UPDATE message_photos SET state = $2, bytes = $3::bytea,"
	    " size = $4::int, fetched_at = now() WHERE message_id = $1::int8",
	    4 },
	[CM_RETRY] = { "cm_retry",
	    "UPDATE message_photos SET state = CASE WHEN attempts >= $2::int"
	    " THEN 'failed' ELSE state END, next_at = now() +"
	    " make_interval(secs => least(300, 2 ^ attempts))"
	    " WHERE message_id = $1::int8",
	    2 },
};

struct chan_media {
	struct event_base *base;
	const struct chan_api *api;
	void *api_ctx;
	struct webc *webc;
	size_t photo_max;
	struct chan_stats *st;
	struct db *db;
	struct event *timer, *kick;
	bool claiming;
	int fetching;
	char *conninfo;
	/* records waiting for the round on its way (recording) */
	struct cm_rec *queue, **queue_tail;
	bool recording, closing;
};

/* A photo on its way from the platform. */
struct cm_fetch {
	struct chan_media *cm;
	int64_t id;
	char ref[512];
	int step;
};

/* A record waiting for its round, its parameters copied. */
struct cm_rec {
	void (*done)(void *, bool);
	void *arg;
	char id[24], us[24];
	char *sender, *photo, *phone;
	struct cm_rec *next;
};

/* A round of records on its way. */
struct cm_round {
	struct chan_media *cm;
	struct cm_rec *list;
	bool photo; /* one of them has a photo: look for fetches after */
};

/* ---- recording ----------------------------------------------------------- */

/* Tell every record of list how its round ended, and free them. */
static void
cm_recs_done(struct cm_rec *list, bool ok)
{
	while (list != NULL) {
		struct cm_rec *r = list;

		list = r->next;
		r->done(r->arg, ok);
		free(r->sender);
		free(r->photo);
		free(r->phone);
		free(r);
	}
}

static void cm_flush(struct chan_media *cm);

static void
cm_record_done(const struct db_round_result *res, void *arg)
{
	struct cm_round *rd = arg;
	struct chan_media *cm = rd->cm;
	bool ok = !res->lost && res->failed < 0;

	if (!ok && !res->lost)
		log_warn("%s: photo or phone not recorded: %s", cm->api->name,
		    res->error);
	if (ok && rd->photo && !cm->closing)
		event_active(cm->kick, EV_TIMEOUT, 0);
	cm->recording = false;
	cm_recs_done(rd->list, ok);
	free(rd);
	if (!cm->closing)
		cm_flush(cm);
}

/*
 * Send every queued record in one round (one transaction): while a round
 * is on its way the next ones queue, so a burst of webhooks costs a few
 * commits, not one each. On failure the queued records are told at once.
 */
static void
cm_flush(struct chan_media *cm)
{
	struct cm_round *rd;
	bool sent = true;

	if (cm->recording || cm->queue == NULL)
		return;
	rd = xcalloc(1, sizeof(*rd));
	rd->cm = cm;
	rd->list = cm->queue;
	cm->queue = NULL;
	cm->queue_tail = &cm->queue;
	for (struct cm_rec *r = rd->list; r != NULL && sent; r = r->next) {
		const char *pp[5] = { r->id, cm->api->name, r->sender, r->us,
			r->photo };
		const char *hp[4] = { cm->api->name, r->sender, r->phone,
			r->id };

		sent = (r->photo[0] == '\0' ||
		           db_send(cm->db, CM_PHOTO, pp) == 0) &&
		    (r->phone[0] == '\0' || db_send(cm->db, CM_PHONE, hp) == 0);
		rd->photo |= r->photo[0] != '\0';
	}
	if (!sent || db_round(cm->db, true, cm_record_done, rd) != 0) {
		cm_recs_done(rd->list, false);
		free(rd);
		return;
	}
	cm->recording = true;
}

int
chan_media_record(struct chan_media *cm, const struct chan_media_rec *r,
    void (*done)(void *, bool), void *arg)
{
	struct cm_rec *x;

	if (!db_ready(cm->db))
		return -1;
	x = xcalloc(1, sizeof(*x));
	x->done = done;
	x->arg = arg;
	snprintf(x->id, sizeof(x->id), "%" PRId64, r->message_id);
	snprintf(x->us, sizeof(x->us), "%" PRId64, r->time_us);
	x->sender = xstrdup(r->sender);
	x->photo = xstrdup(r->photo);
	x->phone = xstrdup(r->phone);
	*cm->queue_tail = x;
	cm->queue_tail = &x->next;
	if (x->photo[0] != '\0')
		cm->st->photos++;
	if (x->phone[0] != '\0')
		cm->st->phones++;
	cm_flush(cm);
	return 0;
}

/* ---- fetching ------------------------------------------------------------ */

static void
cm_write_done(const struct db_round_result *res, void *arg)
{
	struct chan_media *cm = arg;

	if (!res->lost && res->failed >= 0)
		log_warn("%s: photo write-back failed: %s", cm->api->name,
		    res->error);
}

/* Write a fetch's end back: bytes, too_large, or due again. */
static void
cm_settle(struct cm_fetch *f, const char *state, const struct webc_resp *r)
{
	struct chan_media *cm = f->cm;
	char id[24], size[24], att[8];
	char *hex = NULL;

	snprintf(id, sizeof(id), "%" PRId64, f->id);
	if (state == NULL) {
		const char *p[2] = { id, att };

		snprintf(att, sizeof(att), "%d", CM_ATTEMPTS);
		cm->st->photos_failed++;
		db_send(cm->db, CM_RETRY, p);
	} else {
		const char *p[4] = { id, state, NULL, size };
		static const char digits[] = "0123456789abcdef";

		snprintf(size, sizeof(size), "%zu", r ? r->len : 0);
		if (r != NULL) {
			hex = xmalloc(2 * r->len + 3);
			hex[0] = '\\';
			hex[1] = 'x';
			for (size_t i = 0; i < r->len; i++) {
				unsigned char c = (unsigned char)r->body[i];

				hex[2 + 2 * i] = digits[c >> 4];
				hex[3 + 2 * i] = digits[c & 15];
			}
			hex[2 + 2 * r->len] = '\0';
			p[2] = hex;
			cm->st->photos_stored++;
		}
		db_send(cm->db, CM_STORE, p);
	}
	db_round(cm->db, true, cm_write_done, cm);
	free(hex);
	cm->fetching--;
	free(f);
}

static void cm_step(struct cm_fetch *f, const struct webc_resp *prev);

static void
cm_fetched_cb(const struct webc_resp *r, void *arg)
{
	struct cm_fetch *f = arg;

	if (r->status == 0 && r->error != NULL &&
	    strcmp(r->error, "too_large") == 0)
		cm_settle(f, "too_large", NULL);
	else if (r->status != 200)
		cm_settle(f, NULL, NULL);
	else if (++f->step == f->cm->api->photo_steps)
		cm_settle(f, "stored", r);
	else
		cm_step(f, r);
}

/* Request step f->step of the photo (prev: the step before's answer). */
static void
cm_step(struct cm_fetch *f, const struct webc_resp *prev)
{
	struct chan_media *cm = f->cm;
	char url[1024], hdr[320];
	const char *headers[2] = { hdr, NULL };
	bool last = f->step + 1 == cm->api->photo_steps;
	struct webc_req q = { .method = "GET",
		.url = url,
		.max_body = last ? cm->photo_max : CM_STEP_MAX_BODY };

	if (cm->api->photo_header != NULL) {
		if (cm->api->photo_header(cm->api_ctx, hdr, sizeof(hdr)) != 0) {
			cm_settle(f, NULL, NULL);
			return;
		}
		q.headers = headers;
	}
	if (cm->api->photo_url(
	        cm->api_ctx, f->ref, f->step, prev, url, sizeof(url)) != 0 ||
	    webc_send(cm->webc, &q, cm_fetched_cb, f) != 0)
		cm_settle(f, NULL, NULL);
}

static void
cm_claim_done(const struct db_round_result *res, void *arg)
{
	struct chan_media *cm = arg;
	const struct db_rows *rows = res->nrows > 0 ? res->rows[0] : NULL;

	cm->claiming = false;
	if (res->lost || res->failed >= 0 || rows == NULL)
		return;
	for (int i = 0; i < db_rows_count(rows); i++) {
		struct cm_fetch *f = xcalloc(1, sizeof(*f));

		f->cm = cm;
		f->id = strtoll(db_rows_get(rows, i, 0), NULL, 10);
		strlcpy_s(f->ref, db_rows_get(rows, i, 1), sizeof(f->ref));
		cm->fetching++;
		cm_step(f, NULL);
	}
}

static void
cm_claim(struct chan_media *cm)
{
	char lease[16], limit[16];
	const char *p[3] = { cm->api->name, lease, limit };

	if (cm->claiming || cm->fetching > 0 || !db_ready(cm->db) ||
	    cm->api->photo_url == NULL)
		return;
	snprintf(lease, sizeof(lease), "%d", CM_LEASE_S);
	snprintf(limit, sizeof(limit), "%d", CM_FETCH_MAX);
	if (db_send(cm->db, CM_CLAIM, p) == 0 &&
	    db_round(cm->db, true, cm_claim_done, cm) == 0)
		cm->claiming = true;
}

static void
cm_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cm_claim(arg);
}

/* ---- life ---------------------------------------------------------------- */

struct chan_media *
chan_media_new(
    struct event_base *base, const struct chan_opts *o, struct chan_stats *st)
{
	struct chan_media *cm = xcalloc(1, sizeof(*cm));
	struct db_opts dbo = { 0 };
	struct timeval tv = { CM_POLL_S, 0 };

	cm->base = base;
	cm->api = o->api;
	cm->api_ctx = o->api_ctx;
	cm->webc = o->webc;
	cm->st = st;
	cm->photo_max = o->photo_max > 0 ? o->photo_max : 10u << 20;
	cm->conninfo = xstrdup(o->conninfo);
	cm->queue_tail = &cm->queue;
	cm->timer = event_new(base, -1, EV_PERSIST, cm_timer_cb, cm);
	cm->kick = event_new(base, -1, 0, cm_timer_cb, cm);
	event_add(cm->timer, &tv);
	dbo.name = o->api->name;
	dbo.conninfo = cm->conninfo;
	dbo.dns = o->dns;
	dbo.stmts = cm_stmts;
	dbo.nstmts = ARRAY_SIZE(cm_stmts);
	cm->db = db_new(base, &dbo, NULL, NULL);
	return cm;
}

void
chan_media_free(struct chan_media *cm)
{
	if (cm == NULL)
		return;
	cm->closing = true;
	db_free(cm->db); /* rounds in flight end as lost: their callbacks run */
	cm_recs_done(cm->queue, false);
	event_free(cm->timer);
	event_free(cm->kick);
	free(cm->conninfo);
	free(cm);
}
