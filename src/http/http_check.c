/*
 * Pure checks for the HTTP intake: RFC 3339 timestamps, the Content-Type,
 * the HMAC signature, channel names and the request body. No libevent here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "meterline/ascii.h"
#include "meterline/http_intake.h"

#define HTTP_SIG_PREFIX "sha256="
#define HTTP_SIG_HEX 64
#define HTTP_CHANNEL_MAX 32
#define HTTP_FIELD_MAX 128

/* Read exactly n ASCII digits at *p into *out and advance. */
static int
rfc_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
rfc_expect(const char **p, char c)
{
	if (**p != c)
		return -1;
	(*p)++;
	return 0;
}

static int
rfc_days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
rfc_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "[.frac]" into microseconds (1..9 digits, truncated to 6). */
static int
rfc_fraction(const char **p, int64_t *us)
{
	int n = 0;
	int64_t v = 0;

	*us = 0;
	if (**p != '.')
		return 0;
	(*p)++;
	while (**p >= '0' && **p <= '9') {
		if (++n > 9)
			return -1;
		if (n <= 6)
			v = v * 10 + (**p - '0');
		(*p)++;
	}
	if (n == 0)
		return -1;
	for (int i = n; i < 6; i++)
		v *= 10;
	*us = v;
	return 0;
}

/* "Z" or "+HH:MM" / "-HH:MM" into seconds east of UTC. */
static int
rfc_offset(const char **p, int *secs)
{
	int sign, oh, om;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*secs = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (rfc_digits(p, 2, &oh) < 0 || rfc_expect(p, ':') < 0 ||
	    rfc_digits(p, 2, &om) < 0 || oh > 23 || om > 59)
		return -1;
	*secs = sign * (oh * 3600 + om * 60);
	return 0;
}

int
http_parse_rfc3339(const char *s, int64_t *us)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, off;
	int64_t frac, t;

	if (s == NULL)
		return -1;
	if (rfc_digits(&p, 4, &y) < 0 || rfc_expect(&p, '-') < 0 ||
	    rfc_digits(&p, 2, &mo) < 0 || rfc_expect(&p, '-') < 0 ||
	    rfc_digits(&p, 2, &d) < 0)
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (rfc_digits(&p, 2, &h) < 0 || rfc_expect(&p, ':') < 0 ||
	    rfc_digits(&p, 2, &mi) < 0 || rfc_expect(&p, ':') < 0 ||
	    rfc_digits(&p, 2, &sec) < 0 || rfc_fraction(&p, &frac) < 0 ||
	    rfc_offset(&p, &off) < 0 || *p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > rfc_days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60) /* 60: a leap second */
		return -1;
	t = rfc_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    off;
	*us = t * 1000000 + frac;
	return 0;
}

/* Skip optional whitespace (OWS: space and tab). */
static const char *
ct_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Check one "name=value" parameter; only charset is looked at. */
static bool
ct_param_ok(const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	size_t nlen, vlen;
	const char *v;

	if (eq == NULL)
		return false;
	nlen = (size_t)(eq - p);
	while (nlen > 0 && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
		nlen--;
	if (nlen != 7 || strncasecmp(p, "charset", 7) != 0)
		return true; /* other parameters are ignored */
	v = ct_ows(eq + 1);
	vlen = (size_t)(p + n - v);
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
		v++;
		vlen -= 2;
	}
	return (vlen == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
	    (vlen == 4 && strncasecmp(v, "utf8", 4) == 0);
}

bool
http_content_type_json(const char *value)
{
	static const char type[] = "application/json";
	const char *p;

	if (value == NULL)
		return false;
	p = ct_ows(value);
	if (strncasecmp(p, type, sizeof(type) - 1) != 0)
		return false;
	p = ct_ows(p + sizeof(type) - 1);
	while (*p == ';') {
		const char *start = ct_ows(p + 1);
		const char *end = strchr(start, ';');
		size_t n = end ? (size_t)(end - start) : strlen(start);

		if (n > 0 && !ct_param_ok(start, n))
			return false;
		p = start + n;
	}
	return *p == '\0';
}

struct http_signer {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

struct http_signer *
http_signer_new(const unsigned char *secret, size_t len)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	struct http_signer *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	s->ctx = s->mac ? EVP_MAC_CTX_new(s->mac) : NULL;
	if (s->ctx == NULL || !EVP_MAC_init(s->ctx, secret, len, params)) {
		http_signer_free(s);
		return NULL;
	}
	return s;
}

void
http_signer_free(struct http_signer *s)
{
	if (s == NULL)
		return;
	EVP_MAC_CTX_free(s->ctx);
	EVP_MAC_free(s->mac);
	free(s);
}

/* HMAC-SHA256 of [ts "."] body into mac[32]; -1 on an OpenSSL failure. A
 * NULL key in EVP_MAC_init keeps the prepared key (its ipad/opad state).
 * The "." keeps the timestamp from running into the body. */
static int
signer_mac(struct http_signer *s, const char *ts, const void *body, size_t len,
    unsigned char mac[32])
{
	unsigned char out[EVP_MAX_MD_SIZE];
	size_t outlen = 0;

	if (!EVP_MAC_init(s->ctx, NULL, 0, NULL) ||
	    (ts != NULL &&
	        (!EVP_MAC_update(
	             s->ctx, (const unsigned char *)ts, strlen(ts)) ||
	            !EVP_MAC_update(s->ctx, (const unsigned char *)".", 1))) ||
	    !EVP_MAC_update(s->ctx, body, len) ||
	    !EVP_MAC_final(s->ctx, out, &outlen, sizeof(out)) || outlen != 32)
		return -1;
	memcpy(mac, out, 32);
	return 0;
}

static void
hex_encode(const unsigned char mac[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned int i = 0; i < 32; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[64] = '\0';
}

void
http_signer_hex_ts(struct http_signer *s, const char *ts, const void *body,
    size_t len, char hex[65])
{
	unsigned char mac[32];

	if (signer_mac(s, ts, body, len, mac) < 0)
		memset(mac, 0, sizeof(mac));
	hex_encode(mac, hex);
}

void
http_signer_hex(
    struct http_signer *s, const void *body, size_t len, char hex[65])
{
	http_signer_hex_ts(s, NULL, body, len, hex);
}

void
http_signature_hex_ts(const char *ts, const void *body, size_t len,
    const unsigned char *secret, size_t secret_len, char hex[65])
{
	struct http_signer *s = http_signer_new(secret, secret_len);

	if (s == NULL) {
		memset(hex, '0', 64);
		hex[64] = '\0';
		return;
	}
	http_signer_hex_ts(s, ts, body, len, hex);
	http_signer_free(s);
}

void
http_signature_hex(const void *body, size_t len, const unsigned char *secret,
    size_t secret_len, char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(EVP_sha256(), secret, (int)secret_len, body, len, mac,
	        &maclen) == NULL)
		memset(mac, 0, 32);
	hex_encode(mac, hex);
}

/* "sha256=<64 hex>" into got[32]. */
static enum http_sig
sig_parse(const char *header, unsigned char got[32])
{
	const char *hex;

	if (header == NULL)
		return HTTP_SIG_MISSING;
	if (strncasecmp(header, HTTP_SIG_PREFIX, sizeof(HTTP_SIG_PREFIX) - 1) !=
	    0)
		return HTTP_SIG_MALFORMED;
	hex = header + sizeof(HTTP_SIG_PREFIX) - 1;
	if (strlen(hex) != HTTP_SIG_HEX)
		return HTTP_SIG_MALFORMED;
	for (size_t i = 0; i < 32; i++) {
		int hi = ascii_hex(hex[2 * i]), lo = ascii_hex(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return HTTP_SIG_MALFORMED;
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	return HTTP_SIG_OK;
}

enum http_sig
http_signer_check(
    struct http_signer *s, const char *header, const void *body, size_t len)
{
	return http_signer_check_ts(s, header, NULL, body, len);
}

enum http_sig
http_signer_check_ts(struct http_signer *s, const char *header, const char *ts,
    const void *body, size_t len)
{
	unsigned char want[32], got[32];
	enum http_sig r = sig_parse(header, got);

	if (r != HTTP_SIG_OK)
		return r;
	if (signer_mac(s, ts, body, len, want) < 0)
		return HTTP_SIG_MISMATCH;
	return CRYPTO_memcmp(want, got, sizeof(got)) == 0 ? HTTP_SIG_OK
	                                                  : HTTP_SIG_MISMATCH;
}

enum http_sig
http_signature_check(const char *header, const void *body, size_t len,
    const unsigned char *secret, size_t secret_len)
{
	unsigned char want[EVP_MAX_MD_SIZE], got[32];
	unsigned int wantlen = 0;
	enum http_sig r = sig_parse(header, got);

	if (r != HTTP_SIG_OK)
		return r;
	if (HMAC(EVP_sha256(), secret, (int)secret_len, body, len, want,
	        &wantlen) == NULL ||
	    wantlen != sizeof(got))
		return HTTP_SIG_MISMATCH;
	return CRYPTO_memcmp(want, got, sizeof(got)) == 0 ? HTTP_SIG_OK
	                                                  : HTTP_SIG_MISMATCH;
}

enum http_sig
http_signature_check_ts(const char *header, const char *ts, const void *body,
    size_t len, const unsigned char *secret, size_t secret_len)
{
	struct http_signer *s;
	enum http_sig r;

	if (ts == NULL)
		return http_signature_check(
		    header, body, len, secret, secret_len);
	if ((s = http_signer_new(secret, secret_len)) == NULL)
		return HTTP_SIG_MISMATCH;
	r = http_signer_check_ts(s, header, ts, body, len);
	http_signer_free(s);
	return r;
}

int
http_parse_unix_time(const char *s, int64_t *secs)
{
	int64_t v = 0;
	size_t n = 0;

	if (s == NULL)
		return -1;
	/* 13 digits are enough to refuse: no overflow on a long run. */
	for (; n <= 12 && s[n] >= '0' && s[n] <= '9'; n++)
		v = v * 10 + (s[n] - '0');
	if (n == 0 || n > 12 || s[n] != '\0')
		return -1;
	*secs = v;
	return 0;
}

bool
http_channel_ok(const char *c)
{
	size_t n;

	if (c == NULL)
		return false;
	n = strlen(c);
	if (n == 0 || n > HTTP_CHANNEL_MAX || strcmp(c, "sms") == 0 ||
	    strcmp(c, "replay") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = c[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		        ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* Fetch a required string field; -1 with error and detail when absent or
 * not a string. */
static int
msg_string(json_t *obj, const char *name, const char **out, size_t *len,
    const char **error, char *detail, size_t dlen)
{
	json_t *v = json_object_get(obj, name);

	if (v == NULL || json_is_null(v)) {
		*error = "missing_field";
		snprintf(detail, dlen, "%s is required", name);
		return -1;
	}
	if (!json_is_string(v)) {
		*error = "invalid_field";
		snprintf(detail, dlen, "%s must be a string", name);
		return -1;
	}
	*out = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

/* An id or address: 1..HTTP_FIELD_MAX bytes, no control characters. */
static int
msg_token(const char *name, const char *s, size_t len, const char **error,
    char *detail, size_t dlen)
{
	const char *why = NULL;

	if (len == 0)
		why = "must not be empty";
	else if (len > HTTP_FIELD_MAX)
		why = "is longer than 128 bytes";
	for (size_t i = 0; why == NULL && i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			why = "contains a control character";
	if (why == NULL)
		return 0;
	*error = "invalid_field";
	snprintf(detail, dlen, "%s %s", name, why);
	return -1;
}

static int
msg_fields(struct http_msg *m, json_t *root, size_t max_text,
    const char **error, char *detail, size_t dlen)
{
	size_t n;

	if (msg_string(root, "id", &m->id, &n, error, detail, dlen) < 0 ||
	    msg_token("id", m->id, n, error, detail, dlen) < 0 ||
	    msg_string(root, "channel", &m->channel, &n, error, detail, dlen) <
	        0)
		return -1;
	if (!http_channel_ok(m->channel)) {
		*error = "invalid_field";
		snprintf(detail, dlen,
		    "channel must be 1-32 of [a-z0-9_-] and not sms or replay");
		return -1;
	}
	if (msg_string(root, "from", &m->from, &n, error, detail, dlen) < 0 ||
	    msg_token("from", m->from, n, error, detail, dlen) < 0 ||
	    msg_string(root, "to", &m->to, &n, error, detail, dlen) < 0 ||
	    msg_token("to", m->to, n, error, detail, dlen) < 0 ||
	    msg_string(
	        root, "text", &m->text, &m->text_len, error, detail, dlen) < 0)
		return -1;
	if (m->text_len > max_text) {
		*error = "text_too_long";
		snprintf(detail, dlen, "text is %zu bytes, at most %zu allowed",
		    m->text_len, max_text);
		return -1;
	}
	if (msg_string(
	        root, "timestamp", &m->timestamp, &n, error, detail, dlen) < 0)
		return -1;
	if (http_parse_rfc3339(m->timestamp, &m->time_us) < 0) {
		*error = "bad_timestamp";
		snprintf(detail, dlen,
		    "timestamp must be RFC 3339 with an offset, e.g. 2024-05-18T09:30:00+03:00");
		return -1;
	}
	return 0;
}

int
http_msg_parse(struct http_msg *m, const char *body, size_t len,
    size_t max_text, const char **error, char *detail, size_t dlen)
{
	json_error_t jerr;
	json_t *root;

	memset(m, 0, sizeof(*m));
	/* Duplicate keys are refused: two readers of one body must never
	 * disagree on what it says. NUL inside strings is refused by default. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		*error = "malformed_json";
		snprintf(detail, dlen, "%s at line %d column %d", jerr.text,
		    jerr.line, jerr.column);
		return -1;
	}
	m->json_ = root;
	if (!json_is_object(root)) {
		*error = "malformed_json";
		snprintf(detail, dlen, "the body must be a JSON object");
		http_msg_clear(m);
		return -1;
	}
	if (msg_fields(m, root, max_text, error, detail, dlen) < 0) {
		http_msg_clear(m);
		return -1;
	}
	return 0;
}

void
http_msg_clear(struct http_msg *m)
{
	if (m == NULL)
		return;
	json_decref(m->json_);
	memset(m, 0, sizeof(*m));
}
