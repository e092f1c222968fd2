/*
 * Replay from the console (docs/console.md, "Replay"): an uploaded log
 * (the JSON Lines of `meterline export-log`) or one message of a
 * conversation goes through the replay engine of src/ops (replay_read,
 * replay_bound, replay_sort, replay_run), the one `meterline replay`
 * uses. The engine runs its own store on its own event loop and blocks
 * until done, so it runs on a worker thread of the console
 * (console_worker.c), never on the service's loop.
 *
 * Every replay is a dry run first. Its content is then kept here, in
 * memory, for RP_TTL_US, under a random id and its SHA-256, for the user
 * who ran it; "apply" names both, and only that content, only once, by
 * only that user, is applied. The engine's stable ids make a second
 * apply of the same lines all duplicates: it changes nothing. An apply
 * writes an audit row (who, from where, what: file, SHA-256, counts) on
 * the worker, right after the replay, so a service stopping between the
 * two cannot lose it.
 */
#define _GNU_SOURCE /* open_memstream, fmemopen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "console_int.h"
#include "meterline/clock.h"
#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/replay.h"
#include "meterline/xmalloc.h"

#define HTML_TYPE "text/html; charset=utf-8"
#define RP_MAX_BYTES (1024 * 1024) /* an uploaded log */
#define RP_MAX_LINES 5000
#define RP_TTL_US (10LL * 60 * 1000000) /* a dry run's apply */
#define RP_QUEUE 2 /* replays running or waiting */
#define RP_SHOW_BAD 50 /* malformed lines listed */
#define RP_KEYS 32 /* outcome (reason) pairs counted */

/* A dry run that may be applied. */
struct rp_pending {
	char id[33]; /* "" when free */
	char sha[65];
	char user[65];
	char name[128];
	int64_t expires_us; /* monotonic */
	char *data; /* owned */
	size_t len;
};

struct console_replay {
	struct console_worker *worker;
	struct config cfg; /* window, templates, intake bounds, conninfo */
	struct rp_pending pending[16];
};

struct rp_count {
	char key[96]; /* "outcome" or "outcome (reason)" */
	long n;
};

/* One replay: built on the loop, run on the worker, answered on the loop. */
struct rp_job {
	struct creq *r;
	const struct config *cfg; /* the console's copy */
	bool dry_run;
	char *data; /* owned: the lines */
	size_t len;
	char name[128], sha[65], user[65], addr[64];
	/* one message of the log: exported first (replay_export) */
	bool export;
	int64_t time_us;
	char channel[33], sender[129];
	/* results */
	struct evbuffer *rows, *bad; /* HTML made on the worker */
	struct rp_count counts[RP_KEYS];
	size_t ncounts, n;
	long nbad, failed;
	int rc;
	char err[512];
};

/* ---- on the worker ------------------------------------------------------- */

static void
rp_count(struct rp_job *j, const char *outcome, const char *reason)
{
	char key[96];

	snprintf(key, sizeof(key), reason ? "%s (%s)" : "%s", outcome, reason);
	for (size_t i = 0; i < j->ncounts; i++)
		if (strcmp(j->counts[i].key, key) == 0) {
			j->counts[i].n++;
			return;
		}
	if (j->ncounts < RP_KEYS) {
		strlcpy_s(j->counts[j->ncounts].key, key, sizeof(key));
		j->counts[j->ncounts++].n = 1;
	}
}

static void
rp_bad(const char *name, long line, const char *why, void *arg)
{
	struct rp_job *j = arg;

	(void)name;
	if (j->nbad++ < RP_SHOW_BAD) {
		evbuffer_add_printf(j->bad, "<li>строка %ld: ", line);
		html_esc(j->bad, why);
		evbuffer_add_printf(j->bad, "</li>\n");
	}
}

static void
rp_result(const struct replay_rec *rec, size_t n,
    const struct replay_outcome *out, void *arg)
{
	struct rp_job *j = arg;
	const char *outcome, *reason;
	struct evbuffer *b = j->rows;
	char time[48];

	if (replay_outcome_shown(out, &outcome, &reason))
		j->failed++;
	rp_count(j, outcome, reason);
	replay_time_format(
	    rec->time_us, &j->cfg->window.tz, time, sizeof(time));
	evbuffer_add_printf(
	    b, "<tr class=\"o-%s\"><td>%zu</td><td>", outcome, n + 1);
	html_esc(b, time);
	evbuffer_add_printf(b, "</td><td>");
	html_esc(b, rec->channel);
	evbuffer_add_printf(b, "</td><td>");
	html_esc(b, rec->from);
	evbuffer_add_printf(b, "</td><td class=\"text\">");
	html_esc(b, rec->text);
	evbuffer_add_printf(b, "</td><td class=\"outcome\">");
	html_esc(b, outcome);
	evbuffer_add_printf(b, "</td><td>");
	html_esc(b, reason);
	evbuffer_add_printf(b, "</td><td>");
	html_esc(b, out->reply);
	evbuffer_add_printf(b, "</td></tr>\n");
}

/* The message's line, as export-log writes it, into j->data. */
static int
rp_export(struct rp_job *j)
{
	struct replay_export_opts o = {
		.conninfo = j->cfg->database.conninfo,
		.tz = &j->cfg->window.tz,
		.has_since = true,
		.has_until = true,
		.since_us = j->time_us,
		.until_us = j->time_us + 1,
		.channel = j->channel,
		.sender = j->sender,
	};
	FILE *f = open_memstream(&j->data, &j->len);
	long rows = 0;
	int rc;

	if (f == NULL) {
		snprintf(j->err, sizeof(j->err), "нет памяти");
		return -1;
	}
	rc = replay_export(&o, f, &rows, j->err, sizeof(j->err));
	fclose(f);
	if (rc == 0 && rows == 0) {
		snprintf(
		    j->err, sizeof(j->err), "сообщение не найдено в журнале");
		rc = -1;
	}
	if (rc == 0)
		console_sha256_hex(j->data, j->len, j->sha);
	return rc;
}

/* The audit row of an apply: who, from where, what, the counts. */
static void
rp_audit(struct rp_job *j)
{
	static const char sql[] =
	    "INSERT INTO console_audit (actor, addr, action, object, after)"
	    " VALUES ($1::text, $2::text, 'replay.apply', $3::text, $4::jsonb)";
	struct evbuffer *b = evbuffer_new();
	char object[200], err[256], *json;
	const char *p[4] = { j->user, j->addr, object, NULL };
	struct db_sync *db;
	struct db_rows *rows = NULL;

	snprintf(object, sizeof(object), "replay %.16s", j->sha);
	evbuffer_add_printf(b, "{\"file\":");
	api_json_str(b, j->name);
	evbuffer_add_printf(b,
	    ",\"sha256\":\"%s\",\"messages\":%zu,\"malformed\":%ld,"
	    "\"failed\":%ld,\"outcomes\":{",
	    j->sha, j->n, j->nbad, j->failed);
	for (size_t i = 0; i < j->ncounts; i++) {
		evbuffer_add_printf(b, i ? "," : "");
		api_json_str(b, j->counts[i].key);
		evbuffer_add_printf(b, ":%ld", j->counts[i].n);
	}
	evbuffer_add(b, "}}", 3); /* with the NUL */
	json = (char *)evbuffer_pullup(b, -1);
	p[3] = json;
	if ((db = db_sync_open(j->cfg->database.conninfo, err, sizeof(err))) ==
	        NULL ||
	    (rows = db_sync_query(db, sql, 4, p, err, sizeof(err))) == NULL)
		log_warn("console: replay by %s applied, its audit row not "
		         "written: %s",
		    j->user, err);
	db_rows_free(rows);
	db_sync_close(db);
	evbuffer_free(b);
}

/* Read, bound, sort and run the lines (dry or not). */
static void
rp_run(struct rp_job *j)
{
	struct config_intake bounds = j->cfg->intake;
	struct replay_opts o = {
		.conninfo = j->cfg->database.conninfo,
		.cfg = j->cfg,
		.dry_run = j->dry_run,
		.connections = 1,
		.ready_timeout_s = 10,
	};
	struct replay_set set = { 0 };
	int64_t h = config_id_horizon(j->cfg);
	FILE *f = fmemopen(j->data, j->len, "r");

	if (f == NULL) {
		snprintf(j->err, sizeof(j->err), "нет памяти");
		return;
	}
	/* never twice under [retention]: as cmd_replay.c does */
	if (h > 0 && (bounds.max_age == 0 || bounds.max_age > h))
		bounds.max_age = h;
	if (replay_read(&set, f, j->name, REPLAY_FMT_JSONL, rp_bad, j, j->err,
	        sizeof(j->err)) == 0) {
		replay_bound(&set, &bounds, clock_real_us(), rp_bad, j);
		replay_sort(&set);
		j->n = set.n;
		if (set.n == 0)
			snprintf(j->err, sizeof(j->err),
			    "ни одной строки для повтора");
		else if (replay_run(&set, &o, rp_result, j, j->err,
		             sizeof(j->err)) == 0)
			j->rc = 0;
	}
	fclose(f);
	replay_set_free(&set);
	if (j->rc == 0 && !j->dry_run)
		rp_audit(j);
}

static void
rp_work(void *arg)
{
	struct rp_job *j = arg;

	j->rc = -1;
	if (j->export && rp_export(j) != 0)
		return;
	rp_run(j);
}

/* ---- pending dry runs ---------------------------------------------------- */

static void
rp_pending_clear(struct rp_pending *p)
{
	free(p->data);
	memset(p, 0, sizeof(*p));
}

/* Keep the job's content for its apply; the id, or NULL when full. */
static const struct rp_pending *
rp_pending_add(struct console_replay *rp, struct rp_job *j)
{
	int64_t now = clock_mono_us();
	struct rp_pending *free_slot = NULL, *oldest = &rp->pending[0];

	for (size_t i = 0; i < ARRAY_SIZE(rp->pending); i++) {
		struct rp_pending *p = &rp->pending[i];

		if (p->id[0] != '\0' && p->expires_us < now)
			rp_pending_clear(p);
		if (p->id[0] == '\0' && free_slot == NULL)
			free_slot = p;
		if (p->expires_us < oldest->expires_us)
			oldest = p;
	}
	if (free_slot == NULL) {
		rp_pending_clear(
		    oldest); /* the oldest dry run must be run again */
		free_slot = oldest;
	}
	console_random_hex(free_slot->id, 16);
	strlcpy_s(free_slot->sha, j->sha, sizeof(free_slot->sha));
	strlcpy_s(free_slot->user, j->user, sizeof(free_slot->user));
	strlcpy_s(free_slot->name, j->name, sizeof(free_slot->name));
	free_slot->expires_us = now + RP_TTL_US;
	free_slot->data = j->data; /* taken */
	free_slot->len = j->len;
	j->data = NULL;
	return free_slot;
}

/* The dry run (id, sha) of user, taken out; NULL when none is. */
static struct rp_pending *
rp_pending_find(struct console_replay *rp, const char *id, const char *sha,
    const char *user)
{
	int64_t now = clock_mono_us();

	if (id == NULL || sha == NULL || strlen(id) != 32 || strlen(sha) != 64)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(rp->pending); i++) {
		struct rp_pending *p = &rp->pending[i];

		if (p->id[0] == '\0' || sodium_memcmp(p->id, id, 32) != 0)
			continue;
		if (p->expires_us < now) {
			rp_pending_clear(p);
			return NULL;
		}
		if (strcmp(p->user, user) != 0 ||
		    sodium_memcmp(p->sha, sha, 64) != 0)
			return NULL;
		return p;
	}
	return NULL;
}

/* ---- pages --------------------------------------------------------------- */

static void
rp_form(struct evbuffer *b, const struct creq *r)
{
	evbuffer_add_printf(b,
	    "<form method=\"post\" action=\"/replay/dry\" "
	    "enctype=\"multipart/form-data\" id=\"upload\">");
	html_csrf(b, r);
	evbuffer_add_printf(b,
	    "<label>Журнал (JSON Lines, как пишет <code>meterline "
	    "export-log</code>; не больше %d КиБ и %d строк) "
	    "<input type=\"file\" name=\"log\" accept=\".jsonl,.json,.txt\" "
	    "required></label> "
	    "<button>Пробный прогон</button></form>\n"
	    "<p>Сначала всегда пробный прогон: он показывает, что сделает "
	    "каждое сообщение, и ничего не меняет. Применить можно только "
	    "его, один раз, в течение %lld минут.</p>\n",
	    RP_MAX_BYTES / 1024, RP_MAX_LINES, RP_TTL_US / 60000000);
}

void
console_replay_page(struct creq *r)
{
	struct evbuffer *b = evbuffer_new();

	html_begin(b, r, "Повтор сообщений");
	rp_form(b, r);
	html_end(b);
	creq_reply(r, 200, HTML_TYPE, b);
}

static void
rp_summary(struct evbuffer *b, const struct rp_job *j)
{
	evbuffer_add_printf(b, "<ul class=\"summary\" id=\"summary\">");
	evbuffer_add_printf(
	    b, "<li>сообщений: <b class=\"n\">%zu</b></li>", j->n);
	for (size_t i = 0; i < j->ncounts; i++) {
		evbuffer_add_printf(b, "<li>");
		html_esc(b, j->counts[i].key);
		evbuffer_add_printf(b, ": <b>%ld</b></li>", j->counts[i].n);
	}
	if (j->nbad > 0)
		evbuffer_add_printf(b,
		    "<li>пропущено строк (ошибка или время вне границ): "
		    "<b>%ld</b></li>",
		    j->nbad);
	evbuffer_add_printf(b, "</ul>\n");
}

static void
rp_table(struct evbuffer *b, struct rp_job *j)
{
	if (evbuffer_get_length(j->bad) > 0) {
		evbuffer_add_printf(b,
		    "<h2>Пропущенные строки</h2>"
		    "<ul class=\"bad\" id=\"bad\">");
		evbuffer_add_buffer(b, j->bad);
		evbuffer_add_printf(b, "</ul>\n");
	}
	if (j->n == 0)
		return;
	evbuffer_add_printf(b,
	    "<div class=\"scroll\"><table id=\"replay\"><thead><tr><th>№</th>"
	    "<th>Время</th><th>Канал</th><th>Отправитель</th><th>Текст</th>"
	    "<th>Итог</th><th>Причина</th><th>Ответ</th></tr></thead>"
	    "<tbody>\n");
	evbuffer_add_buffer(b, j->rows);
	evbuffer_add_printf(b, "</tbody></table></div>\n");
}

static void
rp_apply_form(
    struct evbuffer *b, const struct creq *r, const struct rp_pending *p)
{
	evbuffer_add_printf(b,
	    "<form method=\"post\" action=\"/replay/apply\" id=\"apply\" "
	    "data-confirm=\"Применить эти сообщения?\">");
	html_csrf(b, r);
	evbuffer_add_printf(b,
	    "<input type=\"hidden\" name=\"job\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"sha\" value=\"%s\">"
	    "<button>Применить</button> "
	    "<span class=\"hint\">SHA-256 %.16s…</span></form>\n",
	    p->id, p->sha, p->sha);
}

static void
rp_job_free(struct rp_job *j)
{
	if (j->rows)
		evbuffer_free(j->rows);
	if (j->bad)
		evbuffer_free(j->bad);
	free(j->data);
	free(j);
}

static void
rp_done(void *arg, bool cancelled)
{
	struct rp_job *j = arg;
	struct creq *r = j->r;
	const struct rp_pending *p = NULL;
	struct evbuffer *b;

	if (cancelled) {
		creq_error(r, 503, "Сервис останавливается.");
		rp_job_free(j);
		return;
	}
	if (j->dry_run && j->rc == 0 && j->failed == 0)
		p = rp_pending_add(r->con->replay, j);
	b = evbuffer_new();
	html_begin(b, r, j->dry_run ? "Пробный прогон" : "Повтор применён");
	evbuffer_add_printf(b, "<p>Файл <b id=\"file\">");
	html_esc(b, j->name);
	evbuffer_add_printf(b, "</b>.</p>\n");
	if (j->rc != 0)
		html_notice(b, "err", j->err[0] ? j->err : "ошибка повтора");
	else if (j->dry_run)
		html_notice(b, "ok", "Пробный прогон: ничего не изменено.");
	else
		html_notice(b, "ok",
		    j->failed
		        ? "Применено не всё: часть сообщений не сохранена."
		        : "Применено. Повторное применение ничего не "
		          "изменит.");
	rp_summary(b, j);
	if (p != NULL)
		rp_apply_form(b, r, p);
	rp_table(b, j);
	evbuffer_add_printf(b, "<p><a href=\"/replay\">Другой файл</a></p>\n");
	html_end(b);
	if (!j->dry_run)
		log_info("console: %s applied a replay of %zu messages",
		    j->user, j->n);
	creq_reply(r, j->rc == 0 ? 200 : 400, HTML_TYPE, b);
	rp_job_free(j);
}

static struct rp_job *
rp_job_new(struct creq *r, bool dry_run)
{
	struct rp_job *j = xcalloc(1, sizeof(*j));

	j->r = r;
	j->cfg = &r->con->replay->cfg;
	j->dry_run = dry_run;
	j->rows = evbuffer_new();
	j->bad = evbuffer_new();
	strlcpy_s(j->user, r->user, sizeof(j->user));
	strlcpy_s(j->addr, r->addr, sizeof(j->addr));
	return j;
}

static void
rp_start(struct creq *r, struct rp_job *j)
{
	if (console_worker_submit(
	        r->con->replay->worker, rp_work, rp_done, j) != 0) {
		creq_error(r, 503, "Идёт другой повтор, повторите позже.");
		rp_job_free(j);
	}
}

/* Why an upload cannot be replayed, or NULL. */
static const char *
rp_upload_refusal(const struct creq *r, char *buf, size_t len)
{
	const char *why;
	long line, lines = 0;

	if (r->upload == NULL || r->upload_len == 0)
		return "Файл не выбран или пуст.";
	if (r->upload_len > RP_MAX_BYTES) {
		snprintf(buf, len,
		    "Файл слишком большой: %zu байт, можно не больше %d КиБ. "
		    "Разделите журнал на части.",
		    r->upload_len, RP_MAX_BYTES / 1024);
		return buf;
	}
	if ((line = console_text_check(r->upload, r->upload_len, &why)) > 0) {
		snprintf(buf, len,
		    strcmp(why, "nul") == 0
		        ? "Это не текстовый файл (нулевой байт в строке %ld)."
		        : "Файл не в UTF-8 (строка %ld).",
		    line);
		return buf;
	}
	for (size_t i = 0; i < r->upload_len; i++)
		lines += r->upload[i] == '\n';
	if (lines > RP_MAX_LINES) {
		snprintf(buf, len,
		    "Слишком много строк: %ld, можно не больше %d.", lines,
		    RP_MAX_LINES);
		return buf;
	}
	return NULL;
}

void
console_replay_dry_post(struct creq *r)
{
	char buf[256];
	const char *why;
	struct rp_job *j;

	if (r->con->replay == NULL) {
		creq_error(r, 503, "Повтор не настроен.");
		return;
	}
	if ((why = rp_upload_refusal(r, buf, sizeof(buf))) != NULL) {
		log_info(
		    "console: %s: replay upload refused: %s", r->user, why);
		creq_error(r, r->upload_len > RP_MAX_BYTES ? 413 : 400, why);
		return;
	}
	j = rp_job_new(r, true);
	j->data = r->upload; /* taken */
	j->len = r->upload_len;
	r->upload = NULL;
	strlcpy_s(j->name, r->upload_name[0] ? r->upload_name : "файл",
	    sizeof(j->name));
	console_sha256_hex(j->data, j->len, j->sha);
	rp_start(r, j);
}

static void
rp_message_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows;
	struct rp_job *j;

	if (creq_round_failed(r, res))
		return;
	rows = res->rows[0];
	if (db_rows_count(rows) != 1) {
		creq_error(r, 404, "Сообщение не найдено.");
		return;
	}
	j = rp_job_new(r, true);
	j->export = true;
	j->time_us = strtoll(db_rows_get(rows, 0, 0), NULL, 10);
	strlcpy_s(j->channel, creq_param(r, "channel"), sizeof(j->channel));
	strlcpy_s(j->sender, creq_param(r, "sender"), sizeof(j->sender));
	snprintf(
	    j->name, sizeof(j->name), "сообщение №%s", creq_param(r, "id"));
	rp_start(r, j);
}

void
console_replay_message_post(struct creq *r)
{
	const char *p[3] = { creq_param(r, "id"), creq_param(r, "channel"),
		creq_param(r, "sender") };

	if (r->con->replay == NULL) {
		creq_error(r, 503, "Повтор не настроен.");
		return;
	}
	if (p[0] == NULL || p[1] == NULL || p[2] == NULL ||
	    strspn(p[0], "0123456789") != strlen(p[0]) || strlen(p[0]) > 18 ||
	    strlen(p[1]) > 32 || strlen(p[2]) > 128) {
		creq_error(
		    r, 400, "Нужны номер сообщения, канал и отправитель.");
		return;
	}
	if (db_send(r->con->db, CS_REPLAY_MESSAGE, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, rp_message_cb);
}

void
console_replay_apply_post(struct creq *r)
{
	struct console_replay *rp = r->con->replay;
	struct rp_pending *p;
	struct rp_job *j;

	if (rp == NULL) {
		creq_error(r, 503, "Повтор не настроен.");
		return;
	}
	p = rp_pending_find(
	    rp, creq_param(r, "job"), creq_param(r, "sha"), r->user);
	if (p == NULL) {
		creq_error(r, 409,
		    "Этот пробный прогон уже применён, устарел или не ваш: "
		    "ничего не изменено. Загрузите файл снова.");
		return;
	}
	j = rp_job_new(r, false);
	j->data = p->data; /* taken: applied once */
	j->len = p->len;
	p->data = NULL;
	strlcpy_s(j->sha, p->sha, sizeof(j->sha));
	strlcpy_s(j->name, p->name, sizeof(j->name));
	rp_pending_clear(p);
	rp_start(r, j);
}

/* ---- the console's part -------------------------------------------------- */

void
console_set_replay(struct console *con, const struct config *cfg)
{
	if (con->replay == NULL) {
		con->replay = xcalloc(1, sizeof(*con->replay));
		con->replay->worker = console_worker_new(con->base, RP_QUEUE);
	}
	con->replay->cfg = *cfg;
}

void
console_replay_free(struct console_replay *rp)
{
	if (rp == NULL)
		return;
	console_worker_free(rp->worker); /* jobs answer 503 */
	for (size_t i = 0; i < ARRAY_SIZE(rp->pending); i++)
		rp_pending_clear(&rp->pending[i]);
	free(rp);
}
