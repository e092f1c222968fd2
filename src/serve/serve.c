/*
 * The daemon. One libevent loop carries the store, the SMPP link, the
 * outbox sender and the HTTP intake; this file wires them together and
 * runs the graceful stop.
 *
 * Every channel's messages go through serve_submit, which forwards them to
 * the store and, when the store answers, counts the outcome and wakes the
 * outbox sender if an SMS reply was committed.
 */
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "meterline/channel.h"
#include "meterline/clock.h"
#include "meterline/config.h"
#include "meterline/console.h"
#include "meterline/db.h"
#include "meterline/dialog.h"
#include "meterline/http_intake.h"
#include "meterline/maintain.h"
#include "meterline/max.h"
#include "meterline/log.h"
#include "meterline/metrics.h"
#include "meterline/outbox.h"
#include "meterline/remind.h"
#include "meterline/serve.h"
#include "meterline/smpp_link.h"
#include "meterline/store.h"
#include "meterline/telegram.h"
#include "meterline/viber.h"
#include "meterline/vk.h"
#include "meterline/whatsapp.h"
#include "meterline/webc.h"
#include "meterline/xmalloc.h"

/*
 * SIGTERM to exit: at most SERVE_STOP_DEADLINE_S. The link may spend
 * SERVE_LINK_STOP_MS of it sending replies it holds and waiting for the
 * store; what it could not send comes back as unsent and is written back
 * due at once, so the next start sends it first. The rest of the deadline
 * is for the unbind and those write-backs.
 */
#define SERVE_STOP_DEADLINE_S 10
#define SERVE_LINK_STOP_MS 6000

/*
 * The flags that make an accepted submission one to review: counted in
 * meterline_flagged_total{flag} (the others describe the dialog).
 */
#define SERVE_REVIEW_FLAGS \
	(DIALOG_F_HIGH_CONSUMPTION | DIALOG_F_WRAPAROUND | \
	    DIALOG_F_OUTSIDE_WINDOW | DIALOG_F_TRUNCATED | DIALOG_F_NO_LAST | \
	    DIALOG_F_CORRECTION)

/* A message on its way through the store; pooled, not malloc'ed each time. */
struct serve_call {
	struct serve *sv;
	intake_done_cb done;
	void *arg;
	bool sms;
	/* the channel whose outbox claim a committed reply wakes, or NULL */
	const char *kick;
	const char *label; /* messages_total{channel} */
	int64_t t0_us; /* submitted (monotonic): the store's latency */
	char channel[33]; /* as the message said (validated by its channel) */
	char from[24]; /* the sender, masked (log_mask_phone) */
	struct serve_call *next; /* free list */
};

struct serve {
	struct event_base *base;
	/* the resolver of host names (SMSC), [dns]; docs/dns.md */
	struct evdns_base *dns;
	struct config cfg;
	struct store *store;
	struct outbox *outbox;
	char outbox_owner[96]; /* the store's lease_owner, from the outbox */
	struct smpp_link *link;
	struct http_intake *http;
	/* messenger channels (Telegram, MAX) and their HTTPS client */
	struct webc *webc;
	struct channel *chans[5];
	const char *chan_names[5];
	size_t nchans;
	struct console *console;
	struct remind *remind; /* [reminders]: its timer (docs/reminders.md) */
	struct maintain *maintain; /* [retention] on a timer, or NULL */
	struct metrics *metrics;
	struct metrics_std std;
	struct metric *smpp_bounds; /* meterline_smpp_bounds_total{what} */
	/* meterline_channel_events_total{channel,event} (docs/channels.md) */
	struct metric *chan_events;
	struct serve_call *free_calls;
	struct event *sig_term, *sig_int, *stop_timer, *link_wait;
	/* 0 running, 1 draining, 2 done */
	int stopping;
	int stop_ticks;
};

/* ---- the intake every channel submits to ---------------------------------- */

static struct serve_call *
serve_call_get(struct serve *sv)
{
	struct serve_call *c = sv->free_calls;

	if (c != NULL)
		sv->free_calls = c->next;
	else
		c = xmalloc(sizeof(*c));
	return c;
}

/*
 * One info line per message once the store has answered it: who (masked),
 * which channel, what happened and how long the store took, so support
 * staff can follow a customer without the message log.
 */
static void
serve_log_message(const struct serve_call *c, const struct intake_result *r)
{
	static const char *const status_outcome[] = {
		[INTAKE_APPLIED] = NULL,
		[INTAKE_DUPLICATE] = "duplicate",
		[INTAKE_TEMPFAIL] = "not_stored",
	};
	const char *outcome = status_outcome[r->status];
	const char *reason = outcome != NULL ? r->outcome : r->reason;
	char flags[160], id[24] = "-";

	if (outcome == NULL)
		outcome = r->outcome ? r->outcome : "?";
	if (r->message_id > 0)
		snprintf(id, sizeof(id), "%lld", (long long)r->message_id);
	log_info("message %s: %s from %s: %s%s%s%s%s%s in %.1f ms", id,
	    c->channel, c->from, outcome, reason ? " (" : "",
	    reason ? reason : "", reason ? ")" : "", r->flags ? ", flags " : "",
	    r->flags ? dialog_flags_str(r->flags, flags, sizeof(flags)) : "",
	    (double)(clock_mono_us() - c->t0_us) / 1000);
}

/* Each review flag of an accepted submission, in meterline_flagged_total. */
static void
serve_count_flags(struct serve *sv, const struct intake_result *r)
{
	unsigned f = r->flags & SERVE_REVIEW_FLAGS;

	if (r->status != INTAKE_APPLIED || r->outcome == NULL ||
	    strcmp(r->outcome, "accepted") != 0)
		return;
	for (unsigned bit = 1; f != 0; bit <<= 1) {
		if (!(f & bit))
			continue;
		f &= ~bit;
		metrics_inc(sv->std.flagged, dialog_flag_name(bit));
	}
}

static void
serve_done(const struct intake_result *r, void *arg)
{
	struct serve_call *c = arg;
	struct serve *sv = c->sv;

	serve_log_message(c, r);
	serve_count_flags(sv, r);
	/* a part kept (INTAKE_F_PART) is no message yet */
	if (r->status != INTAKE_TEMPFAIL &&
	    !(r->outcome != NULL && strcmp(r->outcome, "part") == 0))
		metrics_inc(sv->std.messages, c->label,
		    r->outcome ? r->outcome : "", r->reason ? r->reason : "");
	if (r->status == INTAKE_DUPLICATE)
		metrics_inc(sv->std.duplicates, c->label);
	if (c->kick != NULL && r->status == INTAKE_APPLIED &&
	    r->reply != NULL && sv->outbox != NULL)
		outbox_kick_channel(sv->outbox, c->kick);
	c->done(r, c->arg);
	c->next = sv->free_calls;
	sv->free_calls = c;
}

static int
serve_submit(
    void *ctx, const struct inbound_msg *msg, intake_done_cb done, void *arg)
{
	struct serve *sv = ctx;
	struct serve_call *c;

	if (sv->stopping)
		return -1;
	c = serve_call_get(sv);
	c->sv = sv;
	c->done = done;
	c->arg = arg;
	c->sms = strcmp(msg->channel, "sms") == 0;
	c->label = c->kick = c->sms ? "sms" : NULL;
	for (size_t i = 0; c->kick == NULL && i < sv->nchans; i++)
		if (strcmp(msg->channel, sv->chan_names[i]) == 0)
			c->label = c->kick = sv->chan_names[i];
	if (c->label == NULL)
		c->label = "bridge";
	c->t0_us = clock_mono_us();
	strlcpy_s(c->channel, msg->channel, sizeof(c->channel));
	log_mask_phone(msg->sender, c->from, sizeof(c->from));
	if (store_submit(sv->store, msg, serve_done, c) != 0) {
		c->next = sv->free_calls;
		sv->free_calls = c;
		return -1;
	}
	return 0;
}

/* ---- SMPP hooks ----------------------------------------------------------- */

static void
serve_link_submit(
    void *ctx, const struct inbound_msg *msg, intake_done_cb done, void *arg)
{
	static const struct intake_result tempfail = { .status =
		                                           INTAKE_TEMPFAIL };

	/* The link accepts a synchronous answer: the temporary status. */
	if (serve_submit(ctx, msg, done, arg) != 0)
		done(&tempfail, arg);
}

static void
serve_link_receipt(
    void *ctx, const struct smpp_receipt *r, intake_done_cb done, void *arg)
{
	struct serve *sv = ctx;

	outbox_receipt(sv->outbox, r, done, arg);
}

static void
serve_link_report(void *ctx, const struct smpp_mt_report *r)
{
	struct serve *sv = ctx;

	outbox_report(sv->outbox, r);
}

static void
serve_link_bound(void *ctx, bool bound)
{
	struct serve *sv = ctx;

	outbox_set_enabled(sv->outbox, bound);
}

static int
serve_outbox_send(void *ctx, const struct smpp_mt *mt)
{
	struct serve *sv = ctx;
	char err[160];

	if (smpp_link_send(sv->link, mt, err, sizeof(err)) != 0) {
		log_warn("outbox: reply %llu not queued: %s",
		    (unsigned long long)mt->cookie, err);
		return -1;
	}
	return 0;
}

/* ---- health and metrics --------------------------------------------------- */

static size_t
serve_health(struct http_health_item *items, size_t max, void *arg)
{
	struct serve *sv = arg;
	size_t n = 0;

	if (n < max)
		items[n++] = (struct http_health_item){ "database",
			store_ready(sv->store) ? "up" : "down",
			store_ready(sv->store), NULL };
	if (sv->link != NULL && n < max)
		items[n++] = (struct http_health_item){ "smpp",
			smpp_link_bound(sv->link) ? "bound" : "unbound",
			smpp_link_bound(sv->link), "sms" };
	return n;
}

/*
 * What the SMPP bounds did (docs/security.md): one counter family, the
 * bound as its label.
 */
static void
serve_collect_smpp_bounds(struct serve *sv, const struct smpp_link_stats *ls)
{
	struct metric *m = sv->smpp_bounds;
	const struct {
		const char *what;
		uint64_t n;
	} c[] = {
		{ "groups_evicted", ls->mo_groups_evicted },
		{ "parts_dropped", ls->mo_parts_dropped },
		{ "texts_truncated", ls->mo_truncated },
		{ "output_paused", ls->out_pauses },
		{ "output_dropped", ls->out_drops },
		{ "binds_mismatched", ls->binds_mismatched },
		{ "bad_message_id", ls->mt_bad_message_id },
	};

	if (m == NULL)
		return; /* registration failed: logged then */
	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		metrics_set(metrics_series(m, c[i].what), (double)c[i].n);
}

/* What each messenger channel did: one counter family, event as label. */
static void
serve_collect_channels(struct serve *sv)
{
	for (size_t i = 0; i < sv->nchans && sv->chan_events != NULL; i++) {
		struct chan_stats cs;
		const char *n = sv->chan_names[i];

		channel_stats(sv->chans[i], &cs);
		const struct {
			const char *event;
			uint64_t v;
		} c[] = {
			{ "updates", cs.updates },
			{ "stored", cs.stored },
			{ "duplicates", cs.duplicates },
			{ "ignored", cs.ignored },
			{ "bad_update", cs.bad },
			{ "unauthorized", cs.unauthorized },
			{ "sent", cs.sent },
			{ "rejected", cs.rejected },
			{ "retried", cs.retried },
			{ "throttled", cs.throttled },
			{ "photos", cs.photos },
			{ "photos_stored", cs.photos_stored },
			{ "photos_failed", cs.photos_failed },
			{ "phones", cs.phones },
			{ "statuses", cs.statuses },
		};

		for (size_t k = 0; k < ARRAY_SIZE(c); k++)
			metrics_set(
			    metrics_series(sv->chan_events, n, c[k].event),
			    (double)c[k].v);
	}
}

/* Copy the modules' own counters into the registry when scraped. */
static void
serve_collect(void *arg)
{
	struct serve *sv = arg;
	struct store_stats st;

	store_stats(sv->store, &st);
	metrics_set(
	    metrics_series(sv->std.db_reconnects), (double)st.reconnects);
	metrics_set(metrics_series(sv->std.db_up), store_ready(sv->store));
	if (sv->link != NULL) {
		const struct smpp_link_stats *ls = smpp_link_stats(sv->link);

		metrics_set(metrics_series(sv->std.smpp_link_up, "trx"),
		    smpp_link_bound(sv->link));
		metrics_set(metrics_series(sv->std.smpp_throttled),
		    (double)ls->mt_throttled);
		serve_collect_smpp_bounds(sv, ls);
	}
	serve_collect_channels(sv);
	if (sv->outbox != NULL) {
		struct outbox_stats os;

		outbox_stats(sv->outbox, &os);
		metrics_set(
		    metrics_series(sv->std.outbox_depth), (double)os.inflight);
		metrics_set(
		    metrics_series(sv->std.outbox_retries), (double)os.retried);
		if (os.backlog >= 0)
			metrics_set(metrics_series(sv->std.outbox_backlog),
			    (double)os.backlog);
	}
}

/* A committed batch, into the store's histograms. */
static void
serve_on_commit(void *arg, size_t nmsgs, int64_t commit_us)
{
	struct serve *sv = arg;

	metrics_observe(metrics_series(sv->std.batch_size), (double)nmsgs);
	metrics_observe(
	    metrics_series(sv->std.commit_seconds), (double)commit_us / 1e6);
}

/* An SMS reply the SMSC accepted: how long since its message committed. */
static void
serve_on_sent(void *arg, int64_t latency_us)
{
	struct serve *sv = arg;

	metrics_observe(metrics_series(sv->std.reply_seconds),
	    latency_us > 0 ? (double)latency_us / 1e6 : 0);
}

/* ---- start ---------------------------------------------------------------- */

/*
 * Bind only once the store is ready: an SMSC starts delivering at once, and
 * every message before that would only earn a temporary error. After the
 * first bind the link keeps itself up, database or not.
 */
static void
serve_link_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;

	(void)fd;
	(void)what;
	if (!store_ready(sv->store) || sv->stopping)
		return;
	event_free(sv->link_wait);
	sv->link_wait = NULL;
	smpp_link_start(sv->link);
}

/* The store asks whether to lease a reply to our outbox (handoff). */
static int
serve_outbox_lease(void *arg, const char *channel)
{
	struct serve *sv = arg;

	return sv->outbox != NULL ? outbox_handoff_lease(sv->outbox, channel)
	                          : 0;
}

/* Committed replies leased to us: straight to the outbox's sender. */
static void
serve_on_replies(void *arg, const struct store_reply *r, size_t n)
{
	struct serve *sv = arg;
	struct outbox_row rows[64];

	while (sv->outbox != NULL && n > 0) {
		size_t k = n < 64 ? n : 64;

		for (size_t i = 0; i < k; i++)
			rows[i] = (struct outbox_row){ .id = r[i].id,
				.created = r[i].created,
				.created_us = r[i].created_us,
				.channel = r[i].channel,
				.sender = r[i].sender,
				.recipient = r[i].recipient,
				.text = r[i].text,
				.attempts = r[i].attempts,
				.dialog_open = r[i].dialog_open };
		outbox_handoff(sv->outbox, rows, k);
		r += k;
		n -= k;
	}
}

static int
serve_start_smpp(struct serve *sv, char *err, size_t errlen)
{
	/* keep_parts: the store keeps each part of a concatenated SMS */
	struct smpp_link_hooks hooks = { serve_link_submit, serve_link_receipt,
		serve_link_report, serve_link_bound, sv, true };
	struct outbox_opts oo = { .conninfo = sv->cfg.database.conninfo,
		.dns = sv->dns,
		.send = serve_outbox_send,
		.send_ctx = sv,
		.on_sent = serve_on_sent,
		.on_sent_arg = sv };
	struct smpp_link_tuning tuning;

	smpp_link_tuning_defaults(&tuning);
	tuning.stop_timeout_ms = SERVE_LINK_STOP_MS;
	tuning.dns = sv->dns;
	sv->outbox = outbox_new(sv->base, &oo);
	strlcpy_s(sv->outbox_owner, outbox_owner(sv->outbox),
	    sizeof(sv->outbox_owner));
	sv->link = smpp_link_new(
	    sv->base, &sv->cfg.smpp, &tuning, &hooks, err, errlen);
	if (sv->link == NULL)
		return -1;
	sv->link_wait =
	    event_new(sv->base, -1, EV_PERSIST, serve_link_wait_cb, sv);
	event_add(sv->link_wait, &(struct timeval){ 0, 50000 });
	return 0;
}

static int
serve_start_http(
    struct serve *sv, const struct intake *in, char *err, size_t errlen)
{
	struct http_intake_deps deps = { in, sv->metrics, serve_health, sv,
		&sv->cfg.intake };

	sv->http =
	    http_intake_new(sv->base, &sv->cfg.http, NULL, &deps, err, errlen);
	return sv->http != NULL ? 0 : -1;
}

/* ---- messenger channels -------------------------------------------------- */

/* The outbox hands a messenger's reply to its channel. */
static int
serve_chan_send(void *ctx, const struct outbox_reply *r)
{
	/* a reminder's row (src/remind) goes as the approved template */
	struct chan_reply cr = { r->cookie, r->to, r->text, r->len,
		r->dialog_open, strcmp(r->from, REMIND_SENDER) == 0 };

	return channel_send(ctx, &cr);
}

/* A channel's verdict on a reply, into the outbox. */
static void
serve_chan_result(void *arg, uint64_t cookie, enum chan_verdict v,
    const char *ext_id, int retry_after)
{
	static const enum outbox_verdict map[] = { [CHAN_SENT] = OUTBOX_SENT,
		[CHAN_REJECTED] = OUTBOX_REJECTED,
		[CHAN_RETRY] = OUTBOX_RETRY,
		[CHAN_UNSENT] = OUTBOX_UNSENT };
	struct serve *sv = arg;

	outbox_result(sv->outbox, cookie, map[v], ext_id, retry_after);
}

/* Viber's welcome on conversation_started: the help, for the window. */
static void
serve_viber_welcome(struct serve *sv)
{
	const struct config_window *w = &sv->cfg.window.all;
	char from[8], to[8], days[16];
	struct tpl_vars v = { { 0 } };

	snprintf(from, sizeof(from), "%u", w->from);
	snprintf(to, sizeof(to), "%u", w->to);
	snprintf(days, sizeof(days), "%u-%u", w->from, w->to);
	v.v[TPL_VAR_FROM] = from;
	v.v[TPL_VAR_TO] = to;
	v.v[TPL_VAR_DAYS] = days;
	tpl_render(sv->cfg.templates[TPL_HELP], &v, sv->cfg.viber.welcome,
	    sizeof(sv->cfg.viber.welcome));
}

/* A platform's delivered/read/failed report, as a receipt of the outbox. */
struct serve_status {
	void (*done)(void *, bool);
	void *arg;
};

static void
serve_status_done(const struct intake_result *r, void *arg)
{
	struct serve_status *st = arg;

	st->done(st->arg, r->status != INTAKE_TEMPFAIL);
	free(st);
}

static void
serve_chan_status(void *arg, const char *channel, const char *ext_id,
    const char *status, void (*done)(void *, bool), void *done_arg)
{
	struct serve *sv = arg;
	struct serve_status *st = xmalloc(sizeof(*st));

	(void)channel; /* ids are the platform's own; a row has one channel */
	st->done = done;
	st->arg = done_arg;
	outbox_status(sv->outbox, ext_id, status, serve_status_done, st);
}

static int
serve_start_channel(struct serve *sv, const struct intake *in,
    const struct chan_api *api, const struct config_messenger *mc, char *err,
    size_t errlen)
{
	struct chan_opts co = { .api = api,
		.api_ctx = (void *)mc,
		.secret = mc->secret,
		.send_rate = mc->send_rate,
		.rate_limit = sv->cfg.http.rate_limit,
		.rate_burst = sv->cfg.http.rate_burst,
		.intake = in,
		.webc = sv->webc,
		.result = serve_chan_result,
		.result_arg = sv,
		.status = serve_chan_status,
		.status_arg = sv,
		.conninfo = sv->cfg.database.conninfo,
		.photo_max = mc->photo_max,
		.dns = sv->dns };
	struct channel *ch = channel_new(sv->base, &co);

	if (ch == NULL) {
		snprintf(
		    err, errlen, "%s: cannot start the channel", api->name);
		return -1;
	}
	sv->chans[sv->nchans] = ch;
	sv->chan_names[sv->nchans++] = api->name;
	if (channel_route(ch, sv->http, mc->webhook_path, err, errlen) != 0 ||
	    outbox_channel_add(sv->outbox, api->name, serve_chan_send, ch) != 0)
		return -1;
	log_info("%s: webhook on %s, replies to %s", api->name,
	    mc->webhook_path, mc->api_base);
	return 0;
}

/* Telegram and MAX: their webhooks on [http], their replies by HTTPS. */
static int
serve_start_channels(
    struct serve *sv, const struct intake *in, char *err, size_t errlen)
{
	if (!sv->cfg.telegram.enabled && !sv->cfg.max.enabled &&
	    !sv->cfg.viber.enabled && !sv->cfg.whatsapp.enabled &&
	    !sv->cfg.vk.enabled)
		return 0;
	if (sv->http == NULL) {
		snprintf(err, errlen, "messenger channels need [http]");
		return -1;
	}
	if (sv->outbox == NULL) {
		struct outbox_opts oo = { .conninfo = sv->cfg.database.conninfo,
			.dns = sv->dns,
			.on_sent = serve_on_sent,
			.on_sent_arg = sv };

		sv->outbox = outbox_new(sv->base, &oo);
	}
	if ((sv->webc = webc_new(sv->base, NULL)) == NULL) {
		snprintf(err, errlen, "cannot set up libcurl");
		return -1;
	}
	if (sv->cfg.telegram.enabled &&
	    serve_start_channel(
	        sv, in, &telegram_api, &sv->cfg.telegram, err, errlen) != 0)
		return -1;
	if (sv->cfg.max.enabled &&
	    serve_start_channel(sv, in, &max_api, &sv->cfg.max, err, errlen) !=
	        0)
		return -1;
	serve_viber_welcome(sv);
	if (sv->cfg.viber.enabled &&
	    serve_start_channel(
	        sv, in, &viber_api, &sv->cfg.viber, err, errlen) != 0)
		return -1;
	if (sv->cfg.whatsapp.enabled &&
	    serve_start_channel(
	        sv, in, &whatsapp_api, &sv->cfg.whatsapp, err, errlen) != 0)
		return -1;
	if (sv->cfg.vk.enabled &&
	    serve_start_channel(sv, in, &vk_api, &sv->cfg.vk, err, errlen) != 0)
		return -1;
	return 0;
}

/* ---- reminders ----------------------------------------------------------- */

/* Reminders went into a channel's outbox: claim them soon. */
static void
serve_reminders_queued(void *arg, const char *channel)
{
	struct serve *sv = arg;

	if (sv->outbox != NULL)
		outbox_kick_channel(sv->outbox, channel);
}

/* [reminders]: queued and released on a timer of their own. */
static int
serve_start_reminders(struct serve *sv, char *err, size_t errlen)
{
	const struct config_reminders *r = &sv->cfg.reminders;
	struct remind_opts ro = { .cfg = &sv->cfg,
		.dns = sv->dns,
		.queued = serve_reminders_queued,
		.queued_arg = sv };
	char days[CONFIG_REMIND_DAYS_MAX * 3 + 1] = "";

	if (!sv->cfg.reminders.enabled)
		return 0;
	if (sv->outbox == NULL) {
		snprintf(
		    err, errlen, "reminders need a channel with an outbox");
		return -1;
	}
	sv->remind = remind_new(sv->base, &ro);
	for (unsigned i = 0; i < r->days.n; i++)
		snprintf(days + strlen(days), sizeof(days) - strlen(days),
		    "%s%u", i ? "," : "", r->days.day[i]);
	log_info("reminders: days %s of the month from %02d:%02d, channels "
	         "%s, %d/s each",
	    days, r->time / 60, r->time % 60, r->channels, r->rate);
	return 0;
}

/* ---- graceful stop -------------------------------------------------------- */

static void
serve_stop_tick(evutil_socket_t fd, short what, void *arg)
{
	struct serve *sv = arg;
	bool http_busy = sv->http != NULL && http_intake_inflight(sv->http) > 0;
	bool outbox_busy = sv->outbox != NULL && !outbox_idle(sv->outbox);
	/* messenger replies on the wire: their results are written back */
	bool webc_busy = sv->webc != NULL && webc_inflight(sv->webc) > 0;

	(void)fd;
	(void)what;
	if (sv->stopping == 2 && !http_busy && !outbox_busy && !webc_busy &&
	    store_pending(sv->store) == 0) {
		log_info("stopped cleanly");
		event_base_loopexit(sv->base, NULL);
		return;
	}
	if (++sv->stop_ticks > SERVE_STOP_DEADLINE_S * 10) {
		log_warn("stop deadline passed: %zu messages still pending",
		    store_pending(sv->store));
		event_base_loopexit(sv->base, NULL);
	}
}

static void
serve_link_stopped(void *arg)
{
	struct serve *sv = arg;

	/* Unsent parts came back as reports: write them back, then finish. */
	sv->stopping = 2;
	outbox_flush(sv->outbox, NULL, NULL);
}

static void
serve_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serve *sv = arg;
	struct timeval tick = { 0, 100000 };

	(void)what;
	if (sv->stopping) {
		log_warn("second signal: stopping now");
		event_base_loopexit(sv->base, NULL);
		return;
	}
	log_info("signal %d: stopping (finishing work in flight)", (int)sig);
	sv->stopping = 1;
	/* no new reminders into the outbox; a round in flight rolls back */
	remind_free(sv->remind);
	sv->remind = NULL;
	if (sv->http != NULL)
		http_intake_stop(sv->http);
	/* queued messenger replies go back to the table, due at once */
	for (size_t i = 0; i < sv->nchans; i++)
		channel_stop(sv->chans[i]);
	console_stop(sv->console);
	if (sv->link != NULL) {
		smpp_link_stop(sv->link, serve_link_stopped, sv);
	} else {
		sv->stopping = 2;
		if (sv->outbox != NULL)
			outbox_flush(sv->outbox, NULL, NULL);
	}
	sv->stop_timer =
	    event_new(sv->base, -1, EV_PERSIST, serve_stop_tick, sv);
	event_add(sv->stop_timer, &tick);
}

/* ---- start and run ------------------------------------------------------- */

/* evdns's own messages (a nameserver that stopped answering) in our log */
static void
serve_dns_log(int is_warning, const char *msg)
{
	if (is_warning)
		log_warn("dns: %s", msg);
	else
		log_debug("dns: %s", msg);
}

/*
 * The asynchronous resolver (evdns) for host names on the loop: [dns]
 * nameserver, or /etc/resolv.conf's (and /etc/hosts). Idle, it holds no
 * event, so the loop still ends when everything else has.
 */
static struct evdns_base *
serve_dns_new(struct event_base *base, const struct config_dns *d, char *err,
    size_t errlen)
{
	struct evdns_base *dns = evdns_base_new(base,
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE |
	        (d->nameserver[0] ? 0 : EVDNS_BASE_INITIALIZE_NAMESERVERS));
	char timeout[32], attempts[16];

	evdns_set_log_fn(serve_dns_log);
	if (dns == NULL) {
		snprintf(err, errlen, "dns: no resolver (/etc/resolv.conf)");
		return NULL;
	}
	snprintf(timeout, sizeof(timeout), "%d.%03d", d->timeout_ms / 1000,
	    d->timeout_ms % 1000);
	snprintf(attempts, sizeof(attempts), "%d", d->attempts);
	if ((d->nameserver[0] &&
	        evdns_base_nameserver_ip_add(dns, d->nameserver) != 0) ||
	    evdns_base_set_option(dns, "timeout:", timeout) != 0 ||
	    evdns_base_set_option(dns, "attempts:", attempts) != 0) {
		snprintf(err, errlen, "dns.nameserver: cannot use \"%s\"",
		    d->nameserver);
		evdns_base_free(dns, 0);
		return NULL;
	}
	if (d->nameserver[0])
		evdns_base_load_hosts(dns, NULL); /* as with resolv.conf */
	return dns;
}

static int
serve_start(struct serve *sv, char *err, size_t errlen)
{
	struct store_opts so = { .conninfo = sv->cfg.database.conninfo,
		.cfg = &sv->cfg,
		.connections = sv->cfg.store.connections,
		.on_commit = serve_on_commit,
		.on_commit_arg = sv,
		.parts_timeout_ms =
		    sv->cfg.smpp.enabled ? sv->cfg.smpp.concat_timeout_ms : 0,
		.outbox_lease = serve_outbox_lease,
		.on_replies = serve_on_replies,
		.outbox_arg = sv,
		.outbox_owner = sv->outbox_owner };
	struct intake in = { serve_submit, sv };

	sv->metrics = metrics_new();
	metrics_register_std(sv->metrics, &sv->std);
	sv->smpp_bounds = metrics_counter(sv->metrics,
	    "meterline_smpp_bounds_total",
	    "What the SMPP link's bounds did (docs/security.md)", "what", 0);
	sv->chan_events =
	    metrics_counter(sv->metrics, "meterline_channel_events_total",
	        "What each messenger channel did (docs/channels.md)",
	        "channel,event", 0);
	metrics_on_render(sv->metrics, serve_collect, sv);
	if ((sv->dns = serve_dns_new(sv->base, &sv->cfg.dns, err, errlen)) ==
	    NULL)
		return -1;
	so.dns = sv->dns;
	if ((sv->store = store_new(sv->base, &so, err, errlen)) == NULL)
		return -1;
	if (sv->cfg.smpp.enabled && serve_start_smpp(sv, err, errlen) != 0)
		return -1;
	if (sv->cfg.http.enabled && serve_start_http(sv, &in, err, errlen) != 0)
		return -1;
	if (serve_start_channels(sv, &in, err, errlen) != 0 ||
	    serve_start_reminders(sv, err, errlen) != 0)
		return -1;
	if (sv->cfg.console.enabled &&
	    (sv->console = console_new(sv->base, sv->dns, &sv->cfg.console,
	         sv->cfg.database.conninfo, sv->cfg.window.timezone, err,
	         errlen)) == NULL)
		return -1;
	sv->maintain = maintain_start(sv->base, &sv->cfg);
	if (sv->console != NULL) {
		console_set_intake(sv->console, &in);
		console_set_replay(sv->console, &sv->cfg);
	}
	sv->sig_term = evsignal_new(sv->base, SIGTERM, serve_signal, sv);
	sv->sig_int = evsignal_new(sv->base, SIGINT, serve_signal, sv);
	event_add(sv->sig_term, NULL);
	event_add(sv->sig_int, NULL);
	log_info("meterline serving: smpp %s, http %s, console %s",
	    sv->cfg.smpp.enabled ? sv->cfg.smpp.host : "off",
	    sv->cfg.http.enabled ? sv->cfg.http.listen : "off",
	    sv->cfg.console.enabled ? sv->cfg.console.listen : "off");
	return 0;
}

static void
serve_free(struct serve *sv)
{
	struct serve_call *c;

	/* Channels first, so nothing submits into a store being freed. A
	 * messenger channel stops first (nothing new to its HTTPS client),
	 * the client's cancelled requests report to the outbox, and the
	 * channel itself goes last: the store's last done callbacks answer
	 * its webhooks. */
	for (size_t i = 0; i < sv->nchans; i++)
		channel_stop(sv->chans[i]);
	maintain_free(sv->maintain);
	http_intake_free(sv->http);
	console_free(sv->console);
	remind_free(sv->remind);
	smpp_link_free(sv->link);
	webc_free(sv->webc);
	outbox_free(sv->outbox);
	store_free(sv->store);
	for (size_t i = 0; i < sv->nchans; i++)
		channel_free(sv->chans[i]);
	metrics_free(sv->metrics);
	while ((c = sv->free_calls) != NULL) {
		sv->free_calls = c->next;
		free(c);
	}
	if (sv->sig_term != NULL)
		event_free(sv->sig_term);
	if (sv->sig_int != NULL)
		event_free(sv->sig_int);
	if (sv->stop_timer != NULL)
		event_free(sv->stop_timer);
	if (sv->link_wait != NULL)
		event_free(sv->link_wait);
	/* Last: the link and the databases cancelled their lookups, and
	   evdns reports a cancel from the loop; one turn lets those reports
	   free what they hold, then the resolver goes. */
	if (sv->dns != NULL) {
		event_base_loop(sv->base, EVLOOP_NONBLOCK);
		evdns_base_free(sv->dns, 0);
	}
}

/*
 * The loop, with epoll's changelist: an event disabled and enabled again
 * before the loop next waits (evhttp turns a connection's reading off
 * while a request is answered and on again with the reply; libcurl moves
 * its sockets between reading and writing every transfer) costs one
 * epoll_ctl or none instead of one per change. Under the messenger
 * benchmark that was 4.4 epoll_ctl an update, 3.1 with it (strace -c).
 * libevent's one caveat, descriptors shared by dup(), does not apply:
 * nothing here dups a socket.
 */
static struct event_base *
serve_base_new(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *base;

	if (ec == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

/*
 * Whether evhttp will find the host of a listen address ("host:port",
 * "[v6]:port"; config_check has checked the form): a name is resolved
 * when serve starts, so a name that does not resolve fails there.
 */
static int
serve_check_listen(const char *key, const char *addr, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE,
		.ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char host[CONFIG_HOST_MAX + 1];
	const char *colon = strrchr(addr, ':');
	size_t n = colon != NULL ? (size_t)(colon - addr) : 0;
	int rc;

	if (addr[0] == '[' && n >= 2) {
		addr++;
		n -= 2;
	}
	if (addr[0] == '\0' || n >= sizeof(host))
		return 0;
	memcpy(host, addr, n);
	host[n] = '\0';
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) == 0) {
		freeaddrinfo(res);
		return 0;
	}
	snprintf(err, errlen, "http.%s: cannot resolve \"%s\": %s", key, host,
	    gai_strerror(rc));
	return -1;
}

int
serve_check(const struct config *cfg, char *err, size_t errlen)
{
	if (!cfg->smpp.enabled && !cfg->http.enabled && !cfg->console.enabled) {
		snprintf(err, errlen,
		    "none of [smpp], [http] and [console] is "
		    "configured: nothing to serve");
		return -1;
	}
	if (cfg->console.enabled &&
	    serve_check_listen(
	        "console listen", cfg->console.listen, err, errlen) != 0)
		return -1;
	if (cfg->http.enabled &&
	    (serve_check_listen("listen", cfg->http.listen, err, errlen) != 0 ||
	        (cfg->http.admin_listen[0] != '\0' &&
	            serve_check_listen("admin_listen", cfg->http.admin_listen,
	                err, errlen) != 0)))
		return -1;
	return 0;
}

int
serve_run(const struct config *cfg, char *err, size_t errlen)
{
	struct serve *sv;
	int rc;

	if (serve_check(cfg, err, errlen) != 0)
		return -1;
	log_set_level(cfg->log.level);
	/* libevent writes with writev: a closed peer must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* before any connection: each reads it at db_new (db.h) */
	db_pooler_set(cfg->database.pooler == CONFIG_POOLER_TRANSACTION
	        ? DB_POOLER_TRANSACTION
	        : DB_POOLER_NONE);
	sv = xcalloc(1, sizeof(*sv));
	sv->cfg = *cfg;
	/* WhatsApp reminders go as [reminders] whatsapp_template */
	if (cfg->reminders.whatsapp_template[0] != '\0')
		strlcpy_s(sv->cfg.whatsapp.template_name,
		    cfg->reminders.whatsapp_template,
		    sizeof(sv->cfg.whatsapp.template_name));
	sv->base = serve_base_new();
	if (sv->base == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		free(sv);
		return -1;
	}
	rc = serve_start(sv, err, errlen);
	if (rc == 0)
		event_base_dispatch(sv->base);
	serve_free(sv);
	event_base_free(sv->base);
	free(sv);
	return rc;
}
