/*
 * The ПС grammar (docs/grammar.md). A text goes through three steps:
 *
 * 1. norm_text, one pass in C: validate UTF-8, turn every kind of space,
 *    line break and invisible character into one ASCII space, collapse
 *    runs, trim both ends, fold letters to lower case. The result goes
 *    into the parser's scratch buffer, so the pattern only ever sees
 *    single spaces and lower case.
 * 2. One match of the main pattern (PCRE2, JIT when available), which
 *    fixes the shape of the whole text and names the branch it took.
 * 3. C reads the numbers out of the text the pattern accepted and checks
 *    lengths and counts (contract 4..12 digits, values up to 10 digits,
 *    at most 6 of them), which gives each failure its own reason.
 *
 * Texts the main pattern rejects are classified by two small patterns
 * (digits of other scripts; starts like a command), on that path only.
 *
 * Speed: the budget is about 200 ns a message with decoding (issue 2).
 * Steps 1 and 3 read 8 bytes at a time where they can (SWAR, little-endian
 * hosts; others take the byte loop), because branches that depend on the
 * text mispredict on a mixed corpus and cost more than the work itself.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/parse.h"
#include "meterline/xmalloc.h"

/* -DPARSE_SWAR=0 forces the byte loops (to test them on x86). */
#ifndef PARSE_SWAR
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PARSE_SWAR 1
#else
#define PARSE_SWAR 0
#endif
#endif

/*
 * Pattern pieces for the main pattern. It runs on normalised text (valid
 * UTF-8, single spaces, letters folded to lower case by norm_text), so it
 * needs neither PCRE2_CASELESS nor PCRE2_UTF: every letter is a literal
 * UTF-8 byte sequence, which the JIT compares as bytes, several times
 * faster than caseless UTF classes. Hence Cyrillic letters appear only in
 * alternations, never inside [...] (that would be a class of bytes).
 * Digits are [0-9], never \d (api-notes.md §d).
 */
/* ПС: П or Latin P, then С, Latin C or Latin S (ПС PS ПC PС PC ПS). */
#define P_KW "(?:п|p)(?:с|c|s)"
/* After the keyword: spaces and : . - # № in any mix, or nothing. */
#define P_KWSEP "(?:[ :.#-]|№)*+"
/* A fraction: , or . and exactly 1-3 digits (4+ digits make a value). */
#define P_FRAC "[.,][0-9]{1,3}+(?![0-9])"
#define P_VAL "[0-9]++(?:" P_FRAC ")?"
/* Between values: a space, ; or / with optional spaces, or , . before 4+ digits. */
#define P_VSEP "(?: (?:[;/] ?)?|[;/] ?|[.,](?=[0-9]{4}))"
#define P_VALS P_VAL "(?:" P_VSEP P_VAL ")*+"
/* One trailing . , ; or / after the last number is forgiven. */
#define P_TRAIL "(?: ?[.,;/])?"
#define P_CANCEL "отмена|стоп"
#define P_HELPW "помощь|справка"
/* Up to three of . ! ? after a command word ("Стоп!", "Помощь?", "??"). */
#define P_CTRAIL "(?: ?[.!?]{1,3})?"

/*
 * The whole grammar. No capturing groups: in the JIT each one costs more
 * than the rest of the match on texts this short (measured: 8 groups
 * tripled the instructions). A (*MARK) names the branch that matched, and
 * C finds the contract and the values in the normalised text, whose shape
 * the pattern has just proved.
 */
static const char pat_main[] = "^(?:" P_KW P_KWSEP "(?:[0-9]++(?:" P_FRAC
                               ")?(?:" P_VSEP P_VALS ")?)?" P_TRAIL "(*:K)"
                               "|" P_VALS P_TRAIL "(*:V)"
                               "|(?:" P_CANCEL ")" P_CTRAIL "(*:X)"
                               "|(?:" P_HELPW "|\\?)" P_CTRAIL "(*:H)"
                               ")\\z";

/* Starts like a command: then the reply can say what is wrong with it. */
static const char pat_lead[] =
    "^(?:" P_KW "(?!\\p{L})|[0-9]|(?:" P_CANCEL "|" P_HELPW ")(?!\\p{L}))";

/* Any numeric character except 0-9: full-width, Arabic-Indic, ², ½... */
static const char pat_nad[] = "(?![0-9])\\p{N}";

/* norm_text writes 8 zero bytes after the text, for 8-byte reads. */
#define PAD 8

struct parser {
	pcre2_code *re_main;
	pcre2_code *re_lead;
	pcre2_code *re_nad;
	pcre2_match_data *md; /* one for all three patterns */
	bool jit;
	char ascii[128]; /* norm_text's map of ASCII bytes */
	char cyr[128][2]; /* D0/D1 xx folded, by (lead & 1, xx) */
	char scratch[PARSE_MAX_TEXT + PAD];
};

static const char *const kind_names[] = {
	[PARSE_INVALID] = "invalid",
	[PARSE_SUBMIT] = "submit",
	[PARSE_START] = "start",
	[PARSE_VALUES] = "values",
	[PARSE_CANCEL] = "cancel",
	[PARSE_HELP] = "help",
	[PARSE_THANKS] = "thanks",
	[PARSE_CONFIRM] = "confirm",
};

static const char *const reason_names[] = {
	[PARSE_R_NONE] = "none",
	[PARSE_R_TOO_LONG] = "too_long",
	[PARSE_R_BAD_UTF8] = "bad_utf8",
	[PARSE_R_EMPTY] = "empty",
	[PARSE_R_NON_ASCII_DIGIT] = "non_ascii_digit",
	[PARSE_R_NO_CONTRACT] = "no_contract",
	[PARSE_R_BAD_CONTRACT] = "bad_contract",
	[PARSE_R_BAD_VALUE] = "bad_value",
	[PARSE_R_TOO_MANY_VALUES] = "too_many_values",
	[PARSE_R_BAD_SYNTAX] = "bad_syntax",
	[PARSE_R_UNKNOWN] = "unknown",
};

/* ---- 8 bytes at a time ----------------------------------------------- */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static uint64_t
load8(const void *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Index of the lowest byte of m whose top bit is set; m != 0. */
static unsigned
first_byte(uint64_t m)
{
	return (unsigned)__builtin_ctzll(m) >> 3;
}

/*
 * Top bit of each byte of w that norm_text must look at: not printable
 * ASCII (controls, space, >= 0x80) or an ASCII capital. Each byte is
 * compared with its top bit forced on, so no borrow crosses bytes.
 */
static uint64_t
special_bytes(uint64_t w)
{
	uint64_t h = w | HIGHS;
	uint64_t ge21 = h - 0x21 * ONES, ge41 = h - 0x41 * ONES;
	uint64_t ge5b = h - 0x5B * ONES;

	return (w | ~ge21 | (ge41 & ~ge5b)) & HIGHS;
}

/*
 * Top bit of each byte of x = w ^ "00000000" that is not an ASCII digit
 * (a digit leaves 0..9 in x). Masking with 0x7F first keeps the sum of
 * each byte below 0x100, so no carry crosses bytes.
 */
static uint64_t
nondigit_bytes(uint64_t x)
{
	return (((x & 0x7F * ONES) + 0x76 * ONES) | x) & HIGHS;
}

/*
 * The value of the k (1..8) digits 0..9 in the low bytes of x, the first
 * the most significant: move them to the top (the bytes below become
 * leading zeros), then add neighbours pairwise: 8 digits in 3 multiplies.
 */
static uint64_t
digits_value(uint64_t x, unsigned k)
{
	x <<= 8 * (8 - k);
	x = (x * (10 * 256 + 1)) >> 8;
	x = ((x & 0x00FF00FF00FF00FFULL) * (100 * 65536 + 1)) >> 16;
	return ((x & 0x0000FFFF0000FFFFULL) * (10000 * 4294967296ULL + 1)) >>
	    32;
}

/* ---- step 1: normalisation ------------------------------------------- */

/*
 * Code points >= 0x80 that count as spaces: the Unicode space separators
 * (no-break U+00A0, U+202F, figure space U+2007...), line separators and
 * the invisible ones (zero-width U+200B-U+200D, direction marks, word
 * joiner U+2060, BOM U+FEFF...) that phones and messengers slip between
 * tokens.
 */
static bool
wide_space(uint32_t c)
{
	if (c < 0x1680)
		return c == 0x85 || c == 0xA0;
	if (c >= 0x2000 && c <= 0x206F)
		return c <= 0x200F || (c >= 0x2028 && c <= 0x202F) ||
		    c >= 0x205F;
	return c == 0x1680 || c == 0x180E || c == 0x3000 || c == 0xFEFF;
}

/*
 * Length of the well-formed UTF-8 sequence at s (n > 0 bytes left) with
 * its code point in *cp, or 0 when it is not well-formed: overlong forms,
 * surrogates and values past U+10FFFF are refused, as RFC 3629 says.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char b = s[0];
	uint32_t c;

	if (b >= 0xC2 && b <= 0xDF) {
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		*cp = (uint32_t)(b & 0x1F) << 6 | (s[1] & 0x3F);
		return 2;
	}
	if (b >= 0xE0 && b <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		c = (uint32_t)(b & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 |
		    (s[2] & 0x3F);
		if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))
			return 0;
		*cp = c;
		return 3;
	}
	if (b >= 0xF0 && b <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		c = (uint32_t)(b & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
		    (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
		if (c < 0x10000 || c > 0x10FFFF)
			return 0;
		*cp = c;
		return 4;
	}
	return 0;
}

/*
 * Copy the n-byte character cp. A Cyrillic letter of the D0/D1 range goes
 * through p->cyr, which folds Russian capitals to lower case.
 */
static void
copy_char(const struct parser *p, char *out, const unsigned char *in, size_t n,
    uint32_t cp, bool *foreign)
{
	const char *f;

	if (n == 2 && (in[0] & 0xFE) == 0xD0) {
		f = p->cyr[(in[0] & 1) << 6 | (in[1] & 0x3F)];
		out[0] = f[0];
		out[1] = f[1];
		return;
	}
	memcpy(out, in, n);
	/* Cyrillic (U+0400-U+04FF) has no digits; anything else may. */
	if (cp < 0x400 || cp > 0x4FF)
		*foreign = true;
}

/*
 * The character at in[i] (len bytes in all) that needs a look: a space,
 * control or capital in ASCII, or a UTF-8 sequence. Writes its output at
 * out[o] and returns its length in bytes, 0 for invalid UTF-8; *sp tells
 * whether it was a space (written as ' ').
 */
static size_t
norm_char(const struct parser *p, const unsigned char *in, size_t i, size_t len,
    char *out, size_t o, unsigned *sp, bool *foreign)
{
	unsigned b = in[i];
	size_t n;
	uint32_t cp;
	char c;

	if (b < 0x80) {
		c = p->ascii[b];
		out[o] = c;
		*sp = c == ' ';
		return 1;
	}
	if ((n = utf8_seq(in + i, len - i, &cp)) == 0)
		return 0;
	if ((*sp = wide_space(cp)) != 0)
		out[o] = ' ';
	else
		copy_char(p, out + o, in + i, n, cp, foreign);
	return n;
}

/*
 * Normalise len bytes of in into out (len + PAD bytes): ASCII bytes go
 * through p->ascii (spaces to ' ', capitals to lower case), wide spaces
 * become ' ' too, a run of spaces becomes one and none is left at either
 * end; Russian capitals are folded to lower case. PAD zero bytes follow
 * the output. Sets *foreign when a non-ASCII, non-Cyrillic character is
 * kept (it may be a digit of another script). Returns the output length,
 * never more than len, or -1 for invalid UTF-8.
 *
 * Runs of plain bytes (printable ASCII, not capitals: digits, mostly) are
 * copied 8 at a time while 8 bytes are left; a store may write up to 8
 * bytes past the run, which later output overwrites. A space is always
 * written, and the output advances past it only when the previous output
 * was not a space: arithmetic, not a branch that would mispredict.
 */
static int
norm_text(const struct parser *p, const unsigned char *in, size_t len,
    char *out, bool *foreign)
{
	size_t i = 0, o = 0, n, k;
	unsigned prev = 1, sp; /* prev 1: leading spaces are dropped */
	uint64_t w, m;

	while (i < len) {
		if (PARSE_SWAR && len - i >= 8) {
			w = load8(in + i);
			m = special_bytes(w);
			k = m ? first_byte(m) : 8;
			memcpy(out + o, &w, 8);
			o += k;
			i += k;
			prev &= k == 0;
			if (k == 8)
				continue;
		}
		n = norm_char(p, in, i, len, out, o, &sp, foreign);
		if (n == 0)
			return -1;
		i += n;
		o += sp ? !prev : n;
		prev = sp;
	}
	if (prev && o > 0)
		o--; /* the one trailing space */
	memset(out + o, 0, PAD);
	return (int)o;
}

/* ---- step 3: read the numbers ----------------------------------------- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Length and value of the run of ASCII digits at s, which is followed by
 * a non-digit within the buffer (the PAD zeros at the latest). The value
 * is exact up to 19 digits; longer runs are refused by length anyway.
 */
static size_t
digit_run(const char *s, uint64_t *value)
{
	static const uint64_t pow10[] = {
		1,
		10,
		100,
		1000,
		10000,
		100000,
		1000000,
		10000000,
		100000000,
	};
	size_t len = 0;
	uint64_t v = 0;
	unsigned k;

	if (!PARSE_SWAR) {
		for (; is_digit(s[len]); len++)
			v = v * 10 + (uint64_t)(s[len] - '0');
		*value = v;
		return len;
	}
	do {
		uint64_t x = load8(s + len) ^ ('0' * ONES);
		uint64_t m = nondigit_bytes(x);

		k = m ? first_byte(m) : 8;
		if (k > 0)
			v = v * pow10[k] + digits_value(x, k);
		len += k;
	} while (k == 8);
	*value = v;
	return len;
}

/*
 * Index of the first ASCII digit in s[i..end), or end; end is the end of
 * the text, followed by PAD zeros, so an 8-byte read from i < end is safe.
 */
static size_t
next_digit(const char *s, size_t i, size_t end)
{
	uint64_t m;

	if (!PARSE_SWAR) {
		while (i < end && !is_digit(s[i]))
			i++;
		return i;
	}
	for (; i < end; i += 8) {
		m = ~nondigit_bytes(load8(s + i) ^ ('0' * ONES)) & HIGHS;
		if (m)
			return i + first_byte(m);
	}
	return end;
}

static enum parse_kind
set_invalid(struct parse_result *out, enum parse_reason reason)
{
	char contract[sizeof(out->contract)];

	/* Keep the contract only for the reasons that name it. */
	memcpy(contract, out->contract, sizeof(contract));
	memset(out, 0, sizeof(*out));
	if (reason == PARSE_R_BAD_VALUE || reason == PARSE_R_TOO_MANY_VALUES)
		memcpy(out->contract, contract, sizeof(contract));
	out->kind = PARSE_INVALID;
	out->reason = reason;
	return PARSE_INVALID;
}

/*
 * Read the values of s[start..end), a region the main pattern accepted
 * and that runs to the end of the text. A digit run right after , or .
 * of 1-3 digits is a fraction (dropped); every other run is a value.
 * Stops at the first surplus or over-long value.
 */
static enum parse_reason
scan_values(const char *s, size_t start, size_t end, struct parse_result *out)
{
	size_t i, len;
	uint64_t v;

	for (i = next_digit(s, start, end); i < end;
	     i = next_digit(s, i + len, end)) {
		len = digit_run(s + i, &v);
		if (i > start && (s[i - 1] == ',' || s[i - 1] == '.') &&
		    len <= 3)
			out->truncated = true;
		else if (out->nvalues == PARSE_MAX_VALUES)
			return PARSE_R_TOO_MANY_VALUES;
		else if (len > PARSE_VALUE_MAX_DIGITS)
			return PARSE_R_BAD_VALUE;
		else
			out->values[out->nvalues++] = v;
	}
	return PARSE_R_NONE;
}

/*
 * The keyword branch matched s[0..n): ПС, separators without digits, then
 * maybe a contract, then maybe values. The first digit starts the contract.
 */
static enum parse_kind
read_keyword(const char *s, size_t n, struct parse_result *out)
{
	size_t i, len, frac = 0;
	enum parse_reason r;
	uint64_t v;

	if ((i = next_digit(s, 0, n)) == n)
		return set_invalid(out, PARSE_R_NO_CONTRACT);
	len = digit_run(s + i, &v);
	/* , or . and 1-3 digits right after it: a fraction on the contract */
	if ((s[i + len] == ',' || s[i + len] == '.') &&
	    is_digit(s[i + len + 1]))
		frac = digit_run(s + i + len + 1, &v);
	if (len < PARSE_CONTRACT_MIN || len > PARSE_CONTRACT_MAX ||
	    (frac > 0 && frac <= 3))
		return set_invalid(out, PARSE_R_BAD_CONTRACT);
	memcpy(out->contract, s + i, len);
	out->contract[len] = '\0';
	if ((r = scan_values(s, i + len, n, out)) != PARSE_R_NONE)
		return set_invalid(out, r);
	return out->kind = out->nvalues ? PARSE_SUBMIT : PARSE_START;
}

/* Turn a match of the main pattern on s[0..n) into a result. */
static enum parse_kind
read_match(struct parser *p, const char *s, size_t n, struct parse_result *out)
{
	PCRE2_SPTR mark = pcre2_get_mark(p->md);
	enum parse_reason r;

	switch (mark != NULL ? mark[0] : 0) {
	case 'K': return read_keyword(s, n, out);
	case 'V':
		if ((r = scan_values(s, 0, n, out)) != PARSE_R_NONE)
			return set_invalid(out, r);
		return out->kind = PARSE_VALUES;
	case 'X': return out->kind = PARSE_CANCEL;
	case 'H': return out->kind = PARSE_HELP;
	default: /* every branch sets a mark: cannot happen */
		return set_invalid(out, PARSE_R_UNKNOWN);
	}
}

/* ---- step 2: the match, and the reasons for no match ------------------ */

/*
 * Match re against the normalised text. pcre2_jit_match skips the checks
 * of pcre2_match, UTF validation included; that is safe only because the
 * scratch is our own output and norm_text validated every byte of it
 * (api-notes.md §d). The checks are a good part of the cost on short texts.
 */
static int
run(struct parser *p, const pcre2_code *re, const char *s, size_t n)
{
	if (p->jit)
		return pcre2_jit_match(re, (PCRE2_SPTR)s, n, 0, 0, p->md, NULL);
	return pcre2_match(
	    re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, p->md, NULL);
}

/* Why the main pattern did not match. */
static enum parse_reason
classify(struct parser *p, const char *s, size_t n, bool foreign)
{
	if (foreign && run(p, p->re_nad, s, n) > 0)
		return PARSE_R_NON_ASCII_DIGIT;
	if (run(p, p->re_lead, s, n) > 0)
		return PARSE_R_BAD_SYNTAX;
	return PARSE_R_UNKNOWN;
}

enum parse_kind
parser_parse(
    struct parser *p, const char *text, size_t len, struct parse_result *out)
{
	bool foreign = false;
	int n;

	memset(out, 0, sizeof(*out));
	if (len > PARSE_MAX_TEXT)
		return set_invalid(out, PARSE_R_TOO_LONG);
	n = norm_text(
	    p, (const unsigned char *)text, len, p->scratch, &foreign);
	if (n < 0)
		return set_invalid(out, PARSE_R_BAD_UTF8);
	if (n == 0)
		return set_invalid(out, PARSE_R_EMPTY);
	/* -1 is "no match"; any other error is treated the same way. */
	if (run(p, p->re_main, p->scratch, (size_t)n) > 0)
		return read_match(p, p->scratch, (size_t)n, out);
	return set_invalid(out, classify(p, p->scratch, (size_t)n, foreign));
}

/* ---- setup --------------------------------------------------------- */

/* Compile one pattern, JIT it when we can. NULL with err filled on error. */
static pcre2_code *
compile(const char *pat, uint32_t opts, bool *jit, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE off;
	pcre2_code *re;
	int ec;

	re = pcre2_compile(
	    (PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts, &ec, &off, NULL);
	if (re == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "grammar pattern at offset %zu: %s",
		    (size_t)off, (const char *)msg);
		return NULL;
	}
	/* No JIT (unsupported CPU, W^X policy): the interpreter still works. */
	if (*jit && pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0)
		*jit = false;
	return re;
}

/* What norm_text writes for each ASCII byte. */
static void
ascii_map_init(char *map)
{
	for (unsigned b = 0; b < 128; b++) {
		if (b == ' ' || (b >= '\t' && b <= '\r'))
			map[b] = ' '; /* tab, LF, VT, FF, CR */
		else if (b >= 'A' && b <= 'Z')
			map[b] = (char)(b | 0x20);
		else
			map[b] = (char)b; /* controls stay, as junk */
	}
}

/*
 * What norm_text writes for the 2-byte characters D0 80 - D1 BF (U+0400 -
 * U+047F): themselves, except the Russian capitals, folded to lower case:
 * А-П (D0 90-9F) to а-п (D0 B0-BF), Р-Я (D0 A0-AF) to р-я (D1 80-8F),
 * Ё (D0 81) to ё (D1 91). The grammar's words use no other letters.
 */
static void
cyr_map_init(char map[128][2])
{
	for (unsigned i = 0; i < 128; i++) {
		unsigned lead = 0xD0 | i >> 6, b1 = 0x80 | (i & 0x3F);

		if (lead == 0xD0 && b1 >= 0x90 && b1 <= 0x9F)
			b1 += 0x20;
		else if (lead == 0xD0 && b1 >= 0xA0 && b1 <= 0xAF)
			lead = 0xD1, b1 -= 0x20;
		else if (lead == 0xD0 && b1 == 0x81)
			lead = 0xD1, b1 = 0x91;
		map[i][0] = (char)lead;
		map[i][1] = (char)b1;
	}
}

struct parser *
parser_new(char *err, size_t errlen)
{
	struct parser *p = xcalloc(1, sizeof(*p));
	uint32_t have_jit = 0;

	ascii_map_init(p->ascii);
	cyr_map_init(p->cyr);
	pcre2_config(PCRE2_CONFIG_JIT, &have_jit);
	p->jit = have_jit != 0;
	/* Byte mode, case-sensitive: see the comment on the pattern pieces. */
	p->re_main = compile(pat_main, 0, &p->jit, err, errlen);
	p->re_lead =
	    compile(pat_lead, PCRE2_UTF | PCRE2_UCP, &p->jit, err, errlen);
	p->re_nad =
	    compile(pat_nad, PCRE2_UTF | PCRE2_UCP, &p->jit, err, errlen);
	if (p->re_main == NULL || p->re_lead == NULL || p->re_nad == NULL) {
		parser_free(p);
		return NULL;
	}
	p->md = pcre2_match_data_create(1, NULL); /* no groups read */
	if (p->md == NULL) {
		snprintf(err, errlen, "out of memory for match data");
		parser_free(p);
		return NULL;
	}
	return p;
}

void
parser_free(struct parser *p)
{
	if (p == NULL)
		return;
	pcre2_match_data_free(p->md);
	pcre2_code_free(p->re_nad);
	pcre2_code_free(p->re_lead);
	pcre2_code_free(p->re_main);
	free(p);
}

bool
parser_jit(const struct parser *p)
{
	return p->jit;
}

/* ---- names and output ---------------------------------------------- */

const char *
parse_kind_name(enum parse_kind k)
{
	if ((unsigned)k >= ARRAY_SIZE(kind_names))
		return "?";
	return kind_names[k];
}

const char *
parse_reason_name(enum parse_reason r)
{
	if ((unsigned)r >= ARRAY_SIZE(reason_names))
		return "?";
	return reason_names[r];
}

unsigned
parse_value_digits(uint64_t v)
{
	unsigned n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* Append to a fixed buffer; remembers overflow instead of failing. */
struct jbuf {
	char *p;
	size_t len, cap;
	bool over;
};

static void jb_add(struct jbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
jb_add(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->over = true;
	else
		b->len += (size_t)n;
}

int
parse_result_json(const struct parse_result *r, char *buf, size_t buflen)
{
	struct jbuf b = { buf, 0, buflen, buflen == 0 };

	jb_add(&b, "{\"kind\":\"%s\"", parse_kind_name(r->kind));
	if (r->kind == PARSE_INVALID)
		jb_add(&b, ",\"reason\":\"%s\"", parse_reason_name(r->reason));
	/* Digits only (parser output), so nothing needs escaping. */
	if (r->contract[0] != '\0')
		jb_add(&b, ",\"contract\":\"%s\"", r->contract);
	if (r->kind == PARSE_SUBMIT || r->kind == PARSE_VALUES) {
		jb_add(&b, ",\"values\":[");
		for (unsigned i = 0; i < r->nvalues; i++)
			jb_add(&b, "%s%llu", i ? "," : "",
			    (unsigned long long)r->values[i]);
		jb_add(&b, "]");
	}
	if (r->truncated)
		jb_add(&b, ",\"truncated\":true");
	jb_add(&b, "}");
	return b.over ? -1 : (int)b.len;
}
