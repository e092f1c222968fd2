/*
 * Reassembly of concatenated messages without any network: order,
 * duplicates, keys, timeouts and the memory bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "meterline/smpp_codec.h"
#include "meterline/smpp_concat.h"

static enum smpp_reasm_rc
add(struct smpp_reasm *r, const char *src, uint16_t ref, uint8_t total,
    uint8_t seq, const char *data, uint64_t tok, int64_t now,
    struct smpp_reasm_msg **out)
{
	struct smpp_concat c = { SMPP_CONCAT_UDH8, ref, total, seq };

	return smpp_reasm_add(r, src, "7377", &c, 0, (const uint8_t *)data,
	    strlen(data), tok, now, out);
}

/* Parts in any order come out in order, with every token. */
static void
test_out_of_order(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(16, 1 << 16, 1000);
	struct smpp_reasm_msg *m;

	(void)state;
	assert_int_equal(add(r, "a", 1, 3, 3, "C", 30, 0, &m), SMPP_REASM_HELD);
	assert_int_equal(add(r, "a", 1, 3, 1, "A", 10, 0, &m), SMPP_REASM_HELD);
	assert_int_equal(
	    add(r, "a", 1, 3, 2, "B", 20, 0, &m), SMPP_REASM_COMPLETE);
	assert_non_null(m);
	assert_int_equal(m->len, 3);
	assert_memory_equal(m->data, "ABC", 3);
	assert_true(m->complete);
	assert_int_equal(m->ntokens, 3);
	assert_int_equal(m->tokens[0] + m->tokens[1] + m->tokens[2], 60);
	smpp_reasm_msg_free(m);
	assert_int_equal(smpp_reasm_groups(r), 0);
	assert_int_equal(smpp_reasm_bytes(r), 0);
	smpp_reasm_free(r);
}

/* A duplicate part keeps its token (it needs an answer) but not its data. */
static void
test_duplicate(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(16, 1 << 16, 1000);
	struct smpp_reasm_msg *m;

	(void)state;
	add(r, "a", 1, 2, 1, "A", 1, 0, &m);
	assert_int_equal(
	    add(r, "a", 1, 2, 1, "X", 2, 0, &m), SMPP_REASM_DUPLICATE);
	assert_int_equal(
	    add(r, "a", 1, 2, 2, "B", 3, 0, &m), SMPP_REASM_COMPLETE);
	assert_memory_equal(m->data, "AB", 2);
	assert_int_equal(m->ntokens, 3);
	smpp_reasm_msg_free(m);
	smpp_reasm_free(r);
}

/* The key is (sender, recipient, reference, total): no mixing. */
static void
test_keys(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(16, 1 << 16, 1000);
	struct smpp_reasm_msg *m;

	(void)state;
	add(r, "a", 1, 2, 1, "A1", 1, 0, &m);
	add(r, "b", 1, 2, 1, "B1", 2, 0, &m);
	add(r, "a", 2, 2, 1, "A2", 3, 0, &m);
	add(r, "a", 1, 3, 1, "T3", 4, 0, &m);
	assert_int_equal(smpp_reasm_groups(r), 4);
	assert_int_equal(
	    add(r, "b", 1, 2, 2, "-", 5, 0, &m), SMPP_REASM_COMPLETE);
	assert_memory_equal(m->data, "B1-", 3);
	smpp_reasm_msg_free(m);
	smpp_reasm_free(r);
}

/* After the timeout, what arrived is handed back, in order, incomplete. */
static void
test_timeout(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(16, 1 << 16, 1000);
	struct smpp_reasm_msg *m;

	(void)state;
	add(r, "a", 1, 3, 3, "C", 1, 100, &m);
	add(r, "a", 1, 3, 1, "A", 2, 500, &m);
	assert_int_equal(smpp_reasm_next_deadline(r), 1100);
	assert_null(smpp_reasm_expire(r, 1099));
	m = smpp_reasm_expire(r, 1100);
	assert_non_null(m);
	assert_false(m->complete);
	assert_int_equal(m->got, 2);
	assert_int_equal(m->total, 3);
	assert_memory_equal(m->data, "AC", 2);
	smpp_reasm_msg_free(m);
	assert_int_equal(smpp_reasm_next_deadline(r), -1);
	smpp_reasm_free(r);
}

/* Past max_groups the oldest group is handed back at once. */
static void
test_bounds(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(2, 1 << 16, 1000000);
	struct smpp_reasm_msg *m;
	char src[8];

	(void)state;
	add(r, "a", 1, 2, 1, "A", 1, 0, &m);
	add(r, "b", 1, 2, 1, "B", 2, 0, &m);
	add(r, "c", 1, 2, 1, "C", 3, 0, &m);
	assert_int_equal(smpp_reasm_next_deadline(r), 0);
	m = smpp_reasm_expire(r, 1);
	assert_non_null(m);
	assert_string_equal(m->src, "a");
	smpp_reasm_msg_free(m);
	assert_null(smpp_reasm_expire(r, 1));
	assert_int_equal(smpp_reasm_groups(r), 2);
	/* Bytes: 10 octets allowed; a fourth group pushes two out. */
	smpp_reasm_free(r);
	r = smpp_reasm_new(100, 10, 1000000);
	for (int i = 0; i < 5; i++) {
		snprintf(src, sizeof(src), "s%d", i);
		add(r, src, 1, 2, 1, "abcd", (uint64_t)i, 0, &m);
		while ((m = smpp_reasm_expire(r, 0)) != NULL)
			smpp_reasm_msg_free(m);
		assert_true(smpp_reasm_bytes(r) <= 10);
	}
	/* Whatever is left comes out with pop; free releases the rest. */
	m = smpp_reasm_pop(r);
	assert_non_null(m);
	smpp_reasm_msg_free(m);
	smpp_reasm_free(r);
}

/*
 * Issue 14: the byte bound holds on every part, not only when a group is
 * created. Parts added to groups that already exist push the oldest other
 * group out; what is held never passes max_bytes by more than one part.
 */
static void
test_bytes_every_part(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(100, 10000, 1000000);
	struct smpp_reasm_msg *m;
	static char part[1001];
	char src[8];
	unsigned evicted = 0;

	(void)state;
	memset(part, 'x', 1000);
	for (int seq = 1; seq <= 50; seq++) {
		for (int g = 0; g < 4; g++) {
			snprintf(src, sizeof(src), "s%d", g);
			add(r, src, 1, 100, (uint8_t)seq, part, 0, 0, &m);
			while ((m = smpp_reasm_expire(r, 0)) != NULL) {
				assert_true(m->evicted);
				assert_false(m->complete);
				evicted++;
				smpp_reasm_msg_free(m);
			}
			assert_true(smpp_reasm_bytes(r) <= 10000 + 1000);
		}
	}
	assert_true(evicted > 0);
	assert_int_equal(smpp_reasm_counts(r)->groups_evicted, evicted);
	smpp_reasm_free(r);
}

/*
 * A group bounded on its own: the part past the bound is counted as
 * arrived (the message completes, its PDU is answered) but its octets are
 * dropped and the message comes back truncated.
 */
static void
test_group_max(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(16, 1 << 16, 1000);
	struct smpp_reasm_msg *m;

	(void)state;
	smpp_reasm_set_group_max(r, 10);
	assert_int_equal(
	    add(r, "a", 1, 3, 1, "AAAA", 1, 0, &m), SMPP_REASM_HELD);
	assert_int_equal(
	    add(r, "a", 1, 3, 3, "CCCCC", 3, 0, &m), SMPP_REASM_HELD);
	assert_int_equal(
	    add(r, "a", 1, 3, 2, "BBBB", 2, 0, &m), SMPP_REASM_COMPLETE);
	assert_non_null(m);
	assert_true(m->truncated);
	assert_true(m->complete);
	assert_int_equal(m->len, 9);
	assert_memory_equal(m->data, "AAAACCCCC", 9);
	assert_int_equal(m->ntokens, 3);
	smpp_reasm_msg_free(m);
	/* The drop of a part that is not the last is reported as such. */
	add(r, "b", 1, 3, 1, "AAAAAAAA", 1, 0, &m);
	assert_int_equal(
	    add(r, "b", 1, 3, 2, "BBBB", 2, 0, &m), SMPP_REASM_DROPPED);
	assert_int_equal(smpp_reasm_counts(r)->parts_dropped, 2);
	assert_int_equal(smpp_reasm_bytes(r), 8);
	smpp_reasm_free(r);
}

/*
 * The attack of issue 14 at the reassembler with the link's bounds
 * (4096 groups, 4 MiB, 8192 octets a group): 200 groups x 100 parts of
 * 3,900 octets, part k of every group before part k+1. Held bytes stay
 * within one group bound per group (test_smpp_flood measures the process
 * peak with the link over TCP).
 */
static void
test_flood_held_bytes(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(4096, 4u << 20, 60000000);
	struct smpp_reasm_msg *m;
	static uint8_t part[3900];
	size_t peak = 0;
	unsigned done = 0;
	char src[16];

	(void)state;
	memset(part, 'z', sizeof(part));
	smpp_reasm_set_group_max(r, 8192);
	for (int seq = 1; seq <= 100; seq++) {
		for (int g = 0; g < 200; g++) {
			struct smpp_concat c = { SMPP_CONCAT_SAR, (uint16_t)g,
				100, (uint8_t)seq };

			snprintf(src, sizeof(src), "7916000%04d", g);
			if (smpp_reasm_add(r, src, "7377", &c, 0x04, part,
			        sizeof(part), 0, 0,
			        &m) == SMPP_REASM_COMPLETE) {
				assert_true(m->truncated);
				assert_true(m->len <= 8192);
				smpp_reasm_msg_free(m);
				done++;
			}
			if (smpp_reasm_bytes(r) > peak)
				peak = smpp_reasm_bytes(r);
		}
	}
	assert_int_equal(done, 200);
	assert_true(peak <= 200 * 8192);
	assert_int_equal(smpp_reasm_counts(r)->parts_dropped, 200 * 98);
	print_message("flood: peak held %zu octets\n", peak);
	smpp_reasm_free(r);
}

/* Many interleaved groups, every part once: all complete, nothing held. */
static void
test_many(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(4096, 1 << 20, 1000000);
	struct smpp_reasm_msg *m;
	char src[16];
	unsigned done = 0;

	(void)state;
	for (int seq = 3; seq >= 1; seq--) {
		for (int i = 0; i < 1000; i++) {
			snprintf(src, sizeof(src), "7900%04d", i);
			if (add(r, src, (uint16_t)i, 3, (uint8_t)seq, "xy", 0,
			        0, &m) == SMPP_REASM_COMPLETE) {
				assert_int_equal(m->len, 6);
				smpp_reasm_msg_free(m);
				done++;
			}
		}
	}
	assert_int_equal(done, 1000);
	assert_int_equal(smpp_reasm_groups(r), 0);
	smpp_reasm_free(r);
}

/* A UCS-2 part of odd length must not shift the parts after it. */
static void
test_ucs2_odd_part(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(16, 1 << 16, 1000);
	struct smpp_concat c1 = { SMPP_CONCAT_UDH8, 5, 2, 1 };
	struct smpp_concat c2 = { SMPP_CONCAT_UDH8, 5, 2, 2 };
	static const uint8_t p1[] = { 0x04, 0x1F,
		0x04 }; /* П + a stray octet */
	static const uint8_t p2[] = { 0x04, 0x21 }; /* С */
	static const uint8_t want[] = { 0x04, 0x1F, 0xFF, 0xFD, 0x04, 0x21 };
	struct smpp_reasm_msg *m;

	(void)state;
	smpp_reasm_add(r, "a", "b", &c1, 0x08, p1, sizeof(p1), 1, 0, &m);
	assert_int_equal(
	    smpp_reasm_add(r, "a", "b", &c2, 0x08, p2, sizeof(p2), 2, 0, &m),
	    SMPP_REASM_COMPLETE);
	assert_int_equal(m->len, sizeof(want));
	assert_memory_equal(m->data, want, sizeof(want));
	assert_int_equal(m->odd_parts, 1);
	smpp_reasm_msg_free(m);
	smpp_reasm_free(r);
}

/*
 * The group bound holds for the message handed back: the octet an odd
 * UCS-2 part grows by (its U+FFFD) counts against it. Found by the
 * smpp_concat fuzz target (regress/smpp_concat/ucs2_odd_past_group_max).
 */
static void
test_ucs2_odd_group_max(void **state)
{
	struct smpp_reasm *r = smpp_reasm_new(16, 1 << 16, 1000);
	struct smpp_concat c1 = { SMPP_CONCAT_UDH8, 6, 2, 1 };
	struct smpp_concat c2 = { SMPP_CONCAT_UDH8, 6, 2, 2 };
	static const uint8_t p1[] = { 0x04, 0x1F, 0x04 };
	static const uint8_t p2[] = { 0x04 };
	static const uint8_t want[] = { 0x04, 0x1F, 0xFF, 0xFD };
	struct smpp_reasm_msg *m;

	(void)state;
	smpp_reasm_set_group_max(r, 4);
	assert_int_equal(
	    smpp_reasm_add(r, "a", "b", &c1, 0x08, p1, sizeof(p1), 1, 0, &m),
	    SMPP_REASM_HELD);
	/* 3 + 1 octets held would fit; 4 + 2 handed back would not. */
	assert_int_equal(
	    smpp_reasm_add(r, "a", "b", &c2, 0x08, p2, sizeof(p2), 2, 0, &m),
	    SMPP_REASM_COMPLETE);
	assert_true(m->truncated);
	assert_int_equal(m->len, sizeof(want));
	assert_memory_equal(m->data, want, sizeof(want));
	smpp_reasm_msg_free(m);
	smpp_reasm_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_bytes_every_part),
		cmocka_unit_test(test_group_max),
		cmocka_unit_test(test_flood_held_bytes),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_ucs2_odd_part),
		cmocka_unit_test(test_ucs2_odd_group_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
