/*
 * Logs stay safe: phone numbers and messenger ids masked by one rule, and
 * untrusted text escaped so that nothing can split a line (CR, LF, C0,
 * C1, U+2028/9) or reorder it on screen (the bidi controls).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "meterline/log.h"

static void
expect_mask(const char *in, const char *want)
{
	char buf[32];

	log_mask_phone(in, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("mask(\"%s\") = \"%s\", want \"%s\"", in, buf, want);
}

static void
test_mask_phone(void **state)
{
	(void)state;
	/* international: first digit of the country code and the last 4 */
	expect_mask("79120000001", "7******0001");
	expect_mask("+79120000001", "+7******0001");
	expect_mask("+447700900123", "+4*******0123");
	expect_mask("123456789012345", "1**********2345");
	/* national: the last 4 at most, at least 6 hidden */
	expect_mask("9120000001", "******0001");
	expect_mask("12345678", "******78");
	expect_mask("1234567", "******7");
	expect_mask("123456", "******");
	/* short codes: all stars */
	expect_mask("7377", "****");
	expect_mask("1", "*");
	expect_mask("", "");
	expect_mask("+", "*");
	/* messenger ids: no leading character; an unusual tail is starred */
	expect_mask("tg-user-4821937", "***********1937");
	expect_mask("alice", "*****");
	expect_mask("user_ab\xe2\x80\xae", "******b***");
	/* a long id gets at most 12 stars */
	expect_mask("abcdefghijklmnopqrstuvwxyz0123456789", "************6789");
}

static void
test_mask_small_buffer(void **state)
{
	char buf[6];

	(void)state;
	log_mask_phone("79120000001", buf, sizeof(buf));
	assert_string_equal(buf, "7****");
	log_mask_phone("79120000001", buf, 0); /* nothing written */
}

static void
expect_escape(const char *in, size_t len, const char *want)
{
	char buf[256];

	log_escape(in, len, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("escape = \"%s\", want \"%s\"", buf, want);
}

#define ESC(lit, want) expect_escape(lit, sizeof(lit) - 1, want)

static void
test_escape(void **state)
{
	(void)state;
	ESC("plain text 123", "plain text 123");
	ESC("ПС 102057522 11638", "ПС 102057522 11638");
	ESC("a\"b\\c", "a\\\"b\\\\c");
	/* line breaks and every other C0 control, DEL */
	ESC("a\r\nb", "a\\x0d\\x0ab");
	ESC("\x01\x1b[31m\t\x7f", "\\x01\\x1b[31m\\x09\\x7f");
	ESC("a\0b", "a\\x00b");
	/* C1 controls as UTF-8 (U+0085 NEL, U+009B CSI) */
	ESC("x\xc2\x85y\xc2\x9b", "x\\u0085y\\u009b");
	/* bidi controls and separators */
	ESC("\xe2\x80\xae"
	    "abc",
	    "\\u202eabc");
	ESC("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
	    "\\u202a\\u202b\\u202c\\u202d");
	ESC("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
	    "\\u2066\\u2067\\u2068\\u2069");
	ESC("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u200e\\u200f\\u061c");
	ESC("a\xe2\x80\xa8"
	    "b\xe2\x80\xa9",
	    "a\\u2028b\\u2029");
	/* neighbours that are harmless stay */
	ESC("\xe2\x80\x94\xe2\x80\xaf\xc2\xa0",
	    "\xe2\x80\x94\xe2\x80\xaf\xc2\xa0");
	/* bytes that are not UTF-8: raw C1 (a terminal's CSI), overlong,
	   surrogate, truncated */
	ESC("\x9b"
	    "2J",
	    "\\x9b2J");
	ESC("\xc0\x8a", "\\xc0\\x8a");
	ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");
	ESC("ab\xe2\x80", "ab\\xe2\\x80");
	ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	/* a 4-byte character that is fine */
	ESC("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
}

static void
test_escape_truncates_whole(void **state)
{
	char buf[8];

	(void)state;
	/* "ab" fits, "\u202e" (6) does not: stop before it */
	log_escape("ab\xe2\x80\xae"
	           "cd",
	    7, buf, sizeof(buf));
	assert_string_equal(buf, "ab");
	/* a multi-byte character is never cut */
	log_escape("abcdeЖ", 7, buf, 7);
	assert_string_equal(buf, "abcde");
	log_escape("abc", 3, buf, 1);
	assert_string_equal(buf, "");
}

static void
test_sanitize(void **state)
{
	char buf[64];
	int32_t cp = 0;
	const char *in = "say \"hi\" \\ \xe2\x80\xae\n";

	(void)state;
	/* staff output: quotes and backslashes stay, controls do not */
	log_sanitize(in, strlen(in), buf, sizeof(buf));
	assert_string_equal(buf, "say \"hi\" \\ \\u202e\\x0a");
	assert_int_equal(log_text_unsafe("ok Ж", 5, NULL), -1);
	assert_int_equal(log_text_unsafe("ok\xc2\x9a", 4, &cp), 2);
	assert_int_equal(cp, 0x9a);
	assert_int_equal(log_text_unsafe("Жx\xe2\x81\xa7", 6, &cp), 3);
	assert_int_equal(cp, 0x2067);
	assert_int_equal(log_text_unsafe("a\xff", 2, &cp), 1);
	assert_int_equal(cp, -1);
	assert_true(log_char_safe(' '));
	assert_true(log_char_safe(0x0416));
	assert_false(log_char_safe('\n'));
	assert_false(log_char_safe(0x85));
	assert_false(log_char_safe(0x202e));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_phone),
		cmocka_unit_test(test_mask_small_buffer),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_truncates_whole),
		cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
