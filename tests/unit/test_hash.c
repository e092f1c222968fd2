/* The one hash table: a multimap that survives any mix of puts and dels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meterline/clock.h"
#include "meterline/hash.h"

/* How many values key holds, and whether val is one of them. */
static size_t
count(const struct htab *t, uint64_t key, uintptr_t val, bool *found)
{
	size_t pos = HTAB_START, n = 0;
	uintptr_t *v;

	*found = false;
	while ((v = htab_next(t, key, &pos)) != NULL) {
		n++;
		*found |= *v == val;
	}
	return n;
}

static void
test_put_next_del(void **state)
{
	struct htab t = { 0 };
	bool found;

	(void)state;
	assert_null(htab_next(&t, 7, &(size_t){ HTAB_START }));
	htab_put(&t, 7, 70);
	htab_put(&t, 7, 71);
	htab_put(&t, 0, 5); /* key 0 is a key like any other */
	assert_int_equal(count(&t, 7, 71, &found), 2);
	assert_true(found);
	assert_int_equal(count(&t, 0, 5, &found), 1);
	assert_true(found);
	assert_true(htab_del(&t, 7, 70));
	assert_false(htab_del(&t, 7, 70));
	assert_int_equal(count(&t, 7, 71, &found), 1);
	assert_int_equal(t.n, 2);
	htab_clear(&t, 1000);
	assert_int_equal(t.n, 0);
	assert_true(t.cap >= 2000);
	assert_int_equal(count(&t, 7, 71, &found), 0);
	htab_free(&t);
}

/*
 * Random puts and dels on colliding keys against a plain array: every key
 * must hold exactly the values the array says, whatever the deletion order
 * did to the probe runs.
 */
static void
test_against_model(void **state)
{
	enum { N = 4000, KEYS = 97 };
	struct htab t = { 0 };
	uint64_t *mkey = calloc(N, sizeof(*mkey));
	bool *live = calloc(N, sizeof(*live));
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t i = (size_t)(rand_r(&seed) % N);

		if (!live[i]) {
			/* Few distinct keys, low bits alike: long runs. */
			mkey[i] = (uint64_t)(rand_r(&seed) % KEYS) << 8;
			htab_put(&t, mkey[i], i);
			live[i] = true;
		} else {
			assert_true(htab_del(&t, mkey[i], i));
			live[i] = false;
		}
	}
	for (size_t i = 0; i < N; i++) {
		bool found;

		count(&t, mkey[i], i, &found);
		assert_int_equal(found, live[i]);
	}
	htab_free(&t);
	free(mkey);
	free(live);
}

static void
test_hashes(void **state)
{
	const char *ab_c[] = { "ab", "c" }, *a_bc[] = { "a", "bc" };

	(void)state;
	assert_int_not_equal(hash_strs(0, ab_c, 2), hash_strs(0, a_bc, 2));
	assert_int_equal(hash_strs(9, ab_c, 1), hash_bytes(9, "ab", 3));
	assert_int_not_equal(hash_bytes(1, "x", 1), hash_bytes(2, "x", 1));
	assert_int_not_equal(hash_u64(1), hash_u64(2));
	assert_int_not_equal(hash_seed(), hash_seed());
}

static void
test_clock(void **state)
{
	int64_t a = clock_mono_us(), b = clock_mono_us();

	(void)state;
	assert_true(b >= a);
	/* after 2020-01-01 */
	assert_true(clock_real_us() > INT64_C(1577836800) * 1000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_next_del),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
