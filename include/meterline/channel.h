/*
 * The messenger channel framework: what every bot platform shares, so a
 * new messenger is one folder with one struct chan_api.
 *
 *   platform --webhook--> http route --> channel: secret (constant time),
 *     the adapter's parse --> struct inbound_msg --> intake (the store);
 *     200 after COMMIT, 503 when nothing was stored (the platform retries),
 *     401 on a wrong secret, 400 on a bad update, 429 over the rate.
 *   outbox --channel_send--> queue --rate limit--> the adapter's request
 *     --> webc (HTTPS) --> the adapter's verdict --> result callback
 *     (sent, rejected, retry with the platform's retry_after).
 *
 * The platform's own id of an update is the message's external id, so a
 * retried webhook is answered 200 and never applied twice (the store's
 * (channel, external_id) dedupe). docs/channels.md.
 */
#ifndef METERLINE_CHANNEL_H
#define METERLINE_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meterline/http_intake.h"
#include "meterline/intake.h"
#include "meterline/webc.h"

struct event_base;
struct evdns_base;

/* What an adapter made of one webhook body. */
enum chan_kind {
	CHAN_IN_MESSAGE, /* msg is filled: store it */
	CHAN_IN_IGNORE, /* nothing for us (another update type): 200 */
	/* the platform's report on one of our replies: external_id is the
	   reply's id (as the verdict gave it), status its state */
	CHAN_IN_STATUS,
};

/* A parsed update; its strings belong to the adapter's storage here. */
struct chan_update {
	enum chan_kind kind;
	struct inbound_msg msg;
	char sender[64], recipient[64], external_id[64];
	char *text; /* owned (malloc) */
	/* a photo's platform reference (file_id, URL), "" when none */
	char photo[512];
	/* a shared contact's phone, when the contact is the sender's own */
	char phone[40];
	/* CHAN_IN_STATUS: "DELIVRD", "READ" or "UNDELIV" (outbox dlr_state) */
	char status[16];
	/* the 200's body instead of {"ok":true} (VK's "ok", Viber's
	   welcome): owned (malloc), NULL for none; answer_type NULL: JSON */
	char *answer;
	const char *answer_type;
};

/* One reply to send, from the outbox (strings borrowed for the call). */
struct chan_reply {
	uint64_t cookie;
	const char *to; /* the chat or user id */
	const char *text;
	size_t len;
	/* the dialog is open: offer CHAN_CANCEL_TEXT as a button */
	bool dialog_open;
	/* a reminder (src/remind): a platform that allows only approved
	   templates outside its window (WhatsApp) sends its template */
	bool as_template;
};

/* The button a bot offers while a dialog is open (the grammar's cancel). */
#define CHAN_CANCEL_TEXT "Отмена"

/* The HTTP request an adapter builds for a reply. */
struct chan_req {
	char url[1024];
	const char *headers[4]; /* NULL-terminated, pointing into hdr */
	char hdr[3][320];
	char *body; /* owned (malloc) */
	size_t len;
};

enum chan_verdict {
	CHAN_SENT,
	CHAN_REJECTED, /* permanent: the row fails */
	CHAN_RETRY, /* temporary: backoff, or retry_after */
	CHAN_UNSENT, /* never sent (stopping) */
};

/* One platform. Every function is called on the loop. */
struct chan_api {
	const char *name; /* channel name in the store: "telegram" */
	const char *secret_header; /* "X-Telegram-Bot-Api-Secret-Token" */
	/*
	 * When set, replaces the secret header: whether the request is the
	 * platform's (a signature over the raw body, a secret inside it),
	 * compared in constant time. false: 401, nothing stored.
	 */
	bool (*auth)(void *ctx, const struct http_exchange *x, const char *body,
	    size_t len);
	/* When set, GET on the webhook path is a verification handshake
	   that this answers (WhatsApp); else GET is 405. */
	void (*handshake)(void *ctx, struct http_exchange *x);
	/* body -> u; 0, or -1 with why (answered 400) */
	int (*parse)(void *ctx, const char *body, size_t len,
	    struct chan_update *u, char *why, size_t whylen);
	/*
	 * When set, replaces parse: a body that may carry several updates
	 * (WhatsApp batches messages and statuses of several entries in one
	 * notification). each(arg, u, NULL) once per update (u stays the
	 * adapter's; the callee copies), each(arg, NULL, why) for an update
	 * that is refused (the others are still taken). 0, or -1 with why
	 * when the body as a whole is bad (answered 400). The webhook is
	 * answered 200 once every update is stored, else 503 (or 429).
	 */
	int (*parse_each)(void *ctx, const char *body, size_t len,
	    void (*each)(void *arg, struct chan_update *u, const char *why),
	    void *arg, char *why, size_t whylen);
	/* the request that sends r; 0 or -1 (the reply fails) */
	int (*build)(void *ctx, const struct chan_reply *r, struct chan_req *q);
	/* the platform's answer: verdict, its message id, its retry_after */
	enum chan_verdict (*verdict)(void *ctx, const struct webc_resp *,
	    char *ext_id, size_t idlen, int *retry_after);
	/*
	 * Photos: the URL of step `step` (0 first, photo_steps in all) of
	 * fetching ref, given the previous step's answer (NULL at step 0);
	 * the last step's answer is the file. 0, or -1 (the photo fails).
	 */
	int photo_steps;
	int (*photo_url)(void *ctx, const char *ref, int step,
	    const struct webc_resp *prev, char *url, size_t len);
	/* When set, a header line every photo step carries (WhatsApp's
	   media needs the Bearer token); 0, or -1 (the photo fails). */
	int (*photo_header)(void *ctx, char *line, size_t len);
};

/*
 * photo_url for a platform whose update carries the file's own http(s)
 * URL (MAX, Viber, VK): one step, ref itself.
 */
int chan_photo_url_direct(void *ctx, const char *ref, int step,
    const struct webc_resp *prev, char *url, size_t len);

/* The outcome of one reply (channel_send). */
typedef void (*chan_result_cb)(void *arg, uint64_t cookie, enum chan_verdict,
    const char *ext_id, int retry_after);

/* A platform's report on a reply (CHAN_IN_STATUS): record it, then call
   done(done_arg, ok) once; not ok: the webhook is answered 503. */
typedef void (*chan_status_cb)(void *arg, const char *channel,
    const char *ext_id, const char *status, void (*done)(void *, bool),
    void *done_arg);

struct chan_opts {
	const struct chan_api *api; /* borrowed */
	void *api_ctx;
	const char *secret; /* the webhook secret (copied); "" refuses all */
	int send_rate; /* replies per second, > 0 */
	int max_inflight; /* 0: 64 requests at once */
	int send_timeout_ms; /* 0: 10,000 */
	int rate_limit, rate_burst; /* inbound per sender per minute; 0 off */
	const struct intake *intake; /* copied; ctx borrowed */
	struct webc *webc; /* borrowed */
	chan_result_cb result;
	void *result_arg;
	chan_status_cb status; /* NULL: reports are counted and ignored */
	void *status_arg;
	/*
	 * Where photos and shared phones go (schema 0005): libpq conninfo,
	 * or NULL to keep neither. photo_max: bytes (0: 10 MiB).
	 */
	const char *conninfo;
	size_t photo_max;
	/* resolves conninfo's host names (db_opts.dns); NULL: libpq does */
	struct evdns_base *dns;
};

struct channel;

struct channel *channel_new(struct event_base *, const struct chan_opts *);
/* Replies still queued get CHAN_UNSENT from here. NULL-safe. */
void channel_free(struct channel *);

/* Serve the webhook on path of the [http] listener. */
int channel_route(struct channel *, struct http_intake *, const char *path,
    char *err, size_t errlen);

/* Take one reply: 0 (the result callback follows, once), -1 refused. */
int channel_send(struct channel *, const struct chan_reply *);

/* Stop sending: queued replies get CHAN_UNSENT now. */
void channel_stop(struct channel *);

struct chan_stats {
	uint64_t updates, stored, duplicates, ignored, bad, unauthorized;
	uint64_t sent, rejected, retried, throttled; /* throttled: 429s */
	uint64_t photos, photos_stored, photos_failed, phones;
	uint64_t statuses; /* delivered/read/failed reports taken */
	size_t queued, inflight;
};
void channel_stats(const struct channel *, struct chan_stats *);

/*
 * For adapters: set u's text (a copy, cut to CHAN_TEXT_MAX bytes at a
 * character boundary), and point u->msg at u's fields with channel and
 * time. The text is "?" (the help) when NULL.
 */
#define CHAN_TEXT_MAX 4096
void chan_update_fill(struct chan_update *u, const char *channel,
    const char *text, int64_t time_us);

/*
 * A platform's timestamp (v units of unit_us microseconds) in Unix
 * microseconds; 0 (no time, as when absent) when it does not fit.
 */
int64_t chan_time_us(long long v, int64_t unit_us);

/* Equal strings, in time that depends on the lengths only. */
bool chan_secret_equal(const char *a, const char *b);

#endif
