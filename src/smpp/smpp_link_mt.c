/*
 * The MT path of the SMPP link: replies become submit_sm parts, sent in
 * order within a window of outstanding requests matched by sequence
 * number. ESME_RTHROTTLED / ESME_RMSGQFUL pause the whole link (the pause
 * doubles while the SMSC keeps refusing) and the part goes back to the
 * head of the queue; other temporary errors, response timeouts and drops
 * retry the part with a doubling delay, at most mt_max_attempts times;
 * permanent errors are reported at once. Every part is reported exactly
 * once through hooks.mt_report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/clock.h"
#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_frame.h"
#include "meterline/smpp_link.h"
#include "smpp_link_int.h"
#include "meterline/text.h"
#include "meterline/xmalloc.h"

static void
q_push_tail(struct smpp_link *l, struct mt_part *p)
{
	p->next = NULL;
	if (l->q_tail)
		l->q_tail->next = p;
	else
		l->q_head = p;
	l->q_tail = p;
}

static void
q_push_head(struct smpp_link *l, struct mt_part *p)
{
	p->next = l->q_head;
	l->q_head = p;
	if (l->q_tail == NULL)
		l->q_tail = p;
}

static struct mt_part *
q_pop(struct smpp_link *l)
{
	struct mt_part *p = l->q_head;

	if (p != NULL) {
		l->q_head = p->next;
		if (l->q_head == NULL)
			l->q_tail = NULL;
		p->next = NULL;
	}
	return p;
}

/* Report a part's final outcome and free it (and its reply, if last). */
static void
mt_settle_id(struct smpp_link *l, struct mt_part *p, enum smpp_mt_state state,
    uint32_t status, const char *message_id, bool id_lost)
{
	struct mt_msg *m = p->msg;
	struct smpp_mt_report r = { m->cookie, p->idx, m->nparts, state, status,
		message_id ? message_id : "", 0, id_lost };

	r.last = ++m->nsettled == m->nparts;
	l->mt_queued--;
	mo_unpark(l, -1);
	switch (state) {
	case SMPP_MT_ACCEPTED: l->st.mt_ok++; break;
	case SMPP_MT_REJECTED: l->st.mt_rejected++; break;
	case SMPP_MT_GAVE_UP: l->st.mt_gave_up++; break;
	case SMPP_MT_UNSENT: l->st.mt_unsent++; break;
	}
	if (state == SMPP_MT_REJECTED || state == SMPP_MT_GAVE_UP) {
		char b[SMPP_LOG_ADDR_MAX], sb[32];

		link_log(l, LOG_WARN, "reply to %s part %u/%u %s (%s)",
		    smpp_log_addr(p->dst.addr, b, sizeof(b)), p->idx, m->nparts,
		    state == SMPP_MT_REJECTED ? "rejected" : "given up",
		    smpp_status_name(status, sb, sizeof(sb)));
	}
	if (l->hooks.mt_report)
		l->hooks.mt_report(l->hooks.ctx, &r);
	free(p);
	if (r.last)
		free(m);
}

static void
mt_settle(struct smpp_link *l, struct mt_part *p, enum smpp_mt_state state,
    uint32_t status, const char *message_id)
{
	mt_settle_id(l, p, state, status, message_id, false);
}

/*
 * A temporary failure of one part (status 0: a drop or a timeout): try it
 * again after a doubling delay, or give up after mt_max_attempts.
 */
void
mt_requeue(struct smpp_link *l, struct mt_part *p, uint32_t status)
{
	int64_t delay = l->tune.mt_retry_ms;

	p->attempts++;
	p->last_status = status;
	if (p->attempts >= l->tune.mt_max_attempts) {
		mt_settle(l, p, SMPP_MT_GAVE_UP, status, NULL);
		return;
	}
	for (unsigned i = 1; i < p->attempts && delay < l->cfg.reconnect_max_ms;
	     i++)
		delay *= 2;
	if (delay > l->cfg.reconnect_max_ms)
		delay = l->cfg.reconnect_max_ms;
	l->st.mt_retries++;
	p->not_before = clock_mono_us() + delay * 1000;
	p->next = l->retry;
	l->retry = p;
}

/* The SMSC is throttling us: pause the link, resend this part first. */
static void
mt_throttled(struct smpp_link *l, struct mt_part *p, uint32_t status)
{
	char sb[32];

	l->st.mt_throttled++;
	if (++p->throttled > l->tune.mt_max_throttled) {
		mt_settle(l, p, SMPP_MT_GAVE_UP, status, NULL);
		return;
	}
	if (clock_mono_us() >= l->pause_until) {
		l->throttle_ms = l->throttle_ms == 0 ? l->tune.throttle_pause_ms
		    : l->throttle_ms * 2 > l->cfg.reconnect_max_ms
		    ? l->cfg.reconnect_max_ms
		    : l->throttle_ms * 2;
		l->pause_until =
		    clock_mono_us() + (int64_t)l->throttle_ms * 1000;
		link_log(l, LOG_WARN,
		    "SMSC answered %s: pausing submit_sm for %d ms",
		    smpp_status_name(status, sb, sizeof(sb)), l->throttle_ms);
	}
	q_push_head(l, p);
}

void
mt_on_resp(struct sess *s, const struct req *r, uint32_t status,
    const char *message_id, bool id_lost)
{
	struct smpp_link *l = s->l;
	struct mt_part *p = r->part;

	s->mt_inflight--;
	if (status == SMPP_ESME_ROK) {
		l->throttle_ms = 0;
		mt_settle_id(
		    l, p, SMPP_MT_ACCEPTED, status, message_id, id_lost);
	} else if (status == SMPP_ESME_RTHROTTLED ||
	    status == SMPP_ESME_RMSGQFUL) {
		mt_throttled(l, p, status);
	} else if (smpp_status_temporary(status)) {
		mt_requeue(l, p, status);
	} else {
		mt_settle(l, p, SMPP_MT_REJECTED, status, NULL);
	}
	mt_pump(l);
	if (l->stopping)
		link_stop_progress(l);
}

/* Move the parts whose retry time has come back to the head of the queue. */
static void
mt_due_retries(struct smpp_link *l, int64_t now)
{
	struct mt_part **pp = &l->retry;

	while (*pp != NULL) {
		struct mt_part *p = *pp;

		if (p->not_before > now) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		q_push_head(l, p);
	}
}

static void
mt_send(struct sess *s, struct mt_part *p)
{
	struct smpp_link *l = s->l;
	struct smpp_sm sm;
	uint8_t buf[SMPP_PDU_MAX];
	char err[160];
	uint32_t seq = sess_next_seq(s);
	int n;

	smpp_sm_from_part(&sm, &p->src, &p->dst, p->dcs, p->multi, &p->data);
	sm.registered_delivery = l->cfg.registered_delivery ? 1 : 0;
	n = smpp_encode_sm(
	    buf, sizeof(buf), SMPP_CMD_SUBMIT_SM, seq, &sm, err, sizeof(err));
	if (n < 0) {
		link_log(l, LOG_ERROR, "cannot encode submit_sm: %s", err);
		mt_settle(l, p, SMPP_MT_REJECTED, SMPP_ESME_RSUBMITFAIL, NULL);
		return;
	}
	s->mt_inflight++;
	l->st.mt_parts_sent++;
	sess_write_req(s, seq, SMPP_CMD_SUBMIT_SM, buf, (size_t)n, p);
}

void
mt_pump(struct smpp_link *l)
{
	int64_t now = clock_mono_us();
	struct sess *s;

	if (l->retry != NULL)
		mt_due_retries(l, now);
	if (l->q_head == NULL || now < l->pause_until)
		return;
	s = link_tx_sess(l);
	while (s != NULL && s->bev != NULL && l->q_head != NULL &&
	    s->mt_inflight < l->cfg.window)
		mt_send(s, q_pop(l));
}

/* TON/NPI of a reply's source: letters make it alphanumeric. */
static void
mt_src_addr(const struct smpp_link *l, const char *from, struct smpp_addr *a)
{
	int alpha = 0;

	for (const char *c = from; *c; c++)
		if (!(*c >= '0' && *c <= '9') && *c != '+')
			alpha = 1;
	a->ton = alpha ? 5 : l->cfg.reply_ton;
	a->npi = alpha ? 0 : l->cfg.reply_npi;
	strlcpy_s(a->addr, from[0] == '+' ? from + 1 : from, 21);
}

int
smpp_link_send(
    struct smpp_link *l, const struct smpp_mt *mt, char *err, size_t errlen)
{
	struct text_sms *enc = l->enc;
	struct mt_msg *m;

	if (l->stopping) {
		snprintf(err, errlen, "link stopping");
		return -1;
	}
	if (strlen(mt->from) > 20 || strlen(mt->to) > 20 || mt->to[0] == '\0') {
		snprintf(
		    err, errlen, "address empty or longer than 20 characters");
		return -1;
	}
	if (text_encode(mt->text, mt->len, l->mt_ref++, enc, err, errlen) != 0)
		return -1;
	if (l->mt_queued + enc->nparts > l->tune.mt_queue_max) {
		snprintf(
		    err, errlen, "send queue full (%u parts)", l->mt_queued);
		return -1;
	}
	m = xcalloc(1, sizeof(*m));
	m->cookie = mt->cookie;
	m->nparts = enc->nparts;
	for (unsigned i = 0; i < enc->nparts; i++) {
		struct mt_part *p = xcalloc(1, sizeof(*p));

		p->msg = m;
		p->idx = i + 1;
		mt_src_addr(l, mt->from, &p->src);
		p->dst.ton = l->tune.mt_dst_ton;
		p->dst.npi = l->tune.mt_dst_npi;
		strlcpy_s(
		    p->dst.addr, mt->to[0] == '+' ? mt->to + 1 : mt->to, 21);
		p->dcs = enc->dcs;
		p->multi = enc->nparts > 1;
		p->data = enc->parts[i];
		q_push_tail(l, p);
	}
	l->mt_queued += enc->nparts;
	mt_pump(l);
	return 0;
}

/* Report every part not yet settled with state (at the end of a stop). */
void
mt_drop_all(struct smpp_link *l, enum smpp_mt_state state)
{
	struct mt_part *p;

	while ((p = q_pop(l)) != NULL)
		mt_settle(l, p, state, p->last_status, NULL);
	while ((p = l->retry) != NULL) {
		l->retry = p->next;
		mt_settle(l, p, state, p->last_status, NULL);
	}
}

/* Free every part without reporting (the link is being freed). */
void
mt_free_all(struct smpp_link *l)
{
	struct mt_part *p;

	/* In-flight parts are referenced from the sessions' requests. */
	for (unsigned i = 0; i < l->nsess; i++)
		for (size_t j = 0; j < l->sess[i].nreqs; j++)
			if (l->sess[i].reqs[j].part != NULL)
				q_push_tail(l, l->sess[i].reqs[j].part);
	while ((p = l->retry) != NULL) {
		l->retry = p->next;
		q_push_tail(l, p);
	}
	/* A reply is freed with its last part: count parts per reply. */
	while ((p = q_pop(l)) != NULL) {
		struct mt_msg *m = p->msg;

		free(p);
		if (++m->nsettled == m->nparts)
			free(m);
	}
}
