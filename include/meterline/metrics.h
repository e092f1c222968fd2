/*
 * A tiny metrics registry rendered in the Prometheus text exposition format
 * (version 0.0.4): counters, gauges and histograms, each a family with up to
 * METRICS_LABELS_MAX label names and a fixed number of label combinations
 * (series).
 *
 * Families are registered at startup; registering the same name again with
 * the same type and labels returns the same family, so modules can register
 * what they use without knowing who came first. Every series is allocated
 * when its family is registered, so an increment never allocates. When a
 * family runs out of series, further label combinations share one overflow
 * series whose label values are all "_overflow" (logged once).
 *
 * Not thread-safe: use it from the event-loop thread only, like everything
 * else in the service. Every function accepts NULL families and series and
 * then does nothing, so a module runs unchanged without a registry (tests).
 */
#ifndef METERLINE_METRICS_H
#define METERLINE_METRICS_H

#include <stddef.h>

#define METRICS_FAMILIES_MAX 64 /* families per registry */
#define METRICS_LABELS_MAX 4 /* label names per family */
#define METRICS_BUCKETS_MAX 16 /* histogram bounds, +Inf not counted */
#define METRICS_SERIES_DEFAULT 64 /* label combinations per family */
#define METRICS_VALUE_MAX 63 /* bytes of a label value kept */

struct metrics; /* the registry */
struct metric; /* one family: name, help, type, label names */
struct metric_series; /* one label combination of a family */

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

struct metrics *metrics_new(void);
void metrics_free(struct metrics *); /* NULL-safe */

/*
 * Register a family, or return the one already registered under name.
 * labels: comma-separated label names ("channel,outcome,reason"), NULL or ""
 * for none. max_series: 0 for METRICS_SERIES_DEFAULT. Returns NULL (and logs)
 * when the name or a label is invalid, the registry is full, or name exists
 * with another type or other labels.
 */
struct metric *metrics_counter(struct metrics *, const char *name,
    const char *help, const char *labels, size_t max_series);
struct metric *metrics_gauge(struct metrics *, const char *name,
    const char *help, const char *labels, size_t max_series);
/* bounds: ascending upper bounds, at most METRICS_BUCKETS_MAX (+Inf is
 * implicit). */
struct metric *metrics_histogram(struct metrics *, const char *name,
    const char *help, const char *labels, const double *bounds, size_t nbounds,
    size_t max_series);

/* A registered family by name, or NULL. */
struct metric *metrics_find(const struct metrics *, const char *name);

/*
 * The series for label values (exactly as many as the family has label
 * names; NULL values count as ""). The pointer stays valid until
 * metrics_free, so a hot path can look it up once and keep it.
 */
struct metric_series *metrics_series(struct metric *, ...);
struct metric_series *
metrics_seriesv(struct metric *, const char *const *values);

void metrics_add(struct metric_series *, double); /* counter (>= 0), gauge */
/* Gauge; or a counter mirroring a count kept elsewhere (a render
 * callback copying store_stats), which must never go down. */
void metrics_set(struct metric_series *, double);
void metrics_observe(struct metric_series *, double); /* histogram */
/* Counter, gauge; the sum for a histogram. */
double metrics_value(const struct metric_series *);
/* Histogram observations. */
unsigned long long metrics_count(const struct metric_series *);

/* Shortcuts: metrics_inc(m, "viber", "accepted", "") adds 1. */
void metrics_inc(struct metric *, ...);

/*
 * Call cb(arg) at the start of every render, e.g. to set a gauge from a
 * queue length only when someone scrapes. At most 16; returns 0 or -1.
 */
typedef void (*metrics_collect_cb)(void *arg);
int metrics_on_render(struct metrics *, metrics_collect_cb, void *arg);

/*
 * Render every family in the text format into a malloc'ed, NUL-terminated
 * string (caller frees); its length in *len when len is not NULL.
 */
char *metrics_render(struct metrics *, size_t *len);

/*
 * The service's standard families, registered by metrics_register_std() so
 * that every module finds them under the same names (docs/http.md lists
 * them). Channel modules may also register their own.
 */
struct metrics_std {
	/* counter meterline_messages_total{channel,outcome,reason} */
	struct metric *messages;
	/* counter meterline_duplicates_total{channel} */
	struct metric *duplicates;
	/* counter meterline_flagged_total{flag} */
	struct metric *flagged;
	/* histogram meterline_store_batch_size */
	struct metric *batch_size;
	/* histogram meterline_store_commit_seconds */
	struct metric *commit_seconds;
	/* counter meterline_db_reconnects_total */
	struct metric *db_reconnects;
	/* gauge meterline_db_up */
	struct metric *db_up;
	/* gauge meterline_smpp_link_up{bind} */
	struct metric *smpp_link_up;
	/* gauge meterline_smpp_window_used{bind} */
	struct metric *smpp_window;
	/* counter meterline_smpp_throttled_total */
	struct metric *smpp_throttled;
	/* gauge meterline_outbox_depth */
	struct metric *outbox_depth;
	/* gauge meterline_outbox_backlog */
	struct metric *outbox_backlog;
	/* histogram meterline_reply_seconds */
	struct metric *reply_seconds;
	/* counter meterline_outbox_retries_total */
	struct metric *outbox_retries;
	/* counter meterline_http_responses_total{code} */
	struct metric *http_responses;
	/* histogram meterline_http_request_seconds */
	struct metric *http_seconds;
	/* counter meterline_http_connections_total */
	struct metric *http_connections;
	/* gauge meterline_http_inflight */
	struct metric *http_inflight;
	/* counter meterline_http_rate_limited_total */
	struct metric *http_ratelimited;
};

/* Register the standard families; 0, or -1 if any failed (logged). */
int metrics_register_std(struct metrics *, struct metrics_std *out);

#endif
