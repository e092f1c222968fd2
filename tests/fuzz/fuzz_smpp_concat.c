/*
 * libFuzzer target: reassembly of concatenated SMS (smpp_concat.c) fed a
 * sequence of parts, as a hostile SMSC would send them: any order,
 * repeats, clashing references, parts that never complete, time jumps.
 *
 * Input: records of 8 octets, each followed by its user data:
 *   op  bit 0-1: sender (of 4), bit 2: recipient (of 2), bit 3-4: concat
 *       source, bit 5: advance the clock by arg seconds before the part,
 *       bit 6: expire after it, bit 7: forget the message after it
 *   ref_hi ref_lo total seq dcs len arg
 * The reassembler is small (8 groups, 2,048 octets, a 512-octet group
 * bound, 5 s), so the bounds are reached often.
 *
 * Promises checked: every part's token comes back exactly once (complete,
 * expired, evicted or popped at the end), a message never holds more parts
 * or octets than arrived or than its bound allows, `complete` means every
 * part, and what is held never passes max_bytes by more than one part.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_check.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_concat.h"

#define MAX_GROUPS 8
#define MAX_BYTES 2048
#define GROUP_MAX 512
#define TIMEOUT_US 5000000
#define MAX_PARTS 4096

static uint8_t seen[MAX_PARTS]; /* tokens handed back, by part number */

static void
take(struct smpp_reasm_msg *m, size_t nparts)
{
	CHECK(m->got >= 1 && m->got <= m->total);
	CHECK(m->complete == (m->got == m->total));
	CHECK(m->ntokens >= m->got);
	CHECK(m->len <= GROUP_MAX);
	CHECK(m->len == 0 || m->data != NULL);
	for (size_t i = 0; i < m->ntokens; i++) {
		CHECK(m->tokens[i] < nparts);
		CHECK(seen[m->tokens[i]] == 0);
		seen[m->tokens[i]] = 1;
	}
	smpp_reasm_msg_free(m);
}

static void
expire_all(struct smpp_reasm *r, int64_t now, size_t nparts)
{
	struct smpp_reasm_msg *m;

	while ((m = smpp_reasm_expire(r, now)) != NULL)
		take(m, nparts);
}

/*
 * One part; with op bit 7 a part that started a group is forgotten again,
 * as the link does when it answers such a PDU itself (its token is then
 * the link's, not the reassembler's).
 */
static void
add_part(struct smpp_reasm *r, const char *src, const char *dst,
    const struct smpp_concat *c, const uint8_t *h, const uint8_t *ud,
    size_t len, size_t *nparts, int64_t now)
{
	bool alone = !smpp_reasm_has(r, src, dst, c);
	size_t tok = (*nparts)++;
	struct smpp_reasm_msg *m = NULL;
	enum smpp_reasm_rc rc;

	rc = smpp_reasm_add(r, src, dst, c, h[5], ud, len, tok, now, &m);
	if (rc == SMPP_REASM_COMPLETE)
		take(m, *nparts);
	else
		CHECK(m == NULL);
	CHECK(smpp_reasm_bytes(r) <= MAX_BYTES + GROUP_MAX);
	if (rc == SMPP_REASM_HELD && alone && (h[0] & 0x80)) {
		smpp_reasm_forget(r, src, dst, c);
		CHECK(!smpp_reasm_has(r, src, dst, c));
		seen[tok] = 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const srcs[4] = { "79001234567", "79001234568",
		"380501234567", "" };
	static const enum smpp_concat_src kinds[4] = { SMPP_CONCAT_UDH8,
		SMPP_CONCAT_UDH16, SMPP_CONCAT_SAR, SMPP_CONCAT_UDH8 };
	struct smpp_reasm *r =
	    smpp_reasm_new(MAX_GROUPS, MAX_BYTES, TIMEOUT_US);
	struct smpp_reasm_msg *m;
	int64_t now = 1000000;
	size_t nparts = 0, pos = 0;

	CHECK(r != NULL);
	smpp_reasm_set_group_max(r, GROUP_MAX);
	memset(seen, 0, sizeof(seen));
	while (pos + 8 <= size && nparts < MAX_PARTS) {
		const uint8_t *h = data + pos;
		const char *src = srcs[h[0] & 3],
		           *dst = h[0] & 4 ? "1234" : "900";
		struct smpp_concat c = { .src = kinds[(h[0] >> 3) & 3],
			.ref = (uint16_t)(h[1] << 8 | h[2]),
			.total = h[3],
			.seq = h[4] };
		size_t len = h[6];

		pos += 8;
		if (len > size - pos)
			len = size - pos;
		if (c.src == SMPP_CONCAT_UDH8)
			c.ref &= 0xFF;
		if (h[0] & 0x20)
			now += (int64_t)h[7] * 1000000;
		if (smpp_concat_sane(&c))
			add_part(
			    r, src, dst, &c, h, data + pos, len, &nparts, now);
		pos += len;
		if (h[0] & 0x40)
			expire_all(r, now, nparts);
		CHECK(smpp_reasm_next_deadline(r) == -1 ||
		    smpp_reasm_groups(r) > 0);
	}
	expire_all(r, now + 2 * TIMEOUT_US, nparts);
	CHECK(smpp_reasm_groups(r) == 0 && smpp_reasm_bytes(r) == 0);
	while ((m = smpp_reasm_pop(r)) != NULL)
		take(m, nparts);
	for (size_t i = 0; i < nparts; i++)
		CHECK(seen[i] == 1);
	smpp_reasm_free(r);
	return 0;
}
