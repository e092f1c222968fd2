/*
 * libFuzzer target: the path every inbound SMS takes through the pure core.
 *
 * Input: the first octet is the data_coding, the rest the short message.
 * Decoded with text_decode (and, for the septet path, text_gsm7_unpack),
 * checked against the decoder's promises, run through the grammar, and
 * encoded back as a reply whose parts must decode to the same text.
 * Any broken promise calls abort(), which libFuzzer reports as a crash.
 *
 * Build and run: scripts/fuzz.sh [SECONDS] (docs/fuzzing.md).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "meterline/text.h"
#ifdef MLINE_FUZZ_GRAMMAR
#include "meterline/parse.h"
#endif

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++) {
		if (s[k] < 0x80 || s[k] > 0xBF)
			return 0;
	}
	return len;
}

static bool
utf8_ok(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t k;

	for (size_t i = 0; i < n; i += k) {
		if ((k = utf8_seq(s + i, n - i)) == 0)
			return false;
	}
	return true;
}

/*
 * Decode into an exact-size heap buffer (so ASan sees any overrun) and
 * check the promises of text.h. Returns the buffer; the caller frees it.
 */
static char *
decode_checked(uint8_t dcs, const uint8_t *in, size_t len, size_t *n)
{
	size_t cap = TEXT_UTF8_MAX(len) + 1;
	char *out = malloc(cap);
	unsigned flags;

	CHECK(out != NULL);
	*n = text_decode(dcs, in, len, out, cap, &flags);
	CHECK(*n < cap);
	CHECK(out[*n] == '\0');
	CHECK(strlen(out) == *n);
	CHECK(!(flags & TEXT_F_TRUNCATED));
	CHECK(utf8_ok(out, *n));
	return out;
}

/* A cut decode is the longest whole-character prefix of the full one. */
static void
check_truncated(uint8_t dcs, const uint8_t *in, size_t len, const char *full,
    size_t fulln, size_t cap)
{
	char *out = malloc(cap ? cap : 1);
	unsigned flags;
	size_t n, next;

	CHECK(out != NULL);
	n = text_decode(dcs, in, len, out, cap, &flags);
	if (cap == 0) {
		CHECK(n == 0);
		free(out);
		return;
	}
	CHECK(n < cap && out[n] == '\0');
	CHECK(memcmp(out, full, n) == 0);
	if (n < fulln) {
		next = utf8_seq((const unsigned char *)full + n, fulln - n);
		CHECK(flags & TEXT_F_TRUNCATED);
		CHECK(next > 0 && n + next > cap - 1);
	} else {
		CHECK(!(flags & TEXT_F_TRUNCATED));
	}
	free(out);
}

/* Packed septets after a UDH: unpack with fill bits, then decode. */
static void
check_unpack(const uint8_t *in, size_t len, unsigned fill)
{
	size_t want = len * 8 / 7 + 1, n, outn;
	uint8_t *sept = malloc(want);
	char *out;

	CHECK(sept != NULL);
	n = text_gsm7_unpack(in, len, fill, want, sept, want);
	CHECK(n <= want && (n == 0 || fill + 7 * n <= 8 * len));
	for (size_t k = 0; k < n; k++)
		CHECK(sept[k] < 0x80);
	out = decode_checked(TEXT_DCS_GSM7, sept, n, &outn);
	free(out);
	free(sept);
}

/* Encode text as a reply; its parts must decode back to text. */
static void
check_encode(const char *text, size_t n, uint8_t ref)
{
	static struct text_sms sms;
	static uint8_t all[TEXT_MAX_PARTS * TEXT_PART_BYTES];
	char err[128];
	size_t m = 0, back, udh;
	char *out;

	if (text_encode(text, n, ref, &sms, err, sizeof(err)) != 0) {
		/* Decoded text is valid UTF-8: only length may fail. */
		CHECK(strstr(err, "too long") != NULL);
		return;
	}
	CHECK(sms.nparts >= 1 && sms.nparts <= TEXT_MAX_PARTS);
	CHECK(sms.dcs == (sms.enc == TEXT_ENC_GSM7 ? 0x00 : 0x08));
	udh = sms.nparts > 1 ? TEXT_UDH_LEN : 0;
	for (unsigned k = 0; k < sms.nparts; k++) {
		const struct text_part *p = &sms.parts[k];

		CHECK(p->len >= udh);
		CHECK(p->len <= (sms.enc == TEXT_ENC_GSM7 ? 160 : 140));
		if (udh) {
			CHECK(memcmp(p->data, "\x05\x00\x03", 3) == 0);
			CHECK(p->data[3] == ref && p->data[4] == sms.nparts);
			CHECK(p->data[5] == k + 1);
		}
		memcpy(all + m, p->data + udh, p->len - udh);
		m += p->len - udh;
	}
	out = decode_checked(sms.dcs, all, m, &back);
	CHECK(back == n && memcmp(out, text, n) == 0);
	free(out);
}

#ifdef MLINE_FUZZ_GRAMMAR
static struct parser *parser;

/* A contract: 4-12 ASCII digits. */
static void
check_contract(const char *c)
{
	size_t cl = strnlen(c, PARSE_CONTRACT_MAX + 1);

	CHECK(cl >= PARSE_CONTRACT_MIN && cl <= PARSE_CONTRACT_MAX);
	for (size_t i = 0; i < cl; i++)
		CHECK(c[i] >= '0' && c[i] <= '9');
}

/* Values, labels and the joined reading of a submit or values result. */
static void
check_values(const struct parse_result *r)
{
	CHECK(r->nvalues >= 1 && r->nvalues <= PARSE_MAX_VALUES);
	for (unsigned i = 0; i < r->nvalues; i++)
		CHECK(parse_value_digits(r->values[i]) <=
		    (i == 0 && r->bare_contract ? PARSE_CONTRACT_MAX
		                                : PARSE_VALUE_MAX_DIGITS));
	for (unsigned i = 0; i < PARSE_MAX_VALUES; i++) {
		size_t ll = strnlen(r->labels[i], PARSE_LABEL_MAX + 1);

		CHECK(ll <= PARSE_LABEL_MAX);
		CHECK(i < r->nvalues || ll == 0);
	}
	if (!r->ambiguous) {
		CHECK(r->alt_nvalues == 0);
		return;
	}
	CHECK(r->alt_nvalues >= 1 && r->alt_nvalues <= r->nvalues);
	CHECK(r->alt_from[0] == 0);
	for (unsigned j = 1; j < r->alt_nvalues; j++)
		CHECK(r->alt_from[j] > r->alt_from[j - 1] &&
		    r->alt_from[j] < r->nvalues);
}

/* One parse, with the result's own promises checked. */
static void
check_parse(const char *text, size_t n)
{
	struct parse_result r, again;
	char json[PARSE_JSON_MAX];

	parser_parse(parser, text, n, &r);
	CHECK(r.kind >= PARSE_INVALID && r.kind < PARSE__KIND_MAX);
	CHECK((r.kind == PARSE_INVALID) == (r.reason != PARSE_R_NONE));
	CHECK(r.reason < PARSE_R__MAX);
	CHECK(r.nvalues <= PARSE_MAX_VALUES);
	if (r.kind == PARSE_SUBMIT || r.kind == PARSE_START || r.bare_contract)
		check_contract(r.contract);
	CHECK(!r.bare_contract || r.kind == PARSE_VALUES);
	if (r.kind == PARSE_SUBMIT || r.kind == PARSE_VALUES)
		check_values(&r);
	else
		CHECK(r.nvalues == 0 && !r.ambiguous && !r.truncated);
	/* the quoted span lies inside the text, and only an invalid has one */
	CHECK((size_t)r.unknown_at + r.unknown_len <= n);
	CHECK(r.kind == PARSE_INVALID || r.unknown_len == 0);
	CHECK(parse_result_json(&r, json, sizeof(json)) > 0);
	CHECK(parse_kind_name(r.kind) != NULL);
	CHECK(parse_reason_name(r.reason) != NULL);
	/* Same text, same answer. */
	parser_parse(parser, text, n, &again);
	CHECK(memcmp(&again, &r, sizeof(r)) == 0);
}
#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
#ifdef MLINE_FUZZ_GRAMMAR
	char err[256];

	parser = parser_new(err, sizeof(err));
	if (parser == NULL) {
		fprintf(stderr, "parser_new: %s\n", err);
		abort();
	}
#endif
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in = data + 1;
	size_t len, n;
	uint8_t dcs;
	char *text;

	if (size == 0)
		return 0;
	dcs = data[0];
	len = size - 1;
	text = decode_checked(dcs, in, len, &n);
	/* Cut points derived from the input, so the fuzzer steers them. */
	check_truncated(dcs, in, len, text, n, len ? in[len - 1] % (n + 2) : 0);
	check_truncated(dcs, in, len, text, n, n / 2);
	check_unpack(in, len, dcs % 7);
#ifdef MLINE_FUZZ_GRAMMAR
	check_parse(text, n);
	check_parse((const char *)in, len); /* raw bytes, often not UTF-8 */
#endif
	check_encode(text, n, dcs);
	free(text);
	return 0;
}
