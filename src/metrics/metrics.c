/*
 * The metrics registry: fixed-size families of counters, gauges and
 * histograms, rendered in the Prometheus text format.
 */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/log.h"
#include "meterline/metrics.h"
#include "meterline/xmalloc.h"

#define METRICS_NAME_MAX 127
#define METRICS_LABEL_MAX 31
#define METRICS_COLLECT_MAX 16
#define METRICS_OVERFLOW "_overflow"

struct metric_series {
	char values[METRICS_LABELS_MAX][METRICS_VALUE_MAX + 1];
	double value; /* counter, gauge; histogram: sum */
	unsigned long long count; /* histogram observations */
	/* per bucket, not cumulative */
	unsigned long long buckets[METRICS_BUCKETS_MAX + 1];
	struct metric *family;
	bool used;
};

struct metric {
	char name[METRICS_NAME_MAX + 1];
	char *help;
	enum metrics_type type;
	size_t nlabels;
	char labels[METRICS_LABELS_MAX][METRICS_LABEL_MAX + 1];
	double bounds[METRICS_BUCKETS_MAX];
	size_t nbounds;
	struct metric_series *series;
	size_t nseries, max_series;
	struct metric_series overflow;
};

struct metrics_collector {
	metrics_collect_cb cb;
	void *arg;
};

struct metrics {
	struct metric *families[METRICS_FAMILIES_MAX];
	size_t nfamilies;
	struct metrics_collector collect[METRICS_COLLECT_MAX];
	size_t ncollect;
};

/* A growing output buffer for the renderer. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static const char *const metrics_type_names[] = { "counter", "gauge",
	"histogram" };

struct metrics *
metrics_new(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nfamilies; i++) {
		free(m->families[i]->help);
		free(m->families[i]->series);
		free(m->families[i]);
	}
	free(m);
}

/* Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool
metrics_name_ok(const char *s, bool colon)
{
	if (s == NULL || *s == '\0' || strlen(s) > METRICS_NAME_MAX ||
	    (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '_' ||
		        (colon && c == ':')))
			return false;
	}
	return true;
}

/* Split "a,b,c" into the family's label names; -1 when one is invalid. */
static int
metrics_parse_labels(struct metric *f, const char *labels)
{
	const char *p = labels;

	f->nlabels = 0;
	if (labels == NULL || *labels == '\0')
		return 0;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *dst;

		if (f->nlabels == METRICS_LABELS_MAX || n == 0 ||
		    n > METRICS_LABEL_MAX)
			return -1;
		dst = f->labels[f->nlabels++];
		memcpy(dst, p, n);
		dst[n] = '\0';
		if (!metrics_name_ok(dst, false) ||
		    strncmp(dst, "__", 2) == 0 ||
		    (f->type == METRICS_HISTOGRAM && strcmp(dst, "le") == 0))
			return -1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Whether an existing family matches a new registration of the same name. */
static bool
metrics_same(const struct metric *a, const struct metric *b)
{
	if (a->type != b->type || a->nlabels != b->nlabels ||
	    a->nbounds != b->nbounds)
		return false;
	for (size_t i = 0; i < a->nlabels; i++)
		if (strcmp(a->labels[i], b->labels[i]) != 0)
			return false;
	for (size_t i = 0; i < a->nbounds; i++)
		if (a->bounds[i] != b->bounds[i])
			return false;
	return true;
}

static struct metric *
metrics_register(
    struct metrics *m, const struct metric *proto, const char *help)
{
	struct metric *f, *old;

	if (m == NULL)
		return NULL;
	if ((old = metrics_find(m, proto->name)) != NULL) {
		if (metrics_same(old, proto))
			return old;
		log_error(
		    "metrics: %s registered twice with different type or labels",
		    proto->name);
		return NULL;
	}
	if (m->nfamilies == METRICS_FAMILIES_MAX) {
		log_error(
		    "metrics: registry full, %s not registered", proto->name);
		return NULL;
	}
	f = xmalloc(sizeof(*f));
	*f = *proto;
	f->help = xstrdup(help ? help : "");
	f->series = xcalloc(f->max_series, sizeof(*f->series));
	f->overflow.family = f;
	for (size_t i = 0; i < f->nlabels; i++)
		strlcpy_s(f->overflow.values[i], METRICS_OVERFLOW,
		    sizeof(f->overflow.values[i]));
	m->families[m->nfamilies++] = f;
	if (f->nlabels == 0) { /* the one series exists (and shows 0) at once */
		f->series[0].family = f;
		f->series[0].used = true;
		f->nseries = 1;
	}
	return f;
}

static struct metric *
metrics_define(struct metrics *m, enum metrics_type type, const char *name,
    const char *help, const char *labels, const double *bounds, size_t nbounds,
    size_t max_series)
{
	struct metric proto;

	memset(&proto, 0, sizeof(proto));
	proto.type = type;
	proto.max_series = max_series ? max_series : METRICS_SERIES_DEFAULT;
	if (!metrics_name_ok(name, true) ||
	    metrics_parse_labels(&proto, labels) < 0 ||
	    nbounds > METRICS_BUCKETS_MAX) {
		log_error("metrics: invalid definition of %s",
		    name ? name : "(null)");
		return NULL;
	}
	for (size_t i = 0; i < nbounds; i++) {
		if (isnan(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
			log_error("metrics: %s: bounds not ascending", name);
			return NULL;
		}
		proto.bounds[i] = bounds[i];
	}
	proto.nbounds = nbounds;
	strlcpy_s(proto.name, name, sizeof(proto.name));
	return metrics_register(m, &proto, help);
}

struct metric *
metrics_counter(struct metrics *m, const char *name, const char *help,
    const char *labels, size_t max_series)
{
	return metrics_define(
	    m, METRICS_COUNTER, name, help, labels, NULL, 0, max_series);
}

struct metric *
metrics_gauge(struct metrics *m, const char *name, const char *help,
    const char *labels, size_t max_series)
{
	return metrics_define(
	    m, METRICS_GAUGE, name, help, labels, NULL, 0, max_series);
}

struct metric *
metrics_histogram(struct metrics *m, const char *name, const char *help,
    const char *labels, const double *bounds, size_t nbounds, size_t max_series)
{
	return metrics_define(m, METRICS_HISTOGRAM, name, help, labels, bounds,
	    nbounds, max_series);
}

struct metric *
metrics_find(const struct metrics *m, const char *name)
{
	if (m == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < m->nfamilies; i++)
		if (strcmp(m->families[i]->name, name) == 0)
			return m->families[i];
	return NULL;
}

static bool
metrics_series_match(
    const struct metric_series *s, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = values[i] ? values[i] : "";

		if (strncmp(s->values[i], v, METRICS_VALUE_MAX) != 0)
			return false;
	}
	return true;
}

struct metric_series *
metrics_seriesv(struct metric *f, const char *const *values)
{
	struct metric_series *s;

	if (f == NULL)
		return NULL;
	if (f->nlabels == 0)
		return &f->series[0];
	for (size_t i = 0; i < f->nseries; i++)
		if (metrics_series_match(&f->series[i], values, f->nlabels))
			return &f->series[i];
	if (f->nseries == f->max_series) {
		if (!f->overflow.used)
			log_warn(
			    "metrics: %s has more than %zu label combinations; the rest count as %s",
			    f->name, f->max_series, METRICS_OVERFLOW);
		f->overflow.used = true;
		return &f->overflow;
	}
	s = &f->series[f->nseries++];
	s->family = f;
	s->used = true;
	for (size_t i = 0; i < f->nlabels; i++)
		strlcpy_s(s->values[i], values[i] ? values[i] : "",
		    sizeof(s->values[i]));
	return s;
}

/* Collect the family's label values from a va_list into an array. */
static struct metric_series *
metrics_series_va(struct metric *f, va_list ap)
{
	const char *values[METRICS_LABELS_MAX];

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < f->nlabels; i++)
		values[i] = va_arg(ap, const char *);
	return metrics_seriesv(f, values);
}

struct metric_series *
metrics_series(struct metric *f, ...)
{
	struct metric_series *s;
	va_list ap;

	va_start(ap, f);
	s = metrics_series_va(f, ap);
	va_end(ap);
	return s;
}

void
metrics_inc(struct metric *f, ...)
{
	va_list ap;

	va_start(ap, f);
	metrics_add(metrics_series_va(f, ap), 1);
	va_end(ap);
}

void
metrics_add(struct metric_series *s, double v)
{
	if (s == NULL || s->family->type == METRICS_HISTOGRAM)
		return;
	if (s->family->type == METRICS_COUNTER && !(v >= 0))
		return; /* counters only go up */
	s->value += v;
}

void
metrics_set(struct metric_series *s, double v)
{
	if (s != NULL && s->family->type != METRICS_HISTOGRAM)
		s->value = v;
}

void
metrics_observe(struct metric_series *s, double v)
{
	const struct metric *f;
	size_t i;

	if (s == NULL || s->family->type != METRICS_HISTOGRAM || isnan(v))
		return;
	f = s->family;
	for (i = 0; i < f->nbounds && v > f->bounds[i]; i++)
		;
	s->buckets[i]++;
	s->count++;
	s->value += v;
}

double
metrics_value(const struct metric_series *s)
{
	return s ? s->value : 0;
}

unsigned long long
metrics_count(const struct metric_series *s)
{
	return s ? s->count : 0;
}

int
metrics_on_render(struct metrics *m, metrics_collect_cb cb, void *arg)
{
	if (m == NULL || cb == NULL || m->ncollect == METRICS_COLLECT_MAX)
		return -1;
	m->collect[m->ncollect].cb = cb;
	m->collect[m->ncollect].arg = arg;
	m->ncollect++;
	return 0;
}

/* ---- rendering ---- */

static void
sbuf_reserve(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	while (b->len + more + 1 > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->p = xrealloc(b->p, b->cap);
}

static void
sbuf_put(struct sbuf *b, const char *s, size_t n)
{
	sbuf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

/* Shortest text that reads back as the same double; Prometheus spellings
 * for the infinities and NaN. */
static void
metrics_fmt_double(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
	} else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    v == (double)(long long)v) { /* integral: no libm needed */
		snprintf(buf, len, "%lld", (long long)v);
	} else {
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
}

/* HELP text escapes backslash and newline; label values also '"'. */
static void
sbuf_escaped(struct sbuf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			sbuf_puts(b, "\\\\");
		else if (*s == '\n')
			sbuf_puts(b, "\\n");
		else if (*s == '"' && quote)
			sbuf_puts(b, "\\\"");
		else
			sbuf_put(b, s, 1);
	}
}

/* name{a="x",b="y",le="0.5"} value */
static void
metrics_render_sample(struct sbuf *b, const struct metric_series *s,
    const char *suffix, const char *le, double value)
{
	const struct metric *f = s->family;
	char num[40];
	bool any = f->nlabels > 0 || le != NULL;

	sbuf_puts(b, f->name);
	sbuf_puts(b, suffix);
	if (any)
		sbuf_puts(b, "{");
	for (size_t i = 0; i < f->nlabels; i++) {
		if (i > 0)
			sbuf_puts(b, ",");
		sbuf_puts(b, f->labels[i]);
		sbuf_puts(b, "=\"");
		sbuf_escaped(b, s->values[i], true);
		sbuf_puts(b, "\"");
	}
	if (le != NULL) {
		sbuf_puts(b, f->nlabels > 0 ? ",le=\"" : "le=\"");
		sbuf_puts(b, le);
		sbuf_puts(b, "\"");
	}
	if (any)
		sbuf_puts(b, "}");
	metrics_fmt_double(num, sizeof(num), value);
	sbuf_puts(b, " ");
	sbuf_puts(b, num);
	sbuf_puts(b, "\n");
}

static void
metrics_render_histogram(struct sbuf *b, const struct metric_series *s)
{
	const struct metric *f = s->family;
	unsigned long long cum = 0;
	char le[40];

	for (size_t i = 0; i < f->nbounds; i++) {
		cum += s->buckets[i];
		metrics_fmt_double(le, sizeof(le), f->bounds[i]);
		metrics_render_sample(b, s, "_bucket", le, (double)cum);
	}
	metrics_render_sample(b, s, "_bucket", "+Inf", (double)s->count);
	metrics_render_sample(b, s, "_sum", NULL, s->value);
	metrics_render_sample(b, s, "_count", NULL, (double)s->count);
}

static void
metrics_render_series(struct sbuf *b, const struct metric_series *s)
{
	if (s->family->type == METRICS_HISTOGRAM)
		metrics_render_histogram(b, s);
	else
		metrics_render_sample(b, s, "", NULL, s->value);
}

static void
metrics_render_family(struct sbuf *b, const struct metric *f)
{
	sbuf_puts(b, "# HELP ");
	sbuf_puts(b, f->name);
	sbuf_puts(b, " ");
	sbuf_escaped(b, f->help, false);
	sbuf_puts(b, "\n# TYPE ");
	sbuf_puts(b, f->name);
	sbuf_puts(b, " ");
	sbuf_puts(b, metrics_type_names[f->type]);
	sbuf_puts(b, "\n");
	for (size_t i = 0; i < f->nseries; i++)
		metrics_render_series(b, &f->series[i]);
	if (f->overflow.used)
		metrics_render_series(b, &f->overflow);
}

char *
metrics_render(struct metrics *m, size_t *len)
{
	struct sbuf b = { NULL, 0, 0 };

	sbuf_reserve(&b, 0);
	b.p[0] = '\0';
	if (m != NULL) {
		for (size_t i = 0; i < m->ncollect; i++)
			m->collect[i].cb(m->collect[i].arg);
		for (size_t i = 0; i < m->nfamilies; i++)
			metrics_render_family(&b, m->families[i]);
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}

/* ---- the service's standard families ---- */

static const double metrics_batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256,
	512, 1024, 2000 };
/* A reply's way out: milliseconds when all is well, the lease after a
   crash, minutes behind a throttling SMSC. */
static const double metrics_reply_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300 };
static const double metrics_seconds_bounds[] = {
	0.0005,
	0.001,
	0.0025,
	0.005,
	0.01,
	0.025,
	0.05,
	0.1,
	0.25,
	0.5,
	1,
	2.5,
	5,
	10,
};

#define NB(a) ARRAY_SIZE(a)

int
metrics_register_std(struct metrics *m, struct metrics_std *o)
{
	memset(o, 0, sizeof(*o));
	o->messages = metrics_counter(m, "meterline_messages_total",
	    "Inbound messages committed, by channel, outcome and reason.",
	    "channel,outcome,reason", 256);
	o->duplicates = metrics_counter(m, "meterline_duplicates_total",
	    "Messages seen before (a redelivery, a repeated id) and answered with the original's reply.",
	    "channel", 8);
	o->flagged = metrics_counter(m, "meterline_flagged_total",
	    "Accepted submissions carrying a flag for review (high_consumption, wraparound, correction...), by flag.",
	    "flag", 16);
	o->batch_size = metrics_histogram(m, "meterline_store_batch_size",
	    "Messages per store transaction.", NULL, metrics_batch_bounds,
	    NB(metrics_batch_bounds), 0);
	o->commit_seconds =
	    metrics_histogram(m, "meterline_store_commit_seconds",
	        "Time from a batch's first statement to its COMMIT.", NULL,
	        metrics_seconds_bounds, NB(metrics_seconds_bounds), 0);
	o->db_reconnects = metrics_counter(m, "meterline_db_reconnects_total",
	    "Database connections re-established after a failure.", NULL, 0);
	o->db_up = metrics_gauge(m, "meterline_db_up",
	    "1 when the database connection is ready.", NULL, 0);
	o->smpp_link_up = metrics_gauge(m, "meterline_smpp_link_up",
	    "1 when the SMPP bind is up.", "bind", 8);
	o->smpp_window = metrics_gauge(m, "meterline_smpp_window_used",
	    "Outstanding SMPP requests awaiting a response.", "bind", 8);
	o->smpp_throttled = metrics_counter(m, "meterline_smpp_throttled_total",
	    "ESME_RTHROTTLED responses received.", NULL, 0);
	o->outbox_depth = metrics_gauge(m, "meterline_outbox_depth",
	    "Replies waiting in the outbox.", NULL, 0);
	o->outbox_backlog = metrics_gauge(m, "meterline_outbox_backlog",
	    "SMS replies committed and not yet sent (pending in PostgreSQL, all instances).",
	    NULL, 0);
	o->reply_seconds = metrics_histogram(m, "meterline_reply_seconds",
	    "Time from the commit of an SMS to the SMSC's acceptance of its reply.",
	    NULL, metrics_reply_bounds, NB(metrics_reply_bounds), 0);
	o->outbox_retries = metrics_counter(m, "meterline_outbox_retries_total",
	    "Outbox sends retried.", NULL, 0);
	o->http_responses = metrics_counter(m, "meterline_http_responses_total",
	    "HTTP responses sent by meterline, by status code.", "code", 32);
	o->http_seconds = metrics_histogram(m, "meterline_http_request_seconds",
	    "Time from a complete POST /v1/messages to its response.", NULL,
	    metrics_seconds_bounds, NB(metrics_seconds_bounds), 0);
	o->http_connections =
	    metrics_counter(m, "meterline_http_connections_total",
	        "HTTP connections accepted.", NULL, 0);
	o->http_inflight = metrics_gauge(m, "meterline_http_inflight",
	    "Messages submitted over HTTP awaiting their commit.", NULL, 0);
	o->http_ratelimited =
	    metrics_counter(m, "meterline_http_rate_limited_total",
	        "Requests refused with 429, by channel.", "channel", 32);
	if (!o->messages || !o->duplicates || !o->flagged || !o->batch_size ||
	    !o->commit_seconds || !o->db_reconnects || !o->db_up ||
	    !o->smpp_link_up || !o->smpp_window || !o->smpp_throttled ||
	    !o->outbox_depth || !o->outbox_backlog || !o->reply_seconds ||
	    !o->outbox_retries || !o->http_responses || !o->http_seconds ||
	    !o->http_connections || !o->http_inflight || !o->http_ratelimited)
		return -1;
	return 0;
}
