/*
 * libFuzzer target: SMPP framing (smpp_frame_read) over a byte stream that
 * arrives in pieces, as TCP delivers it, and every frame through
 * smpp_decode as the link does.
 *
 * Input: the first octet picks the piece size (1..32 octets, 0: all at
 * once), the rest is the stream. The stream is written piece by piece into
 * one end of a bufferevent pair (the peer), smpp_frame_read reads the other
 * end after each piece.
 *
 * Promises checked: every frame handed out is 16..SMPP_PDU_MAX octets and
 * its command_length says so; frames are consecutive pieces of the stream
 * (nothing skipped, reordered or invented); a bad command_length stops
 * the reading for good with a 16-octet generic_nack queued; otherwise
 * whatever is left unread is shorter than the frame it announces.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "fuzz_check.h"
#include "meterline/log.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_frame.h"

static struct event_base *base;
static struct smpp_pdu pdu;

struct stream {
	const uint8_t *data; /* the whole stream */
	size_t off; /* where the next frame must start */
};

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
on_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct stream *s = arg;
	char err[128];

	CHECK(len >= SMPP_HEADER_LEN && len <= SMPP_PDU_MAX);
	CHECK(get32(frame) == len);
	CHECK(memcmp(frame, s->data + s->off, len) == 0);
	s->off += len;
	smpp_decode(frame, len, &pdu, err, sizeof(err));
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR); /* a warning per bad length is noise here */
	base = event_base_new();
	CHECK(base != NULL);
	return 0;
}

/* After SMPP_FRAME_BAD: nothing more was read, one generic_nack queued. */
static void
check_bad(struct bufferevent *peer, const struct stream *s, size_t fed)
{
	struct evbuffer *out = bufferevent_get_input(peer);
	uint8_t nack[SMPP_HEADER_LEN];
	uint32_t len;

	CHECK(fed - s->off >= 4);
	len = get32(s->data + s->off);
	CHECK(len < SMPP_HEADER_LEN || len > SMPP_PDU_MAX);
	CHECK(evbuffer_get_length(out) == SMPP_HEADER_LEN);
	evbuffer_copyout(out, nack, sizeof(nack));
	CHECK(get32(nack) == SMPP_HEADER_LEN);
	CHECK(get32(nack + 4) == SMPP_CMD_GENERIC_NACK);
	CHECK(get32(nack + 8) == SMPP_ESME_RINVCMDLEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bufferevent *pair[2], *bev;
	struct stream s;
	size_t piece, fed = 0;
	enum smpp_frame_rc rc = SMPP_FRAME_MORE;

	if (size < 1)
		return 0;
	piece = data[0] % 33;
	s.data = data + 1;
	s.off = 0;
	size--;
	if (piece == 0)
		piece = size ? size : 1;
	CHECK(bufferevent_pair_new(base, 0, pair) == 0);
	bev = pair[1];
	bufferevent_enable(pair[0], EV_READ | EV_WRITE);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	smpp_frame_setup(bev);
	while (fed < size && rc == SMPP_FRAME_MORE) {
		size_t n = size - fed < piece ? size - fed : piece;

		CHECK(bufferevent_write(pair[0], s.data + fed, n) == 0);
		fed += n;
		rc = smpp_frame_read(bev, on_frame, &s);
		CHECK(s.off <= fed);
	}
	if (rc == SMPP_FRAME_BAD) {
		check_bad(pair[0], &s, fed);
	} else {
		CHECK(rc == SMPP_FRAME_MORE);
		CHECK(evbuffer_get_length(bufferevent_get_input(bev)) ==
		    fed - s.off);
		CHECK(fed - s.off < 4 || get32(s.data + s.off) > fed - s.off);
	}
	bufferevent_free(pair[0]);
	bufferevent_free(pair[1]);
	/* libevent frees a bufferevent in a finaliser on the loop: without a
	   turn of the loop every input's pair stays allocated (2 GB after
	   150,000 inputs: the campaign's first out-of-memory finding). */
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
