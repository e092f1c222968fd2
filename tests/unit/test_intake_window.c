/* A source's window as far as it shows (intake_window, docs/store.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "meterline/intake.h"

#define MS 1000

/* A window of 10: the first nine may wait, the tenth fills it. */
static void
test_window_of_ten(void **state)
{
	struct intake_window w = { 0 };

	(void)state;
	for (unsigned n = 1; n <= 10; n++)
		intake_window_note(&w, n, 0);
	for (unsigned n = 1; n <= 9; n++)
		assert_true(intake_window_open(&w, n));
	assert_false(intake_window_open(&w, 10));
	assert_false(intake_window_open(&w, 11));
}

/* A window of 1: nothing ever waits; a first message has no window. */
static void
test_window_of_one(void **state)
{
	struct intake_window w = { 0 };

	(void)state;
	assert_false(intake_window_open(&w, 1));
	for (int i = 0; i < 100; i++) {
		intake_window_note(&w, 1, i * MS);
		assert_false(intake_window_open(&w, 1));
	}
}

/* A peak counts for one to two seconds, then is forgotten. */
static void
test_peak_ages(void **state)
{
	struct intake_window w = { 0 };

	(void)state;
	intake_window_note(&w, 50, 0);
	intake_window_note(&w, 2, 1100 * MS); /* the next period */
	assert_true(intake_window_open(&w, 2));
	intake_window_note(&w, 2, 2200 * MS); /* two on: 50 forgotten */
	assert_false(intake_window_open(&w, 2));
	intake_window_note(&w, 1, 9000 * MS); /* long idle: both gone */
	assert_false(intake_window_open(&w, 1));
	intake_window_note(&w, 3, 9001 * MS);
	assert_true(intake_window_open(&w, 2));
}

/* A clock that went back starts a new period instead of keeping one. */
static void
test_clock_back(void **state)
{
	struct intake_window w = { 0 };

	(void)state;
	intake_window_note(&w, 40, 5000 * MS);
	intake_window_note(&w, 1, 1000 * MS);
	assert_false(intake_window_open(&w, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_of_ten),
		cmocka_unit_test(test_window_of_one),
		cmocka_unit_test(test_peak_ages),
		cmocka_unit_test(test_clock_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
