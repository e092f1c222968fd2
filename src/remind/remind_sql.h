/*
 * The SQL of reminders, one home for the blocking face (remind_store.c:
 * the CLI, tests) and the timer on serve's loop (remind_timer.c).
 * Private to src/remind.
 */
#ifndef METERLINE_REMIND_SQL_H
#define METERLINE_REMIND_SQL_H

#include <stddef.h>

#include "meterline/remind.h"
#include "meterline/sql_array.h"

/*
 * Who gets a reminder: $1 the date (days since 1970-01-01), $2 resources,
 * $3 and $4 their windows' first and last days (days, aligned with $2),
 * $5 the channels. Every active contract of a due resource with no
 * accepted (or review) submission dated inside its window; each phone
 * bound to it on the phone channels (sms, whatsapp: the sender is the
 * phone), each chat whose verified phone is bound on the others; not
 * those that opted out (channel, sender).
 */
#define REMIND_SQL_TARGETS \
	"due AS (SELECT d.resource, DATE '1970-01-01' + d.since AS since," \
	" DATE '1970-01-01' + d.deadline AS deadline" \
	" FROM unnest($2::text[], $3::int[], $4::int[])" \
	" AS d(resource, since, deadline))," \
	" todo AS (SELECT c.contract, d.since, d.deadline FROM contracts c" \
	" JOIN due d ON d.resource = c.resource WHERE c.status = 'active'" \
	" AND NOT EXISTS (SELECT 1 FROM submissions s" \
	" WHERE s.contract = c.contract AND s.local_date BETWEEN d.since" \
	" AND d.deadline AND s.status IN ('accepted', 'review')))," \
	" phones AS (SELECT t.contract, t.since, t.deadline, b.phone" \
	" FROM todo t JOIN bindings b ON b.contract = t.contract)," \
	" targets AS (SELECT p.contract, p.since, p.deadline," \
	" ch.name AS channel, p.phone AS target, 'bound phone' AS how" \
	" FROM phones p CROSS JOIN unnest($5::text[]) AS ch(name)" \
	" WHERE ch.name IN ('sms', 'whatsapp')" \
	" UNION ALL SELECT p.contract, p.since, p.deadline, cp.channel," \
	" cp.sender, 'chat of bound phone' FROM phones p" \
	" JOIN channel_phones cp ON ltrim(cp.phone, '+') = p.phone" \
	" WHERE cp.channel = ANY ($5::text[])" \
	" AND cp.channel NOT IN ('sms', 'whatsapp'))," \
	" live AS (SELECT * FROM targets t WHERE NOT EXISTS (SELECT 1" \
	" FROM reminder_optout o WHERE o.channel = t.channel" \
	" AND o.sender = t.target))"

/*
 * Queue a date once: the run row first; the reminders only when this
 * statement inserted it (a second instance waits on its key, then finds
 * it). No ON CONFLICT on the reminders: with the run's key nobody else
 * inserts that date's rows, and speculative insertion cost a third of the
 * time (bench_remind); a row of the date put there by hand makes the
 * statement fail (logged, retried). In key order, so the primary key's
 * pages fill one after the other. Returns one row: how many it queued.
 */
#define REMIND_SQL_QUEUE \
	"WITH run AS (INSERT INTO reminder_runs (remind_date)" \
	" VALUES (DATE '1970-01-01' + $1::int) ON CONFLICT DO NOTHING" \
	" RETURNING remind_date), " REMIND_SQL_TARGETS \
	", ins AS (INSERT INTO reminders (contract, remind_date, channel," \
	" target, since, deadline) SELECT l.contract," \
	" DATE '1970-01-01' + $1::int, l.channel, l.target, l.since," \
	" l.deadline FROM live l WHERE EXISTS (SELECT 1 FROM run)" \
	" ORDER BY l.contract, l.channel, l.target" \
	" RETURNING 1) SELECT count(*) FROM ins"

/* The dry run: the same targets, whether already queued. */
#define REMIND_SQL_DRY \
	"WITH " REMIND_SQL_TARGETS \
	" SELECT l.contract, l.channel, l.target, l.how || ', no reading'" \
	" || ' from ' || to_char(l.since, 'DD.MM') || ' (deadline '" \
	" || to_char(l.deadline, 'DD.MM') || ')', EXISTS (SELECT 1" \
	" FROM reminders r WHERE r.contract = l.contract" \
	" AND r.remind_date = DATE '1970-01-01' + $1::int" \
	" AND r.channel = l.channel AND r.target = l.target)" \
	" FROM live l ORDER BY l.contract, l.channel, l.target"

/*
 * A queued reminder's verdict at release (r: its row; $3 the local date
 * in days): its window closed, its target opted out, or its contract
 * submitted since it was queued; else sent. submissions.contract has the
 * default collation (its index too), reminders' the "C" one.
 */
#define REMIND_SQL_VERDICT \
	"CASE WHEN r.deadline < DATE '1970-01-01' + $3::int THEN 'expired'" \
	" WHEN EXISTS (SELECT 1 FROM reminder_optout o" \
	" WHERE o.channel = r.channel AND o.sender = r.target)" \
	" THEN 'opted_out' WHEN EXISTS (SELECT 1 FROM submissions s" \
	" WHERE s.contract = r.contract COLLATE \"default\"" \
	" AND s.local_date BETWEEN r.since AND r.deadline" \
	" AND s.status IN ('accepted', 'review')) THEN 'submitted'" \
	" ELSE 'sent' END"

/*
 * Release: claim up to $2 queued reminders of channel $1 (SKIP LOCKED),
 * judge each (REMIND_SQL_VERDICT), give the sent ones an outbox id and
 * put them into the outbox (due at once, from $5, the text $4 with
 * {contract}, {to}, {date}). One statement: a reminder reaches the
 * outbox once. The claimed rows, locked, are updated by their ctid (a
 * TID scan): no join with the whole table. Returns one row: reminders
 * taken, of which sent.
 */
#define REMIND_SQL_RELEASE \
	"WITH picked AS (SELECT ctid FROM reminders WHERE state = 'queued'" \
	" AND channel = $1 LIMIT $2 FOR UPDATE SKIP LOCKED)," \
	" upd AS (UPDATE reminders r SET state = " REMIND_SQL_VERDICT \
	", released_at = now(), outbox_id = CASE WHEN " REMIND_SQL_VERDICT \
	" = 'sent' THEN nextval('outbox_id_seq') END" \
	" WHERE r.ctid = ANY (ARRAY(SELECT ctid FROM picked))" \
	" RETURNING r.contract, r.target, r.deadline, r.state, r.outbox_id)," \
	" o AS (INSERT INTO outbox (id, channel, sender, recipient, text)" \
	" SELECT u.outbox_id, $1, $5, u.target, replace(replace(replace($4," \
	" '{contract}', u.contract), '{to}', to_char(u.deadline, 'FMDD'))," \
	" '{date}', to_char(u.deadline, 'DD.MM')) FROM upd u" \
	" WHERE u.state = 'sent' ORDER BY u.outbox_id)" \
	" SELECT count(*), count(*) FILTER (WHERE state = 'sent') FROM upd"

/*
 * The session of every reminder connection: no JIT. The queue's plan is
 * big and costly on paper, so PostgreSQL compiled it (5 s under load,
 * also when the date was queued already and nothing runs).
 */
#define REMIND_SQL_SESSION "SET jit = off"

/* The parameters of REMIND_SQL_QUEUE and REMIND_SQL_DRY for d. */
struct remind_params {
	char date[16];
	struct sql_arr res, since, deadline, channels;
	const char *p[5];
};

void remind_params_fill(
    struct remind_params *, const struct config *, const struct remind_due *d);
void remind_params_free(struct remind_params *);

/* The parameters of REMIND_SQL_RELEASE. */
struct remind_release_params {
	char max[16], today[16];
	const char *p[5];
};

void remind_release_fill(struct remind_release_params *, const struct config *,
    const char *channel, int max, int32_t today);

/* A release's one row: reminders taken (-1: no such row), *sent. */
struct db_rows;
long remind_release_counts(const struct db_rows *, long *sent);

#endif
