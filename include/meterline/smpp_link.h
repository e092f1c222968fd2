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

#include "meterline/intake.h"

struct event_base;
struct smpp_link;

enum smpp_bind_mode {
	SMPP_BIND_TRX, /* one bind_transceiver */
	SMPP_BIND_RX_TX, /* bind_receiver + bind_transmitter */
};

/*
 * Link settings. smpp_link_cfg_defaults() fills every field; the strings
 * are copied by smpp_link_new. Times are milliseconds.
 */
struct smpp_link_cfg {
	const char *name; /* for logs, e.g. "smsc1" */
	const char *host; /* numeric address: no DNS in the loop */
	uint16_t port; /* 2775 */
	const char *system_id; /* <= 15 characters */
	const char *password; /* <= 8 characters, never logged */
	const char *system_type; /* <= 12 characters, "" */
	const char *address_range; /* <= 40 characters, "" */
	uint8_t addr_ton, addr_npi; /* bind's address_range TON/NPI */
	enum smpp_bind_mode bind_mode; /* SMPP_BIND_TRX */
	unsigned window; /* outstanding submit_sm, 10 */
	int enquire_link_ms; /* idle time before enquire_link, 30000 */
	int response_timeout_ms; /* any request's response, 10000 */
	int reconnect_min_ms; /* first backoff, 1000 */
	int reconnect_max_ms; /* backoff cap, 60000 */
	uint32_t temporary_error_status; /* deliver_sm_resp on TEMPFAIL, 0x64 */
	int concat_timeout_ms; /* wait for missing parts, 60000 */
	unsigned concat_max_groups; /* messages being reassembled, 4096 */
	size_t concat_max_bytes; /* their octets, 4 MiB */
	unsigned mt_queue_max; /* parts queued for sending, 100000 */
	unsigned mt_max_attempts; /* per part, temporary errors, 5 */
	unsigned mt_max_throttled; /* per part, ESME_RTHROTTLED/RMSGQFUL, 50 */
	int mt_retry_ms; /* first retry delay, 1000 */
	int throttle_pause_ms; /* first pause on throttling, 1000 */
	uint8_t mt_src_ton, mt_src_npi; /* reply source (short number), 0/1 */
	uint8_t mt_dst_ton, mt_dst_npi; /* reply destination, 1/1 */
	int registered_delivery; /* ask for delivery receipts, 1 */
	int stop_timeout_ms; /* graceful stop: the bounded wait, 10000 */
	int tls; /* TLS to the SMSC, 0 */
	const char *tls_ca_file; /* PEM trust anchors; "" = the system store */
	const char *tls_server_name; /* name or IP the certificate must carry;
					   "" = host */
	int tls_verify; /* check the certificate and the name, 1 */
};

void smpp_link_cfg_defaults(struct smpp_link_cfg *);

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
	SMPP_MT_ACCEPTED, /* submit_sm_resp ESME_ROK: message_id set */
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
};

/* Create a link (not connected yet). NULL with a reason on a bad config. */
struct smpp_link *
smpp_link_new(struct event_base *, const struct smpp_link_cfg *,
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
 * (at most stop_timeout_ms) for the store's pending answers and for the
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
