/* SMPP framing by command_length on a bufferevent: see smpp_frame.h. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_frame.h"
#include "meterline/octets.h"

/*
 * High watermark: never below the largest PDU (or the connection stalls),
 * and bounded so that a peer flooding us cannot fill memory while we are
 * not reading.
 */
#define FRAME_HIGH (SMPP_PDU_MAX * 16)

void
smpp_frame_setup(struct bufferevent *bev)
{
	bufferevent_setwatermark(bev, EV_READ, 4, FRAME_HIGH);
}

static uint32_t
peek32(struct evbuffer *in, size_t off)
{
	uint8_t b[8];

	evbuffer_copyout(in, b, off + 4);
	return get32(b + off);
}

/* Answer a frame we cannot cut with generic_nack ESME_RINVCMDLEN. */
static void
frame_nack(struct bufferevent *bev, struct evbuffer *in, uint32_t len)
{
	uint8_t nack[SMPP_HEADER_LEN], hdr[SMPP_HEADER_LEN];
	uint32_t seq = 0;

	if (evbuffer_get_length(in) >= SMPP_HEADER_LEN) {
		evbuffer_copyout(in, hdr, sizeof(hdr));
		seq = get32(hdr + 12);
	}
	log_warn(
	    "smpp: command_length %u out of range 16..%u, dropping the link",
	    len, SMPP_PDU_MAX);
	smpp_encode_header(nack, sizeof(nack), SMPP_CMD_GENERIC_NACK,
	    SMPP_ESME_RINVCMDLEN, seq);
	smpp_frame_write(bev, nack, sizeof(nack));
	bufferevent_disable(bev, EV_READ);
}

enum smpp_frame_rc
smpp_frame_read(struct bufferevent *bev, smpp_frame_cb cb, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t pdu[SMPP_PDU_MAX + 1];

	for (;;) {
		size_t have = evbuffer_get_length(in);
		uint32_t len;

		if (have < 4) {
			bufferevent_setwatermark(bev, EV_READ, 4, FRAME_HIGH);
			return SMPP_FRAME_MORE;
		}
		len = peek32(in, 0);
		if (len < SMPP_HEADER_LEN || len > SMPP_PDU_MAX) {
			frame_nack(bev, in, len);
			return SMPP_FRAME_BAD;
		}
		if (have < len) {
			/* Sleep until the whole PDU is here. */
			bufferevent_setwatermark(bev, EV_READ, len, FRAME_HIGH);
			return SMPP_FRAME_MORE;
		}
		evbuffer_remove(in, pdu, len);
		pdu[len] = 0;
		smpp_frame_trace("smpp", '<', pdu, len);
		if (cb(arg, pdu, len) != 0)
			return SMPP_FRAME_STOPPED;
	}
}

int
smpp_frame_write(struct bufferevent *bev, const uint8_t *pdu, size_t len)
{
	smpp_frame_trace("smpp", '>', pdu, len);
	return bufferevent_write(bev, pdu, len);
}

const char *
smpp_log_addr(const char *addr, char *buf, size_t buflen)
{
	char masked[SMPP_LOG_ADDR_MAX];

	log_mask_phone(addr, masked, sizeof(masked));
	return log_escape(masked, strlen(masked), buf, buflen);
}

/* What a trace line shows of a decoded body: never a password or a text. */
static void
trace_body(const struct smpp_pdu *p, char *out, size_t cap)
{
	char a[SMPP_LOG_ADDR_MAX], b[SMPP_LOG_ADDR_MAX], e[80];
	uint32_t id = p->hdr.id;

	out[0] = '\0';
	if (id == SMPP_CMD_DELIVER_SM || id == SMPP_CMD_SUBMIT_SM ||
	    id == SMPP_CMD_DATA_SM)
		snprintf(out, cap, " from %s to %s esm 0x%02x dcs 0x%02x ud %u",
		    smpp_log_addr(p->u.sm.src.addr, a, sizeof(a)),
		    smpp_log_addr(p->u.sm.dst.addr, b, sizeof(b)),
		    p->u.sm.esm_class, p->u.sm.data_coding, p->u.sm.ud_len);
	else if (id == SMPP_CMD_BIND_RECEIVER ||
	    id == SMPP_CMD_BIND_TRANSMITTER || id == SMPP_CMD_BIND_TRANSCEIVER)
		snprintf(out, cap, " system_id \"%s\" password (hidden)",
		    log_escape(p->u.bind.system_id, strlen(p->u.bind.system_id),
		        e, sizeof(e)));
	else if ((id & SMPP_CMD_RESP_BIT) && p->body_ok)
		snprintf(out, cap, " id \"%s\"",
		    log_escape(p->u.id, strlen(p->u.id), e, sizeof(e)));
}

void
smpp_frame_trace(const char *who, char dir, const uint8_t *pdu, size_t len)
{
	struct smpp_pdu p;
	char nb[32], sb[32], body[256], err[64];
	uint32_t st;

	if (log_get_level() > LOG_DEBUG)
		return;
	st = smpp_decode(pdu, len, &p, err, sizeof(err));
	if (st == 0)
		trace_body(&p, body, sizeof(body));
	else
		snprintf(body, sizeof(body), " (undecodable: %s)",
		    smpp_status_name(st, sb, sizeof(sb)));
	log_debug("%s%c %s seq %u status %s len %zu%s", who, dir,
	    smpp_cmd_name(p.hdr.id, nb, sizeof(nb)), p.hdr.seq,
	    smpp_status_name(p.hdr.status, sb, sizeof(sb)), len, body);
}

/* A connection on its way out: flushed, then freed. */
struct closer {
	struct bufferevent *bev;
	struct event *timer;
};

static void
closer_done(struct closer *c)
{
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
}

static void
closer_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	closer_done(arg);
}

static void
closer_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	closer_done(arg);
}

static void
closer_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	closer_done(arg);
}

void
smpp_frame_close_after_flush(
    struct bufferevent *bev, struct event_base *base, int timeout_ms)
{
	struct closer *c;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_free(bev);
		return;
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		bufferevent_free(bev);
		return;
	}
	c->bev = bev;
	c->timer = evtimer_new(base, closer_timer_cb, c);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_setcb(bev, NULL, closer_write_cb, closer_event_cb, c);
	bufferevent_enable(bev, EV_WRITE);
	evtimer_add(c->timer, &tv);
}
