/*
 * The console's listener: evhttp behind the same gate as the bridge
 * (connection cap, request deadline, accept back-off; http_gate.h), the
 * route table, and what every request goes through before its page:
 *
 *   1. the route (path and method), else 404/405;
 *   2. the parameters (query string, or the urlencoded form of a POST);
 *   3. for a route with roles: the session cookie, looked up (and its
 *      seen_at touched) in one database round; no valid session -> the
 *      login page (GET) or 401 (POST);
 *   4. the role, checked against the route's; else 403;
 *   5. for a POST: the form's csrf field against the session's, in
 *      constant time; else 403.
 *
 * Lifetimes: a struct creq lives from dispatch until its reply
 * (creq_finish). Database rounds and argon2 jobs in flight hold one; when
 * the console is freed they are completed (lost / cancelled) and answer
 * 503 before evhttp is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "console_int.h"
#include "meterline/http_gate.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

#define CON_COOKIE "ml_session"
#define CON_MAX_BODY 65536
/* a form with a file (an uploaded log): beyond the log's own cap
   (console_replay.c), so that a file a little too big gets a page that
   says so; beyond this evhttp answers 413 itself. evhttp has one limit
   for every path and reads a body before any session check: this times
   max_connections (64) bounds what anonymous uploads can hold */
#define CON_MAX_UPLOAD (2 * 1024 * 1024)
#define CON_MAX_HEADERS 8192
#define CON_KDF_QUEUE 16
/* thumbnails being made or waiting: a conversation's photos at once */
#define CON_IMAGE_QUEUE 64

static void con_dispatch(struct creq *);

/* clang-format off */
static const struct croute con_routes[] = {
	{ "/login", false, 0, console_login_form },
	{ "/login", true, 0, console_login_post },
	{ "/logout", true, ROLES_ALL, console_logout },
	{ "/", false, ROLES_ALL, console_search_page },
	{ "/search.csv", false, ROLES_ALL, console_search_csv },
	{ "/conversation", false, ROLES_ALL, console_conversation_page },
	{ "/contract", false, ROLES_ALL, console_contract_page },
	{ "/review", false, ROLES_WRITE, console_review_page },
	{ "/review", true, ROLES_WRITE, console_review_post },
	{ "/reading/correct", true, ROLES_WRITE, console_correct_post },
	{ "/reading/annul", true, ROLES_WRITE, console_annul_post },
	{ "/users", false, ROLE_ADMIN, console_users_page },
	{ "/users/add", true, ROLE_ADMIN, console_user_add_post },
	{ "/users/disable", true, ROLE_ADMIN, console_user_disable_post },
	{ "/audit", false, ROLE_ADMIN, console_audit_page },
	{ "/house", false, ROLE_MANAGER | ROLE_ADMIN, console_house_page },
	{ "/house/submit", true, ROLE_MANAGER | ROLE_ADMIN, console_house_submit },
	{ "/replay", false, ROLES_WRITE, console_replay_page },
	{ "/replay/dry", true, ROLES_WRITE, console_replay_dry_post, true },
	{ "/replay/message", true, ROLES_WRITE, console_replay_message_post },
	{ "/replay/apply", true, ROLES_WRITE, console_replay_apply_post },
	{ "/photo", false, ROLES_ALL, console_photo_get },
	/* bearer token, checked by the handler */
	{ "/api/v1/readings", false, 0, console_api_readings },
};
/* clang-format on */

/* ---- replies ------------------------------------------------------------- */

static const char *
con_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	default: return "Service Unavailable";
	}
}

/*
 * Headers of every answer: nothing cached, no framing, and a content
 * security policy that allows only our own files, so even a text that
 * escaped escaping could not run a script.
 */
static void
con_headers(struct evhttp_request *req, const char *ctype)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
}

void
creq_finish(struct creq *r)
{
	struct console *con = r->con;

	if (r->prev)
		r->prev->next = r->next;
	else
		con->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->free_fn != NULL && r->state != NULL)
		r->free_fn(r->state);
	/* forms may carry passwords: wipe them before the memory is reused */
	for (struct evkeyval *kv = r->params.tqh_first; kv != NULL;
	     kv = kv->next.tqe_next)
		sodium_memzero(kv->value, strlen(kv->value));
	evhttp_clear_headers(&r->params);
	free(r->upload);
	sodium_memzero(r->csrf, sizeof(r->csrf));
	free(r);
}

void
creq_reply(struct creq *r, int code, const char *ctype, struct evbuffer *body)
{
	con_headers(r->req, ctype);
	evhttp_send_reply(r->req, code, con_phrase(code), body);
	if (body != NULL)
		evbuffer_free(body);
	creq_finish(r);
}

void
creq_redirect(struct creq *r, const char *location)
{
	evhttp_add_header(
	    evhttp_request_get_output_headers(r->req), "Location", location);
	creq_reply(r, 303, "text/plain; charset=utf-8", NULL);
}

void
creq_error(struct creq *r, int code, const char *message)
{
	struct evbuffer *b = evbuffer_new();

	if (strncmp(evhttp_request_get_uri(r->req), "/api/", 5) == 0) {
		evbuffer_add_printf(b, "{\"error\":\"%s\"}\n", message);
		creq_reply(r, code, "application/json", b);
		return;
	}
	html_begin(b, r, "Ошибка");
	html_notice(b, "err", message);
	evbuffer_add_printf(b, "<p><a href=\"/\">На главную</a></p>\n");
	html_end(b);
	creq_reply(r, code, "text/html; charset=utf-8", b);
}

/* ---- database rounds ----------------------------------------------------- */

static void
con_round_cb(const struct db_round_result *res, void *arg)
{
	struct creq *r = arg;

	r->round_fn(r, res);
}

static int
con_round_on(struct creq *r, struct db *db,
    void (*fn)(struct creq *, const struct db_round_result *))
{
	r->round_fn = fn;
	if (r->con->closing || db_round(db, true, con_round_cb, r) != 0)
		return -1;
	return 0;
}

int
creq_round_raw(
    struct creq *r, void (*fn)(struct creq *, const struct db_round_result *))
{
	return con_round_on(r, r->con->db, fn);
}

int
creq_round_api(
    struct creq *r, void (*fn)(struct creq *, const struct db_round_result *))
{
	return con_round_on(r, r->con->api_db, fn);
}

int
creq_round(
    struct creq *r, void (*fn)(struct creq *, const struct db_round_result *))
{
	if (creq_round_raw(r, fn) != 0) {
		creq_error(r, 503, "База данных недоступна, повторите позже.");
		return -1;
	}
	return 0;
}

bool
creq_round_failed(struct creq *r, const struct db_round_result *res)
{
	if (res->lost) {
		creq_error(r, 503, "База данных недоступна, повторите позже.");
		return true;
	}
	if (res->failed < 0)
		return false;
	log_warn("console: %s: SQL %s: %s", r->route->path, res->sqlstate,
	    res->error);
	creq_error(r, 500, "Ошибка базы данных.");
	return true;
}

/* ---- parameters ---------------------------------------------------------- */

const char *
creq_param(const struct creq *r, const char *name)
{
	const char *v =
	    evhttp_find_header((struct evkeyvalq *)&r->params, name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The query string, or the body of a urlencoded form. -1 when malformed. */
static int
con_parse_params(struct creq *r)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	size_t len = evbuffer_get_length(in);
	char *body;
	int rc;

	const char *ctype = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Content-Type");
	bool multi = r->route->upload && ctype != NULL &&
	    strncasecmp(ctype, "multipart/form-data", 19) == 0;

	TAILQ_INIT(&r->params);
	if (!r->route->post)
		return q == NULL ? 0 : evhttp_parse_query_str(q, &r->params);
	if (len > (multi ? CON_MAX_UPLOAD : CON_MAX_BODY))
		return -1;
	body = xmalloc(len + 1);
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	if (multi)
		rc = console_upload_parse(r, ctype, body, len);
	else
		rc = strlen(body) == len
		    ? evhttp_parse_query_str(body, &r->params)
		    : -1;
	sodium_memzero(body, len);
	free(body);
	return rc;
}

/* The client's address: the peer, or behind a trusted proxy the last
 * address X-Forwarded-For names. */
static void
con_client_addr(struct creq *r)
{
	struct evhttp_connection *c = evhttp_request_get_connection(r->req);
	const char *fwd = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "X-Forwarded-For");
	char *addr = NULL;
	ev_uint16_t port;

	strlcpy_s(r->addr, "?", sizeof(r->addr));
	if (c != NULL) {
		evhttp_connection_get_peer(c, &addr, &port);
		if (addr != NULL)
			strlcpy_s(r->addr, addr, sizeof(r->addr));
	}
	if (r->con->cfg.trust_forwarded && fwd != NULL) {
		const char *last = strrchr(fwd, ',');

		last = last ? last + 1 : fwd;
		last += strspn(last, " ");
		if (last[0] != '\0' && strlen(last) < sizeof(r->addr) &&
		    strspn(last, "0123456789abcdefABCDEF.:") == strlen(last))
			strlcpy_s(r->addr, last, sizeof(r->addr));
	}
}

/* The session cookie's value into token_hash (as its SHA-256). */
static void
con_cookie(struct creq *r)
{
	const char *h = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Cookie");
	const char *p = h;
	size_t n = strlen(CON_COOKIE);

	r->token_hash[0] = '\0';
	while (p != NULL && *p != '\0') {
		p += strspn(p, " ;");
		if (strncmp(p, CON_COOKIE "=", n + 1) == 0) {
			const char *v = p + n + 1;
			size_t len = strcspn(v, ";");

			if (len == 64 && strspn(v, "0123456789abcdef") >= 64)
				console_sha256_hex(v, len, r->token_hash);
			return;
		}
		p = strchr(p, ';');
	}
}

/* ---- sessions, roles, CSRF ----------------------------------------------- */

static bool
con_csrf_ok(const struct creq *r)
{
	const char *sent = creq_param(r, "csrf");

	return sent != NULL && strlen(sent) == strlen(r->csrf) &&
	    r->csrf[0] != '\0' &&
	    sodium_memcmp(sent, r->csrf, strlen(r->csrf)) == 0;
}

/* No valid session: the login page for pages, 401 for forms. */
static void
con_no_session(struct creq *r)
{
	if (r->route->post) {
		creq_error(r, 401, "Сессия истекла. Войдите снова.");
		return;
	}
	creq_redirect(r, r->token_hash[0] ? "/login?expired=1" : "/login");
}

static void
con_session_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows = res->rows[0];

	if (creq_round_failed(r, res))
		return;
	if (db_rows_count(rows) != 1) {
		con_no_session(r);
		return;
	}
	strlcpy_s(r->user, db_rows_get(rows, 0, 0), sizeof(r->user));
	r->role = console_role_value(db_rows_get(rows, 0, 1));
	strlcpy_s(r->csrf, db_rows_get(rows, 0, 2), sizeof(r->csrf));
	if ((r->role & (int)r->route->roles) == 0) {
		r->con->stats.role_refused++;
		log_info("console: %s (%s) refused %s", r->user,
		    console_role_title(r->role), r->route->path);
		creq_error(r, 403, "Недостаточно прав для этой страницы.");
		return;
	}
	if (r->route->post && !con_csrf_ok(r)) {
		r->con->stats.csrf_refused++;
		log_warn("console: %s: form without a valid CSRF token from %s",
		    r->route->path, r->addr);
		creq_error(r, 403,
		    "Форма устарела (нет токена CSRF). "
		    "Обновите страницу и повторите.");
		return;
	}
	r->route->fn(r);
}

static void
con_check_session(struct creq *r)
{
	char idle[24], max[24];
	const char *p[3] = { r->token_hash, idle, max };

	if (r->token_hash[0] == '\0') {
		con_no_session(r);
		return;
	}
	snprintf(
	    idle, sizeof(idle), "%lld", (long long)r->con->cfg.session_idle);
	snprintf(max, sizeof(max), "%lld", (long long)r->con->cfg.session_max);
	if (r->con->closing || db_send(r->con->db, CS_SESSION, p) != 0) {
		creq_error(r, 503, "База данных недоступна, повторите позже.");
		return;
	}
	creq_round(r, con_session_cb);
}

/* ---- dispatch ------------------------------------------------------------ */

static void
con_static(struct evhttp_request *req, const char *name)
{
	for (size_t i = 0; i < console_assets_count; i++) {
		const struct console_asset *a = &console_assets[i];

		if (strcmp(a->name, name) == 0) {
			struct evbuffer *b = evbuffer_new();

			evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
			con_headers(req, a->ctype);
			evhttp_send_reply(req, 200, "OK", b);
			evbuffer_free(b);
			return;
		}
	}
	evhttp_send_error(req, 404, "Not Found");
}

/* The route of (path, method); *wrong_method when only the method differs. */
static const struct croute *
con_route(const char *path, bool post, bool *wrong_method)
{
	*wrong_method = false;
	for (size_t i = 0; i < ARRAY_SIZE(con_routes); i++) {
		if (strcmp(con_routes[i].path, path) != 0)
			continue;
		if (con_routes[i].post == post)
			return &con_routes[i];
		*wrong_method = true;
	}
	return NULL;
}

static void
con_request_cb(struct evhttp_request *req, void *arg)
{
	struct console *con = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct croute *route;
	bool wrong;
	struct creq *r;

	http_gate_dispatched(con->gate, req);
	con->stats.requests++;
	if (path == NULL || (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST)) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if (strncmp(path, "/static/", 8) == 0 && cmd == EVHTTP_REQ_GET) {
		con_static(req, path + 8);
		return;
	}
	route = con_route(path, cmd == EVHTTP_REQ_POST, &wrong);
	if (route == NULL) {
		evhttp_send_error(req, wrong ? 405 : 404, NULL);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->con = con;
	r->req = req;
	r->route = route;
	r->next = con->reqs;
	if (con->reqs)
		con->reqs->prev = r;
	con->reqs = r;
	con_dispatch(r);
}

static void
con_dispatch(struct creq *r)
{
	con_client_addr(r);
	con_cookie(r);
	if (con_parse_params(r) != 0) {
		creq_error(r, 400, "Неверный запрос.");
		return;
	}
	if (r->route->roles == 0) {
		r->route->fn(r);
		return;
	}
	con_check_session(r);
}

/* ---- start and stop ------------------------------------------------------ */

static int
con_bound_port(struct evhttp_bound_socket *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(
	        evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int
con_listen(struct console *con, char *err, size_t errlen)
{
	char host[CONFIG_HOST_MAX + 1];
	const char *addr = con->cfg.listen, *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : 0;
	struct http_gate_cfg gc = { .name = "console",
		.max_conns = (size_t)con->cfg.max_connections,
		.request_timeout = (int)con->cfg.request_timeout,
		.accept_pause_ms = 250,
		.log_interval = 10 };

	if (addr[0] == '[' && n >= 2) {
		addr++;
		n -= 2;
	}
	if (colon == NULL || n == 0 || n >= sizeof(host)) {
		snprintf(err, errlen, "console: listen \"%s\": not host:port",
		    con->cfg.listen);
		return -1;
	}
	memcpy(host, addr, n);
	host[n] = '\0';
	con->http = evhttp_new(con->base);
	evhttp_set_timeout(con->http, (int)con->cfg.idle_timeout);
	evhttp_set_max_headers_size(con->http, CON_MAX_HEADERS);
	evhttp_set_max_body_size(con->http, CON_MAX_UPLOAD);
	evhttp_set_allowed_methods(
	    con->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(con->http, con_request_cb, con);
	con->sock = evhttp_bind_socket_with_handle(
	    con->http, host, (ev_uint16_t)atoi(colon + 1));
	if (con->sock == NULL) {
		snprintf(err, errlen, "console: cannot listen on %s",
		    con->cfg.listen);
		return -1;
	}
	con->gate = http_gate_new(con->base, con->http, con->sock, &gc);
	con->port = con_bound_port(con->sock);
	return 0;
}

struct console *
console_new(struct event_base *base, struct evdns_base *dns,
    const struct config_console *cfg, const char *conninfo, const char *zone,
    char *err, size_t errlen)
{
	struct console *con;
	struct db_opts o = { .name = "console",
		.conninfo = conninfo,
		.dns = dns,
		.stmts = console_stmts,
		.nstmts = CS__N };

	if (sodium_init() < 0) {
		snprintf(err, errlen, "console: libsodium failed to start");
		return NULL;
	}
	if (strspn(zone,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	        "0123456789/_+-") != strlen(zone)) {
		snprintf(err, errlen, "console: odd time zone name");
		return NULL;
	}
	con = xcalloc(1, sizeof(*con));
	con->base = base;
	con->cfg = *cfg;
	/* one statement: the session SQL runs through the extended protocol */
	snprintf(con->session_sql, sizeof(con->session_sql),
	    "SELECT set_config('TimeZone', '%s', false),"
	    " set_config('plan_cache_mode', 'force_custom_plan', false),"
	    " set_config('statement_timeout', '30s', false),"
	    " set_config('lock_timeout', '5s', false)",
	    zone);
	o.session_sql = con->session_sql;
	/* the API's: the same without forcing custom plans */
	snprintf(con->api_session_sql, sizeof(con->api_session_sql),
	    "SELECT set_config('TimeZone', '%s', false),"
	    " set_config('statement_timeout', '30s', false),"
	    " set_config('lock_timeout', '5s', false)",
	    zone);
	if (con_listen(con, err, errlen) != 0) {
		console_free(con);
		return NULL;
	}
	con->kdf = console_kdf_new(base, CON_KDF_QUEUE);
	console_photo_init();
	con->images = console_worker_new(base, CON_IMAGE_QUEUE);
	con->db = db_new(base, &o, NULL, NULL);
	o.name = "console-api";
	o.session_sql = con->api_session_sql;
	con->api_db = db_new(base, &o, NULL, NULL);
	log_info("console: listening on %s (port %d)", cfg->listen, con->port);
	return con;
}

void
console_set_intake(struct console *con, const struct intake *in)
{
	con->intake = *in;
	con->has_intake = true;
}

int
console_port(const struct console *con)
{
	return con->port;
}

size_t
console_inflight(const struct console *con)
{
	size_t n = 0;

	for (const struct creq *r = con->reqs; r != NULL; r = r->next)
		n++;
	return n;
}

const struct console_stats *
console_stats(const struct console *con)
{
	return &con->stats;
}

void
console_stop(struct console *con)
{
	if (con == NULL || con->sock == NULL)
		return;
	http_gate_unbind(con->gate);
	evhttp_del_accept_socket(con->http, con->sock);
	con->sock = NULL;
}

void
console_free(struct console *con)
{
	if (con == NULL)
		return;
	con->closing = true;
	/* jobs and rounds in flight answer their requests 503 */
	console_kdf_free(con->kdf);
	console_replay_free(con->replay);
	console_worker_free(con->images);
	db_free(con->db);
	db_free(con->api_db);
	console_api_free_all(con);
	while (con->reqs != NULL)
		creq_error(con->reqs, 503, "Сервис останавливается.");
	http_gate_unbind(con->gate);
	if (con->http != NULL)
		evhttp_free(con->http);
	http_gate_free(con->gate);
	free(con);
}
