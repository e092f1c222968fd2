/*
 * Reply templates: every default is valid, fits one UCS-2 SMS with typical
 * values (or is a declared two-part reply that fits two), is documented in
 * docs/replies.md; rendering, escapes, truncation and checking.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "meterline/templates.h"

#define CONCAT_PART_UNITS 67 /* UCS-2 characters per concatenated part */

/*
 * Typical values, on the long side: a 9-digit contract, "полупик"... The
 * example is the whole command where too_many_values follows a ПС, one
 * value elsewhere (as dialog.c builds it).
 */
static struct tpl_vars typical = { {
    [TPL_VAR_CONTRACT] = "102057522",
    [TPL_VAR_REGISTER] = "полупик",
    [TPL_VAR_VALUE] = "1234567",
    [TPL_VAR_LAST] = "456789",
    [TPL_VAR_DIGITS] = "6",
    [TPL_VAR_EXPECTED] = "3",
    [TPL_VAR_GOT] = "4",
    [TPL_VAR_REGISTERS] = "пик, полупик, ночь",
    [TPL_VAR_EXAMPLE] = "ПС 102057522 45055 23186 11638",
    [TPL_VAR_DAYS] = "18-25",
    [TPL_VAR_FROM] = "18",
    [TPL_VAR_TO] = "25",
    [TPL_VAR_MINUTES] = "30",
    [TPL_VAR_VALUES] = "123456",
    [TPL_VAR_CONSUMPTION] = "123456",
    [TPL_VAR_UNKNOWN] = " «абвгдеёжзи…»", /* the longest quote */
    [TPL_VAR_LABEL] = "электроэнер", /* 22 bytes, near the label max */
    [TPL_VAR_NEXT] = "18.06",
    [TPL_VAR_READINGS] = "пик 123456 (05.11), полупик 123456 (05.11)",
    [TPL_VAR_CONTRACTS] = "***522, ***859, ***861",
    [TPL_VAR_ATTEMPTS] = "2",
    [TPL_VAR_UNTIL] = "14:35 07.12",
} };

/* {example} as dialog.c builds it for template i. */
static const char *
typical_example(int i)
{
	switch (i) {
	case TPL_TOO_MANY_VALUES: return "ПС 102057522 45055 23186 11638";
	case TPL_BAD_FORMAT_DIALOG:
	case TPL_MISSING:
	case TPL_TOO_MANY_VALUES_DIALOG: return "45055 23186 11638";
	default: return "123456";
	}
}

/* {registers} of an accepted submission is the values by register. */
static const char *
typical_registers(int i)
{
	switch (i) {
	case TPL_ACCEPTED:
	case TPL_ACCEPTED_REVIEW:
	case TPL_CORRECTED: return "пик 123456, полупик 123456, ночь 123456";
	default: return "пик, полупик, ночь";
	}
}

static void
test_defaults_valid(void **state)
{
	char err[256];

	(void)state;
	for (int i = 0; i < TPL__MAX; i++) {
		assert_non_null(tpl_name(i));
		assert_int_equal(tpl_lookup(tpl_name(i)), i);
		if (tpl_check(i, tpl_default(i), err, sizeof(err)) != 0)
			fail_msg("default %s: %s", tpl_name(i), err);
	}
	assert_int_equal(tpl_lookup("nope"), -1);
	assert_null(tpl_name(TPL__MAX));
	assert_string_equal(
	    tpl_default(TPL_ACCEPTED), "Показания приняты. Спасибо.");
}

static void
test_defaults_fit_one_sms(void **state)
{
	char out[1024];

	(void)state;
	for (int i = 0; i < TPL__MAX; i++) {
		size_t units;

		typical.v[TPL_VAR_EXAMPLE] = typical_example(i);
		typical.v[TPL_VAR_REGISTERS] = typical_registers(i);
		tpl_render(tpl_default(i), &typical, out, sizeof(out));
		units = tpl_ucs2_units(out);
		if (!tpl_two_part(i) && units > TPL_SMS_UNITS)
			fail_msg("%s takes %zu characters: \"%s\"", tpl_name(i),
			    units, out);
		if (tpl_two_part(i) &&
		    (units <= TPL_SMS_UNITS || units > 2 * CONCAT_PART_UNITS))
			fail_msg("%s is declared two-part but takes %zu",
			    tpl_name(i), units);
		assert_null(strchr(out, '{')); /* every placeholder filled */
	}
}

/* docs/replies.md shows every default verbatim, and says which take two. */
static void
test_documented(void **state)
{
	static char doc[65536];
	char row[1024];
	FILE *f = fopen(MLINE_SOURCE_DIR "/docs/replies.md", "r");
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	for (int i = 0; i < TPL__MAX; i++) {
		const char *hit;

		snprintf(row, sizeof(row), "| `%s` | %s | `%s` |", tpl_name(i),
		    tpl_two_part(i) ? "2" : "1", tpl_default(i));
		if ((hit = strstr(doc, row)) == NULL)
			fail_msg("docs/replies.md lacks the row\n%s", row);
	}
}

static void
test_render(void **state)
{
	struct tpl_vars v = {
		{ [TPL_VAR_CONTRACT] = "123859", [TPL_VAR_REGISTER] = "день" }
	};
	char out[256];
	size_t n;

	(void)state;
	n = tpl_render("Договор {contract}. Введите показания: {register}", &v,
	    out, sizeof(out));
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "Договор 123859. Введите показания: день");
	tpl_render("{{contract}} {contract}}}", &v, out, sizeof(out));
	assert_string_equal(out, "{contract} 123859}");
	tpl_render("[{value}]", &v, out, sizeof(out)); /* unset: empty */
	assert_string_equal(out, "[]");
	tpl_render("a { b } c", &v, out, sizeof(out)); /* not a name */
	assert_string_equal(out, "a  c");
	tpl_render("open {", &v, out, sizeof(out));
	assert_string_equal(out, "open {");
}

static void
test_render_truncates_on_characters(void **state)
{
	struct tpl_vars v = { { [TPL_VAR_REGISTER] = "полупик" } };
	char out[8];

	(void)state;
	/* "ab" + 2 bytes per letter: 7 bytes fit "abпоп" minus half a letter */
	assert_int_equal(
	    tpl_render("ab{register}xyz", &v, out, sizeof(out)), 6);
	assert_string_equal(out, "abпо");
	assert_int_equal(tpl_render("abcdefghij", &v, out, sizeof(out)), 7);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(tpl_render("x", &v, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(tpl_render("x", &v, out, 0), 0);
}

static void
test_check(void **state)
{
	static const struct {
		enum tpl_id id;
		const char *t, *why;
	} bad[] = {
		{ TPL_PROMPT, "Договор {contract", "unclosed '{'" },
		{ TPL_PROMPT, "Договор } ", "unmatched '}'" },
		{ TPL_PROMPT, "{registr}", "unknown placeholder {registr}" },
		{ TPL_HELP, "{contract}",
		    "not available in this reply {contract}" },
		{ TPL_NO_DIALOG, "{value}", "not available" },
		{ TPL_ACCEPTED, "", "empty" },
		{ TPL_ACCEPTED, "\xff\xfe", "not valid UTF-8" },
		{ TPL_ACCEPTED, "\xd0", "not valid UTF-8" },
		{ TPL_ACCEPTED, "\xed\xa0\x80",
		    "not valid UTF-8" }, /* surrogate */
		{ TPL_ACCEPTED, "\xc0\xaf", "not valid UTF-8" }, /* overlong */
	};
	char err[256], longer[TPL_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tpl_check(bad[i].id, bad[i].t, err, sizeof(err)) == 0)
			fail_msg("accepted \"%s\"", bad[i].t);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg(
			    "\"%s\": %s, want %s", bad[i].t, err, bad[i].why);
	}
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(tpl_check(TPL_ACCEPTED, longer, err, sizeof(err)), -1);
	longer[TPL_MAX] = '\0';
	assert_int_equal(tpl_check(TPL_ACCEPTED, longer, err, sizeof(err)), 0);
	assert_int_equal(tpl_check(TPL_PROMPT, "{{x}} {contract} {register}",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(
	    tpl_check(TPL_ACCEPTED, "Дякуємо 👍", err, sizeof(err)), 0);
}

/* {name|one|few|many}: the Russian plural rule, checked like a placeholder. */
static void
test_plural(void **state)
{
	static const struct {
		const char *n, *want;
	} cases[] = {
		{ "1", "1 шкала" }, { "2", "2 шкалы" }, { "4", "4 шкалы" },
		{ "5", "5 шкал" }, { "11", "11 шкал" }, { "12", "12 шкал" },
		{ "21", "21 шкала" }, { "22", "22 шкалы" }, { "0", "0 шкал" },
		{ "111", "111 шкал" },
		{ ">6", ">6 шкал" }, /* not a number: many */
	};
	struct tpl_vars v = { { NULL } };
	char out[128], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v.v[TPL_VAR_EXPECTED] = cases[i].n;
		tpl_render("{expected} {expected|шкала|шкалы|шкал}", &v, out,
		    sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
	v.v[TPL_VAR_EXPECTED] = NULL; /* unset: many */
	tpl_render("{expected|a|b|c}", &v, out, sizeof(out));
	assert_string_equal(out, "c");
	assert_int_equal(tpl_check(TPL_MISSING, "{expected|a|b|c} {registers}",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(
	    tpl_check(TPL_MISSING, "{expected|a|b}", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "three forms"));
	assert_int_equal(
	    tpl_check(TPL_MISSING, "{value|a|b|c}", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not available in this reply {value}"));
	assert_int_equal(
	    tpl_check(TPL_MISSING, "{expected|a{|b|c}", err, sizeof(err)), -1);
}

static void
test_utf8_char(void **state)
{
	(void)state;
	assert_int_equal(tpl_utf8_char("a", 1), 1);
	assert_int_equal(tpl_utf8_char("д", 2), 2);
	assert_int_equal(tpl_utf8_char("д", 1), 0); /* cut short */
	assert_int_equal(tpl_utf8_char("€", 3), 3);
	assert_int_equal(tpl_utf8_char("👍", 4), 4);
	assert_int_equal(tpl_utf8_char("\xc0\xaf", 2), 0);
	assert_int_equal(tpl_utf8_char("\xed\xa0\x80", 3), 0);
	assert_int_equal(tpl_utf8_char("x", 0), 0);
}

static void
test_ucs2_units(void **state)
{
	(void)state;
	assert_int_equal(tpl_ucs2_units(""), 0);
	assert_int_equal(tpl_ucs2_units("abc"), 3);
	assert_int_equal(tpl_ucs2_units("день"), 4);
	assert_int_equal(tpl_ucs2_units("€"), 1);
	assert_int_equal(tpl_ucs2_units("👍"), 2); /* a surrogate pair */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_valid),
		cmocka_unit_test(test_defaults_fit_one_sms),
		cmocka_unit_test(test_documented),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_truncates_on_characters),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_ucs2_units),
		cmocka_unit_test(test_plural),
		cmocka_unit_test(test_utf8_char),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
