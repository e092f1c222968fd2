/*
 * The PostgreSQL adapter: the only module that includes libpq-fe.h.
 *
 * Two faces:
 *  - struct db_sync, blocking, for command-line tools (migrate, import) and
 *    tests, never inside the event loop;
 *  - struct db, asynchronous on a libevent base, used by the store
 *    (src/db/db.c; see the section below).
 */
#ifndef METERLINE_DB_H
#define METERLINE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Copy len bytes of s into dst as text PostgreSQL accepts: valid UTF-8
 * without NUL bytes, each offending byte replaced by U+FFFD. dst needs
 * 3 * len + 1 bytes; it is NUL-terminated. Returns the bytes written; the
 * copy equals s exactly when s was acceptable.
 */
size_t db_text_clean(char *dst, const char *s, size_t len);

/* ---- blocking ---------------------------------------------------------- */

struct db_sync;
struct db_rows; /* rows of one query result */

/* Connect; NULL with why in err. Server notices are dropped. */
struct db_sync *db_sync_open(const char *conninfo, char *err, size_t errlen);
void db_sync_close(struct db_sync *); /* NULL-safe */

/* Run one or more statements that return no rows of interest. 0 or -1. */
int db_sync_exec(struct db_sync *, const char *sql, char *err, size_t errlen);

/*
 * Run one statement with text parameters ($1..); NULL entries are SQL
 * NULL. Returns the rows (possibly none) or NULL with why in err.
 */
struct db_rows *db_sync_query(struct db_sync *, const char *sql, int nparams,
    const char *const *params, char *err, size_t errlen);
int db_rows_count(const struct db_rows *);
int db_rows_columns(const struct db_rows *);
/* Value of (row, col) as text, NULL for SQL NULL. Valid until free. */
const char *db_rows_get(const struct db_rows *, int row, int col);
void db_rows_free(struct db_rows *); /* NULL-safe */

/*
 * Result columns declared once, beside their SQL (an X-macro list in the
 * style of Kannel's smpp_pdu.def): the list names each column's index and
 * its SQL expression, the first with COL1, the others with COL,
 *
 *   #define OB_CLAIM_COLS(COL1, COL) \
 *       COL1(OB_C_ID, "o.id") COL(OB_C_TEXT, "o.text")
 *   enum ob_claim_col { DB_COLS_ENUM(OB_CLAIM_COLS) OB_C__N };
 *   "... RETURNING " DB_COLS_SQL(OB_CLAIM_COLS)
 *
 * and gives both the select list ("o.id, o.text") and the enum the reader
 * passes to db_rows_get, so that adding or moving a column moves both.
 */
#define DB_COL_ENUM(id, expr) id,
#define DB_COL_SQL1(id, expr) expr
#define DB_COL_SQL(id, expr) ", " expr
#define DB_COLS_ENUM(list) list(DB_COL_ENUM, DB_COL_ENUM)
#define DB_COLS_SQL(list) list(DB_COL_SQL1, DB_COL_SQL)

/*
 * The upper bound of a time-partitioned table's write time (logged_at,
 * created_at: the database's now() when the row was written), as SQL: no
 * row is written in the future. Bounding a read by it prunes the empty
 * months meterline_ensure_partitions() keeps ahead, each of which the
 * executor would otherwise start a scan in. The day covers a new
 * primary whose clock is behind the old one's after a failover.
 */
#define DB_NOT_FUTURE "now() + interval '1 day'"

/* COPY ... FROM STDIN: begin, put any number of chunks, end. 0 or -1. */
int
db_sync_copy_begin(struct db_sync *, const char *sql, char *err, size_t errlen);
int db_sync_copy_put(
    struct db_sync *, const char *buf, size_t len, char *err, size_t errlen);
int db_sync_copy_end(struct db_sync *, char *err, size_t errlen);

/* ---- asynchronous ------------------------------------------------------ */

/*
 * One connection driven by a libevent base: nonblocking connect with its
 * own timeout, pipeline mode, statements prepared at every connect,
 * reconnect with exponential backoff and jitter, one log line per state
 * change. Never blocks.
 *
 * Work is sent in rounds: db_send() queues statements, db_round() closes
 * the round and flushes it. The round's callback gets every result at
 * once. A round with sync ends the implicit transaction of the pipeline:
 * everything since the previous sync commits together, or not at all.
 * A round without sync keeps the transaction open (its locks too) so that
 * the caller can decide on the results and send the next round.
 */
struct event_base;
struct evdns_base;
struct db;

struct db_stmt {
	const char *name; /* prepared statement name */
	const char *sql; /* with $1.. placeholders; types by casts */
	int nparams;
};

struct db_opts {
	const char *name; /* in log lines: "db <name>: ..." */
	const char *conninfo;
	const struct db_stmt *stmts; /* prepared at every connect */
	size_t nstmts;
	/*
	 * Run once per connect, or NULL: one SELECT of set_config(name,
	 * value, false) calls and nothing else. Behind a transaction pooler
	 * it runs at the start of every transaction instead, each "false)"
	 * turned into "true)" (SET LOCAL), so that no setting outlives the
	 * transaction on a server connection other clients share.
	 */
	const char *session_sql;
	int connect_timeout_ms; /* 0: 10 s */
	int round_timeout_ms; /* 0: 60 s; then the link is dropped */
	int backoff_min_ms; /* 0: 100 ms */
	int backoff_max_ms; /* 0: 2 s (see db_new) */
	/* the resolver of the conninfo's host names (borrowed; outlives
	   the db): they are looked up before every connect and given to
	   libpq as hostaddr (docs/dns.md). NULL: libpq resolves them, with
	   a blocking getaddrinfo */
	struct evdns_base *dns;
};

/* What a round gives back. rows[i] is statement i's result (NULL if lost). */
struct db_round_result {
	size_t nrows;
	struct db_rows *const *rows;
	bool lost; /* connection lost: nothing applied */
	int failed; /* first statement that failed, -1 none */
	char sqlstate[6]; /* of that failure, "" if lost */
	char error[256]; /* its message */
};

/* Called once per round, in order. The result is borrowed. */
typedef void (*db_round_cb)(const struct db_round_result *, void *arg);
/* Connection became usable (up) or was lost (!up), once per change. */
typedef void (*db_state_cb)(bool up, void *arg);

/*
 * How the process reaches PostgreSQL ([database] pooler, docs/store.md
 * "PgBouncer"). DB_POOLER_TRANSACTION: through a pooler in transaction mode
 * (PgBouncer pool_mode=transaction), where consecutive transactions of one
 * connection may run on different server connections. Then nothing is
 * prepared by name (each statement is sent with its text, as an unnamed
 * statement) and session_sql runs, local, in every transaction. The
 * process has one database and one way to it, so this is set once, before
 * the first db_new(), and applies to every connection made after.
 */
enum db_pooler { DB_POOLER_NONE, DB_POOLER_TRANSACTION };
void db_pooler_set(enum db_pooler);
enum db_pooler db_pooler_get(void);

/* Create and start connecting. opts is copied; the strings are borrowed. */
struct db *
db_new(struct event_base *, const struct db_opts *, db_state_cb, void *arg);
/* Close at once; rounds in flight get lost=true. NULL-safe. */
void db_free(struct db *);
bool db_ready(const struct db *);

/*
 * Queue prepared statement number stmt (index into opts.stmts) with text
 * parameters (NULL entries are SQL NULL; libpq copies them). Or an
 * unprepared statement without parameters. 0, or -1 when not ready.
 */
int db_send(struct db *, int stmt, const char *const *params);
int db_send_sql(struct db *, const char *sql);

/*
 * Close the round of the statements sent since the last one, with sync or
 * not; cb gets the results. A round after a failed one in the same
 * transaction gets only aborted statements: end it with a sync round.
 * 0, or -1 when not ready (cb never runs).
 */
int db_round(struct db *, bool sync, db_round_cb cb, void *arg);

/* Counters for metrics and tests. */
struct db_stats {
	uint64_t connects; /* successful connects */
	uint64_t failures; /* failed connects and lost connections */
	uint64_t rounds;
};
void db_stats(const struct db *, struct db_stats *);

/* The backend's process id (for tests: pg_terminate_backend), 0 if none. */
int db_backend_pid(const struct db *);

#endif
