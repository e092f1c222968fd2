/*
 * The SMPP ESME link: sessions, binding, enquire_link, reconnect backoff,
 * dispatch of incoming PDUs, graceful stop. The MO path (reassembly, the
 * store, acknowledgements) is in smpp_link_mo.c, the MT path (window,
 * throttling, retries) in smpp_link_mt.c; smpp_link_int.h joins them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "meterline/clock.h"
#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_concat.h"
#include "meterline/smpp_frame.h"
#include "meterline/smpp_link.h"
#include "smpp_link_int.h"
#include "meterline/text.h"
#include "meterline/xmalloc.h"

static void link_stopped_cb(evutil_socket_t, short, void *);

static const char *const sess_state_names[] = {
	[SS_IDLE] = "idle",
	[SS_CONNECTING] = "connecting",
	[SS_BINDING] = "binding",
	[SS_BOUND] = "bound",
	[SS_UNBINDING] = "unbinding",
	[SS_CLOSED] = "closed",
};

void
smpp_link_tuning_defaults(struct smpp_link_tuning *t)
{
	memset(t, 0, sizeof(*t));
	t->name = "smsc";
	t->reconnect_min_ms = 1000;
	t->concat_max_groups = 4096;
	t->concat_max_bytes = 4u << 20;
	t->out_high_bytes = 64u << 10;
	t->out_max_bytes = 1u << 20;
	t->mt_queue_max = 100000;
	t->mt_max_attempts = 5;
	t->mt_max_throttled = 50;
	t->mt_retry_ms = 1000;
	t->throttle_pause_ms = 1000;
	t->mt_dst_ton = 1;
	t->mt_dst_npi = 1;
	t->stop_timeout_ms = 10000;
	t->mo_park_backlog = 256;
	t->mo_park_max_ms = 5000;
}

static struct timeval
ms_tv(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
		(suseconds_t)((ms % 1000) * 1000) };

	return tv;
}

void
link_log(const struct smpp_link *l, enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level < log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_write(level, "smpp[%s] %s", l->tune.name, line);
}

static const char *
sess_label(const struct sess *s)
{
	return s->bind_cmd == SMPP_CMD_BIND_RECEIVER   ? "rx"
	    : s->bind_cmd == SMPP_CMD_BIND_TRANSMITTER ? "tx"
	                                               : "trx";
}

/* Tell the owner when the link as a whole goes up or down. */
static void
link_bound_changed(struct smpp_link *l)
{
	bool now = smpp_link_bound(l);

	if (now == l->was_bound)
		return;
	l->was_bound = now;
	if (l->hooks.bound)
		l->hooks.bound(l->hooks.ctx, now);
}

static void
sess_set_state(struct sess *s, enum sess_state st)
{
	if (s->st == st)
		return;
	link_log(s->l, LOG_DEBUG, "%s: %s -> %s", sess_label(s),
	    sess_state_names[s->st], sess_state_names[st]);
	s->st = st;
	link_bound_changed(s->l);
}

uint32_t
sess_next_seq(struct sess *s)
{
	s->seq = smpp_seq_next(s->seq);
	return s->seq;
}

/*
 * The output buffer is bounded: an SMSC that stops reading would make it
 * grow with every answer we owe. Above out_high_bytes we stop reading new
 * PDUs from that session (so we owe no more answers) until the buffer
 * drains below half of it; sess_tick drops a session that stays paused
 * longer than response_timeout, and one over out_max_bytes goes at once.
 */
static void
sess_out_check(struct sess *s)
{
	struct smpp_link *l = s->l;
	size_t out = evbuffer_get_length(bufferevent_get_output(s->bev));

	if (out > l->st.out_peak_bytes)
		l->st.out_peak_bytes = out;
	if (s->out_paused || out <= l->tune.out_high_bytes)
		return;
	s->out_paused = true;
	s->out_paused_since = clock_mono_us();
	l->st.out_pauses++;
	bufferevent_disable(s->bev, EV_READ);
	/* The write callback fires once the output is down to half. */
	bufferevent_setwatermark(
	    s->bev, EV_WRITE, l->tune.out_high_bytes / 2, 0);
	/* An SMSC reading slowly pauses us again and again: warn now and then. */
	s->out_pause_n++;
	link_log(l, s->out_pause_n % 100 == 1 ? LOG_WARN : LOG_DEBUG,
	    "%s: %zu octets not taken by the SMSC; reading paused (%u times on this connection)",
	    sess_label(s), out, s->out_pause_n);
}

/* Write a PDU; 0 or -1 (no connection). */
int
sess_write(struct sess *s, const uint8_t *pdu, size_t len)
{
	int rc;

	if (s->bev == NULL || len == 0)
		return -1;
	s->l->st.pdus_out++;
	rc = smpp_frame_write(s->bev, pdu, len);
	sess_out_check(s);
	return rc;
}

/* Write a request and remember it until its response or its deadline. */
void
sess_write_req(struct sess *s, uint32_t seq, uint32_t cmd, const uint8_t *pdu,
    size_t len, struct mt_part *part)
{
	struct req *r;

	if (s->nreqs == s->capreqs) {
		s->capreqs = s->capreqs ? 2 * s->capreqs : 16;
		s->reqs = xrealloc(s->reqs, s->capreqs * sizeof(*s->reqs));
	}
	r = &s->reqs[s->nreqs++];
	r->seq = seq;
	r->cmd = cmd;
	r->part = part;
	r->deadline =
	    clock_mono_us() + (int64_t)s->l->cfg.response_timeout_ms * 1000;
	sess_write(s, pdu, len);
}

/* Take the request a response answers; 0 when found. */
static int
sess_take_req(struct sess *s, uint32_t seq, struct req *out)
{
	for (size_t i = 0; i < s->nreqs; i++) {
		if (s->reqs[i].seq != seq)
			continue;
		*out = s->reqs[i];
		s->reqs[i] = s->reqs[--s->nreqs];
		return 0;
	}
	return -1;
}

static int
sess_has_req(const struct sess *s, uint32_t cmd)
{
	for (size_t i = 0; i < s->nreqs; i++)
		if (s->reqs[i].cmd == cmd)
			return 1;
	return 0;
}

/* Answer a PDU with a header-only PDU (generic_nack, *_resp). */
static void
sess_answer(struct sess *s, uint32_t id, uint32_t status, uint32_t seq)
{
	uint8_t buf[SMPP_HEADER_LEN];

	if (id == SMPP_CMD_GENERIC_NACK)
		s->l->st.generic_nacks_sent++;
	smpp_encode_header(buf, sizeof(buf), id, status, seq);
	sess_write(s, buf, sizeof(buf));
}

/* ---- connection life ------------------------------------------------------ */

static void sess_connect(struct sess *);

/* Random jitter: xorshift, seeded per link. */
static uint64_t
link_rand(struct smpp_link *l)
{
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 7;
	l->rng ^= l->rng << 17;
	return l->rng;
}

/*
 * Reconnect delay: doubles per failed attempt from reconnect_min_ms up to
 * reconnect_max_ms, each draw in [half, full] of it and never under the
 * minimum, so a fleet of links does not reconnect in step.
 */
static int64_t
sess_backoff_ms(struct sess *s)
{
	struct smpp_link *l = s->l;
	int64_t full = l->tune.reconnect_min_ms;

	for (unsigned i = 0; i < s->attempt && full < l->cfg.reconnect_max_ms;
	     i++)
		full *= 2;
	if (full > l->cfg.reconnect_max_ms)
		full = l->cfg.reconnect_max_ms;
	full = full / 2 + (int64_t)(link_rand(l) % (uint64_t)(full / 2 + 1));
	return full < l->tune.reconnect_min_ms ? l->tune.reconnect_min_ms
	                                       : full;
}

/* Close the connection, requeue what was in flight, forget the rest. */
static void
sess_close(struct sess *s)
{
	struct smpp_link *l = s->l;

	if (s->bev != NULL)
		mo_conn_closed(s);
	if (s->bev != NULL) {
		smpp_frame_close_after_flush(s->bev, l->base, 1000);
		s->bev = NULL;
	}
	for (size_t i = 0; i < s->nreqs; i++)
		if (s->reqs[i].part != NULL)
			mt_requeue(l, s->reqs[i].part, 0);
	s->nreqs = 0;
	s->mt_inflight = 0;
	s->gen++; /* acknowledgements still owed are now void */
}

/*
 * The connection failed or ended: close it and, unless stopping, come back
 * after the backoff. A reason repeated attempt after attempt is logged
 * once as a warning, then every tenth time.
 */
static void
sess_fail(struct sess *s, const char *reason)
{
	struct smpp_link *l = s->l;
	bool was_bound = s->st == SS_BOUND;
	int64_t delay;

	if (s->st == SS_IDLE || s->st == SS_CLOSED)
		return;
	sess_close(s);
	if (was_bound)
		l->st.drops++;
	if (l->stopping) {
		link_log(l, LOG_INFO, "%s: closed (%s)", sess_label(s), reason);
		sess_set_state(s, SS_CLOSED);
		link_stop_progress(l);
		return;
	}
	delay = sess_backoff_ms(s);
	s->attempt++;
	if (was_bound || strcmp(reason, s->last_fail) != 0) {
		link_log(l, LOG_WARN, "%s: %s; reconnecting in %.1f s",
		    sess_label(s), reason, (double)delay / 1000);
		s->fail_repeat = 0;
	} else if (++s->fail_repeat % 10 == 0) {
		link_log(l, LOG_WARN,
		    "%s: still %s (%u attempts); next in %.1f s", sess_label(s),
		    reason, s->attempt, (double)delay / 1000);
	} else {
		link_log(l, LOG_DEBUG, "%s: %s; reconnecting in %.1f s",
		    sess_label(s), reason, (double)delay / 1000);
	}
	strlcpy_s(s->last_fail, reason, sizeof(s->last_fail));
	sess_set_state(s, SS_IDLE);
	struct timeval tv = ms_tv(delay);
	evtimer_add(s->reconnect_ev, &tv);
}

static void
sess_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sess *s = arg;

	(void)fd;
	(void)what;
	if (!s->l->stopping)
		sess_connect(s);
}

static void
sess_send_bind(struct sess *s)
{
	struct smpp_link *l = s->l;
	struct smpp_bind b;
	uint8_t buf[SMPP_PDU_MAX];
	char err[160];
	uint32_t seq = sess_next_seq(s);
	int n;

	memset(&b, 0, sizeof(b));
	strlcpy_s(b.system_id, l->cfg.system_id, sizeof(b.system_id));
	strlcpy_s(b.password, l->cfg.password, sizeof(b.password));
	strlcpy_s(b.system_type, l->cfg.system_type, sizeof(b.system_type));
	strlcpy_s(
	    b.address_range, l->cfg.address_range, sizeof(b.address_range));
	b.interface_version = 0x34;
	b.addr_ton = l->cfg.addr_ton;
	b.addr_npi = l->cfg.addr_npi;
	n = smpp_encode_bind(
	    buf, sizeof(buf), s->bind_cmd, seq, &b, err, sizeof(err));
	if (n < 0) {
		sess_fail(s, err);
		return;
	}
	sess_set_state(s, SS_BINDING);
	sess_write_req(s, seq, s->bind_cmd, buf, (size_t)n, NULL);
}

static void sess_read_cb(struct bufferevent *, void *);

/*
 * The write timeout: connect() did not complete, or the SMSC took not one
 * octet for response_timeout, which is the stuck output of an SMSC that
 * stopped reading (counted with the drops of sess_out_stuck).
 */
static void
sess_timeout_reason(struct sess *s, char *reason, size_t cap)
{
	if (s->st == SS_CONNECTING) {
		snprintf(reason, cap, "connect timed out");
		return;
	}
	s->l->st.out_drops++;
	snprintf(reason, cap,
	    "write timed out: SMSC not reading, %zu octets unsent",
	    evbuffer_get_length(bufferevent_get_output(s->bev)));
}

/* The output drained below half the high mark: read again. */
static void
sess_write_cb(struct bufferevent *bev, void *arg)
{
	struct sess *s = arg;

	if (!s->out_paused)
		return;
	s->out_paused = false;
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(bev, EV_READ);
	link_log(s->l, LOG_DEBUG, "%s: output drained; reading again",
	    sess_label(s));
	/* PDUs already buffered raise no read event of their own. */
	sess_read_cb(bev, s);
}

static void
sess_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sess *s = arg;
	char reason[160];
	unsigned long tls_err;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		/* Small PDUs answered one by one: Nagle would add 40 ms waits. */
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		s->last_rx = clock_mono_us();
		sess_send_bind(s);
		return;
	}
	if (what & BEV_EVENT_EOF)
		snprintf(
		    reason, sizeof(reason), "connection closed by the SMSC");
	else if (what & BEV_EVENT_TIMEOUT)
		sess_timeout_reason(s, reason, sizeof(reason));
	else if (s->l->by_name && s->st == SS_CONNECTING &&
	    bufferevent_socket_get_dns_error(bev) != 0)
		snprintf(reason, sizeof(reason), "cannot resolve %.64s: %s",
		    s->l->cfg.host,
		    evutil_gai_strerror(bufferevent_socket_get_dns_error(bev)));
	else if (s->l->tls_ctx != NULL &&
	    (tls_err = bufferevent_get_openssl_error(bev)))
		snprintf(reason, sizeof(reason), "TLS: %s",
		    ERR_reason_error_string(tls_err)
		        ? ERR_reason_error_string(tls_err)
		        : "handshake failed");
	else
		snprintf(reason, sizeof(reason), "%s: %s",
		    s->st == SS_CONNECTING ? "connect failed"
		                           : "connection error",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	while (s->l->tls_ctx != NULL && bufferevent_get_openssl_error(bev) != 0)
		; /* drain the rest of the queue */
	sess_fail(s, reason);
}

/* 1 when name is a numeric IPv4 or IPv6 address. */
static int
is_ip_literal(const char *name)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, name, buf) == 1 ||
	    inet_pton(AF_INET6, name, buf) == 1;
}

/*
 * A TLS bufferevent: SNI and the name check for a host name, the address
 * check for an IP literal (certificates for SMSCs reached by address carry
 * it as an IP SAN). Peers that skip close_notify are tolerated.
 */
static struct bufferevent *
sess_tls_bev(struct sess *s)
{
	struct smpp_link *l = s->l;
	const char *name =
	    l->cfg.tls_server_name[0] ? l->cfg.tls_server_name : l->cfg.host;
	struct bufferevent *bev;
	SSL *ssl = SSL_new(l->tls_ctx);

	if (ssl == NULL)
		return NULL;
	if (is_ip_literal(name)) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
	} else {
		SSL_set_tlsext_host_name(ssl, name);
		SSL_set1_host(ssl, name);
	}
	bev = bufferevent_openssl_socket_new(l->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* connect() to the address, or first look the name up (evdns). */
static int
sess_connect_start(struct sess *s)
{
	struct smpp_link *l = s->l;

	if (l->by_name)
		return bufferevent_socket_connect_hostname(
		    s->bev, l->tune.dns, AF_UNSPEC, l->cfg.host, l->cfg.port);
	return bufferevent_socket_connect(
	    s->bev, (struct sockaddr *)&l->addr, l->addrlen);
}

static void
sess_connect(struct sess *s)
{
	struct smpp_link *l = s->l;
	struct timeval wr = ms_tv(l->cfg.response_timeout_ms);

	s->bev = l->tls_ctx != NULL
	    ? sess_tls_bev(s)
	    : bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		sess_set_state(s, SS_CONNECTING);
		sess_fail(s, "cannot create a socket");
		return;
	}
	bufferevent_setcb(
	    s->bev, sess_read_cb, sess_write_cb, sess_event_cb, s);
	s->out_paused = false;
	s->out_pause_n = 0;
	mo_conn_open(s);
	smpp_frame_setup(s->bev);
	/* The write timeout also bounds connect(). */
	bufferevent_set_timeouts(s->bev, NULL, &wr);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	sess_set_state(s, SS_CONNECTING);
	l->st.connects++;
	if (sess_connect_start(s) < 0)
		sess_fail(s, "connect failed");
}

/* ---- incoming PDUs -------------------------------------------------------- */

/*
 * The response must be the one for the bind we sent: a bind_receiver_resp
 * to a bind_transceiver would leave us believing we can send.
 */
static int
bind_resp_matches(struct sess *s, const struct smpp_pdu *p, const struct req *r)
{
	char want[32], got[32], reason[128];

	if (r->cmd == s->bind_cmd &&
	    p->hdr.id == (s->bind_cmd | SMPP_CMD_RESP_BIT))
		return 1;
	s->l->st.binds_refused++;
	s->l->st.binds_mismatched++;
	snprintf(reason, sizeof(reason), "%s answered by %s: bind failed",
	    smpp_cmd_name(s->bind_cmd, want, sizeof(want)),
	    smpp_cmd_name(p->hdr.id, got, sizeof(got)));
	sess_fail(s, reason);
	return 0;
}

static void
on_bind_resp(struct sess *s, const struct smpp_pdu *p)
{
	struct smpp_link *l = s->l;
	struct req r;
	char buf[32], reason[96], id[80];

	if (sess_take_req(s, p->hdr.seq, &r) != 0 || s->st != SS_BINDING)
		return;
	if (!bind_resp_matches(s, p, &r))
		return;
	if (p->hdr.status != SMPP_ESME_ROK) {
		l->st.binds_refused++;
		snprintf(reason, sizeof(reason), "bind refused with %s",
		    smpp_status_name(p->hdr.status, buf, sizeof(buf)));
		sess_fail(s, reason);
		return;
	}
	l->st.binds_ok++;
	link_log(l, LOG_INFO,
	    "%s: bound to %s:%u as %s%s%s (after %u failed attempts)",
	    sess_label(s), l->cfg.host, l->cfg.port, l->cfg.system_id,
	    p->body_ok ? ", SMSC " : "",
	    p->body_ok ? log_escape(p->u.id, strlen(p->u.id), id, sizeof(id))
	               : "",
	    s->attempt);
	s->attempt = 0;
	s->last_fail[0] = '\0';
	sess_set_state(s, SS_BOUND);
	mt_pump(l);
}

/*
 * A submit_sm_resp: ESME_ROK without a usable message_id (no body, an
 * empty, unterminated or over-long id) is still an accepted message, but
 * no receipt will ever match it: say so instead of losing it quietly.
 */
static void
on_submit_resp(struct sess *s, const struct smpp_pdu *p)
{
	struct req r;
	bool ok = p->hdr.status == SMPP_ESME_ROK;
	bool bad = ok && (!p->body_ok || p->u.id[0] == '\0');

	if (sess_take_req(s, p->hdr.seq, &r) != 0 ||
	    r.cmd != SMPP_CMD_SUBMIT_SM)
		return;
	if (bad) {
		s->l->st.mt_bad_message_id++;
		link_log(s->l, LOG_WARN,
		    "%s: submit_sm_resp (sequence %u) accepted without a usable message_id (%u octets of body): its receipt cannot be matched",
		    sess_label(s), p->hdr.seq, p->hdr.len - SMPP_HEADER_LEN);
	}
	mt_on_resp(s, &r, p->hdr.status, p->body_ok ? p->u.id : "", bad);
}

/* A generic_nack answers one of our requests. */
static void
on_generic_nack(struct sess *s, const struct smpp_pdu *p)
{
	struct req r;
	char buf[32], reason[96];

	if (sess_take_req(s, p->hdr.seq, &r) != 0) {
		link_log(s->l, LOG_WARN, "%s: generic_nack %s for sequence %u",
		    sess_label(s),
		    smpp_status_name(p->hdr.status, buf, sizeof(buf)),
		    p->hdr.seq);
		return;
	}
	if (r.cmd == SMPP_CMD_SUBMIT_SM) {
		mt_on_resp(s, &r, p->hdr.status, "", false);
	} else if (r.cmd == s->bind_cmd) {
		snprintf(reason, sizeof(reason),
		    "bind answered by generic_nack %s",
		    smpp_status_name(p->hdr.status, buf, sizeof(buf)));
		s->l->st.binds_refused++;
		sess_fail(s, reason);
	} else if (r.cmd == SMPP_CMD_UNBIND) {
		sess_fail(s, "unbind answered by generic_nack");
	}
}

/* Answer a PDU we could not decode, and keep the link. */
static void
on_bad_pdu(
    struct sess *s, const struct smpp_pdu *p, uint32_t st, const char *err)
{
	char nb[32], sb[32], eb[256];
	uint32_t id = p->hdr.id;

	/* The library's reason may quote the field it refused: escape it. */
	link_log(s->l, LOG_WARN, "%s: bad %s (sequence %u): %s; answered %s",
	    sess_label(s), smpp_cmd_name(id, nb, sizeof(nb)), p->hdr.seq,
	    log_escape(err, strlen(err), eb, sizeof(eb)),
	    smpp_status_name(st, sb, sizeof(sb)));
	if (id == SMPP_CMD_DELIVER_SM || id == SMPP_CMD_DATA_SM) {
		mo_answer_now(s, id, p->hdr.seq, st);
	} else if (!smpp_cmd_known(id) || !(id & SMPP_CMD_RESP_BIT)) {
		sess_answer(s, SMPP_CMD_GENERIC_NACK, st, p->hdr.seq);
	}
}

static void
dispatch(struct sess *s, const struct smpp_pdu *p)
{
	struct smpp_link *l = s->l;
	struct req r;
	char nb[32];

	switch (p->hdr.id) {
	case SMPP_CMD_BIND_RECEIVER_RESP:
	case SMPP_CMD_BIND_TRANSMITTER_RESP:
	case SMPP_CMD_BIND_TRANSCEIVER_RESP: on_bind_resp(s, p); break;
	case SMPP_CMD_ENQUIRE_LINK:
		l->st.enquire_answered++;
		sess_answer(
		    s, SMPP_CMD_ENQUIRE_LINK_RESP, SMPP_ESME_ROK, p->hdr.seq);
		break;
	case SMPP_CMD_ENQUIRE_LINK_RESP:
		sess_take_req(s, p->hdr.seq, &r);
		break;
	case SMPP_CMD_UNBIND:
		sess_answer(s, SMPP_CMD_UNBIND_RESP, SMPP_ESME_ROK, p->hdr.seq);
		sess_fail(s, "unbound by the SMSC");
		break;
	case SMPP_CMD_UNBIND_RESP:
		if (sess_take_req(s, p->hdr.seq, &r) == 0 &&
		    s->st == SS_UNBINDING)
			sess_fail(s, "unbound");
		break;
	case SMPP_CMD_SUBMIT_SM_RESP: on_submit_resp(s, p); break;
	case SMPP_CMD_GENERIC_NACK: on_generic_nack(s, p); break;
	case SMPP_CMD_DELIVER_SM:
	case SMPP_CMD_DATA_SM: mo_on_pdu(s, p); break;
	case SMPP_CMD_OUTBIND:
	case SMPP_CMD_ALERT_NOTIFICATION:
		link_log(l, LOG_DEBUG, "%s: ignored %s", sess_label(s),
		    smpp_cmd_name(p->hdr.id, nb, sizeof(nb)));
		break;
	default:
		if (!(p->hdr.id & SMPP_CMD_RESP_BIT))
			sess_answer(s, SMPP_CMD_GENERIC_NACK,
			    SMPP_ESME_RINVCMDID, p->hdr.seq);
		break;
	}
}

static int
sess_pdu_cb(void *arg, const uint8_t *buf, size_t len)
{
	struct sess *s = arg;
	struct smpp_pdu *pdu = &s->rx_pdu;
	uint32_t gen = s->gen, st;
	char err[192];

	s->l->st.pdus_in++;
	s->last_rx = clock_mono_us();
	st = smpp_decode(buf, len, pdu, err, sizeof(err));
	if (st != 0)
		on_bad_pdu(s, pdu, st, err);
	else
		dispatch(s, pdu);
	/* Stop reading when the PDU closed this connection or paused it. */
	return s->gen != gen || s->bev == NULL || s->out_paused ? -1 : 0;
}

/*
 * ACK what was read at once. An SMSC whose socket keeps Nagle's algorithm
 * (the npm smpp package's does) sends its next small deliver_sm only once
 * the previous one is acknowledged; our answer comes after a commit, so
 * the kernel's delayed ACK (up to 40 ms) held the SMSC's window back:
 * window 10 against the npm peer ran at 280 MO/s with deliver_sm_resp
 * p50 23 ms (issue 20). Linux leaves quick-ACK mode by itself, so it is
 * asked again after every read.
 */
static void
sess_quickack(struct bufferevent *bev)
{
#ifdef TCP_QUICKACK
	int one = 1;

	setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_QUICKACK, &one,
	    sizeof(one));
#else
	(void)bev;
#endif
}

static void
sess_read_cb(struct bufferevent *bev, void *arg)
{
	struct sess *s = arg;

	sess_quickack(bev);
	if (s->out_paused)
		return;
	if (smpp_frame_read(bev, sess_pdu_cb, s) == SMPP_FRAME_BAD)
		sess_fail(s, "command_length out of range");
}

/* ---- timers --------------------------------------------------------------- */

/* 1 (and the session dropped) when its output buffer is stuck. */
static int
sess_out_stuck(struct sess *s, int64_t now)
{
	struct smpp_link *l = s->l;
	size_t out;
	char reason[128];

	if (s->bev == NULL || !s->out_paused)
		return 0;
	out = evbuffer_get_length(bufferevent_get_output(s->bev));
	if (out <= l->tune.out_max_bytes &&
	    now - s->out_paused_since <=
	        (int64_t)l->cfg.response_timeout_ms * 1000)
		return 0;
	l->st.out_drops++;
	snprintf(reason, sizeof(reason),
	    "SMSC not reading: %zu octets unsent (paused %lld ms)", out,
	    (long long)((now - s->out_paused_since) / 1000));
	sess_fail(s, reason);
	return 1;
}

/* Drop a session whose request went unanswered; send enquire_link if idle. */
static void
sess_tick(struct sess *s, int64_t now)
{
	struct smpp_link *l = s->l;
	char nb[32], reason[128];

	if (sess_out_stuck(s, now))
		return;
	for (size_t i = 0; i < s->nreqs; i++) {
		if (s->reqs[i].deadline > now)
			continue;
		if (s->reqs[i].cmd == SMPP_CMD_SUBMIT_SM)
			l->st.mt_timeouts++;
		snprintf(reason, sizeof(reason), "no response to %s in %d ms",
		    smpp_cmd_name(s->reqs[i].cmd, nb, sizeof(nb)),
		    l->cfg.response_timeout_ms);
		sess_fail(s, reason);
		return;
	}
	if (s->st == SS_BOUND && !sess_has_req(s, SMPP_CMD_ENQUIRE_LINK) &&
	    now - s->last_rx >= (int64_t)l->cfg.enquire_link_ms * 1000) {
		uint8_t buf[SMPP_HEADER_LEN];
		uint32_t seq = sess_next_seq(s);

		smpp_encode_header(
		    buf, sizeof(buf), SMPP_CMD_ENQUIRE_LINK, 0, seq);
		l->st.enquire_sent++;
		sess_write_req(
		    s, seq, SMPP_CMD_ENQUIRE_LINK, buf, sizeof(buf), NULL);
	}
}

static void
link_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smpp_link *l = arg;
	int64_t now = clock_mono_us();

	(void)fd;
	(void)what;
	for (unsigned i = 0; i < l->nsess; i++)
		sess_tick(&l->sess[i], now);
	mo_expire(l, now);
	mt_pump(l);
	mo_unpark(l, now);
	if (l->stopping)
		link_stop_progress(l);
}

/* ---- public --------------------------------------------------------------- */

/*
 * The tuning only: the config keys were checked when the config was loaded
 * (src/core/config.c). reconnect_min_ms is compared with the configured
 * cap, which a test may set below a second.
 */
static int
tuning_check(const struct smpp_link_tuning *t, const struct config_smpp *c,
    char *err, size_t errlen)
{
	const char *what = NULL;

	if (t->reconnect_min_ms < 1 ||
	    c->reconnect_max_ms < t->reconnect_min_ms ||
	    c->concat_timeout_ms < 1 || t->mt_retry_ms < 1 ||
	    c->ack_lost_ms < MO_ACK_SLOTS || c->ack_lost_ms > 3600000 ||
	    t->throttle_pause_ms < 1 || t->stop_timeout_ms < 0 ||
	    t->mo_park_max_ms < 0)
		what = "a time out of range";
	else if (t->mt_max_attempts < 1 || t->mt_queue_max < 1)
		what = "mt limits out of range";
	else if (t->out_high_bytes < SMPP_PDU_MAX ||
	    t->out_max_bytes < t->out_high_bytes)
		what = "output buffer limits out of range";
	if (what != NULL)
		snprintf(err, errlen, "%s", what);
	return what != NULL ? -1 : 0;
}

/* The client SSL_CTX: TLS 1.2 or later, the peer verified unless told not. */
static SSL_CTX *
link_tls_ctx(const struct config_smpp *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	if (ctx == NULL) {
		snprintf(err, errlen, "TLS: cannot create a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (!c->tls_verify)
		return ctx;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ok = c->tls_ca_file[0]
	    ? SSL_CTX_load_verify_locations(ctx, c->tls_ca_file, NULL)
	    : SSL_CTX_set_default_verify_paths(ctx);
	if (!ok) {
		snprintf(err, errlen, "TLS: cannot load trust anchors %s: %s",
		    c->tls_ca_file, ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
sess_init(struct smpp_link *l, unsigned idx, uint32_t bind_cmd)
{
	struct sess *s = &l->sess[idx];

	s->l = l;
	s->idx = idx;
	s->bind_cmd = bind_cmd;
	s->rx = bind_cmd != SMPP_CMD_BIND_TRANSMITTER;
	s->tx = bind_cmd != SMPP_CMD_BIND_RECEIVER;
	s->st = SS_CLOSED;
	s->reconnect_ev = evtimer_new(l->base, sess_reconnect_cb, s);
}

/*
 * The SMSC's numeric address, or with a resolver a host name looked up at
 * every connect (evdns): nothing on the loop may block on DNS.
 */
static int
link_addr(struct smpp_link *l, const struct config_smpp *cfg,
    struct evdns_base *dns, char *err, size_t errlen)
{
	char hostport[CONFIG_HOST_MAX + 16];

	l->addrlen = (int)sizeof(l->addr);
	snprintf(hostport, sizeof(hostport),
	    strchr(cfg->host, ':') ? "[%s]:%u" : "%s:%u", cfg->host, cfg->port);
	if (evutil_parse_sockaddr_port(
	        hostport, (struct sockaddr *)&l->addr, &l->addrlen) == 0)
		return 0;
	if (dns != NULL && cfg->host[0] != '\0' && !strchr(cfg->host, ':')) {
		l->by_name = true; /* config_check vetted its syntax */
		return 0;
	}
	snprintf(err, errlen, "host '%s' is not a numeric address", cfg->host);
	return -1;
}

/* One tick drives every deadline; fine enough for the smallest one. */
static int
link_tick_ms(
    const struct config_smpp *cfg, const struct smpp_link_tuning *tuning)
{
	int ms = cfg->response_timeout_ms;

	if (cfg->enquire_link_ms < ms)
		ms = cfg->enquire_link_ms;
	if (cfg->concat_timeout_ms < ms)
		ms = cfg->concat_timeout_ms;
	if (tuning->mt_retry_ms < ms)
		ms = tuning->mt_retry_ms;
	return ms / 4 < 5 ? 5 : ms / 4 > 200 ? 200 : ms / 4;
}

struct smpp_link *
smpp_link_new(struct event_base *base, const struct config_smpp *cfg,
    const struct smpp_link_tuning *tuning, const struct smpp_link_hooks *hooks,
    char *err, size_t errlen)
{
	struct smpp_link_tuning defaults;
	struct smpp_link *l;
	struct timeval tv;

	if (tuning == NULL) {
		smpp_link_tuning_defaults(&defaults);
		tuning = &defaults;
	}
	if (tuning_check(tuning, cfg, err, errlen) != 0)
		return NULL;
	if (hooks == NULL || hooks->submit == NULL) {
		snprintf(err, errlen, "no submit hook");
		return NULL;
	}
	l = xcalloc(1, sizeof(*l));
	if (link_addr(l, cfg, tuning->dns, err, errlen) != 0)
		goto fail;
	if (cfg->tls && (l->tls_ctx = link_tls_ctx(cfg, err, errlen)) == NULL)
		goto fail;
	l->base = base;
	l->cfg = *cfg;
	l->tune = *tuning;
	l->tune.name = l->name = xstrdup(tuning->name ? tuning->name : "smsc");
	l->hooks = *hooks;
	l->rng = (uint64_t)clock_mono_us() ^ ((uint64_t)getpid() << 32) ^
	    (uint64_t)(uintptr_t)l;
	if (l->rng == 0)
		l->rng = 1;
	while (l->instance == 0)
		l->instance = (uint32_t)(link_rand(l) >> 16);
	if (cfg->bind == CONFIG_BIND_PAIR) {
		l->nsess = 2;
		sess_init(l, 0, SMPP_CMD_BIND_RECEIVER);
		sess_init(l, 1, SMPP_CMD_BIND_TRANSMITTER);
	} else {
		l->nsess = 1;
		sess_init(l, 0, SMPP_CMD_BIND_TRANSCEIVER);
	}
	l->reasm = smpp_reasm_new(tuning->concat_max_groups,
	    tuning->concat_max_bytes, (int64_t)cfg->concat_timeout_ms * 1000);
	smpp_reasm_set_group_max(l->reasm, mo_group_max(cfg));
	l->enc = xmalloc(sizeof(*l->enc));
	l->tick = event_new(base, -1, EV_PERSIST, link_tick_cb, l);
	tv = ms_tv(link_tick_ms(cfg, tuning));
	event_add(l->tick, &tv);
	l->stopped_ev = evtimer_new(base, link_stopped_cb, l);
	return l;

fail:
	SSL_CTX_free(l->tls_ctx);
	free(l);
	return NULL;
}

void
smpp_link_start(struct smpp_link *l)
{
	for (unsigned i = 0; i < l->nsess; i++)
		if (l->sess[i].st == SS_CLOSED && !l->stopping)
			sess_connect(&l->sess[i]);
}

bool
smpp_link_bound(const struct smpp_link *l)
{
	return link_tx_sess((struct smpp_link *)l) != NULL;
}

struct sess *
link_tx_sess(struct smpp_link *l)
{
	for (unsigned i = 0; i < l->nsess; i++)
		if (l->sess[i].tx && l->sess[i].st == SS_BOUND)
			return &l->sess[i];
	return NULL;
}

const struct smpp_link_stats *
smpp_link_stats(const struct smpp_link *l)
{
	return &l->st;
}

/* ---- stop ----------------------------------------------------------------- */

void
smpp_link_stop(struct smpp_link *l, void (*stopped)(void *), void *arg)
{
	if (l->stopping)
		return;
	l->stopping = true;
	l->stopped = stopped;
	l->stopped_arg = arg;
	l->stop_deadline =
	    clock_mono_us() + (int64_t)l->tune.stop_timeout_ms * 1000;
	link_log(l, LOG_INFO,
	    "stopping: %u messages at the store, %u reply parts queued",
	    l->inflight_mo, l->mt_queued);
	mo_flush_held(l);
	for (unsigned i = 0; i < l->nsess; i++) {
		struct sess *s = &l->sess[i];

		if (s->st == SS_BOUND)
			continue;
		evtimer_del(s->reconnect_ev);
		if (s->bev != NULL)
			sess_close(s);
		sess_set_state(s, SS_CLOSED);
	}
	link_stop_progress(l);
}

/* Send unbind once the store and the queue are done, or time is up. */
void
link_stop_progress(struct smpp_link *l)
{
	int bound = 0, open = 0, busy;

	for (unsigned i = 0; i < l->nsess; i++)
		bound |= l->sess[i].st == SS_BOUND;
	/* Waiting only makes sense while an answer or a reply can still go out. */
	busy = bound &&
	    (l->inflight_mo > 0 || (l->mt_queued > 0 && link_tx_sess(l)));

	if (!l->stopping || l->stop_fired)
		return;
	if (busy && clock_mono_us() < l->stop_deadline)
		return;
	for (unsigned i = 0; i < l->nsess; i++) {
		struct sess *s = &l->sess[i];

		if (s->st == SS_BOUND) {
			uint8_t buf[SMPP_HEADER_LEN];
			uint32_t seq = sess_next_seq(s);

			smpp_encode_header(
			    buf, sizeof(buf), SMPP_CMD_UNBIND, 0, seq);
			sess_set_state(s, SS_UNBINDING);
			sess_write_req(
			    s, seq, SMPP_CMD_UNBIND, buf, sizeof(buf), NULL);
		}
		if (s->st != SS_CLOSED)
			open = 1;
	}
	if (open)
		return;
	l->stop_fired = true;
	mt_drop_all(l, SMPP_MT_UNSENT);
	event_active(l->stopped_ev, EV_TIMEOUT, 0);
}

static void
link_stopped_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smpp_link *l = arg;

	(void)fd;
	(void)what;
	link_log(l, LOG_INFO, "stopped");
	if (l->stopped)
		l->stopped(l->stopped_arg);
}

void
smpp_link_free(struct smpp_link *l)
{
	if (l == NULL)
		return;
	mo_detach_all(l);
	mt_free_all(l); /* before the requests that point at parts */
	for (unsigned i = 0; i < l->nsess; i++) {
		struct sess *s = &l->sess[i];

		if (s->bev != NULL)
			bufferevent_free(s->bev);
		event_free(s->reconnect_ev);
		free(s->reqs);
	}
	smpp_reasm_free(l->reasm);
	event_free(l->tick);
	event_free(l->stopped_ev);
	free(l->enc);
	SSL_CTX_free(l->tls_ctx);
	free(l->name);
	free(l);
}
