/*
 * SMSC simulator: connections, binds, enquire_link, submit_sm answers and
 * fault injection. Delivering MO messages (scenario and flood) is in
 * smsc_sim_mo.c; smsc_sim_int.h joins the two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "meterline/clock.h"
#include "meterline/log.h"
#include "meterline/octets.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_concat.h"
#include "meterline/smpp_frame.h"
#include "meterline/smsc_sim.h"
#include "meterline/text.h"
#include "meterline/xmalloc.h"
#include "smsc_sim_int.h"

void
smsc_sim_cfg_defaults(struct smsc_sim_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->system_id = "";
	c->password = "";
	c->enquire_link_ms = 30000;
	c->window = 10;
	c->reply_timeout_ms = 10000;
	c->redeliver_ms = 1000;
	c->drop_times = 1;
	c->tempfail_status = SMPP_ESME_RSYSERR;
}

int
sconn_write(struct sconn *c, const uint8_t *pdu, size_t len)
{
	if (c->bev == NULL || len == 0)
		return -1;
	c->sim->st.pdus_out++;
	return smpp_frame_write(c->bev, pdu, len);
}

static void
sconn_answer(struct sconn *c, uint32_t id, uint32_t status, uint32_t seq)
{
	uint8_t buf[SMPP_HEADER_LEN];

	smpp_encode_header(buf, sizeof(buf), id, status, seq);
	sconn_write(c, buf, sizeof(buf));
}

uint32_t
sconn_next_seq(struct sconn *c)
{
	c->seq = smpp_seq_next(c->seq);
	return c->seq;
}

/* The connection that receives MO: bound as transceiver or receiver. */
struct sconn *
sim_rx_conn(struct smsc_sim *sim)
{
	for (struct sconn *c = sim->conns; c != NULL; c = c->next)
		if (c->bound && c->bind_cmd != SMPP_CMD_BIND_TRANSMITTER)
			return c;
	return NULL;
}

/* Forget a connection: its MO in flight will be delivered again. */
static void
sconn_close(struct sconn *c, int flush)
{
	struct smsc_sim *sim = c->sim;
	struct sconn **pp = &sim->conns;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	if (c->bound)
		sim->st.drops++;
	sim_mo_conn_lost(sim, c);
	if (c->bev != NULL) {
		if (flush)
			smpp_frame_close_after_flush(c->bev, sim->base, 1000);
		else
			bufferevent_free(c->bev);
	}
	free(c);
}

static void sconn_stop_reading(struct sconn *);

static void
sim_on_bind(struct sconn *c, const struct smpp_pdu *p)
{
	struct smsc_sim *sim = c->sim;
	const struct smsc_sim_cfg *cfg = &sim->cfg;
	uint32_t rid = cfg->bind_resp_id ? cfg->bind_resp_id
	                                 : p->hdr.id | SMPP_CMD_RESP_BIT;
	uint32_t st = SMPP_ESME_ROK;
	uint8_t buf[64];
	int n;

	sim->binds_seen++;
	if (c->bound)
		st = SMPP_ESME_RALYBND;
	else if (sim->binds_seen <= cfg->refuse_binds)
		st = SMPP_ESME_RBINDFAIL;
	else if (cfg->system_id[0] &&
	    strcmp(cfg->system_id, p->u.bind.system_id))
		st = SMPP_ESME_RINVSYSID;
	else if (cfg->password[0] && strcmp(cfg->password, p->u.bind.password))
		st = SMPP_ESME_RINVPASWD;
	/* Refusals carry no body, as many SMSCs send them. */
	n = smpp_encode_bind_resp(
	    buf, sizeof(buf), rid, p->hdr.seq, st, "MLSIM", NULL, 0);
	sconn_write(c, buf, (size_t)n);
	if (st != SMPP_ESME_ROK) {
		if (st != SMPP_ESME_RALYBND)
			sim->st.binds_refused++;
		return;
	}
	sim->st.binds_ok++;
	c->bound = true;
	c->bind_cmd = p->hdr.id;
	if (cfg->stop_reading)
		sconn_stop_reading(c);
	sim_mo_pump(sim);
}

/* A delivery receipt for an accepted submit_sm, on the receiving link. */
static void
sim_send_receipt(
    struct smsc_sim *sim, const struct smpp_sm *sub, const char *msgid)
{
	struct sconn *c = sim_rx_conn(sim);
	struct smpp_sm sm;
	uint8_t buf[SMPP_PDU_MAX];
	char stamp[16];
	time_t t = time(NULL);
	struct tm tm;
	int n, len;

	if (c == NULL)
		return;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%y%m%d%H%M", &tm);
	memset(&sm, 0, offsetof(struct smpp_sm, ud));
	sm.src = sub->dst;
	sm.dst = sub->src;
	sm.esm_class = SMPP_ESM_DELIVERY_RECEIPT;
	len = snprintf((char *)sm.ud, 200,
	    "id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:DELIVRD err:000 text:",
	    msgid, stamp, stamp);
	sm.ud_len = (uint16_t)(len < 200 ? len : 199);
	sm.has_receipt_id = 1;
	strlcpy_s(
	    sm.receipted_message_id, msgid, sizeof(sm.receipted_message_id));
	sm.has_message_state = 1;
	sm.message_state = 2; /* DELIVERED */
	n = smpp_encode_sm(buf, sizeof(buf), SMPP_CMD_DELIVER_SM,
	    sconn_next_seq(c), &sm, NULL, 0);
	if (n > 0 && sconn_write(c, buf, (size_t)n) == 0)
		sim->st.receipts_sent++;
}

/* Which status the n-th submit_sm gets, by the fault settings. */
static uint32_t
sim_submit_status(const struct smsc_sim *sim, uint64_t n)
{
	const struct smsc_sim_cfg *cfg = &sim->cfg;

	if (n <= cfg->throttle_submits)
		return SMPP_ESME_RTHROTTLED;
	if (n <= (uint64_t)cfg->throttle_submits + cfg->tempfail_submits)
		return cfg->tempfail_status;
	if (cfg->throttle_every && n % cfg->throttle_every == 0)
		return SMPP_ESME_RTHROTTLED;
	return SMPP_ESME_ROK;
}

/*
 * A submit_sm_resp ESME_ROK whose message_id is broken on purpose: 99
 * characters (the limit is 64), or 12 without the terminating NUL. The
 * encoder refuses both, so the octets are laid out here.
 */
static void
sim_bad_submit_resp(struct sconn *c, uint32_t seq, int how)
{
	uint8_t buf[SMPP_HEADER_LEN + 100];
	size_t body = how == 1 ? 100 : 12;

	memset(buf, 0, sizeof(buf));
	smpp_encode_header(
	    buf, sizeof(buf), SMPP_CMD_SUBMIT_SM_RESP, SMPP_ESME_ROK, seq);
	memset(buf + SMPP_HEADER_LEN, 'A', how == 1 ? 99 : 12);
	put32(buf, (uint32_t)(SMPP_HEADER_LEN + body));
	sconn_write(c, buf, SMPP_HEADER_LEN + body);
}

static void
sim_on_submit(struct sconn *c, const struct smpp_pdu *p)
{
	struct smsc_sim *sim = c->sim;
	uint32_t st = sim_submit_status(sim, ++sim->st.submits);
	char msgid[16];
	uint8_t buf[128];
	int n;

	if (st == SMPP_ESME_RTHROTTLED)
		sim->st.submits_throttled++;
	else if (st != SMPP_ESME_ROK)
		sim->st.submits_tempfailed++;
	snprintf(msgid, sizeof(msgid), "%08X", ++sim->msgid);
	if (st == SMPP_ESME_ROK && sim->cfg.bad_message_id) {
		sim->st.submits_ok++;
		sim_bad_submit_resp(c, p->hdr.seq, sim->cfg.bad_message_id);
		sim_reply_part(sim, &p->u.sm);
		return;
	}
	n = smpp_encode_sm_resp(buf, sizeof(buf), SMPP_CMD_SUBMIT_SM_RESP,
	    p->hdr.seq, st, msgid, NULL, 0);
	sconn_write(c, buf, (size_t)n);
	if (st != SMPP_ESME_ROK)
		return;
	sim->st.submits_ok++;
	sim_reply_part(sim, &p->u.sm);
	if (sim->cfg.receipts)
		sim_send_receipt(sim, &p->u.sm, msgid);
}

static void
sim_dispatch(struct sconn *c, const struct smpp_pdu *p)
{
	struct smsc_sim *sim = c->sim;
	uint32_t id = p->hdr.id;

	if (!c->bound && id != SMPP_CMD_BIND_TRANSCEIVER &&
	    id != SMPP_CMD_BIND_RECEIVER && id != SMPP_CMD_BIND_TRANSMITTER &&
	    id != SMPP_CMD_ENQUIRE_LINK && !(id & SMPP_CMD_RESP_BIT)) {
		sconn_answer(
		    c, SMPP_CMD_GENERIC_NACK, SMPP_ESME_RINVBNDSTS, p->hdr.seq);
		return;
	}
	switch (id) {
	case SMPP_CMD_BIND_TRANSCEIVER:
	case SMPP_CMD_BIND_RECEIVER:
	case SMPP_CMD_BIND_TRANSMITTER: sim_on_bind(c, p); break;
	case SMPP_CMD_ENQUIRE_LINK:
		sim->st.enquire_received++;
		sconn_answer(c, SMPP_CMD_ENQUIRE_LINK_RESP, 0, p->hdr.seq);
		break;
	case SMPP_CMD_ENQUIRE_LINK_RESP:
		sim->st.enquire_answered++;
		c->enquire_out = false;
		break;
	case SMPP_CMD_UNBIND:
		sconn_answer(c, SMPP_CMD_UNBIND_RESP, 0, p->hdr.seq);
		c->bound = false;
		c->unbind_close = true;
		break;
	case SMPP_CMD_SUBMIT_SM:
		if (c->bind_cmd == SMPP_CMD_BIND_RECEIVER)
			sconn_answer(c, SMPP_CMD_SUBMIT_SM_RESP,
			    SMPP_ESME_RINVBNDSTS, p->hdr.seq);
		else
			sim_on_submit(c, p);
		break;
	case SMPP_CMD_DELIVER_SM_RESP:
	case SMPP_CMD_DATA_SM_RESP:
		sim_mo_on_resp(sim, c, p->hdr.seq, p->hdr.status);
		break;
	case SMPP_CMD_GENERIC_NACK:
		sim->st.generic_nacks++;
		sim_mo_on_resp(sim, c, p->hdr.seq,
		    p->hdr.status ? p->hdr.status : SMPP_ESME_RUNKNOWNERR);
		break;
	default:
		if (!(id & SMPP_CMD_RESP_BIT))
			sconn_answer(c, SMPP_CMD_GENERIC_NACK,
			    SMPP_ESME_RINVCMDID, p->hdr.seq);
		break;
	}
}

static int
sconn_pdu_cb(void *arg, const uint8_t *buf, size_t len)
{
	struct sconn *c = arg;
	struct smpp_pdu *pdu = &c->rx_pdu;
	struct smsc_sim *sim = c->sim;
	char err[192];
	uint32_t st;

	sim->st.pdus_in++;
	c->last_rx = clock_mono_us();
	st = smpp_decode(buf, len, pdu, err, sizeof(err));
	if (st != 0) {
		char eb[256];

		log_warn("smsc-sim: bad PDU from the ESME: %s",
		    log_escape(err, strlen(err), eb, sizeof(eb)));
		if (!smpp_cmd_known(pdu->hdr.id) ||
		    !(pdu->hdr.id & SMPP_CMD_RESP_BIT))
			sconn_answer(
			    c, SMPP_CMD_GENERIC_NACK, st, pdu->hdr.seq);
	} else {
		sim_dispatch(c, pdu);
		if (sim->observer)
			sim->observer(sim->observer_arg, pdu);
	}
	if (sim->cfg.drop_after_pdus && sim->drops_done < sim->cfg.drop_times &&
	    ++sim->pdus_since_drop >= sim->cfg.drop_after_pdus) {
		sim->drops_done++;
		sim->pdus_since_drop = 0;
		log_info(
		    "smsc-sim: dropping the link after %u PDUs (fault %u of %u)",
		    sim->cfg.drop_after_pdus, sim->drops_done,
		    sim->cfg.drop_times);
		smsc_sim_drop(sim);
		return -1;
	}
	if (c->unbind_close) {
		sconn_close(c, 1);
		return -1;
	}
	return 0;
}

static void
sconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;

	if (smpp_frame_read(bev, sconn_pdu_cb, c) == SMPP_FRAME_BAD)
		sconn_close(c, 1);
}

static void
sconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sconn *c = arg;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED)
		return; /* TLS handshake done */
	while (
	    c->sim->tls_ctx != NULL && (e = bufferevent_get_openssl_error(bev)))
		log_debug("smsc-sim: TLS: %s", ERR_reason_error_string(e));
	log_debug("smsc-sim: connection closed (events 0x%x)", (unsigned)what);
	sconn_close(c, 0);
}

static void
sim_accept_cb(struct evconnlistener *lst, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct smsc_sim *sim = arg;
	struct sconn *c = xcalloc(1, sizeof(*c));
	int one = 1;

	(void)lst;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)sa;
	(void)salen;
	c->sim = sim;
	if (sim->tls_ctx != NULL) {
		SSL *ssl = SSL_new(sim->tls_ctx);

		c->bev = bufferevent_openssl_socket_new(sim->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(
		    sim->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->last_rx = c->last_enquire = clock_mono_us();
	bufferevent_setcb(c->bev, sconn_read_cb, NULL, sconn_event_cb, c);
	smpp_frame_setup(c->bev);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = sim->conns;
	sim->conns = c;
	sim->st.conns++;
}

/* enquire_link every enquire_link_ms; MO timers. */
static void
sim_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smsc_sim *sim = arg;
	int64_t now = clock_mono_us();

	(void)fd;
	(void)what;
	for (struct sconn *c = sim->conns; c != NULL; c = c->next) {
		uint8_t buf[SMPP_HEADER_LEN];

		/* Periodic, as many SMSCs do, whatever the traffic. */
		if (!c->bound || c->enquire_out ||
		    sim->cfg.enquire_link_ms <= 0 ||
		    now - c->last_enquire <
		        (int64_t)sim->cfg.enquire_link_ms * 1000)
			continue;
		c->last_enquire = now;
		smpp_encode_header(buf, sizeof(buf), SMPP_CMD_ENQUIRE_LINK, 0,
		    sconn_next_seq(c));
		c->enquire_out = true;
		sim->st.enquire_sent++;
		sconn_write(c, buf, sizeof(buf));
	}
	sim_mo_tick(sim, now);
}

/* The server SSL_CTX from a PEM chain and key; NULL with a reason. */
static SSL_CTX *
sim_tls_ctx(const struct smsc_sim_cfg *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx != NULL &&
	    SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) == 1 &&
	    SSL_CTX_use_PrivateKey_file(ctx,
	        cfg->tls_key_file ? cfg->tls_key_file : cfg->tls_cert_file,
	        SSL_FILETYPE_PEM) == 1)
		return ctx;
	snprintf(err, errlen, "TLS: cannot use %s: %s", cfg->tls_cert_file,
	    ERR_reason_error_string(ERR_get_error()));
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

struct smsc_sim *
smsc_sim_new(struct event_base *base, const struct smsc_sim_cfg *cfg, char *err,
    size_t errlen)
{
	struct smsc_sim *sim = xcalloc(1, sizeof(*sim));
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct timeval tv = { 0, 5000 };

	sim->base = base;
	sim->cfg = *cfg;
	sim->cfg.system_id = sim->sysid =
	    xstrdup(cfg->system_id ? cfg->system_id : "");
	sim->cfg.password = sim->pw =
	    xstrdup(cfg->password ? cfg->password : "");
	if (sim->cfg.window == 0)
		sim->cfg.window = 1;
	if (cfg->tls_cert_file != NULL &&
	    (sim->tls_ctx = sim_tls_ctx(cfg, err, errlen)) == NULL)
		goto fail;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(cfg->port);
	sim->lst = evconnlistener_new_bind(base, sim_accept_cb, sim,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (sim->lst == NULL) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%u: %s",
		    cfg->port,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	getsockname(
	    evconnlistener_get_fd(sim->lst), (struct sockaddr *)&sin, &slen);
	sim->port = ntohs(sin.sin_port);
	sim->reasm = smpp_reasm_new(1024, 1u << 20, 30 * 1000000LL);
	sim->tick = event_new(base, -1, EV_PERSIST, sim_tick_cb, sim);
	event_add(sim->tick, &tv);
	return sim;

fail:
	smsc_sim_free(sim);
	return NULL;
}

uint16_t
smsc_sim_port(const struct smsc_sim *sim)
{
	return sim->port;
}

unsigned
smsc_sim_bound(const struct smsc_sim *sim)
{
	unsigned n = 0;

	for (const struct sconn *c = sim->conns; c != NULL; c = c->next)
		n += c->bound;
	return n;
}

void
smsc_sim_close(struct smsc_sim *sim)
{
	if (sim->lst != NULL) {
		evconnlistener_free(sim->lst);
		sim->lst = NULL;
	}
	event_del(sim->tick);
	while (sim->conns != NULL) {
		struct sconn *c = sim->conns;

		if (c->bound) {
			uint8_t buf[SMPP_HEADER_LEN];

			smpp_encode_header(buf, sizeof(buf), SMPP_CMD_UNBIND, 0,
			    sconn_next_seq(c));
			sconn_write(c, buf, sizeof(buf));
			c->bound = false; /* an orderly end, not a drop */
		}
		sconn_close(c, 1);
	}
}

void
smsc_sim_drop(struct smsc_sim *sim)
{
	while (sim->conns != NULL)
		sconn_close(sim->conns, 0);
}

int
smsc_sim_send_raw(struct smsc_sim *sim, const uint8_t *buf, size_t len)
{
	struct sconn *c = sim_rx_conn(sim);

	return c ? sconn_write(c, buf, len) : -1;
}

/*
 * Not reading: the socket's receive buffer is also made small, or the
 * kernel's autotuning would take megabytes before the ESME notices.
 */
static void
sconn_stop_reading(struct sconn *c)
{
	int small = 4096;

	bufferevent_disable(c->bev, EV_READ);
	setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small));
}

/* Reading again, with a receive buffer that does not slow a test down. */
static void
sconn_start_reading(struct sconn *c)
{
	int big = 1 << 20;

	setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_RCVBUF, &big,
	    sizeof(big));
	bufferevent_enable(c->bev, EV_READ);
}

void
smsc_sim_set_reading(struct smsc_sim *sim, int on)
{
	sim->cfg.stop_reading = !on;
	for (struct sconn *c = sim->conns; c != NULL; c = c->next) {
		if (!c->bound)
			continue;
		if (on)
			sconn_start_reading(c);
		else
			sconn_stop_reading(c);
	}
}

size_t
smsc_sim_output(const struct smsc_sim *sim)
{
	struct sconn *c = sim_rx_conn((struct smsc_sim *)sim);

	return c ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

int
smsc_sim_send_sm(struct smsc_sim *sim, uint32_t cmd, const struct smpp_sm *sm)
{
	struct sconn *c = sim_rx_conn(sim);
	uint8_t buf[SMPP_PDU_MAX];
	uint32_t seq;
	int n;

	if (c == NULL)
		return -1;
	seq = sconn_next_seq(c);
	n = smpp_encode_sm(buf, sizeof(buf), cmd, seq, sm, NULL, 0);
	if (n < 0 || sconn_write(c, buf, (size_t)n) != 0)
		return -1;
	return (int)seq;
}

void
smsc_sim_set_observer(struct smsc_sim *sim,
    void (*fn)(void *, const struct smpp_pdu *), void *arg)
{
	sim->observer = fn;
	sim->observer_arg = arg;
}

const struct smsc_sim_stats *
smsc_sim_stats(const struct smsc_sim *sim)
{
	return &sim->st;
}

void
smsc_sim_free(struct smsc_sim *sim)
{
	if (sim == NULL)
		return;
	while (sim->conns != NULL)
		sconn_close(sim->conns, 0);
	if (sim->lst)
		evconnlistener_free(sim->lst);
	if (sim->tick)
		event_free(sim->tick);
	sim_mo_free(sim);
	smpp_reasm_free(sim->reasm);
	SSL_CTX_free(sim->tls_ctx);
	free(sim->sysid);
	free(sim->pw);
	free(sim);
}
