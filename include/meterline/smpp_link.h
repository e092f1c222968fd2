/*
 * The SMPP 3.4 ESME client: one transceiver bind (or a receiver +
 * transmitter pair) to the operator's SMSC on the caller's libevent loop.
 *
 *  - Link life: connect, bind, enquire_link when idle, answer enquire_link
 *    and unbind; a refused bind, a drop or a missing response reconnects
 *    with exponential backoff and jitter; a graceful stop unbinds.
 *  - MO: deliver_sm/data_sm are decoded, concatenated parts reassembled,
 *    delivery receipts routed to their own hook, and each message handed
 *    to hooks.submit (the store). The deliver_sm_resp is only sent from
 *    the done callback: ESME_ROK for APPLIED/DUPLICATE, the configured
 *    temporary status for TEMPFAIL. A done arriving after the link was
 *    dropped writes nothing (the SMSC redelivers; the store dedupes).
 *  - MT: smpp_link_send encodes a reply (GSM-7 or UCS-2, concatenated
 *    when long) and sends its parts as submit_sm within a window; throttling
 *    pauses the link, temporary errors are retried with backoff; each
 *    part's outcome and SMSC message id go to hooks.mt_report.
 *
 * Single-threaded: every call and callback runs on the loop's thread.
 */
#ifndef METERLINE_SMPP_LINK_H
#define METERLINE_SMPP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meterline/config.h"
#include "meterline/intake.h"

struct event_base;
struct evdns_base;
struct smpp_link;

/*
 * The link runs on struct config_smpp (config.h) as loaded: the [smpp] keys,
 * their defaults and bounds have one home, the key table of
 * src/core/config.c. What follows are the settings that are not config
 * keys: a name for the logs, and limits and timers with built-in values
 * that operators have never needed to change but tests shorten.
 * smpp_link_tuning_defaults() is the only home of those values.
 */
struct smpp_link_tuning {
	/* for logs, e.g. "smsc" */
	const char *name;
	/* first reconnect backoff, 1000; config's reconnect_max_ms caps it */
	int reconnect_min_ms;
	/* (ack_lost and concat_timeout are [smpp] keys: config_smpp) */
	/* messages being reassembled, 4096, and their octets, 4 MiB: checked
	   before every part is stored */
	unsigned concat_max_groups;
	size_t concat_max_bytes;
	/*
	 * output buffer of a session: above out_high_bytes (64 KiB) no new
	 * PDU is read until it drains below half of it; a session above it
	 * for longer than response_timeout, or above out_max_bytes (1 MiB)
	 * at a tick, is dropped
	 */
	size_t out_high_bytes, out_max_bytes;
	/* parts queued for sending, 100000 */
	unsigned mt_queue_max;
	/* per part: temporary errors 5, ESME_RTHROTTLED/RMSGQFUL 50 */
	unsigned mt_max_attempts;
	unsigned mt_max_throttled;
	/* first retry delay 1000, first pause on throttling 1000 */
	int mt_retry_ms;
	int throttle_pause_ms;
	/* reply destination (the customer), 1/1 */
	uint8_t mt_dst_ton, mt_dst_npi;
	/* graceful stop: the bounded wait, 10000 */
	int stop_timeout_ms;
	/*
	 * Replies ahead of the SMSC: while the reply parts queued reach
	 * mo_park_backlog (256; 0: never), new MO wait in the link, in
	 * order, unanswered, for at most mo_park_max_ms (5000) each, so
	 * the SMSC's window paces its flood to the rate it takes replies
	 * (docs/smpp.md, "Pacing")
	 */
	unsigned mo_park_backlog;
	int mo_park_max_ms;
	/* the resolver of a host name (borrowed; outlives the link): the
	   name is looked up at every connect, without blocking the loop.
	   NULL, the default: the host must be a numeric address */
	struct evdns_base *dns;
};

void smpp_link_tuning_defaults(struct smpp_link_tuning *);

/* A delivery receipt (esm_class says receipt or acknowledgement). */
struct smpp_receipt {
	const char *src, *dst; /* as in the deliver_sm */
	const char *message_id; /* receipted_message_id, else "id:" of the
					   text; "" when neither */
	bool has_state;
	uint8_t state; /* message_state TLV (2 = DELIVERED...) */
	const char *stat; /* "stat:" of the text ("DELIVRD"), or "" */
	const char *err; /* "err:" of the text, or "" */
	uint8_t esm_class;
};

enum smpp_mt_state {
	SMPP_MT_ACCEPTED, /* submit_sm_resp ESME_ROK: message_id set, or ""
				     with id_lost */
	SMPP_MT_REJECTED, /* permanent error status */
	SMPP_MT_GAVE_UP, /* temporary errors past the attempt limits */
	SMPP_MT_UNSENT, /* the link stopped before it could be sent */
};

/* The outcome of one part of a reply. */
struct smpp_mt_report {
	uint64_t cookie; /* from struct smpp_mt */
	unsigned part, nparts; /* 1-based */
	enum smpp_mt_state state;
	uint32_t status; /* last command_status (0 if none) */
	const char *message_id; /* SMSC id, "" unless ACCEPTED */
	bool last; /* every part of this reply is settled */
	/*
	 * ACCEPTED, but the SMSC's message_id was missing, empty, longer
	 * than 64 characters or unterminated: message_id is "" and no
	 * receipt can be matched to this part (counted in mt_bad_message_id)
	 */
	bool id_lost;
};

/*
 * The store side. submit: take one inbound message and call done exactly
 * once (even synchronously, from inside submit); msg stays valid until
 * done. receipt: the same for a delivery receipt (NULL: acknowledged at
 * once). mt_report: one call per part of each smpp_link_send. All
 * optional but submit.
 */
struct smpp_link_hooks {
	void (*submit)(void *ctx, const struct inbound_msg *msg,
	    intake_done_cb done, void *done_arg);
	void (*receipt)(void *ctx, const struct smpp_receipt *r,
	    intake_done_cb done, void *done_arg);
	void (*mt_report)(void *ctx, const struct smpp_mt_report *r);
	void (*bound)(void *ctx, bool bound); /* link up or down */
	void *ctx;
	/*
	 * submit keeps parts (INTAKE_F_PART, the store): every part of a
	 * concatenated message is submitted and answered once kept, and the
	 * whole message is submitted (INTAKE_F_WHOLE) when the link holds
	 * every part. false: parts are answered when the whole message is.
	 */
	bool keep_parts;
};

/* A reply to send. */
struct smpp_mt {
	const char *from; /* source_addr: the number the customer wrote to */
	const char *to; /* destination_addr: the customer */
	const char *text; /* UTF-8 */
	size_t len;
	uint64_t cookie; /* the caller's id (outbox row), echoed back */
};

struct smpp_link_stats {
	uint64_t connects, binds_ok, binds_refused, drops;
	uint64_t pdus_in, pdus_out;
	uint64_t mo_parts, mo_messages, mo_ok, mo_tempfail, mo_dropped_acks;
	uint64_t mo_partial; /* reassembled after a timeout */
	uint64_t mo_duplicate_parts;
	uint64_t receipts;
	uint64_t enquire_sent, enquire_answered, generic_nacks_sent;
	uint64_t mt_parts_sent, mt_ok, mt_rejected, mt_gave_up, mt_unsent;
	uint64_t mt_throttled, mt_retries, mt_timeouts;
	/* What the bounds did (docs/security.md, section SMPP). */
	uint64_t mo_groups_evicted; /* reassembly handed back early (memory) */
	uint64_t mo_parts_dropped; /* parts past the message's octet bound */
	uint64_t mo_truncated; /* texts cut to max_message_length */
	uint64_t out_pauses; /* reading paused: output above out_high_bytes */
	uint64_t out_drops; /* links dropped: output stuck or over out_max */
	uint64_t out_peak_bytes; /* largest output buffer seen */
	uint64_t binds_mismatched; /* bind answered by another *_resp */
	uint64_t mt_bad_message_id; /* submit_sm_resp OK without a usable id */
	uint64_t mo_parked; /* MO held back while replies were behind */
	uint64_t mo_park_timeouts; /* released by mo_park_max_ms, not pace */
};

/*
 * Create a link (not connected yet). cfg and tuning are copied; tuning NULL
 * means smpp_link_tuning_defaults(). cfg is trusted as config_load left it
 * (bounds checked there); NULL with a reason when host is not a numeric
 * address (nor a name with tuning->dns set), the TLS trust anchors do not
 * load, or tuning is out of range.
 */
struct smpp_link *smpp_link_new(struct event_base *,
    const struct config_smpp *cfg, const struct smpp_link_tuning *tuning,
    const struct smpp_link_hooks *, char *err, size_t errlen);
/* Connect and bind; reconnects by itself from then on. */
void smpp_link_start(struct smpp_link *);

/*
 * Queue a reply. Returns 0 (its parts will be reported through
 * hooks.mt_report), or -1 with a reason: text not encodable, queue full,
 * link stopping.
 */
int smpp_link_send(
    struct smpp_link *, const struct smpp_mt *, char *err, size_t errlen);

/*
 * Graceful stop: answer new deliver_sm with the temporary status, wait
 * (at most the tuning's stop_timeout_ms) for the store's pending answers and for the
 * queued replies to go out, unbind, close. stopped(arg) runs once, from
 * the loop, when everything is closed; queued replies never sent are
 * reported as SMPP_MT_UNSENT.
 */
void smpp_link_stop(struct smpp_link *, void (*stopped)(void *arg), void *arg);

/* 1 when a session that can send submit_sm is bound. */
bool smpp_link_bound(const struct smpp_link *);
const struct smpp_link_stats *smpp_link_stats(const struct smpp_link *);

/*
 * Free the link, closing any connection at once. A store callback still
 * pending afterwards is safe: it finds the link gone and does nothing.
 * NULL-safe.
 */
void smpp_link_free(struct smpp_link *);

#endif
