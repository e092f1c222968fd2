/*
 * The HTTP end-to-end harness (hx.h): databases, the service process and a
 * blocking HTTP/1.1 client.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hx.h"

#define HX_PIDS_MAX 32

static const char *hx_name = "?";
static int hx_step;
static pid_t hx_pids[HX_PIDS_MAX];
static const struct hx_svc *hx_svcs[8];
static char hx_dir[256];
static int hx_port_next;

/* ---- reporting ---- */

static void
hx_cleanup(void)
{
	for (int i = 0; i < HX_PIDS_MAX; i++) {
		if (hx_pids[i] > 0) {
			kill(hx_pids[i], SIGKILL);
			waitpid(hx_pids[i], NULL, 0);
			hx_pids[i] = 0;
		}
	}
}

static void
hx_forget(pid_t pid)
{
	for (int i = 0; i < HX_PIDS_MAX; i++)
		if (hx_pids[i] == pid)
			hx_pids[i] = 0;
}

void
hx_init(const char *name, const char *proves)
{
	const char *base = getenv("MLINE_HX_PORT_BASE");

	hx_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	atexit(hx_cleanup);
	printf("# %s: %s\n", name, proves);
	hx_port_next = base != NULL ? atoi(base) : 0;
	if (hx_port_next < 1024 || hx_port_next > 65000)
		hx_port_next = 24000 + (int)(getpid() % 4000) * 8;
}

void
hx_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s: ", hx_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (size_t i = 0; i < sizeof(hx_svcs) / sizeof(hx_svcs[0]); i++)
		if (hx_svcs[i] != NULL)
			hx_svc_dump_log(hx_svcs[i]);
	exit(1);
}

void
hx_ok(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d - ", ++hx_step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

long long
hx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hx_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- environment, processes ---- */

static const char *
hx_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		hx_fail("%s is not set (run the test through ctest)", name);
	return v;
}

const char *
hx_bin(void)
{
	return hx_env("MLINE_BIN");
}

const char *
hx_sim_bin(void)
{
	return hx_env("MLINE_SIM_BIN");
}

const char *
hx_source(void)
{
	return hx_env("MLINE_SOURCE_DIR");
}

const char *
hx_workdir(void)
{
	if (hx_dir[0] == '\0') {
		snprintf(hx_dir, sizeof(hx_dir), "%.200s/%.50s",
		    hx_env("MLINE_HX_WORK"), hx_name);
		mkdir(hx_env("MLINE_HX_WORK"), 0755);
		mkdir(hx_dir, 0755);
	}
	return hx_dir;
}

pid_t
hx_spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();
	int slot;

	if (pid < 0)
		hx_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	for (slot = 0; slot < HX_PIDS_MAX && hx_pids[slot] != 0; slot++)
		;
	if (slot == HX_PIDS_MAX)
		hx_fail("too many processes");
	hx_pids[slot] = pid;
	return pid;
}

static int
hx_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
hx_wait(pid_t pid, long timeout_ms)
{
	long long end = hx_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			hx_forget(pid);
			return hx_status(st);
		}
		if (r < 0 && errno != EINTR)
			hx_fail("waitpid %d: %s", (int)pid, strerror(errno));
		if (hx_now_ms() >= end)
			return -1;
		hx_sleep_ms(10);
	}
}

/* Run argv to completion (at most 120 s); fail unless it exits 0. */
static void
hx_run(char *const argv[], const char *log)
{
	pid_t pid = hx_spawn(argv, log);
	int rc = hx_wait(pid, 120000);

	if (rc != 0) {
		if (rc < 0)
			kill(pid, SIGKILL);
		hx_fail("%s %s exited %d (log %s)", argv[0], argv[1], rc, log);
	}
}

void
hx_cluster(const char *cmd, const char *dir)
{
	char log[600];
	char *argv[] = { "/bin/sh", (char *)hx_env("MLINE_PG_CLUSTER"),
		(char *)cmd, (char *)dir, NULL };

	snprintf(log, sizeof(log), "%s/cluster.log", hx_workdir());
	hx_run(argv, log);
}

int
hx_free_port(void)
{
	for (int tries = 0; tries < 200; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ok;
		int port = hx_port_next++;

		if (hx_port_next > 65000)
			hx_port_next = 20000;
		a.sin_port = htons((uint16_t)port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	hx_fail("no free TCP port");
}

/* ---- PostgreSQL ---- */

static void
hx_notice_cb(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static PGresult *
hx_query(const char *conninfo, const char *sql)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		hx_fail("connect %s: %s", conninfo, PQerrorMessage(c));
	PQsetNoticeProcessor(c, hx_notice_cb, NULL);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK)
		hx_fail("%s: %s", sql, PQerrorMessage(c));
	PQfinish(c);
	return r;
}

const char *
hx_db_create_on(const char *host, const char *port, const char *name)
{
	static char conninfo[600];
	char admin[600], sql[256], log[600], csv[600];
	PGresult *r;

	if (host == NULL || port == NULL || *host == '\0') {
		if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)
			hx_fail("no test cluster and CI=true");
		printf("SKIP: no test cluster\n");
		exit(HX_SKIP);
	}
	snprintf(admin, sizeof(admin),
	    "host=%s port=%s user=postgres "
	    "dbname=postgres",
	    host, port);
	snprintf(
	    sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	PQclear(hx_query(admin, sql));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	PQclear(hx_query(admin, sql));
	snprintf(conninfo, sizeof(conninfo),
	    "host=%s port=%s user=postgres "
	    "dbname=%s",
	    host, port, name);
	snprintf(log, sizeof(log), "%s/setup.log", hx_workdir());
	snprintf(csv, sizeof(csv), "%s/tests/data/contracts-sample.csv",
	    hx_source());
	{
		char *mig[] = { (char *)hx_bin(), "migrate", "--db", conninfo,
			NULL };
		char *imp[] = { (char *)hx_bin(), "import", "contracts", "--db",
			conninfo, csv, NULL };

		hx_run(mig, log);
		hx_run(imp, log);
	}
	r = hx_query(conninfo, "SELECT count(*) FROM contracts");
	if (atol(PQgetvalue(r, 0, 0)) < 5)
		hx_fail("the sample contracts were not imported");
	PQclear(r);
	return conninfo;
}

void
hx_import(const char *conninfo, const char *csv)
{
	char log[600];
	char *argv[] = { (char *)hx_bin(), "import", "contracts", "--db",
		(char *)conninfo, (char *)csv, NULL };

	snprintf(log, sizeof(log), "%s/setup.log", hx_workdir());
	hx_run(argv, log);
}

const char *
hx_db_create(const char *name)
{
	return hx_db_create_on(
	    getenv("MLINE_HX_PGHOST"), getenv("MLINE_HX_PGPORT"), name);
}

static PGresult *
hx_vquery(const char *conninfo, const char *fmt, va_list ap)
{
	char sql[4096];

	vsnprintf(sql, sizeof(sql), fmt, ap);
	return hx_query(conninfo, sql);
}

long
hx_sql_long(const char *conninfo, const char *fmt, ...)
{
	va_list ap;
	PGresult *r;
	long v = 0;

	va_start(ap, fmt);
	r = hx_vquery(conninfo, fmt, ap);
	va_end(ap);
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

const char *
hx_sql_text(const char *conninfo, const char *fmt, ...)
{
	static char buf[4096];
	va_list ap;
	PGresult *r;

	va_start(ap, fmt);
	r = hx_vquery(conninfo, fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		snprintf(buf, sizeof(buf), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return buf;
}

/* ---- the service ---- */

static void
hx_svc_write_conf(struct hx_svc *s, const char *conninfo, const char *extra)
{
	FILE *f = fopen(s->conf, "w");

	if (f == NULL)
		hx_fail("%s: %s", s->conf, strerror(errno));
	fprintf(f,
	    "[database]\nconninfo = %s\n\n[http]\n"
	    "listen = 127.0.0.1:%d\nsecret = %s\n%s\n"
	    "[window]\n; any day: the tests must not depend on the date\n"
	    "days = 1-31\n",
	    conninfo, s->port, HX_SECRET, extra != NULL ? extra : "");
	fclose(f);
}

static bool
hx_log_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Whether something accepts connections on 127.0.0.1:port. */
static bool
hx_port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void
hx_svc_remember(const struct hx_svc *s, bool on)
{
	for (size_t i = 0; i < sizeof(hx_svcs) / sizeof(hx_svcs[0]); i++) {
		if (on && hx_svcs[i] == NULL) {
			hx_svcs[i] = s;
			return;
		}
		if (!on && hx_svcs[i] == s)
			hx_svcs[i] = NULL;
	}
}

/* Start and wait for the port; retry on another port when it was taken
 * between hx_free_port and the service's bind. */
static void
hx_svc_launch(struct hx_svc *s, const char *conninfo, const char *extra)
{
	static int n;

	for (int attempt = 0; attempt < 5; attempt++) {
		char *argv[] = { (char *)hx_bin(), "serve", "--config", s->conf,
			NULL };
		long long end = hx_now_ms() + 20000;
		int rc = -1;

		s->port = hx_free_port();
		snprintf(s->conf, sizeof(s->conf), "%s/serve-%d.conf",
		    hx_workdir(), n);
		snprintf(s->log, sizeof(s->log), "%s/serve-%d.log",
		    hx_workdir(), n++);
		unlink(s->log);
		hx_svc_write_conf(s, conninfo, extra);
		s->pid = hx_spawn(argv, s->log);
		hx_svc_remember(s, true);
		while (hx_now_ms() < end && (rc = hx_wait(s->pid, 0)) < 0 &&
		    !hx_port_open(s->port))
			hx_sleep_ms(20);
		if (rc < 0 && hx_port_open(s->port))
			return;
		if (rc < 0)
			hx_fail("meterline serve did not listen within 20 s");
		if (!hx_log_has(s->log, "cannot listen"))
			hx_fail("meterline serve exited %d at start", rc);
		hx_svc_remember(s, false);
	}
	hx_fail("meterline serve could not get a port");
}

void
hx_svc_start_nowait(struct hx_svc *s, const char *conninfo, const char *extra)
{
	memset(s, 0, sizeof(*s));
	hx_svc_launch(s, conninfo, extra);
}

void
hx_svc_start(struct hx_svc *s, const char *conninfo, const char *extra)
{
	hx_svc_start_nowait(s, conninfo, extra);
	if (!hx_wait_health(s->port, 200, 30000))
		hx_fail("/healthz did not become 200 within 30 s");
}

void
hx_svc_stop(struct hx_svc *s)
{
	int rc;

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	rc = hx_wait(s->pid, 30000);
	if (rc < 0) {
		kill(s->pid, SIGKILL);
		hx_wait(s->pid, 5000);
		s->pid = 0;
		hx_fail("meterline serve did not stop within 30 s of SIGTERM");
	}
	s->pid = 0;
	if (rc != 0)
		hx_fail("meterline serve exited %d after SIGTERM (a clean stop "
		        "is 0)",
		    rc);
	hx_svc_remember(s, false);
}

void
hx_svc_dump_log(const struct hx_svc *s)
{
	FILE *f = fopen(s->log, "r");
	char line[1024];

	if (f == NULL)
		return;
	fprintf(stderr, "---- %s ----\n", s->log);
	while (fgets(line, sizeof(line), f) != NULL)
		fputs(line, stderr);
	fprintf(stderr, "---- end of %s ----\n", s->log);
	fclose(f);
}

bool
hx_wait_health(int port, int want, long timeout_ms)
{
	long long end = hx_now_ms() + timeout_ms;

	for (;;) {
		struct hx_resp r = { 0 };
		int fd = hx_connect(port);
		size_t len;
		char *req =
		    hx_request("GET", "/healthz", NULL, NULL, "", 0, &len);
		int status = -1;

		if (hx_send(fd, req, len) == 0 && hx_recv(fd, &r, NULL) == 0)
			status = r.status;
		free(req);
		close(fd);
		hx_resp_clear(&r);
		if (status == want)
			return true;
		if (hx_now_ms() >= end)
			return false;
		hx_sleep_ms(50);
	}
}

/* ---- HTTP ---- */

void
hx_resp_clear(struct hx_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int
hx_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { 30, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		hx_fail("connect 127.0.0.1:%d: %s", port, strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

int
hx_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Content-Length of a header block, or -1 if there is none. */
static long
hx_content_length(const char *head)
{
	for (const char *p = strchr(head, '\n'); p != NULL;
	     p = strchr(p + 1, '\n'))
		if (strncasecmp(p + 1, "content-length:", 15) == 0)
			return atol(p + 16);
	return -1;
}

int
hx_recv(int fd, struct hx_resp *r, bool *got_bytes)
{
	size_t cap = 16384, len = 0, hlen = 0;
	char *buf = malloc(cap), *end = NULL;
	long clen = -1;

	hx_resp_clear(r);
	if (got_bytes != NULL)
		*got_bytes = false;
	for (;;) {
		ssize_t n;

		if (end != NULL && clen >= 0 && len >= hlen + (size_t)clen)
			break;
		if (len + 4096 > cap)
			buf = realloc(buf, cap *= 2);
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (end != NULL && clen < 0)
				break; /* body until close */
			free(buf);
			return -1;
		}
		if (got_bytes != NULL)
			*got_bytes = true;
		len += (size_t)n;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			hlen = (size_t)(end - buf) + 4;
			if (hlen >= sizeof(r->head))
				hx_fail("response headers of %zu bytes", hlen);
			memcpy(r->head, buf, hlen);
			r->head[hlen] = '\0';
			clen = hx_content_length(r->head);
			r->status = atoi(buf + 9);
		}
	}
	r->body_len = clen >= 0 ? (size_t)clen : len - hlen;
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, buf + hlen, r->body_len);
	r->body[r->body_len] = '\0';
	free(buf);
	return 0;
}

const char *
hx_header(const struct hx_resp *r, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);

	for (const char *p = strchr(r->head, '\n'); p != NULL;
	     p = strchr(p + 1, '\n')) {
		if (strncasecmp(p + 1, name, nl) == 0 && p[1 + nl] == ':') {
			const char *v = p + 2 + nl, *e;

			while (*v == ' ')
				v++;
			e = strchr(v, '\r');
			snprintf(buf, len, "%.*s",
			    (int)(e ? e - v : (long)strlen(v)), v);
			return buf;
		}
	}
	return NULL;
}

json_t *
hx_json(const struct hx_resp *r)
{
	json_error_t e;
	json_t *o = json_loadb(r->body, r->body_len, 0, &e);

	if (o == NULL || !json_is_object(o))
		hx_fail("HTTP %d: body is not a JSON object (%s): %.200s",
		    r->status, e.text, r->body);
	return o;
}

const char *
hx_jfield(const struct hx_resp *r, const char *key)
{
	static _Thread_local char buf[4096];
	json_t *o = hx_json(r), *v = json_object_get(o, key);

	if (v == NULL)
		snprintf(buf, sizeof(buf), "(absent)");
	else if (json_is_null(v))
		snprintf(buf, sizeof(buf), "(null)");
	else if (json_is_string(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else
		snprintf(buf, sizeof(buf), "(not a string)");
	json_decref(o);
	return buf;
}

void
hx_sign(const char *secret, const void *body, size_t len, char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	HMAC(
	    EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &maclen);
	for (unsigned i = 0; i < maclen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	hex[64] = '\0';
}

char *
hx_request(const char *method, const char *path, const char *ctype,
    const char *sig, const char *body, size_t body_len, size_t *len)
{
	size_t cap = body_len + 1024;
	char *out = malloc(cap);
	int n;

	n = snprintf(
	    out, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path);
	if (ctype != NULL)
		n += snprintf(
		    out + n, cap - (size_t)n, "Content-Type: %s\r\n", ctype);
	if (sig != NULL)
		n += snprintf(out + n, cap - (size_t)n,
		    "X-Meterline-Signature: %s\r\n", sig);
	if (body_len > 0 || strcmp(method, "POST") == 0)
		n += snprintf(out + n, cap - (size_t)n,
		    "Content-Length: %zu\r\n", body_len);
	n += snprintf(out + n, cap - (size_t)n, "\r\n");
	memcpy(out + n, body, body_len);
	*len = (size_t)n + body_len;
	out[*len] = '\0';
	return out;
}

char *
hx_msg(const char *id, const char *channel, const char *from, const char *text)
{
	size_t cap =
	    strlen(id) + strlen(channel) + strlen(from) + strlen(text) + 200;
	char *b = malloc(cap), ts[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(b, cap,
	    "{\"id\":\"%s\",\"channel\":\"%s\",\"from\":\"%s\","
	    "\"to\":\"7377\",\"text\":\"%s\",\"timestamp\":\"%s\"}",
	    id, channel, from, text, ts);
	return b;
}

int
hx_post_on(int fd, const char *body, struct hx_resp *r)
{
	char hex[65], sig[80];
	size_t len;
	char *req;
	int rc;

	hx_sign(HX_SECRET, body, strlen(body), hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	req = hx_request("POST", "/v1/messages", "application/json", sig, body,
	    strlen(body), &len);
	rc = hx_send(fd, req, len) == 0 ? hx_recv(fd, r, NULL) : -1;
	free(req);
	return rc;
}

void
hx_post(int port, const char *body, struct hx_resp *r)
{
	int fd = hx_connect(port);

	if (hx_post_on(fd, body, r) < 0)
		hx_fail("POST %s: no response", body);
	close(fd);
}

const char *
hx_say(int port, const char *id, const char *channel, const char *from,
    const char *text, char *reply, size_t reply_len)
{
	static char outcome[64];
	struct hx_resp r = { 0 };
	char *body = hx_msg(id, channel, from, text);

	hx_post(port, body, &r);
	if (r.status != 200)
		hx_fail("POST %s: HTTP %d %s", body, r.status, r.body);
	HX_EQ_STR(hx_jfield(&r, "id"), id);
	snprintf(outcome, sizeof(outcome), "%s", hx_jfield(&r, "outcome"));
	if (reply != NULL)
		snprintf(reply, reply_len, "%s", hx_jfield(&r, "reply"));
	hx_resp_clear(&r);
	free(body);
	return outcome;
}

void
hx_get(int port, const char *path, struct hx_resp *r)
{
	int fd = hx_connect(port);
	size_t len;
	char *req = hx_request("GET", path, NULL, NULL, "", 0, &len);

	if (hx_send(fd, req, len) < 0 || hx_recv(fd, r, NULL) < 0)
		hx_fail("GET %s: no response", path);
	free(req);
	close(fd);
}

char *
hx_scrape(int port)
{
	struct hx_resp r = { 0 };
	char *text;

	hx_get(port, "/metrics", &r);
	if (r.status != 200)
		hx_fail("GET /metrics: HTTP %d", r.status);
	text = r.body;
	r.body = NULL;
	hx_resp_clear(&r);
	return text;
}

double
hx_mval(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p != NULL && *p;) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return 0;
}

double
hx_metric(int port, const char *series)
{
	char *text = hx_scrape(port);
	double v = hx_mval(text, series);

	free(text);
	return v;
}
