/*
 * POST /house/submit (issue 18, docs/house-entry.md): a whole house's
 * readings in one request,
 *
 *   csrf, house=ID, batch=HEX, v.<contract>.<position>=<digits> ...
 *
 * answered with JSON, one result per apartment sent. Every apartment goes
 * through the service's intake as the message "ПС <contract> <values>"
 * of channel "web" with the manager as sender: the same parser, dialog
 * engine and checks as an SMS (capacity, lower than last with wrap-
 * around, window, high consumption) and the same store. Its external id
 * is house:<batch>:<contract>:<values>, so a batch sent again (a retry
 * after a dropped connection) is answered from the first time and
 * applied once. All apartments are submitted in one turn of the loop
 * and flagged INTAKE_F_GROUP, so the store takes them into one
 * transaction whatever else is queued: a database failure applies none
 * of them (all "retry").
 *
 * The request's record may be gone (the console stopping) before the
 * store answers: the job outlives it and is freed by the last answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "console_int.h"
#include "meterline/clock.h"
#include "meterline/dialog.h"
#include "meterline/log.h"
#include "meterline/model.h"
#include "meterline/xmalloc.h"

#define HS_BATCH_MAX 64
#define HS_VALUE_MAX 9 /* MODEL_DIGITS_MAX: what an integer column holds */

/* One apartment (contract) of the house and what became of it. */
struct hs_item {
	struct hs_job *job;
	char contract[MODEL_CONTRACT_MAX + 1];
	char apartment[64];
	int nregs;
	const char *vals[MODEL_MAX_REGISTERS]; /* the form's, or NULL */
	char last[MODEL_MAX_REGISTERS][40]; /* "13305 от 09.09.2022" */
	bool sent;
	const char *status; /* accepted review rejected retry invalid */
	char reason[32];
	char message[DIALOG_REPLY_MAX];
};

struct hs_job {
	struct creq *r; /* NULL once the request is gone */
	int refs; /* the request + answers still to come */
	char batch[HS_BATCH_MAX + 1];
	char house[16];
	struct hs_item *items;
	size_t n;
	int64_t t0_us;
};

static void
hs_job_unref(struct hs_job *j)
{
	if (--j->refs > 0)
		return;
	free(j->items);
	free(j);
}

/* creq_finish: the request is gone; answers still to come keep the job. */
static void
hs_job_release(void *arg)
{
	struct hs_job *j = arg;

	j->r = NULL;
	hs_job_unref(j);
}

/* ---- the answer ------------------------------------------------------------ */

static void
hs_result_json(struct evbuffer *b, const struct hs_item *it, bool first)
{
	evbuffer_add_printf(b, "%s{\"contract\":", first ? "" : ",\n");
	api_json_str(b, it->contract);
	evbuffer_add_printf(b, ",\"apartment\":");
	api_json_str(b, it->apartment);
	evbuffer_add_printf(b, ",\"status\":\"%s\",\"reason\":", it->status);
	api_json_str(b, it->reason[0] ? it->reason : NULL);
	evbuffer_add_printf(b, ",\"message\":");
	api_json_str(b, it->message);
	evbuffer_add_printf(b, "}");
}

/* Every apartment is answered: the JSON, a log line. */
static void
hs_reply(struct hs_job *j)
{
	struct evbuffer *b = evbuffer_new();
	int count[5] = { 0 };
	static const char *const names[5] = { "accepted", "review", "rejected",
		"retry", "invalid" };
	bool first = true;

	evbuffer_add_printf(b, "{\"batch\":");
	api_json_str(b, j->batch);
	evbuffer_add_printf(b, ",\"results\":[\n");
	for (size_t i = 0; i < j->n; i++) {
		if (j->items[i].status == NULL)
			continue;
		for (int k = 0; k < 5; k++)
			count[k] += strcmp(j->items[i].status, names[k]) == 0;
		hs_result_json(b, &j->items[i], first);
		first = false;
	}
	evbuffer_add_printf(b, "]}\n");
	log_info("console: %s sent house %s (batch %.12s): %d accepted, %d "
	         "review, %d rejected, %d retry, %d invalid in %.1f ms",
	    j->r->user, j->house, j->batch, count[0], count[1], count[2],
	    count[3], count[4], (double)(clock_mono_us() - j->t0_us) / 1000);
	creq_reply(j->r, 200, "application/json", b);
}

/* What the manager reads for a rejection: what is wrong, what to do. */
static void
hs_rejected(struct hs_item *it, const struct intake_result *res)
{
	const char *why = res->reason ? res->reason : "";

	it->status = "rejected";
	snprintf(it->reason, sizeof(it->reason), "%s", why);
	if (strcmp(why, "too_many_digits") == 0)
		snprintf(it->message, sizeof(it->message),
		    "Цифр больше, чем у счётчика. Проверьте значение.");
	else if (strcmp(why, "lower_than_last") == 0)
		snprintf(it->message, sizeof(it->message),
		    "Меньше предыдущего показания (%s). Проверьте и "
		    "исправьте значение.",
		    it->last[0]);
	else
		snprintf(it->message, sizeof(it->message), "%s",
		    res->reply ? res->reply : "Не принято.");
}

/* The store's answer for one apartment. */
static void
hs_done(const struct intake_result *res, void *arg)
{
	struct hs_item *it = arg;
	struct hs_job *j = it->job;
	bool accepted = res->outcome && strcmp(res->outcome, "accepted") == 0;

	if (res->status == INTAKE_TEMPFAIL) {
		it->status = "retry";
		snprintf(it->message, sizeof(it->message),
		    "Не сохранено: база данных недоступна. Отправьте ещё раз.");
	} else if (accepted && (res->flags & DIALOG_F_HIGH_CONSUMPTION)) {
		it->status = "review";
		snprintf(it->reason, sizeof(it->reason), "high_consumption");
		snprintf(it->message, sizeof(it->message),
		    "Принято, на проверке: расход выше обычного.");
	} else if (accepted) {
		it->status = "accepted";
		snprintf(it->message, sizeof(it->message), "Принято.");
	} else {
		hs_rejected(it, res);
	}
	if (j->refs == 2 && j->r != NULL)
		hs_reply(j);
	hs_job_unref(j);
}

/* ---- building the apartments ------------------------------------------ */

/* The apartments of the house from the register rows (CS_HOUSE_FLATS). */
static void
hs_items(struct hs_job *j, const struct db_rows *rows)
{
	int n = db_rows_count(rows);
	struct hs_item *it = NULL;

	j->items = xcalloc((size_t)n + 1, sizeof(*j->items));
	for (int i = 0; i < n; i++) {
		const char *c = db_rows_get(rows, i, HF_CONTRACT);
		const char *apt = db_rows_get(rows, i, HF_APARTMENT);
		const char *lv = db_rows_get(rows, i, HF_LAST_VALUE);
		const char *ld = db_rows_get(rows, i, HF_LAST_DATE);

		if (it == NULL || strcmp(it->contract, c) != 0) {
			it = &j->items[j->n++];
			it->job = j;
			strlcpy_s(it->contract, c, sizeof(it->contract));
			strlcpy_s(it->apartment, apt ? apt : "",
			    sizeof(it->apartment));
		}
		if (it->nregs < MODEL_MAX_REGISTERS)
			snprintf(it->last[it->nregs++], sizeof(it->last[0]),
			    "%s%s%s", lv ? lv : "нет", ld ? " от " : "",
			    ld ? ld : "");
	}
}

static struct hs_item *
hs_find(struct hs_job *j, const char *contract, size_t len)
{
	for (size_t i = 0; i < j->n; i++)
		if (strlen(j->items[i].contract) == len &&
		    memcmp(j->items[i].contract, contract, len) == 0)
			return &j->items[i];
	return NULL;
}

/*
 * The form's values onto the apartments. -1 when a field names a
 * contract outside the house (a forged form: 403) or is malformed.
 */
static int
hs_take_values(struct hs_job *j, const struct creq *r)
{
	for (const struct evkeyval *kv = r->params.tqh_first; kv != NULL;
	     kv = kv->next.tqe_next) {
		const char *k = kv->key, *dot;
		struct hs_item *it;
		int pos;

		if (strncmp(k, "v.", 2) != 0)
			continue;
		dot = strchr(k + 2, '.');
		if (dot == NULL ||
		    (it = hs_find(j, k + 2, (size_t)(dot - k - 2))) == NULL)
			return -1;
		pos = atoi(dot + 1);
		if (pos < 1 || pos > it->nregs)
			return -1;
		if (kv->value[0] != '\0')
			it->vals[pos - 1] = kv->value;
	}
	return 0;
}

/* Why an apartment's values cannot be sent, NULL when they can. */
static const char *
hs_invalid(const struct hs_item *it)
{
	for (int i = 0; i < it->nregs; i++) {
		const char *v = it->vals[i];

		if (v == NULL)
			return "Заполните все показания квартиры.";
		if (strspn(v, "0123456789") != strlen(v) ||
		    strlen(v) > HS_VALUE_MAX)
			return "Только цифры, не больше значности счётчика.";
	}
	return NULL;
}

/*
 * Hand one apartment to the intake: 0, or -1 (refused at once). group:
 * more apartments follow, to go into the same transaction.
 */
static int
hs_send(struct console *con, struct hs_item *it, const char *user, bool group)
{
	char text[256], ext[256];
	size_t tl, el;
	struct inbound_msg m = { .channel = "web",
		.sender = user,
		.recipient = "house",
		.time_us = clock_real_us(),
		.flags = INTAKE_F_NO_OUTBOX | INTAKE_F_STAFF |
		    (group ? INTAKE_F_GROUP : 0) };

	tl = (size_t)snprintf(text, sizeof(text), "ПС %s", it->contract);
	el = (size_t)snprintf(
	    ext, sizeof(ext), "house:%s:%s:", it->job->batch, it->contract);
	for (int i = 0; i < it->nregs; i++) {
		tl += (size_t)snprintf(
		    text + tl, sizeof(text) - tl, " %s", it->vals[i]);
		el += (size_t)snprintf(ext + el, sizeof(ext) - el, "%s%s",
		    i ? "-" : "", it->vals[i]);
	}
	m.text = text;
	m.text_len = tl;
	m.external_id = ext;
	return intake_submit(&con->intake, &m, hs_done, it);
}

/* Check every filled apartment; those to send are marked it->sent. */
static size_t
hs_check_all(struct hs_job *j)
{
	size_t n = 0;

	for (size_t i = 0; i < j->n; i++) {
		struct hs_item *it = &j->items[i];
		const char *why;
		bool any = false;

		for (int k = 0; k < it->nregs; k++)
			any = any || it->vals[k] != NULL;
		if (!any)
			continue;
		if ((why = hs_invalid(it)) != NULL) {
			it->status = "invalid";
			snprintf(it->message, sizeof(it->message), "%s", why);
			continue;
		}
		it->sent = true;
		n++;
	}
	return n;
}

/*
 * Send the checked apartments in one turn of the loop, flagged as one
 * group; the answer comes when the last is in.
 */
static void
hs_send_all(struct hs_job *j, struct creq *r)
{
	size_t left = hs_check_all(j);

	for (size_t i = 0; i < j->n; i++) {
		struct hs_item *it = &j->items[i];

		if (!it->sent)
			continue;
		j->refs++;
		if (hs_send(r->con, it, r->user, --left > 0) != 0) {
			j->refs--;
			it->status = "retry";
			snprintf(it->message, sizeof(it->message),
			    "Не сохранено: сервис занят. Отправьте ещё раз.");
		}
	}
	/* nothing went to the store: answer now */
	if (j->refs == 1)
		hs_reply(j);
}

static void
hs_flats_cb(struct creq *r, const struct db_round_result *res)
{
	struct hs_job *j = r->state;

	if (creq_round_failed(r, res))
		return;
	if (db_rows_count(res->rows[0]) != 1) {
		creq_error(r, 403, "Этот дом не закреплён за вами.");
		return;
	}
	hs_items(j, res->rows[1]);
	if (hs_take_values(j, r) != 0) {
		log_warn(
		    "console: %s: a form naming contracts outside house %s",
		    r->user, j->house);
		creq_error(r, 403, "Квартира не из этого дома.");
		return;
	}
	hs_send_all(j, r);
}

void
console_house_submit(struct creq *r)
{
	const char *house = creq_param(r, "house");
	const char *batch = creq_param(r, "batch");
	const char *p[3];
	struct hs_job *j;

	if (!house_id_ok(house) || batch == NULL ||
	    strlen(batch) > HS_BATCH_MAX || strlen(batch) < 8 ||
	    strspn(batch, "0123456789abcdefABCDEF-") != strlen(batch)) {
		creq_error(r, 400, "Неверный запрос (дом, номер отправки).");
		return;
	}
	if (!r->con->has_intake) {
		creq_error(r, 503, "Приём показаний не запущен.");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->r = r;
	j->refs = 1;
	j->t0_us = clock_mono_us();
	strlcpy_s(j->batch, batch, sizeof(j->batch));
	strlcpy_s(j->house, house, sizeof(j->house));
	r->state = j;
	r->free_fn = hs_job_release;
	house_params(r, p, house);
	if (db_send(r->con->db, CS_HOUSE, p) != 0 ||
	    db_send(r->con->db, CS_HOUSE_FLATS, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, hs_flats_cb);
}
