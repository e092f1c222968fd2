/*
 * Harness of the HTTP end-to-end tests: the real `meterline serve` (the
 * binary under test, started with fork/exec) against a real PostgreSQL
 * (the cluster of the ctest fixture in tests/http_e2e/CMakeLists.txt), and
 * a deliberately dumb blocking HTTP/1.1 client of our own, so that what
 * goes over the wire is exactly what the test wrote.
 *
 * Every check that fails prints why and exits 1; an atexit handler kills
 * every process the test started (and the children also die with the test
 * through PR_SET_PDEATHSIG), so nothing outlives a failed run. Blocking
 * calls are fine here: this is test code, never the event loop.
 */
#ifndef METERLINE_HX_H
#define METERLINE_HX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define HX_SKIP 77 /* ctest SKIP_RETURN_CODE */
#define HX_SECRET "e2e-secret" /* [http] secret of every test service */

/* ---- reporting ---- */

/* Start test `name`: read the environment, print what it proves. */
void hx_init(const char *name, const char *proves);

void
hx_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* "ok N - what" once a step has passed. */
void hx_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define HX_CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			    __LINE__, #cond); \
			hx_fail(__VA_ARGS__); \
		} \
	} while (0)
#define HX_EQ_INT(a, b) \
	do { \
		long a_ = (long)(a), b_ = (long)(b); \
		if (a_ != b_) \
			hx_fail("%s:%d: %s == %ld, expected %ld", __FILE__, \
			    __LINE__, #a, a_, b_); \
	} while (0)
#define HX_EQ_STR(a, b) \
	do { \
		const char *a_ = (a), *b_ = (b); \
		if (strcmp(a_ ? a_ : "(null)", b_ ? b_ : "(null)") != 0) \
			hx_fail("%s:%d: %s == \"%s\", expected \"%s\"", \
			    __FILE__, __LINE__, #a, a_ ? a_ : "(null)", \
			    b_ ? b_ : "(null)"); \
	} while (0)

/* Monotonic milliseconds. */
long long hx_now_ms(void);
void hx_sleep_ms(long ms);

/* ---- PostgreSQL ---- */

/*
 * A fresh database `name` on the fixture's cluster (or on the cluster of the
 * environment variables host_env/port_env when not NULL), migrated and with
 * tests/data/contracts-sample.csv imported. Returns its conninfo (static).
 * Without a cluster: exit 77 (1 when CI=true).
 */
const char *hx_db_create(const char *name);
const char *
hx_db_create_on(const char *host, const char *port, const char *name);

/* meterline import contracts CSV into the database; fail unless it
 * exits 0. */
void hx_import(const char *conninfo, const char *csv);

/* First column of the first row of a printf-formatted query, as a long
 * (0 for NULL) or a string ("" for NULL; static buffer). Fail on errors. */
long hx_sql_long(const char *conninfo, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *hx_sql_text(const char *conninfo, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Run the cluster script: pg_cluster.sh CMD DIR (halt, resume). */
void hx_cluster(const char *cmd, const char *dir);

/* ---- processes ---- */

/* Start argv (argv[0] a path) with stdout+stderr into log; fail if it
 * cannot be started. The pid is remembered for the cleanup at exit. */
pid_t hx_spawn(char *const argv[], const char *log);

/* Wait for pid at most timeout_ms; its exit status (128+sig when killed),
 * or -1 on timeout. */
int hx_wait(pid_t pid, long timeout_ms);

/* The meterline binary and the source tree, from the environment. */
const char *hx_bin(void);
/* The SMSC simulator binary (MLINE_SIM_BIN). */
const char *hx_sim_bin(void);
const char *hx_source(void);

/* A working directory for this test under the build tree (static). */
const char *hx_workdir(void);

/* A TCP port on 127.0.0.1 that is free now, from this test's own range. */
int hx_free_port(void);

/* ---- the service ---- */

struct hx_svc {
	pid_t pid;
	int port; /* [http] listen */
	char conf[512];
	char log[512];
};

/*
 * Write a config ([database] conninfo, [http] on a free port with
 * HX_SECRET, [window] days = 1-31, then extra_ini verbatim) and start
 * `meterline serve`; return once /healthz answers 200 (database up).
 */
void hx_svc_start(struct hx_svc *, const char *conninfo, const char *extra_ini);

/* The same, but return as soon as the port accepts connections. */
void hx_svc_start_nowait(
    struct hx_svc *, const char *conninfo, const char *extra_ini);

/* SIGTERM, wait for it; fail unless it exits 0 (a clean stop: under ASan
 * this is also "no leak"). */
void hx_svc_stop(struct hx_svc *);

/* Print the service's log to stderr (after a failure). */
void hx_svc_dump_log(const struct hx_svc *);

/* Poll /healthz until it answers want (200 or 503), at most timeout_ms. */
bool hx_wait_health(int port, int want, long timeout_ms);

/* ---- HTTP ---- */

struct hx_resp {
	int status;
	char head[8192]; /* status line and headers, NUL-terminated */
	char *body; /* NUL-terminated, malloc'ed */
	size_t body_len;
};

void hx_resp_clear(struct hx_resp *);

/* A blocking connection to 127.0.0.1:port (TCP_NODELAY, 30 s receive
 * timeout); fail if refused. */
int hx_connect(int port);

/* Send all of buf; -1 if the peer is gone. */
int hx_send(int fd, const void *buf, size_t len);

/* Read one response (Content-Length bodies). 0, or -1 when the connection
 * ended (or timed out) first; with got_bytes set to whether any byte came. */
int hx_recv(int fd, struct hx_resp *, bool *got_bytes);

/* A value of response header name (case-insensitive) into buf; NULL if
 * absent. */
const char *
hx_header(const struct hx_resp *, const char *name, char *buf, size_t len);

/* The body parsed as JSON (owned by the caller); fail if it is not. */
json_t *hx_json(const struct hx_resp *);

/* json_string_value of member key of the response body ("(null)" for
 * null; a buffer of the calling thread, valid until its next call). */
const char *hx_jfield(const struct hx_resp *, const char *key);

/* lowercase hex HMAC-SHA256 of body keyed with secret (OpenSSL, not ours). */
void hx_sign(const char *secret, const void *body, size_t len, char hex[65]);

/*
 * A raw request: method path, Content-Type ctype (none when NULL), the
 * X-Meterline-Signature header sig verbatim (none when NULL), the body.
 * malloc'ed; *len set.
 */
char *hx_request(const char *method, const char *path, const char *ctype,
    const char *sig, const char *body, size_t body_len, size_t *len);

/* A message body {"id","channel","from","to":"7377","text","timestamp":now}
 * (malloc'ed). The strings are inserted as they are: JSON-safe ones only. */
char *
hx_msg(const char *id, const char *channel, const char *from, const char *text);

/* POST body, signed with HX_SECRET, on fd (keep-alive): 0 or -1. */
int hx_post_on(int fd, const char *body, struct hx_resp *);

/* The same on a new connection to port, closed afterwards; fail if no
 * response. */
void hx_post(int port, const char *body, struct hx_resp *);

/* A message from (id, channel, from, text) posted on a new connection:
 * fail unless 200; returns "outcome" (static until the next call). */
const char *hx_say(int port, const char *id, const char *channel,
    const char *from, const char *text, char *reply, size_t reply_len);

/* GET path on a new connection; fail if no response. */
void hx_get(int port, const char *path, struct hx_resp *);

/* GET /metrics: the text (malloc'ed). The scrape itself is one more
 * meterline_http_responses_total{code="200"}, counted after it is sent. */
char *hx_scrape(int port);

/* The value of one series in a scrape, e.g.
 * meterline_http_responses_total{code="200"}; 0 when absent. */
double hx_mval(const char *text, const char *series);

/* hx_mval of a new scrape. */
double hx_metric(int port, const char *series);

#endif
