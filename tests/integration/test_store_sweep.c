/*
 * The sweep of kept parts (docs/store.md, "Concatenated SMS"): parts of a
 * concatenated SMS whose message no channel completes (kept before a
 * restart, the rest never came) are processed as they are, like the link
 * processes the parts it holds after concat_timeout: one message of the
 * parts in order (a missing part is left out), its reply queued, the parts
 * marked with its id. A group with a part newer than the timeout is left
 * to the channel holding it; joined parts are left alone; sweeping the
 * same parts again applies nothing twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "itest.h"
#include "meterline/conf.h"
#include "meterline/xmalloc.h"
#include "tstore.h"

static PGconn *db;

static long
n(const char *sql)
{
	return itest_long(db, sql);
}

static const char *
str(const char *sql)
{
	static char buf[256];

	return itest_text(db, sql, buf, sizeof(buf));
}

/* A stored part: as a batch writes it, logged age_s seconds ago. */
static void
part(const char *sender, int ref, int total, int seq, const char *data,
    int age_s, const char *message_id)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
	    "INSERT INTO concat_parts (channel, sender, recipient, ref, total,"
	    " seq, dcs, data, received_us, message_id, logged_at)"
	    " VALUES ('sms', '%s', '7377', %d, %d, %d, 0, '%s'::bytea,"
	    " (extract(epoch FROM now()) * 1000000)::bigint - %d000000 + %d,"
	    " %s, now() - %d * interval '1 second')",
	    sender, ref, total, seq, data, age_s, seq, message_id, age_s);
	itest_exec(db, sql);
}

/* A store with the sweep on (concat_timeout 1 s: groups quiet 6 s). */
static struct store *
sweeping_store(
    struct event_base *base, const char *conninfo, struct config *cfg)
{
	struct store_opts o = { .conninfo = conninfo,
		.cfg = cfg,
		.backoff_max_ms = 500,
		.parts_timeout_ms = 1000 };
	char err[256];
	struct store *st;

	if (config_load_string(
	        cfg, "test", "[window]\ndays = 1-31\n", err, sizeof(err)) != 0)
		itest_fail("config: %s", err);
	if ((st = store_new(base, &o, err, sizeof(err))) == NULL)
		itest_fail("store_new: %s", err);
	for (int i = 0; i < 600 && !store_ready(st); i++)
		tstore_spin(base, 50);
	if (!store_ready(st))
		itest_fail("store not ready");
	return st;
}

int
main(void)
{
	const char *conninfo = tstore_db("itest_store_sweep");
	struct event_base *base = event_base_new();
	struct config *cfg = xmalloc(sizeof(*cfg));
	struct store *st;

	db = itest_connect(conninfo);
	/* A: part 1 of 2 kept an hour ago, the rest never came. */
	part("79000000041", 5, 2, 1, "PS 102057522", 3600, "NULL");
	/* B: parts 1 and 3 of 3; part 2 never came. */
	part("79000000042", 6, 3, 1, "PS 123859 ", 3600, "NULL");
	part("79000000042", 6, 3, 3, "45055 23186", 3500, "NULL");
	/* C: part 1 old, part 2 just now: a channel holds the group. */
	part("79000000043", 7, 3, 1, "PS 123861 ", 3600, "NULL");
	part("79000000043", 7, 3, 2, "12000 ", 0, "NULL");
	/* D: joined into message 12345 already. */
	part("79000000044", 8, 2, 1, "PS 102057531 ", 60, "12345");

	st = sweeping_store(base, conninfo, cfg);
	tstore_spin(base, 2500);

	ITEST_EQ_LONG(n("SELECT count(*) FROM messages"), 2);
	ITEST_EQ_STR(str("SELECT text || '|' || outcome || '|' || dcs FROM"
	                 " messages WHERE sender = '79000000041'"),
	    "PS 102057522|prompt|0");
	ITEST_EQ_STR(str("SELECT text || '|' || outcome FROM messages"
	                 " WHERE sender = '79000000042'"),
	    "PS 123859 45055 23186|accepted");
	/* Each answered once, through the outbox. */
	ITEST_EQ_LONG(n("SELECT count(*) FROM outbox"), 2);
	/* Their parts are marked with their message; C and D untouched. */
	ITEST_EQ_LONG(n("SELECT count(*) FROM concat_parts p JOIN messages m"
	                " ON m.id = p.message_id AND m.sender = p.sender"),
	    3);
	ITEST_EQ_LONG(n("SELECT count(*) FROM concat_parts"
	                " WHERE sender = '79000000043' AND message_id IS NULL"),
	    2);
	ITEST_EQ_LONG(n("SELECT count(*) FROM concat_parts"
	                " WHERE sender = '79000000044' AND message_id = 12345"),
	    1);

	/* The same parts swept again (as if their marks were lost, or two
	   instances swept at once): a duplicate by id, nothing applied. */
	itest_exec(db,
	    "UPDATE concat_parts SET message_id = NULL,"
	    " logged_at = now() - interval '1 hour'"
	    " WHERE sender = '79000000041'");
	tstore_spin(base, 2500);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages"
	      " WHERE sender = '79000000041' AND outcome <> 'duplicate'"),
	    1);
	ITEST_EQ_LONG(
	    n("SELECT count(*) FROM messages"
	      " WHERE sender = '79000000041' AND outcome = 'duplicate'"),
	    1);
	ITEST_EQ_LONG(n("SELECT count(*) FROM outbox"), 2);
	ITEST_EQ_LONG(n("SELECT count(*) FROM concat_parts"
	                " WHERE sender = '79000000041' AND message_id IS NULL"),
	    0);

	store_free(st);
	free(cfg);
	PQfinish(db);
	event_base_free(base);
	printf("ok\n");
	return 0;
}
