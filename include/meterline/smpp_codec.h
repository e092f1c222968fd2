/*
 * SMPP 3.4 PDUs as our own small structs. smpp_codec.c is the only file
 * that includes libsmpp34 (smpp_pdu.c has the library-free helpers); it checks the raw header and every length before
 * the library sees a byte, and works around the library's quirks (see
 * docs/smpp.md). Everything here is pure: no I/O, no allocation.
 */
#ifndef METERLINE_SMPP_CODEC_H
#define METERLINE_SMPP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMPP_HEADER_LEN 16
#define SMPP_PDU_MAX 4096 /* our sane maximum command_length */
#define SMPP_SEQ_MAX 0x7FFFFFFFu

/* command_id values (SMPP 3.4 §5.1.2.1). */
#define SMPP_CMD_GENERIC_NACK 0x80000000u
#define SMPP_CMD_BIND_RECEIVER 0x00000001u
#define SMPP_CMD_BIND_RECEIVER_RESP 0x80000001u
#define SMPP_CMD_BIND_TRANSMITTER 0x00000002u
#define SMPP_CMD_BIND_TRANSMITTER_RESP 0x80000002u
#define SMPP_CMD_QUERY_SM 0x00000003u
#define SMPP_CMD_QUERY_SM_RESP 0x80000003u
#define SMPP_CMD_SUBMIT_SM 0x00000004u
#define SMPP_CMD_SUBMIT_SM_RESP 0x80000004u
#define SMPP_CMD_DELIVER_SM 0x00000005u
#define SMPP_CMD_DELIVER_SM_RESP 0x80000005u
#define SMPP_CMD_UNBIND 0x00000006u
#define SMPP_CMD_UNBIND_RESP 0x80000006u
#define SMPP_CMD_REPLACE_SM 0x00000007u
#define SMPP_CMD_REPLACE_SM_RESP 0x80000007u
#define SMPP_CMD_CANCEL_SM 0x00000008u
#define SMPP_CMD_CANCEL_SM_RESP 0x80000008u
#define SMPP_CMD_BIND_TRANSCEIVER 0x00000009u
#define SMPP_CMD_BIND_TRANSCEIVER_RESP 0x80000009u
#define SMPP_CMD_OUTBIND 0x0000000Bu
#define SMPP_CMD_ENQUIRE_LINK 0x00000015u
#define SMPP_CMD_ENQUIRE_LINK_RESP 0x80000015u
#define SMPP_CMD_SUBMIT_MULTI 0x00000021u
#define SMPP_CMD_SUBMIT_MULTI_RESP 0x80000021u
#define SMPP_CMD_ALERT_NOTIFICATION 0x00000102u
#define SMPP_CMD_DATA_SM 0x00000103u
#define SMPP_CMD_DATA_SM_RESP 0x80000103u
#define SMPP_CMD_RESP_BIT 0x80000000u

/* command_status values we use by name. */
#define SMPP_ESME_ROK 0x00u
#define SMPP_ESME_RINVMSGLEN 0x01u
#define SMPP_ESME_RINVCMDLEN 0x02u
#define SMPP_ESME_RINVCMDID 0x03u
#define SMPP_ESME_RINVBNDSTS 0x04u
#define SMPP_ESME_RALYBND 0x05u
#define SMPP_ESME_RSYSERR 0x08u
#define SMPP_ESME_RINVSRCADR 0x0Au
#define SMPP_ESME_RINVDSTADR 0x0Bu
#define SMPP_ESME_RBINDFAIL 0x0Du
#define SMPP_ESME_RINVPASWD 0x0Eu
#define SMPP_ESME_RINVSYSID 0x0Fu
#define SMPP_ESME_RMSGQFUL 0x14u
#define SMPP_ESME_RINVESMCLASS 0x43u
#define SMPP_ESME_RSUBMITFAIL 0x45u
#define SMPP_ESME_RTHROTTLED 0x58u
#define SMPP_ESME_RX_T_APPN 0x64u
#define SMPP_ESME_RX_P_APPN 0x65u
#define SMPP_ESME_RINVOPTPARSTREAM 0xC0u
#define SMPP_ESME_RINVPARLEN 0xC2u
#define SMPP_ESME_RUNKNOWNERR 0xFFu

/* esm_class bits (§5.2.12). */
#define SMPP_ESM_TYPE_MASK 0x3Cu
#define SMPP_ESM_DELIVERY_RECEIPT 0x04u /* SMSC delivery receipt */
#define SMPP_ESM_UDHI 0x40u

/* TLV tags we read or write. */
#define SMPP_TLV_RECEIPTED_MESSAGE_ID 0x001Eu
#define SMPP_TLV_USER_MESSAGE_REF 0x0204u
#define SMPP_TLV_SAR_MSG_REF_NUM 0x020Cu
#define SMPP_TLV_SAR_TOTAL_SEGMENTS 0x020Eu
#define SMPP_TLV_SAR_SEGMENT_SEQNUM 0x020Fu
#define SMPP_TLV_SC_INTERFACE_VERSION 0x0210u
#define SMPP_TLV_MESSAGE_PAYLOAD 0x0424u
#define SMPP_TLV_MESSAGE_STATE 0x0427u

/* The raw 16-byte header, host order. */
struct smpp_header {
	uint32_t len; /* command_length */
	uint32_t id; /* command_id */
	uint32_t status; /* command_status */
	uint32_t seq; /* sequence_number */
};

struct smpp_addr {
	uint8_t ton, npi;
	char addr[66]; /* 21 in deliver_sm/submit_sm, 65 in data_sm */
};

/* Concatenation facts, from the UDH (IEI 0x00 / 0x08) or the sar_* TLVs. */
enum smpp_concat_src {
	SMPP_CONCAT_NONE,
	SMPP_CONCAT_UDH8,
	SMPP_CONCAT_UDH16,
	SMPP_CONCAT_SAR
};

struct smpp_concat {
	enum smpp_concat_src src;
	uint16_t ref;
	uint8_t total; /* >= 2 when src != NONE */
	uint8_t seq; /* 1..total */
};

/*
 * deliver_sm, data_sm or submit_sm. user data is short_message or, when
 * present, message_payload, UDH included; text/text_len point past the UDH
 * (into ud) after a decode.
 */
struct smpp_sm {
	char service_type[6];
	struct smpp_addr src, dst;
	uint8_t esm_class, protocol_id, priority_flag;
	uint8_t registered_delivery, data_coding;
	uint16_t ud_len;
	bool from_payload; /* user data came from message_payload */
	size_t udh_len; /* octets of UDH incl. the UDHL octet */
	const uint8_t *text; /* ud + udh_len */
	size_t text_len;
	struct smpp_concat concat;
	/* Delivery receipt TLVs; has_* say whether they were present. */
	bool has_receipt_id, has_message_state;
	char receipted_message_id[66];
	uint8_t message_state;
	bool is_receipt; /* esm_class: a receipt or an ack */
	uint8_t ud[SMPP_PDU_MAX]; /* last: decode zeroes what precedes */
};

struct smpp_bind {
	char system_id[16];
	char password[9];
	char system_type[13];
	uint8_t interface_version;
	uint8_t addr_ton, addr_npi;
	char address_range[41];
};

/* A decoded PDU. The union member follows hdr.id. */
struct smpp_pdu {
	struct smpp_header hdr;
	union {
		struct smpp_sm sm; /* deliver_sm, data_sm, submit_sm */
		struct smpp_bind bind; /* bind_* */
		char id[66]; /* system_id of bind_*_resp,
						   message_id of *_sm_resp */
	} u;
	bool body_ok; /* *_resp: the body was present and decoded */
};

/* Read the header of a buffer of at least 16 bytes. */
void smpp_header_read(const uint8_t *buf, struct smpp_header *);
/* Write a 16-byte header. */
void smpp_header_write(uint8_t *buf, const struct smpp_header *);

/* 1 if id is an SMPP 3.4 command, 0 otherwise. */
int smpp_cmd_known(uint32_t id);
/* "deliver_sm", "0x00001234"... into buf, for logs. */
const char *smpp_cmd_name(uint32_t id, char *buf, size_t buflen);
/* Short name of a command_status ("ESME_RTHROTTLED" or "0x00000458"). */
const char *smpp_status_name(uint32_t status, char *buf, size_t buflen);
/* 1 if a submit_sm_resp status means "try again later". */
int smpp_status_temporary(uint32_t status);

/*
 * Decode one complete frame of len bytes (16..SMPP_PDU_MAX) into out.
 * Returns 0, or an SMPP error status the caller answers with: for a header
 * problem or an unknown command a generic_nack, for a request whose body
 * is bad its own *_resp. err gets a reason. Responses always decode when
 * the header is sane: their status comes from the raw header; body_ok says
 * whether the body could be read.
 */
uint32_t smpp_decode(const uint8_t *frame, size_t len, struct smpp_pdu *out,
    char *err, size_t errlen);

/* 1 if total and seq describe one part of several (total >= 2, 1..total). */
int smpp_concat_sane(const struct smpp_concat *);

/*
 * Parse the UDH of sm->ud when esm_class has UDHI: set udh_len, text,
 * text_len and concat (8- and 16-bit references; other IEs skipped).
 * sar_* TLVs already in concat win over a UDH reference. Returns 0, or -1
 * when the UDH runs past the user data. smpp_decode calls it.
 */
int smpp_sm_parse_udh(struct smpp_sm *);

/*
 * Encoders write a complete PDU into out (cap bytes) and return its length,
 * or -1 with a reason in err. seq must be 1..SMPP_SEQ_MAX except for
 * smpp_encode_header (a generic_nack may answer sequence 0).
 */
int smpp_encode_header(
    uint8_t *out, size_t cap, uint32_t id, uint32_t status, uint32_t seq);
int smpp_encode_bind(uint8_t *out, size_t cap, uint32_t id, uint32_t seq,
    const struct smpp_bind *, char *err, size_t errlen);
/* bind_*_resp; with a non-zero status the body is left out (as SMSCs do). */
int smpp_encode_bind_resp(uint8_t *out, size_t cap, uint32_t id, uint32_t seq,
    uint32_t status, const char *system_id, char *err, size_t errlen);
/*
 * submit_sm, deliver_sm or data_sm from sm (ud/ud_len with any UDH; set
 * from_payload to send it as message_payload). concat with src SAR adds
 * the sar_* TLVs; has_receipt_id / has_message_state add those TLVs.
 */
int smpp_encode_sm(uint8_t *out, size_t cap, uint32_t id, uint32_t seq,
    const struct smpp_sm *, char *err, size_t errlen);
/* submit_sm_resp, deliver_sm_resp, data_sm_resp. */
int smpp_encode_sm_resp(uint8_t *out, size_t cap, uint32_t id, uint32_t seq,
    uint32_t status, const char *message_id, char *err, size_t errlen);

struct text_part;
/*
 * Fill a submit_sm from one part of an encoded reply: addresses from src
 * and dst, data_coding dcs, UDHI when the part is one of several.
 */
void smpp_sm_from_part(struct smpp_sm *, const struct smpp_addr *src,
    const struct smpp_addr *dst, uint8_t dcs, int multipart,
    const struct text_part *);

/* Next sequence number after seq: 1..0x7FFFFFFF, never 0. */
static inline uint32_t
smpp_seq_next(uint32_t seq)
{
	return (seq >= SMPP_SEQ_MAX || seq == 0) ? 1 : seq + 1;
}

#endif
