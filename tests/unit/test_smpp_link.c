/*
 * The ESME link against the SMSC simulator over real TCP on 127.0.0.1, both
 * on one event loop, with a fake store in place of PostgreSQL. Each test
 * says what it proves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_link.h"
#include "meterline/smsc_sim.h"
#include "meterline/text.h"

#define MAXREC 256

/* A fake store: remembers what it got, answers after a delay. */
struct harness {
	struct event_base *base;
	struct smsc_sim *sim;
	struct smpp_link *link;
	struct config_smpp cfg;
	struct smpp_link_tuning tune;
	struct smsc_sim_cfg scfg;
	int store_delay_ms;
	unsigned tempfail_first; /* answer TEMPFAIL to the first N */
	const char *reply; /* sent back through the link */
	unsigned submitted, applied, tempfailed;
	char texts[MAXREC][1200];
	char senders[MAXREC][32];
	/* What the simulator saw from the ESME. */
	unsigned resp_ok, resp_err, nacks, unbinds;
	uint32_t last_resp_status, last_nack_status, last_nack_seq;
	int ack_before_commit; /* must stay 0 */
	unsigned receipts;
	char receipt_id[66];
	unsigned mt_reports, mt_accepted, mt_last, mt_id_lost;
	char mt_id[66];
	unsigned texts_truncated; /* TEXT_F_TRUNCATED seen by the store */
	int sim_done, stopped;
};

struct store_job {
	struct harness *h;
	intake_done_cb done;
	void *arg;
	int tempfail;
};

static void
store_answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_job *j = arg;
	struct intake_result r = { INTAKE_APPLIED, "accepted", NULL, NULL, 1 };

	(void)fd;
	(void)what;
	if (j->tempfail) {
		r.status = INTAKE_TEMPFAIL;
		j->h->tempfailed++;
	} else {
		j->h->applied++;
	}
	j->done(&r, j->arg);
	free(j);
}

static void
fake_submit(
    void *ctx, const struct inbound_msg *m, intake_done_cb done, void *arg)
{
	struct harness *h = ctx;
	struct store_job *j = calloc(1, sizeof(*j));
	struct timeval tv = { 0, h->store_delay_ms * 1000 };
	unsigned i = h->submitted++;

	if (i < MAXREC) {
		snprintf(h->texts[i], sizeof(h->texts[i]), "%.*s",
		    (int)m->text_len, m->text);
		snprintf(h->senders[i], sizeof(h->senders[i]), "%s", m->sender);
	}
	assert_string_equal(m->channel, "sms");
	if (m->text_flags & TEXT_F_TRUNCATED)
		h->texts_truncated++;
	j->h = h;
	j->done = done;
	j->arg = arg;
	j->tempfail = i < h->tempfail_first;
	/* The outbox would send the reply once committed; do it here. */
	if (h->reply != NULL && !j->tempfail) {
		struct smpp_mt mt = { m->recipient, m->sender, h->reply,
			strlen(h->reply), i + 1 };
		char err[128];

		assert_int_equal(
		    smpp_link_send(h->link, &mt, err, sizeof(err)), 0);
	}
	event_base_once(h->base, -1, EV_TIMEOUT, store_answer_cb, j, &tv);
}

static void
fake_receipt(
    void *ctx, const struct smpp_receipt *r, intake_done_cb done, void *arg)
{
	struct harness *h = ctx;
	struct intake_result res = { INTAKE_APPLIED, NULL, NULL, NULL, 0 };

	h->receipts++;
	snprintf(h->receipt_id, sizeof(h->receipt_id), "%s", r->message_id);
	assert_string_equal(r->stat, "DELIVRD");
	done(&res, arg);
}

static void
fake_mt_report(void *ctx, const struct smpp_mt_report *r)
{
	struct harness *h = ctx;

	h->mt_reports++;
	if (r->state == SMPP_MT_ACCEPTED) {
		h->mt_accepted++;
		h->mt_id_lost += r->id_lost;
		snprintf(h->mt_id, sizeof(h->mt_id), "%s", r->message_id);
	}
	if (r->last)
		h->mt_last++;
}

/* Every deliver_sm_resp the ESME sends must follow a store commit. */
static void
sim_observer(void *arg, const struct smpp_pdu *p)
{
	struct harness *h = arg;

	switch (p->hdr.id) {
	case SMPP_CMD_DELIVER_SM_RESP:
	case SMPP_CMD_DATA_SM_RESP:
		h->last_resp_status = p->hdr.status;
		if (p->hdr.status == SMPP_ESME_ROK)
			h->resp_ok++;
		else
			h->resp_err++;
		if (p->hdr.status == SMPP_ESME_ROK && h->applied == 0 &&
		    h->receipts == 0)
			h->ack_before_commit = 1;
		break;
	case SMPP_CMD_GENERIC_NACK:
		h->nacks++;
		h->last_nack_status = p->hdr.status;
		h->last_nack_seq = p->hdr.seq;
		break;
	case SMPP_CMD_UNBIND: h->unbinds++; break;
	default: break;
	}
}

/* The [smpp] defaults of the config key table: the link's settings. */
static void
smpp_cfg_defaults(struct config_smpp *c)
{
	struct config *cfg = malloc(sizeof(*cfg));

	assert_non_null(cfg);
	config_defaults(cfg);
	*c = cfg->smpp;
	free(cfg);
}

static struct harness *
harness_new(void)
{
	struct harness *h = calloc(1, sizeof(*h));

	if (getenv("SMPP_TEST_DEBUG"))
		log_set_level(LOG_DEBUG);
	else if (getenv("SMPP_TEST_INFO"))
		log_set_level(LOG_INFO);
	else
		log_set_level(LOG_ERROR);
	h->base = event_base_new();
	smsc_sim_cfg_defaults(&h->scfg);
	h->scfg.system_id = "meter01";
	h->scfg.password = "secret";
	h->scfg.redeliver_ms = 100;
	h->scfg.reply_timeout_ms = 3000;
	smpp_cfg_defaults(&h->cfg);
	strcpy(h->cfg.host, "127.0.0.1");
	strcpy(h->cfg.system_id, "meter01");
	strcpy(h->cfg.password, "secret");
	h->cfg.reconnect_max_ms = 400;
	h->cfg.response_timeout_ms = 2000;
	smpp_link_tuning_defaults(&h->tune);
	h->tune.name = "test";
	h->tune.reconnect_min_ms = 50;
	h->tune.mt_retry_ms = 50;
	h->tune.throttle_pause_ms = 50;
	h->store_delay_ms = 5;
	return h;
}

/* Start the simulator and the link with the settings made so far. */
static void
harness_start(struct harness *h)
{
	struct smpp_link_hooks hooks = { fake_submit, fake_receipt,
		fake_mt_report, NULL, h };
	char err[160];

	h->scfg.port = 0;
	h->sim = smsc_sim_new(h->base, &h->scfg, err, sizeof(err));
	assert_non_null(h->sim);
	smsc_sim_set_observer(h->sim, sim_observer, h);
	h->cfg.port = smsc_sim_port(h->sim);
	h->link =
	    smpp_link_new(h->base, &h->cfg, &h->tune, &hooks, err, sizeof(err));
	assert_non_null(h->link);
	smpp_link_start(h->link);
}

static void
harness_free(struct harness *h)
{
	smpp_link_free(h->link);
	smsc_sim_free(h->sim);
	/* Let closers and pending one-shot events run before freeing the base:
	   a connection closed while its peer stopped reading waits up to its
	   flush timeout (1 s, smpp_frame_close_after_flush), so poll for that
	   long at most. */
	for (int i = 0; i < 20; i++)
		event_base_loop(h->base, EVLOOP_NONBLOCK);
	for (int i = 0; i < 150 &&
	     event_base_get_num_events(h->base, EVENT_BASE_COUNT_ADDED) > 0;
	     i++) {
		usleep(10000);
		event_base_loop(h->base, EVLOOP_NONBLOCK);
	}
	event_base_free(h->base);
	free(h);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until pred holds; fail after timeout_ms. */
static void
run_until(struct harness *h, int (*pred)(struct harness *), int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;

	while (!pred(h)) {
		if (mono_ms() > end)
			fail_msg("condition not reached in %d ms", timeout_ms);
		event_base_loop(h->base, EVLOOP_ONCE);
	}
}

static void
run_for(struct harness *h, int ms)
{
	int64_t end = mono_ms() + ms;

	while (mono_ms() < end)
		event_base_loop(h->base, EVLOOP_ONCE);
}

static int
is_bound(struct harness *h)
{
	return smpp_link_bound(h->link) && smsc_sim_bound(h->sim) > 0;
}

static int
sim_finished(struct harness *h)
{
	return h->sim_done;
}

static void
on_sim_done(void *arg)
{
	((struct harness *)arg)->sim_done = 1;
}

static int
mt_settled(struct harness *h)
{
	return h->mt_last >= 1;
}

static void
play(struct harness *h, enum smsc_sim_mode mode)
{
	smsc_sim_run(h->sim, mode, on_sim_done, h);
	run_until(h, sim_finished, 10000);
}

/* Bind, one GSM-7 MO, the store's callback, then deliver_sm_resp, reply. */
static void
test_mo_single_gsm7(void **state)
{
	struct harness *h = harness_new();
	const struct smsc_sim_reply *r;
	char err[128];

	(void)state;
	h->reply = "Accepted: 11638";
	h->store_delay_ms = 50;
	harness_start(h);
	run_until(h, is_bound, 3000);
	assert_int_equal(smsc_sim_add_mo(h->sim, "447700900123", "7377",
	                     "PS 123859 11638", err, sizeof(err)),
	    0);
	play(h, SMSC_SIM_SCENARIO);
	assert_int_equal(h->submitted, 1);
	assert_string_equal(h->texts[0], "PS 123859 11638");
	assert_string_equal(h->senders[0], "447700900123");
	assert_int_equal(h->resp_ok, 1);
	assert_false(h->ack_before_commit);
	assert_int_equal(smsc_sim_replies(h->sim, &r), 1);
	assert_string_equal(r[0].text, "Accepted: 11638");
	assert_string_equal(r[0].to, "447700900123");
	assert_string_equal(r[0].from, "7377");
	run_until(h, mt_settled, 3000);
	assert_int_equal(h->mt_accepted, 1);
	assert_true(h->mt_id[0] != '\0');
	harness_free(h);
}

/* Cyrillic in UCS-2 both ways; a long reply goes out as concatenated MT. */
static void
test_ucs2_and_long_reply(void **state)
{
	struct harness *h = harness_new();
	const struct smsc_sim_reply *r;
	static char longreply[1024];
	char err[128];

	(void)state;
	longreply[0] = '\0';
	for (int i = 0; i < 8; i++)
		strcat(longreply, "Показания приняты, спасибо! ");
	h->reply = longreply;
	harness_start(h);
	run_until(h, is_bound, 3000);
	assert_int_equal(smsc_sim_add_mo(h->sim, "79001234567", "7377",
	                     "Показания 123456 42,5", err, sizeof(err)),
	    0);
	play(h, SMSC_SIM_SCENARIO);
	assert_string_equal(h->texts[0], "Показания 123456 42,5");
	assert_int_equal(smsc_sim_replies(h->sim, &r), 1);
	assert_string_equal(r[0].text, longreply);
	assert_int_equal(r[0].dcs, 0x08);
	assert_true(r[0].parts >= 4);
	run_until(h, mt_settled, 3000);
	assert_int_equal(h->mt_accepted, r[0].parts);
	assert_int_equal(h->mt_last, 1);
	harness_free(h);
}

/* A long MO arrives in parts (8-bit UDH) and reaches the store once, whole;
 * every part is answered only after the store's callback. */
static void
test_concatenated_mo(void **state)
{
	struct harness *h = harness_new();
	static char text[400];
	char err[128];

	(void)state;
	for (int i = 0; i < 35; i++)
		strcat(text, "P 12345 ");
	harness_start(h);
	run_until(h, is_bound, 3000);
	h->reply = "ok";
	assert_int_equal(smsc_sim_add_mo(h->sim, "79001234567", "7377", text,
	                     err, sizeof(err)),
	    0);
	play(h, SMSC_SIM_SCENARIO);
	assert_int_equal(h->submitted, 1);
	assert_string_equal(h->texts[0], text);
	assert_int_equal(h->resp_ok, 2);
	assert_false(h->ack_before_commit);
	harness_free(h);
}

static void
sm_part(struct smpp_sm *sm, const char *src, const uint8_t *ud, size_t len,
    uint8_t esm)
{
	memset(sm, 0, sizeof(*sm));
	sm->src = (struct smpp_addr){ 1, 1, "" };
	snprintf(sm->src.addr, sizeof(sm->src.addr), "%s", src);
	sm->dst = (struct smpp_addr){ 0, 1, "7377" };
	memcpy(sm->ud, ud, len);
	sm->ud_len = (uint16_t)len;
	sm->esm_class = esm;
}

static int
one_submitted(struct harness *h)
{
	return h->submitted >= 1 && h->resp_ok + h->resp_err >= 1;
}

static int
four_answers(struct harness *h)
{
	return h->resp_ok >= 4;
}

/* 16-bit references, out of order and a duplicate; then sar_* TLVs on
 * data_sm. Each reassembles in order, once; the duplicate is answered. */
static void
test_concat_out_of_order_dup_16bit_sar(void **state)
{
	struct harness *h = harness_new();
	static const uint8_t p1[] = { 6, 0x08, 4, 0x12, 0x34, 3, 1, 'A', 'A' };
	static const uint8_t p2[] = { 6, 0x08, 4, 0x12, 0x34, 3, 2, 'B', 'B' };
	static const uint8_t p3[] = { 6, 0x08, 4, 0x12, 0x34, 3, 3, 'C' };
	struct smpp_sm sm;

	(void)state;
	harness_start(h);
	run_until(h, is_bound, 3000);
	sm_part(&sm, "79001112233", p3, sizeof(p3), SMPP_ESM_UDHI);
	assert_true(smsc_sim_send_sm(h->sim, SMPP_CMD_DELIVER_SM, &sm) > 0);
	sm_part(&sm, "79001112233", p1, sizeof(p1), SMPP_ESM_UDHI);
	assert_true(smsc_sim_send_sm(h->sim, SMPP_CMD_DELIVER_SM, &sm) > 0);
	assert_true(smsc_sim_send_sm(h->sim, SMPP_CMD_DELIVER_SM, &sm) > 0);
	sm_part(&sm, "79001112233", p2, sizeof(p2), SMPP_ESM_UDHI);
	assert_true(smsc_sim_send_sm(h->sim, SMPP_CMD_DELIVER_SM, &sm) > 0);
	run_until(h, four_answers, 3000);
	assert_int_equal(h->submitted, 1);
	assert_string_equal(h->texts[0], "AABBC");
	assert_int_equal(smpp_link_stats(h->link)->mo_duplicate_parts, 1);
	assert_false(h->ack_before_commit);

	/* sar_* TLVs, data_sm, parts 2 then 1. */
	sm_part(&sm, "79004445566", (const uint8_t *)"yz", 2, 0);
	sm.concat = (struct smpp_concat){ SMPP_CONCAT_SAR, 77, 2, 2 };
	assert_true(smsc_sim_send_sm(h->sim, SMPP_CMD_DATA_SM, &sm) > 0);
	sm_part(&sm, "79004445566", (const uint8_t *)"wx", 2, 0);
	sm.concat = (struct smpp_concat){ SMPP_CONCAT_SAR, 77, 2, 1 };
	assert_true(smsc_sim_send_sm(h->sim, SMPP_CMD_DATA_SM, &sm) > 0);
	h->resp_ok = 0;
	run_until(h, is_bound, 10);
	while (h->resp_ok < 2)
		event_base_loop(h->base, EVLOOP_ONCE);
	assert_int_equal(h->submitted, 2);
	assert_string_equal(h->texts[1], "wxyz");
	harness_free(h);
}

/* Missing parts: after concat_timeout what arrived is processed. */
static void
test_concat_timeout(void **state)
{
	struct harness *h = harness_new();
	static const uint8_t p1[] = { 5, 0x00, 3, 9, 3, 1, 'a' };
	static const uint8_t p3[] = { 5, 0x00, 3, 9, 3, 3, 'c' };
	struct smpp_sm sm;
	int64_t t0;

	(void)state;
	h->cfg.concat_timeout_ms = 200;
	harness_start(h);
	run_until(h, is_bound, 3000);
	t0 = mono_ms();
	sm_part(&sm, "79001112233", p1, sizeof(p1), SMPP_ESM_UDHI);
	smsc_sim_send_sm(h->sim, SMPP_CMD_DELIVER_SM, &sm);
	sm_part(&sm, "79001112233", p3, sizeof(p3), SMPP_ESM_UDHI);
	smsc_sim_send_sm(h->sim, SMPP_CMD_DELIVER_SM, &sm);
	run_until(h, one_submitted, 3000);
	while (h->resp_ok < 2)
		event_base_loop(h->base, EVLOOP_ONCE);
	assert_true(mono_ms() - t0 >= 190);
	assert_string_equal(h->texts[0], "ac");
	assert_int_equal(smpp_link_stats(h->link)->mo_partial, 1);
	harness_free(h);
}

/* TEMPFAIL from the store: deliver_sm_resp carries the configured status,
 * the SMSC redelivers, and the second attempt is acknowledged. */
static void
test_tempfail_then_redelivery(void **state)
{
	struct harness *h = harness_new();
	char err[128];

	(void)state;
	h->tempfail_first = 1;
	h->cfg.temporary_error_status = 0x0458; /* an operator's vendor code */
	harness_start(h);
	run_until(h, is_bound, 3000);
	h->reply = "ok";
	smsc_sim_add_mo(
	    h->sim, "79001234567", "7377", "P 1 2", err, sizeof(err));
	play(h, SMSC_SIM_FLOOD);
	assert_int_equal(h->submitted, 2);
	assert_int_equal(h->resp_err, 1);
	assert_int_equal(h->resp_ok, 1);
	assert_int_equal(smsc_sim_stats(h->sim)->mo_redelivered, 1);
	assert_int_equal(smpp_link_stats(h->link)->mo_tempfail, 1);
	harness_free(h);
}

static int
enquired_both_ways(struct harness *h)
{
	return smpp_link_stats(h->link)->enquire_sent >= 2 &&
	    smsc_sim_stats(h->sim)->enquire_answered >= 2 &&
	    smsc_sim_stats(h->sim)->enquire_received >= 2 &&
	    smpp_link_stats(h->link)->enquire_answered >= 2;
}

/* enquire_link sent by each side when idle and answered by the other. */
static void
test_enquire_link_both_ways(void **state)
{
	struct harness *h = harness_new();

	(void)state;
	h->cfg.enquire_link_ms = 100;
	h->scfg.enquire_link_ms = 130;
	harness_start(h);
	run_until(h, is_bound, 3000);
	run_until(h, enquired_both_ways, 3000);
	assert_int_equal(smpp_link_stats(h->link)->drops, 0);
	harness_free(h);
}

/* The first binds are refused (error, no body): reconnect with backoff. */
static void
test_refused_bind_backoff(void **state)
{
	struct harness *h = harness_new();
	int64_t t0;

	(void)state;
	h->scfg.refuse_binds = 3;
	t0 = mono_ms();
	harness_start(h);
	run_until(h, is_bound, 5000);
	/* Backoff 50, then [50,100], then [100,200] ms: at least 200 ms. */
	assert_true(mono_ms() - t0 >= 200);
	assert_int_equal(smpp_link_stats(h->link)->binds_refused, 3);
	assert_int_equal(smpp_link_stats(h->link)->connects, 4);
	harness_free(h);
}

/* Wrong credentials are refused, and retried, never bound. */
static void
test_bad_password(void **state)
{
	struct harness *h = harness_new();

	(void)state;
	strcpy(h->cfg.password, "wrong");
	harness_start(h);
	run_for(h, 400);
	assert_false(smpp_link_bound(h->link));
	assert_true(smpp_link_stats(h->link)->binds_refused >= 2);
	assert_true(
	    smpp_link_stats(h->link)->connects <= 6); /* no tight loop */
	harness_free(h);
}

/* The SMSC drops the link mid-flood, twice: everything arrives anyway. */
static void
test_drop_mid_flood(void **state)
{
	struct harness *h = harness_new();
	char err[128], sender[32];

	(void)state;
	h->scfg.drop_after_pdus = 15;
	h->scfg.drop_times = 2;
	h->scfg.window = 5;
	h->reply = "ok";
	harness_start(h);
	run_until(h, is_bound, 3000);
	for (int i = 0; i < 30; i++) {
		snprintf(sender, sizeof(sender), "7900%07d", i);
		smsc_sim_add_mo(
		    h->sim, sender, "7377", "P 1 2", err, sizeof(err));
	}
	play(h, SMSC_SIM_FLOOD);
	assert_int_equal(smsc_sim_stats(h->sim)->mo_done, 30);
	assert_int_equal(smsc_sim_stats(h->sim)->drops, 2);
	assert_true(smpp_link_stats(h->link)->binds_ok >= 3);
	assert_true(h->submitted >= 30);
	harness_free(h);
}

/* submit_sm throttled twice, then a temporary error: paused, retried,
 * accepted; the SMSC message id is reported. */
static void
test_throttled_submit(void **state)
{
	struct harness *h = harness_new();
	char err[128];

	(void)state;
	h->scfg.throttle_submits = 2;
	h->scfg.tempfail_submits = 1;
	h->reply = "Accepted";
	harness_start(h);
	run_until(h, is_bound, 3000);
	smsc_sim_add_mo(
	    h->sim, "79001234567", "7377", "P 1 2", err, sizeof(err));
	play(h, SMSC_SIM_SCENARIO);
	run_until(h, mt_settled, 3000);
	assert_int_equal(smpp_link_stats(h->link)->mt_throttled, 2);
	assert_int_equal(smpp_link_stats(h->link)->mt_retries, 1);
	assert_int_equal(h->mt_accepted, 1);
	assert_int_equal(smsc_sim_stats(h->sim)->submits, 4);
	harness_free(h);
}

static int
all_submitted(struct harness *h)
{
	return h->submitted >= 3;
}

static void
add_three_mo(struct harness *h)
{
	static const char *const from[] = { "79001234561", "79001234562",
		"79001234563" };
	char err[128];

	for (int i = 0; i < 3; i++)
		assert_int_equal(smsc_sim_add_mo(h->sim, from[i], "7377",
		                     "P 1 2", err, sizeof(err)),
		    0);
}

/* Pacing (issue 20): while a reply is queued (backlog 1) and throttled,
 * new MO wait in the link unanswered and reach the store only once the
 * reply settles; every MO is then answered and every reply sent. */
static void
test_mo_paced_by_replies(void **state)
{
	struct harness *h = harness_new();

	(void)state;
	h->scfg.throttle_submits = 2;
	h->tune.throttle_pause_ms = 300;
	h->tune.mo_park_backlog = 1;
	h->tune.mo_park_max_ms = 60000;
	h->reply = "Accepted";
	harness_start(h);
	run_until(h, is_bound, 3000);
	add_three_mo(h);
	smsc_sim_run(h->sim, SMSC_SIM_FLOOD, on_sim_done, h);
	run_for(h, 200); /* the first reply is paused for 300 ms */
	assert_int_equal(h->submitted, 1);
	assert_int_equal(h->resp_ok, 1);
	assert_true(smpp_link_stats(h->link)->mo_parked >= 1);
	run_until(h, sim_finished, 10000);
	assert_int_equal(h->submitted, 3);
	assert_int_equal(h->resp_ok, 3);
	assert_int_equal(h->mt_accepted, 3);
	assert_int_equal(smpp_link_stats(h->link)->mo_park_timeouts, 0);
	harness_free(h);
}

/* A parked MO goes to the store after mo_park_max_ms whatever the
 * backlog: an SMSC that stops taking replies does not stop intake for
 * longer than that. */
static void
test_mo_park_max_time(void **state)
{
	struct harness *h = harness_new();
	int64_t t0;

	(void)state;
	h->scfg.throttle_submits = 1;
	h->tune.throttle_pause_ms = 5000;
	h->tune.mo_park_backlog = 1;
	h->tune.mo_park_max_ms = 150;
	h->reply = "Accepted";
	harness_start(h);
	run_until(h, is_bound, 3000);
	add_three_mo(h);
	t0 = mono_ms();
	smsc_sim_run(h->sim, SMSC_SIM_FLOOD, on_sim_done, h);
	run_until(h, all_submitted, 2000);
	assert_true(mono_ms() - t0 >= 150);
	assert_true(smpp_link_stats(h->link)->mo_park_timeouts >= 1);
	harness_free(h);
}

static int
got_receipt(struct harness *h)
{
	return h->receipts > 0;
}

/* A delivery receipt goes to the receipt hook, never to the store. */
static void
test_delivery_receipt(void **state)
{
	struct harness *h = harness_new();
	char err[128];

	(void)state;
	h->scfg.receipts = 1;
	h->reply = "ok";
	harness_start(h);
	run_until(h, is_bound, 3000);
	smsc_sim_add_mo(
	    h->sim, "79001234567", "7377", "P 1 2", err, sizeof(err));
	play(h, SMSC_SIM_SCENARIO);
	run_until(h, got_receipt, 3000);
	assert_int_equal(h->submitted, 1);
	assert_string_equal(h->receipt_id, h->mt_id);
	harness_free(h);
}

static int
got_nack(struct harness *h)
{
	return h->nacks > 0;
}

static int
got_resp(struct harness *h)
{
	return h->resp_err > 0;
}

static int
rebound(struct harness *h)
{
	return smpp_link_stats(h->link)->binds_ok >= 2 && is_bound(h);
}

/* Unknown command -> generic_nack; bad TLV -> deliver_sm_resp error; the
 * link survives both; an absurd command_length drops and rebinds. */
static void
test_malformed_pdus(void **state)
{
	struct harness *h = harness_new();
	uint8_t raw[64];
	struct smpp_sm sm;
	uint8_t frame[128];
	int n;

	(void)state;
	harness_start(h);
	run_until(h, is_bound, 3000);
	smpp_encode_header(raw, sizeof(raw), 0x00000099, 0, 77);
	smsc_sim_send_raw(h->sim, raw, 16);
	run_until(h, got_nack, 3000);
	assert_int_equal(h->last_nack_status, SMPP_ESME_RINVCMDID);
	assert_int_equal(h->last_nack_seq, 77);

	sm_part(&sm, "79001234567", (const uint8_t *)"x", 1, 0);
	n = smpp_encode_sm(
	    frame, sizeof(frame), SMPP_CMD_DELIVER_SM, 78, &sm, NULL, 0);
	memcpy(frame + n, "\x04\x24\x00\x40zz", 6); /* TLV past the end */
	frame[0] = 0;
	frame[1] = 0;
	frame[2] = 0;
	frame[3] = (uint8_t)(n + 6);
	smsc_sim_send_raw(h->sim, frame, (size_t)n + 6);
	run_until(h, got_resp, 3000);
	assert_int_equal(h->last_resp_status, SMPP_ESME_RINVOPTPARSTREAM);
	assert_true(smpp_link_bound(h->link));
	assert_int_equal(h->submitted, 0);

	memcpy(raw,
	    "\x00\x01\x86\xa0\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x09",
	    16);
	smsc_sim_send_raw(h->sim, raw, 16);
	run_until(h, rebound, 3000);
	assert_int_equal(h->last_nack_status, SMPP_ESME_RINVCMDLEN);
	harness_free(h);
}

static int
store_has_one(struct harness *h)
{
	return h->submitted >= 1;
}

static int
store_has_two_and_ack(struct harness *h)
{
	return h->submitted >= 2 && h->resp_ok >= 1;
}

/* The store answers after the link was dropped and rebound: nothing is
 * written to the new connection; the SMSC redelivers; then acknowledged. */
static void
test_late_done_after_reconnect(void **state)
{
	struct harness *h = harness_new();
	char err[128];

	(void)state;
	h->store_delay_ms = 300;
	h->reply = "ok";
	harness_start(h);
	run_until(h, is_bound, 3000);
	smsc_sim_add_mo(
	    h->sim, "79001234567", "7377", "P 1 2", err, sizeof(err));
	smsc_sim_run(h->sim, SMSC_SIM_FLOOD, on_sim_done, h);
	run_until(h, store_has_one, 3000);
	smsc_sim_drop(h->sim);
	run_until(h, store_has_two_and_ack, 5000);
	assert_int_equal(smpp_link_stats(h->link)->mo_dropped_acks, 1);
	assert_int_equal(h->resp_err, 0);
	run_until(h, sim_finished, 3000);
	harness_free(h);
}

static void
on_stopped(void *arg)
{
	((struct harness *)arg)->stopped = 1;
}

static int
is_stopped(struct harness *h)
{
	return h->stopped;
}

/* Graceful stop: the pending store answer is still acknowledged, queued
 * replies go out, then unbind; new MO during the stop get the temp status. */
static void
test_graceful_stop(void **state)
{
	struct harness *h = harness_new();
	char err[128];

	(void)state;
	h->store_delay_ms = 200;
	h->reply = "bye";
	harness_start(h);
	run_until(h, is_bound, 3000);
	smsc_sim_add_mo(
	    h->sim, "79001234567", "7377", "P 1 2", err, sizeof(err));
	smsc_sim_run(h->sim, SMSC_SIM_FLOOD, on_sim_done, h);
	run_until(h, store_has_one, 3000);
	smpp_link_stop(h->link, on_stopped, h);
	run_until(h, is_stopped, 5000);
	assert_int_equal(h->resp_ok, 1);
	assert_int_equal(h->unbinds, 1);
	assert_int_equal(h->mt_accepted, 1);
	assert_false(smpp_link_bound(h->link));
	harness_free(h);
}

/* A receiver + transmitter pair: MO on one bind, the reply on the other. */
static void
test_rx_tx_pair(void **state)
{
	struct harness *h = harness_new();
	const struct smsc_sim_reply *r;
	char err[128];

	(void)state;
	h->cfg.bind = CONFIG_BIND_PAIR;
	h->reply = "pair ok";
	harness_start(h);
	run_until(h, is_bound, 3000);
	while (smsc_sim_bound(h->sim) < 2)
		event_base_loop(h->base, EVLOOP_ONCE);
	smsc_sim_add_mo(
	    h->sim, "79001234567", "7377", "P 1 2", err, sizeof(err));
	play(h, SMSC_SIM_SCENARIO);
	assert_int_equal(smsc_sim_replies(h->sim, &r), 1);
	assert_string_equal(r[0].text, "pair ok");
	harness_free(h);
}

/* Config errors are reported, not crashed on. */
static void
test_bad_config(void **state)
{
	struct config_smpp c;
	struct smpp_link_tuning t;
	struct smpp_link_hooks hooks = { fake_submit, NULL, NULL, NULL, NULL };
	struct event_base *base = event_base_new();
	char err[128];

	(void)state;
	smpp_cfg_defaults(&c);
	strcpy(c.host, "smsc.example.net");
	assert_null(smpp_link_new(base, &c, NULL, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, "numeric"));
	/* the keys' bounds are config_load's; the tuning is checked here */
	strcpy(c.host, "127.0.0.1");
	smpp_link_tuning_defaults(&t);
	t.reconnect_min_ms = c.reconnect_max_ms + 1;
	assert_null(smpp_link_new(base, &c, &t, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, "out of range"));
	event_base_free(base);
}

/* A self-signed certificate for IP 127.0.0.1, written as PEM to dir. */
static void
make_cert(const char *dir, char *cert, char *key, size_t len)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	FILE *f;

	assert_non_null(pk);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"meterline test SMSC", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(
	    NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	snprintf(cert, len, "%s/cert.pem", dir);
	snprintf(key, len, "%s/key.pem", dir);
	f = fopen(cert, "w");
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key, "w");
	PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

/* TLS to the SMSC: a verified handshake (IP SAN), then a dialog; a
 * certificate for another address is refused and never bound. */
static void
test_tls(void **state)
{
	char dir[] = "/tmp/mline-tls-XXXXXX", cert[256], key[256];
	const struct smsc_sim_reply *r;
	struct harness *h;
	char err[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	make_cert(dir, cert, key, sizeof(cert));

	h = harness_new();
	h->scfg.tls_cert_file = cert;
	h->scfg.tls_key_file = key;
	h->cfg.tls = true;
	snprintf(h->cfg.tls_ca_file, sizeof(h->cfg.tls_ca_file), "%s", cert);
	h->reply = "over TLS";
	harness_start(h);
	run_until(h, is_bound, 3000);
	smsc_sim_add_mo(
	    h->sim, "79001234567", "7377", "P 1 2", err, sizeof(err));
	play(h, SMSC_SIM_SCENARIO);
	assert_int_equal(smsc_sim_replies(h->sim, &r), 1);
	assert_string_equal(r[0].text, "over TLS");
	harness_free(h);

	h = harness_new();
	h->scfg.tls_cert_file = cert;
	h->scfg.tls_key_file = key;
	h->cfg.tls = true;
	snprintf(h->cfg.tls_ca_file, sizeof(h->cfg.tls_ca_file), "%s", cert);
	strcpy(h->cfg.tls_server_name, "127.0.0.2");
	harness_start(h);
	run_for(h, 300);
	assert_false(smpp_link_bound(h->link));
	assert_int_equal(smpp_link_stats(h->link)->binds_ok, 0);
	assert_true(smpp_link_stats(h->link)->connects >= 2);
	harness_free(h);

	unlink(cert);
	unlink(key);
	rmdir(dir);
}

/* ---- issue 14: hardening under attack ------------------------------------ */

/* A bind_receiver_resp to our bind_transceiver is a failed bind. */
static void
test_bind_resp_mismatch(void **state)
{
	struct harness *h = harness_new();

	(void)state;
	h->scfg.bind_resp_id = SMPP_CMD_BIND_RECEIVER_RESP;
	harness_start(h);
	run_for(h, 400);
	assert_false(smpp_link_bound(h->link));
	assert_int_equal(smpp_link_stats(h->link)->binds_ok, 0);
	assert_true(smpp_link_stats(h->link)->binds_mismatched >= 2);
	assert_true(smpp_link_stats(h->link)->binds_refused >= 2);
	harness_free(h);
}

/*
 * submit_sm_resp ESME_ROK with a message_id of 99 characters, then one
 * without its NUL: accepted, but reported with id_lost and counted.
 */
static void
test_bad_message_id(void **state)
{
	for (int how = 1; how <= 2; how++) {
		struct harness *h = harness_new();
		char err[128];

		(void)state;
		h->scfg.bad_message_id = how;
		h->reply = "ok";
		harness_start(h);
		run_until(h, is_bound, 3000);
		smsc_sim_add_mo(
		    h->sim, "79001234567", "7377", "P 1 2", err, sizeof(err));
		play(h, SMSC_SIM_SCENARIO);
		run_until(h, mt_settled, 3000);
		assert_int_equal(h->mt_accepted, 1);
		assert_int_equal(h->mt_id_lost, 1);
		assert_string_equal(h->mt_id, "");
		assert_int_equal(
		    smpp_link_stats(h->link)->mt_bad_message_id, 1);
		assert_true(smpp_link_bound(h->link));
		harness_free(h);
	}
}

/* Queue n enquire_link from the SMSC: each one earns a 16-octet answer. */
static void
flood_enquire(struct harness *h, unsigned n)
{
	static uint8_t buf[16 * 1024];

	for (unsigned i = 0; i < n; i += 1024) {
		for (unsigned j = 0; j < 1024; j++)
			smpp_encode_header(buf + 16 * j, 16,
			    SMPP_CMD_ENQUIRE_LINK, 0, 1000 + i + j);
		assert_int_equal(
		    smsc_sim_send_raw(h->sim, buf, sizeof(buf)), 0);
	}
}

static int
out_paused(struct harness *h)
{
	return smpp_link_stats(h->link)->out_pauses > 0;
}

static void
print_out_stats(const char *what, struct harness *h)
{
	const struct smpp_link_stats *st = smpp_link_stats(h->link);

	print_message("%s: pauses %llu drops %llu peak %llu octets, SMSC "
	              "answered %llu, SMSC output %zu\n",
	    what, (unsigned long long)st->out_pauses,
	    (unsigned long long)st->out_drops,
	    (unsigned long long)st->out_peak_bytes,
	    (unsigned long long)smsc_sim_stats(h->sim)->enquire_answered,
	    smsc_sim_output(h->sim));
}

static int
out_dropped(struct harness *h)
{
	return smpp_link_stats(h->link)->out_drops > 0;
}

static int
enquires_answered(struct harness *h)
{
	return smsc_sim_stats(h->sim)->enquire_answered >= 256 * 1024;
}

/*
 * An SMSC that stops reading: the link stops reading too once its output
 * passes out_high_bytes, so the buffer stays near that mark instead of
 * growing with every answer; it resumes when the SMSC reads again, and
 * drops the session when the SMSC does not within response_timeout.
 */
static void
test_output_bound(void **state)
{
	struct harness *h = harness_new();
	const struct smpp_link_stats *st;

	(void)state;
	h->tune.out_high_bytes = 16 * 1024;
	h->tune.out_max_bytes = 256 * 1024;
	h->cfg.response_timeout_ms = 3000;
	h->cfg.enquire_link_ms = 60000;
	harness_start(h);
	run_until(h, is_bound, 3000);
	st = smpp_link_stats(h->link);
	/* Resume: 4 MiB of answers owed, the SMSC reads again later. */
	smsc_sim_set_reading(h->sim, 0);
	flood_enquire(h, 256 * 1024);
	run_for(h, 300);
	print_out_stats("paused", h);
	run_until(h, out_paused, 5000);
	assert_true(st->out_peak_bytes <= 16 * 1024 + SMPP_PDU_MAX);
	smsc_sim_set_reading(h->sim, 1);
	run_until(h, enquires_answered, 20000);
	print_out_stats("resumed", h);
	assert_int_equal(st->out_drops, 0);
	assert_true(st->out_peak_bytes <= 16 * 1024 + SMPP_PDU_MAX);
	assert_true(smpp_link_bound(h->link));
	harness_free(h);

	/*
	 * Drop: the SMSC never reads again. The kernel takes up to its
	 * send buffer (tcp_wmem, 4 MiB here) before our buffer grows: owe
	 * four times that.
	 */
	h = harness_new();
	h->tune.out_high_bytes = 16 * 1024;
	h->tune.out_max_bytes = 256 * 1024;
	h->cfg.response_timeout_ms = 300;
	h->cfg.enquire_link_ms = 60000;
	harness_start(h);
	run_until(h, is_bound, 3000);
	smsc_sim_set_reading(h->sim, 0);
	flood_enquire(h, 1024 * 1024);
	run_for(h, 500);
	print_out_stats("stuck", h);
	run_until(h, out_dropped, 5000);
	st = smpp_link_stats(h->link);
	assert_true(st->out_pauses >= 1);
	assert_true(st->out_peak_bytes <= 16 * 1024 + SMPP_PDU_MAX);
	harness_free(h);
}

/*
 * max_message_length: a text longer than it is cut (flagged to the store,
 * counted), and parts of a concatenated message past twice it are dropped
 * but still answered.
 */
static void
test_max_message_length(void **state)
{
	struct harness *h = harness_new();
	static char text[700];
	char err[128];

	(void)state;
	memset(text, 'a', 600); /* 4 GSM-7 parts of 153: 612 > 2 x 256 */
	h->cfg.max_message_length = 256;
	h->reply = "ok";
	harness_start(h);
	run_until(h, is_bound, 3000);
	assert_int_equal(smsc_sim_add_mo(h->sim, "79001234567", "7377", text,
	                     err, sizeof(err)),
	    0);
	smsc_sim_run(h->sim, SMSC_SIM_FLOOD, on_sim_done, h);
	run_until(h, store_has_one, 3000);
	run_until(h, sim_finished, 3000);
	assert_int_equal(strlen(h->texts[0]), 256);
	assert_int_equal(h->texts_truncated, 1);
	assert_int_equal(smpp_link_stats(h->link)->mo_truncated, 1);
	assert_int_equal(smpp_link_stats(h->link)->mo_parts_dropped, 1);
	assert_int_equal(smsc_sim_stats(h->sim)->mo_done, 1);
	harness_free(h);
}

/* Send stderr (the log) to a temporary file; returns the saved fd. */
static int
capture_start(FILE **tmp)
{
	int saved;

	fflush(stderr);
	saved = dup(2);
	*tmp = tmpfile();
	assert_non_null(*tmp);
	dup2(fileno(*tmp), 2);
	return saved;
}

/* Restore stderr; the captured log, malloc'ed. */
static char *
capture_end(FILE *tmp, int saved)
{
	long n;
	char *text;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = ftell(tmp);
	text = calloc(1, (size_t)n + 1);
	rewind(tmp);
	assert_int_equal(fread(text, 1, (size_t)n, tmp), (size_t)n);
	fclose(tmp);
	return text;
}

static int
two_stored_one_receipt(struct harness *h)
{
	return h->submitted >= 2 && h->receipts >= 1 && h->resp_ok >= 3;
}

/*
 * At log level debug, with every PDU traced: the password (as text or as
 * hex), full phone numbers and a line break smuggled in source_addr never
 * reach the log.
 */
static void
test_log_scan(void **state)
{
	static const char pw[] = "Qz7pW9xK";
	struct harness *h = harness_new();
	char err[128], pwhex[2 * sizeof(pw)], *log;
	struct smpp_sm sm;
	FILE *tmp;
	int saved;

	(void)state;
	for (size_t i = 0; i < strlen(pw); i++)
		snprintf(pwhex + 2 * i, 3, "%02x", (unsigned char)pw[i]);
	h->scfg.password = pw;
	strcpy(h->cfg.password, pw);
	h->scfg.receipts = 1;
	h->reply = "Reading accepted";
	saved = capture_start(&tmp);
	log_set_level(LOG_DEBUG);
	harness_start(h);
	run_until(h, is_bound, 3000);
	smsc_sim_add_mo(
	    h->sim, "79161234567", "7377", "P 555 100", err, sizeof(err));
	smsc_sim_run(h->sim, SMSC_SIM_FLOOD, on_sim_done, h);
	sm_part(&sm, "79\nFAKE line 1", (const uint8_t *)"x\nFAKE 2", 8, 0);
	assert_true(smsc_sim_send_sm(h->sim, SMPP_CMD_DELIVER_SM, &sm) > 0);
	run_until(h, two_stored_one_receipt, 5000);
	harness_free(h);
	log = capture_end(tmp, saved);
	log_set_level(LOG_ERROR);
	assert_non_null(strstr(log, "bind_transceiver"));
	assert_non_null(strstr(log, "deliver_sm"));
	assert_null(strstr(log, pw));
	assert_null(strstr(log, pwhex));
	assert_null(strstr(log, "79161234567"));
	assert_null(strstr(log, "1234567"));
	/* Every line is a log line: it starts with its timestamp. */
	for (const char *nl = log; (nl = strchr(nl, '\n')) != NULL && nl[1];
	     nl++)
		assert_memory_equal(nl + 1, "20", 2);
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mo_single_gsm7),
		cmocka_unit_test(test_ucs2_and_long_reply),
		cmocka_unit_test(test_concatenated_mo),
		cmocka_unit_test(test_concat_out_of_order_dup_16bit_sar),
		cmocka_unit_test(test_concat_timeout),
		cmocka_unit_test(test_tempfail_then_redelivery),
		cmocka_unit_test(test_enquire_link_both_ways),
		cmocka_unit_test(test_refused_bind_backoff),
		cmocka_unit_test(test_bad_password),
		cmocka_unit_test(test_drop_mid_flood),
		cmocka_unit_test(test_throttled_submit),
		cmocka_unit_test(test_mo_paced_by_replies),
		cmocka_unit_test(test_mo_park_max_time),
		cmocka_unit_test(test_delivery_receipt),
		cmocka_unit_test(test_malformed_pdus),
		cmocka_unit_test(test_late_done_after_reconnect),
		cmocka_unit_test(test_graceful_stop),
		cmocka_unit_test(test_rx_tx_pair),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_bind_resp_mismatch),
		cmocka_unit_test(test_bad_message_id),
		cmocka_unit_test(test_output_bound),
		cmocka_unit_test(test_max_message_length),
		cmocka_unit_test(test_log_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
