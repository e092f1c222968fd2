/*
 * The simulator's MO side: messages become deliver_sm parts sent within a
 * window (and at a rate, in a flood); a part answered with an error, or
 * lost with its connection, is delivered again later, as an SMSC would.
 * Replies (submit_sm, reassembled) are matched to the message whose
 * sender they go to, for the transcript and the latency figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "meterline/clock.h"
#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_concat.h"
#include "meterline/smpp_frame.h"
#include "smsc_sim_int.h"
#include "meterline/smsc_sim.h"
#include "meterline/text.h"
#include "meterline/xmalloc.h"

static uint64_t
sim_sender_key(const char *sender)
{
	return hash_bytes(0, sender, strlen(sender));
}

/*
 * Of the sender's messages still waiting for a reply, the one sent first
 * (first, only those already sent: a reply answers one of them) or the
 * one queued last (!first: the message a new one must wait for).
 */
static struct mo_item *
waiting_pick(struct smsc_sim *sim, const char *sender, bool first)
{
	size_t pos = HTAB_START;
	struct mo_item *pick = NULL;
	uintptr_t *v;

	while ((v = htab_next(&sim->waiting, sim_sender_key(sender), &pos))) {
		struct mo_item *it = (struct mo_item *)*v;

		if (strcmp(it->sender, sender) != 0 || (first && !it->sent))
			continue;
		if (pick == NULL ||
		    (first ? it->idx < pick->idx : it->idx > pick->idx))
			pick = it;
	}
	return pick;
}

int
smsc_sim_add_mo(struct smsc_sim *sim, const char *sender, const char *recipient,
    const char *text, char *err, size_t errlen)
{
	struct text_sms *enc = &sim->enc;
	struct mo_item *it;

	if (strlen(sender) > 20 || strlen(recipient) > 20) {
		snprintf(err, errlen, "address longer than 20 characters");
		return -1;
	}
	if (text_encode(text, strlen(text), sim->mo_ref++, enc, err, errlen) !=
	    0)
		return -1;
	it = xcalloc(1, sizeof(*it));
	strlcpy_s(it->sender, sender, sizeof(it->sender));
	strlcpy_s(it->recipient, recipient, sizeof(it->recipient));
	it->text = xstrdup(text);
	it->dcs = enc->dcs;
	it->nparts = enc->nparts;
	it->parts = xcalloc(enc->nparts, sizeof(*it->parts));
	for (unsigned i = 0; i < enc->nparts; i++) {
		it->parts[i].item = it;
		it->parts[i].len = enc->parts[i].len;
		memcpy(
		    it->parts[i].data, enc->parts[i].data, enc->parts[i].len);
	}
	if (sim->nitems == sim->capitems) {
		sim->capitems = sim->capitems ? 2 * sim->capitems : 64;
		sim->items =
		    xrealloc(sim->items, sim->capitems * sizeof(*sim->items));
	}
	it->idx = sim->nitems;
	sim->items[sim->nitems++] = it;
	/* Waiting for a reply, in the order sent, per sender. */
	it->prev = waiting_pick(sim, sender, false);
	htab_put(&sim->waiting, sim_sender_key(sender), (uintptr_t)it);
	sim->st.mo_queued++;
	return 0;
}

/*
 * A scenario text's escapes, in place: \n a line break, \t a tab, \\ a
 * backslash (a line of the file cannot hold the first two); any other
 * backslash stays as it is.
 */
static void
scenario_unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (*s == '\\' &&
		    (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
			s++;
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : '\\';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int
smsc_sim_load_scenario(
    struct smsc_sim *sim, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	unsigned lineno = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *from = line, *to, *text, e[128];

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if ((to = strchr(from, '\t')) == NULL ||
		    (text = strchr(to + 1, '\t')) == NULL) {
			snprintf(err, errlen,
			    "%s:%u: expected sender<TAB>recipient<TAB>text",
			    path, lineno);
			fclose(f);
			return -1;
		}
		*to++ = '\0';
		*text++ = '\0';
		scenario_unescape(text);
		if (smsc_sim_add_mo(sim, from, to, text, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, e);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static void
sim_transcript(struct smsc_sim *sim, char dir, const char *from, const char *to,
    const char *text)
{
	char esc[2048];

	if (sim->cfg.transcript == NULL)
		return;
	fprintf(sim->cfg.transcript, "%c %s -> %s: %s\n", dir, from, to,
	    log_escape(text, strlen(text), esc, sizeof(esc)));
	fflush(sim->cfg.transcript);
}

static void
sim_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smsc_sim *sim = arg;

	(void)fd;
	(void)what;
	if (sim->done)
		sim->done(sim->done_arg);
}

static size_t sim_nfinished(const struct smsc_sim *);

/* Everything delivered and answered: tell the caller, once, from the loop. */
static void
sim_check_done(struct smsc_sim *sim)
{
	static const struct timeval zero = { 0, 0 };

	if (!sim->running || sim->done_fired || sim->next_item < sim->nitems ||
	    sim_nfinished(sim) < sim->nitems)
		return;
	sim->done_fired = true;
	event_base_once(sim->base, -1, EV_TIMEOUT, sim_done_cb, sim, &zero);
}

static int
item_finished(const struct mo_item *it)
{
	return it->nacked == it->nparts && (it->replied || it->timed_out);
}

static size_t
sim_nfinished(const struct smsc_sim *sim)
{
	return (size_t)sim->st.mo_done; /* kept in step by item_settle */
}

/* Count an item once it is acknowledged and has its reply (or gave up). */
static void
item_settle(struct smsc_sim *sim, struct mo_item *it)
{
	if (it->finished || !item_finished(it))
		return;
	it->finished = true;
	sim->st.mo_done++;
}

static void
q_push(struct smsc_sim *sim, struct mo_part *p, int head)
{
	p->state = MP_QUEUED;
	sim->queued++;
	if (head) {
		p->qnext = sim->q_head;
		sim->q_head = p;
		if (sim->q_tail == NULL)
			sim->q_tail = p;
		return;
	}
	p->qnext = NULL;
	if (sim->q_tail)
		sim->q_tail->qnext = p;
	else
		sim->q_head = p;
	sim->q_tail = p;
}

/* Queue the next messages: one at a time (scenario) or by window and rate. */
static void
sim_advance(struct smsc_sim *sim, int64_t now)
{
	if (!sim->running)
		return;
	if (sim->mode == SMSC_SIM_SCENARIO) {
		if (sim->next_item > 0 &&
		    !sim->items[sim->next_item - 1]->finished)
			return;
		if (sim->next_item < sim->nitems) {
			struct mo_item *it = sim->items[sim->next_item++];

			for (unsigned i = 0; i < it->nparts; i++)
				q_push(sim, &it->parts[i], 0);
		}
		return;
	}
	while (sim->next_item < sim->nitems &&
	    sim->queued + sim->inflight < sim->cfg.window) {
		struct mo_item *it = sim->items[sim->next_item];

		/* A person sends the next message after reading the reply. */
		if (it->prev != NULL && !it->prev->replied &&
		    !it->prev->timed_out)
			break;
		if (sim->cfg.rate > 0 &&
		    (int64_t)sim->next_item >= (now - sim->run_start) *
		                (int64_t)sim->cfg.rate / 1000000 +
		            1)
			break;
		sim->next_item++;
		for (unsigned i = 0; i < it->nparts; i++)
			q_push(sim, &it->parts[i], 0);
	}
}

static void
seq_insert(struct smsc_sim *sim, struct mo_part *p)
{
	htab_put(&sim->by_seq, hash_u64(p->seq), (uintptr_t)p);
}

static struct mo_part *
seq_take(struct smsc_sim *sim, struct sconn *c, uint32_t seq)
{
	size_t pos = HTAB_START;
	uintptr_t *v;

	while ((v = htab_next(&sim->by_seq, hash_u64(seq), &pos)) != NULL) {
		struct mo_part *p = (struct mo_part *)*v;

		if (p->seq == seq && p->conn == c) {
			htab_del(&sim->by_seq, hash_u64(seq), *v);
			return p;
		}
	}
	return NULL;
}

static int
sim_send_part(struct smsc_sim *sim, struct sconn *c, struct mo_part *p)
{
	struct mo_item *it = p->item;
	struct smpp_sm sm;
	uint8_t buf[SMPP_PDU_MAX];
	int64_t now = clock_mono_us();
	int n;

	memset(&sm, 0, offsetof(struct smpp_sm, ud));
	sm.src.ton = 1;
	sm.src.npi = 1;
	strlcpy_s(sm.src.addr, it->sender, 21);
	sm.dst.ton = 0;
	sm.dst.npi = 1;
	strlcpy_s(sm.dst.addr, it->recipient, 21);
	sm.data_coding = it->dcs;
	sm.esm_class = it->nparts > 1 ? SMPP_ESM_UDHI : 0;
	memcpy(sm.ud, p->data, p->len);
	sm.ud_len = p->len;
	p->seq = sconn_next_seq(c);
	n = smpp_encode_sm(
	    buf, sizeof(buf), SMPP_CMD_DELIVER_SM, p->seq, &sm, NULL, 0);
	if (n < 0 || sconn_write(c, buf, (size_t)n) != 0)
		return -1;
	if (p->retry_at != 0)
		sim->st.mo_redelivered++;
	p->conn = c;
	p->state = MP_SENT;
	seq_insert(sim, p);
	sim->inflight++;
	sim->st.mo_pdus_sent++;
	if (sim->st.first_mo_us == 0)
		sim->st.first_mo_us = now;
	if (!it->sent) {
		it->sent = true;
		it->t_first = now;
		sim_transcript(sim, '>', it->sender, it->recipient, it->text);
	}
	return 0;
}

void
sim_mo_pump(struct smsc_sim *sim)
{
	struct sconn *c = sim_rx_conn(sim);
	int64_t now = clock_mono_us();
	struct mo_part **pp = &sim->retry;

	/* The rate's clock starts when there is someone to deliver to. */
	if (c == NULL && sim->st.first_mo_us == 0)
		sim->run_start = now;
	/* Redeliveries whose time has come go first. */
	while (*pp != NULL) {
		struct mo_part *p = *pp;

		if (p->retry_at > now) {
			pp = &p->qnext;
			continue;
		}
		*pp = p->qnext;
		q_push(sim, p, 1);
	}
	sim_advance(sim, now);
	while (c != NULL && sim->q_head != NULL &&
	    sim->inflight < sim->cfg.window) {
		struct mo_part *p = sim->q_head;

		sim->q_head = p->qnext;
		if (sim->q_head == NULL)
			sim->q_tail = NULL;
		sim->queued--;
		if (sim_send_part(sim, c, p) != 0) {
			q_push(sim, p, 1);
			break;
		}
	}
}

/* Deliver a part again after redeliver_ms. */
static void
sim_retry(struct smsc_sim *sim, struct mo_part *p)
{
	p->state = MP_WAITING;
	p->conn = NULL;
	p->retry_at = clock_mono_us() + (int64_t)sim->cfg.redeliver_ms * 1000;
	p->qnext = sim->retry;
	sim->retry = p;
}

void
sim_mo_on_resp(
    struct smsc_sim *sim, struct sconn *c, uint32_t seq, uint32_t status)
{
	struct mo_part *p = seq_take(sim, c, seq);

	if (p == NULL)
		return; /* a receipt's answer, or a stale one */
	sim->inflight--;
	if (status == SMPP_ESME_ROK) {
		p->state = MP_ACKED;
		p->item->nacked++;
		sim->st.mo_acked_ok++;
		sim->st.last_ack_us = clock_mono_us();
		item_settle(sim, p->item);
	} else {
		sim->st.mo_acked_err++;
		sim->st.last_err_status = status;
		sim_retry(sim, p);
	}
	sim_mo_pump(sim);
	sim_check_done(sim);
}

void
sim_mo_conn_lost(struct smsc_sim *sim, struct sconn *c)
{
	/* Rare (a dropped connection): a walk over every part will do. */
	for (size_t i = 0; i < sim->nitems; i++) {
		struct mo_item *it = sim->items[i];

		for (unsigned k = 0; k < it->nparts; k++) {
			struct mo_part *p = &it->parts[k];

			if (p->state != MP_SENT || p->conn != c ||
			    !htab_del(
			        &sim->by_seq, hash_u64(p->seq), (uintptr_t)p))
				continue;
			sim->inflight--;
			sim_retry(sim, p);
		}
	}
}

/* Record a reply; match it to the oldest unanswered message of its sender. */
static void
sim_reply_done(struct smsc_sim *sim, const char *from, const char *to,
    uint8_t dcs, const uint8_t *data, size_t len, unsigned parts)
{
	struct smsc_sim_reply *r;
	struct mo_item *it;
	size_t cap = TEXT_UTF8_MAX(len) + 1;

	if (sim->nreplies == sim->capreplies) {
		sim->capreplies = sim->capreplies ? 2 * sim->capreplies : 64;
		sim->replies = xrealloc(
		    sim->replies, sim->capreplies * sizeof(*sim->replies));
	}
	r = &sim->replies[sim->nreplies++];
	memset(r, 0, sizeof(*r));
	strlcpy_s(r->from, from, sizeof(r->from));
	strlcpy_s(r->to, to, sizeof(r->to));
	r->text = xmalloc(cap);
	text_decode(dcs, data, len, r->text, cap, NULL);
	r->dcs = dcs;
	r->parts = parts;
	r->latency_us = -1;
	sim->st.replies++;
	sim->st.last_reply_us = clock_mono_us();
	sim_transcript(sim, '<', from, to, r->text);
	it = waiting_pick(sim, to, true);
	if (it != NULL) {
		htab_del(&sim->waiting, sim_sender_key(to), (uintptr_t)it);
		it->replied = true;
		r->latency_us = sim->st.last_reply_us - it->t_first;
		item_settle(sim, it);
	}
	sim_mo_pump(sim);
	sim_check_done(sim);
}

void
sim_reply_part(struct smsc_sim *sim, const struct smpp_sm *sm)
{
	struct smpp_reasm_msg *m = NULL;

	if (sm->concat.src == SMPP_CONCAT_NONE) {
		sim_reply_done(sim, sm->src.addr, sm->dst.addr, sm->data_coding,
		    sm->text, sm->text_len, 1);
		return;
	}
	if (smpp_reasm_add(sim->reasm, sm->src.addr, sm->dst.addr, &sm->concat,
	        sm->data_coding, sm->text, sm->text_len, 0, clock_mono_us(),
	        &m) == SMPP_REASM_COMPLETE) {
		sim_reply_done(
		    sim, m->src, m->dst, m->dcs, m->data, m->len, m->total);
		smpp_reasm_msg_free(m);
	}
}

/* Scenario: a reply that does not come in time; redeliveries. */
void
sim_mo_tick(struct smsc_sim *sim, int64_t now)
{
	struct smpp_reasm_msg *m;

	while ((m = smpp_reasm_expire(sim->reasm, now)) != NULL) {
		char b[SMPP_LOG_ADDR_MAX];

		log_warn("smsc-sim: reply to %s incomplete: %u of %u parts",
		    smpp_log_addr(m->dst, b, sizeof(b)), m->got, m->total);
		smpp_reasm_msg_free(m);
	}
	if (sim->running && sim->mode == SMSC_SIM_SCENARIO &&
	    sim->next_item > 0) {
		struct mo_item *it = sim->items[sim->next_item - 1];

		if (it->sent && !it->replied && !it->timed_out &&
		    now - it->t_first >
		        (int64_t)sim->cfg.reply_timeout_ms * 1000) {
			it->timed_out = true;
			if (sim->cfg.transcript)
				fprintf(sim->cfg.transcript,
				    "! no reply to %s within %d ms\n",
				    it->sender, sim->cfg.reply_timeout_ms);
			item_settle(sim, it);
		}
	}
	sim_mo_pump(sim);
	sim_check_done(sim);
}

void
smsc_sim_run(struct smsc_sim *sim, enum smsc_sim_mode mode,
    void (*done)(void *), void *arg)
{
	sim->running = true;
	sim->mode = mode;
	sim->done = done;
	sim->done_arg = arg;
	sim->run_start = clock_mono_us();
	sim_mo_pump(sim);
	sim_check_done(sim);
}

size_t
smsc_sim_replies(const struct smsc_sim *sim, const struct smsc_sim_reply **out)
{
	*out = sim->replies;
	return sim->nreplies;
}

size_t
smsc_sim_pending(const struct smsc_sim *sim)
{
	return sim->nitems - (size_t)sim->st.mo_done;
}

size_t
smsc_sim_unanswered(const struct smsc_sim *sim)
{
	size_t n = 0;

	for (size_t i = 0; i < sim->nitems; i++)
		n += !sim->items[i]->replied;
	return n;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

void
smsc_sim_report(const struct smsc_sim *sim, FILE *f)
{
	const struct smsc_sim_stats *s = &sim->st;
	int64_t *lat = xmalloc((sim->nreplies + 1) * sizeof(*lat));
	size_t n = 0;
	int64_t end = s->last_reply_us > s->last_ack_us ? s->last_reply_us
	                                                : s->last_ack_us;

	for (size_t i = 0; i < sim->nreplies; i++)
		if (sim->replies[i].latency_us >= 0)
			lat[n++] = sim->replies[i].latency_us;
	qsort(lat, n, sizeof(*lat), cmp_i64);
	fprintf(f,
	    "MO messages: %llu queued, %llu done; deliver_sm sent %llu (redelivered %llu), answered ok %llu, with errors %llu",
	    (unsigned long long)s->mo_queued, (unsigned long long)s->mo_done,
	    (unsigned long long)s->mo_pdus_sent,
	    (unsigned long long)s->mo_redelivered,
	    (unsigned long long)s->mo_acked_ok,
	    (unsigned long long)s->mo_acked_err);
	if (s->mo_acked_err)
		fprintf(f, " (last 0x%02X)", (unsigned)s->last_err_status);
	fputc('\n', f);
	fprintf(f,
	    "replies: %llu; submit_sm %llu: ok %llu, throttled %llu, temporary errors %llu; receipts sent %llu\n",
	    (unsigned long long)s->replies, (unsigned long long)s->submits,
	    (unsigned long long)s->submits_ok,
	    (unsigned long long)s->submits_throttled,
	    (unsigned long long)s->submits_tempfailed,
	    (unsigned long long)s->receipts_sent);
	fprintf(f,
	    "links: %llu connections, binds ok %llu, refused %llu, drops %llu; enquire_link sent %llu answered %llu, received %llu\n",
	    (unsigned long long)s->conns, (unsigned long long)s->binds_ok,
	    (unsigned long long)s->binds_refused, (unsigned long long)s->drops,
	    (unsigned long long)s->enquire_sent,
	    (unsigned long long)s->enquire_answered,
	    (unsigned long long)s->enquire_received);
	if (s->first_mo_us && end > s->first_mo_us)
		fprintf(f,
		    "rate: %.0f MO/s (first deliver_sm to last answer)\n",
		    (double)s->mo_done * 1e6 / (double)(end - s->first_mo_us));
	if (n > 0)
		fprintf(f,
		    "latency MO->reply: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		    (double)lat[n / 2] / 1000,
		    (double)lat[(n * 99) / 100] / 1000,
		    (double)lat[n - 1] / 1000);
	free(lat);
}

/* Print s with tabs and line breaks as spaces, so a line stays a line. */
static void
results_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
	fputc('\n', f);
}

int
smsc_sim_write_results(const struct smsc_sim *sim, FILE *f)
{
	for (size_t i = 0; i < sim->nitems; i++) {
		const struct mo_item *it = sim->items[i];

		fprintf(f, "mo\t%d\t%d\t%s\t%s\t", it->nacked == it->nparts,
		    it->replied, it->sender, it->recipient);
		results_text(f, it->text);
	}
	for (size_t i = 0; i < sim->nreplies; i++) {
		const struct smsc_sim_reply *r = &sim->replies[i];

		fprintf(f, "reply\t%s\t%s\t%u\t%u\t%lld\t", r->from, r->to,
		    r->parts, r->dcs, (long long)r->latency_us);
		results_text(f, r->text);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

void
sim_mo_free(struct smsc_sim *sim)
{
	for (size_t i = 0; i < sim->nitems; i++) {
		free(sim->items[i]->text);
		free(sim->items[i]->parts);
		free(sim->items[i]);
	}
	free(sim->items);
	for (size_t i = 0; i < sim->nreplies; i++)
		free(sim->replies[i].text);
	free(sim->replies);
	htab_free(&sim->by_seq);
	htab_free(&sim->waiting);
}
