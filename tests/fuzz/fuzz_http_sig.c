/*
 * libFuzzer target: the bridge's signature header parser and check
 * (X-Meterline-Signature, optionally with X-Meterline-Timestamp).
 *
 * Input: "<signature header>\n<timestamp>\n<body>"; without a second
 * newline there is no timestamp, without any the whole input is the header
 * and the body is empty. The header and timestamp are NUL-terminated, the
 * body an exact-size buffer.
 *
 * Promises checked: the one-shot and the prepared-key checks agree; a
 * header is OK only if it is exactly "sha256=" and the right MAC in hex
 * (any case); the right MAC built here is always OK, and with one hex digit
 * changed it is MISMATCH, never OK.
 */
#include <string.h>
#include <strings.h>

#include "fuzz_check.h"
#include "meterline/http_intake.h"

static const unsigned char secret[] = "fuzz-secret-0123456789";
static struct http_signer *signer;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signer = http_signer_new(secret, sizeof(secret) - 1);
	CHECK(signer != NULL);
	return 0;
}

static char *
dup_str(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
check(const char *header, const char *ts, const uint8_t *body, size_t len)
{
	char hex[65], good[72];
	enum http_sig a, b;

	a = http_signature_check_ts(
	    header, ts, body, len, secret, sizeof(secret) - 1);
	b = http_signer_check_ts(signer, header, ts, body, len);
	CHECK(a == b);
	http_signer_hex_ts(signer, ts, body, len, hex);
	CHECK(strlen(hex) == 64);
	snprintf(good, sizeof(good), "sha256=%s", hex);
	if (a == HTTP_SIG_OK)
		CHECK(strlen(header) == 71 && strcasecmp(header, good) == 0);
	CHECK(http_signer_check_ts(signer, good, ts, body, len) == HTTP_SIG_OK);
	good[7 + (len % 64)] = good[7 + (len % 64)] == '0' ? '1' : '0';
	CHECK(http_signer_check_ts(signer, good, ts, body, len) ==
	    HTTP_SIG_MISMATCH);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl1 = memchr(data, '\n', size), *nl2 = NULL, *body;
	char *header, *ts = NULL;
	size_t hlen = nl1 ? (size_t)(nl1 - data) : size, blen = 0;
	uint8_t *copy;

	header = dup_str(data, hlen);
	if (nl1 != NULL) {
		const uint8_t *rest = nl1 + 1;
		size_t rlen = size - hlen - 1;

		nl2 = memchr(rest, '\n', rlen);
		if (nl2 != NULL) {
			ts = dup_str(rest, (size_t)(nl2 - rest));
			body = nl2 + 1;
			blen = rlen - (size_t)(nl2 - rest) - 1;
		} else {
			body = rest;
			blen = rlen;
		}
	} else {
		body = data + size;
	}
	copy = malloc(blen ? blen : 1);
	CHECK(copy != NULL);
	memcpy(copy, body, blen);
	check(header, ts, copy, blen);
	check(header, NULL, copy, blen);
	free(copy);
	free(ts);
	free(header);
	return 0;
}
