/*
 * Parts of concatenated SMS kept by the store (docs/store.md,
 * "Concatenated SMS"): a part is written and answered; a part stored
 * already is not written again; after a restart a part gets its group's
 * stored parts back; the whole message marks the parts joined; a
 * redelivered part of a processed message is recognised; a new message
 * reusing the reference replaces the joined rows.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "tstore.h"

static PGconn *db;

struct pres {
	struct tres r;
	size_t nparts;
	bool part_done;
	char data[64];
	int outstanding_dummy;
};

static struct tstore *cur;

static void
part_done_cb(const struct intake_result *r, void *arg)
{
	struct pres *p = arg;

	p->r.done = true;
	p->r.status = r->status;
	snprintf(p->r.outcome, sizeof(p->r.outcome), "%s",
	    r->outcome ? r->outcome : "");
	p->r.id = r->message_id;
	p->nparts = r->nparts;
	p->part_done = r->part_done;
	if (r->nparts > 0)
		snprintf(p->data, sizeof(p->data), "%d:%.*s", r->parts[0].seq,
		    (int)r->parts[0].len, (const char *)r->parts[0].data);
	cur->outstanding--;
}

/* Submit one part (or the whole text when seq is 0) and wait. */
static void
put(struct tstore *t, unsigned seq, const char *data, bool want,
    const char *text, struct pres *res)
{
	struct tstore *one[1] = { t };
	struct intake_part part = { .ref = 77,
		.total = 2,
		.seq = (uint8_t)seq,
		.dcs = 0,
		.want_stored = want,
		.data = (const uint8_t *)data,
		.len = data ? strlen(data) : 0 };
	struct inbound_msg m = {
		.channel = "sms",
		.sender = "79000000031",
		.recipient = "7377",
		.text = text ? text : "",
		.text_len = text ? strlen(text) : 0,
		.time_us = tstore_time(1) + seq * 1000 + (text ? 7 : 0),
		.flags = seq ? INTAKE_F_PART : INTAKE_F_WHOLE,
		.part = &part,
	};

	memset(res, 0, sizeof(*res));
	cur = t;
	if (store_submit(t->st, &m, part_done_cb, res) != 0)
		itest_fail("submit refused");
	t->outstanding++;
	tstore_wait(one, 1);
}

static long
n(const char *sql)
{
	return itest_long(db, sql);
}

int
main(void)
{
	const char *conninfo = tstore_db("itest_store_parts");
	struct event_base *base = event_base_new();
	struct tstore t;
	struct pres a;

	db = itest_connect(conninfo);
	tstore_open(&t, base, conninfo, 64);

	put(&t, 1, "PS 102057522 ", true, NULL, &a);
	ITEST_EQ_LONG(a.r.status, INTAKE_APPLIED);
	ITEST_EQ_STR(a.r.outcome, "part");
	ITEST_EQ_LONG((long)a.nparts, 0);
	ITEST_EQ_LONG(n("SELECT count(*) FROM concat_parts WHERE seq = 1"
	                " AND data = 'PS 102057522 '::bytea"
	                " AND message_id IS NULL"),
	    1);
	/* Not a message: nothing in the log. */
	ITEST_EQ_LONG(n("SELECT count(*) FROM messages"), 0);

	/* The same part again (its answer was lost): not kept twice. */
	put(&t, 1, "PS 102057522 ", false, NULL, &a);
	ITEST_EQ_STR(a.r.outcome, "part");
	ITEST_EQ_LONG(n("SELECT count(*) FROM concat_parts"), 1);

	/* A restart: the link holds nothing of the group when part 2
	   comes; the store keeps it and returns part 1. */
	put(&t, 2, "12500", true, NULL, &a);
	ITEST_EQ_LONG((long)a.nparts, 1);
	ITEST_EQ_STR(a.data, "1:PS 102057522 ");
	ITEST_EQ_LONG(n("SELECT count(*) FROM concat_parts"), 2);

	/* The whole message, joined by the link: processed, parts joined. */
	put(&t, 0, NULL, false, "PS 102057522 12500", &a);
	ITEST_EQ_LONG(a.r.status, INTAKE_APPLIED);
	ITEST_EQ_STR(a.r.outcome, "accepted");
	{
		char sql[160];

		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM concat_parts WHERE message_id = %lld",
		    (long long)a.r.id);
		ITEST_EQ_LONG(n(sql), 2);
	}

	/* Part 1 redelivered after that: recognised, never joined again. */
	put(&t, 1, "PS 102057522 ", true, NULL, &a);
	ITEST_EQ_LONG(a.part_done, 1);
	ITEST_EQ_LONG((long)a.nparts, 0);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM concat_parts WHERE message_id IS NULL"), 0);

	/* A new message reusing the reference: replaces the joined row. */
	put(&t, 1, "PS 555001 ", true, NULL, &a);
	ITEST_EQ_LONG(a.part_done, 0);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM concat_parts WHERE seq = 1"
	      " AND message_id IS NULL AND data = 'PS 555001 '::bytea"),
	    1);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM submissions WHERE sender = '79000000031'"),
	    1);

	tstore_close(&t);
	PQfinish(db);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
