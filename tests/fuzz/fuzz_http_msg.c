/*
 * libFuzzer target: the generic HTTP bridge's body checks (http_check.c),
 * everything a request body and its headers go through before the intake.
 *
 * Input: the first octet picks max_text (16..4,096 octets), the rest is the
 * body, parsed by http_msg_parse. The same octets, NUL-terminated, also go
 * to the header parsers: Content-Type, RFC 3339 and Unix timestamps and
 * the channel name.
 *
 * Promises checked: an accepted body has every field present, within its
 * bounds and free of control characters, a valid channel, text of at most
 * max_text octets of UTF-8 without NUL and a timestamp that parses to the
 * time returned; a refused one has an error code, a terminated detail and
 * a cleared message; clearing twice is harmless.
 */
#include <string.h>

#include "fuzz_check.h"
#include "meterline/http_intake.h"

static void
check_field(const char *s, size_t max)
{
	size_t n;

	CHECK(s != NULL);
	n = strlen(s);
	CHECK(n >= 1 && n <= max);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7F);
}

static void
check_body(const uint8_t *body, size_t len, size_t max_text)
{
	struct http_msg m;
	const char *error = NULL;
	char detail[128];
	int64_t us;

	memset(detail, 'x', sizeof(detail));
	if (http_msg_parse(&m, (const char *)body, len, max_text, &error,
	        detail, sizeof(detail)) != 0) {
		CHECK(error != NULL && error[0] != '\0');
		CHECK(memchr(detail, 0, sizeof(detail)) != NULL);
		CHECK(m.json_ == NULL);
		http_msg_clear(&m);
		return;
	}
	check_field(m.id, 128);
	check_field(m.from, 128);
	check_field(m.to, 128);
	CHECK(m.channel != NULL && http_channel_ok(m.channel));
	CHECK(m.text != NULL && m.text_len <= max_text);
	CHECK(memchr(m.text, 0, m.text_len) == NULL && m.text[m.text_len] == 0);
	CHECK(m.timestamp != NULL);
	CHECK(http_parse_rfc3339(m.timestamp, &us) == 0 && us == m.time_us);
	http_msg_clear(&m);
	http_msg_clear(&m);
}

/* The header parsers see NUL-terminated strings. */
static void
check_headers(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	int64_t t;

	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	(void)http_content_type_json(s);
	if (http_parse_rfc3339(s, &t) == 0)
		CHECK(strlen(s) >= 20);
	if (http_parse_unix_time(s, &t) == 0)
		CHECK(t >= 0 && strlen(s) >= 1 && strlen(s) <= 12);
	if (http_channel_ok(s))
		CHECK(strlen(s) >= 1 && strlen(s) <= 32 &&
		    strcmp(s, "sms") != 0 && strcmp(s, "replay") != 0);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max_text;
	uint8_t *body;

	if (size < 1)
		return 0;
	max_text = 16 + (size_t)data[0] * 16;
	/* An exact-size copy: the body is not NUL-terminated on the wire. */
	body = malloc(size - 1 ? size - 1 : 1);
	CHECK(body != NULL);
	memcpy(body, data + 1, size - 1);
	check_body(body, size - 1, max_text);
	free(body);
	check_headers(data + 1, size - 1);
	return 0;
}
