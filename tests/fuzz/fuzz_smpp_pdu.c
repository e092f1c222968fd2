/*
 * libFuzzer target: one SMPP PDU through smpp_decode (our walk and
 * reader; libsmpp34 for binds), the way the link sees it after framing.
 *
 * Input: a whole frame. It is decoded twice: as given (command_length may
 * lie) and with command_length set to the input's size. For every
 * deliver_sm, submit_sm and data_sm that decodes, the user data, UDH and
 * concatenation facts must be consistent, the text must decode in its
 * data_coding without overflowing an exact buffer, and the message must
 * survive smpp_encode_sm -> smpp_decode unchanged.
 */
#include <string.h>

#include "fuzz_check.h"
#include "meterline/smpp_codec.h"
#include "meterline/text.h"

static struct smpp_pdu pdu, again;
static uint8_t wire[SMPP_PDU_MAX + 64];

static bool
is_sm(uint32_t id)
{
	return id == SMPP_CMD_DELIVER_SM || id == SMPP_CMD_SUBMIT_SM ||
	    id == SMPP_CMD_DATA_SM;
}

static void
check_text(const struct smpp_sm *sm)
{
	size_t cap = TEXT_UTF8_MAX(sm->text_len) + 1;
	char *out = malloc(cap);
	unsigned flags = 0;
	size_t n;

	CHECK(out != NULL);
	n = text_decode(
	    sm->data_coding, sm->text, sm->text_len, out, cap, &flags);
	CHECK(n < cap && out[n] == '\0' && strlen(out) == n);
	CHECK(!(flags & TEXT_F_TRUNCATED));
	free(out);
}

static void
check_sm(const struct smpp_sm *sm)
{
	CHECK(sm->ud_len <= SMPP_PDU_MAX);
	CHECK(sm->udh_len <= sm->ud_len);
	CHECK(sm->text == sm->ud + sm->udh_len);
	CHECK(sm->text_len + sm->udh_len == sm->ud_len);
	CHECK(memchr(sm->src.addr, 0, sizeof(sm->src.addr)) != NULL);
	CHECK(memchr(sm->dst.addr, 0, sizeof(sm->dst.addr)) != NULL);
	if (sm->concat.src != SMPP_CONCAT_NONE)
		CHECK(smpp_concat_sane(&sm->concat));
	if (sm->udh_len > 0)
		CHECK(sm->esm_class & SMPP_ESM_UDHI);
	check_text(sm);
}

/* What the link reads of a message must come back from our own encoding. */
static void
check_roundtrip(uint32_t id, const struct smpp_sm *sm)
{
	char err[128];
	int n = smpp_encode_sm(wire, sizeof(wire), id, 7, sm, err, sizeof(err));

	if (n < 0)
		return; /* refusing to encode is fine; encoding garbage is not */
	CHECK(n >= SMPP_HEADER_LEN && (size_t)n <= sizeof(wire));
	if ((size_t)n > SMPP_PDU_MAX)
		return;
	CHECK(smpp_decode(wire, (size_t)n, &again, err, sizeof(err)) == 0);
	CHECK(again.hdr.id == id && again.hdr.seq == 7);
	CHECK(strcmp(again.u.sm.src.addr, sm->src.addr) == 0);
	CHECK(strcmp(again.u.sm.dst.addr, sm->dst.addr) == 0);
	CHECK(again.u.sm.data_coding == sm->data_coding);
	CHECK(again.u.sm.ud_len == sm->ud_len);
	CHECK(memcmp(again.u.sm.ud, sm->ud, sm->ud_len) == 0);
	CHECK(again.u.sm.text_len == sm->text_len);
}

static void
decode_one(const uint8_t *buf, size_t len)
{
	char err[128];
	uint32_t st = smpp_decode(buf, len, &pdu, err, sizeof(err));

	CHECK(memchr(err, 0, sizeof(err)) != NULL);
	if (st != 0 || !is_sm(pdu.hdr.id))
		return;
	check_sm(&pdu.u.sm);
	check_roundtrip(pdu.hdr.id, &pdu.u.sm);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *frame;

	if (size < SMPP_HEADER_LEN || size > SMPP_PDU_MAX)
		return 0;
	/* An exact-size copy: ASan catches a read one octet past the frame. */
	frame = malloc(size);
	CHECK(frame != NULL);
	memcpy(frame, data, size);
	decode_one(frame, size);
	frame[0] = (uint8_t)(size >> 24);
	frame[1] = (uint8_t)(size >> 16);
	frame[2] = (uint8_t)(size >> 8);
	frame[3] = (uint8_t)size;
	decode_one(frame, size);
	free(frame);
	return 0;
}
