/*
 * The console's private parts: the server, one request in flight, the
 * route table, the prepared statements, and the helpers the pages share.
 * docs/console.md describes what the console does; this header says how
 * the files divide it:
 *
 *   console.c        listener, routing, sessions, CSRF, replies
 *   console_html.c   escaping, the page frame, small HTML pieces
 *   console_auth.c   login, logout, users (argon2id in console_kdf.c)
 *   console_pages.c  search, CSV, conversation, contract card, review
 *   console_svg.c    the consumption chart
 *   console_api.c    GET /api/v1/readings (bearer tokens, streaming)
 *   console_sql.c    every statement, one table
 *   console_cli.c    user add, token add, export readings (blocking)
 *   house.c          the house manager's page: houses, apartments
 *   house_submit.c   a whole house's readings through the intake
 *   console_replay.c replay of an uploaded log or one message: dry run,
 *                    then apply (the engine of src/ops on a worker)
 *   console_photo.c  messenger photos: thumbnails and the full image
 *   console_upload.c multipart/form-data, text checks of an upload
 *   console_worker.c a worker thread for slow jobs (replay, images)
 */
#ifndef METERLINE_CONSOLE_INT_H
#define METERLINE_CONSOLE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/keyvalq_struct.h>

#include "meterline/config.h"
#include "meterline/console.h"
#include "meterline/db.h"
#include "meterline/intake.h"

struct evbuffer;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;
struct http_gate;
struct console_kdf;

/* ---- roles --------------------------------------------------------------- */

enum console_role {
	ROLE_ADMIN = 1,
	ROLE_SUPPORT = 2,
	ROLE_MANAGER = 4,
};
#define ROLES_ALL (ROLE_ADMIN | ROLE_SUPPORT | ROLE_MANAGER)
#define ROLES_WRITE (ROLE_ADMIN | ROLE_SUPPORT)

/* "admin" -> ROLE_ADMIN; 0 when unknown. */
int console_role_value(const char *name);
/* The Russian name of a role for the page header. */
const char *console_role_title(int role);

/* ---- statements (console_sql.c) ----------------------------------------- */

enum con_stmt {
	CS_SESSION,
	CS_LOGIN_CHECK,
	CS_LOGIN_FAIL,
	CS_LOGIN_OK,
	CS_LOGOUT,
	CS_SEARCH,
	CS_CONVERSATION,
	CS_CONTRACT,
	CS_CONTRACT_READINGS,
	CS_CONTRACT_DIALOGS,
	CS_REVIEW_QUEUE,
	CS_CORRECT,
	CS_ANNUL,
	CS_REVIEW,
	CS_USERS,
	CS_USER_ADD,
	CS_USER_DISABLE,
	CS_AUDIT,
	CS_API_TOKEN,
	CS_API_PAGE,
	CS_HOUSES,
	CS_HOUSE,
	CS_HOUSE_FLATS,
	CS_REPLAY_MESSAGE,
	CS_PHOTO,
	CS__N
};
extern const struct db_stmt console_stmts[CS__N];

/*
 * One exported reading, the same columns for the API and for `meterline
 * export readings` (console_reading_json, console_cli.c's CSV).
 */
/* clang-format off */
#define CONSOLE_READING_COLS(COL1, COL) \
	COL1(RC_ID, "r.id") COL(RC_XID, "r.feed_xid") \
	COL(RC_CONTRACT, "r.contract") COL(RC_RESOURCE, "s.resource") \
	COL(RC_POSITION, "r.position") COL(RC_REGISTER, "g.name") \
	COL(RC_VALUE, "r.value") COL(RC_PREVIOUS, "r.previous") \
	COL(RC_CONSUMPTION, "r.consumption") COL(RC_STATUS, "r.status") \
	COL(RC_FLAGS, "r.flags | s.flags") COL(RC_DATE, "s.local_date") \
	COL(RC_TIME, "to_char(s.submitted_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')") \
	COL(RC_CHANNEL, "s.channel") COL(RC_SUBMISSION, "s.id") \
	COL(RC_MESSAGE, "s.message_id")
/* clang-format on */
enum console_reading_col { DB_COLS_ENUM(CONSOLE_READING_COLS) RC__N };
/*
 * src: the readings to show, "readings" or a subquery of it. The
 * resource is the submission's (the store copies the contract's): a join
 * to contracts per row cost an eighth of the API's query time.
 */
/* clang-format off */
#define CONSOLE_READING_SELECT_FROM(src) \
	"SELECT " DB_COLS_SQL(CONSOLE_READING_COLS) \
	" FROM " src " AS r" \
	" JOIN submissions AS s ON s.id = r.submission_id" \
	"   AND s.created_at = r.created_at" \
	" LEFT JOIN registers AS g ON g.contract = r.contract" \
	"   AND g.position = r.position"
/* clang-format on */

/* The house statements' SQL (house.c), in console_stmts. */
extern const char house_sql_list[], house_sql_one[], house_sql_flats[];
/* One register of a house's apartments (CS_HOUSE_FLATS). */
/* clang-format off */
#define HOUSE_FLAT_COLS(COL1, COL) \
	COL1(HF_CONTRACT, "c.contract") COL(HF_APARTMENT, "c.apartment") \
	COL(HF_POSITION, "g.position") COL(HF_NAME, "g.name") \
	COL(HF_DIGITS, "g.digits") COL(HF_SERIAL, "g.serial") \
	COL(HF_LAST_VALUE, "g.last_value") \
	COL(HF_LAST_DATE, "to_char(g.last_date, 'DD.MM.YYYY')")
/* clang-format on */
enum house_flat_col { DB_COLS_ENUM(HOUSE_FLAT_COLS) HF__N };

/* A reading row as the API's JSON object, with its "cursor" or not. */
void console_reading_json(
    struct evbuffer *, const struct db_rows *, int row, bool with_cursor);

/* ---- the server and one request ------------------------------------------ */

struct creq;
typedef void (*creq_fn)(struct creq *);

/* One endpoint: method, path, who may use it, and its handler. */
struct croute {
	const char *path;
	bool post; /* POST (form, CSRF checked) or GET */
	unsigned roles; /* 0: no session needed */
	creq_fn fn;
	bool upload; /* a POST may be multipart/form-data with a file */
};

struct console {
	struct event_base *base;
	struct config_console cfg;
	struct db *db;
	/* the billing API's own connection: its streams do not queue the
	   pages' rounds, and its session lets PostgreSQL keep a generic plan
	   of the page query (planning it each time cost 2-7 ms a page) */
	struct db *api_db;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct http_gate *gate;
	struct console_kdf *kdf;
	struct creq *reqs; /* every request in flight */
	struct console_stats stats;
	int port;
	bool closing;
	char session_sql[384], api_session_sql[384];
	struct intake intake; /* where a house's readings go (house_submit.c) */
	bool has_intake;
	struct console_replay *replay; /* NULL until console_set_replay */
	struct console_worker *images; /* photos decoded and scaled */
};

/* A request from dispatch until its reply; owned by the console. */
struct creq {
	struct console *con;
	struct evhttp_request *req;
	const struct croute *route;
	struct evkeyvalq params; /* query string or urlencoded form */
	struct creq *prev, *next;
	char addr[64]; /* client address */
	char token_hash[65]; /* hex SHA-256 of the session cookie, "" none */
	char user[65];
	int role;
	char csrf[65];
	/* the handler's own state, freed by creq_finish through free_fn */
	void *state;
	void (*free_fn)(void *);
	/* a result callback for creq_round */
	void (*round_fn)(struct creq *, const struct db_round_result *);
	/* the file of a multipart form (console_upload.c), NUL-terminated */
	char *upload;
	size_t upload_len;
	char upload_name[128];
};

/* Parameter of the query or form, NULL when absent (or empty). */
const char *creq_param(const struct creq *, const char *name);

/*
 * Close the round of statements queued with db_send and call fn with the
 * results. On -1 (database down) the request is answered 503 and
 * finished: the caller returns at once.
 */
int creq_round(
    struct creq *, void (*fn)(struct creq *, const struct db_round_result *));

/* The same without an answer on -1 (a reply already under way). */
int creq_round_raw(
    struct creq *, void (*fn)(struct creq *, const struct db_round_result *));
/* creq_round_raw on the API's connection (console_api.c). */
int creq_round_api(
    struct creq *, void (*fn)(struct creq *, const struct db_round_result *));

/* Whether a round failed; if so the request is answered (503 or 500) and
 * finished. */
bool creq_round_failed(struct creq *, const struct db_round_result *);

/* Answer with body (taken) and finish the request. */
void creq_reply(struct creq *, int code, const char *ctype, struct evbuffer *);
/* A 303 to location and finish. */
void creq_redirect(struct creq *, const char *location);
/* A whole error page (or plain text for the API) and finish. */
void creq_error(struct creq *, int code, const char *message);
/* Free the request's record (after a reply). */
void creq_finish(struct creq *);

/* ---- HTML (console_html.c) ----------------------------------------------- */

/* Text escaped for HTML element content and quoted attributes. */
void html_esc(struct evbuffer *, const char *s);
/* The same for a URL query value (percent-encoded, then safe in HTML). */
void html_url(struct evbuffer *, const char *s);
/* Head, header with the user and navigation; title is trusted text. */
void html_begin(struct evbuffer *, const struct creq *, const char *title);
void html_end(struct evbuffer *);
/* The hidden CSRF field of a form of this session. */
void html_csrf(struct evbuffer *, const struct creq *);
/* A notice box: kind "ok" or "err"; text escaped. */
void html_notice(struct evbuffer *, const char *kind, const char *text);
/* Russian name of a reading or submission status. */
const char *html_status(const char *status);

/* ---- pages --------------------------------------------------------------- */

void console_login_form(struct creq *);
void console_login_post(struct creq *);
void console_logout(struct creq *);
void console_users_page(struct creq *);
void console_user_add_post(struct creq *);
void console_user_disable_post(struct creq *);
void console_audit_page(struct creq *);

void console_search_page(struct creq *);
void console_search_csv(struct creq *);
void console_conversation_page(struct creq *);
void console_contract_page(struct creq *);
void console_review_page(struct creq *);
void console_review_post(struct creq *);
void console_correct_post(struct creq *);
void console_annul_post(struct creq *);

void console_api_readings(struct creq *);
/* s as a JSON string (null for NULL), escaped. */
void api_json_str(struct evbuffer *, const char *s);

void console_house_page(struct creq *);
void console_house_submit(struct creq *);
/* $1 user, $2 admin?, $3 house id of the house statements. */
void house_params(const struct creq *, const char *p[3], const char *id);
/* Whether s is a house id: 1..9 digits. */
bool house_id_ok(const char *s);
/* Streams in flight, ended at console_free. */
void console_api_free_all(struct console *);

/* The SVG chart of a contract's readings (rows of CS_CONTRACT_READINGS). */
void console_svg_chart(struct evbuffer *, const struct db_rows *);

/* ---- static files (generated from src/console/assets) ------------------- */

struct console_asset {
	const char *name; /* "console.css" */
	const char *ctype;
	const char *data;
	size_t len;
};
extern const struct console_asset console_assets[];
extern const size_t console_assets_count;

/* ---- argon2id off the loop (console_kdf.c) ------------------------------- */

/*
 * One worker thread runs crypto_pwhash_str_verify / crypto_pwhash_str (tens
 * of milliseconds and 64 MiB each) so the loop never waits for them. The
 * result comes back on the loop through done(ok, hash, arg); on
 * console_kdf_free every queued job gets done(false, NULL, arg) with
 * cancelled set.
 */
typedef void (*kdf_done_cb)(bool ok, bool cancelled, const char *hash, void *);

struct console_kdf *console_kdf_new(struct event_base *, size_t max_queue);
void console_kdf_free(struct console_kdf *);
/* Verify password against hash (NULL: against a dummy, to spend the same
 * time for an unknown user). -1 when the queue is full. */
int console_kdf_verify(struct console_kdf *, const char *hash,
    const char *password, kdf_done_cb, void *);
/* Hash password. -1 when the queue is full. */
int console_kdf_hash(
    struct console_kdf *, const char *password, kdf_done_cb, void *);

/* ---- uploads (console_upload.c) ----------------------------------------- */

/*
 * Parse a multipart/form-data body (ctype: its Content-Type): text fields
 * into r->params, the one file into r->upload. 0, or -1 when malformed.
 */
int console_upload_parse(
    struct creq *, const char *ctype, const char *body, size_t len);
/*
 * Whether s is text: the line (from 1) of the first NUL byte (*why "nul")
 * or invalid UTF-8 (*why "utf8"), or 0 when it is all valid.
 */
long console_text_check(const char *s, size_t len, const char **why);

/* ---- slow jobs off the loop (console_worker.c) --------------------------- */

/*
 * One thread; work(arg) runs on it, then done(arg, false) on the loop.
 * At most max_queue jobs submitted and not yet done: -1 beyond. On
 * console_worker_free the running job finishes, the others get
 * done(arg, true).
 */
struct console_worker;
struct console_worker *
console_worker_new(struct event_base *, size_t max_queue);
int console_worker_submit(struct console_worker *, void (*work)(void *),
    void (*done)(void *, bool cancelled), void *arg);
void console_worker_free(struct console_worker *);

/* ---- replay and photos --------------------------------------------------- */

void console_replay_page(struct creq *);
void console_replay_dry_post(struct creq *);
void console_replay_message_post(struct creq *);
void console_replay_apply_post(struct creq *);
struct console_replay;
void console_replay_free(struct console_replay *);

void console_photo_get(struct creq *);
/* Once, before any photo: libgd's messages into the log. */
void console_photo_init(void);

/* ---- shared by the server and the CLI ------------------------------------ */

/* Hex SHA-256 of s into hex[65]. */
void console_sha256_hex(const char *s, size_t len, char hex[65]);
/* n random bytes as hex into hex (2n + 1 bytes). */
void console_random_hex(char *hex, size_t n);
/* A user name as the schema allows: [a-z0-9][a-z0-9._-]{0,63}. */
bool console_name_ok(const char *);
/* The T1/T2/T3 of a register for the GIS ZhKKh shape, from its name. */
const char *
console_tariff(const char *resource, const char *name, int position);

#endif
