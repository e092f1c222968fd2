/*
 * Private to smpp_link*.c: the link's structures, shared by the session
 * code (smpp_link.c), the MO path (smpp_link_mo.c) and the MT path
 * (smpp_link_mt.c). Nothing else includes this.
 */
#ifndef METERLINE_SMPP_LINK_INT_H
#define METERLINE_SMPP_LINK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_link.h"
#include "meterline/text.h"

struct bufferevent;
struct event;
struct smpp_reasm;

/*
 * Answers written on a connection, by time slot: for each of the last
 * MO_ACK_SLOTS slots (ack_lost_ms / (MO_ACK_SLOTS - 2) wide) the earliest
 * receive time of a message answered ESME_ROK in it. When the connection
 * closes, the slots of the last ack_lost_ms say from which message on the
 * answers may not have reached the SMSC.
 */
#define MO_ACK_SLOTS 18
/* Closed connections whose facts the link keeps (intake_acks). */
#define MO_CLOSED_MAX 64

enum sess_state {
	SS_IDLE,
	SS_CONNECTING,
	SS_BINDING,
	SS_BOUND,
	SS_UNBINDING,
	SS_CLOSED
};

struct mt_part;

/* A request we sent, waiting for its response. */
struct req {
	uint32_t seq, cmd;
	int64_t deadline; /* monotonic microseconds */
	struct mt_part *part; /* submit_sm only */
};

/* One connection: the transceiver, or the receiver or transmitter. */
struct sess {
	struct smpp_link *l;
	unsigned idx;
	uint32_t bind_cmd;
	bool rx, tx; /* takes deliver_sm / sends submit_sm */
	enum sess_state st;
	struct bufferevent *bev;
	uint32_t gen; /* bumped at every close */
	uint64_t conn; /* intake_acks connection id, 0 before the first */
	int64_t ack_slot[MO_ACK_SLOTS]; /* slot number, -1: empty */
	int64_t ack_min_us[MO_ACK_SLOTS]; /* earliest message time in it */
	uint32_t seq; /* last sequence number used */
	struct event *reconnect_ev;
	unsigned attempt; /* failed attempts since the last bind */
	int64_t last_rx;
	struct req *reqs;
	size_t nreqs, capreqs;
	unsigned mt_inflight;
	bool out_paused; /* output above out_high_bytes: not reading */
	int64_t out_paused_since;
	unsigned out_pause_n; /* pauses on this connection */
	char last_fail[160];
	unsigned fail_repeat;
	/* The PDU being handled: decoded into it, read by the callbacks. */
	struct smpp_pdu rx_pdu;
};

/* A reply being sent; freed when its last part is settled. */
struct mt_msg {
	uint64_t cookie;
	unsigned nparts, nsettled;
};

/* One submit_sm to send. */
struct mt_part {
	struct mt_part *next;
	struct mt_msg *msg;
	unsigned idx; /* 1-based */
	struct smpp_addr src, dst;
	uint8_t dcs;
	bool multi;
	struct text_part data;
	unsigned attempts, throttled;
	int64_t not_before;
	uint32_t last_status;
};

/* An MO message or receipt at the store, waiting for its done callback. */
struct pending {
	struct pending *prev, *next;
	struct smpp_link *l; /* NULL once the link is freed */
	uint64_t *tokens; /* PDUs to answer */
	size_t ntokens;
	char *text;
	char src[66], dst[66];
	struct inbound_msg msg;
	struct intake_acks acks;
	struct intake_part part; /* INTAKE_F_PART/WHOLE; data not kept */
	struct pending *park_next; /* parked: not at the store yet */
	int64_t parked_at; /* clock_mono_us */
};

struct smpp_link {
	struct event_base *base;
	struct config_smpp cfg; /* the [smpp] keys, as loaded */
	struct smpp_link_tuning tune; /* name points to the owned copy */
	char *name;
	struct ssl_ctx_st *tls_ctx; /* SSL_CTX, NULL without TLS */
	struct smpp_link_hooks hooks;
	struct sockaddr_storage addr;
	int addrlen;
	bool by_name; /* cfg.host is a name: resolved with tune.dns */
	struct sess sess[2];
	unsigned nsess;
	bool was_bound;
	struct event *tick;
	uint64_t rng;
	/* MO */
	struct smpp_reasm *reasm;
	struct pending *pend; /* at the store, or parked on the way */
	unsigned inflight_mo;
	struct intake_window window; /* the peer's, by inflight_mo */
	struct pending *park_head, *park_tail; /* MO held back (pacing) */
	unsigned nparked;
	/* acknowledgement facts for the store (intake_acks) */
	uint32_t instance; /* random, never 0 */
	uint32_t nconns; /* connections numbered so far */
	struct intake_conn_closed closed[MO_CLOSED_MAX];
	size_t nclosed;
	uint32_t known_from;
	/* MT */
	struct mt_part *q_head, *q_tail; /* ready to send, in order */
	struct mt_part *retry; /* waiting for not_before */
	unsigned mt_queued; /* parts not settled yet */
	int64_t pause_until; /* throttled until */
	int throttle_ms; /* current pause, 0 if none */
	uint8_t mt_ref;
	struct text_sms *enc;
	/* stop */
	bool stopping, stop_fired;
	int64_t stop_deadline;
	void (*stopped)(void *);
	void *stopped_arg;
	struct event *stopped_ev;
	struct smpp_link_stats st;
};

void link_log(const struct smpp_link *, enum log_level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct sess *link_tx_sess(struct smpp_link *);
void link_stop_progress(struct smpp_link *);

uint32_t sess_next_seq(struct sess *);
int sess_write(struct sess *, const uint8_t *, size_t);
void sess_write_req(struct sess *, uint32_t seq, uint32_t cmd, const uint8_t *,
    size_t, struct mt_part *);

/* smpp_link_mo.c */
size_t mo_group_max(const struct config_smpp *);
void mo_on_pdu(struct sess *, const struct smpp_pdu *);
void mo_answer_now(struct sess *, uint32_t id, uint32_t seq, uint32_t status);
void mo_expire(struct smpp_link *, int64_t now);
void mo_flush_held(struct smpp_link *);
void mo_unpark(struct smpp_link *, int64_t now);
void mo_detach_all(struct smpp_link *);
void mo_conn_open(struct sess *);
void mo_conn_closed(struct sess *);

/* smpp_link_mt.c */
void mt_pump(struct smpp_link *);
/* id_lost: ESME_ROK without a usable message_id (reported as such). */
void mt_on_resp(struct sess *, const struct req *, uint32_t status,
    const char *message_id, bool id_lost);
void mt_requeue(struct smpp_link *, struct mt_part *, uint32_t status);
void mt_drop_all(struct smpp_link *, enum smpp_mt_state);
void mt_free_all(struct smpp_link *);

#endif
