/*
 * Issue 14, the reassembly attack end to end in one process: the SMSC
 * simulator floods the ESME link over TCP with 200 concatenated messages
 * of 100 parts, each part 3,900 octets of message_payload with sar_* TLVs,
 * part k of every message before part k+1 (what keeps the most held). With
 * the default bounds the link holds at most 2 x max_message_length octets
 * per message, answers every part, cuts every text, and the process peak
 * (VmHWM) stays under 64 MB. Before the fix the same flood took serve from
 * 12 MB to 92 MB held. Its own program, so VmHWM is this test's alone.
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

#include <event2/event.h>

#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_link.h"
#include "meterline/smsc_sim.h"

/*
 * AddressSanitizer keeps freed memory in quarantine (256 MB) and maps its
 * shadow: the peak then measures the sanitizer. The bound is checked in
 * plain builds; the counts are checked everywhere.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_CHECKED 0
#endif
#endif
#ifndef RSS_CHECKED
#define RSS_CHECKED 1
#endif

#define GROUPS 200
#define PARTS 100
#define PART_OCTETS 3900

struct flood {
	struct event_base *base;
	struct smsc_sim *sim;
	struct smpp_link *link;
	unsigned stored, acked;
	size_t longest; /* text handed to the store, bytes */
};

static void
flood_submit(
    void *ctx, const struct inbound_msg *m, intake_done_cb done, void *arg)
{
	struct flood *f = ctx;
	struct intake_result r = { INTAKE_APPLIED, "accepted", NULL, NULL, 1 };

	f->stored++;
	if (m->text_len > f->longest)
		f->longest = m->text_len;
	done(&r, arg);
}

static void
flood_observer(void *arg, const struct smpp_pdu *p)
{
	struct flood *f = arg;

	if (p->hdr.id == SMPP_CMD_DELIVER_SM_RESP &&
	    p->hdr.status == SMPP_ESME_ROK)
		f->acked++;
}

static long
vm_hwm_kib(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kib = 0;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
flood_start(struct flood *f)
{
	struct smpp_link_hooks hooks = { flood_submit, NULL, NULL, NULL, f };
	struct smsc_sim_cfg scfg;
	struct config *cfg = malloc(sizeof(*cfg));
	char err[160];

	assert_non_null(cfg);
	f->base = event_base_new();
	smsc_sim_cfg_defaults(&scfg);
	f->sim = smsc_sim_new(f->base, &scfg, err, sizeof(err));
	assert_non_null(f->sim);
	smsc_sim_set_observer(f->sim, flood_observer, f);
	config_defaults(cfg);
	strcpy(cfg->smpp.host, "127.0.0.1");
	strcpy(cfg->smpp.system_id, "meter01");
	cfg->smpp.port = smsc_sim_port(f->sim);
	f->link =
	    smpp_link_new(f->base, &cfg->smpp, NULL, &hooks, err, sizeof(err));
	free(cfg);
	assert_non_null(f->link);
	smpp_link_start(f->link);
	while (!smpp_link_bound(f->link) || smsc_sim_bound(f->sim) == 0)
		event_base_loop(f->base, EVLOOP_ONCE);
}

/* Send one part; keep the simulator's own output small (it is not ours). */
static void
flood_part(struct flood *f, struct smpp_sm *sm, unsigned g, unsigned seq)
{
	snprintf(sm->src.addr, sizeof(sm->src.addr), "7916000%04u", g);
	sm->concat = (struct smpp_concat){ SMPP_CONCAT_SAR, (uint16_t)g, PARTS,
		(uint8_t)seq };
	assert_true(smsc_sim_send_sm(f->sim, SMPP_CMD_DELIVER_SM, sm) > 0);
	while (smsc_sim_output(f->sim) > 256 * 1024)
		event_base_loop(f->base, EVLOOP_ONCE);
}

static void
test_reassembly_flood(void **state)
{
	struct flood f;
	static struct smpp_sm sm;
	const struct smpp_link_stats *st;
	int64_t t0 = mono_ms();

	(void)state;
	memset(&f, 0, sizeof(f));
	log_set_level(LOG_ERROR);
	flood_start(&f);
	sm.src = (struct smpp_addr){ 1, 1, "" };
	sm.dst = (struct smpp_addr){ 0, 1, "7377" };
	sm.data_coding = 0x04;
	sm.from_payload = true;
	memset(sm.ud, 'z', PART_OCTETS);
	sm.ud_len = PART_OCTETS;
	for (unsigned seq = 1; seq <= PARTS; seq++)
		for (unsigned g = 0; g < GROUPS; g++)
			flood_part(&f, &sm, g, seq);
	while (f.acked < GROUPS * PARTS && mono_ms() - t0 < 120000)
		event_base_loop(f.base, EVLOOP_ONCE);
	st = smpp_link_stats(f.link);
	print_message("flood: %u parts of %u octets in %lld ms; %u messages "
	              "stored, longest %zu bytes; parts dropped %llu, "
	              "texts cut %llu, groups evicted %llu; VmHWM %ld KiB\n",
	    GROUPS * PARTS, PART_OCTETS, (long long)(mono_ms() - t0), f.stored,
	    f.longest, (unsigned long long)st->mo_parts_dropped,
	    (unsigned long long)st->mo_truncated,
	    (unsigned long long)st->mo_groups_evicted, vm_hwm_kib());
	assert_int_equal(f.acked, GROUPS * PARTS);
	assert_int_equal(f.stored, GROUPS);
	assert_true(f.longest <= 4096);
	assert_int_equal(st->mo_parts_dropped, GROUPS * (PARTS - 2));
	assert_int_equal(st->mo_truncated, GROUPS);
	if (RSS_CHECKED)
		assert_true(vm_hwm_kib() < 64 * 1024);
	smpp_link_free(f.link);
	smsc_sim_free(f.sim);
	for (int i = 0; i < 20; i++)
		event_base_loop(f.base, EVLOOP_NONBLOCK);
	event_base_free(f.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reassembly_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
