/*
 * Replay's RFC 3339 times, and the stable id of a message without one (same message, same id; any field changed, another
 * id; later messages sort after earlier ones).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "meterline/msg_id.h"
#include "meterline/replay.h"

static void
test_time_round_trip(void **state)
{
	static const struct {
		const char *in, *utc;
		int64_t us;
	} cases[] = {
		{ "2026-11-20T10:01:00+03:00", "2026-11-20T07:01:00+00:00",
		    1795158060000000 },
		{ "2026-11-20T07:01:00Z", "2026-11-20T07:01:00+00:00",
		    1795158060000000 },
		{ "2026-11-20T07:01:00.5Z", "2026-11-20T07:01:00.500000+00:00",
		    1795158060500000 },
		{ "1970-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00", 0 },
	};
	char buf[40];
	int64_t us;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(replay_time_parse(cases[i].in, &us), 0);
		assert_true(us == cases[i].us);
		assert_string_equal(
		    replay_time_format(us, NULL, buf, sizeof(buf)),
		    cases[i].utc);
	}
	assert_int_equal(replay_time_parse("2026-11-20T07:01:00", &us), -1);
	assert_int_equal(replay_time_parse("2026-13-20T07:01:00Z", &us), -1);
	assert_int_equal(replay_time_parse("", &us), -1);
}

static void
stable(
    int64_t us, const char *ch, const char *from, const char *text, char *out)
{
	msg_id_stable(us, ch, from, "7377", text, strlen(text), out);
}

static void
test_stable_id(void **state)
{
	char a[MSG_ID_STABLE_LEN + 1], b[MSG_ID_STABLE_LEN + 1];
	int64_t t = 1795158060000000;

	(void)state;
	stable(t, "sms", "79000000001", "ПС 102057522 11638", a);
	assert_int_equal(strlen(a), MSG_ID_STABLE_LEN);
	assert_memory_equal(
	    a, MSG_ID_STABLE_PREFIX, strlen(MSG_ID_STABLE_PREFIX));
	for (const char *p = a + strlen(MSG_ID_STABLE_PREFIX); *p; p++)
		assert_non_null(strchr("0123456789abcdef", *p));

	stable(t, "sms", "79000000001", "ПС 102057522 11638", b);
	assert_string_equal(a, b);
	/* Any field changed gives another id. */
	stable(t + 1, "sms", "79000000001", "ПС 102057522 11638", b);
	assert_string_not_equal(a, b);
	stable(t, "viber", "79000000001", "ПС 102057522 11638", b);
	assert_string_not_equal(a, b);
	stable(t, "sms", "79000000002", "ПС 102057522 11638", b);
	assert_string_not_equal(a, b);
	stable(t, "sms", "79000000001", "ПС 102057522 11639", b);
	assert_string_not_equal(a, b);
	/* Field boundaries count: "ab" + "c" is not "a" + "bc". */
	msg_id_stable(t, "sms", "7900", "07377", "x", 1, a);
	msg_id_stable(t, "sms", "79000", "7377", "x", 1, b);
	assert_string_not_equal(a, b);
}

static void
test_stable_id_sorts_by_time(void **state)
{
	static const int64_t times[] = { -86400000000LL, -1, 0, 1, 999999,
		1795158060000000, 1795158060000001, 4102444800000000 };
	char prev[MSG_ID_STABLE_LEN + 1], cur[MSG_ID_STABLE_LEN + 1];

	(void)state;
	stable(times[0], "sms", "79000000001", "zzz", prev);
	for (size_t i = 1; i < sizeof(times) / sizeof(times[0]); i++) {
		stable(times[i], "sms", "79000000001", "aaa", cur);
		assert_true(strcmp(prev, cur) < 0);
		memcpy(prev, cur, sizeof(cur));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_round_trip),
		cmocka_unit_test(test_stable_id),
		cmocka_unit_test(test_stable_id_sorts_by_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
