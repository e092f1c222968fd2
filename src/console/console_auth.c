/*
 * Login, logout and the users page (docs/console.md, "Accounts").
 *
 * A login runs: the pre-session CSRF pair (cookie ml_login = form field),
 * one round for the user's and the address's recent failures and the
 * user's hash, the limits (refused without checking the password), the
 * argon2id check on the worker thread (against a dummy hash for an unknown
 * user, so both cost the same), then one round that records the attempt
 * and, on success, creates the session and its audit line. The session
 * cookie holds 256 random bits; the database keeps only their SHA-256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "console_int.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

#define AUTH_COOKIE_ATTRS "; Path=/; HttpOnly; Secure; SameSite=Strict"
#define AUTH_PASSWORD_MAX 1024
#define AUTH_PASSWORD_MIN 10

/* What a login carries between its rounds. */
struct login_state {
	char token[65];
	char csrf[65];
};

static void
login_state_free(void *p)
{
	sodium_memzero(p, sizeof(struct login_state));
	free(p);
}

/* The value of cookie name in the request, into out; false if absent. */
static bool
auth_cookie(const struct creq *r, const char *name, char *out, size_t len)
{
	const char *p = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Cookie");
	size_t n = strlen(name);

	while (p != NULL && *p != '\0') {
		p += strspn(p, " ;");
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t vlen = strcspn(p + n + 1, ";");

			if (vlen == 0 || vlen >= len)
				return false;
			memcpy(out, p + n + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		p = strchr(p, ';');
	}
	return false;
}

static void
auth_set_cookie(
    struct creq *r, const char *name, const char *value, const char *extra)
{
	char c[256];

	snprintf(
	    c, sizeof(c), "%s=%s%s%s", name, value, AUTH_COOKIE_ATTRS, extra);
	evhttp_add_header(
	    evhttp_request_get_output_headers(r->req), "Set-Cookie", c);
}

/* The login page; message (escaped) above the form, may be NULL. */
static void
auth_login_page(struct creq *r, int code, const char *kind, const char *msg)
{
	struct evbuffer *b = evbuffer_new();
	char pre[65];
	const char *user = creq_param(r, "user");

	console_random_hex(pre, 32);
	auth_set_cookie(r, "ml_login", pre, "");
	html_begin(b, NULL, "Вход");
	if (msg != NULL)
		html_notice(b, kind, msg);
	evbuffer_add_printf(b,
	    "<form method=\"post\" action=\"/login\" class=\"login\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<label>Имя <input name=\"user\" autocomplete=\"username\" "
	    "required value=\"",
	    pre);
	html_esc(b, user);
	evbuffer_add_printf(b,
	    "\"></label>"
	    "<label>Пароль <input name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required></label>"
	    "<button id=\"login\">Войти</button></form>\n");
	html_end(b);
	creq_reply(r, code, "text/html; charset=utf-8", b);
}

void
console_login_form(struct creq *r)
{
	if (creq_param(r, "expired") != NULL)
		auth_login_page(
		    r, 200, "err", "Сессия истекла. Войдите снова.");
	else if (creq_param(r, "bye") != NULL)
		auth_login_page(r, 200, "ok", "Вы вышли.");
	else
		auth_login_page(r, 200, NULL, NULL);
}

static void
auth_login_done_cb(struct creq *r, const struct db_round_result *res)
{
	struct login_state *st = r->state;

	if (creq_round_failed(r, res))
		return;
	if (st->token[0] == '\0') {
		auth_login_page(r, 401, "err", "Неверное имя или пароль.");
		return;
	}
	r->con->stats.logins_ok++;
	log_info(
	    "console: %s logged in from %s", creq_param(r, "user"), r->addr);
	auth_set_cookie(r, "ml_session", st->token, "");
	auth_set_cookie(r, "ml_login", "", "; Max-Age=0");
	creq_redirect(r, "/");
}

/* The password was checked on the worker thread. */
static void
auth_verified_cb(bool ok, bool cancelled, const char *hash, void *arg)
{
	struct creq *r = arg;
	struct login_state *st = r->state;
	const char *user = creq_param(r, "user");
	char th[65];
	const char *p[4] = { user, r->addr, th, st->csrf };

	(void)hash;
	if (cancelled) {
		creq_error(r, 503, "Сервис останавливается.");
		return;
	}
	if (!ok) {
		r->con->stats.logins_failed++;
		log_info("console: failed login for a user from %s", r->addr);
		if (db_send(r->con->db, CS_LOGIN_FAIL, p) != 0) {
			creq_error(r, 503, "База данных недоступна.");
			return;
		}
		creq_round(r, auth_login_done_cb);
		return;
	}
	console_random_hex(st->token, 32);
	console_random_hex(st->csrf, 32);
	console_sha256_hex(st->token, 64, th);
	if (db_send(r->con->db, CS_LOGIN_OK, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, auth_login_done_cb);
}

static void
auth_check_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows = res->rows[0];
	const struct config_console *c = &r->con->cfg;
	long by_user, by_addr;

	if (creq_round_failed(r, res))
		return;
	by_user = atol(db_rows_get(rows, 0, 0));
	by_addr = atol(db_rows_get(rows, 0, 1));
	if (by_user >= c->login_max_failures ||
	    by_addr >= c->login_max_failures_addr) {
		char msg[160];

		r->con->stats.logins_limited++;
		log_warn("console: logins refused for a user or for %s: too "
		         "many failures",
		    r->addr);
		snprintf(msg, sizeof(msg),
		    "Слишком много неудачных попыток. Повторите через %lld мин.",
		    (long long)(c->login_window + 59) / 60);
		auth_login_page(r, 429, "err", msg);
		return;
	}
	if (console_kdf_verify(r->con->kdf, db_rows_get(rows, 0, 2),
	        creq_param(r, "password"), auth_verified_cb, r) != 0)
		creq_error(r, 503, "Слишком много входов сразу, повторите.");
}

void
console_login_post(struct creq *r)
{
	const char *user = creq_param(r, "user");
	const char *pw = creq_param(r, "password");
	const char *sent = creq_param(r, "csrf");
	char pre[65], win[24];
	const char *p[3] = { user, r->addr, win };

	if (sent == NULL || !auth_cookie(r, "ml_login", pre, sizeof(pre)) ||
	    strlen(sent) != strlen(pre) ||
	    sodium_memcmp(sent, pre, strlen(pre)) != 0) {
		r->con->stats.csrf_refused++;
		creq_error(r, 403, "Форма входа устарела. Откройте её снова.");
		return;
	}
	if (user == NULL || pw == NULL || !console_name_ok(user) ||
	    strlen(pw) > AUTH_PASSWORD_MAX) {
		auth_login_page(r, 401, "err", "Неверное имя или пароль.");
		return;
	}
	r->state = xcalloc(1, sizeof(struct login_state));
	r->free_fn = login_state_free;
	snprintf(win, sizeof(win), "%lld", (long long)r->con->cfg.login_window);
	if (db_send(r->con->db, CS_LOGIN_CHECK, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, auth_check_cb);
}

static void
auth_logout_cb(struct creq *r, const struct db_round_result *res)
{
	if (creq_round_failed(r, res))
		return;
	auth_set_cookie(r, "ml_session", "", "; Max-Age=0");
	creq_redirect(r, "/login?bye=1");
}

void
console_logout(struct creq *r)
{
	const char *p[2] = { r->token_hash, r->addr };

	if (db_send(r->con->db, CS_LOGOUT, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, auth_logout_cb);
}

/* ---- users (admin) ------------------------------------------------------- */

static void
users_list_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows;
	struct evbuffer *b;

	if (creq_round_failed(r, res))
		return;
	rows = res->rows[0];
	b = evbuffer_new();
	html_begin(b, r, "Пользователи");
	if (creq_param(r, "done") != NULL)
		html_notice(b, "ok", "Готово.");
	evbuffer_add_printf(b,
	    "<table><tr><th>Имя</th><th>Роль</th>"
	    "<th>Создан</th><th>Последний вход</th>"
	    "<th></th></tr>\n");
	for (int i = 0; i < db_rows_count(rows); i++) {
		bool off = strcmp(db_rows_get(rows, i, 2), "t") == 0;

		evbuffer_add_printf(
		    b, "<tr%s><td>", off ? " class=\"off\"" : "");
		html_esc(b, db_rows_get(rows, i, 0));
		evbuffer_add_printf(b, "</td><td>%s</td><td>",
		    console_role_title(
		        console_role_value(db_rows_get(rows, i, 1))));
		html_esc(b, db_rows_get(rows, i, 3));
		evbuffer_add_printf(b, "</td><td>");
		html_esc(b, db_rows_get(rows, i, 4));
		evbuffer_add_printf(b, "</td><td>");
		if (!off) {
			evbuffer_add_printf(b,
			    "<form method=\"post\" action=\"/users/disable\" "
			    "data-confirm=\"Отключить пользователя?\">");
			html_csrf(b, r);
			evbuffer_add_printf(
			    b, "<input type=\"hidden\" name=\"name\" value=\"");
			html_esc(b, db_rows_get(rows, i, 0));
			evbuffer_add_printf(
			    b, "\"><button>Отключить</button></form>");
		} else {
			evbuffer_add_printf(b, "отключён");
		}
		evbuffer_add_printf(b, "</td></tr>\n");
	}
	evbuffer_add_printf(b,
	    "</table>\n<h2>Новый пользователь</h2>"
	    "<form method=\"post\" action=\"/users/add\">");
	html_csrf(b, r);
	evbuffer_add_printf(b,
	    "<label>Имя <input name=\"name\" required "
	    "pattern=\"[a-z0-9][a-z0-9._\\-]{0,63}\"></label>"
	    "<label>Роль <select name=\"role\"><option value=\"support\">"
	    "поддержка</option><option value=\"manager\">руководитель</option>"
	    "<option value=\"admin\">администратор</option></select></label>"
	    "<label>Пароль (от %d символов) <input name=\"password\" "
	    "type=\"password\" autocomplete=\"new-password\" required></label>"
	    "<button>Создать</button></form>\n",
	    AUTH_PASSWORD_MIN);
	html_end(b);
	creq_reply(r, 200, "text/html; charset=utf-8", b);
}

void
console_users_page(struct creq *r)
{
	if (db_send(r->con->db, CS_USERS, NULL) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, users_list_cb);
}

/* After a write: its own error text (a check of ours), or the list. */
static void
users_write_cb(struct creq *r, const struct db_round_result *res)
{
	if (!res->lost && res->failed >= 0 &&
	    strncmp(res->sqlstate, "23", 2) == 0) {
		creq_error(r, 409, "Такой пользователь уже есть.");
		return;
	}
	if (creq_round_failed(r, res))
		return;
	creq_redirect(r, "/users?done=1");
}

static void
users_hashed_cb(bool ok, bool cancelled, const char *hash, void *arg)
{
	struct creq *r = arg;
	const char *p[5] = { creq_param(r, "name"), creq_param(r, "role"), hash,
		r->user, r->addr };

	if (cancelled || !ok) {
		creq_error(r, 503, "Не удалось вычислить хеш пароля.");
		return;
	}
	if (db_send(r->con->db, CS_USER_ADD, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, users_write_cb);
}

void
console_user_add_post(struct creq *r)
{
	const char *name = creq_param(r, "name");
	const char *pw = creq_param(r, "password");

	if (name == NULL || !console_name_ok(name) ||
	    console_role_value(creq_param(r, "role")) == 0) {
		creq_error(r, 400,
		    "Имя: строчные латинские буквы, цифры, "
		    ". _ -; роль: одна из трёх.");
		return;
	}
	if (pw == NULL || strlen(pw) < AUTH_PASSWORD_MIN ||
	    strlen(pw) > AUTH_PASSWORD_MAX) {
		creq_error(r, 400, "Пароль слишком короткий.");
		return;
	}
	if (console_kdf_hash(r->con->kdf, pw, users_hashed_cb, r) != 0)
		creq_error(r, 503, "Сервер занят, повторите.");
}

void
console_user_disable_post(struct creq *r)
{
	const char *p[3] = { creq_param(r, "name"), r->user, r->addr };

	if (p[0] == NULL || !console_name_ok(p[0])) {
		creq_error(r, 400, "Неверное имя.");
		return;
	}
	if (db_send(r->con->db, CS_USER_DISABLE, p) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, users_write_cb);
}

/* ---- audit log (admin) --------------------------------------------------- */

static void
audit_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows;
	struct evbuffer *b;

	if (creq_round_failed(r, res))
		return;
	rows = res->rows[0];
	b = evbuffer_new();
	html_begin(b, r, "Журнал изменений");
	evbuffer_add_printf(b,
	    "<table class=\"audit\"><tr><th>№</th>"
	    "<th>Время</th><th>Кто</th><th>Адрес</th>"
	    "<th>Действие</th><th>Объект</th><th>До</th>"
	    "<th>После</th><th>Причина</th></tr>\n");
	for (int i = 0; i < db_rows_count(rows); i++) {
		evbuffer_add_printf(b, "<tr>");
		for (int c = 0; c < 9; c++) {
			evbuffer_add_printf(b, "<td>");
			html_esc(b, db_rows_get(rows, i, c));
			evbuffer_add_printf(b, "</td>");
		}
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n");
	html_end(b);
	creq_reply(r, 200, "text/html; charset=utf-8", b);
}

void
console_audit_page(struct creq *r)
{
	if (db_send(r->con->db, CS_AUDIT, NULL) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, audit_cb);
}
