/*
 * Text encodings: every data_coding decoder, the packed-septet unpacker,
 * the reply encoder and its splitting rules, and a seeded random sweep.
 *
 * Expected values come from tables written here independently of the
 * implementation (UTF-8 literals for GSM 03.38, Python's iso8859_5 codec
 * for ISO-8859-5) and from a UTF-8 validator and a septet packer of the
 * test's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meterline/text.h"

/* ---- helpers ---------------------------------------------------------- */

/* A deterministic PRNG (xorshift64*), so failures reproduce. */
struct rng {
	uint64_t s;
};

static uint64_t
rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)((rng_next(r) >> 32) % n);
}

/* Encode one code point as UTF-8 into buf; returns the length. */
static size_t
utf8_put(uint32_t cp, char *buf)
{
	unsigned char *b = (unsigned char *)buf;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	b[0] = (unsigned char)(0xF0 | (cp >> 18));
	b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	b[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid.
 * Written from the RFC 3629 table of well-formed byte sequences.
 */
static size_t
utf8_valid_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;

	if (c <= 0x7F)
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
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k;

	while (i < n) {
		if ((k = utf8_valid_seq(s + i, n - i)) == 0)
			return false;
		i += k;
	}
	return true;
}

/* Decode with a roomy buffer; checks the invariants every decode keeps. */
static size_t
decode(uint8_t dcs, const void *in, size_t len, char *out, size_t outcap,
    unsigned *flags)
{
	size_t n = text_decode(dcs, in, len, out, outcap, flags);

	assert_true(n < outcap);
	assert_int_equal(out[n], '\0');
	assert_int_equal(strlen(out), n);
	assert_true(utf8_valid(out, n));
	return n;
}

/* Decode and compare to an expected UTF-8 string and flag set. */
static void
check_decode(uint8_t dcs, const void *in, size_t len, const char *want,
    unsigned want_flags)
{
	char out[4096];
	unsigned flags = 0xdead;
	size_t n = decode(dcs, in, len, out, sizeof(out), &flags);

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	assert_int_equal(flags, want_flags);
}

/* Big-endian UTF-16 of an array of code units. */
static size_t
ucs2_bytes(const uint16_t *u, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = (uint8_t)(u[i] >> 8);
		out[2 * i + 1] = (uint8_t)u[i];
	}
	return 2 * n;
}

/* ---- GSM 03.38 -------------------------------------------------------- */

/* The default alphabet as printed in 3GPP TS 23.038 6.2.1; 0x1B escape. */
/* clang-format off */
static const char *const gsm_basic_utf8[128] = {
	"@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r",
	"Å", "å", "Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", NULL,
	"Æ", "æ", "ß", "É", " ", "!", "\"", "#", "¤", "%", "&", "'", "(", ")",
	"*", "+", ",", "-", ".", "/", "0", "1", "2", "3", "4", "5", "6", "7",
	"8", "9", ":", ";", "<", "=", ">", "?", "¡", "A", "B", "C", "D", "E",
	"F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S",
	"T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§", "¿", "a",
	"b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
	"p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ",
	"ü", "à",
};
/* clang-format on */

static const struct {
	uint8_t code;
	const char *utf8;
} gsm_ext[] = {
	{ 0x0A, "\f" },
	{ 0x14, "^" },
	{ 0x28, "{" },
	{ 0x29, "}" },
	{ 0x2F, "\\" },
	{ 0x3C, "[" },
	{ 0x3D, "~" },
	{ 0x3E, "]" },
	{ 0x40, "|" },
	{ 0x65, "€" },
};

static void
test_gsm7_each_septet(void **state)
{
	(void)state;
	for (unsigned c = 0; c < 128; c++) {
		uint8_t in = (uint8_t)c;

		if (c == 0x1B)
			continue;
		check_decode(TEXT_DCS_GSM7, &in, 1, gsm_basic_utf8[c], 0);
	}
}

static void
test_gsm7_whole_table(void **state)
{
	uint8_t in[128];
	char want[512] = "";
	size_t n = 0;

	(void)state;
	for (unsigned c = 0; c < 128; c++) {
		if (c == 0x1B)
			continue;
		in[n++] = (uint8_t)c;
		strcat(want, gsm_basic_utf8[c]);
	}
	check_decode(TEXT_DCS_GSM7, in, n, want, 0);
}

static void
test_gsm7_at_is_zero(void **state)
{
	const uint8_t in[] = { 'a', 0x00, 'b', 0x00, 0x00 };

	(void)state;
	/* '@' is septet 0x00: never a terminator, never dropped. */
	check_decode(TEXT_DCS_GSM7, in, sizeof(in), "a@b@@", 0);
	check_decode(TEXT_DCS_GSM7, in + 1, 1, "@", 0);
}

static void
test_gsm7_extension(void **state)
{
	uint8_t in[3 * 10];
	char want[64] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(gsm_ext) / sizeof(gsm_ext[0]); i++) {
		uint8_t one[2] = { 0x1B, gsm_ext[i].code };

		check_decode(TEXT_DCS_GSM7, one, 2, gsm_ext[i].utf8, 0);
		in[3 * i] = 0x1B;
		in[3 * i + 1] = gsm_ext[i].code;
		in[3 * i + 2] = 'x';
		strcat(want, gsm_ext[i].utf8);
		strcat(want, "x");
	}
	check_decode(TEXT_DCS_GSM7, in, sizeof(in), want, 0);
}

static void
test_gsm7_bad_escapes(void **state)
{
	const uint8_t unknown[] = { 'a', 0x1B, 'A', 'b' };
	const uint8_t esc_esc[] = { 0x1B, 0x1B, 'z' };
	const uint8_t dangling[] = { 'o', 'k', 0x1B };
	const uint8_t cr2[] = { 0x1B, 0x0D };
	const uint8_t esc_at[] = { 0x1B, 0x00 };
	const uint8_t esc_high[] = { 0x1B, 0x80, 'q' };
	const uint8_t only_esc[] = { 0x1B };

	(void)state;
	/* 03.38: unknown extension code shows the default-alphabet char. */
	check_decode(
	    TEXT_DCS_GSM7, unknown, sizeof(unknown), "aAb", TEXT_F_REPLACED);
	check_decode(TEXT_DCS_GSM7, cr2, sizeof(cr2), "\r", TEXT_F_REPLACED);
	check_decode(
	    TEXT_DCS_GSM7, esc_at, sizeof(esc_at), "@", TEXT_F_REPLACED);
	/* ESC ESC is reserved for another table: a space, one character. */
	check_decode(
	    TEXT_DCS_GSM7, esc_esc, sizeof(esc_esc), " z", TEXT_F_REPLACED);
	/* A dangling escape shows as a space. */
	check_decode(
	    TEXT_DCS_GSM7, dangling, sizeof(dangling), "ok ", TEXT_F_REPLACED);
	check_decode(TEXT_DCS_GSM7, only_esc, 1, " ", TEXT_F_REPLACED);
	/* An escape before an invalid octet: space, then U+FFFD. */
	check_decode(TEXT_DCS_GSM7, esc_high, sizeof(esc_high),
	    " \xEF\xBF\xBDq", TEXT_F_REPLACED);
}

static void
test_gsm7_high_octets(void **state)
{
	const uint8_t in[] = { 'P', 0x80, 0xC1, 0xFF, 'S' };

	(void)state;
	check_decode(TEXT_DCS_GSM7, in, sizeof(in),
	    "P\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDS", TEXT_F_REPLACED);
}

static void
test_gsm7_truncation(void **state)
{
	const uint8_t in[] = { 'a', 0x1B, 0x65, 'b' }; /* a€b */
	char out[8];
	unsigned flags;
	size_t n;

	(void)state;
	/* € needs 3 bytes; with 2 left the cut falls before it. */
	n = decode(TEXT_DCS_GSM7, in, sizeof(in), out, 4, &flags);
	assert_int_equal(n, 1);
	assert_string_equal(out, "a");
	assert_int_equal(flags, TEXT_F_TRUNCATED);
	n = decode(TEXT_DCS_GSM7, in, sizeof(in), out, 5, &flags);
	assert_string_equal(out, "a€");
	assert_int_equal(flags, TEXT_F_TRUNCATED);
	n = decode(TEXT_DCS_GSM7, in, sizeof(in), out, 6, &flags);
	assert_int_equal(n, 5);
	assert_string_equal(out, "a€b");
	assert_int_equal(flags, 0);
}

/* ---- packed septets --------------------------------------------------- */

/* Reference packer: septet k goes to bits fill + 7k.., LSB first. */
static size_t
pack_septets(const uint8_t *sept, size_t n, unsigned fill, uint8_t *out)
{
	size_t bits = fill + 7 * n, nbytes = (bits + 7) / 8;

	memset(out, 0, nbytes);
	for (size_t k = 0; k < n; k++) {
		for (unsigned b = 0; b < 7; b++) {
			size_t pos = fill + 7 * k + b;

			if (sept[k] >> b & 1)
				out[pos / 8] |= (uint8_t)(1u << (pos % 8));
		}
	}
	return nbytes;
}

static void
test_gsm7_unpack_known(void **state)
{
	/* "hellohello", the classic 03.38 packing example. */
	const uint8_t packed[] = { 0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9,
		0xEC, 0x37 };
	uint8_t sept[16];
	size_t n;

	(void)state;
	n = text_gsm7_unpack(packed, sizeof(packed), 0, 10, sept, sizeof(sept));
	assert_int_equal(n, 10);
	assert_memory_equal(sept, "hellohello", 10);
	/* Asking for more septets than the bytes hold stops at the bytes. */
	n = text_gsm7_unpack(
	    packed, sizeof(packed), 0, 100, sept, sizeof(sept));
	assert_int_equal(n, 10);
	/* septcap limits too. */
	n = text_gsm7_unpack(packed, sizeof(packed), 0, 10, sept, 4);
	assert_int_equal(n, 4);
	assert_memory_equal(sept, "hell", 4);
	/* Fill bits beyond the input: nothing. */
	assert_int_equal(text_gsm7_unpack(packed, 1, 8, 10, sept, 16), 0);
	assert_int_equal(text_gsm7_unpack(packed, 1, 2, 10, sept, 16), 0);
	assert_int_equal(text_gsm7_unpack(packed, 1, 1, 10, sept, 16), 1);
	assert_int_equal(text_gsm7_unpack(NULL, 0, 0, 10, sept, 16), 0);
}

static void
test_gsm7_unpack_fill_bits(void **state)
{
	struct rng r = { 0x5EED0001 };
	uint8_t sept[200], got[200], packed[200];

	(void)state;
	for (unsigned fill = 0; fill <= 6; fill++) {
		for (size_t n = 0; n <= 160; n++) {
			size_t nbytes, m;
			uint8_t *exact;

			for (size_t k = 0; k < n; k++)
				sept[k] = (uint8_t)rng_below(&r, 128);
			nbytes = pack_septets(sept, n, fill, packed);
			/* Exact-size heap copy: ASan sees any over-read. */
			exact = malloc(nbytes ? nbytes : 1);
			assert_non_null(exact);
			memcpy(exact, packed, nbytes);
			m = text_gsm7_unpack(
			    exact, nbytes, fill, n, got, sizeof(got));
			assert_int_equal(m, n);
			assert_memory_equal(got, sept, n);
			free(exact);
		}
	}
}

static void
test_gsm7_unpack_after_udh(void **state)
{
	/*
	 * A 6-octet UDH is 48 bits; the text starts at the next septet
	 * boundary (49), so 1 fill bit follows the UDH.
	 */
	const uint8_t text[] = { 'P', 'S', ' ', '1', '2', '3', '4' };
	uint8_t packed[32], sept[16];
	size_t nbytes = pack_septets(text, sizeof(text), 1, packed);
	size_t n = text_gsm7_unpack(
	    packed, nbytes, 1, sizeof(text), sept, sizeof(sept));

	(void)state;
	assert_int_equal(nbytes, 7);
	assert_int_equal(n, sizeof(text));
	check_decode(TEXT_DCS_GSM7, sept, n, "PS 1234", 0);
}

/* ---- IA5, Latin-1, ISO-8859-5 ----------------------------------------- */

static void
test_ia5(void **state)
{
	const uint8_t hi[] = { 'a', 0x80, 'b', 0xFF };
	const uint8_t nul[] = { 'a', 0x00, 'b' };
	uint8_t all[127];

	(void)state;
	for (unsigned c = 1; c < 128; c++)
		all[c - 1] = (uint8_t)c;
	{
		char want[128];

		memcpy(want, all, 127);
		want[127] = '\0';
		check_decode(TEXT_DCS_IA5, all, sizeof(all), want, 0);
	}
	check_decode(TEXT_DCS_IA5, hi, sizeof(hi),
	    "a\xEF\xBF\xBD"
	    "b\xEF\xBF\xBD",
	    TEXT_F_REPLACED);
	check_decode(TEXT_DCS_IA5, nul, sizeof(nul), "ab", TEXT_F_NUL_DROPPED);
}

static void
test_latin1_all_bytes(void **state)
{
	uint8_t in[255];
	char want[600];
	size_t n = 0;

	(void)state;
	for (unsigned c = 1; c < 256; c++) {
		in[c - 1] = (uint8_t)c;
		n += utf8_put(c, want + n);
	}
	want[n] = '\0';
	check_decode(TEXT_DCS_LATIN1, in, sizeof(in), want, 0);
	check_decode(TEXT_DCS_LATIN1, "\xE9t\xE9", 3, "été", 0);
}

/* ISO-8859-5 0xA0..0xFF, from Python's iso8859_5 codec. */
/* clang-format off */
static const uint16_t iso8859_5_hi[96] = {
	0x00A0, 0x0401, 0x0402, 0x0403, 0x0404, 0x0405, 0x0406, 0x0407,
	0x0408, 0x0409, 0x040A, 0x040B, 0x040C, 0x00AD, 0x040E, 0x040F,
	0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
	0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F,
	0x0420, 0x0421, 0x0422, 0x0423, 0x0424, 0x0425, 0x0426, 0x0427,
	0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
	0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437,
	0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E, 0x043F,
	0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
	0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
	0x2116, 0x0451, 0x0452, 0x0453, 0x0454, 0x0455, 0x0456, 0x0457,
	0x0458, 0x0459, 0x045A, 0x045B, 0x045C, 0x00A7, 0x045E, 0x045F,
};
/* clang-format on */

static void
test_iso8859_5_all_bytes(void **state)
{
	uint8_t in[255];
	char want[800];
	size_t n = 0;

	(void)state;
	for (unsigned c = 1; c < 256; c++) {
		in[c - 1] = (uint8_t)c;
		n += utf8_put(c < 0xA0 ? c : iso8859_5_hi[c - 0xA0], want + n);
	}
	want[n] = '\0';
	check_decode(TEXT_DCS_CYRILLIC, in, sizeof(in), want, 0);
	/* "ПС 123859" in ISO-8859-5. */
	check_decode(TEXT_DCS_CYRILLIC, "\xBF\xC1 123859", 9, "ПС 123859", 0);
	check_decode(TEXT_DCS_CYRILLIC, "\xF0\xA1\xF1", 3, "№Ёё", 0);
}

/* ---- UCS-2 / UTF-16BE ------------------------------------------------- */

static void
test_ucs2_cyrillic(void **state)
{
	const uint16_t u[] = { 0x041F, 0x0421, ' ', '1', '2', '3', '8', '5',
		'9', ' ', '4', '5', '0', '5', '5' };
	uint8_t in[64];

	(void)state;
	check_decode(
	    TEXT_DCS_UCS2, in, ucs2_bytes(u, 15, in), "ПС 123859 45055", 0);
	check_decode(TEXT_DCS_UCS2, "", 0, "", 0);
	check_decode(TEXT_DCS_UCS2, NULL, 0, "", 0);
	/* Three-byte UTF-8: €, U+FFFF, a BOM pass through as they are. */
	check_decode(TEXT_DCS_UCS2, "\x20\xAC\xFF\xFF\xFE\xFF", 6,
	    "€\xEF\xBF\xBF\xEF\xBB\xBF", 0);
}

static void
test_ucs2_surrogate_pairs(void **state)
{
	(void)state;
	/* U+1F600 and U+10000 and U+10FFFF, the extremes. */
	check_decode(
	    TEXT_DCS_UCS2, "\xD8\x3D\xDE\x00", 4, "\xF0\x9F\x98\x80", 0);
	check_decode(
	    TEXT_DCS_UCS2, "\xD8\x00\xDC\x00", 4, "\xF0\x90\x80\x80", 0);
	check_decode(
	    TEXT_DCS_UCS2, "\xDB\xFF\xDF\xFF", 4, "\xF4\x8F\xBF\xBF", 0);
	check_decode(TEXT_DCS_UCS2, "\x04\x1F\xD8\x3D\xDE\x00\x00!", 8,
	    "П\xF0\x9F\x98\x80!", 0);
}

#define FFFD "\xEF\xBF\xBD"

static void
test_ucs2_unpaired_surrogates(void **state)
{
	(void)state;
	/* High at the end. */
	check_decode(TEXT_DCS_UCS2,
	    "\x00"
	    "A\xD8\x3D",
	    4, "A" FFFD, TEXT_F_REPLACED);
	/* High followed by a non-surrogate: that one survives. */
	check_decode(TEXT_DCS_UCS2,
	    "\xD8\x3D\x00"
	    "A",
	    4, FFFD "A", TEXT_F_REPLACED);
	/* High followed by the first code unit past the lows. */
	check_decode(TEXT_DCS_UCS2, "\xD8\x3D\xE0\x00", 4, FFFD "\xEE\x80\x80",
	    TEXT_F_REPLACED);
	/* Lone low. */
	check_decode(TEXT_DCS_UCS2,
	    "\xDE\x00\x00"
	    "B",
	    4, FFFD "B", TEXT_F_REPLACED);
	/* High, high, low: the first is lone, the second pairs. */
	check_decode(TEXT_DCS_UCS2, "\xD8\x3D\xD8\x3D\xDE\x00", 6,
	    FFFD "\xF0\x9F\x98\x80", TEXT_F_REPLACED);
	/* Low then high: both lone. */
	check_decode(
	    TEXT_DCS_UCS2, "\xDE\x00\xD8\x3D", 4, FFFD FFFD, TEXT_F_REPLACED);
	/* A high whose low would be the odd trailing octet. */
	check_decode(
	    TEXT_DCS_UCS2, "\xD8\x3D\xDE", 3, FFFD FFFD, TEXT_F_REPLACED);
}

static void
test_ucs2_odd_length(void **state)
{
	uint8_t *in = malloc(3);

	(void)state;
	assert_non_null(in);
	memcpy(in, "\x04\x1F\x04", 3); /* exact size: an over-read trips ASan */
	check_decode(TEXT_DCS_UCS2, in, 3, "П" FFFD, TEXT_F_REPLACED);
	check_decode(TEXT_DCS_UCS2, in, 1, FFFD, TEXT_F_REPLACED);
	free(in);
}

static void
test_ucs2_nul(void **state)
{
	(void)state;
	/* SMSC padding: U+0000 is dropped, the rest survives. */
	check_decode(TEXT_DCS_UCS2,
	    "\x00"
	    "1\x00\x00\x00"
	    "2\x00\x00",
	    8, "12", TEXT_F_NUL_DROPPED);
}

static void
test_ucs2_truncation(void **state)
{
	/* "ПС" */
	const uint8_t in[] = { 0x04, 0x1F, 0x04, 0x21 };
	char out[16];
	unsigned flags;

	(void)state;
	memset(out, 'X', sizeof(out));
	assert_int_equal(text_decode(TEXT_DCS_UCS2, in, 4, out, 0, &flags), 0);
	assert_int_equal(flags, TEXT_F_TRUNCATED);
	assert_int_equal(out[0], 'X'); /* outcap 0: nothing written */
	assert_int_equal(text_decode(TEXT_DCS_UCS2, in, 4, NULL, 0, &flags), 0);
	assert_int_equal(decode(TEXT_DCS_UCS2, in, 4, out, 1, &flags), 0);
	assert_int_equal(flags, TEXT_F_TRUNCATED);
	assert_int_equal(decode(TEXT_DCS_UCS2, in, 4, out, 2, &flags), 0);
	assert_int_equal(flags, TEXT_F_TRUNCATED);
	assert_int_equal(decode(TEXT_DCS_UCS2, in, 4, out, 3, &flags), 2);
	assert_string_equal(out, "П");
	assert_int_equal(flags, TEXT_F_TRUNCATED);
	assert_int_equal(decode(TEXT_DCS_UCS2, in, 4, out, 4, &flags), 2);
	assert_int_equal(flags, TEXT_F_TRUNCATED);
	assert_int_equal(decode(TEXT_DCS_UCS2, in, 4, out, 5, &flags), 4);
	assert_string_equal(out, "ПС");
	assert_int_equal(flags, 0);
	/* A surrogate pair needs 4 bytes plus the NUL. */
	assert_int_equal(
	    decode(TEXT_DCS_UCS2, "\xD8\x3D\xDE\x00", 4, out, 4, &flags), 0);
	assert_int_equal(flags, TEXT_F_TRUNCATED);
	/* ASCII runs cut exactly. */
	assert_int_equal(decode(TEXT_DCS_UCS2,
	                     "\x00"
	                     "a\x00"
	                     "b\x00"
	                     "c",
	                     6, out, 3, &flags),
	    2);
	assert_string_equal(out, "ab");
	assert_int_equal(flags, TEXT_F_TRUNCATED);
}

/* TEXT_UTF8_MAX is tight: inputs that need exactly 3 bytes per octet. */
static void
test_utf8_max_bound(void **state)
{
	static const struct {
		uint8_t dcs;
		uint8_t byte;
	} worst[] = {
		{ TEXT_DCS_IA5, 0xFF }, /* every octet a U+FFFD */
		{ TEXT_DCS_GSM7, 0x80 },
		{ TEXT_DCS_CYRILLIC, 0xF0 }, /* № is 3 bytes */
	};
	uint8_t in[50];
	char out[TEXT_UTF8_MAX(50) + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(worst) / sizeof(worst[0]); i++) {
		unsigned flags;

		memset(in, worst[i].byte, sizeof(in));
		assert_int_equal(
		    decode(worst[i].dcs, in, 50, out, sizeof(out), &flags),
		    TEXT_UTF8_MAX(50));
		assert_false(flags & TEXT_F_TRUNCATED);
		assert_int_equal(
		    decode(worst[i].dcs, in, 50, out, sizeof(out) - 1, &flags),
		    TEXT_UTF8_MAX(50) - 3);
		assert_true(flags & TEXT_F_TRUNCATED);
	}
	/* UCS-2: an odd single octet is 3 bytes. */
	{
		unsigned flags;

		assert_int_equal(
		    decode(TEXT_DCS_UCS2, "\x20", 1, out, 4, &flags), 3);
		assert_int_equal(flags, TEXT_F_REPLACED);
	}
}

/* ---- data_coding selection -------------------------------------------- */

static void
test_dcs_charset(void **state)
{
	(void)state;
	for (unsigned d = 0; d < 256; d++) {
		enum text_charset want = TEXT_CS_LATIN1;
		bool known = true;
		unsigned flags = 0;

		if (d == 0x00 || (d >= 0x10 && d < 0x80 && (d & 0x2C) == 0) ||
		    (d >= 0xC0 && d < 0xE0) || (d >= 0xF0 && !(d & 0x04)))
			want = TEXT_CS_GSM7;
		else if (d == 0x08 ||
		    (d >= 0x10 && d < 0x80 && (d & 0x2C) == 0x08) ||
		    (d >= 0xE0 && d < 0xF0))
			want = TEXT_CS_UCS2;
		else if (d == 0x01)
			want = TEXT_CS_IA5;
		else if (d == 0x06)
			want = TEXT_CS_CYRILLIC;
		else if (d != 0x03)
			known = false;
		assert_int_equal(text_dcs_charset((uint8_t)d, &flags), want);
		assert_int_equal(flags, known ? 0 : TEXT_F_UNKNOWN_DCS);
		assert_int_equal(text_dcs_charset((uint8_t)d, NULL), want);
	}
	/* A few spelled out, as an operator would meet them. */
	assert_int_equal(text_dcs_charset(0xF1, NULL), TEXT_CS_GSM7);
	assert_int_equal(text_dcs_charset(0xF5, NULL), TEXT_CS_LATIN1);
	assert_int_equal(text_dcs_charset(0x18, NULL), TEXT_CS_UCS2);
	assert_int_equal(text_dcs_charset(0x11, NULL), TEXT_CS_GSM7);
	assert_int_equal(text_dcs_charset(0x19, NULL), TEXT_CS_UCS2);
	assert_int_equal(text_dcs_charset(0x28, NULL), TEXT_CS_LATIN1);
}

static void
test_dcs_decode_paths(void **state)
{
	(void)state;
	check_decode(0xF0, "\x00", 1, "@", 0);
	check_decode(0x18, "\x04\x1F", 2, "П", 0);
	check_decode(0x04, "\xE9", 1, "é", TEXT_F_UNKNOWN_DCS);
	check_decode(0x02, "\xBF\xC1", 2, "¿Á", TEXT_F_UNKNOWN_DCS);
	check_decode(
	    0x07, "a\x00", 2, "a", TEXT_F_UNKNOWN_DCS | TEXT_F_NUL_DROPPED);
	check_decode(0x80, "", 0, "", TEXT_F_UNKNOWN_DCS);
}

/* ---- encoding --------------------------------------------------------- */

static struct text_sms sms; /* 40 KB: keep it off the test's stack */

/* Concatenate the payloads of sms (UDH skipped) and decode them. */
static void
check_parts_decode_to(const char *want)
{
	static uint8_t all[TEXT_MAX_PARTS * TEXT_PART_BYTES];
	static char out[TEXT_UTF8_MAX(sizeof(all)) + 1];
	size_t n = 0, udh = sms.nparts > 1 ? TEXT_UDH_LEN : 0;
	unsigned flags;

	for (unsigned k = 0; k < sms.nparts; k++) {
		const struct text_part *p = &sms.parts[k];

		assert_true(p->len >= udh);
		memcpy(all + n, p->data + udh, p->len - udh);
		n += p->len - udh;
	}
	decode(sms.dcs, all, n, out, sizeof(out), &flags);
	assert_int_equal(flags, 0);
	assert_string_equal(out, want);
}

/* Check part k's UDH and payload length. */
static void
check_part(unsigned k, uint8_t ref, size_t payload)
{
	const struct text_part *p = &sms.parts[k];

	if (sms.nparts == 1) {
		assert_int_equal(p->len, payload);
		return;
	}
	assert_int_equal(p->len, TEXT_UDH_LEN + payload);
	assert_int_equal(p->data[0], 0x05);
	assert_int_equal(p->data[1], 0x00);
	assert_int_equal(p->data[2], 0x03);
	assert_int_equal(p->data[3], ref);
	assert_int_equal(p->data[4], sms.nparts);
	assert_int_equal(p->data[5], k + 1);
}

static int
encode(const char *s, uint8_t ref)
{
	char err[128] = "";
	int rc = text_encode(s, strlen(s), ref, &sms, err, sizeof(err));

	if (rc == 0)
		assert_string_equal(err, "");
	return rc;
}

/* n copies of the UTF-8 string unit, followed by tail; caller frees. */
static char *
repeat(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(ul * n + tl + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + ul * n, tail, tl + 1);
	return s;
}

static void
test_encode_gsm7_basic(void **state)
{
	(void)state;
	assert_int_equal(encode("Ok @ 5$", 0), 0);
	assert_int_equal(sms.enc, TEXT_ENC_GSM7);
	assert_int_equal(sms.dcs, 0x00);
	assert_int_equal(sms.nparts, 1);
	assert_int_equal(sms.parts[0].len, 7);
	assert_memory_equal(sms.parts[0].data, "Ok \x00 5\x02", 7);
	assert_int_equal(encode("€[x]", 0), 0);
	assert_int_equal(sms.enc, TEXT_ENC_GSM7);
	assert_memory_equal(sms.parts[0].data, "\x1B\x65\x1B\x3Cx\x1B\x3E", 7);
	assert_int_equal(sms.parts[0].len, 7);
	/* The empty reply: one empty GSM-7 part. */
	assert_int_equal(encode("", 0), 0);
	assert_int_equal(sms.nparts, 1);
	assert_int_equal(sms.parts[0].len, 0);
	assert_int_equal(sms.dcs, 0x00);
}

/* Every character of both tables encodes to its septet(s) and back. */
static void
test_encode_gsm7_tables_round_trip(void **state)
{
	char text[1024] = "";
	uint8_t want[300];
	size_t n = 0;

	(void)state;
	for (unsigned c = 0; c < 128; c++) {
		if (c == 0x1B)
			continue;
		strcat(text, gsm_basic_utf8[c]);
		want[n++] = (uint8_t)c;
	}
	assert_int_equal(encode(text, 0), 0);
	assert_int_equal(sms.enc, TEXT_ENC_GSM7);
	assert_int_equal(sms.nparts, 1);
	assert_int_equal(sms.parts[0].len, n);
	assert_memory_equal(sms.parts[0].data, want, n);
	check_parts_decode_to(text);

	text[0] = '\0';
	n = 0;
	for (size_t i = 0; i < sizeof(gsm_ext) / sizeof(gsm_ext[0]); i++) {
		strcat(text, gsm_ext[i].utf8);
		want[n++] = 0x1B;
		want[n++] = gsm_ext[i].code;
	}
	assert_int_equal(encode(text, 0), 0);
	assert_int_equal(sms.enc, TEXT_ENC_GSM7);
	assert_int_equal(sms.parts[0].len, n);
	assert_memory_equal(sms.parts[0].data, want, n);
	check_parts_decode_to(text);
}

static void
test_encode_ucs2_when_needed(void **state)
{
	static const char *const not_gsm[] = {
		"Показания приняты. Спасибо.",
		"a`b",
		"\xC3\xA7", /* ç */
		"tab\there",
		"nbsp\xC2\xA0",
		"\xF0\x9F\x98\x80",
		"a\x7F",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(not_gsm) / sizeof(not_gsm[0]); i++) {
		assert_int_equal(encode(not_gsm[i], 7), 0);
		assert_int_equal(sms.enc, TEXT_ENC_UCS2);
		assert_int_equal(sms.dcs, 0x08);
		assert_int_equal(sms.nparts, 1);
		check_parts_decode_to(not_gsm[i]);
	}
	assert_int_equal(encode("ПС", 0), 0);
	assert_int_equal(sms.parts[0].len, 4);
	assert_memory_equal(sms.parts[0].data, "\x04\x1F\x04\x21", 4);
	assert_int_equal(encode("x\xF0\x9F\x98\x80", 0), 0);
	assert_int_equal(sms.parts[0].len, 6);
	assert_memory_equal(sms.parts[0].data, "\x00x\xD8\x3D\xDE\x00", 6);
	assert_int_equal(encode("\xF4\x8F\xBF\xBF", 0), 0);
	assert_memory_equal(sms.parts[0].data, "\xDB\xFF\xDF\xFF", 4);
}

static void
test_encode_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\xC0\x80",
		"\xC1\xBF",
		"\xE0\x80\x80",
		"\xED\xA0\x80",
		"\xED\xBF\xBF",
		"\xF0\x80\x80\x80",
		"\xF4\x90\x80\x80",
		"\xF5",
		"\xFF",
		"\x80",
		"ab\xD0",
		"\xE2\x82",
		"\xF0\x9F\x98",
		"\xD0\x41",
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(text_encode(bad[i], strlen(bad[i]), 0, &sms,
		                     err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "invalid UTF-8"));
		assert_int_equal(sms.nparts, 0);
	}
	assert_int_equal(
	    text_encode("ok\xFF", 3, 0, &sms, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid UTF-8 at byte 2");
	/* No error buffer is fine too. */
	assert_int_equal(text_encode("\xFF", 1, 0, &sms, NULL, 0), -1);
	/* len, not the NUL, ends the text. */
	assert_int_equal(
	    text_encode("ab\xFF", 2, 0, &sms, err, sizeof(err)), 0);
}

static void
test_split_ucs2_70_71(void **state)
{
	char *s70 = repeat("Ж", 70, ""), *s71 = repeat("Ж", 71, "");

	(void)state;
	assert_int_equal(encode(s70, 9), 0);
	assert_int_equal(sms.nparts, 1);
	check_part(0, 9, 140);
	check_parts_decode_to(s70);
	assert_int_equal(encode(s71, 9), 0);
	assert_int_equal(sms.nparts, 2);
	check_part(0, 9, 134);
	check_part(1, 9, 8);
	check_parts_decode_to(s71);
	free(s70);
	free(s71);
}

static void
test_split_gsm7_160_161(void **state)
{
	char *s160 = repeat("a", 160, ""), *s161 = repeat("a", 161, "");

	(void)state;
	assert_int_equal(encode(s160, 1), 0);
	assert_int_equal(sms.nparts, 1);
	check_part(0, 1, 160);
	assert_int_equal(encode(s161, 200), 0);
	assert_int_equal(sms.nparts, 2);
	check_part(0, 200, 153);
	check_part(1, 200, 8);
	check_parts_decode_to(s161);
	free(s160);
	free(s161);
}

static void
test_split_exact_multiples(void **state)
{
	char *u134 = repeat("Ж", 134, ""), *u135 = repeat("Ж", 135, "");
	char *g306 = repeat("a", 306, ""), *g307 = repeat("a", 307, "");

	(void)state;
	assert_int_equal(encode(u134, 3), 0);
	assert_int_equal(sms.nparts, 2);
	check_part(0, 3, 134);
	check_part(1, 3, 134);
	assert_int_equal(encode(u135, 3), 0);
	assert_int_equal(sms.nparts, 3);
	check_part(2, 3, 2);
	check_parts_decode_to(u135);
	assert_int_equal(encode(g306, 4), 0);
	assert_int_equal(sms.nparts, 2);
	check_part(0, 4, 153);
	check_part(1, 4, 153);
	assert_int_equal(encode(g307, 4), 0);
	assert_int_equal(sms.nparts, 3);
	check_part(2, 4, 1);
	check_parts_decode_to(g307);
	free(u134);
	free(u135);
	free(g306);
	free(g307);
}

static void
test_split_escape_straddles(void **state)
{
	char *fits = repeat("a", 158, "€"); /* 160 septets */
	char *over = repeat("a", 159, "€"); /* 161 */
	char *mid = repeat("a", 152, "€bbbbbbbbbb"); /* € at 153..154 */
	char *edge = repeat("a", 151, "€bbbbbbbbbb"); /* € at 152..153 */

	(void)state;
	assert_int_equal(encode(fits, 0), 0);
	assert_int_equal(sms.nparts, 1);
	check_part(0, 0, 160);
	assert_int_equal(sms.parts[0].data[159], 0x65);

	assert_int_equal(encode(over, 0), 0);
	assert_int_equal(sms.nparts, 2);
	check_part(0, 0, 153);
	check_part(1, 0, 8);
	check_parts_decode_to(over);

	/* The escape would be the 153rd septet: it moves to part 2. */
	assert_int_equal(encode(mid, 5), 0);
	assert_int_equal(sms.nparts, 2);
	check_part(0, 5, 152);
	check_part(1, 5, 12);
	assert_int_equal(sms.parts[1].data[6], 0x1B);
	assert_int_equal(sms.parts[1].data[7], 0x65);
	check_parts_decode_to(mid);

	/* Ending exactly at 153 it stays. */
	assert_int_equal(encode(edge, 5), 0);
	check_part(0, 5, 153);
	assert_int_equal(sms.parts[0].data[6 + 151], 0x1B);
	check_part(1, 5, 10);
	check_parts_decode_to(edge);
	free(fits);
	free(over);
	free(mid);
	free(edge);
}

static void
test_split_surrogate_straddles(void **state)
{
	const char *emoji = "\xF0\x9F\x98\x80";
	char *fits = repeat("Ж", 68, emoji); /* 70 units */
	char *over = repeat("Ж", 69, emoji); /* 71 */
	char *mid, *edge;
	char tail[64];

	(void)state;
	snprintf(tail, sizeof(tail), "%s%s", emoji, "ЖЖЖЖЖЖЖЖЖЖ");
	mid = repeat("Ж", 66, tail); /* pair at units 67..68 */
	edge = repeat("Ж", 65, tail); /* pair at units 66..67 */

	assert_int_equal(encode(fits, 0), 0);
	assert_int_equal(sms.nparts, 1);
	check_part(0, 0, 140);

	assert_int_equal(encode(over, 0), 0);
	assert_int_equal(sms.nparts, 2);
	check_part(0, 0, 134);
	check_part(1, 0, 8);
	check_parts_decode_to(over);

	assert_int_equal(encode(mid, 0), 0);
	assert_int_equal(sms.nparts, 2);
	check_part(0, 0, 132); /* 66 units */
	check_part(1, 0, 24);
	assert_memory_equal(sms.parts[1].data + 6, "\xD8\x3D\xDE\x00", 4);
	check_parts_decode_to(mid);

	assert_int_equal(encode(edge, 0), 0);
	check_part(0, 0, 134);
	assert_memory_equal(sms.parts[0].data + 6 + 130, "\xD8\x3D\xDE\x00", 4);
	check_part(1, 0, 20);
	check_parts_decode_to(edge);
	free(fits);
	free(over);
	free(mid);
	free(edge);
}

static void
test_split_255_parts(void **state)
{
	char err[128];
	char *g = repeat("a", 255 * 153, ""),
	     *g1 = repeat("a", 255 * 153 + 1, "");
	char *u = repeat("Ж", 255 * 67, ""),
	     *u1 = repeat("Ж", 255 * 67 + 1, "");

	(void)state;
	assert_int_equal(encode(g, 42), 0);
	assert_int_equal(sms.nparts, 255);
	check_part(254, 42, 153);
	check_parts_decode_to(g);
	assert_int_equal(
	    text_encode(g1, strlen(g1), 42, &sms, err, sizeof(err)), -1);
	assert_int_equal(sms.nparts, 0);
	assert_string_equal(err,
	    "text too long: 39016 GSM-7 septets need "
	    "more than 255 parts");

	assert_int_equal(encode(u, 42), 0);
	assert_int_equal(sms.nparts, 255);
	check_part(0, 42, 134);
	check_part(254, 42, 134);
	assert_int_equal(
	    text_encode(u1, strlen(u1), 42, &sms, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 255 parts"));
	assert_non_null(strstr(err, "17086 UCS-2 code units"));
	/* A tiny error buffer is cut, not overrun. */
	err[5] = 'Z';
	assert_int_equal(text_encode(u1, strlen(u1), 42, &sms, err, 5), -1);
	assert_int_equal(strlen(err), 4);
	assert_int_equal(err[5], 'Z');
	free(g);
	free(g1);
	free(u);
	free(u1);
}

static void
test_accepted_reply(void **state)
{
	/* The default "accepted" reply must fit one UCS-2 SMS. */
	(void)state;
	assert_int_equal(encode("Показания приняты. Спасибо.", 0), 0);
	assert_int_equal(sms.nparts, 1);
	assert_int_equal(sms.parts[0].len, 2 * 27);
}

/* ---- random sweeps ---------------------------------------------------- */

static const uint8_t sweep_dcs[] = {
	0x00,
	0x01,
	0x02,
	0x03,
	0x04,
	0x06,
	0x08,
	0x18,
	0xF0,
	0xF4,
	0x11,
};

/* Random octets, biased towards the interesting ones for this dcs. */
static void
random_input(struct rng *r, uint8_t *buf, size_t n)
{
	static const uint8_t spicy[] = { 0x00, 0x1B, 0xD8, 0xDB, 0xDC, 0xDF,
		0x04, 0x80, 0xFF, 0x65, 0x7F };
	unsigned mode = rng_below(r, 4);

	for (size_t i = 0; i < n; i++) {
		uint64_t v = rng_next(r);

		if (mode == 0 || (v & 3) != 0)
			buf[i] = (uint8_t)(v >> 40);
		else
			buf[i] = spicy[(v >> 8) % sizeof(spicy)];
	}
}

/*
 * One random input through one decoder, checked against its own full
 * decode: a cut output must be the longest whole-character prefix.
 */
static void
sweep_one(struct rng *r, uint8_t dcs, const uint8_t *in, size_t len,
    const char *full, size_t fulln)
{
	static char out[TEXT_UTF8_MAX(512) + 1 + 16];
	size_t cap = rng_below(r, (uint32_t)fulln + 2), n;
	unsigned flags;

	memset(out, 0xA5, cap + 16);
	n = text_decode(dcs, in, len, out, cap, &flags);
	for (size_t i = cap; i < cap + 16; i++)
		assert_int_equal((uint8_t)out[i], 0xA5);
	if (cap == 0) {
		assert_int_equal(n, 0);
		return;
	}
	assert_true(n < cap);
	assert_int_equal(out[n], '\0');
	assert_memory_equal(out, full, n);
	if (n < fulln) {
		size_t next =
		    utf8_valid_seq((const unsigned char *)full + n, fulln - n);

		assert_true(flags & TEXT_F_TRUNCATED);
		assert_true(next > 0); /* the cut is a character boundary */
		assert_true(n + next > cap - 1);
	} else {
		assert_false(flags & TEXT_F_TRUNCATED);
	}
}

/*
 * UCS-2 as the specification reads it, one unit at a time: the reference
 * that the decoder's fast paths (four and eight units at a time) must
 * match byte for byte and flag for flag.
 */
static size_t
ref_ucs2(const uint8_t *in, size_t len, char *out, unsigned *flags)
{
	size_t o = 0, n = len & ~(size_t)1;

	*flags = 0;
	for (size_t i = 0; i < n;) {
		uint32_t u = (uint32_t)in[i] << 8 | in[i + 1], lo;

		i += 2;
		if (u >= 0xD800 && u < 0xE000) {
			lo = i < n ? (uint32_t)in[i] << 8 | in[i + 1] : 0;
			if (u < 0xDC00 && lo >= 0xDC00 && lo < 0xE000) {
				u = 0x10000 + ((u - 0xD800) << 10) +
				    (lo - 0xDC00);
				i += 2;
			} else {
				u = 0xFFFD;
				*flags |= TEXT_F_REPLACED;
			}
		}
		if (u == 0)
			*flags |= TEXT_F_NUL_DROPPED;
		else
			o += utf8_put(u, out + o);
	}
	if (len & 1) {
		o += utf8_put(0xFFFD, out + o);
		*flags |= TEXT_F_REPLACED;
	}
	out[o] = '\0';
	return o;
}

/* A unit of one class: the runs a decoder takes whole and what breaks them. */
static uint32_t
ucs2_unit_of(struct rng *r, unsigned cls)
{
	switch (cls) {
	case 0: return 0x20 + rng_below(r, 0x5F); /* printable ASCII */
	case 1: return 0x410 + rng_below(r, 0x40); /* Cyrillic letters */
	case 2: return 0x80 + rng_below(r, 0x780); /* other two-byte */
	case 3: return 1 + rng_below(r, 0x7F); /* any ASCII but NUL */
	case 4: return 0xE000 + rng_below(r, 0x2000); /* three bytes */
	case 5: return 0xD800 + rng_below(r, 0x800); /* a surrogate */
	default: return rng_below(r, 2) ? 0 : 0x7F + rng_below(r, 3);
	}
}

/* Runs of one class each, of 1-12 units: text, digits, then the odd one. */
static size_t
ucs2_runs(struct rng *r, uint8_t *in, size_t cap)
{
	size_t len = 0, units = rng_below(r, (uint32_t)(cap / 2));

	while (len / 2 < units) {
		unsigned cls =
		    rng_below(r, 8) < 6 ? rng_below(r, 2) : rng_below(r, 7);

		for (uint32_t k = 1 + rng_below(r, 12);
		     k > 0 && len / 2 < units; k--) {
			uint32_t u = ucs2_unit_of(r, cls);

			in[len++] = (uint8_t)(u >> 8);
			in[len++] = (uint8_t)u;
		}
	}
	if (len < cap && rng_below(r, 8) == 0)
		in[len++] = (uint8_t)rng_next(r); /* an odd trailing octet */
	return len;
}

static void
test_ucs2_against_reference(void **state)
{
	struct rng r = { 0x75637332ULL };
	static char want[TEXT_UTF8_MAX(400) + 1], got[TEXT_UTF8_MAX(400) + 1];
	uint8_t buf[400];

	(void)state;
	for (unsigned t = 0; t < 300000; t++) {
		size_t len = ucs2_runs(&r, buf, sizeof(buf)), wn, gn;
		/* exactly len bytes of heap: ASan sees a read past the end */
		uint8_t *in = malloc(len ? len : 1);
		unsigned wf, gf;

		assert_non_null(in);
		memcpy(in, buf, len);
		wn = ref_ucs2(in, len, want, &wf);
		gn = text_decode(TEXT_DCS_UCS2, in, len, got, sizeof(got), &gf);
		assert_int_equal(gn, wn);
		assert_memory_equal(got, want, wn + 1);
		assert_int_equal(gf, wf);
		free(in);
	}
}

static void
test_random_decoders(void **state)
{
	struct rng r = { 0x6D65746572ULL };
	uint8_t *in = malloc(512);
	static char full[TEXT_UTF8_MAX(512) + 1];
	size_t total = 0;

	(void)state;
	assert_non_null(in);
	while (total < 1000000) {
		uint8_t dcs = rng_below(&r, 8) == 0
		    ? (uint8_t)rng_next(&r)
		    : sweep_dcs[rng_below(&r, sizeof(sweep_dcs))];
		size_t len = rng_below(&r, 8) == 0 ? rng_below(&r, 513)
		                                   : rng_below(&r, 161);
		unsigned flags;
		size_t n;

		random_input(&r, in + 512 - len, len);
		/* in + 512 - len: the input ends at the heap block's end. */
		n = decode(
		    dcs, in + 512 - len, len, full, sizeof(full), &flags);
		assert_true(n <= TEXT_UTF8_MAX(len));
		assert_false(flags & TEXT_F_TRUNCATED);
		if (rng_below(&r, 4) == 0)
			sweep_one(&r, dcs, in + 512 - len, len, full, n);
		total++;
	}
	free(in);
}

static void
test_random_unpack(void **state)
{
	struct rng r = { 0xF111ULL };
	uint8_t sept[300];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t nbytes = rng_below(&r, 141);
		uint8_t *packed = malloc(nbytes ? nbytes : 1);
		unsigned fill = rng_below(&r, 10);
		size_t want = rng_below(&r, 300), n;

		assert_non_null(packed);
		random_input(&r, packed, nbytes);
		n = text_gsm7_unpack(
		    packed, nbytes, fill, want, sept, sizeof(sept));
		assert_true(n <= want);
		assert_true(n == 0 || fill + 7 * n <= 8 * nbytes);
		assert_true(n == want || fill + 7 * (n + 1) > 8 * nbytes);
		for (size_t k = 0; k < n; k++) {
			unsigned v = 0;

			for (unsigned b = 0; b < 7; b++) {
				size_t pos = fill + 7 * k + b;

				v |=
				    (unsigned)(packed[pos / 8] >> (pos % 8) & 1)
				    << b;
			}
			assert_int_equal(sept[k], v);
		}
		free(packed);
	}
}

/* Random code points, mostly GSM-friendly or Cyrillic, sometimes astral. */
static uint32_t
random_cp(struct rng *r, bool gsm_only)
{
	static const uint32_t pool[] = { 'a', 'Z', '0', ' ', '@', '$', '_',
		0x20AC, '[', '^', '\f', 0xE9, 0x394, 0xDF, '\n', '{', '|' };

	if (gsm_only || rng_below(r, 3) == 0)
		return pool[rng_below(r, sizeof(pool) / sizeof(pool[0]))];
	switch (rng_below(r, 4)) {
	case 0: return 0x410 + rng_below(r, 64);
	case 1: return 0x10000 + rng_below(r, 0x100000);
	case 2: return 1 + rng_below(r, 0xD7FF);
	default: return 0xE000 + rng_below(r, 0x2000);
	}
}

static void
test_random_encode(void **state)
{
	struct rng r = { 0xE4C0DEULL };
	static char text[4 * 1200 + 1];

	(void)state;
	for (int i = 0; i < 3000; i++) {
		bool gsm_only = rng_below(&r, 2);
		size_t nchars = rng_below(&r, 1200), n = 0;
		char err[128];

		for (size_t k = 0; k < nchars; k++)
			n += utf8_put(random_cp(&r, gsm_only), text + n);
		text[n] = '\0';
		assert_int_equal(
		    text_encode(text, n, (uint8_t)i, &sms, err, sizeof(err)),
		    0);
		if (gsm_only)
			assert_int_equal(sms.enc, TEXT_ENC_GSM7);
		for (unsigned k = 0; k < sms.nparts; k++) {
			const struct text_part *p = &sms.parts[k];
			size_t max = sms.enc == TEXT_ENC_GSM7 ? 160 : 140;

			assert_true(p->len <= max);
			if (sms.nparts == 1 || p->len <= TEXT_UDH_LEN)
				continue;
			/* No part ends in an escape or a high surrogate. */
			if (sms.enc == TEXT_ENC_GSM7)
				assert_int_not_equal(p->data[p->len - 1], 0x1B);
			else
				assert_false(
				    (p->data[p->len - 2] & 0xFC) == 0xD8);
		}
		check_parts_decode_to(text);
	}
}

/* Random bytes: text_encode accepts exactly what is valid UTF-8. */
static void
test_random_encode_validation(void **state)
{
	struct rng r = { 0xBADB17EULL };
	uint8_t buf[64];

	(void)state;
	for (int i = 0; i < 100000; i++) {
		size_t len = rng_below(&r, sizeof(buf));
		int rc;

		for (size_t k = 0; k < len; k++) {
			uint64_t v = rng_next(&r);
			/* Mostly plausible lead/continuation bytes. */
			buf[k] = (v & 1) ? (uint8_t)(0x80 | (v >> 8 & 0x3F))
			                 : (uint8_t)(v >> 16);
		}
		rc = text_encode((const char *)buf, len, 0, &sms, NULL, 0);
		assert_int_equal(rc == 0, utf8_valid((const char *)buf, len));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gsm7_each_septet),
		cmocka_unit_test(test_gsm7_whole_table),
		cmocka_unit_test(test_gsm7_at_is_zero),
		cmocka_unit_test(test_gsm7_extension),
		cmocka_unit_test(test_gsm7_bad_escapes),
		cmocka_unit_test(test_gsm7_high_octets),
		cmocka_unit_test(test_gsm7_truncation),
		cmocka_unit_test(test_gsm7_unpack_known),
		cmocka_unit_test(test_gsm7_unpack_fill_bits),
		cmocka_unit_test(test_gsm7_unpack_after_udh),
		cmocka_unit_test(test_ia5),
		cmocka_unit_test(test_latin1_all_bytes),
		cmocka_unit_test(test_iso8859_5_all_bytes),
		cmocka_unit_test(test_ucs2_cyrillic),
		cmocka_unit_test(test_ucs2_surrogate_pairs),
		cmocka_unit_test(test_ucs2_unpaired_surrogates),
		cmocka_unit_test(test_ucs2_odd_length),
		cmocka_unit_test(test_ucs2_nul),
		cmocka_unit_test(test_ucs2_truncation),
		cmocka_unit_test(test_ucs2_against_reference),
		cmocka_unit_test(test_utf8_max_bound),
		cmocka_unit_test(test_dcs_charset),
		cmocka_unit_test(test_dcs_decode_paths),
		cmocka_unit_test(test_encode_gsm7_basic),
		cmocka_unit_test(test_encode_gsm7_tables_round_trip),
		cmocka_unit_test(test_encode_ucs2_when_needed),
		cmocka_unit_test(test_encode_invalid_utf8),
		cmocka_unit_test(test_split_ucs2_70_71),
		cmocka_unit_test(test_split_gsm7_160_161),
		cmocka_unit_test(test_split_exact_multiples),
		cmocka_unit_test(test_split_escape_straddles),
		cmocka_unit_test(test_split_surrogate_straddles),
		cmocka_unit_test(test_split_255_parts),
		cmocka_unit_test(test_accepted_reply),
		cmocka_unit_test(test_random_decoders),
		cmocka_unit_test(test_random_unpack),
		cmocka_unit_test(test_random_encode),
		cmocka_unit_test(test_random_encode_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
