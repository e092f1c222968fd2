/*
 * SMPP 3.4 codec: the only file of the product that includes libsmpp34.
 *
 * libsmpp34 trusts its input (strlen over the wire bytes, TLV nodes leaked on
 * errors, fixed-size TLVs whose length field is ignored, 1 KiB TLV cap) and
 * rejects valid values it does not list (vendor statuses, some TON/NPI,
 * sequence 0). So every PDU is first walked here, field by field, against
 * command_length; the walk writes a sanitised copy of the mandatory part
 * (header status/sequence neutralised, out-of-list TON/NPI replaced by 0,
 * deliver_sm time fields emptied, NUL guard after the last byte) and only
 * that copy is given to smpp34_unpack. TLVs never reach the library: we
 * read them ourselves by tag during the walk, and on the way out append
 * them after the packed mandatory part. The original values come back from
 * the raw bytes. docs/smpp.md lists the quirks. The PDUs of every MO and
 * reply (deliver_sm, submit_sm, data_sm and their responses) are read from
 * the walk and written here without the library: its per-field snprintf
 * trace was a fifth of serve's CPU (sm_read, sm_put).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>

#include "meterline/smpp_codec.h"
#include "meterline/octets.h"

/* ---- the walk ------------------------------------------------------------- */

enum fkind {
	FK_U8, /* one octet */
	FK_TON, /* one octet the library checks against its TON list */
	FK_NPI, /* same for NPI */
	FK_IFVER, /* interface_version: the library wants exactly 0x34 */
	FK_CSTR, /* C-octet string of at most size octets with its NUL */
	FK_CSTR_EMPTY, /* C-octet string the library only accepts empty */
	FK_SM, /* sm_length + short_message */
};

struct fdef {
	uint8_t kind, size;
};

static const struct fdef submit_fields[] = {
	{ FK_CSTR, 6 },
	{ FK_TON, 1 },
	{ FK_NPI, 1 },
	{ FK_CSTR, 21 },
	{ FK_TON, 1 },
	{ FK_NPI, 1 },
	{ FK_CSTR, 21 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_CSTR, 17 },
	{ FK_CSTR, 17 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_SM, 1 },
};

/* deliver_sm: the library holds the two time fields in 1-octet arrays. */
static const struct fdef deliver_fields[] = {
	{ FK_CSTR, 6 },
	{ FK_TON, 1 },
	{ FK_NPI, 1 },
	{ FK_CSTR, 21 },
	{ FK_TON, 1 },
	{ FK_NPI, 1 },
	{ FK_CSTR, 21 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_CSTR_EMPTY, 17 },
	{ FK_CSTR_EMPTY, 17 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_SM, 1 },
};

static const struct fdef data_sm_fields[] = {
	{ FK_CSTR, 6 },
	{ FK_TON, 1 },
	{ FK_NPI, 1 },
	{ FK_CSTR, 21 },
	{ FK_TON, 1 },
	{ FK_NPI, 1 },
	{ FK_CSTR, 65 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
	{ FK_U8, 1 },
};

static const struct fdef bind_fields[] = {
	{ FK_CSTR, 16 },
	{ FK_CSTR, 9 },
	{ FK_CSTR, 13 },
	{ FK_IFVER, 1 },
	{ FK_TON, 1 },
	{ FK_NPI, 1 },
	{ FK_CSTR, 41 },
};

static const struct fdef id65_fields[] = { { FK_CSTR, 65 } };
static const struct fdef id16_fields[] = { { FK_CSTR, 16 } };
static const struct fdef id1_fields[] = { { FK_CSTR_EMPTY, 65 } };

/* The state of one walk over a PDU. */
struct walk {
	const uint8_t *in;
	size_t pos, end; /* raw read position and command_length */
	uint8_t *copy; /* sanitised mandatory part */
	size_t clen;
	uint8_t ifver;
	uint16_t at[17]; /* where each mandatory field starts in the input */
};

static int
ton_listed(uint8_t v)
{
	return v <= 6;
}

static int
npi_listed(uint8_t v)
{
	return v == 0 || v == 1 || v == 3 || v == 4 || v == 6 || v == 8 ||
	    v == 9 || v == 10 || v == 14 || v == 18;
}

/* Walk one C-octet string; 0 or an error status. */
static uint32_t
walk_cstr(struct walk *w, const struct fdef *f, char *err, size_t errlen)
{
	size_t max = w->end - w->pos, n;
	const uint8_t *nul;

	if (max > f->size)
		max = f->size;
	nul = memchr(w->in + w->pos, 0, max);
	if (nul == NULL) {
		snprintf(err, errlen,
		    "string at offset %zu longer than %u octets or past command_length",
		    w->pos, f->size);
		return SMPP_ESME_RINVMSGLEN;
	}
	n = (size_t)(nul - (w->in + w->pos)) + 1;
	if (f->kind == FK_CSTR_EMPTY) {
		w->copy[w->clen++] = 0;
	} else {
		memcpy(w->copy + w->clen, w->in + w->pos, n);
		w->clen += n;
	}
	w->pos += n;
	return 0;
}

/* Walk sm_length + short_message; 0 or an error status. */
static uint32_t
walk_sm(struct walk *w, char *err, size_t errlen)
{
	uint8_t n;

	if (w->pos + 1 > w->end) {
		snprintf(err, errlen, "sm_length past command_length");
		return SMPP_ESME_RINVMSGLEN;
	}
	n = w->in[w->pos];
	if (n > 254 || w->pos + 1 + n > w->end) {
		snprintf(
		    err, errlen, "sm_length %u runs past command_length", n);
		return SMPP_ESME_RINVMSGLEN;
	}
	memcpy(w->copy + w->clen, w->in + w->pos, 1u + n);
	w->clen += 1u + n;
	w->pos += 1u + n;
	return 0;
}

/* Walk one fixed octet, neutralising values the library would refuse. */
static uint32_t
walk_octet(struct walk *w, const struct fdef *f, char *err, size_t errlen)
{
	uint8_t v;

	if (w->pos + 1 > w->end) {
		snprintf(err, errlen, "field at offset %zu past command_length",
		    w->pos);
		return SMPP_ESME_RINVMSGLEN;
	}
	v = w->in[w->pos++];
	if (f->kind == FK_TON || f->kind == FK_NPI) {
		if (f->kind == FK_TON ? !ton_listed(v) : !npi_listed(v))
			v = 0;
	} else if (f->kind == FK_IFVER) {
		w->ifver = v;
		v = 0x34;
	}
	w->copy[w->clen++] = v;
	return 0;
}

/*
 * Walk the mandatory fields of a PDU into the sanitised copy (header
 * included, with its command_length rewritten to the copy's length).
 * Leaves w->pos at the first TLV. Returns 0 or an error status.
 */
static uint32_t
walk_fields(
    struct walk *w, const struct fdef *defs, size_t n, char *err, size_t errlen)
{
	uint32_t st = 0;

	memcpy(w->copy, w->in, SMPP_HEADER_LEN);
	put32(w->copy + 8, 0); /* unknown statuses fail unpack */
	put32(w->copy + 12, 1); /* and so does sequence 0 */
	w->clen = SMPP_HEADER_LEN;
	w->pos = SMPP_HEADER_LEN;
	for (size_t i = 0; i < n && st == 0; i++) {
		w->at[i] = (uint16_t)w->pos;
		switch (defs[i].kind) {
		case FK_CSTR:
		case FK_CSTR_EMPTY:
			st = walk_cstr(w, &defs[i], err, errlen);
			break;
		case FK_SM: st = walk_sm(w, err, errlen); break;
		default: st = walk_octet(w, &defs[i], err, errlen); break;
		}
	}
	put32(w->copy, (uint32_t)w->clen);
	w->copy[w->clen] = 0; /* NUL guard for the library's strlen */
	return st;
}

/* Expected length of the fixed-size TLVs we read; 0 for variable. */
static unsigned
tlv_fixed_len(uint16_t tag)
{
	switch (tag) {
	case SMPP_TLV_SAR_MSG_REF_NUM:
	case SMPP_TLV_USER_MESSAGE_REF: return 2;
	case SMPP_TLV_SAR_TOTAL_SEGMENTS:
	case SMPP_TLV_SAR_SEGMENT_SEQNUM:
	case SMPP_TLV_MESSAGE_STATE:
	case SMPP_TLV_SC_INTERFACE_VERSION: return 1;
	default: return 0;
	}
}

/* Keep one TLV we care about in sm (NULL for PDUs without one). */
static uint32_t
tlv_take(struct smpp_sm *sm, uint16_t tag, const uint8_t *v, uint16_t len,
    unsigned *sar, char *err, size_t errlen)
{
	if (sm == NULL)
		return 0;
	switch (tag) {
	case SMPP_TLV_SAR_MSG_REF_NUM:
		sm->concat.ref = get16(v);
		*sar |= 1;
		break;
	case SMPP_TLV_SAR_TOTAL_SEGMENTS:
		sm->concat.total = v[0];
		*sar |= 2;
		break;
	case SMPP_TLV_SAR_SEGMENT_SEQNUM:
		sm->concat.seq = v[0];
		*sar |= 4;
		break;
	case SMPP_TLV_MESSAGE_STATE:
		sm->message_state = v[0];
		sm->has_message_state = 1;
		break;
	case SMPP_TLV_RECEIPTED_MESSAGE_ID: {
		size_t n = strnlen((const char *)v, len);

		if (n >= sizeof(sm->receipted_message_id)) {
			snprintf(err, errlen,
			    "receipted_message_id of %u octets", len);
			return SMPP_ESME_RINVPARLEN;
		}
		memcpy(sm->receipted_message_id, v, n);
		sm->receipted_message_id[n] = '\0';
		sm->has_receipt_id = 1;
		break;
	}
	case SMPP_TLV_MESSAGE_PAYLOAD:
		memcpy(sm->ud, v, len);
		sm->ud_len = len;
		sm->from_payload = 1;
		break;
	default: break; /* other TLVs are skipped */
	}
	return 0;
}

/*
 * Walk the TLVs from w->pos to command_length: each header and value must
 * fit, fixed-size tags must carry their own length. Values we use land in
 * sm. Returns 0 or an error status.
 */
static uint32_t
walk_tlvs(struct walk *w, struct smpp_sm *sm, char *err, size_t errlen)
{
	unsigned sar = 0;

	while (w->pos < w->end) {
		uint16_t tag, len;
		unsigned fixed;
		uint32_t st;

		if (w->end - w->pos < 4) {
			snprintf(err, errlen, "TLV header cut at offset %zu",
			    w->pos);
			return SMPP_ESME_RINVOPTPARSTREAM;
		}
		tag = get16(w->in + w->pos);
		len = get16(w->in + w->pos + 2);
		w->pos += 4;
		if (len > w->end - w->pos) {
			snprintf(err, errlen,
			    "TLV 0x%04x length %u runs past command_length",
			    tag, len);
			return SMPP_ESME_RINVOPTPARSTREAM;
		}
		fixed = tlv_fixed_len(tag);
		if (fixed != 0 && len != fixed) {
			snprintf(err, errlen,
			    "TLV 0x%04x has length %u, not %u", tag, len,
			    fixed);
			return SMPP_ESME_RINVPARLEN;
		}
		st = tlv_take(sm, tag, w->in + w->pos, len, &sar, err, errlen);
		if (st != 0)
			return st;
		w->pos += len;
	}
	/* Incomplete or nonsensical sar_* TLVs: the part is taken as whole. */
	if (sm != NULL && sar == 7 && smpp_concat_sane(&sm->concat))
		sm->concat.src = SMPP_CONCAT_SAR;
	else if (sm != NULL)
		memset(&sm->concat, 0, sizeof(sm->concat));
	return 0;
}

/* ---- decode --------------------------------------------------------------- */

/* The library's trace ends with the field that failed: report only that. */
static void
lib_error(const char *what, char *err, size_t errlen)
{
	const char *last = strrchr(smpp34_strerror, '[');

	snprintf(err, errlen, "libsmpp34 refused %s: %s", what,
	    last != NULL ? last : "?");
}

/* Copy a NUL-terminated library array into one of ours, never overflowing. */
static void
copy_cstr(char *dst, size_t dstsize, const uint8_t *src, size_t srcsize)
{
	size_t n = strnlen((const char *)src, srcsize);

	if (n >= dstsize)
		n = dstsize - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

#define COPY_CSTR(dst, src) copy_cstr((dst), sizeof(dst), (src), sizeof(src))

/*
 * Where the fields we read sit in submit_fields and deliver_fields
 * (F_*) and in data_sm_fields (FD_*).
 */
enum {
	F_SERVICE = 0,
	F_SRC_TON = 1,
	F_SRC_NPI = 2,
	F_SRC = 3,
	F_DST_TON = 4,
	F_DST_NPI = 5,
	F_DST = 6,
	F_ESM = 7,
	F_PROTOCOL = 8,
	F_PRIORITY = 9,
	F_REGISTERED = 12,
	F_DCS = 14,
	F_SM = 16,
	FD_REGISTERED = 8,
	FD_DCS = 9,
	BIND_TON = 4, /* in bind_fields */
	BIND_NPI = 5,
};

/* A C-octet string the walk has checked, as far as dst holds. */
static void
field_cstr(const struct walk *w, unsigned i, char *dst, size_t dstsize)
{
	copy_cstr(dst, dstsize, w->in + w->at[i], w->end - w->at[i]);
}

/*
 * Read the mandatory fields of a walked deliver_sm/submit_sm/data_sm
 * from the input. libsmpp34 read them from the walk's copy until
 * 2026-12-07: its unpacking writes a trace of every field with snprintf,
 * whether or not anything fails, and that was a fifth of serve's CPU at
 * window 10. It refuses nothing the walk lets through for these three
 * (only unlisted TON/NPI, which the walk neutralised): the unit tests
 * check that what it reads and what we read agree.
 */
static void
sm_read(const struct walk *w, uint32_t id, struct smpp_sm *sm)
{
	const uint8_t *in = w->in;

	field_cstr(w, F_SERVICE, sm->service_type, sizeof(sm->service_type));
	sm->src.ton = in[w->at[F_SRC_TON]];
	sm->src.npi = in[w->at[F_SRC_NPI]];
	field_cstr(w, F_SRC, sm->src.addr, sizeof(sm->src.addr));
	sm->dst.ton = in[w->at[F_DST_TON]];
	sm->dst.npi = in[w->at[F_DST_NPI]];
	field_cstr(w, F_DST, sm->dst.addr, sizeof(sm->dst.addr));
	sm->esm_class = in[w->at[F_ESM]];
	if (id == SMPP_CMD_DATA_SM) {
		sm->registered_delivery = in[w->at[FD_REGISTERED]];
		sm->data_coding = in[w->at[FD_DCS]];
		return;
	}
	sm->protocol_id = in[w->at[F_PROTOCOL]];
	sm->priority_flag = in[w->at[F_PRIORITY]];
	sm->registered_delivery = in[w->at[F_REGISTERED]];
	sm->data_coding = in[w->at[F_DCS]];
	/* message_payload (read by walk_tlvs) wins over short_message. */
	if (!sm->from_payload) {
		sm->ud_len = in[w->at[F_SM]];
		memcpy(sm->ud, in + w->at[F_SM] + 1, sm->ud_len);
	}
}

/* Decode deliver_sm, submit_sm or data_sm. */
static uint32_t
decode_sm(
    struct walk *w, uint32_t id, struct smpp_sm *sm, char *err, size_t errlen)
{
	const struct fdef *defs = id == SMPP_CMD_DATA_SM ? data_sm_fields
	    : id == SMPP_CMD_DELIVER_SM                  ? deliver_fields
	                                                 : submit_fields;
	size_t n = id == SMPP_CMD_DATA_SM
	    ? sizeof(data_sm_fields) / sizeof(defs[0])
	    : sizeof(submit_fields) / sizeof(defs[0]);
	uint32_t st;

	if ((st = walk_fields(w, defs, n, err, errlen)) != 0 ||
	    (st = walk_tlvs(w, sm, err, errlen)) != 0)
		return st;
	sm_read(w, id, sm);
	sm->is_receipt = (sm->esm_class & SMPP_ESM_TYPE_MASK) != 0;
	if (smpp_sm_parse_udh(sm) != 0) {
		snprintf(err, errlen, "UDH length runs past the user data");
		return SMPP_ESME_RINVMSGLEN;
	}
	return 0;
}

/* Decode bind_receiver, bind_transmitter or bind_transceiver. */
static uint32_t
decode_bind(
    struct walk *w, uint32_t id, struct smpp_bind *b, char *err, size_t errlen)
{
	bind_transceiver_t p; /* the three bind structs have one shape */
	uint32_t st;
	int rc;

	st = walk_fields(w, bind_fields,
	    sizeof(bind_fields) / sizeof(bind_fields[0]), err, errlen);
	if (st != 0)
		return st;
	if (w->pos != w->end) {
		snprintf(err, errlen, "%zu octets after address_range",
		    w->end - w->pos);
		return SMPP_ESME_RINVCMDLEN;
	}
	memset(&p, 0, sizeof(p));
	rc = smpp34_unpack(id, &p, w->copy, (int)w->clen);
	if (rc != 0) {
		lib_error("a bind", err, errlen);
		return SMPP_ESME_RBINDFAIL;
	}
	COPY_CSTR(b->system_id, p.system_id);
	COPY_CSTR(b->password, p.password);
	COPY_CSTR(b->system_type, p.system_type);
	COPY_CSTR(b->address_range, p.address_range);
	b->interface_version = w->ifver;
	/* the library saw them neutralised: the peer's octets */
	b->addr_ton = w->in[w->at[BIND_TON]];
	b->addr_npi = w->in[w->at[BIND_NPI]];
	return 0;
}

/*
 * Read the body of a response whose header status is ESME_ROK: system_id
 * of bind_*_resp, message_id of the *_sm_resp. A body we cannot read is
 * not an error (the status is what matters): body_ok stays false.
 */
static void
decode_resp_body(struct walk *w, struct smpp_pdu *out)
{
	const struct fdef *defs;
	char err[160];
	uint32_t id = out->hdr.id;

	switch (id) {
	case SMPP_CMD_BIND_RECEIVER_RESP:
	case SMPP_CMD_BIND_TRANSMITTER_RESP:
	case SMPP_CMD_BIND_TRANSCEIVER_RESP: defs = id16_fields; break;
	case SMPP_CMD_DELIVER_SM_RESP: defs = id1_fields; break;
	default: defs = id65_fields; break;
	}
	if (walk_fields(w, defs, 1, err, sizeof(err)) != 0 ||
	    walk_tlvs(w, NULL, err, sizeof(err)) != 0)
		return;
	/* deliver_sm_resp's message_id is "unused": it stays "" */
	if (defs != id1_fields)
		field_cstr(w, 0, out->u.id, sizeof(out->u.id));
	out->body_ok = true;
}

uint32_t
smpp_decode(const uint8_t *frame, size_t len, struct smpp_pdu *out, char *err,
    size_t errlen)
{
	uint8_t copy[SMPP_PDU_MAX + 1];
	struct walk w;
	uint32_t id;

	memset(&out->hdr, 0, sizeof(out->hdr));
	out->body_ok = false;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len < SMPP_HEADER_LEN || len > SMPP_PDU_MAX) {
		snprintf(err, errlen, "frame of %zu octets", len);
		return SMPP_ESME_RINVCMDLEN;
	}
	smpp_header_read(frame, &out->hdr);
	id = out->hdr.id;
	if (out->hdr.len != len) {
		snprintf(err, errlen, "command_length %u for a frame of %zu",
		    out->hdr.len, len);
		return SMPP_ESME_RINVCMDLEN;
	}
	if (!smpp_cmd_known(id)) {
		snprintf(err, errlen, "unknown command_id 0x%08x", id);
		return SMPP_ESME_RINVCMDID;
	}
	memset(&w, 0, sizeof(w));
	w.in = frame;
	w.end = len;
	w.copy = copy;
	switch (id) {
	case SMPP_CMD_DELIVER_SM:
	case SMPP_CMD_SUBMIT_SM:
	case SMPP_CMD_DATA_SM:
		memset(&out->u.sm, 0, offsetof(struct smpp_sm, ud));
		out->u.sm.ud_len = 0;
		return decode_sm(&w, id, &out->u.sm, err, errlen);
	case SMPP_CMD_BIND_RECEIVER:
	case SMPP_CMD_BIND_TRANSMITTER:
	case SMPP_CMD_BIND_TRANSCEIVER:
		memset(&out->u.bind, 0, sizeof(out->u.bind));
		return decode_bind(&w, id, &out->u.bind, err, errlen);
	case SMPP_CMD_ENQUIRE_LINK:
	case SMPP_CMD_UNBIND:
		if (len != SMPP_HEADER_LEN) {
			snprintf(err, errlen,
			    "body of %zu octets on a header-only PDU",
			    len - SMPP_HEADER_LEN);
			return SMPP_ESME_RINVCMDLEN;
		}
		return 0;
	default: break;
	}
	out->u.id[0] = '\0';
	/* Responses: the status comes from the raw header, always. */
	if ((id & SMPP_CMD_RESP_BIT) && out->hdr.status == SMPP_ESME_ROK &&
	    len > SMPP_HEADER_LEN)
		decode_resp_body(&w, out);
	return 0;
}

/* ---- encode --------------------------------------------------------------- */

/*
 * The library packs into the caller's buffer only when it is strictly
 * larger than the PDU, and checks values against its own lists; we pack
 * neutral values into a scratch buffer of SMPP_PDU_MAX + 1, patch the real
 * octets in, append our TLVs and copy the result out.
 */
struct scratch {
	uint8_t buf[SMPP_PDU_MAX + 1];
	size_t len;
};

static int
enc_fail(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", what);
	return -1;
}

static int
lib_pack(struct scratch *s, uint32_t id, void *pdu, char *err, size_t errlen)
{
	int n = 0;

	if (smpp34_pack(id, s->buf, (int)sizeof(s->buf), &n, pdu) != 0) {
		lib_error("to pack", err, errlen);
		return -1;
	}
	s->len = (size_t)n;
	return 0;
}

/* Append one TLV; -1 when the PDU would pass SMPP_PDU_MAX. */
static int
tlv_append(struct scratch *s, uint16_t tag, const void *val, uint16_t len)
{
	if (s->len + 4u + len > SMPP_PDU_MAX)
		return -1;
	put16(s->buf + s->len, tag);
	put16(s->buf + s->len + 2, len);
	memcpy(s->buf + s->len + 4, val, len);
	s->len += 4u + len;
	return 0;
}

/* Fix command_length and copy the PDU out; its length or -1. */
static int
enc_out(uint8_t *out, size_t cap, struct scratch *s, char *err, size_t errlen)
{
	if (s->len > cap)
		return enc_fail(err, errlen, "output buffer too small");
	put32(s->buf, (uint32_t)s->len);
	memcpy(out, s->buf, s->len);
	return (int)s->len;
}

static int
str_fits(const char *s, size_t size)
{
	return strnlen(s, size) < size;
}

static int
seq_valid(uint32_t seq)
{
	return seq >= 1 && seq <= SMPP_SEQ_MAX;
}

int
smpp_encode_header(
    uint8_t *out, size_t cap, uint32_t id, uint32_t status, uint32_t seq)
{
	struct smpp_header h = { SMPP_HEADER_LEN, id, status, seq };

	if (cap < SMPP_HEADER_LEN)
		return -1;
	smpp_header_write(out, &h);
	return SMPP_HEADER_LEN;
}

int
smpp_encode_bind(uint8_t *out, size_t cap, uint32_t id, uint32_t seq,
    const struct smpp_bind *b, char *err, size_t errlen)
{
	struct scratch s;
	bind_transceiver_t p;
	size_t off;

	if (!seq_valid(seq))
		return enc_fail(err, errlen, "sequence number out of range");
	if (!str_fits(b->system_id, sizeof(p.system_id)) ||
	    !str_fits(b->password, sizeof(p.password)) ||
	    !str_fits(b->system_type, sizeof(p.system_type)) ||
	    !str_fits(b->address_range, sizeof(p.address_range)))
		return enc_fail(err, errlen, "bind string too long");
	memset(&p, 0, sizeof(p));
	p.command_id = id;
	p.sequence_number = seq;
	p.interface_version = 0x34;
	memcpy(p.system_id, b->system_id, strlen(b->system_id));
	memcpy(p.password, b->password, strlen(b->password));
	memcpy(p.system_type, b->system_type, strlen(b->system_type));
	memcpy(p.address_range, b->address_range, strlen(b->address_range));
	if (lib_pack(&s, id, &p, err, errlen) != 0)
		return -1;
	off = SMPP_HEADER_LEN + strlen(b->system_id) + strlen(b->password) +
	    strlen(b->system_type) + 3;
	s.buf[off] = b->interface_version ? b->interface_version : 0x34;
	s.buf[off + 1] = b->addr_ton;
	s.buf[off + 2] = b->addr_npi;
	return enc_out(out, cap, &s, err, errlen);
}

int
smpp_encode_bind_resp(uint8_t *out, size_t cap, uint32_t id, uint32_t seq,
    uint32_t status, const char *system_id, char *err, size_t errlen)
{
	struct scratch s;
	bind_transceiver_resp_t p;

	if (status != SMPP_ESME_ROK)
		return smpp_encode_header(out, cap, id, status, seq);
	if (!seq_valid(seq))
		return enc_fail(err, errlen, "sequence number out of range");
	if (!str_fits(system_id, sizeof(p.system_id)))
		return enc_fail(err, errlen, "system_id too long");
	memset(&p, 0, sizeof(p));
	p.command_id = id;
	p.sequence_number = seq;
	memcpy(p.system_id, system_id, strlen(system_id));
	if (lib_pack(&s, id, &p, err, errlen) != 0)
		return -1;
	return enc_out(out, cap, &s, err, errlen);
}

/*
 * The hot path's PDUs (submit_sm out, deliver_sm_resp back for every MO)
 * are packed here, not by libsmpp34, whose packing writes a trace of
 * every field with snprintf (see sm_read). The unit tests unpack what
 * these write with the library.
 */
static void
put_u8(struct scratch *s, uint8_t v)
{
	s->buf[s->len++] = v;
}

/* A C-octet string the caller has checked with str_fits. */
static void
put_cstr(struct scratch *s, const char *v)
{
	size_t n = strlen(v) + 1;

	memcpy(s->buf + s->len, v, n);
	s->len += n;
}

/* The header, status 0; enc_out writes command_length. */
static void
put_header(struct scratch *s, uint32_t id, uint32_t seq)
{
	struct smpp_header h = { 0, id, 0, seq };

	smpp_header_write(s->buf, &h);
	s->len = SMPP_HEADER_LEN;
}

/* The mandatory part of a short message (strings checked by the caller). */
static void
sm_put(struct scratch *s, uint32_t id, uint32_t seq, const struct smpp_sm *sm,
    int payload)
{
	put_header(s, id, seq);
	put_cstr(s, sm->service_type);
	put_u8(s, sm->src.ton);
	put_u8(s, sm->src.npi);
	put_cstr(s, sm->src.addr);
	put_u8(s, sm->dst.ton);
	put_u8(s, sm->dst.npi);
	put_cstr(s, sm->dst.addr);
	put_u8(s, sm->esm_class);
	if (id == SMPP_CMD_DATA_SM) {
		put_u8(s, sm->registered_delivery);
		put_u8(s, sm->data_coding);
		return;
	}
	put_u8(s, sm->protocol_id);
	put_u8(s, sm->priority_flag);
	put_cstr(s, ""); /* schedule_delivery_time: at once */
	put_cstr(s, ""); /* validity_period: the SMSC's default */
	put_u8(s, sm->registered_delivery);
	put_u8(s, 0); /* replace_if_present_flag */
	put_u8(s, sm->data_coding);
	put_u8(s, 0); /* sm_default_msg_id */
	if (payload) {
		put_u8(s, 0); /* sm_length: the text is in message_payload */
		return;
	}
	put_u8(s, (uint8_t)sm->ud_len);
	memcpy(s->buf + s->len, sm->ud, sm->ud_len);
	s->len += sm->ud_len;
}

/* Append the TLVs a short message carries. */
static int
sm_tlvs(struct scratch *s, const struct smpp_sm *sm, int payload)
{
	uint8_t ref[2];

	if (sm->concat.src == SMPP_CONCAT_SAR) {
		put16(ref, sm->concat.ref);
		if (tlv_append(s, SMPP_TLV_SAR_MSG_REF_NUM, ref, 2) != 0 ||
		    tlv_append(
		        s, SMPP_TLV_SAR_TOTAL_SEGMENTS, &sm->concat.total, 1) ||
		    tlv_append(
		        s, SMPP_TLV_SAR_SEGMENT_SEQNUM, &sm->concat.seq, 1))
			return -1;
	}
	if (sm->has_receipt_id &&
	    tlv_append(s, SMPP_TLV_RECEIPTED_MESSAGE_ID,
	        sm->receipted_message_id,
	        (uint16_t)(strlen(sm->receipted_message_id) + 1)) != 0)
		return -1;
	if (sm->has_message_state &&
	    tlv_append(s, SMPP_TLV_MESSAGE_STATE, &sm->message_state, 1) != 0)
		return -1;
	if (payload &&
	    tlv_append(s, SMPP_TLV_MESSAGE_PAYLOAD, sm->ud, sm->ud_len))
		return -1;
	return 0;
}

int
smpp_encode_sm(uint8_t *out, size_t cap, uint32_t id, uint32_t seq,
    const struct smpp_sm *sm, char *err, size_t errlen)
{
	struct scratch s;
	/* What libsmpp34 did, kept: it refused sm_length 254, valid as it
	   is, so the TLV carries such a text. */
	int payload =
	    id == SMPP_CMD_DATA_SM || sm->from_payload || sm->ud_len > 253;

	if (!seq_valid(seq))
		return enc_fail(err, errlen, "sequence number out of range");
	if (id != SMPP_CMD_DATA_SM && id != SMPP_CMD_DELIVER_SM &&
	    id != SMPP_CMD_SUBMIT_SM)
		return enc_fail(err, errlen, "not a short message command");
	if (!str_fits(sm->service_type, 6) || !str_fits(sm->src.addr, 21) ||
	    !str_fits(sm->dst.addr, id == SMPP_CMD_DATA_SM ? 65 : 21) ||
	    !str_fits(sm->receipted_message_id, 65))
		return enc_fail(err, errlen, "address or id too long");
	sm_put(&s, id, seq, sm, payload);
	if (sm_tlvs(&s, sm, payload) != 0)
		return enc_fail(err, errlen, "PDU longer than 4096 octets");
	return enc_out(out, cap, &s, err, errlen);
}

int
smpp_encode_sm_resp(uint8_t *out, size_t cap, uint32_t id, uint32_t seq,
    uint32_t status, const char *message_id, char *err, size_t errlen)
{
	struct scratch s;

	/* submit_sm_resp carries no body when the status is an error. */
	if (id == SMPP_CMD_SUBMIT_SM_RESP && status != SMPP_ESME_ROK)
		return smpp_encode_header(out, cap, id, status, seq);
	if (!seq_valid(seq))
		return enc_fail(err, errlen, "sequence number out of range");
	if (id != SMPP_CMD_SUBMIT_SM_RESP && id != SMPP_CMD_DATA_SM_RESP &&
	    id != SMPP_CMD_DELIVER_SM_RESP)
		return enc_fail(err, errlen, "not a short message response");
	if (message_id == NULL || id == SMPP_CMD_DELIVER_SM_RESP)
		message_id = ""; /* deliver_sm_resp: "unused, NULL" */
	if (!str_fits(message_id, 65))
		return enc_fail(err, errlen, "message_id too long");
	put_header(&s, id, seq);
	put_cstr(&s, message_id);
	put32(s.buf + 8, status);
	return enc_out(out, cap, &s, err, errlen);
}
