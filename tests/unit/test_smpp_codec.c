/*
 * SMPP codec: round trips, our packing and reading against libsmpp34's
 * (test_against_libsmpp34), and every malformed input we
 * must survive (bad lengths, bad TLVs, unknown commands, statuses and
 * values the library does not list). Runs under ASan/LSan in CI, which is
 * what catches the library's own leaks and over-reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <smpp34.h>
#include <smpp34_structs.h>

#include "meterline/smpp_codec.h"
#include "meterline/text.h"

static uint8_t wire[SMPP_PDU_MAX + 64];
static struct smpp_pdu pdu;
static char err[256];

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
sm_init(struct smpp_sm *sm, const char *src, const char *dst, uint8_t dcs,
    const void *ud, size_t len)
{
	memset(sm, 0, sizeof(*sm));
	sm->src.ton = 1;
	sm->src.npi = 1;
	snprintf(sm->src.addr, sizeof(sm->src.addr), "%s", src);
	sm->dst.ton = 0;
	sm->dst.npi = 1;
	snprintf(sm->dst.addr, sizeof(sm->dst.addr), "%s", dst);
	sm->data_coding = dcs;
	memcpy(sm->ud, ud, len);
	sm->ud_len = (uint16_t)len;
}

static int
encode_deliver(const struct smpp_sm *sm, uint32_t seq)
{
	int n = smpp_encode_sm(
	    wire, sizeof(wire), SMPP_CMD_DELIVER_SM, seq, sm, err, sizeof(err));

	assert_true(n > 0);
	return n;
}

static void
test_deliver_round_trip(void **state)
{
	static const uint8_t ucs2[] = { 0x04, 0x1f, 0x00, 0x20, 0x00, 0x31 };
	struct smpp_sm sm;
	int n;

	(void)state;
	sm_init(&sm, "79001234567", "7377", 0x08, ucs2, sizeof(ucs2));
	n = encode_deliver(&sm, 42);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.hdr.id, SMPP_CMD_DELIVER_SM);
	assert_int_equal(pdu.hdr.seq, 42);
	assert_string_equal(pdu.u.sm.src.addr, "79001234567");
	assert_string_equal(pdu.u.sm.dst.addr, "7377");
	assert_int_equal(pdu.u.sm.src.ton, 1);
	assert_int_equal(pdu.u.sm.data_coding, 0x08);
	assert_int_equal(pdu.u.sm.text_len, sizeof(ucs2));
	assert_memory_equal(pdu.u.sm.text, ucs2, sizeof(ucs2));
	assert_int_equal(pdu.u.sm.concat.src, SMPP_CONCAT_NONE);
	assert_false(pdu.u.sm.is_receipt);
}

/* TON 7 and NPI 7 are refused by libsmpp34 but must pass through. */
static void
test_unlisted_ton_npi(void **state)
{
	struct smpp_sm sm;
	int n;

	(void)state;
	sm_init(&sm, "123", "456", 0, "hi", 2);
	sm.src.ton = 7;
	sm.src.npi = 7;
	n = encode_deliver(&sm, 1);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.u.sm.src.ton, 7);
	assert_int_equal(pdu.u.sm.src.npi, 7);
}

static void
test_udh_concat_8_and_16(void **state)
{
	static const uint8_t u8[] = { 5, 0x00, 3, 0xAB, 3, 2, 'x', 'y' };
	/* A foreign IE (0x24, len 1) first, then a 16-bit reference. */
	static const uint8_t u16[] = { 9, 0x24, 1, 0, 0x08, 4, 0x12, 0x34, 2, 1,
		'z' };
	struct smpp_sm sm;
	int n;

	(void)state;
	sm_init(&sm, "1", "2", 0, u8, sizeof(u8));
	sm.esm_class = SMPP_ESM_UDHI;
	n = encode_deliver(&sm, 3);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.u.sm.concat.src, SMPP_CONCAT_UDH8);
	assert_int_equal(pdu.u.sm.concat.ref, 0xAB);
	assert_int_equal(pdu.u.sm.concat.total, 3);
	assert_int_equal(pdu.u.sm.concat.seq, 2);
	assert_int_equal(pdu.u.sm.text_len, 2);
	assert_memory_equal(pdu.u.sm.text, "xy", 2);

	sm_init(&sm, "1", "2", 0, u16, sizeof(u16));
	sm.esm_class = SMPP_ESM_UDHI;
	n = encode_deliver(&sm, 4);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.u.sm.concat.src, SMPP_CONCAT_UDH16);
	assert_int_equal(pdu.u.sm.concat.ref, 0x1234);
	assert_int_equal(pdu.u.sm.concat.total, 2);
	assert_int_equal(pdu.u.sm.concat.seq, 1);
	assert_int_equal(pdu.u.sm.text_len, 1);
}

static void
test_udh_overrun(void **state)
{
	static const uint8_t bad[] = { 9, 0x00, 3, 1, 2, 1 };
	struct smpp_sm sm;
	int n;

	(void)state;
	sm_init(&sm, "1", "2", 0, bad, sizeof(bad));
	sm.esm_class = SMPP_ESM_UDHI;
	n = encode_deliver(&sm, 4);
	assert_int_equal(smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVMSGLEN);
}

static void
test_sar_and_receipt_tlvs(void **state)
{
	struct smpp_sm sm;
	int n;

	(void)state;
	sm_init(&sm, "1", "2", 0, "abc", 3);
	sm.concat = (struct smpp_concat){ SMPP_CONCAT_SAR, 0x0102, 3, 3 };
	sm.has_receipt_id = 1;
	snprintf(sm.receipted_message_id, sizeof(sm.receipted_message_id), "%s",
	    "0A1B2C");
	sm.has_message_state = 1;
	sm.message_state = 2;
	sm.esm_class = SMPP_ESM_DELIVERY_RECEIPT;
	n = encode_deliver(&sm, 9);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.u.sm.concat.src, SMPP_CONCAT_SAR);
	assert_int_equal(pdu.u.sm.concat.ref, 0x0102);
	assert_int_equal(pdu.u.sm.concat.total, 3);
	assert_int_equal(pdu.u.sm.concat.seq, 3);
	assert_true(pdu.u.sm.is_receipt);
	assert_true(pdu.u.sm.has_receipt_id);
	assert_string_equal(pdu.u.sm.receipted_message_id, "0A1B2C");
	assert_int_equal(pdu.u.sm.message_state, 2);
}

/* message_payload over 1,024 octets: libsmpp34 cannot, we must. */
static void
test_long_payload_and_data_sm(void **state)
{
	static uint8_t big[2000];
	struct smpp_sm sm;
	int n;

	(void)state;
	memset(big, 'a', sizeof(big));
	sm_init(&sm, "1", "2", 0, big, sizeof(big));
	n = encode_deliver(&sm, 5);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_true(pdu.u.sm.from_payload);
	assert_int_equal(pdu.u.sm.ud_len, sizeof(big));

	sm_init(&sm, "79001112233", "7377", 8, "\x00h", 2);
	n = smpp_encode_sm(
	    wire, sizeof(wire), SMPP_CMD_DATA_SM, 6, &sm, err, sizeof(err));
	assert_true(n > 0);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.hdr.id, SMPP_CMD_DATA_SM);
	assert_int_equal(pdu.u.sm.text_len, 2);
	assert_string_equal(pdu.u.sm.src.addr, "79001112233");
}

/* sm_length 254 is valid SMPP; the library refuses to pack it. */
static void
test_sm_length_254(void **state)
{
	static uint8_t ud[254];
	struct smpp_sm sm;
	int n;

	(void)state;
	memset(ud, 'b', sizeof(ud));
	sm_init(&sm, "1", "2", 0, ud, sizeof(ud));
	n = encode_deliver(&sm, 5);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.u.sm.ud_len, 254);
}

static void
test_bind_round_trip(void **state)
{
	struct smpp_bind b = { "meter01", "secret", "MLINE", 0x34, 1, 1, "^7" };
	int n;

	(void)state;
	n = smpp_encode_bind(wire, sizeof(wire), SMPP_CMD_BIND_TRANSCEIVER, 1,
	    &b, err, sizeof(err));
	assert_int_equal(n, 16 + 8 + 7 + 6 + 3 + 3);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_string_equal(pdu.u.bind.system_id, "meter01");
	assert_string_equal(pdu.u.bind.password, "secret");
	assert_string_equal(pdu.u.bind.system_type, "MLINE");
	assert_string_equal(pdu.u.bind.address_range, "^7");
	assert_int_equal(pdu.u.bind.addr_npi, 1);

	n = smpp_encode_bind_resp(wire, sizeof(wire),
	    SMPP_CMD_BIND_TRANSCEIVER_RESP, 1, 0, "SMSC", err, sizeof(err));
	assert_true(n > 16);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_true(pdu.body_ok);
	assert_string_equal(pdu.u.id, "SMSC");

	/* A password of 9 characters does not fit. */
	snprintf(b.password, sizeof(b.password), "%s", "12345678");
	memcpy(b.password, "123456789", 9); /* no NUL */
	assert_int_equal(
	    smpp_encode_bind(wire, sizeof(wire), SMPP_CMD_BIND_TRANSCEIVER, 1,
	        &b, err, sizeof(err)),
	    -1);
}

/* A bind_resp with an error and no body: libsmpp34 fails, we must not. */
static void
test_bind_resp_error_without_body(void **state)
{
	int n;

	(void)state;
	n = smpp_encode_bind_resp(wire, sizeof(wire),
	    SMPP_CMD_BIND_TRANSCEIVER_RESP, 7, SMPP_ESME_RINVPASWD, "x", err,
	    sizeof(err));
	assert_int_equal(n, 16);
	assert_int_equal(smpp_decode(wire, 16, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.hdr.status, SMPP_ESME_RINVPASWD);
	assert_false(pdu.body_ok);
}

/* Vendor statuses 0x400-0x4FF: unknown to the library, fine for us. */
static void
test_vendor_status(void **state)
{
	int n;

	(void)state;
	n = smpp_encode_sm_resp(wire, sizeof(wire), SMPP_CMD_DELIVER_SM_RESP, 8,
	    0x0456, NULL, err, sizeof(err));
	assert_int_equal(n, 17);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.hdr.status, 0x456);
	n = smpp_encode_sm_resp(wire, sizeof(wire), SMPP_CMD_SUBMIT_SM_RESP, 8,
	    0x0456, NULL, err, sizeof(err));
	assert_int_equal(n, 16);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.hdr.status, 0x456);
	n = smpp_encode_sm_resp(wire, sizeof(wire), SMPP_CMD_SUBMIT_SM_RESP, 9,
	    0, "abc123", err, sizeof(err));
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_true(pdu.body_ok);
	assert_string_equal(pdu.u.id, "abc123");
}

static void
test_header_only(void **state)
{
	(void)state;
	assert_int_equal(smpp_encode_header(
	                     wire, sizeof(wire), SMPP_CMD_ENQUIRE_LINK, 0, 77),
	    16);
	assert_int_equal(smpp_decode(wire, 16, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.hdr.id, SMPP_CMD_ENQUIRE_LINK);
	assert_int_equal(pdu.hdr.seq, 77);
	/* Sequence 0 (refused by the library) in a generic_nack is fine. */
	assert_int_equal(smpp_encode_header(wire, sizeof(wire),
	                     SMPP_CMD_GENERIC_NACK, SMPP_ESME_RINVCMDLEN, 0),
	    16);
	assert_int_equal(smpp_decode(wire, 16, &pdu, err, sizeof(err)), 0);
	/* An enquire_link with a body is malformed. */
	smpp_encode_header(wire, sizeof(wire), SMPP_CMD_ENQUIRE_LINK, 0, 5);
	put32(wire, 20);
	assert_int_equal(smpp_decode(wire, 20, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVCMDLEN);
}

static void
test_bad_lengths(void **state)
{
	struct smpp_sm sm;
	int n;

	(void)state;
	smpp_encode_header(wire, sizeof(wire), SMPP_CMD_ENQUIRE_LINK, 0, 5);
	assert_int_equal(smpp_decode(wire, 15, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVCMDLEN);
	assert_int_equal(
	    smpp_decode(wire, SMPP_PDU_MAX + 1, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVCMDLEN);
	put32(wire, 17); /* command_length disagrees with the frame */
	assert_int_equal(smpp_decode(wire, 16, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVCMDLEN);

	/* deliver_sm cut in the middle of its strings: no over-read (ASan). */
	sm_init(&sm, "79001234567", "7377", 0, "hello", 5);
	n = encode_deliver(&sm, 2);
	for (int cut = 17; cut < n; cut++) {
		uint8_t frame[SMPP_PDU_MAX];

		memcpy(frame, wire, (size_t)cut);
		put32(frame, (uint32_t)cut);
		assert_int_not_equal(
		    smpp_decode(frame, (size_t)cut, &pdu, err, sizeof(err)), 0);
	}
	/* sm_length larger than what follows. */
	wire[n - 6] = 200;
	assert_int_equal(smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVMSGLEN);
}

/* An unterminated string in the last octets of the frame. */
static void
test_unterminated_string(void **state)
{
	uint8_t frame[40];

	(void)state;
	memset(frame, 'A', sizeof(frame));
	put32(frame, sizeof(frame));
	put32(frame + 4, SMPP_CMD_BIND_TRANSCEIVER);
	put32(frame + 8, 0);
	put32(frame + 12, 1);
	assert_int_equal(
	    smpp_decode(frame, sizeof(frame), &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVMSGLEN);
}

static void
test_bad_tlvs(void **state)
{
	struct smpp_sm sm;
	uint8_t frame[SMPP_PDU_MAX];
	int n;

	(void)state;
	sm_init(&sm, "1", "2", 0, "x", 1);
	n = encode_deliver(&sm, 2);
	/* A TLV whose length runs past command_length. */
	memcpy(frame, wire, (size_t)n);
	memcpy(frame + n, "\x04\x24\x00\x10zz", 6);
	put32(frame, (uint32_t)n + 6);
	assert_int_equal(
	    smpp_decode(frame, (size_t)n + 6, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVOPTPARSTREAM);
	/* A TLV header cut short. */
	memcpy(frame + n, "\x02\x0c\x00", 3);
	put32(frame, (uint32_t)n + 3);
	assert_int_equal(
	    smpp_decode(frame, (size_t)n + 3, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVOPTPARSTREAM);
	/* sar_msg_ref_num with length 1 instead of 2. */
	memcpy(frame + n, "\x02\x0c\x00\x01\x05", 5);
	put32(frame, (uint32_t)n + 5);
	assert_int_equal(
	    smpp_decode(frame, (size_t)n + 5, &pdu, err, sizeof(err)),
	    SMPP_ESME_RINVPARLEN);
	/* Unknown TLVs are skipped, including vendor ones. */
	memcpy(frame + n, "\x14\x01\x00\x02zz\x00\x05\x00\x00", 10);
	put32(frame, (uint32_t)n + 10);
	assert_int_equal(
	    smpp_decode(frame, (size_t)n + 10, &pdu, err, sizeof(err)), 0);
}

static void
test_unknown_command(void **state)
{
	(void)state;
	smpp_encode_header(wire, sizeof(wire), 0x00000099, 0, 5);
	assert_int_equal(
	    smpp_decode(wire, 16, &pdu, err, sizeof(err)), SMPP_ESME_RINVCMDID);
	assert_int_equal(pdu.hdr.seq, 5);
	assert_false(smpp_cmd_known(0x00010200));
}

/* Every prefix and every single-octet corruption: never crash or leak. */
static void
test_corruption_sweep(void **state)
{
	struct smpp_sm sm;
	uint8_t frame[SMPP_PDU_MAX];
	int n;

	(void)state;
	sm_init(&sm, "79001234567", "7377", 0, "\x05\x00\x03\x01\x02\x01hi", 8);
	sm.esm_class = SMPP_ESM_UDHI;
	sm.has_message_state = 1;
	sm.message_state = 2;
	n = encode_deliver(&sm, 2);
	for (int i = 0; i < n; i++) {
		for (int v = 0; v < 256; v += 37) {
			memcpy(frame, wire, (size_t)n);
			frame[i] = (uint8_t)v;
			(void)smpp_decode(
			    frame, (size_t)n, &pdu, err, sizeof(err));
		}
	}
}

static void
test_submit_from_text_part(void **state)
{
	struct text_part part = { 8, { 5, 0, 3, 7, 2, 1, 'o', 'k' } };
	struct smpp_addr src = { 0, 1, "7377" }, dst = { 1, 1, "79001234567" };
	struct smpp_sm sm;
	int n;

	(void)state;
	smpp_sm_from_part(&sm, &src, &dst, 0, 1, &part);
	n = smpp_encode_sm(
	    wire, sizeof(wire), SMPP_CMD_SUBMIT_SM, 11, &sm, err, sizeof(err));
	assert_true(n > 0);
	assert_int_equal(
	    smpp_decode(wire, (size_t)n, &pdu, err, sizeof(err)), 0);
	assert_int_equal(pdu.hdr.id, SMPP_CMD_SUBMIT_SM);
	assert_int_equal(pdu.u.sm.esm_class, SMPP_ESM_UDHI);
	assert_int_equal(pdu.u.sm.concat.ref, 7);
	assert_int_equal(pdu.u.sm.text_len, 2);
	assert_string_equal(pdu.u.sm.dst.addr, "79001234567");
}

static void
test_names_and_seq(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(
	    smpp_cmd_name(SMPP_CMD_DELIVER_SM, buf, sizeof(buf)), "deliver_sm");
	assert_string_equal(
	    smpp_status_name(0x58, buf, sizeof(buf)), "ESME_RTHROTTLED");
	assert_string_equal(
	    smpp_status_name(0x458, buf, sizeof(buf)), "0x00000458");
	assert_int_equal(smpp_seq_next(SMPP_SEQ_MAX), 1);
	assert_int_equal(smpp_seq_next(0), 1);
	assert_int_equal(smpp_seq_next(5), 6);
	assert_true(smpp_status_temporary(SMPP_ESME_RTHROTTLED));
	assert_false(smpp_status_temporary(SMPP_ESME_RINVDSTADR));
}

/*
 * The hot path's PDUs are packed and read by our own code, not by
 * libsmpp34 (its per-field snprintf trace cost a fifth of serve's CPU).
 * The library stays the reference: 2,000 random deliver_sm and submit_sm
 * (listed TON/NPI, strings of every length that fits, any user data up
 * to 253 octets) written by us must be what smpp34_pack writes, octet
 * for octet, and read back the same through smpp34_unpack; written by
 * smpp34_pack they must read back the same through smpp_decode. The
 * same for submit_sm_resp and deliver_sm_resp.
 */
static uint32_t rnd_state = 12345;

static uint32_t
rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

static void
rnd_str(char *dst, size_t size)
{
	size_t n = rnd((uint32_t)size);

	for (size_t i = 0; i < n; i++)
		dst[i] = (char)(0x21 + rnd(0x5e));
	dst[n] = '\0';
}

static void
rnd_sm(struct smpp_sm *sm)
{
	static const uint8_t npis[] = { 0, 1, 3, 4, 6, 8, 9, 10, 14, 18 };

	memset(sm, 0, sizeof(*sm));
	rnd_str(sm->service_type, 6);
	rnd_str(sm->src.addr, 21);
	rnd_str(sm->dst.addr, 21);
	sm->src.ton = (uint8_t)rnd(7);
	sm->src.npi = npis[rnd(sizeof(npis))];
	sm->dst.ton = (uint8_t)rnd(7);
	sm->dst.npi = npis[rnd(sizeof(npis))];
	sm->esm_class = (uint8_t)(rnd(256) & ~SMPP_ESM_UDHI);
	sm->protocol_id = (uint8_t)rnd(256);
	sm->priority_flag = (uint8_t)rnd(4);
	sm->registered_delivery = (uint8_t)rnd(256);
	sm->data_coding = (uint8_t)rnd(256);
	sm->ud_len = (uint16_t)rnd(254);
	for (size_t i = 0; i < sm->ud_len; i++)
		sm->ud[i] = (uint8_t)rnd(256);
}

/* The library's deliver_sm_t and submit_sm_t share these members. */
#define LIB_FROM_SM(p, sm) \
	do { \
		memcpy((p)->service_type, (sm)->service_type, \
		    strlen((sm)->service_type)); \
		(p)->source_addr_ton = (sm)->src.ton; \
		(p)->source_addr_npi = (sm)->src.npi; \
		memcpy( \
		    (p)->source_addr, (sm)->src.addr, strlen((sm)->src.addr)); \
		(p)->dest_addr_ton = (sm)->dst.ton; \
		(p)->dest_addr_npi = (sm)->dst.npi; \
		memcpy((p)->destination_addr, (sm)->dst.addr, \
		    strlen((sm)->dst.addr)); \
		(p)->esm_class = (sm)->esm_class; \
		(p)->protocol_id = (sm)->protocol_id; \
		(p)->priority_flag = (sm)->priority_flag; \
		(p)->registered_delivery = (sm)->registered_delivery; \
		(p)->data_coding = (sm)->data_coding; \
		(p)->sm_length = (uint8_t)(sm)->ud_len; \
		memcpy((p)->short_message, (sm)->ud, (sm)->ud_len); \
	} while (0)

#define ASSERT_LIB_IS_SM(p, sm) \
	do { \
		assert_string_equal( \
		    (char *)(p)->service_type, (sm)->service_type); \
		assert_int_equal((p)->source_addr_ton, (sm)->src.ton); \
		assert_int_equal((p)->source_addr_npi, (sm)->src.npi); \
		assert_string_equal((char *)(p)->source_addr, (sm)->src.addr); \
		assert_int_equal((p)->dest_addr_ton, (sm)->dst.ton); \
		assert_int_equal((p)->dest_addr_npi, (sm)->dst.npi); \
		assert_string_equal( \
		    (char *)(p)->destination_addr, (sm)->dst.addr); \
		assert_int_equal((p)->esm_class, (sm)->esm_class); \
		assert_int_equal((p)->protocol_id, (sm)->protocol_id); \
		assert_int_equal((p)->priority_flag, (sm)->priority_flag); \
		assert_int_equal( \
		    (p)->registered_delivery, (sm)->registered_delivery); \
		assert_int_equal((p)->data_coding, (sm)->data_coding); \
		assert_int_equal((p)->sm_length, (sm)->ud_len); \
		assert_memory_equal( \
		    (p)->short_message, (sm)->ud, (sm)->ud_len); \
	} while (0)

static void
assert_sm_equal(const struct smpp_sm *a, const struct smpp_sm *b)
{
	assert_string_equal(a->service_type, b->service_type);
	assert_int_equal(a->src.ton, b->src.ton);
	assert_int_equal(a->src.npi, b->src.npi);
	assert_string_equal(a->src.addr, b->src.addr);
	assert_int_equal(a->dst.ton, b->dst.ton);
	assert_int_equal(a->dst.npi, b->dst.npi);
	assert_string_equal(a->dst.addr, b->dst.addr);
	assert_int_equal(a->esm_class, b->esm_class);
	assert_int_equal(a->protocol_id, b->protocol_id);
	assert_int_equal(a->priority_flag, b->priority_flag);
	assert_int_equal(a->registered_delivery, b->registered_delivery);
	assert_int_equal(a->data_coding, b->data_coding);
	assert_int_equal(a->ud_len, b->ud_len);
	assert_memory_equal(a->ud, b->ud, a->ud_len);
}

/* One random short message both ways, as deliver_sm or submit_sm. */
static void
sm_against_lib(uint32_t id, uint32_t seq)
{
	static uint8_t lib[SMPP_PDU_MAX + 1];
	static struct smpp_sm sm;
	union {
		deliver_sm_t d;
		submit_sm_t s;
	} u;
	int n, len = 0;

	rnd_sm(&sm);
	n = smpp_encode_sm(wire, sizeof(wire), id, seq, &sm, err, sizeof(err));
	assert_true(n > 0);
	memset(&u, 0, sizeof(u));
	assert_int_equal(smpp34_unpack(id, &u, wire, n), 0);
	if (id == SMPP_CMD_DELIVER_SM)
		ASSERT_LIB_IS_SM(&u.d, &sm);
	else
		ASSERT_LIB_IS_SM(&u.s, &sm);
	assert_int_equal(u.d.sequence_number, seq);

	memset(&u, 0, sizeof(u));
	u.d.command_id = id;
	u.d.sequence_number = seq;
	if (id == SMPP_CMD_DELIVER_SM)
		LIB_FROM_SM(&u.d, &sm);
	else
		LIB_FROM_SM(&u.s, &sm);
	assert_int_equal(smpp34_pack(id, lib, sizeof(lib), &len, &u), 0);
	assert_int_equal(len, n); /* and octet for octet what we wrote */
	assert_memory_equal(lib, wire, (size_t)n);
	assert_int_equal(smpp_decode(lib, (size_t)len, &pdu, err, sizeof(err)),
	    SMPP_ESME_ROK);
	assert_int_equal(pdu.hdr.seq, seq);
	assert_sm_equal(&pdu.u.sm, &sm);
}

/* A submit_sm_resp's message_id and a deliver_sm_resp, both ways. */
static void
resp_against_lib(uint32_t seq)
{
	static uint8_t lib[256];
	submit_sm_resp_t r;
	deliver_sm_resp_t d;
	char id[65];
	int n, len = 0;

	rnd_str(id, sizeof(id));
	n = smpp_encode_sm_resp(wire, sizeof(wire), SMPP_CMD_SUBMIT_SM_RESP,
	    seq, 0, id, err, sizeof(err));
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    smpp34_unpack(SMPP_CMD_SUBMIT_SM_RESP, &r, wire, n), 0);
	assert_string_equal((char *)r.message_id, id);
	assert_int_equal(r.sequence_number, seq);
	memset(&r, 0, sizeof(r));
	r.command_id = SMPP_CMD_SUBMIT_SM_RESP;
	r.sequence_number = seq;
	memcpy(r.message_id, id, strlen(id));
	assert_int_equal(
	    smpp34_pack(SMPP_CMD_SUBMIT_SM_RESP, lib, sizeof(lib), &len, &r),
	    0);
	assert_int_equal(len, n);
	assert_memory_equal(lib, wire, (size_t)n);
	assert_int_equal(smpp_decode(lib, (size_t)len, &pdu, err, sizeof(err)),
	    SMPP_ESME_ROK);
	assert_true(pdu.body_ok);
	assert_string_equal(pdu.u.id, id);

	n = smpp_encode_sm_resp(wire, sizeof(wire), SMPP_CMD_DELIVER_SM_RESP,
	    seq, 0, NULL, err, sizeof(err));
	assert_int_equal(n, SMPP_HEADER_LEN + 1);
	memset(&d, 0, sizeof(d));
	assert_int_equal(
	    smpp34_unpack(SMPP_CMD_DELIVER_SM_RESP, &d, wire, n), 0);
	assert_int_equal(d.sequence_number, seq);
}

static void
test_against_libsmpp34(void **state)
{
	(void)state;
	for (uint32_t i = 1; i <= 1000; i++) {
		sm_against_lib(SMPP_CMD_DELIVER_SM, i);
		sm_against_lib(SMPP_CMD_SUBMIT_SM, i + 5000);
		resp_against_lib(i);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deliver_round_trip),
		cmocka_unit_test(test_unlisted_ton_npi),
		cmocka_unit_test(test_udh_concat_8_and_16),
		cmocka_unit_test(test_udh_overrun),
		cmocka_unit_test(test_sar_and_receipt_tlvs),
		cmocka_unit_test(test_long_payload_and_data_sm),
		cmocka_unit_test(test_sm_length_254),
		cmocka_unit_test(test_bind_round_trip),
		cmocka_unit_test(test_bind_resp_error_without_body),
		cmocka_unit_test(test_vendor_status),
		cmocka_unit_test(test_header_only),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_unterminated_string),
		cmocka_unit_test(test_bad_tlvs),
		cmocka_unit_test(test_unknown_command),
		cmocka_unit_test(test_corruption_sweep),
		cmocka_unit_test(test_submit_from_text_part),
		cmocka_unit_test(test_names_and_seq),
		cmocka_unit_test(test_against_libsmpp34),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
