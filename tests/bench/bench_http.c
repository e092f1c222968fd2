/*
 * bench_http: POST /v1/messages throughput and latency. A small libevent
 * client keeps C keep-alive connections busy (each sends its next request
 * as soon as the previous answer is in) with signed single-register
 * submissions ("ПС 102057522 11638"), each with a new id and, unless
 * --senders is given, a new sender (so the per-sender rate limit never
 * triggers but its table is exercised). With --contracts N the requests
 * go round contracts 10000000 .. 10000000 + N - 1 ("ПС 10000042 1100":
 * what bench_http_real.sh imports), as customers of a utility do, instead
 * of all to one meter. Prints requests/s and latency percentiles per run
 * and the median of the runs.
 *
 *   bench_http [--connections 64] [--duration 5] [--runs 3] [--contracts N]
 *   bench_http --url http://127.0.0.1:8080/v1/messages --secret S [...]
 *   bench_http --smoke     in-process server, short runs; exit 1 on errors
 *   bench_http --serve     only the in-process server (no rate limit), for
 *                          wrk or curl; prints its URL, stops on Ctrl-C
 *
 * Without --url the server runs in this process, in its own thread and
 * event loop, with a fake intake that answers every message "accepted" on
 * the next loop iteration (no database): the figure is the HTTP layer's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "meterline/http_intake.h"
#include "meterline/intake.h"
#include "meterline/log.h"
#include "meterline/metrics.h"
#include "meterline/xmalloc.h"

#define BENCH_SECRET "bench-secret"
#define BENCH_TEXT "ПС 102057522 11638"
#define RUNS_MAX 15

struct opts {
	char url[256];
	char secret[256];
	int connections;
	double duration;
	int runs;
	long senders; /* 0 = a new sender per request */
	long contracts; /* 0 = every request to BENCH_TEXT's contract */
	bool smoke, serve;
};

/*
 * An event base whose epoll backend batches changes per loop iteration:
 * evhttp disables and re-enables reading around every request, and the
 * changelist turns those pairs into no epoll_ctl call at all.
 */
static struct event_base *
bench_base_new(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *b;

	if (getenv("BENCH_NO_CHANGELIST") == NULL)
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(ec);
	event_config_free(ec);
	return b;
}

/* ---- the in-process server with a fake instant intake ---- */

struct fake_job {
	intake_done_cb done;
	void *arg;
	struct fake_job *next;
};

struct server {
	struct event_base *base;
	struct http_intake *http;
	struct metrics *metrics;
	struct event *flush, *tick;
	struct fake_job *jobs, **tail;
	atomic_bool stop;
	pthread_t thread;
};

/* Answer everything queued since the last loop iteration, like a store
 * that commits one batch per iteration. */
static void
fake_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	static const struct intake_result ok = { INTAKE_APPLIED, "accepted",
		NULL, "Показания приняты. Спасибо.", 1 };
	struct server *s = arg;
	struct fake_job *j = s->jobs;

	(void)fd;
	(void)what;
	s->jobs = NULL;
	s->tail = &s->jobs;
	while (j != NULL) {
		struct fake_job *next = j->next;

		j->done(&ok, j->arg);
		free(j);
		j = next;
	}
}

static int
fake_submit(
    void *ctx, const struct inbound_msg *m, intake_done_cb done, void *arg)
{
	struct server *s = ctx;
	struct fake_job *j = malloc(sizeof(*j));

	(void)m;
	j->done = done;
	j->arg = arg;
	j->next = NULL;
	*s->tail = j;
	s->tail = &j->next;
	event_active(s->flush, EV_TIMEOUT, 0);
	return 0;
}

static void
server_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	if (atomic_load(&s->stop))
		event_base_loopbreak(s->base);
}

static void *
server_main(void *arg)
{
	struct server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static int
server_start(struct server *s, struct opts *o)
{
	struct timeval tv = { 0, 50000 };
	struct config *conf = xmalloc(sizeof(*conf));
	struct config_http *cfg = &conf->http;
	struct intake in = { fake_submit, s };
	struct http_intake_deps deps = { &in, NULL, NULL, NULL };
	char err[256];

	memset(s, 0, sizeof(*s));
	s->base = bench_base_new();
	s->metrics = metrics_new();
	deps.metrics = s->metrics;
	s->tail = &s->jobs;
	s->flush = event_new(s->base, -1, 0, fake_flush_cb, s);
	s->tick = event_new(s->base, -1, EV_PERSIST, server_tick_cb, s);
	event_add(s->tick, &tv);
	config_defaults(conf); /* the [http] defaults of the key table */
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:0");
	snprintf(cfg->secret, sizeof(cfg->secret), "%s", BENCH_SECRET);
	if (o->serve) /* wrk repeats one request: one sender */
		cfg->rate_limit = 0;
	s->http = http_intake_new(s->base, cfg, NULL, &deps, err, sizeof(err));
	free(conf);
	if (s->http == NULL) {
		fprintf(stderr, "bench_http: %s\n", err);
		return -1;
	}
	snprintf(o->url, sizeof(o->url), "http://127.0.0.1:%d/v1/messages",
	    http_intake_port(s->http));
	snprintf(o->secret, sizeof(o->secret), "%s", BENCH_SECRET);
	atomic_store(&s->stop, false);
	return pthread_create(&s->thread, NULL, server_main, s) == 0 ? 0 : -1;
}

static void
server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	http_intake_free(s->http);
	fake_flush_cb(-1, 0, s);
	event_free(s->flush);
	event_free(s->tick);
	metrics_free(s->metrics);
	event_base_free(s->base);
}

/* ---- the client: raw non-blocking sockets, one event per connection ---- */

struct run;

struct conn {
	int fd;
	struct event *ev;
	struct run *run;
	int64_t sent_ns;
	size_t inlen;
	char in[16384];
};

struct run {
	struct event_base *base;
	struct sockaddr_storage addr;
	int addrlen;
	char host[128], path[128];
	const struct opts *o;
	struct conn *conns;
	int64_t start_ns, end_ns;
	bool stopping;
	int active;
	long seq, ok, errors;
	int64_t *lat_ns;
	size_t nlat, caplat;
	unsigned tag;
	struct http_signer *signer;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
conn_close(struct conn *c)
{
	struct run *r = c->run;

	if (c->fd < 0)
		return;
	event_free(c->ev);
	close(c->fd);
	c->fd = -1;
	if (--r->active == 0)
		event_base_loopbreak(r->base);
}

/* Write all of buf (a request is small: the socket buffer takes it). */
static int
conn_write(struct conn *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
			continue;
		}
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Build and send the next signed request on c. */
static void
conn_send(struct conn *c)
{
	struct run *r = c->run;
	char body[512], req[1024], hex[65], text[64];
	long n = r->seq++;
	long sender = r->o->senders > 0 ? n % r->o->senders : n;
	int blen, len;

	if (r->o->contracts > 0)
		snprintf(text, sizeof(text), "ПС %ld 1100",
		    10000000 + n % r->o->contracts);
	else
		snprintf(text, sizeof(text), "%s", BENCH_TEXT);
	blen = snprintf(body, sizeof(body),
	    "{\"id\":\"bench-%u-%ld\",\"channel\":\"viber\","
	    "\"from\":\"79%09ld\",\"to\":\"7377\",\"text\":\"%s\","
	    "\"timestamp\":\"2024-05-20T10:00:00+03:00\"}",
	    r->tag, n, sender % 1000000000, text);
	http_signer_hex(r->signer, body, (size_t)blen, hex);
	len = snprintf(req, sizeof(req),
	    "POST %s HTTP/1.1\r\nHost: %s\r\n"
	    "Content-Type: application/json\r\n"
	    "X-Meterline-Signature: sha256=%s\r\n"
	    "Content-Length: %d\r\n\r\n%s",
	    r->path, r->host, hex, blen, body);
	c->sent_ns = now_ns();
	if (conn_write(c, req, (size_t)len) < 0) {
		r->errors++;
		conn_close(c);
	}
}

static void
run_record(struct run *r, int64_t ns)
{
	if (r->nlat == r->caplat) {
		r->caplat = r->caplat ? r->caplat * 2 : 65536;
		r->lat_ns = realloc(r->lat_ns, r->caplat * sizeof(*r->lat_ns));
	}
	r->lat_ns[r->nlat++] = ns;
}

/* A complete response at the start of c->in? Consume it and return its
 * status; 0 when more bytes are needed, -1 when it cannot be parsed. */
static int
conn_take_response(struct conn *c)
{
	char *end = NULL, *p;
	size_t hlen, clen = 0, total;
	int status;

	for (size_t i = 0; i + 4 <= c->inlen && end == NULL; i++)
		if (memcmp(c->in + i, "\r\n\r\n", 4) == 0)
			end = c->in + i;
	if (end == NULL)
		return c->inlen >= sizeof(c->in) ? -1 : 0;
	hlen = (size_t)(end - c->in) + 4;
	for (p = c->in; p < end; p++) {
		if ((*p == 'C' || *p == 'c') && p > c->in && p[-1] == '\n' &&
		    strncasecmp(p, "content-length:", 15) == 0) {
			clen = (size_t)atol(p + 15);
			break;
		}
	}
	total = hlen + clen;
	if (total > sizeof(c->in))
		return -1;
	if (c->inlen < total)
		return 0;
	status = atoi(c->in + 9);
	memmove(c->in, c->in + total, c->inlen - total);
	c->inlen -= total;
	return status > 0 ? status : -1;
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct run *r = c->run;
	ssize_t n;
	int status;

	(void)what;
	n = recv(fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		r->errors++;
		fprintf(stderr, "bench_http: connection %s\n",
		    n == 0 ? "closed by the server" : strerror(errno));
		conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	while ((status = conn_take_response(c)) != 0) {
		int64_t t = now_ns();

		if (status == 200) {
			r->ok++;
			run_record(r, t - c->sent_ns);
		} else if (r->errors++ < 5) {
			fprintf(stderr, "bench_http: HTTP %d\n", status);
		}
		if (status < 0 || r->stopping || t >= r->end_ns) {
			r->stopping = true;
			conn_close(c);
			return;
		}
		conn_send(c);
		if (c->fd < 0)
			return;
	}
}

static int
conn_open(struct run *r, struct conn *c)
{
	int one = 1;

	c->run = r;
	c->fd = socket(r->addr.ss_family, SOCK_STREAM, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&r->addr, (socklen_t)r->addrlen) <
	        0) {
		fprintf(stderr, "bench_http: connect: %s\n", strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	evutil_make_socket_nonblocking(c->fd);
	c->ev =
	    event_new(r->base, c->fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	event_add(c->ev, NULL);
	r->active++;
	return 0;
}

/* http://host:port/path */
static int
parse_url(struct run *r, const char *url)
{
	const char *p, *slash;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL || (size_t)(slash - p) >= sizeof(r->host))
		return -1;
	snprintf(r->host, sizeof(r->host), "%.*s", (int)(slash - p), p);
	snprintf(r->path, sizeof(r->path), "%s", slash);
	r->addrlen = sizeof(r->addr);
	return evutil_parse_sockaddr_port(
	    r->host, (struct sockaddr *)&r->addr, &r->addrlen);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double
pct_ms(const struct run *r, double p)
{
	size_t i;

	if (r->nlat == 0)
		return 0;
	i = (size_t)(p * (double)(r->nlat - 1) + 0.5);
	return (double)r->lat_ns[i] / 1e6;
}

struct result {
	double rps, p50, p99, max;
	long errors;
};

/* CPU time of the whole process (client and in-process server), in µs. */
static int64_t
cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static int
run_once(const struct opts *o, unsigned tag, struct result *res)
{
	struct run r;
	int64_t elapsed, cpu0 = cpu_us(), cpu;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.tag = tag;
	if (parse_url(&r, o->url) < 0) {
		fprintf(stderr,
		    "bench_http: cannot use URL %s (http://IP:PORT/path)\n",
		    o->url);
		return -1;
	}
	r.base = bench_base_new();
	r.signer = http_signer_new(
	    (const unsigned char *)o->secret, strlen(o->secret));
	r.conns = calloc((size_t)o->connections, sizeof(*r.conns));
	for (int i = 0; i < o->connections; i++) {
		r.conns[i].fd = -1;
		if (conn_open(&r, &r.conns[i]) < 0)
			r.errors++;
	}
	r.start_ns = now_ns();
	r.end_ns = r.start_ns + (int64_t)(o->duration * 1e9);
	for (int i = 0; i < o->connections; i++)
		if (r.conns[i].fd >= 0)
			conn_send(&r.conns[i]);
	if (r.active > 0)
		event_base_dispatch(r.base);
	elapsed = now_ns() - r.start_ns;
	cpu = cpu_us() - cpu0;
	for (int i = 0; i < o->connections; i++)
		conn_close(&r.conns[i]);
	qsort(r.lat_ns, r.nlat, sizeof(*r.lat_ns), cmp_i64);
	res->rps = (double)r.ok / ((double)elapsed / 1e9);
	res->p50 = pct_ms(&r, 0.50);
	res->p99 = pct_ms(&r, 0.99);
	res->max = r.nlat ? (double)r.lat_ns[r.nlat - 1] / 1e6 : 0;
	res->errors = r.errors;
	printf(
	    "run %u: %ld requests in %.2f s: %.0f requests/s, latency p50 "
	    "%.2f ms, p99 %.2f ms, max %.2f ms, errors %ld, CPU %.1f us/request "
	    "(this process)\n",
	    tag, r.ok, (double)elapsed / 1e9, res->rps, res->p50, res->p99,
	    res->max, r.errors, r.ok ? (double)cpu / (double)r.ok : 0.0);
	free(r.lat_ns);
	free(r.conns);
	http_signer_free(r.signer);
	event_base_free(r.base);
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench_http [--smoke] [--url http://IP:PORT/v1/messages "
	    "--secret S] [--connections N] [--duration SECONDS] [--runs N] "
	    "[--senders N] [--contracts N]\n");
	exit(2);
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->connections = 64;
	o->duration = 5;
	o->runs = 3;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--smoke") == 0) {
			o->smoke = true;
			o->duration = 0.3;
			continue;
		}
		if (strcmp(a, "--serve") == 0) {
			o->serve = true;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--url") == 0)
			snprintf(o->url, sizeof(o->url), "%s", v);
		else if (strcmp(a, "--secret") == 0)
			snprintf(o->secret, sizeof(o->secret), "%s", v);
		else if (strcmp(a, "--connections") == 0)
			o->connections = atoi(v);
		else if (strcmp(a, "--duration") == 0)
			o->duration = atof(v);
		else if (strcmp(a, "--runs") == 0)
			o->runs = atoi(v);
		else if (strcmp(a, "--senders") == 0)
			o->senders = atol(v);
		else if (strcmp(a, "--contracts") == 0)
			o->contracts = atol(v);
		else
			usage();
	}
	if (o->connections < 1 || o->connections > 10000 || o->runs < 1 ||
	    o->runs > RUNS_MAX || o->duration <= 0 || o->contracts < 0 ||
	    o->contracts > 89999999)
		usage();
	if (o->serve && o->url[0] != '\0')
		usage();
	if (o->url[0] != '\0' && o->secret[0] == '\0') {
		fprintf(stderr, "bench_http: --url needs --secret\n");
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct server srv;
	struct result res[RUNS_MAX];
	double rps[RUNS_MAX], p99[RUNS_MAX];
	bool own = false;
	long errors = 0;
	sigset_t stop_set;

	parse_args(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	/* blocked in every thread, taken by sigwait in --serve */
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	if (o.serve)
		pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	log_set_level(LOG_WARN);
	if (o.url[0] == '\0') {
		if (server_start(&srv, &o) < 0)
			return 1;
		own = true;
	}
	if (own && o.serve) {
		int sig;

		printf("bench_http: serving %s (secret %s) until Ctrl-C\n",
		    o.url, o.secret);
		fflush(stdout);
		sigwait(&stop_set, &sig);
		server_stop(&srv);
		return 0;
	}
	printf("bench_http: %s, %d connections, %.1f s x %d runs%s\n", o.url,
	    o.connections, o.duration, o.runs,
	    own ? " (in-process server, fake instant intake)" : "");
	for (int i = 0; i < o.runs; i++) {
		if (run_once(&o,
		        (unsigned)(time(NULL) % 100000) * 100 + (unsigned)i + 1,
		        &res[i]) < 0)
			return 1;
		rps[i] = res[i].rps;
		p99[i] = res[i].p99;
		errors += res[i].errors;
	}
	if (own)
		server_stop(&srv);
	qsort(rps, (size_t)o.runs, sizeof(double), cmp_double);
	qsort(p99, (size_t)o.runs, sizeof(double), cmp_double);
	printf("median of %d: %.0f requests/s, p99 %.2f ms\n", o.runs,
	    rps[o.runs / 2], p99[o.runs / 2]);
	if (errors > 0 || rps[0] <= 0) {
		fprintf(stderr, "bench_http: %ld errors\n", errors);
		return 1;
	}
	return 0;
}
