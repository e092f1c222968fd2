/*
 * The house manager's page (issue 18, docs/house-entry.md): GET /house
 * lists the houses the user may reach, searchable by street and number;
 * GET /house?id=N shows one house fixed at the top and its apartments,
 * each with the meter's serial, capacity, previous reading and an input.
 * The page's script (assets/house.js) keeps typed values in the
 * browser's storage and sends the whole house to POST /house/submit
 * (house_submit.c). A manager reaches only the houses of manager_houses
 * (migration 0011); an admin reaches every house; anyone else gets 403,
 * as does a manager for a house not theirs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "console_int.h"

/* The house $3 when user $1 may reach it ($2: an admin reaches all). */
#define HOUSE_REACHABLE(h) \
	"($2::boolean OR EXISTS (SELECT 1 FROM manager_houses AS m" \
	" WHERE m.username = $1::text AND m.house_id = " h "))"
/* Apartments in numeric order where they are numbers ("2" before "10"). */
#define HOUSE_APT_ORDER(c) \
	"nullif(substring(" c ".apartment from '^[0-9]{1,9}'), '')::integer" \
	" NULLS LAST, " c ".apartment, " c ".contract"

const char house_sql_list[] =
    "SELECT h.id, h.city, h.street, h.number,"
    " (SELECT count(*) FROM contracts AS c WHERE c.house_id = h.id)"
    " FROM houses AS h WHERE " HOUSE_REACHABLE(
        "h.id") " ORDER BY h.city, h.street,"
                " nullif(substring(h.number from '^[0-9]{1,9}'), '')::integer NULLS LAST,"
                " h.number";

const char house_sql_one[] =
    "SELECT h.id, h.city, h.street, h.number FROM houses AS h"
    " WHERE h.id = $3::integer AND " HOUSE_REACHABLE("h.id");

const char house_sql_flats[] = "SELECT " DB_COLS_SQL(
    HOUSE_FLAT_COLS) " FROM contracts AS c JOIN registers AS g USING (contract)"
                     " WHERE c.house_id = $3::integer AND " HOUSE_REACHABLE(
                         "c.house_id") " ORDER BY " HOUSE_APT_ORDER("c") ", g.position";

/* The user and whether they are an admin, as the statements' $1, $2. */
void
house_params(const struct creq *r, const char *p[3], const char *id)
{
	p[0] = r->user;
	p[1] = r->role & ROLE_ADMIN ? "true" : "false";
	p[2] = id;
}

/* Whether s is a house id: 1..9 digits. */
bool
house_id_ok(const char *s)
{
	size_t n = s ? strspn(s, "0123456789") : 0;

	return n > 0 && n <= 9 && s[n] == '\0';
}

/* The page's head: the console's frame plus the page's own files. */
static void
house_begin(struct evbuffer *b, const struct creq *r, const char *title)
{
	html_begin(b, r, title);
	evbuffer_add_printf(b,
	    "<link rel=\"stylesheet\" href=\"/static/house.css\">"
	    "<script src=\"/static/house.js\" defer></script>\n");
}

/* "Новосибирск, Авиастроителей ул., 5" of a row's columns c.. c+2. */
static void
house_address(struct evbuffer *b, const struct db_rows *rows, int i, int c)
{
	html_esc(b, db_rows_get(rows, i, c));
	evbuffer_add_printf(b, ", ");
	html_esc(b, db_rows_get(rows, i, c + 1));
	evbuffer_add_printf(b, ", ");
	html_esc(b, db_rows_get(rows, i, c + 2));
}

/* ---- the list of houses -------------------------------------------------- */

static void
house_list_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows = res->rows[0];
	struct evbuffer *b;
	int n;

	if (creq_round_failed(r, res))
		return;
	b = evbuffer_new();
	n = db_rows_count(rows);
	house_begin(b, r, "Передача показаний по дому");
	evbuffer_add_printf(b,
	    "<form class=\"house-search\" id=\"house-search\">"
	    "<label>Улица<input name=\"street\" id=\"street\" "
	    "placeholder=\"Введите название улицы\" autocomplete=\"off\">"
	    "</label><label>Номер дома<input name=\"number\" id=\"number\" "
	    "placeholder=\"Введите номер\" autocomplete=\"off\"></label>"
	    "</form>\n");
	if (n == 0)
		html_notice(b, "err", "Нет домов, закреплённых за вами.");
	evbuffer_add_printf(b, "<ul class=\"houses\" id=\"houses\">\n");
	for (int i = 0; i < n; i++) {
		evbuffer_add_printf(b, "<li data-street=\"");
		html_esc(b, db_rows_get(rows, i, 2));
		evbuffer_add_printf(b, "\" data-number=\"");
		html_esc(b, db_rows_get(rows, i, 3));
		evbuffer_add_printf(
		    b, "\"><a href=\"/house?id=%s\">", db_rows_get(rows, i, 0));
		house_address(b, rows, i, 1);
		evbuffer_add_printf(b,
		    "</a> <span class=\"hint\">%s кв.</span>"
		    "</li>\n",
		    db_rows_get(rows, i, 4));
	}
	evbuffer_add_printf(b, "</ul>\n");
	html_end(b);
	creq_reply(r, 200, "text/html; charset=utf-8", b);
}

/* ---- one house ----------------------------------------------------------- */

/* The previous reading of a register, or that there is none. */
static void
house_prev(struct evbuffer *b, const struct db_rows *rows, int i)
{
	const char *v = db_rows_get(rows, i, HF_LAST_VALUE);
	const char *d = db_rows_get(rows, i, HF_LAST_DATE);

	evbuffer_add_printf(b, "<div class=\"prev\">Предыдущее: ");
	if (v == NULL) {
		evbuffer_add_printf(b, "нет</div>");
		return;
	}
	evbuffer_add_printf(b, "<b>%s</b>", v);
	if (d != NULL)
		evbuffer_add_printf(b, " от %s", d);
	evbuffer_add_printf(b, "</div>");
}

/* One register's line: name, serial, capacity, previous, the input. */
static void
house_register(struct evbuffer *b, const struct db_rows *rows, int i)
{
	const char *contract = db_rows_get(rows, i, HF_CONTRACT);
	const char *serial = db_rows_get(rows, i, HF_SERIAL);
	const char *digits = db_rows_get(rows, i, HF_DIGITS);

	evbuffer_add_printf(b, "<div class=\"reg\"><div class=\"meta\">");
	evbuffer_add_printf(b, "<span>Зав. номер <b class=\"serial\">");
	html_esc(b, serial ? serial : "—");
	evbuffer_add_printf(b,
	    "</b></span><span>Значность <b class=\"digits\">%s</b></span>",
	    digits);
	evbuffer_add_printf(b, "<span class=\"rname\">");
	html_esc(b, db_rows_get(rows, i, HF_NAME));
	evbuffer_add_printf(b, "</span></div>");
	house_prev(b, rows, i);
	evbuffer_add_printf(b, "<input name=\"v.");
	html_esc(b, contract);
	evbuffer_add_printf(b,
	    ".%s\" inputmode=\"numeric\" pattern=\"[0-9]*\" maxlength=\"%s\" "
	    "data-digits=\"%s\" autocomplete=\"off\" placeholder=\"Значение\" "
	    "aria-label=\"Значение\"></div>",
	    db_rows_get(rows, i, HF_POSITION), digits, digits);
}

/* The apartments: one item per contract, its registers inside. */
static void
house_flats(struct evbuffer *b, const struct db_rows *rows)
{
	int n = db_rows_count(rows);
	const char *open = NULL;

	evbuffer_add_printf(b, "<ol class=\"flats\" id=\"flats\">\n");
	for (int i = 0; i < n; i++) {
		const char *c = db_rows_get(rows, i, HF_CONTRACT);
		const char *apt = db_rows_get(rows, i, HF_APARTMENT);

		if (open == NULL || strcmp(open, c) != 0) {
			if (open != NULL)
				evbuffer_add_printf(
				    b, "<div class=\"result\"></div></li>\n");
			evbuffer_add_printf(
			    b, "<li class=\"flat\" data-contract=\"");
			html_esc(b, c);
			evbuffer_add_printf(b, "\"><div class=\"apt\">Кв. ");
			html_esc(b, apt ? apt : "—");
			evbuffer_add_printf(b, " <span class=\"hint\">дог. ");
			html_esc(b, c);
			evbuffer_add_printf(b, "</span></div>");
			open = c;
		}
		house_register(b, rows, i);
	}
	if (open != NULL)
		evbuffer_add_printf(b, "<div class=\"result\"></div></li>\n");
	evbuffer_add_printf(b, "</ol>\n");
}

/* The bar fixed at the top: the house, the count, the toggle. */
static void
house_top(struct evbuffer *b, const struct db_rows *h)
{
	evbuffer_add_printf(b,
	    "<div class=\"house-top\" id=\"house-top\">"
	    "<div class=\"addr\"><b id=\"house-addr\">");
	house_address(b, h, 0, 1);
	evbuffer_add_printf(b,
	    "</b> <a href=\"/house\">Другой дом</a></div>"
	    "<div class=\"bar\"><span id=\"count\" aria-live=\"polite\"></span>"
	    "<label class=\"toggle\"><input type=\"checkbox\" id=\"show-prev\">"
	    " Предыдущее показание</label></div>"
	    "<div id=\"status\" class=\"status\" aria-live=\"polite\"></div>"
	    "</div>\n");
}

/* The confirmation of a house with empty fields (shown by the script). */
static void
house_confirm(struct evbuffer *b)
{
	evbuffer_add_printf(b,
	    "<div id=\"confirm\" class=\"confirm\" role=\"dialog\" hidden>"
	    "<p>Не все поля заполнены. Вернуться к заполнению?</p>"
	    "<button type=\"button\" id=\"confirm-back\">Вернуться</button>"
	    "<button type=\"button\" id=\"confirm-send\" class=\"second\">"
	    "Отправить заполненные</button></div>\n");
}

static void
house_page_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *h = res->rows[0], *rows = res->rows[1];
	char batch[33];
	struct evbuffer *b;

	if (creq_round_failed(r, res))
		return;
	if (db_rows_count(h) != 1) {
		creq_error(r, 403, "Этот дом не закреплён за вами.");
		return;
	}
	console_random_hex(batch, 16);
	b = evbuffer_new();
	house_begin(b, r, "Передача показаний по дому");
	house_top(b, h);
	evbuffer_add_printf(b,
	    "<form method=\"post\" action=\"/house/submit\" id=\"house-form\" "
	    "data-house=\"%s\" data-user=\"",
	    db_rows_get(h, 0, 0));
	html_esc(b, r->user);
	evbuffer_add_printf(b, "\">");
	html_csrf(b, r);
	evbuffer_add_printf(b,
	    "<input type=\"hidden\" name=\"house\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"batch\" value=\"%s\">",
	    db_rows_get(h, 0, 0), batch);
	house_flats(b, rows);
	evbuffer_add_printf(b,
	    "<button id=\"send\" class=\"send\">Отправить"
	    "</button></form>\n");
	house_confirm(b);
	html_end(b);
	creq_reply(r, 200, "text/html; charset=utf-8", b);
}

void
console_house_page(struct creq *r)
{
	const char *id = creq_param(r, "id");
	const char *p[3];

	if (id != NULL && !house_id_ok(id)) {
		creq_error(r, 400, "Номер дома: цифры.");
		return;
	}
	house_params(r, p, id);
	if (id == NULL) {
		if (db_send(r->con->db, CS_HOUSES, p) != 0) {
			creq_error(r, 503, "База данных недоступна.");
			return;
		}
		creq_round(r, house_list_cb);
		return;
	}
	if (db_send(r->con->db, CS_HOUSE, p) != 0 ||
	    db_send(r->con->db, CS_HOUSE_FLATS, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, house_page_cb);
}
