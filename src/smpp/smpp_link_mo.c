/*
 * The MO path of the SMPP link: deliver_sm/data_sm -> reassembly ->
 * decoding -> the store's submit hook -> deliver_sm_resp from its done
 * callback, never before. Receipts take their own hook.
 *
 * Each PDU still to be answered is an opaque token (session, generation,
 * command, sequence). When the answer comes, a token whose session has
 * since been closed (its generation moved on) writes nothing: the SMSC
 * never got a response on that connection, so it redelivers, and the
 * store recognises the duplicate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/clock.h"
#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_concat.h"
#include "meterline/smpp_frame.h"
#include "meterline/smpp_link.h"
#include "smpp_link_int.h"
#include "meterline/text.h"
#include "meterline/xmalloc.h"

#define TOK_GEN_MASK 0x1FFFFFFFu
/* A part the reassembler holds whose PDU was answered on its own. */
#define TOK_NONE UINT64_MAX

/*
 * The octets one concatenated message may hold: a UTF-8 character never
 * takes fewer than half the octets it was sent in (GSM-7 escapes, UCS-2),
 * so twice max_message_length loses no text the cut would keep.
 */
size_t
mo_group_max(const struct config_smpp *cfg)
{
	return 2 * (size_t)cfg->max_message_length;
}

static uint64_t
token_make(const struct sess *s, uint32_t cmd, uint32_t seq)
{
	return (uint64_t)s->idx << 62 |
	    (uint64_t)(cmd == SMPP_CMD_DATA_SM) << 61 |
	    (uint64_t)(s->gen & TOK_GEN_MASK) << 32 | seq;
}

void
mo_answer_now(struct sess *s, uint32_t id, uint32_t seq, uint32_t status)
{
	uint8_t buf[64];
	int n = smpp_encode_sm_resp(buf, sizeof(buf),
	    id == SMPP_CMD_DATA_SM ? SMPP_CMD_DATA_SM_RESP
	                           : SMPP_CMD_DELIVER_SM_RESP,
	    seq ? seq : 1, status, NULL, NULL, 0);

	if (n > 0) {
		/* A sequence of 0 cannot go through the library: patch it back. */
		if (seq == 0)
			memset(buf + 12, 0, 4);
		sess_write(s, buf, (size_t)n);
	}
}

/* ---- what the store needs to know about our answers (intake_acks) ---- */

static int64_t
ack_slot_us(const struct smpp_link *l)
{
	return (int64_t)l->cfg.ack_lost_ms * 1000 / (MO_ACK_SLOTS - 2);
}

/* A new connection: a new number, no answers written on it yet. */
void
mo_conn_open(struct sess *s)
{
	struct smpp_link *l = s->l;

	s->conn = (uint64_t)l->instance << 32 | ++l->nconns;
	for (int i = 0; i < MO_ACK_SLOTS; i++)
		s->ack_slot[i] = -1;
}

/* An ESME_ROK for a message received at time_us written on s now. */
static void
mo_ack_written(struct sess *s, int64_t time_us)
{
	int64_t slot = clock_mono_us() / ack_slot_us(s->l);
	int i = (int)(slot % MO_ACK_SLOTS);

	if (s->ack_slot[i] != slot) {
		s->ack_slot[i] = slot;
		s->ack_min_us[i] = time_us;
	} else if (time_us < s->ack_min_us[i]) {
		s->ack_min_us[i] = time_us;
	}
}

/* Whether pending p owes an answer on connection s as it is now. */
static bool
pending_on(const struct pending *p, const struct sess *s)
{
	for (size_t i = 0; i < p->ntokens; i++)
		if ((p->tokens[i] >> 62 & 1) == s->idx &&
		    ((uint32_t)(p->tokens[i] >> 32) & TOK_GEN_MASK) ==
		        (s->gen & TOK_GEN_MASK))
			return true;
	return false;
}

/*
 * The earliest message time on s whose answer may not reach the SMSC now
 * that s closes: one still at the store (its answer will never be
 * written here), or one answered within the last ack_lost_ms.
 */
static int64_t
mo_at_risk_from(const struct sess *s)
{
	const struct smpp_link *l = s->l;
	int64_t from = INT64_MAX;
	int64_t first = (clock_mono_us() - (int64_t)l->cfg.ack_lost_ms * 1000) /
	    ack_slot_us(l);

	for (const struct pending *p = l->pend; p != NULL; p = p->next)
		if (p->msg.channel != NULL && p->msg.time_us < from &&
		    pending_on(p, s))
			from = p->msg.time_us;
	for (int i = 0; i < MO_ACK_SLOTS; i++)
		if (s->ack_slot[i] >= first && s->ack_min_us[i] < from)
			from = s->ack_min_us[i];
	return from;
}

/* s closes: keep what the store must know of its answers. */
void
mo_conn_closed(struct sess *s)
{
	struct smpp_link *l = s->l;

	if (s->conn == 0 || !s->rx)
		return;
	if (l->nclosed == MO_CLOSED_MAX) {
		/* Forget the oldest: its messages count as at risk. */
		l->known_from = INTAKE_CONN_NUMBER(l->closed[0].conn) + 1;
		memmove(&l->closed[0], &l->closed[1],
		    (MO_CLOSED_MAX - 1) * sizeof(l->closed[0]));
		l->nclosed--;
	}
	l->closed[l->nclosed].conn = s->conn;
	l->closed[l->nclosed].at_risk_from_us = mo_at_risk_from(s);
	l->nclosed++;
}

/* ---- answers ------------------------------------------------------------ */

/* Answer one PDU, if its connection is still the one it came on. */
static void
token_ack(struct smpp_link *l, uint64_t tok, uint32_t status, int64_t time_us)
{
	struct sess *s = &l->sess[tok >> 62 & 1];
	uint32_t gen = (uint32_t)(tok >> 32) & TOK_GEN_MASK;
	uint32_t id = (tok >> 61 & 1) ? SMPP_CMD_DATA_SM : SMPP_CMD_DELIVER_SM;

	if (tok == TOK_NONE)
		return;
	if ((s->gen & TOK_GEN_MASK) != gen || s->bev == NULL ||
	    (s->st != SS_BOUND && s->st != SS_UNBINDING)) {
		l->st.mo_dropped_acks++;
		link_log(l, LOG_DEBUG,
		    "answer for sequence %u dropped: its connection is gone (the SMSC will redeliver)",
		    (uint32_t)tok);
		return;
	}
	mo_answer_now(s, id, (uint32_t)tok, status);
	if (status == SMPP_ESME_ROK && time_us >= 0)
		mo_ack_written(s, time_us);
}

static struct pending *
pending_new(struct smpp_link *l, const uint64_t *tokens, size_t ntokens)
{
	struct pending *p = xcalloc(1, sizeof(*p));

	p->l = l;
	p->tokens = xmalloc(ntokens * sizeof(*tokens));
	memcpy(p->tokens, tokens, ntokens * sizeof(*tokens));
	p->ntokens = ntokens;
	p->next = l->pend;
	if (l->pend)
		l->pend->prev = p;
	l->pend = p;
	l->inflight_mo++;
	intake_window_note(&l->window, l->inflight_mo, clock_mono_us());
	return p;
}

static void
pending_unlink(struct smpp_link *l, struct pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		l->pend = p->next;
	if (p->next)
		p->next->prev = p->prev;
	l->inflight_mo--;
}

static void
pending_free(struct pending *p)
{
	free(p->tokens);
	free(p->text);
	free(p);
}

static void mo_submit_reasm(
    struct smpp_link *, const struct sess *, struct smpp_reasm_msg *);

/* ---- pacing ------------------------------------------------------------- */

static void mo_done(const struct intake_result *, void *);

/*
 * An SMSC floods deliver_sm as fast as we answer them, whatever the rate
 * it takes our replies at: with a window of 500 the acknowledgements ran
 * seconds ahead of the replies, which waited in the queue (reply p99 6 s
 * against the npm peer, issue 20). While the reply parts queued reach
 * mo_park_backlog a new MO is parked here, unanswered, so the SMSC's
 * window fills and its flood follows our replies: a reply then waits
 * about (the SMSC's window + the backlog) / the reply rate. Messages at
 * the store are not counted: a batch committing while the queue drains
 * would leave the link idle (counting them cost 40% of the rate). A parked MO
 * stays in l->pend (its answer is owed: a drop counts it at risk, like
 * one at the store) and goes on in arrival order as replies settle, or
 * after mo_park_max_ms whatever the backlog, well inside an SMSC's
 * response timeout.
 */
static bool
mo_backlogged(const struct smpp_link *l)
{
	return l->tune.mo_park_backlog > 0 &&
	    l->mt_queued >= l->tune.mo_park_backlog;
}

/*
 * MO p on to the store, saying whether more may follow it before the peer
 * waits for our answers: below its window the store may gather it with
 * them into one transaction (docs/store.md, "Gathering"); one that fills
 * the window (a window of 1: every one) starts its batch at once.
 */
static void
mo_hand_over(struct smpp_link *l, struct pending *p)
{
	if (intake_window_open(&l->window, l->inflight_mo))
		p->msg.flags |= INTAKE_F_MAY_WAIT;
	l->hooks.submit(l->hooks.ctx, &p->msg, mo_done, p);
}

static void
mo_to_store(struct smpp_link *l, struct pending *p)
{
	if (l->park_head == NULL && !mo_backlogged(l)) {
		mo_hand_over(l, p);
		return;
	}
	p->parked_at = clock_mono_us();
	p->park_next = NULL;
	if (l->park_tail != NULL)
		l->park_tail->park_next = p;
	else
		l->park_head = p;
	l->park_tail = p;
	l->nparked++;
	l->st.mo_parked++;
}

/* Parked MO on to the store while there is room, or (now >= 0) time is up. */
void
mo_unpark(struct smpp_link *l, int64_t now)
{
	int64_t max_us = (int64_t)l->tune.mo_park_max_ms * 1000;

	while (l->park_head != NULL) {
		struct pending *p = l->park_head;
		bool late = now >= 0 && now - p->parked_at >= max_us;

		if (!late && mo_backlogged(l))
			break;
		if (late)
			l->st.mo_park_timeouts++;
		l->park_head = p->park_next;
		if (l->park_head == NULL)
			l->park_tail = NULL;
		l->nparked--;
		mo_hand_over(l, p);
	}
}

/* The link stops or goes: parked MO never reach the store. */
static void
mo_park_drop(struct smpp_link *l, bool answer)
{
	struct pending *p;

	while ((p = l->park_head) != NULL) {
		l->park_head = p->park_next;
		l->nparked--;
		for (size_t i = 0; answer && i < p->ntokens; i++)
			token_ack(
			    l, p->tokens[i], l->cfg.temporary_error_status, -1);
		pending_unlink(l, p);
		pending_free(p);
	}
	l->park_tail = NULL;
}

/*
 * A part is kept. A redelivery of a part of a message already processed
 * is forgotten (never joined again); parts the store returns (kept before
 * a restart) join the ones held, which may complete the message.
 */
static void
mo_part_kept(
    struct smpp_link *l, const struct pending *p, const struct intake_result *r)
{
	struct smpp_concat c = { SMPP_CONCAT_UDH16, p->part.ref, p->part.total,
		p->part.seq };

	if (r->part_done) {
		smpp_reasm_forget(l->reasm, p->src, p->dst, &c);
		return;
	}
	for (size_t i = 0; i < r->nparts; i++) {
		struct smpp_reasm_msg *m = NULL;

		c.seq = r->parts[i].seq;
		if (c.seq < 1 || c.seq > c.total)
			continue;
		if (smpp_reasm_add(l->reasm, p->src, p->dst, &c,
		        r->parts[i].dcs, r->parts[i].data, r->parts[i].len,
		        TOK_NONE, clock_mono_us(), &m) == SMPP_REASM_COMPLETE) {
			mo_submit_reasm(l, NULL, m);
			return;
		}
	}
}

/* The store's answer: acknowledge every PDU of the message. */
static void
mo_done(const struct intake_result *res, void *arg)
{
	struct pending *p = arg;
	struct smpp_link *l = p->l;
	uint32_t status;

	if (l != NULL) {
		if (res->status == INTAKE_TEMPFAIL) {
			status = l->cfg.temporary_error_status;
			l->st.mo_tempfail++;
		} else {
			status = SMPP_ESME_ROK;
			l->st.mo_ok++;
		}
		for (size_t i = 0; i < p->ntokens; i++)
			token_ack(l, p->tokens[i], status,
			    p->msg.channel != NULL ? p->msg.time_us : -1);
		pending_unlink(l, p);
		mo_unpark(l, -1);
		if ((p->msg.flags & INTAKE_F_PART) &&
		    res->status != INTAKE_TEMPFAIL)
			mo_part_kept(l, p, res);
		if (l->stopping)
			link_stop_progress(l);
	}
	pending_free(p);
}

/*
 * The text is cut at max_message_length octets of UTF-8 (on a character
 * boundary): nothing downstream, logs included, ever sees a huge SMS.
 */
static void
mo_decode(struct smpp_link *l, struct pending *p, uint8_t dcs,
    const uint8_t *data, size_t len)
{
	size_t cap = TEXT_UTF8_MAX(len) + 1;
	unsigned flags = 0;

	if (cap > (size_t)l->cfg.max_message_length + 1)
		cap = (size_t)l->cfg.max_message_length + 1;
	p->text = xmalloc(cap);
	p->msg.text_len = text_decode(dcs, data, len, p->text, cap, &flags);
	p->msg.text = p->text;
	p->msg.text_flags = flags;
	if (flags & TEXT_F_TRUNCATED) {
		char m[SMPP_LOG_ADDR_MAX];

		l->st.mo_truncated++;
		link_log(l, LOG_WARN,
		    "MO from %s: text of %zu octets cut to %zu bytes (max_message_length)",
		    smpp_log_addr(p->src, m, sizeof(m)), len, p->msg.text_len);
	}
}

/*
 * The acknowledgement facts of a message that came on s (NULL: none, the
 * store then never takes it for a redelivery).
 */
static const struct intake_acks *
mo_acks(struct pending *p, const struct sess *s)
{
	const struct smpp_link *l;

	if (s == NULL || s->conn == 0)
		return NULL;
	l = s->l;
	p->acks.conn = s->conn;
	p->acks.known_from = l->known_from;
	p->acks.closed = l->closed;
	p->acks.nclosed = l->nclosed;
	return &p->acks;
}

/* Decode a whole message that came on s and hand it to the store. */
static void
mo_submit(struct smpp_link *l, const struct sess *s, const char *src,
    const char *dst, uint8_t dcs, const uint8_t *data, size_t len,
    const uint64_t *tokens, size_t ntokens, const struct intake_part *part)
{
	struct pending *p = pending_new(l, tokens, ntokens);

	strlcpy_s(p->src, src, sizeof(p->src));
	strlcpy_s(p->dst, dst, sizeof(p->dst));
	p->msg.channel = "sms";
	p->msg.sender = p->src;
	p->msg.recipient = p->dst;
	mo_decode(l, p, dcs, data, len);
	p->msg.time_us = clock_real_us();
	p->msg.external_id = NULL;
	p->msg.dcs = dcs;
	p->msg.acks = mo_acks(p, s);
	if (part != NULL) {
		p->part = *part;
		p->part.data = NULL;
		p->msg.part = part;
		p->msg.flags = INTAKE_F_WHOLE;
	}
	l->st.mo_messages++;
	if (log_get_level() <= LOG_DEBUG) {
		char m[SMPP_LOG_ADDR_MAX], e[256];

		link_log(l, LOG_DEBUG, "MO from %s dcs 0x%02x: \"%s\"",
		    smpp_log_addr(src, m, sizeof(m)), dcs,
		    log_escape(p->text, p->msg.text_len, e, sizeof(e)));
	}
	mo_to_store(l, p);
}

/* A reassembled message; s: the connection of its last part, or NULL. */
static void
mo_submit_reasm(
    struct smpp_link *l, const struct sess *s, struct smpp_reasm_msg *m)
{
	char b[SMPP_LOG_ADDR_MAX];

	if (m->evicted) {
		l->st.mo_groups_evicted++;
		link_log(l, LOG_WARN,
		    "concatenated message from %s: %u of %u parts processed early, reassembly memory full",
		    smpp_log_addr(m->src, b, sizeof(b)), m->got, m->total);
	} else if (!m->complete) {
		l->st.mo_partial++;
		link_log(l, LOG_INFO,
		    "concatenated message from %s: %u of %u parts after the timeout, processed as it is",
		    smpp_log_addr(m->src, b, sizeof(b)), m->got, m->total);
	}
	if (m->truncated)
		link_log(l, LOG_WARN,
		    "concatenated message from %s: parts past %zu octets dropped",
		    smpp_log_addr(m->src, b, sizeof(b)), mo_group_max(&l->cfg));
	if (m->odd_parts > 0)
		link_log(l, LOG_WARN,
		    "concatenated UCS-2 message from %s: %u parts of odd length, their last octet replaced by U+FFFD",
		    smpp_log_addr(m->src, b, sizeof(b)), m->odd_parts);
	if (l->hooks.keep_parts) {
		/* Its parts were answered one by one: only the last PDU's
		   answer may still be owed (tokens other than TOK_NONE). */
		struct intake_part whole = { .ref = m->ref, .total = m->total };
		size_t n = 0;

		for (size_t i = 0; i < m->ntokens; i++)
			if (m->tokens[i] != TOK_NONE)
				m->tokens[n++] = m->tokens[i];
		mo_submit(l, s, m->src, m->dst, m->dcs, m->data, m->len,
		    m->tokens, n, &whole);
	} else {
		mo_submit(l, s, m->src, m->dst, m->dcs, m->data, m->len,
		    m->tokens, m->ntokens, NULL);
	}
	smpp_reasm_msg_free(m);
}

/* Copy the value of "key:" in a receipt text, up to a space. */
static void
receipt_field(const char *text, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key), n = 0;
	const char *p = text;

	out[0] = '\0';
	while ((p = strstr(p, key)) != NULL) {
		if (p == text || p[-1] == ' ')
			break;
		p += klen;
	}
	if (p == NULL)
		return;
	p += klen;
	while (p[n] != '\0' && p[n] != ' ' && n + 1 < outlen)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* A delivery receipt: parse it and give it to the receipt hook. */
static void
mo_receipt(struct smpp_link *l, const struct smpp_sm *sm, uint64_t tok)
{
	char text[TEXT_UTF8_MAX(SMPP_PDU_MAX) + 1], id[66], stat[16], errc[16];
	struct smpp_receipt r;
	struct pending *p;

	l->st.receipts++;
	text_decode(
	    sm->data_coding, sm->text, sm->text_len, text, sizeof(text), NULL);
	receipt_field(text, "id:", id, sizeof(id));
	receipt_field(text, "stat:", stat, sizeof(stat));
	receipt_field(text, "err:", errc, sizeof(errc));
	memset(&r, 0, sizeof(r));
	r.src = sm->src.addr;
	r.dst = sm->dst.addr;
	r.message_id = sm->has_receipt_id ? sm->receipted_message_id : id;
	r.has_state = sm->has_message_state;
	r.state = sm->message_state;
	r.stat = stat;
	r.err = errc;
	r.esm_class = sm->esm_class;
	if (l->hooks.receipt == NULL) {
		token_ack(l, tok, SMPP_ESME_ROK, -1);
		return;
	}
	p = pending_new(l, &tok, 1);
	l->hooks.receipt(l->hooks.ctx, &r, mo_done, p);
}

/* Hand one part to the store to keep; its PDU is answered when it is. */
static void
mo_submit_part(struct sess *s, const struct smpp_sm *sm, uint64_t tok,
    bool alone, bool dropped)
{
	struct smpp_link *l = s->l;
	struct pending *p = pending_new(l, &tok, 1);

	strlcpy_s(p->src, sm->src.addr, sizeof(p->src));
	strlcpy_s(p->dst, sm->dst.addr, sizeof(p->dst));
	p->part.ref = sm->concat.ref;
	p->part.total = sm->concat.total;
	p->part.seq = sm->concat.seq;
	p->part.dcs = sm->data_coding;
	p->part.dropped = dropped;
	p->part.want_stored = alone;
	p->part.data = dropped ? NULL : sm->text;
	p->part.len = dropped ? 0 : sm->text_len;
	p->msg.channel = "sms";
	p->msg.sender = p->src;
	p->msg.recipient = p->dst;
	p->msg.text = "";
	p->msg.time_us = clock_real_us();
	p->msg.dcs = sm->data_coding;
	p->msg.flags = INTAKE_F_PART;
	p->msg.part = &p->part;
	p->msg.acks = mo_acks(p, s);
	mo_to_store(l, p);
	/* (p may be freed by now: done may run from inside submit) */
}

/*
 * A part with parts kept by the store: the reassembler joins what this
 * process holds; every part but the one completing the message is kept
 * by the store and answered once it is, the completing one is answered
 * with the whole message (processed in the same commit).
 */
static void
mo_part(struct sess *s, const struct smpp_sm *sm, uint64_t tok)
{
	struct smpp_link *l = s->l;
	struct smpp_reasm_msg *m = NULL;
	bool alone =
	    !smpp_reasm_has(l->reasm, sm->src.addr, sm->dst.addr, &sm->concat);

	switch (smpp_reasm_add(l->reasm, sm->src.addr, sm->dst.addr,
	    &sm->concat, sm->data_coding, sm->text, sm->text_len, TOK_NONE,
	    clock_mono_us(), &m)) {
	case SMPP_REASM_COMPLETE:
		for (size_t i = 0; i < m->ntokens; i++)
			if (m->tokens[i] == TOK_NONE) {
				m->tokens[i] = tok; /* answered with it */
				break;
			}
		mo_submit_reasm(l, s, m);
		break;
	case SMPP_REASM_DUPLICATE:
		/* maybe its first copy was not kept: the store ignores it
		   when it was */
		l->st.mo_duplicate_parts++;
		mo_submit_part(s, sm, tok, alone, false);
		break;
	case SMPP_REASM_DROPPED: mo_submit_part(s, sm, tok, alone, true); break;
	case SMPP_REASM_HELD: mo_submit_part(s, sm, tok, alone, false); break;
	}
	l->st.mo_parts_dropped = smpp_reasm_counts(l->reasm)->parts_dropped;
	mo_expire(l, clock_mono_us());
}

void
mo_on_pdu(struct sess *s, const struct smpp_pdu *pdu)
{
	struct smpp_link *l = s->l;
	const struct smpp_sm *sm = &pdu->u.sm;
	uint64_t tok = token_make(s, pdu->hdr.id, pdu->hdr.seq);
	struct smpp_reasm_msg *m = NULL;

	l->st.mo_parts++;
	if (!s->rx || s->st != SS_BOUND) {
		mo_answer_now(
		    s, pdu->hdr.id, pdu->hdr.seq, SMPP_ESME_RINVBNDSTS);
		return;
	}
	if (l->stopping) {
		/* Stop taking new work: the SMSC keeps it and retries. */
		token_ack(l, tok, l->cfg.temporary_error_status, -1);
		return;
	}
	if (sm->is_receipt) {
		mo_receipt(l, sm, tok);
		return;
	}
	if (sm->concat.src == SMPP_CONCAT_NONE) {
		mo_submit(l, s, sm->src.addr, sm->dst.addr, sm->data_coding,
		    sm->text, sm->text_len, &tok, 1, NULL);
		return;
	}
	if (l->hooks.keep_parts) {
		mo_part(s, sm, tok);
		return;
	}
	switch (smpp_reasm_add(l->reasm, sm->src.addr, sm->dst.addr,
	    &sm->concat, sm->data_coding, sm->text, sm->text_len, tok,
	    clock_mono_us(), &m)) {
	case SMPP_REASM_COMPLETE: mo_submit_reasm(l, s, m); break;
	case SMPP_REASM_DUPLICATE: l->st.mo_duplicate_parts++; break;
	case SMPP_REASM_DROPPED:
	case SMPP_REASM_HELD: break;
	}
	/* The last part of a message may be the one dropped: ask the counts. */
	l->st.mo_parts_dropped = smpp_reasm_counts(l->reasm)->parts_dropped;
	mo_expire(l, clock_mono_us()); /* groups pushed out by the bounds */
}

void
mo_expire(struct smpp_link *l, int64_t now)
{
	struct smpp_reasm_msg *m;

	while ((m = smpp_reasm_expire(l->reasm, now)) != NULL) {
		if (l->stopping) {
			for (size_t i = 0; i < m->ntokens; i++)
				token_ack(l, m->tokens[i],
				    l->cfg.temporary_error_status, -1);
			smpp_reasm_msg_free(m);
		} else {
			mo_submit_reasm(l, NULL, m);
		}
	}
}

/* At a stop: parts still waiting for the rest get the temporary status,
   and so do parked messages (the SMSC sends them again). */
void
mo_flush_held(struct smpp_link *l)
{
	struct smpp_reasm_msg *m;

	mo_park_drop(l, true);
	while ((m = smpp_reasm_pop(l->reasm)) != NULL) {
		for (size_t i = 0; i < m->ntokens; i++)
			token_ack(
			    l, m->tokens[i], l->cfg.temporary_error_status, -1);
		smpp_reasm_msg_free(m);
	}
}

/* The link is going away: pending store answers will find no link. */
void
mo_detach_all(struct smpp_link *l)
{
	mo_park_drop(l, false);
	for (struct pending *p = l->pend; p != NULL; p = p->next)
		p->l = NULL;
	l->pend = NULL;
	l->inflight_mo = 0;
}
