/*
 * Unit tests for the HTTP intake's pure parts: timestamps, Content-Type,
 * signatures, channel names, body validation and the rate limiter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meterline/http_intake.h"
#include "meterline/log.h"

#define SEC 1000000LL

static void
test_rfc3339_good(void **state)
{
	int64_t us;

	(void)state;
	assert_int_equal(http_parse_rfc3339("1970-01-01T00:00:00Z", &us), 0);
	assert_true(us == 0);
	assert_int_equal(
	    http_parse_rfc3339("2024-05-18T09:30:00+03:00", &us), 0);
	assert_true(us == 1716013800LL * SEC);
	assert_int_equal(http_parse_rfc3339("2024-05-18t06:30:00z", &us), 0);
	assert_true(us == 1716013800LL * SEC);
	assert_int_equal(
	    http_parse_rfc3339("2024-05-18 01:00:00.25-05:30", &us), 0);
	assert_true(us == 1716013800LL * SEC + 250000);
	assert_int_equal(
	    http_parse_rfc3339("2024-02-29T23:59:59.123456789Z", &us), 0);
	assert_true(us == 1709251199LL * SEC + 123456);
	assert_int_equal(http_parse_rfc3339("1969-12-31T23:59:59Z", &us), 0);
	assert_true(us == -SEC);
	assert_int_equal(http_parse_rfc3339("2016-12-31T23:59:60Z", &us), 0);
}

static void
test_rfc3339_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"2024-05-18",
		"2024-05-18T09:30:00",
		"2024-05-18T09:30Z",
		"2024-5-18T09:30:00Z",
		"2024-05-18T09:30:00+0300",
		"2024-05-18T09:30:00+03",
		"2024-13-01T00:00:00Z",
		"2023-02-29T00:00:00Z",
		"2024-04-31T00:00:00Z",
		"2024-05-18T24:00:00Z",
		"2024-05-18T09:60:00Z",
		"2024-05-18T09:30:61Z",
		"2024-05-18T09:30:00.Z",
		"2024-05-18T09:30:00.1234567890Z",
		"2024-05-18T09:30:00Zjunk",
		"2024-05-18T09:30:00+24:00",
		"2024-05-18X09:30:00Z",
		"１９７０-01-01T00:00:00Z",
		"2024-05-00T09:30:00Z",
	};
	int64_t us;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (http_parse_rfc3339(bad[i], &us) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(http_parse_rfc3339(NULL, &us), -1);
}

static void
test_content_type(void **state)
{
	(void)state;
	assert_true(http_content_type_json("application/json"));
	assert_true(http_content_type_json("Application/JSON"));
	assert_true(http_content_type_json("application/json; charset=utf-8"));
	assert_true(
	    http_content_type_json("application/json;charset=\"UTF-8\""));
	assert_true(http_content_type_json(" application/json ; foo=bar"));
	assert_false(http_content_type_json(NULL));
	assert_false(http_content_type_json(""));
	assert_false(http_content_type_json("text/plain"));
	assert_false(http_content_type_json("application/jsonx"));
	assert_false(http_content_type_json("application/json-patch+json"));
	assert_false(
	    http_content_type_json("application/json; charset=koi8-r"));
	assert_false(http_content_type_json("application/json; junk"));
}

static const unsigned char skey[] = "s3cret";

static void
test_signature(void **state)
{
	static const char body[] = "{\"id\":\"1\"}";
	char hex[65], hdr[80];

	(void)state;
	http_signature_hex(body, strlen(body), skey, 6, hex);
	assert_int_equal(strlen(hex), 64);
	snprintf(hdr, sizeof(hdr), "sha256=%s", hex);
	assert_int_equal(http_signature_check(hdr, body, strlen(body), skey, 6),
	    HTTP_SIG_OK);
	/* uppercase hex and scheme are accepted too */
	for (char *p = hdr; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(http_signature_check(hdr, body, strlen(body), skey, 6),
	    HTTP_SIG_OK);
	assert_int_equal(
	    http_signature_check(NULL, body, 3, skey, 6), HTTP_SIG_MISSING);
	snprintf(hdr, sizeof(hdr), "sha256=%.63s", hex); /* truncated */
	assert_int_equal(http_signature_check(hdr, body, strlen(body), skey, 6),
	    HTTP_SIG_MALFORMED);
	snprintf(hdr, sizeof(hdr), "sha1=%s", hex);
	assert_int_equal(http_signature_check(hdr, body, strlen(body), skey, 6),
	    HTTP_SIG_MALFORMED);
	snprintf(hdr, sizeof(hdr), "sha256=%.63sg", hex);
	assert_int_equal(http_signature_check(hdr, body, strlen(body), skey, 6),
	    HTTP_SIG_MALFORMED);
	snprintf(hdr, sizeof(hdr), "sha256=%s", hex);
	assert_int_equal(
	    http_signature_check(hdr, body, strlen(body) - 1, skey, 6),
	    HTTP_SIG_MISMATCH);
	assert_int_equal(http_signature_check(hdr, body, strlen(body), skey, 5),
	    HTTP_SIG_MISMATCH);
}

/* RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?") */
/* With X-Meterline-Timestamp the MAC is over "<ts>.<body>" (the value
 * below is Python's hmac.new(b"secret", b'1700000000.{"a":1}', sha256)). */
static void
test_signature_timestamp(void **state)
{
	static const char body[] = "{\"a\":1}";
	static const char want[] =
	    "49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686";
	const unsigned char *key = (const unsigned char *)"secret";
	struct http_signer *s = http_signer_new(key, 6);
	char hex[65], hdr[80];
	int64_t t;

	(void)state;
	http_signature_hex_ts("1700000000", body, strlen(body), key, 6, hex);
	assert_string_equal(hex, want);
	http_signer_hex_ts(s, "1700000000", body, strlen(body), hex);
	assert_string_equal(hex, want);
	snprintf(hdr, sizeof(hdr), "sha256=%s", want);
	assert_int_equal(
	    http_signer_check_ts(s, hdr, "1700000000", body, strlen(body)),
	    HTTP_SIG_OK);
	assert_int_equal(http_signature_check_ts(
	                     hdr, "1700000000", body, strlen(body), key, 6),
	    HTTP_SIG_OK);
	/* another time, or the body alone, does not match */
	assert_int_equal(
	    http_signer_check_ts(s, hdr, "1700000001", body, strlen(body)),
	    HTTP_SIG_MISMATCH);
	assert_int_equal(
	    http_signer_check(s, hdr, body, strlen(body)), HTTP_SIG_MISMATCH);
	http_signer_free(s);
	assert_int_equal(http_parse_unix_time("1700000000", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(http_parse_unix_time("0", &t), 0);
	assert_int_equal(http_parse_unix_time("", &t), -1);
	assert_int_equal(http_parse_unix_time("-1", &t), -1);
	assert_int_equal(http_parse_unix_time("17e8", &t), -1);
	assert_int_equal(http_parse_unix_time(" 1", &t), -1);
	assert_int_equal(http_parse_unix_time("1234567890123", &t), -1);
	/* fuzz_http_msg found the overflow (tests/fuzz/regress/http_msg) */
	assert_int_equal(
	    http_parse_unix_time("22444444444444444444444", &t), -1);
	assert_int_equal(http_parse_unix_time(NULL, &t), -1);
}

static void
test_signature_rfc4231(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	char hex[65];

	(void)state;
	http_signature_hex(
	    data, strlen(data), (const unsigned char *)"Jefe", 4, hex);
	assert_string_equal(hex,
	    "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}

static void
test_signer(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	struct http_signer *s =
	    http_signer_new((const unsigned char *)"Jefe", 4);
	char hex[65], hdr[80];

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < 3; i++) { /* the prepared key is reused */
		http_signer_hex(s, data, strlen(data), hex);
		assert_string_equal(hex,
		    "5bdcc146bf60754e6a042426089575c7"
		    "5a003f089d2739839dec58b964ec3843");
	}
	snprintf(hdr, sizeof(hdr), "sha256=%s", hex);
	assert_int_equal(
	    http_signer_check(s, hdr, data, strlen(data)), HTTP_SIG_OK);
	assert_int_equal(http_signer_check(s, hdr, data, strlen(data) - 1),
	    HTTP_SIG_MISMATCH);
	assert_int_equal(http_signer_check(s, NULL, data, 1), HTTP_SIG_MISSING);
	hdr[70] = '\0';
	assert_int_equal(
	    http_signer_check(s, hdr, data, strlen(data)), HTTP_SIG_MALFORMED);
	http_signer_free(s);
	http_signer_free(NULL);
}

static void
test_channel(void **state)
{
	(void)state;
	assert_true(http_channel_ok("viber"));
	assert_true(http_channel_ok("whatsapp"));
	assert_true(http_channel_ok("tg_bot-2"));
	assert_false(http_channel_ok("sms"));
	assert_false(http_channel_ok("replay"));
	assert_false(http_channel_ok("Viber"));
	assert_false(http_channel_ok(""));
	assert_false(http_channel_ok("a b"));
	assert_false(http_channel_ok("abcdefghijklmnopqrstuvwxyz0123456"));
	assert_false(http_channel_ok(NULL));
}

static int
parse(const char *body, const char **error)
{
	char detail[256];
	struct http_msg m;
	int rc = http_msg_parse(
	    &m, body, strlen(body), 4096, error, detail, sizeof(detail));

	if (rc == 0)
		http_msg_clear(&m);
	else
		assert_null(m.json_);
	return rc;
}

#define GOOD_TAIL "\"to\":\"7377\",\"timestamp\":\"2024-05-18T09:30:00+03:00\""

static void
test_msg_good(void **state)
{
	static const char body[] =
	    "{\"id\":\"m-1\",\"channel\":\"viber\","
	    "\"from\":\"79120000001\",\"text\":\"\xd0\x9f\xd0\xa1 1 2\\n\","
	    "\"extra\":[1,2]," GOOD_TAIL "}";
	const char *error = NULL;
	char detail[256];
	struct http_msg m;

	(void)state;
	assert_int_equal(http_msg_parse(&m, body, strlen(body), 4096, &error,
	                     detail, sizeof(detail)),
	    0);
	assert_string_equal(m.id, "m-1");
	assert_string_equal(m.channel, "viber");
	assert_string_equal(m.from, "79120000001");
	assert_string_equal(m.to, "7377");
	assert_string_equal(m.text, "\xd0\x9f\xd0\xa1 1 2\n");
	assert_int_equal(m.text_len, 9);
	assert_true(m.time_us == 1716013800LL * SEC);
	http_msg_clear(&m);
	http_msg_clear(&m);
}

static void
test_msg_bad(void **state)
{
	static const struct {
		const char *body, *error;
	} cases[] = {
		{ "", "malformed_json" },
		{ "{", "malformed_json" },
		{ "[]", "malformed_json" },
		{ "\"x\"", "malformed_json" },
		{ "{\"id\":\"a\",\"id\":\"b\"}", "malformed_json" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"\xff\"," GOOD_TAIL
		  "}",
		    "malformed_json" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"a\\u0000b\"," GOOD_TAIL
		  "}",
		    "malformed_json" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"\\ud800\"," GOOD_TAIL
		  "}",
		    "malformed_json" },
		{ "{\"channel\":\"viber\",\"from\":\"1\",\"text\":\"x\"," GOOD_TAIL
		  "}",
		    "missing_field" },
		{ "{\"id\":null,\"channel\":\"viber\",\"from\":\"1\",\"text\":\"x\"," GOOD_TAIL
		  "}",
		    "missing_field" },
		{ "{\"id\":1,\"channel\":\"viber\",\"from\":\"1\",\"text\":\"x\"," GOOD_TAIL
		  "}",
		    "invalid_field" },
		{ "{\"id\":\"\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"x\"," GOOD_TAIL
		  "}",
		    "invalid_field" },
		{ "{\"id\":\"a\\nb\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"x\"," GOOD_TAIL
		  "}",
		    "invalid_field" },
		{ "{\"id\":\"1\",\"channel\":\"sms\",\"from\":\"1\",\"text\":\"x\"," GOOD_TAIL
		  "}",
		    "invalid_field" },
		{ "{\"id\":\"1\",\"channel\":[],\"from\":\"1\",\"text\":\"x\"," GOOD_TAIL
		  "}",
		    "invalid_field" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"text\":\"x\"," GOOD_TAIL
		  "}",
		    "missing_field" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\",\"text\":true," GOOD_TAIL
		  "}",
		    "invalid_field" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\"," GOOD_TAIL
		  "}",
		    "missing_field" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"x\",\"to\":\"2\"}",
		    "missing_field" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"x\",\"to\":\"2\",\"timestamp\":1716013800}",
		    "invalid_field" },
		{ "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\",\"text\":\"x\",\"to\":\"2\",\"timestamp\":\"2024-05-18T09:30:00\"}",
		    "bad_timestamp" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *error = NULL;

		if (parse(cases[i].body, &error) == 0)
			fail_msg("case %zu accepted", i);
		if (strcmp(error, cases[i].error) != 0)
			fail_msg("case %zu: %s, expected %s", i, error,
			    cases[i].error);
	}
}

static void
test_msg_text_limit(void **state)
{
	char *body = malloc(8192), *text = malloc(4200);
	const char *error = NULL;

	(void)state;
	memset(text, 'x', 4096);
	text[4096] = '\0';
	snprintf(body, 8192,
	    "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\","
	    "\"text\":\"%s\"," GOOD_TAIL "}",
	    text);
	assert_int_equal(parse(body, &error), 0);
	strcpy(text + 4096, "y");
	snprintf(body, 8192,
	    "{\"id\":\"1\",\"channel\":\"viber\",\"from\":\"1\","
	    "\"text\":\"%s\"," GOOD_TAIL "}",
	    text);
	assert_int_equal(parse(body, &error), -1);
	assert_string_equal(error, "text_too_long");
	free(body);
	free(text);
}

static void
test_ratelimit_bucket(void **state)
{
	struct http_ratelimit *rl = http_ratelimit_new(1024, 20, 0);
	int64_t t = 1000 * SEC;

	(void)state;
	for (int i = 0; i < 20; i++)
		assert_int_equal(http_ratelimit_take(rl, "viber\0a", 7, t), 0);
	assert_int_equal(http_ratelimit_take(rl, "viber\0a", 7, t), 3);
	assert_int_equal(http_ratelimit_take(rl, "viber\0b", 7, t), 0);
	assert_int_equal(http_ratelimit_take(rl, "whatsapp\0a", 10, t), 0);
	assert_int_equal(
	    http_ratelimit_take(rl, "viber\0a", 7, t + 2 * SEC), 1);
	assert_int_equal(
	    http_ratelimit_take(rl, "viber\0a", 7, t + 3 * SEC), 0);
	assert_int_equal(
	    http_ratelimit_take(rl, "viber\0a", 7, t + 3 * SEC), 3);
	http_ratelimit_refund(rl, "viber\0a", 7, t + 3 * SEC);
	assert_int_equal(
	    http_ratelimit_take(rl, "viber\0a", 7, t + 3 * SEC), 0);
	/* a full minute later the bucket is full again */
	for (int i = 0; i < 20; i++)
		assert_int_equal(
		    http_ratelimit_take(rl, "viber\0a", 7, t + 64 * SEC), 0);
	assert_true(http_ratelimit_take(rl, "viber\0a", 7, t + 64 * SEC) > 0);
	http_ratelimit_free(rl);
}

static void
test_ratelimit_bounded(void **state)
{
	struct http_ratelimit *rl = http_ratelimit_new(256, 20, 2);
	int64_t t = 1000 * SEC;
	char key[32];
	int limited = 0;

	(void)state;
	assert_null(http_ratelimit_new(256, 0, 0));
	assert_int_equal(http_ratelimit_take(NULL, "x", 1, t), 0);
	/* 100000 senders in one second: the table stays at 256 slots */
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof(key), "viber%c%d", 0, i);

		assert_int_equal(http_ratelimit_take(rl, key, (size_t)n, t), 0);
	}
	assert_true(http_ratelimit_used(rl) <= 256);
	/* a hot sender in a busy table is still limited */
	for (int i = 0; i < 10; i++)
		limited += http_ratelimit_take(rl, "hot", 3, t) > 0;
	assert_int_equal(limited, 8);
	http_ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_good),
		cmocka_unit_test(test_rfc3339_bad),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_signature_rfc4231),
		cmocka_unit_test(test_signature_timestamp),
		cmocka_unit_test(test_signer),
		cmocka_unit_test(test_channel),
		cmocka_unit_test(test_msg_good),
		cmocka_unit_test(test_msg_bad),
		cmocka_unit_test(test_msg_text_limit),
		cmocka_unit_test(test_ratelimit_bucket),
		cmocka_unit_test(test_ratelimit_bounded),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
