/*
 * An SMSC simulator on a libevent loop, sharing the codec and the framing
 * with the ESME link: listens on 127.0.0.1, checks bind credentials, sends
 * enquire_link, answers submit_sm (message ids, optional delivery
 * receipts), and delivers MO messages (deliver_sm in GSM-7 or UCS-2,
 * concatenated when long) either one by one, waiting for each reply
 * (scenario), or as a flood at a window and rate. Faults on request: drop
 * the link after N PDUs, refuse the first binds, throttle or fail
 * submit_sm, answer binds with the wrong *_resp, send broken message_ids,
 * stop reading (a stuck SMSC). Used by `meterline smsc-sim`, the tests and the benchmark.
 */
#ifndef METERLINE_SMSC_SIM_H
#define METERLINE_SMSC_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct event_base;
struct smpp_pdu;
struct smpp_sm;
struct smsc_sim;

struct smsc_sim_cfg {
	const char *system_id; /* expected; "" accepts any */
	const char *password; /* expected; "" accepts any */
	uint16_t port; /* 0: any free port (smsc_sim_port) */
	int enquire_link_ms; /* our enquire_link period; 0 never */
	unsigned window; /* deliver_sm outstanding, 10 */
	unsigned rate; /* flood: MO per second, 0 = window-bound */
	int reply_timeout_ms; /* scenario: wait for each reply, 10000 */
	int redeliver_ms; /* deliver_sm answered with an error or lost
					   with the link: sent again after this, 1000 */
	int receipts; /* delivery receipt per accepted submit_sm */
	unsigned refuse_binds; /* refuse the first K binds */
	unsigned drop_after_pdus; /* close the link after N PDUs received */
	unsigned drop_times; /* how many times to do that, 1 */
	unsigned throttle_submits; /* first N submit_sm: ESME_RTHROTTLED */
	unsigned throttle_every; /* then every Nth submit_sm, 0 never */
	unsigned tempfail_submits; /* next N submit_sm: tempfail_status */
	uint32_t tempfail_status; /* 0x08 ESME_RSYSERR */
	/* answer binds with this command_id, 0: the matching *_resp */
	uint32_t bind_resp_id;
	/* submit_sm_resp message_id: 0 good, 1 over 65 octets, 2 unterminated */
	int bad_message_id;
	/* once bound, never read from the ESME again (a stuck SMSC) */
	int stop_reading;
	FILE *transcript; /* scenario lines as they happen, or NULL */
	/* PEM chain: serve TLS; NULL for plain TCP */
	const char *tls_cert_file;
	const char *tls_key_file; /* its PEM private key */
};

void smsc_sim_cfg_defaults(struct smsc_sim_cfg *);

struct smsc_sim_stats {
	uint64_t conns, binds_ok, binds_refused, drops;
	uint64_t pdus_in, pdus_out;
	uint64_t mo_queued, mo_pdus_sent, mo_redelivered;
	uint64_t mo_acked_ok, mo_acked_err, mo_done; /* done: every part ok */
	uint64_t submits, submits_ok, submits_throttled, submits_tempfailed;
	uint64_t replies, receipts_sent;
	uint64_t enquire_sent, enquire_answered, enquire_received;
	uint64_t generic_nacks;
	uint32_t last_err_status; /* of the last deliver_sm answered with one */
	int64_t first_mo_us, last_ack_us, last_reply_us; /* monotonic */
};

/* One reply received (a whole message, parts joined). */
struct smsc_sim_reply {
	char from[22], to[22];
	char *text; /* UTF-8 */
	uint8_t dcs;
	unsigned parts;
	int64_t latency_us; /* from its MO's first deliver_sm; -1 unmatched */
};

struct smsc_sim *smsc_sim_new(
    struct event_base *, const struct smsc_sim_cfg *, char *err, size_t errlen);
void smsc_sim_free(struct smsc_sim *);
uint16_t smsc_sim_port(const struct smsc_sim *);
/* Connections bound now. */
unsigned smsc_sim_bound(const struct smsc_sim *);

/* Queue one MO message (encoded now: GSM-7 or UCS-2, concatenated). */
int smsc_sim_add_mo(struct smsc_sim *, const char *sender,
    const char *recipient, const char *text, char *err, size_t errlen);
/* Queue the lines "sender<TAB>recipient<TAB>text" of a file. */
int smsc_sim_load_scenario(
    struct smsc_sim *, const char *path, char *err, size_t errlen);

enum smsc_sim_mode {
	SMSC_SIM_SCENARIO, /* one message at a time, each waits for its reply */
	SMSC_SIM_FLOOD, /* window and rate; replies counted. A sender's
				   next message waits for the reply to its
				   previous one, as a person would. */
};
/*
 * Start delivering the queued messages once an ESME is bound. done(arg)
 * runs when every message is acknowledged and has its reply (or its reply
 * timed out in a scenario).
 */
void smsc_sim_run(
    struct smsc_sim *, enum smsc_sim_mode, void (*done)(void *), void *arg);

/* Test hooks. Send a deliver_sm/data_sm as given; its sequence or -1. */
int smsc_sim_send_sm(struct smsc_sim *, uint32_t cmd, const struct smpp_sm *);
/* Send raw bytes on the receiving connection; 0 or -1. */
/* Read from the ESME or not (stop_reading, changed on the fly). */
void smsc_sim_set_reading(struct smsc_sim *, int on);
/* Octets queued for the ESME on the receiving connection, not yet sent. */
size_t smsc_sim_output(const struct smsc_sim *);
int smsc_sim_send_raw(struct smsc_sim *, const uint8_t *, size_t);
/* Close every connection now, answers still unsent included (a fault). */
void smsc_sim_drop(struct smsc_sim *);
/*
 * End cleanly: stop listening and ticking, send unbind on every bound
 * link, close each once its output is written (the loop must run on until
 * it has nothing left to do, at most about a second).
 */
void smsc_sim_close(struct smsc_sim *);
/* Called with every PDU the ESME sends, after the simulator handled it. */
void smsc_sim_set_observer(struct smsc_sim *,
    void (*fn)(void *arg, const struct smpp_pdu *), void *arg);

const struct smsc_sim_stats *smsc_sim_stats(const struct smsc_sim *);
size_t
smsc_sim_replies(const struct smsc_sim *, const struct smsc_sim_reply **);
/* MO messages queued and those done (acknowledged with ESME_ROK). */
size_t smsc_sim_pending(const struct smsc_sim *);
/* Messages delivered or not that never got their reply (gave up waiting). */
size_t smsc_sim_unanswered(const struct smsc_sim *);
/* Print statistics and latency percentiles. */
void smsc_sim_report(const struct smsc_sim *, FILE *);
/*
 * Write what happened to every message, one line each, tab-separated:
 *   mo    ACKED REPLIED SENDER RECIPIENT TEXT   (ACKED: every part ESME_ROK)
 *   reply FROM TO PARTS DCS LATENCY_US TEXT     (LATENCY_US -1: unmatched)
 * Tabs and line breaks in texts become spaces. 0, or -1 on a write error.
 */
int smsc_sim_write_results(const struct smsc_sim *, FILE *);

#endif
