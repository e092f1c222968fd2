/*
 * Support's pages: search (and its CSV), a conversation, a contract card
 * with its chart, the review queue, and the forms that correct or annul a
 * reading and approve or reject a flagged submission. Each page is one
 * database round; each change is one call of a function of migration
 * 0006, which locks the contract's registers as the store does and writes
 * the audit line in the same transaction.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "console_int.h"
#include "meterline/dialog.h"
#include "meterline/xmalloc.h"

#define SEARCH_PAGE_ROWS 200
#define SEARCH_CSV_ROWS 10000
#define HTML_TYPE "text/html; charset=utf-8"

/* ---- search filters ------------------------------------------------------ */

/* The search's parameters, checked and normalised. */
struct search {
	char phone[64], contract[16], text[256], from[11], to[11];
	char channel[33], outcome[33];
	const char *error; /* the first bad field, NULL when all are fine */
	bool any;
};

static bool
all_of(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

/* A phone as customers write it ("+7 (900) 111-22-33", "8900...") becomes
 * the sender's digits; anything else (a messenger id) is kept as typed. */
static void
search_phone(struct search *q, const char *v)
{
	size_t n = 0;

	if (!all_of(v, "+0123456789 ()-")) {
		strlcpy_s(q->phone, v, sizeof(q->phone));
		return;
	}
	for (; *v != '\0' && n + 1 < sizeof(q->phone); v++)
		if (isdigit((unsigned char)*v))
			q->phone[n++] = *v;
	q->phone[n] = '\0';
	if (n == 11 && q->phone[0] == '8')
		q->phone[0] = '7';
}

/* "YYYY-MM-DD" */
static bool
date_ok(const char *s)
{
	return strlen(s) == 10 && s[4] == '-' && s[7] == '-' &&
	    isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[3]) &&
	    isdigit((unsigned char)s[5]) && isdigit((unsigned char)s[6]) &&
	    isdigit((unsigned char)s[8]) && isdigit((unsigned char)s[9]) &&
	    atoi(s + 5) >= 1 && atoi(s + 5) <= 12 && atoi(s + 8) >= 1 &&
	    atoi(s + 8) <= 31;
}

/* Copy v (may be NULL) into a field; false when it is too long. */
static bool
field(char *dst, size_t len, const char *v)
{
	dst[0] = '\0';
	if (v == NULL)
		return true;
	if (strlen(v) >= len)
		return false;
	strlcpy_s(dst, v, len);
	return true;
}

/* Escape LIKE's wildcards: the text is searched as typed. */
static void
search_text(struct search *q, const char *v)
{
	size_t n = 0;

	for (; v != NULL && *v != '\0' && n + 2 < sizeof(q->text); v++) {
		if (*v == '%' || *v == '_' || *v == '\\')
			q->text[n++] = '\\';
		q->text[n++] = *v;
	}
	q->text[n] = '\0';
}

static void
search_parse(const struct creq *r, struct search *q)
{
	const char *v;

	memset(q, 0, sizeof(*q));
	if ((v = creq_param(r, "phone")) != NULL)
		search_phone(q, v);
	if (!field(
	        q->contract, sizeof(q->contract), creq_param(r, "contract")) ||
	    (q->contract[0] &&
	        (!all_of(q->contract, "0123456789") ||
	            strlen(q->contract) < 4)))
		q->error = "Номер договора: от 4 до 12 цифр.";
	if ((v = creq_param(r, "text")) != NULL && strlen(v) > 100)
		q->error = "Текст для поиска: не длиннее 100 символов.";
	search_text(q, creq_param(r, "text"));
	if (!field(q->from, sizeof(q->from), creq_param(r, "from")) ||
	    !field(q->to, sizeof(q->to), creq_param(r, "to")) ||
	    (q->from[0] && !date_ok(q->from)) || (q->to[0] && !date_ok(q->to)))
		q->error = "Даты: ГГГГ-ММ-ДД.";
	if (!field(q->channel, sizeof(q->channel), creq_param(r, "channel")) ||
	    !field(q->outcome, sizeof(q->outcome), creq_param(r, "outcome")) ||
	    !all_of(q->channel, "abcdefghijklmnopqrstuvwxyz0123456789_-") ||
	    !all_of(q->outcome, "abcdefghijklmnopqrstuvwxyz_"))
		q->error = "Канал и итог: латинские буквы.";
	q->any = q->phone[0] || q->contract[0] || q->text[0] || q->from[0] ||
	    q->to[0] || q->channel[0] || q->outcome[0];
}

static const char *
nz(const char *s)
{
	return s[0] ? s : NULL;
}

static int
search_send(struct creq *r, const struct search *q, int limit)
{
	char lim[16];
	const char *p[8] = { nz(q->phone), nz(q->contract), nz(q->text),
		nz(q->from), nz(q->to), nz(q->channel), nz(q->outcome), lim };

	snprintf(lim, sizeof(lim), "%d", limit);
	if (db_send(r->con->db, CS_SEARCH, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return -1;
	}
	return 0;
}

/* ---- search page --------------------------------------------------------- */

static void
input(struct evbuffer *b, const struct creq *r, const char *name,
    const char *label, const char *type)
{
	evbuffer_add_printf(b,
	    "<label>%s <input name=\"%s\" type=\"%s\" value=\"", label, name,
	    type);
	html_esc(b, creq_param(r, name));
	evbuffer_add_printf(b, "\"></label>");
}

static void
search_form(struct evbuffer *b, const struct creq *r)
{
	static const char *const outcomes[] = { "accepted", "prompt",
		"rejected", "cancelled", "help", "duplicate", NULL };
	const char *sel = creq_param(r, "outcome");

	evbuffer_add_printf(
	    b, "<form method=\"get\" action=\"/\" class=\"search\">");
	input(b, r, "phone", "Телефон", "search");
	input(b, r, "contract", "Договор", "search");
	input(b, r, "text", "Текст", "search");
	input(b, r, "from", "С", "date");
	input(b, r, "to", "По", "date");
	input(b, r, "channel", "Канал", "search");
	evbuffer_add_printf(b,
	    "<label>Итог <select name=\"outcome\">"
	    "<option value=\"\">любой</option>");
	for (int i = 0; outcomes[i] != NULL; i++)
		evbuffer_add_printf(b, "<option%s>%s</option>",
		    sel && strcmp(sel, outcomes[i]) == 0 ? " selected" : "",
		    outcomes[i]);
	evbuffer_add_printf(b,
	    "</select></label><button id=\"find\">Найти"
	    "</button></form>\n");
}

/* A link to the conversation of (channel, sender), showing label. */
static void
conv_link(struct evbuffer *b, const char *channel, const char *sender,
    const char *label)
{
	evbuffer_add_printf(b, "<a href=\"/conversation?channel=");
	html_url(b, channel);
	evbuffer_add_printf(b, "&amp;sender=");
	html_url(b, sender);
	evbuffer_add_printf(b, "\">");
	html_esc(b, label);
	evbuffer_add_printf(b, "</a>");
}

static void
contract_link(struct evbuffer *b, const char *contract)
{
	if (contract == NULL)
		return;
	evbuffer_add_printf(b, "<a href=\"/contract?c=");
	html_url(b, contract);
	evbuffer_add_printf(b, "\">");
	html_esc(b, contract);
	evbuffer_add_printf(b, "</a>");
}

static void
td(struct evbuffer *b, const char *cls, const char *s)
{
	evbuffer_add_printf(b, "<td%s%s%s>", cls ? " class=\"" : "",
	    cls ? cls : "", cls ? "\"" : "");
	html_esc(b, s);
	evbuffer_add_printf(b, "</td>");
}

/* The query string of the current search, for the CSV link. */
static void
search_query(struct evbuffer *b, const struct creq *r)
{
	static const char *const keys[] = { "phone", "contract", "text", "from",
		"to", "channel", "outcome" };
	bool first = true;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = creq_param(r, keys[i]);

		if (v == NULL)
			continue;
		evbuffer_add_printf(b, "%s%s=", first ? "" : "&amp;", keys[i]);
		html_url(b, v);
		first = false;
	}
}

static void
search_results(
    struct evbuffer *b, const struct creq *r, const struct db_rows *rows)
{
	int n = db_rows_count(rows);

	evbuffer_add_printf(b,
	    "<p>Найдено: %d%s. <a id=\"csv\" href=\"/search.csv?",
	    n > SEARCH_PAGE_ROWS ? SEARCH_PAGE_ROWS : n,
	    n > SEARCH_PAGE_ROWS ? " (показаны последние; уточните запрос)"
	                         : "");
	search_query(b, r);
	evbuffer_add_printf(b,
	    "\">Скачать CSV</a></p>\n<div class=\"scroll\">"
	    "<table id=\"results\"><tr><th>Время</th>"
	    "<th>Канал</th><th>Отправитель</th><th>Текст</th>"
	    "<th>Договор</th><th>Итог</th><th>Ответ</th></tr>\n");
	for (int i = 0; i < n && i < SEARCH_PAGE_ROWS; i++) {
		evbuffer_add_printf(b, "<tr>");
		td(b, "nowrap", db_rows_get(rows, i, 1));
		td(b, NULL, db_rows_get(rows, i, 2));
		evbuffer_add_printf(b, "<td>");
		conv_link(b, db_rows_get(rows, i, 2), db_rows_get(rows, i, 3),
		    db_rows_get(rows, i, 3));
		evbuffer_add_printf(b, "</td>");
		td(b, "text", db_rows_get(rows, i, 4));
		evbuffer_add_printf(b, "<td>");
		contract_link(b, db_rows_get(rows, i, 5));
		evbuffer_add_printf(
		    b, "</td><td class=\"o-%s\">", db_rows_get(rows, i, 6));
		html_esc(b, db_rows_get(rows, i, 6));
		if (db_rows_get(rows, i, 7) != NULL) {
			evbuffer_add_printf(b, " (");
			html_esc(b, db_rows_get(rows, i, 7));
			evbuffer_add_printf(b, ")");
		}
		evbuffer_add_printf(b, "</td>");
		td(b, "text", db_rows_get(rows, i, 8));
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</table></div>\n");
}

static void
search_page_cb(struct creq *r, const struct db_round_result *res)
{
	struct evbuffer *b;

	if (creq_round_failed(r, res))
		return;
	b = evbuffer_new();
	html_begin(b, r, "Поиск сообщений");
	search_form(b, r);
	search_results(b, r, res->rows[0]);
	html_end(b);
	creq_reply(r, 200, HTML_TYPE, b);
}

void
console_search_page(struct creq *r)
{
	struct search q;
	struct evbuffer *b;

	search_parse(r, &q);
	if (q.any && q.error == NULL) {
		if (search_send(r, &q, SEARCH_PAGE_ROWS + 1) == 0)
			creq_round(r, search_page_cb);
		return;
	}
	b = evbuffer_new();
	html_begin(b, r, "Поиск сообщений");
	if (q.error != NULL)
		html_notice(b, "err", q.error);
	search_form(b, r);
	evbuffer_add_printf(b,
	    "<p class=\"hint\">Телефон в любом виде "
	    "(+7 900 111-22-33, 8900...), номер договора, "
	    "слово из текста, период, канал, итог.</p>\n");
	html_end(b);
	creq_reply(r, q.error ? 400 : 200, HTML_TYPE, b);
}

/* ---- CSV ----------------------------------------------------------------- */

/*
 * One RFC 4180 field. A field a spreadsheet would take for a formula
 * (=, +, -, @ first) gets a leading apostrophe: customer texts are
 * untrusted, and CSV files are opened in spreadsheets.
 */
static void
csv_field(struct evbuffer *b, const char *s, bool last)
{
	if (s != NULL) {
		evbuffer_add(b, "\"", 1);
		if (strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0')
			evbuffer_add(b, "'", 1);
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				evbuffer_add(b, "\"", 1);
			evbuffer_add(b, p, 1);
		}
		evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void
search_csv_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows;
	struct evbuffer *b;

	if (creq_round_failed(r, res))
		return;
	rows = res->rows[0];
	b = evbuffer_new();
	evbuffer_add_printf(b,
	    "id,time,channel,sender,text,contract,outcome,"
	    "reason,reply\r\n");
	for (int i = 0; i < db_rows_count(rows); i++)
		for (int c = 0; c < 9; c++)
			csv_field(b, db_rows_get(rows, i, c), c == 8);
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Disposition", "attachment; filename=\"search.csv\"");
	creq_reply(r, 200, "text/csv; charset=utf-8", b);
}

void
console_search_csv(struct creq *r)
{
	struct search q;

	search_parse(r, &q);
	if (!q.any || q.error != NULL) {
		creq_error(r, 400, q.error ? q.error : "Пустой запрос.");
		return;
	}
	if (search_send(r, &q, SEARCH_CSV_ROWS) == 0)
		creq_round(r, search_csv_cb);
}

/* ---- conversation -------------------------------------------------------- */

/* A thumbnail of the message's photo, opening the full image. */
static void
conversation_photo(struct evbuffer *b, const struct db_rows *rows, int i)
{
	const char *state = db_rows_get(rows, i, 15);
	const char *id = db_rows_get(rows, i, 0);

	if (state == NULL)
		return;
	if (strcmp(state, "stored") != 0) {
		evbuffer_add_printf(b, "<div class=\"photo none\">фото: ");
		html_esc(b, state);
		evbuffer_add_printf(b, "</div>");
		return;
	}
	evbuffer_add_printf(b,
	    "<a class=\"photo\" href=\"/photo?id=%s\" target=\"_blank\">"
	    "<img src=\"/photo?id=%s&amp;thumb=1\" alt=\"фото\" "
	    "loading=\"lazy\"></a>",
	    id, id);
}

/* Support's button: this message through replay's dry run. */
static void
conversation_replay(
    struct evbuffer *b, const struct creq *r, const struct db_rows *rows, int i)
{
	if ((r->role & ROLES_WRITE) == 0)
		return;
	evbuffer_add_printf(b,
	    "<form method=\"post\" action=\"/replay/message\" "
	    "class=\"inline replay\">");
	html_csrf(b, r);
	evbuffer_add_printf(b,
	    "<input type=\"hidden\" name=\"id\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"channel\" value=\"",
	    db_rows_get(rows, i, 0));
	html_esc(b, db_rows_get(rows, i, 2));
	evbuffer_add_printf(
	    b, "\"><input type=\"hidden\" name=\"sender\" value=\"");
	html_esc(b, db_rows_get(rows, i, 3));
	evbuffer_add_printf(b, "\"><button>Повторить</button></form>");
}

static void
conversation_row(
    struct evbuffer *b, const struct creq *r, const struct db_rows *rows, int i)
{
	char fl[128];
	unsigned flags = (unsigned)atoi(db_rows_get(rows, i, 10));

	evbuffer_add_printf(b, "<li class=\"msg o-%s\"><div class=\"meta\">",
	    db_rows_get(rows, i, 7));
	html_esc(b, db_rows_get(rows, i, 1));
	evbuffer_add_printf(b, " · ");
	html_esc(b, db_rows_get(rows, i, 2));
	evbuffer_add_printf(b, " · №%s · ", db_rows_get(rows, i, 0));
	contract_link(b, db_rows_get(rows, i, 6));
	evbuffer_add_printf(b, "</div><div class=\"in\">");
	html_esc(b, db_rows_get(rows, i, 5));
	evbuffer_add_printf(b, "</div><div class=\"outcome\">");
	html_esc(b, db_rows_get(rows, i, 7));
	if (db_rows_get(rows, i, 8) != NULL) {
		evbuffer_add_printf(b, ": ");
		html_esc(b, db_rows_get(rows, i, 8));
	}
	if (flags != 0) {
		evbuffer_add_printf(b, " [");
		html_esc(b, dialog_flags_str(flags, fl, sizeof(fl)));
		evbuffer_add_printf(b, "]");
	}
	if (db_rows_get(rows, i, 13) != NULL)
		evbuffer_add_printf(
		    b, " (повтор №%s)", db_rows_get(rows, i, 13));
	evbuffer_add_printf(b, "</div>");
	if (db_rows_get(rows, i, 9) != NULL) {
		evbuffer_add_printf(b, "<div class=\"out\">");
		html_esc(b, db_rows_get(rows, i, 9));
		evbuffer_add_printf(b, "<span class=\"dlr\">");
		html_esc(b, db_rows_get(rows, i, 11));
		if (db_rows_get(rows, i, 12) != NULL) {
			evbuffer_add_printf(b, " / ");
			html_esc(b, db_rows_get(rows, i, 12));
		}
		evbuffer_add_printf(b, "</span></div>");
	}
	conversation_photo(b, rows, i);
	conversation_replay(b, r, rows, i);
	evbuffer_add_printf(b, "</li>\n");
}

static void
conversation_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows;
	struct evbuffer *b;

	if (creq_round_failed(r, res))
		return;
	rows = res->rows[0];
	b = evbuffer_new();
	html_begin(b, r, "Переписка");
	evbuffer_add_printf(b, "<p>Канал <b>");
	html_esc(b, creq_param(r, "channel"));
	evbuffer_add_printf(b, "</b>, отправитель <b>");
	html_esc(b, creq_param(r, "sender"));
	evbuffer_add_printf(b,
	    "</b>: %d сообщений (не больше 500 последних)."
	    "</p>\n<ol class=\"conv\" id=\"conversation\">\n",
	    db_rows_count(rows));
	for (int i = 0; i < db_rows_count(rows); i++)
		conversation_row(b, r, rows, i);
	evbuffer_add_printf(b, "</ol>\n");
	html_end(b);
	creq_reply(r, 200, HTML_TYPE, b);
}

void
console_conversation_page(struct creq *r)
{
	const char *p[2] = { creq_param(r, "channel"),
		creq_param(r, "sender") };

	if (p[0] == NULL || p[1] == NULL || strlen(p[0]) > 32 ||
	    strlen(p[1]) > 128) {
		creq_error(r, 400, "Нужны канал и отправитель.");
		return;
	}
	if (db_send(r->con->db, CS_CONVERSATION, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, conversation_cb);
}

/* ---- contract card ------------------------------------------------------- */

static void hidden_contract(struct evbuffer *, const char *);

static const char *
resource_title(const char *res)
{
	if (res == NULL)
		return "";
	if (strcmp(res, "electricity") == 0)
		return "электроэнергия";
	if (strcmp(res, "hot_water") == 0)
		return "горячая вода";
	if (strcmp(res, "cold_water") == 0)
		return "холодная вода";
	return res;
}

static void
contract_registers(struct evbuffer *b, const struct db_rows *g)
{
	evbuffer_add_printf(b, "<p>Договор <b>");
	html_esc(b, db_rows_get(g, 0, 0));
	evbuffer_add_printf(b,
	    "</b>, %s, %s</p>\n<table id=\"registers\">"
	    "<tr><th>№</th><th>Шкала</th><th>Разрядов</th>"
	    "<th>Последнее</th><th>Дата</th></tr>\n",
	    resource_title(db_rows_get(g, 0, 1)),
	    strcmp(db_rows_get(g, 0, 2), "active") == 0 ? "действует"
	                                                : "закрыт");
	for (int i = 0; i < db_rows_count(g); i++) {
		evbuffer_add_printf(b, "<tr>");
		for (int c = 3; c < 8; c++)
			td(b, NULL, db_rows_get(g, i, c));
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n");
}

static bool
status_live(const char *s)
{
	return strcmp(s, "accepted") == 0 || strcmp(s, "review") == 0 ||
	    strcmp(s, "corrected") == 0;
}

/* The correct and annul forms of one reading. */
static void
reading_actions(
    struct evbuffer *b, const struct creq *r, const struct db_rows *rows, int i)
{
	const char *id = db_rows_get(rows, i, 0);

	evbuffer_add_printf(b,
	    "<td class=\"actions\"><form method=\"post\" "
	    "action=\"/reading/correct\" class=\"correct\">");
	html_csrf(b, r);
	hidden_contract(b, creq_param(r, "c"));
	evbuffer_add_printf(b,
	    "<input type=\"hidden\" name=\"id\" value=\"%s\">"
	    "<input name=\"value\" inputmode=\"numeric\" size=\"7\" "
	    "placeholder=\"значение\" required>"
	    "<input name=\"reason\" placeholder=\"причина\" required>"
	    "<button>Исправить</button></form>"
	    "<form method=\"post\" action=\"/reading/annul\" class=\"annul\" "
	    "data-confirm=\"Аннулировать показание?\">",
	    id);
	html_csrf(b, r);
	hidden_contract(b, creq_param(r, "c"));
	evbuffer_add_printf(b,
	    "<input type=\"hidden\" name=\"id\" value=\"%s\">"
	    "<input name=\"reason\" placeholder=\"причина\" required>"
	    "<button>Аннулировать</button></form></td>",
	    id);
}

static void
contract_readings(
    struct evbuffer *b, const struct creq *r, const struct db_rows *rows)
{
	char fl[128];

	evbuffer_add_printf(b,
	    "<h2>История показаний</h2><div class=\"scroll\">"
	    "<table id=\"readings\"><tr><th>Дата</th>"
	    "<th>Принято</th><th>Канал</th><th>№</th>"
	    "<th>Значение</th><th>Предыдущее</th>"
	    "<th>Расход</th><th>Статус</th><th>Отметки</th>"
	    "%s</tr>\n",
	    (r->role & ROLES_WRITE) ? "<th></th>" : "");
	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *st = db_rows_get(rows, i, 10);
		unsigned flags = (unsigned)atoi(db_rows_get(rows, i, 11));

		evbuffer_add_printf(b, "<tr class=\"st-%s%s\" data-id=\"%s\">",
		    st, (flags & DIALOG_F_HIGH_CONSUMPTION) ? " flagged" : "",
		    db_rows_get(rows, i, 0));
		td(b, "nowrap", db_rows_get(rows, i, 2));
		td(b, "nowrap", db_rows_get(rows, i, 3));
		evbuffer_add_printf(b, "<td>");
		conv_link(b, db_rows_get(rows, i, 4), db_rows_get(rows, i, 5),
		    db_rows_get(rows, i, 4));
		evbuffer_add_printf(b, "</td>");
		for (int c = 6; c < 10; c++)
			td(b, "num", db_rows_get(rows, i, c));
		td(b, NULL, html_status(st));
		td(b, NULL, dialog_flags_str(flags, fl, sizeof(fl)));
		if ((r->role & ROLES_WRITE) && status_live(st))
			reading_actions(b, r, rows, i);
		else if (r->role & ROLES_WRITE)
			evbuffer_add_printf(b, "<td></td>");
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</table></div>\n");
}

static void
contract_dialogs(struct evbuffer *b, const struct db_rows *d)
{
	if (db_rows_count(d) == 0)
		return;
	evbuffer_add_printf(b,
	    "<h2>Открытые диалоги</h2><table><tr>"
	    "<th>Канал</th><th>Отправитель</th>"
	    "<th>Следующая шкала</th><th>Из</th>"
	    "<th>Значения</th><th>Начат</th>"
	    "<th>Последнее</th></tr>\n");
	for (int i = 0; i < db_rows_count(d); i++) {
		evbuffer_add_printf(b, "<tr>");
		td(b, NULL, db_rows_get(d, i, 0));
		evbuffer_add_printf(b, "<td>");
		conv_link(b, db_rows_get(d, i, 0), db_rows_get(d, i, 1),
		    db_rows_get(d, i, 1));
		evbuffer_add_printf(b, "</td>");
		for (int c = 2; c < 7; c++)
			td(b, NULL, db_rows_get(d, i, c));
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n");
}

static void
contract_cb(struct creq *r, const struct db_round_result *res)
{
	struct evbuffer *b;

	if (creq_round_failed(r, res))
		return;
	if (db_rows_count(res->rows[0]) == 0) {
		creq_error(r, 404, "Такого договора нет.");
		return;
	}
	b = evbuffer_new();
	html_begin(b, r, "Карточка договора");
	if (creq_param(r, "done") != NULL)
		html_notice(
		    b, "ok", "Изменение сохранено и записано в журнал.");
	contract_registers(b, res->rows[0]);
	evbuffer_add_printf(b, "<h2>Расход по периодам</h2>\n");
	console_svg_chart(b, res->rows[1]);
	contract_readings(b, r, res->rows[1]);
	contract_dialogs(b, res->rows[2]);
	html_end(b);
	creq_reply(r, 200, HTML_TYPE, b);
}

void
console_contract_page(struct creq *r)
{
	const char *p[1] = { creq_param(r, "c") };

	if (p[0] == NULL || strlen(p[0]) > 12 || !all_of(p[0], "0123456789")) {
		creq_error(r, 400, "Номер договора: цифры.");
		return;
	}
	if (db_send(r->con->db, CS_CONTRACT, p) != 0 ||
	    db_send(r->con->db, CS_CONTRACT_READINGS, p) != 0 ||
	    db_send(r->con->db, CS_CONTRACT_DIALOGS, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, contract_cb);
}

/* ---- review queue -------------------------------------------------------- */

/* The hidden contract field of a form. */
static void
hidden_contract(struct evbuffer *b, const char *c)
{
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"c\" value=\"");
	html_esc(b, c);
	evbuffer_add_printf(b, "\">");
}

static void
review_forms(struct evbuffer *b, const struct creq *r, const char *sid,
    const char *contract)
{
	evbuffer_add_printf(b,
	    "<td class=\"actions\"><form method=\"post\" "
	    "action=\"/review\" class=\"approve\">");
	html_csrf(b, r);
	hidden_contract(b, contract);
	evbuffer_add_printf(b,
	    "<input type=\"hidden\" name=\"id\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"decision\" value=\"approve\">"
	    "<input name=\"reason\" placeholder=\"комментарий\">"
	    "<button>Подтвердить</button></form>"
	    "<form method=\"post\" action=\"/review\" class=\"reject\">",
	    sid);
	html_csrf(b, r);
	hidden_contract(b, contract);
	evbuffer_add_printf(b,
	    "<input type=\"hidden\" name=\"id\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"decision\" value=\"reject\">"
	    "<input name=\"reason\" placeholder=\"причина\" required>"
	    "<button>Отклонить</button></form></td>",
	    sid);
}

static void
review_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows;
	struct evbuffer *b;

	if (creq_round_failed(r, res))
		return;
	rows = res->rows[0];
	b = evbuffer_new();
	html_begin(b, r, "Проверка высокого расхода");
	if (creq_param(r, "done") != NULL)
		html_notice(b, "ok", "Решение сохранено и записано в журнал.");
	evbuffer_add_printf(b,
	    "<p>В очереди: %d.</p><div class=\"scroll\">"
	    "<table id=\"queue\"><tr><th>Договор</th>"
	    "<th>Дата</th><th>Принято</th><th>Канал</th>"
	    "<th>Показания</th><th>В сутки</th><th></th></tr>\n",
	    db_rows_count(rows));
	for (int i = 0; i < db_rows_count(rows); i++) {
		evbuffer_add_printf(
		    b, "<tr data-id=\"%s\"><td>", db_rows_get(rows, i, 0));
		contract_link(b, db_rows_get(rows, i, 1));
		evbuffer_add_printf(b, "</td>");
		td(b, "nowrap", db_rows_get(rows, i, 2));
		td(b, "nowrap", db_rows_get(rows, i, 3));
		evbuffer_add_printf(b, "<td>");
		conv_link(b, db_rows_get(rows, i, 4), db_rows_get(rows, i, 5),
		    db_rows_get(rows, i, 4));
		evbuffer_add_printf(b, "</td>");
		td(b, NULL, db_rows_get(rows, i, 8));
		evbuffer_add_printf(b, "<td class=\"num\">%.1f</td>",
		    atof(db_rows_get(rows, i, 7)) / 1000.0);
		review_forms(
		    b, r, db_rows_get(rows, i, 0), db_rows_get(rows, i, 1));
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</table></div>\n");
	html_end(b);
	creq_reply(r, 200, HTML_TYPE, b);
}

void
console_review_page(struct creq *r)
{
	if (db_send(r->con->db, CS_REVIEW_QUEUE, NULL) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, review_cb);
}

/* ---- changes --------------------------------------------------------------- */

/* Where to go after a change: the contract card or the review queue. */
struct change_state {
	char back[64];
};

/*
 * A change's result: our own refusals (SQLSTATE P0001/P0002, raised by
 * the functions of 0006 with a message for the user) are shown; other
 * failures as usual; success goes back where the form came from.
 */
static void
change_cb(struct creq *r, const struct db_round_result *res)
{
	struct change_state *st = r->state;

	if (!res->lost && res->failed >= 0 &&
	    (strcmp(res->sqlstate, "P0001") == 0 ||
	        strcmp(res->sqlstate, "P0002") == 0 ||
	        strncmp(res->sqlstate, "22", 2) == 0)) {
		creq_error(r, 409, res->error);
		return;
	}
	if (creq_round_failed(r, res))
		return;
	creq_redirect(r, st->back);
}

/* Queue statement s with params and wait for change_cb. */
static void
change_send(struct creq *r, int s, const char *const *p, const char *back)
{
	struct change_state *st = xcalloc(1, sizeof(*st));

	strlcpy_s(st->back, back, sizeof(st->back));
	r->state = st;
	r->free_fn = free;
	if (db_send(r->con->db, s, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, change_cb);
}

/* The contract card to return to, from the form's "c". */
static void
back_to_contract(const struct creq *r, char *buf, size_t len)
{
	const char *c = creq_param(r, "c");

	if (c != NULL && strlen(c) <= 12 && all_of(c, "0123456789"))
		snprintf(buf, len, "/contract?c=%s&done=1", c);
	else
		snprintf(buf, len, "/?done=1");
}

static bool
id_ok(const char *s)
{
	return s != NULL && strlen(s) <= 18 && all_of(s, "0123456789");
}

static bool
contract_ok(const char *s)
{
	return s != NULL && strlen(s) >= 4 && strlen(s) <= 12 &&
	    all_of(s, "0123456789");
}

void
console_correct_post(struct creq *r)
{
	const char *p[6] = { creq_param(r, "c"), creq_param(r, "id"),
		creq_param(r, "value"), r->user, r->addr,
		creq_param(r, "reason") };
	char back[64];

	if (!contract_ok(p[0]) || !id_ok(p[1]) || p[2] == NULL ||
	    strlen(p[2]) > 9 || !all_of(p[2], "0123456789") || p[5] == NULL) {
		creq_error(r, 400, "Нужны новое значение (цифры) и причина.");
		return;
	}
	back_to_contract(r, back, sizeof(back));
	change_send(r, CS_CORRECT, p, back);
}

void
console_annul_post(struct creq *r)
{
	const char *p[5] = { creq_param(r, "c"), creq_param(r, "id"), r->user,
		r->addr, creq_param(r, "reason") };
	char back[64];

	if (!contract_ok(p[0]) || !id_ok(p[1]) || p[4] == NULL) {
		creq_error(r, 400, "Нужна причина.");
		return;
	}
	back_to_contract(r, back, sizeof(back));
	change_send(r, CS_ANNUL, p, back);
}

void
console_review_post(struct creq *r)
{
	const char *d = creq_param(r, "decision");
	bool approve = d != NULL && strcmp(d, "approve") == 0;
	const char *p[6] = { creq_param(r, "c"), creq_param(r, "id"),
		approve ? "true" : "false", r->user, r->addr,
		creq_param(r, "reason") };

	if (!contract_ok(p[0]) || !id_ok(p[1]) || d == NULL ||
	    (!approve && strcmp(d, "reject") != 0) ||
	    (!approve && p[5] == NULL)) {
		creq_error(r, 400, "Нужны решение и, для отказа, причина.");
		return;
	}
	change_send(r, CS_REVIEW, p, "/review?done=1");
}
