/*
 * --concat-flood G,P,N of meterline-smsc-sim: the reassembly attack of
 * issue 14. G concatenated messages of P parts, each part N octets of
 * message_payload with sar_* TLVs, part k of every message before part
 * k+1 (what makes an ESME hold the most), sent without a window but paced
 * by our own output buffer. Done when every part is answered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cflood.h"
#include "meterline/smpp_codec.h"
#include "meterline/smsc_sim.h"
#include "meterline/xmalloc.h"

/* Our own output, queued for the ESME: keep it small, it is not theirs. */
#define CFLOOD_OUT_MAX (256 * 1024)

struct cflood {
	struct smsc_sim *sim;
	struct event *tick;
	unsigned groups, parts;
	unsigned long sent, answered;
	void (*done)(void *);
	void *arg;
	struct smpp_sm sm; /* last: 4 KB of user data */
};

int
cflood_parse(const char *arg, unsigned v[3])
{
	char tail;

	if (sscanf(arg, "%u,%u,%u%c", &v[0], &v[1], &v[2], &tail) != 3 ||
	    v[0] < 1 || v[0] > 65535 || v[1] < 2 || v[1] > 255 || v[2] < 1 ||
	    v[2] > 3900)
		return -1;
	return 0;
}

static void
cflood_observer(void *arg, const struct smpp_pdu *p)
{
	struct cflood *f = arg;

	if (p->hdr.id != SMPP_CMD_DELIVER_SM_RESP)
		return;
	f->answered++;
	if (f->answered == (unsigned long)f->groups * f->parts && f->done)
		f->done(f->arg);
}

/* Part sent/groups + 1 of message sent%groups. */
static int
cflood_send_next(struct cflood *f)
{
	unsigned g = (unsigned)(f->sent % f->groups);
	unsigned seq = (unsigned)(f->sent / f->groups) + 1;

	snprintf(f->sm.src.addr, sizeof(f->sm.src.addr), "7916%07u", g);
	f->sm.concat = (struct smpp_concat){ SMPP_CONCAT_SAR, (uint16_t)g,
		(uint8_t)f->parts, (uint8_t)seq };
	if (smsc_sim_send_sm(f->sim, SMPP_CMD_DELIVER_SM, &f->sm) < 0)
		return -1;
	f->sent++;
	return 0;
}

static void
cflood_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cflood *f = arg;
	unsigned long total = (unsigned long)f->groups * f->parts;

	(void)fd;
	(void)what;
	while (f->sent < total && smsc_sim_bound(f->sim) > 0 &&
	    smsc_sim_output(f->sim) < CFLOOD_OUT_MAX)
		if (cflood_send_next(f) != 0)
			break;
}

struct cflood *
cflood_new(struct event_base *base, struct smsc_sim *sim, const unsigned v[3],
    void (*done)(void *), void *arg)
{
	struct cflood *f = xcalloc(1, sizeof(*f));
	struct timeval tv = { 0, 5000 };

	f->sim = sim;
	f->groups = v[0];
	f->parts = v[1];
	f->done = done;
	f->arg = arg;
	f->sm.src = (struct smpp_addr){ 1, 1, "" };
	f->sm.dst = (struct smpp_addr){ 0, 1, "7377" };
	f->sm.data_coding = 0x04;
	f->sm.from_payload = true;
	memset(f->sm.ud, 'z', v[2]);
	f->sm.ud_len = (uint16_t)v[2];
	smsc_sim_set_observer(sim, cflood_observer, f);
	f->tick = event_new(base, -1, EV_PERSIST, cflood_tick_cb, f);
	event_add(f->tick, &tv);
	return f;
}

void
cflood_stop(struct cflood *f)
{
	if (f == NULL)
		return;
	event_del(f->tick);
	smsc_sim_set_observer(f->sim, NULL, NULL);
}

void
cflood_report(const struct cflood *f, FILE *out)
{
	fprintf(out, "concat flood: %lu parts sent, %lu answered\n", f->sent,
	    f->answered);
}

void
cflood_free(struct cflood *f)
{
	if (f == NULL)
		return;
	event_free(f->tick);
	free(f);
}
