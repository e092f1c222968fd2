/*
 * The library-free half of the SMPP codec: the raw header, command and
 * status names, the UDH parser and filling a submit_sm from an encoded
 * reply part. smpp_codec.c keeps everything that touches libsmpp34.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "meterline/smpp_codec.h"
#include "meterline/text.h"
#include "meterline/octets.h"

void
smpp_header_read(const uint8_t *buf, struct smpp_header *h)
{
	h->len = get32(buf);
	h->id = get32(buf + 4);
	h->status = get32(buf + 8);
	h->seq = get32(buf + 12);
}

void
smpp_header_write(uint8_t *buf, const struct smpp_header *h)
{
	put32(buf, h->len);
	put32(buf + 4, h->id);
	put32(buf + 8, h->status);
	put32(buf + 12, h->seq);
}

static const struct {
	uint32_t id;
	const char *name;
} smpp_cmds[] = {
	{ SMPP_CMD_GENERIC_NACK, "generic_nack" },
	{ SMPP_CMD_BIND_RECEIVER, "bind_receiver" },
	{ SMPP_CMD_BIND_RECEIVER_RESP, "bind_receiver_resp" },
	{ SMPP_CMD_BIND_TRANSMITTER, "bind_transmitter" },
	{ SMPP_CMD_BIND_TRANSMITTER_RESP, "bind_transmitter_resp" },
	{ SMPP_CMD_QUERY_SM, "query_sm" },
	{ SMPP_CMD_QUERY_SM_RESP, "query_sm_resp" },
	{ SMPP_CMD_SUBMIT_SM, "submit_sm" },
	{ SMPP_CMD_SUBMIT_SM_RESP, "submit_sm_resp" },
	{ SMPP_CMD_DELIVER_SM, "deliver_sm" },
	{ SMPP_CMD_DELIVER_SM_RESP, "deliver_sm_resp" },
	{ SMPP_CMD_UNBIND, "unbind" },
	{ SMPP_CMD_UNBIND_RESP, "unbind_resp" },
	{ SMPP_CMD_REPLACE_SM, "replace_sm" },
	{ SMPP_CMD_REPLACE_SM_RESP, "replace_sm_resp" },
	{ SMPP_CMD_CANCEL_SM, "cancel_sm" },
	{ SMPP_CMD_CANCEL_SM_RESP, "cancel_sm_resp" },
	{ SMPP_CMD_BIND_TRANSCEIVER, "bind_transceiver" },
	{ SMPP_CMD_BIND_TRANSCEIVER_RESP, "bind_transceiver_resp" },
	{ SMPP_CMD_OUTBIND, "outbind" },
	{ SMPP_CMD_ENQUIRE_LINK, "enquire_link" },
	{ SMPP_CMD_ENQUIRE_LINK_RESP, "enquire_link_resp" },
	{ SMPP_CMD_SUBMIT_MULTI, "submit_multi" },
	{ SMPP_CMD_SUBMIT_MULTI_RESP, "submit_multi_resp" },
	{ SMPP_CMD_ALERT_NOTIFICATION, "alert_notification" },
	{ SMPP_CMD_DATA_SM, "data_sm" },
	{ SMPP_CMD_DATA_SM_RESP, "data_sm_resp" },
};

int
smpp_cmd_known(uint32_t id)
{
	for (size_t i = 0; i < sizeof(smpp_cmds) / sizeof(smpp_cmds[0]); i++)
		if (smpp_cmds[i].id == id)
			return 1;
	return 0;
}

const char *
smpp_cmd_name(uint32_t id, char *buf, size_t buflen)
{
	for (size_t i = 0; i < sizeof(smpp_cmds) / sizeof(smpp_cmds[0]); i++)
		if (smpp_cmds[i].id == id)
			return smpp_cmds[i].name;
	snprintf(buf, buflen, "0x%08x", id);
	return buf;
}

static const struct {
	uint32_t status;
	const char *name;
} smpp_statuses[] = {
	{ SMPP_ESME_ROK, "ESME_ROK" },
	{ SMPP_ESME_RINVMSGLEN, "ESME_RINVMSGLEN" },
	{ SMPP_ESME_RINVCMDLEN, "ESME_RINVCMDLEN" },
	{ SMPP_ESME_RINVCMDID, "ESME_RINVCMDID" },
	{ SMPP_ESME_RINVBNDSTS, "ESME_RINVBNDSTS" },
	{ SMPP_ESME_RALYBND, "ESME_RALYBND" },
	{ SMPP_ESME_RSYSERR, "ESME_RSYSERR" },
	{ SMPP_ESME_RINVSRCADR, "ESME_RINVSRCADR" },
	{ SMPP_ESME_RINVDSTADR, "ESME_RINVDSTADR" },
	{ SMPP_ESME_RBINDFAIL, "ESME_RBINDFAIL" },
	{ SMPP_ESME_RINVPASWD, "ESME_RINVPASWD" },
	{ SMPP_ESME_RINVSYSID, "ESME_RINVSYSID" },
	{ SMPP_ESME_RMSGQFUL, "ESME_RMSGQFUL" },
	{ SMPP_ESME_RINVESMCLASS, "ESME_RINVESMCLASS" },
	{ SMPP_ESME_RSUBMITFAIL, "ESME_RSUBMITFAIL" },
	{ SMPP_ESME_RTHROTTLED, "ESME_RTHROTTLED" },
	{ SMPP_ESME_RX_T_APPN, "ESME_RX_T_APPN" },
	{ SMPP_ESME_RX_P_APPN, "ESME_RX_P_APPN" },
	{ SMPP_ESME_RINVOPTPARSTREAM, "ESME_RINVOPTPARSTREAM" },
	{ SMPP_ESME_RINVPARLEN, "ESME_RINVPARLEN" },
	{ SMPP_ESME_RUNKNOWNERR, "ESME_RUNKNOWNERR" },
};

const char *
smpp_status_name(uint32_t status, char *buf, size_t buflen)
{
	for (size_t i = 0; i < sizeof(smpp_statuses) / sizeof(smpp_statuses[0]);
	     i++)
		if (smpp_statuses[i].status == status)
			return smpp_statuses[i].name;
	snprintf(buf, buflen, "0x%08x", status);
	return buf;
}

int
smpp_status_temporary(uint32_t status)
{
	switch (status) {
	case SMPP_ESME_RSYSERR:
	case SMPP_ESME_RMSGQFUL:
	case SMPP_ESME_RTHROTTLED:
	case SMPP_ESME_RX_T_APPN:
	case SMPP_ESME_RUNKNOWNERR: return 1;
	default: return 0;
	}
}

int
smpp_concat_sane(const struct smpp_concat *c)
{
	return c->total >= 2 && c->seq >= 1 && c->seq <= c->total;
}

int
smpp_sm_parse_udh(struct smpp_sm *sm)
{
	const uint8_t *ud = sm->ud;
	struct smpp_concat c = { SMPP_CONCAT_NONE, 0, 0, 0 };
	size_t udhl, i;

	sm->udh_len = 0;
	sm->text = sm->ud;
	sm->text_len = sm->ud_len;
	if (!(sm->esm_class & SMPP_ESM_UDHI))
		return 0;
	if (sm->ud_len < 1 || (size_t)ud[0] + 1 > sm->ud_len)
		return -1;
	udhl = ud[0];
	sm->udh_len = udhl + 1;
	sm->text = ud + sm->udh_len;
	sm->text_len = sm->ud_len - sm->udh_len;
	if (sm->concat.src == SMPP_CONCAT_SAR)
		return 0; /* sar_* TLVs win over the UDH */
	/* Information elements: IEI, IEDL, data; unknown ones are skipped. */
	for (i = 1; i + 2 <= udhl + 1;) {
		uint8_t iei = ud[i], iel = ud[i + 1];
		const uint8_t *v = ud + i + 2;

		if (i + 2 + iel > udhl + 1)
			break; /* a cut IE: ignore the rest */
		if (iei == 0x00 && iel == 3)
			c = (struct smpp_concat){ SMPP_CONCAT_UDH8, v[0], v[1],
				v[2] };
		else if (iei == 0x08 && iel == 4)
			c = (struct smpp_concat){ SMPP_CONCAT_UDH16, get16(v),
				v[2], v[3] };
		i += 2u + iel;
	}
	if (c.src != SMPP_CONCAT_NONE && smpp_concat_sane(&c))
		sm->concat = c;
	return 0;
}

void
smpp_sm_from_part(struct smpp_sm *sm, const struct smpp_addr *src,
    const struct smpp_addr *dst, uint8_t dcs, int multipart,
    const struct text_part *part)
{
	memset(sm, 0, offsetof(struct smpp_sm, ud));
	sm->src = *src;
	sm->dst = *dst;
	sm->data_coding = dcs;
	sm->esm_class = multipart ? SMPP_ESM_UDHI : 0;
	memcpy(sm->ud, part->data, part->len);
	sm->ud_len = part->len;
}
