/*
 * Private to smsc_sim*.c: the simulator's structures, shared by the
 * connection code (smsc_sim.c) and the MO delivery (smsc_sim_mo.c).
 */
#ifndef METERLINE_SMSC_SIM_INT_H
#define METERLINE_SMSC_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "meterline/hash.h"
#include "meterline/smpp_codec.h"
#include "meterline/smsc_sim.h"
#include "meterline/text.h"

struct bufferevent;
struct event;
struct evconnlistener;
struct smpp_reasm;
struct smpp_sm;

/* One ESME connection. */
struct sconn {
	struct sconn *next;
	struct smsc_sim *sim;
	struct bufferevent *bev;
	bool bound, enquire_out, unbind_close;
	uint32_t bind_cmd, seq;
	int64_t last_rx, last_enquire;
	/* The PDU being handled: decoded into it, read by the dispatch. */
	struct smpp_pdu rx_pdu;
};

enum mo_part_state { MP_WAITING, MP_QUEUED, MP_SENT, MP_ACKED };

struct mo_item;

/* One deliver_sm of an MO message. */
struct mo_part {
	struct mo_part *qnext; /* send queue or retry list */
	struct mo_item *item;
	struct sconn *conn;
	uint32_t seq;
	enum mo_part_state state;
	int64_t retry_at;
	uint8_t len;
	uint8_t data[TEXT_PART_BYTES];
};

/* One MO message to deliver. */
struct mo_item {
	size_t idx; /* in smsc_sim.items: the order sent */
	struct mo_item *prev; /* the sender's message before, if any */
	char sender[22], recipient[22];
	char *text;
	uint8_t dcs;
	unsigned nparts, nacked;
	bool replied, timed_out, sent, finished;
	int64_t t_first;
	struct mo_part *parts;
};

struct smsc_sim {
	struct event_base *base;
	struct smsc_sim_cfg cfg;
	char *sysid, *pw;
	struct ssl_ctx_st *tls_ctx; /* SSL_CTX when serving TLS */
	struct evconnlistener *lst;
	uint16_t port;
	struct sconn *conns;
	struct event *tick;
	unsigned binds_seen, drops_done, pdus_since_drop;
	uint32_t msgid;
	void (*observer)(void *, const struct smpp_pdu *);
	void *observer_arg;
	/* MO */
	struct mo_item **items;
	size_t nitems, capitems, next_item;
	struct mo_part *q_head, *q_tail, *retry;
	/* Parts sent and not answered: hash_u64(seq) -> struct mo_part *. */
	struct htab by_seq;
	/* Messages awaiting a reply: sim_sender_key() -> struct mo_item *. */
	struct htab waiting;
	/* The text being encoded (41 KB, so not on the stack). */
	struct text_sms enc;
	unsigned inflight, queued;
	uint8_t mo_ref;
	bool running, done_fired;
	enum smsc_sim_mode mode;
	void (*done)(void *);
	void *done_arg;
	int64_t run_start, step_deadline;
	/* replies */
	struct smpp_reasm *reasm;
	struct smsc_sim_reply *replies;
	size_t nreplies, capreplies;
	struct smsc_sim_stats st;
};

int sconn_write(struct sconn *, const uint8_t *, size_t);
uint32_t sconn_next_seq(struct sconn *);
struct sconn *sim_rx_conn(struct smsc_sim *);

/* smsc_sim_mo.c */
void sim_mo_pump(struct smsc_sim *);
void sim_mo_on_resp(
    struct smsc_sim *, struct sconn *, uint32_t seq, uint32_t status);
void sim_mo_conn_lost(struct smsc_sim *, struct sconn *);
void sim_mo_tick(struct smsc_sim *, int64_t now);
void sim_reply_part(struct smsc_sim *, const struct smpp_sm *);
void sim_mo_free(struct smsc_sim *);

#endif
