/*
 * The store part of reminders, blocking (`meterline remind`, tests): queue
 * a date's reminders, release them into the outbox, list a dry run. The
 * statements are those the timer sends on serve's loop (remind_sql.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/db.h"
#include "remind_sql.h"

void
remind_params_fill(struct remind_params *q, const struct config *cfg,
    const struct remind_due *d)
{
	const char *s = cfg->reminders.channels;
	char name[32];

	memset(q, 0, sizeof(*q));
	snprintf(q->date, sizeof(q->date), "%ld", (long)d->date);
	sarr_begin(&q->res);
	sarr_begin(&q->since);
	sarr_begin(&q->deadline);
	sarr_begin(&q->channels);
	for (size_t i = 0; i < d->n; i++) {
		sarr_text(&q->res, model_resource_name(d->win[i].res));
		sarr_i64(&q->since, d->win[i].since);
		sarr_i64(&q->deadline, d->win[i].deadline);
	}
	while (*s != '\0') { /* checked by config_check: known names */
		size_t len = strcspn(s, ",");

		if (len < sizeof(name)) {
			memcpy(name, s, len);
			name[len] = '\0';
			sarr_text(&q->channels, name);
		}
		s += len + (s[len] == ',');
	}
	q->p[0] = q->date;
	q->p[1] = sarr_end(&q->res);
	q->p[2] = sarr_end(&q->since);
	q->p[3] = sarr_end(&q->deadline);
	q->p[4] = sarr_end(&q->channels);
}

void
remind_params_free(struct remind_params *q)
{
	sbuf_free(&q->res.b);
	sbuf_free(&q->since.b);
	sbuf_free(&q->deadline.b);
	sbuf_free(&q->channels.b);
}

void
remind_release_fill(struct remind_release_params *q, const struct config *cfg,
    const char *channel, int max, int32_t today)
{
	snprintf(q->max, sizeof(q->max), "%d", max);
	snprintf(q->today, sizeof(q->today), "%ld", (long)today);
	q->p[0] = channel;
	q->p[1] = q->max;
	q->p[2] = q->today;
	q->p[3] = cfg->reminders.text;
	/* an SMS goes from the short number; a messenger's row is marked */
	q->p[4] = strcmp(channel, "sms") == 0 ? cfg->reminders.sms_from
	                                      : REMIND_SENDER;
}

long
remind_release_counts(const struct db_rows *rows, long *sent)
{
	if (rows == NULL || db_rows_count(rows) != 1)
		return -1;
	*sent = strtol(db_rows_get(rows, 0, 1), NULL, 10);
	return strtol(db_rows_get(rows, 0, 0), NULL, 10);
}

long
remind_queue(struct db_sync *db, const struct config *cfg,
    const struct remind_due *d, char *err, size_t errlen)
{
	struct remind_params q;
	struct db_rows *rows;
	long n = -1;

	if (db_sync_exec(db, REMIND_SQL_SESSION, err, errlen) != 0)
		return -1;
	remind_params_fill(&q, cfg, d);
	rows = db_sync_query(db, REMIND_SQL_QUEUE, 5, q.p, err, errlen);
	if (rows != NULL && db_rows_count(rows) == 1)
		n = strtol(db_rows_get(rows, 0, 0), NULL, 10);
	db_rows_free(rows);
	remind_params_free(&q);
	return n;
}

long
remind_release(struct db_sync *db, const struct config *cfg,
    const char *channel, int max, int32_t today, long *sent, char *err,
    size_t errlen)
{
	struct remind_release_params q;
	struct db_rows *rows;
	long n;

	remind_release_fill(&q, cfg, channel, max, today);
	if ((rows = db_sync_query(
	         db, REMIND_SQL_RELEASE, 5, q.p, err, errlen)) == NULL)
		return -1;
	n = remind_release_counts(rows, sent);
	db_rows_free(rows);
	if (n < 0)
		snprintf(err, errlen, "release: no counts returned");
	return n;
}

long
remind_dry_run(struct db_sync *db, const struct config *cfg,
    const struct remind_due *d, remind_target_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct remind_params q;
	struct db_rows *rows;
	long n;

	if (db_sync_exec(db, REMIND_SQL_SESSION, err, errlen) != 0)
		return -1;
	remind_params_fill(&q, cfg, d);
	rows = db_sync_query(db, REMIND_SQL_DRY, 5, q.p, err, errlen);
	remind_params_free(&q);
	if (rows == NULL)
		return -1;
	n = db_rows_count(rows);
	for (int i = 0; i < n; i++) {
		struct remind_target t = { db_rows_get(rows, i, 0),
			db_rows_get(rows, i, 1), db_rows_get(rows, i, 2),
			db_rows_get(rows, i, 3),
			strcmp(db_rows_get(rows, i, 4), "t") == 0 };

		cb(&t, arg);
	}
	db_rows_free(rows);
	return n;
}
