/* Unit tests for the metrics registry and its Prometheus text output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meterline/log.h"
#include "meterline/metrics.h"

static char *
render(struct metrics *m)
{
	size_t len = 0;
	char *s = metrics_render(m, &len);

	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	return s;
}

static void
test_counter_labels(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *c = metrics_counter(
	    m, "mline_msgs_total", "Messages.", "channel,outcome", 0);
	char *s;

	(void)state;
	assert_non_null(c);
	metrics_inc(c, "viber", "accepted");
	metrics_inc(c, "viber", "accepted");
	metrics_inc(c, "sms", "prompt");
	metrics_add(metrics_series(c, "sms", "prompt"), 5);
	metrics_add(metrics_series(c, "sms", "prompt"), -3); /* ignored */
	assert_true(metrics_value(metrics_series(c, "viber", "accepted")) == 2);
	metrics_set(metrics_series(c, "viber", "accepted"), 2); /* mirrored */
	s = render(m);
	assert_string_equal(s,
	    "# HELP mline_msgs_total Messages.\n"
	    "# TYPE mline_msgs_total counter\n"
	    "mline_msgs_total{channel=\"viber\",outcome=\"accepted\"} 2\n"
	    "mline_msgs_total{channel=\"sms\",outcome=\"prompt\"} 6\n");
	free(s);
	metrics_free(m);
}

static void
test_unlabelled_shows_zero(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *g = metrics_gauge(m, "mline_depth", "Depth.", NULL, 0);
	char *s;

	(void)state;
	s = render(m);
	assert_string_equal(s,
	    "# HELP mline_depth Depth.\n"
	    "# TYPE mline_depth gauge\nmline_depth 0\n");
	free(s);
	metrics_set(metrics_series(g), 2.5);
	metrics_add(metrics_series(g), -1);
	s = render(m);
	assert_non_null(strstr(s, "\nmline_depth 1.5\n"));
	free(s);
	metrics_free(m);
}

static void
test_histogram(void **state)
{
	static const double b[] = { 0.5, 1, 10 };
	struct metrics *m = metrics_new();
	struct metric *h =
	    metrics_histogram(m, "mline_lat_seconds", "Lat.", "op", b, 3, 0);
	struct metric_series *s1 = metrics_series(h, "commit");
	char *s;

	(void)state;
	metrics_observe(s1, 0.25);
	metrics_observe(s1, 0.5); /* le is inclusive */
	metrics_observe(s1, 5);
	metrics_observe(s1, 50);
	assert_int_equal(metrics_count(s1), 4);
	s = render(m);
	assert_string_equal(s,
	    "# HELP mline_lat_seconds Lat.\n"
	    "# TYPE mline_lat_seconds histogram\n"
	    "mline_lat_seconds_bucket{op=\"commit\",le=\"0.5\"} 2\n"
	    "mline_lat_seconds_bucket{op=\"commit\",le=\"1\"} 2\n"
	    "mline_lat_seconds_bucket{op=\"commit\",le=\"10\"} 3\n"
	    "mline_lat_seconds_bucket{op=\"commit\",le=\"+Inf\"} 4\n"
	    "mline_lat_seconds_sum{op=\"commit\"} 55.75\n"
	    "mline_lat_seconds_count{op=\"commit\"} 4\n");
	free(s);
	metrics_free(m);
}

static void
test_register_twice(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *a = metrics_counter(m, "x_total", "X.", "a,b", 0);

	(void)state;
	assert_ptr_equal(
	    metrics_counter(m, "x_total", "X again.", "a,b", 0), a);
	assert_null(metrics_counter(m, "x_total", "X.", "a", 0));
	assert_null(metrics_gauge(m, "x_total", "X.", "a,b", 0));
	assert_ptr_equal(metrics_find(m, "x_total"), a);
	assert_null(metrics_find(m, "y_total"));
	metrics_free(m);
}

static void
test_invalid_definitions(void **state)
{
	static const double bad[] = { 1, 0.5 };
	struct metrics *m = metrics_new();

	(void)state;
	assert_null(metrics_counter(m, "9lives", "", NULL, 0));
	assert_null(metrics_counter(m, "a-b", "", NULL, 0));
	assert_null(metrics_counter(m, "ok", "", "x-y", 0));
	assert_null(metrics_counter(m, "ok", "", "__reserved", 0));
	assert_null(metrics_counter(m, "ok", "", "a,b,c,d,e", 0));
	assert_null(metrics_counter(m, "ok", "", "a,,b", 0));
	assert_null(metrics_histogram(m, "h", "", "le", NULL, 0, 0));
	assert_null(metrics_histogram(m, "h", "", NULL, bad, 2, 0));
	assert_non_null(metrics_counter(m, "ns:ok_total", "", "a,b,c,d", 0));
	metrics_free(m);
}

static void
test_overflow_series(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *c = metrics_counter(m, "c_total", "C.", "k", 2);
	char *s;

	(void)state;
	metrics_inc(c, "a");
	metrics_inc(c, "b");
	metrics_inc(c, "c");
	metrics_inc(c, "d");
	assert_ptr_equal(metrics_series(c, "c"), metrics_series(c, "zzz"));
	s = render(m);
	assert_non_null(strstr(s, "c_total{k=\"_overflow\"} 2\n"));
	assert_null(strstr(s, "k=\"c\""));
	free(s);
	metrics_free(m);
}

static void
test_escaping(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *c =
	    metrics_counter(m, "e_total", "Back\\slash\nnew \"q\"", "v", 0);
	char *s;

	(void)state;
	metrics_inc(c, "a\"b\\c\nd");
	metrics_inc(c, (const char *)NULL);
	s = render(m);
	assert_string_equal(s,
	    "# HELP e_total Back\\\\slash\\nnew \"q\"\n"
	    "# TYPE e_total counter\n"
	    "e_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"
	    "e_total{v=\"\"} 1\n");
	free(s);
	metrics_free(m);
}

static void
test_null_safe(void **state)
{
	char *s;

	(void)state;
	metrics_inc(NULL, "a");
	metrics_add(NULL, 1);
	metrics_set(NULL, 1);
	metrics_observe(NULL, 1);
	assert_null(metrics_series(NULL, "x"));
	assert_null(metrics_counter(NULL, "a_total", "", NULL, 0));
	assert_true(metrics_value(NULL) == 0);
	metrics_free(NULL);
	s = metrics_render(NULL, NULL);
	assert_string_equal(s, "");
	free(s);
}

static void
collect(void *arg)
{
	metrics_set(metrics_series(arg), 42);
}

static void
test_on_render(void **state)
{
	struct metrics *m = metrics_new();
	struct metric *g = metrics_gauge(m, "q_depth", "Q.", NULL, 0);
	char *s;

	(void)state;
	assert_int_equal(metrics_on_render(m, collect, g), 0);
	s = render(m);
	assert_non_null(strstr(s, "\nq_depth 42\n"));
	free(s);
	metrics_free(m);
}

static void
test_std_families(void **state)
{
	struct metrics *m = metrics_new();
	struct metrics_std a, b;
	char *s;

	(void)state;
	assert_int_equal(metrics_register_std(m, &a), 0);
	assert_int_equal(metrics_register_std(m, &b), 0); /* idempotent */
	assert_ptr_equal(a.messages, b.messages);
	metrics_inc(a.messages, "viber", "accepted", "");
	metrics_observe(metrics_series(a.commit_seconds), 0.003);
	metrics_set(metrics_series(a.smpp_link_up, "trx"), 1);
	s = render(m);
	assert_non_null(strstr(s,
	    "meterline_messages_total{channel=\"viber\","
	    "outcome=\"accepted\",reason=\"\"} 1\n"));
	assert_non_null(strstr(s,
	    "meterline_store_commit_seconds_bucket"
	    "{le=\"0.005\"} 1\n"));
	assert_non_null(strstr(s,
	    "meterline_store_commit_seconds_bucket"
	    "{le=\"0.0025\"} 0\n"));
	assert_non_null(strstr(s, "meterline_smpp_link_up{bind=\"trx\"} 1\n"));
	assert_non_null(
	    strstr(s, "# TYPE meterline_http_responses_total counter\n"));
	free(s);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_labels),
		cmocka_unit_test(test_unlabelled_shows_zero),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_register_twice),
		cmocka_unit_test(test_invalid_definitions),
		cmocka_unit_test(test_overflow_series),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_null_safe),
		cmocka_unit_test(test_on_render),
		cmocka_unit_test(test_std_families),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
