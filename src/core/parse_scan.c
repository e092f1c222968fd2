/*
 * Step 2 of the grammar (docs/grammar.md, "The rules"): a hand-written
 * scanner over the normalised text (lower case, single spaces, no emoji or
 * markup), one pass left to right with at most one token of look-ahead.
 * Three shapes:
 *
 *   [lead words] keyword [:№...] contract [values] [politeness]   submit/start
 *   [greeting] values [politeness]                                values
 *   words without digits                      help/cancel/confirm/thanks
 *
 * and, for the customer's own account, ИНФО / ОТВЯЗАТЬ [contract],
 * ПС <contract> ?, НЕ НАПОМИНАТЬ / НАПОМИНАТЬ.
 *
 * A hand-written scanner rather than one pattern: labels, units, digit
 * groups and lead words depend on what came before, and a failure has to
 * say where it happened so the reply can quote it.
 *
 * Like the pattern before it, the scanner first settles the shape; only a
 * text of the right shape gets a number's reason (bad_contract, bad_value,
 * too_many_values: the first in reading order), any other is bad_syntax
 * or unknown.
 */
#include "parse_int.h"

#if PARSE_SIMD
#include <emmintrin.h>
#endif

/* ---- numbers, 8 bytes at a time ------------------------------------------ */

/*
 * Top bit of each byte of x = w ^ "00000000" that is not an ASCII digit
 * (a digit leaves 0..9 in x). Masking with 0x7F first keeps the sum of
 * each byte below 0x100, so no carry crosses bytes.
 */
static uint64_t
nondigit_bytes(uint64_t x)
{
	return (((x & 0x7F * PARSE_ONES) + 0x76 * PARSE_ONES) | x) &
	    PARSE_HIGHS;
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

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

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

/*
 * Length and value of the run of ASCII digits at s, which is followed by
 * a non-digit within the buffer (the PAD zeros at the latest). The value
 * is exact up to 19 digits; longer runs are refused by length anyway.
 */
static inline size_t
digit_run(const char *s, uint64_t *value)
{
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
		uint64_t x = parse_load8(s + len) ^ ('0' * PARSE_ONES);
		uint64_t m = nondigit_bytes(x);

		k = m ? parse_first_byte(m) : 8;
		if (k > 0)
			v = v * pow10[k] + digits_value(x, k);
		len += k;
	} while (k == 8);
	*value = v;
	return len;
}

/* Whether s[0..n) holds an ASCII digit (8 bytes at a time). */
static bool
has_digit(const char *s, size_t n)
{
	if (!PARSE_SWAR) {
		for (size_t i = 0; i < n; i++)
			if (is_digit(s[i]))
				return true;
		return false;
	}
	for (size_t i = 0; i < n; i += 8) {
		uint64_t m =
		    ~nondigit_bytes(parse_load8(s + i) ^ ('0' * PARSE_ONES)) &
		    PARSE_HIGHS;

		if (m && i + parse_first_byte(m) < n)
			return true;
	}
	return false;
}

#if PARSE_SIMD
#define NB(c) _mm_set1_epi8((char)(c))

/*
 * The end of the run of letters (a-z, Cyrillic: pch_at's PCH_LATIN and
 * PCH_CYR) from s[i], i <= n, 16 bytes a step: a-z, the leads D0-D3 and
 * continuation bytes. Whole letters only, as the text is valid UTF-8 and
 * i starts a character; the PARSE_PAD zeros after s[n] end the run.
 */
static inline size_t
letters_end(const char *s, size_t i, size_t n)
{
	unsigned k;

	(void)n;
	do {
		__m128i v =
		    _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i az = _mm_and_si128(_mm_cmpgt_epi8(v, NB('a' - 1)),
		    _mm_cmplt_epi8(v, NB('z' + 1)));
		__m128i cont = _mm_cmplt_epi8(v, NB(0xC0)); /* 80-BF */
		__m128i lead =
		    _mm_cmpeq_epi8(_mm_and_si128(v, NB(0xFC)), NB(0xD0));

		k = (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(
		    _mm_or_si128(az, _mm_or_si128(cont, lead))));
		i += k;
	} while (k == 16);
	return i;
}
#undef NB
#else
/* The end of the run of letters (a-z, Cyrillic) from s[i]. */
static inline size_t
letters_end(const char *s, size_t i, size_t n)
{
	size_t len;
	enum pch c;

	while ((c = pch_at(s, i, n, &len)) == PCH_LATIN || c == PCH_CYR)
		i += len;
	return i;
}
#endif

/* Length of the letter О/o (Cyrillic or Latin) at s, or 0. */
static size_t
letter_o(const char *s)
{
	if (s[0] == 'o')
		return 1;
	return (unsigned char)s[0] == 0xD0 && (unsigned char)s[1] == 0xBE ? 2
	                                                                  : 0;
}

/* A number as written: its bytes, digits and value. */
struct num {
	size_t at, end;
	unsigned nd; /* digits, О/o counted */
	uint64_t v; /* exact up to 19 digits */
	bool plain; /* ASCII digits only: nd bytes */
};

/*
 * A number at s[i] with an О/o in it or after it (num_at's slow path):
 * ASCII digits, and the letter О/o (Cyrillic or Latin) read as 0 where it
 * stands between digits ("1О2О57533"). It starts and ends with a digit:
 * "11638О" is a number glued to a letter.
 */
static bool
num_lettered(const char *s, size_t i, size_t n, struct num *nm)
{
	size_t j = i, last = i, k;
	unsigned nd = 0, last_nd = 0;
	uint64_t v = 0, last_v = 0, x;
	bool lettered = false; /* read an О/o (trailing ones are dropped) */

	for (;;) {
		if (j < n && is_digit(s[j])) {
			k = digit_run(s + j, &x);
			v = v * (k < 9 ? pow10[k] : 1000000000) + x;
			nd += (unsigned)k;
			j += k;
			last = j, last_nd = nd, last_v = v;
		} else if (j < n && (k = letter_o(s + j)) != 0) {
			lettered = true;
			v *= 10;
			nd++;
			j += k;
		} else {
			break;
		}
	}
	if (last == i || !is_digit(s[i]))
		return false;
	*nm = (struct num){ i, last, last_nd, last_v, !lettered };
	return true;
}

/*
 * A number at s[i]. The common case, a run of digits with no О/o after
 * it, is inline; the rest is num_lettered.
 */
static inline bool
num_at(const char *s, size_t i, size_t n, struct num *nm)
{
	size_t k;
	uint64_t x;

	if (i < n && is_digit(s[i])) {
		k = digit_run(s + i, &x);
		if (s[i + k] != 'o' && (unsigned char)s[i + k] != 0xD0) {
			*nm = (struct num){ i, i + k, (unsigned)k, x, true };
			return true;
		}
	}
	return num_lettered(s, i, n, nm);
}

/* Whether exactly three ASCII digits start at s[i] (no fourth). */
static bool
three_digits(const char *s, size_t i, size_t n)
{
	return i + 3 <= n && is_digit(s[i]) && is_digit(s[i + 1]) &&
	    is_digit(s[i + 2]) && !is_digit(s[i + 3]);
}

static unsigned
three_value(const char *s)
{
	return (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 +
	    (unsigned)(s[2] - '0');
}

/*
 * nd (1..PARSE_CONTRACT_MAX) bytes of src (PARSE_PAD readable after the
 * text) into out, NUL-ended, as an 8-byte and a 4-byte store: out[nd..]
 * up to the store's end become zeros. No call of memcpy.
 */
static inline void
copy_plain(char *out, const char *src, unsigned nd)
{
	uint64_t w = parse_load8(src);
	uint32_t t;

	if (nd < 8)
		w &= (1ULL << (8 * nd)) - 1;
	memcpy(out, &w, 8);
	if (nd > 8) {
		memcpy(&t, src + 8, 4);
		t &= nd < 12 ? (1U << (8 * (nd - 8))) - 1 : ~0U;
		memcpy(out + 8, &t, 4);
	}
	out[nd] = '\0';
}

/*
 * The nd digits of s[at..end) (О/o as 0, spaces skipped) into out,
 * NUL-ended. Nearly always they are plain digits: one copy.
 */
static void
copy_digits(
    const char *s, size_t at, size_t end, bool plain, unsigned nd, char *out)
{
	size_t o = 0, k;

	if (plain && PARSE_SWAR) {
		copy_plain(out, s + at, nd);
		return;
	}
	if (plain) {
		memcpy(out, s + at, nd);
		out[nd] = '\0';
		return;
	}

	for (size_t i = at; i < end; i++) {
		if (is_digit(s[i]))
			out[o++] = s[i];
		else if ((k = letter_o(s + i)) != 0) {
			out[o++] = '0';
			i += k - 1;
		}
	}
	out[o] = '\0';
}

/* ---- the scanner's state ------------------------------------------------- */

struct scan {
	const struct phrase_index *ix;
	const char *s;
	size_t n;
	struct parse_result *out;
	/* the first problem with a number, reported if the shape is right */
	enum parse_reason problem;
	size_t prob_at, prob_end;
	/* the furthest token that could not be read */
	size_t fail_at;
	bool values_path; /* no keyword: the first value may be a contract */
	unsigned count; /* values read, those past the 6th included */
	bool ambiguous;
	/* the last phrase looked up: the same word is often asked again */
	size_t ph_at, ph_len;
	enum phrase_class ph_class;
	uint8_t nalt;
	uint64_t alt[PARSE_MAX_VALUES];
	uint8_t alt_from[PARSE_MAX_VALUES];
};

/* The listed phrase at s[i] (phrase_at), its length in *len. */
static enum phrase_class
phrase(struct scan *sc, size_t i, size_t *len)
{
	if (i != sc->ph_at) {
		sc->ph_class = phrase_at(sc->ix, sc->s, i, sc->n, &sc->ph_len);
		sc->ph_at = i;
	}
	*len = sc->ph_len;
	return sc->ph_class;
}

/* The scan could not read the token at i; remember the furthest. */
static bool
fail(struct scan *sc, size_t i)
{
	if (i > sc->fail_at)
		sc->fail_at = i;
	return false;
}

static void
problem(struct scan *sc, enum parse_reason r, size_t at, size_t end)
{
	if (sc->problem != PARSE_R_NONE)
		return;
	sc->problem = r;
	sc->prob_at = at;
	sc->prob_end = end;
}

/*
 * Sets of punctuation marks, as bit masks: every mark the grammar names
 * is ASCII below 0x40, so one 64-bit word holds a set and a test is a
 * shift (a loop over a string of marks cost more than the rest of a
 * token's checks).
 */
#define MK(c) (1ULL << (c))
#define MARKS_RUN /* between words, in a run of at most three */ \
	(MK('.') | MK(',') | MK('!') | MK('?') | MK(';') | MK(':') | MK('-'))
#define MARKS_PAREN (MK('(') | MK(')'))
#define MARKS_NAME (MK('.') | MK(',') | MK('-') | MK('!')) /* signature */
#define MARKS_LABEL (MK(':') | MK('=') | MK('-')) /* label: value */
#define MARKS_END (MK('.') | MK(',') | MK(';') | MK('/')) /* after values */
#define MARKS_LEAD /* between the words before the keyword */ \
	(MARKS_RUN | MARKS_PAREN | MK('"') | MK('\''))
#define MARKS_CONTRACT /* between a keyword and its contract */ \
	(MK(' ') | MK(':') | MK('.') | MK('#') | MK('-'))

/* Whether c is one of the punctuation marks of set (a MARKS_ mask). */
static inline bool
is_mark(char c, uint64_t set)
{
	unsigned char u = (unsigned char)c;

	return u < 64 && (set >> u & 1);
}

/*
 * Punctuation between words: a run of at most three of . , ! ? ; : - or
 * any number of ( ) (smileys). Returns the position after the marks.
 */
static bool
marks(struct scan *sc, size_t *i)
{
	size_t k = *i, run;

	for (;;) {
		for (run = 0; k < sc->n && is_mark(sc->s[k], MARKS_RUN); k++)
			run++;
		if (run > 3)
			return fail(sc, k - run);
		if (k < sc->n && is_mark(sc->s[k], MARKS_PAREN)) {
			while (k < sc->n && is_mark(sc->s[k], MARKS_PAREN))
				k++;
			continue;
		}
		if (run == 0)
			break;
	}
	*i = k;
	return true;
}

/*
 * Past one space at i (i <= n, as every position the scanner reaches):
 * s[n] is one of the PARSE_PAD zeros, so no bound is checked.
 */
static size_t
skip_space(const struct scan *sc, size_t i)
{
	return i + (sc->s[i] == ' ');
}

/* After с уважением: a name, letters with spaces and . , - only. */
static bool
signature(struct scan *sc, size_t i)
{
	size_t len;
	enum pch c;

	for (; i < sc->n; i += len) {
		c = pch_at(sc->s, i, sc->n, &len);
		if (c != PCH_LATIN && c != PCH_CYR && c != PCH_SPACE &&
		    !is_mark(sc->s[i], MARKS_NAME))
			return fail(sc, i);
	}
	return true;
}

/* ---- items: [filler] [label] number [groups] [fraction] [unit] ---------- */

/* One value as written, with what it is read as. */
struct item {
	size_t label_at, label_len; /* label_len 0: none */
	struct num head;
	unsigned nlit; /* literal values: head and space groups */
	uint64_t lit[4];
	size_t lit_at[4], lit_end[4];
	uint64_t joined; /* the groups joined */
	bool grouped, fraction, unit;
	size_t end;
};

/* Between a label and its value: a space, or : = - with optional spaces. */
static size_t
label_sep(const struct scan *sc, size_t i)
{
	size_t k = skip_space(sc, i);

	if (k < sc->n && is_mark(sc->s[k], MARKS_LABEL))
		return skip_space(sc, k + 1);
	return k > i ? k : 0;
}

/*
 * A label at s[i]: one word of letters, then at most two digits (т1), not
 * a listed phrase nor the keyword, then a label separator and a number.
 */
static bool
label_at(struct scan *sc, size_t i, struct item *it, size_t *next)
{
	size_t j = letters_end(sc->s, i, sc->n), k, digits = 0, pl;
	struct num nm;

	if (j == i)
		return fail(sc, i);
	while (digits < 3 && is_digit(sc->s[j + digits]) && j + digits < sc->n)
		digits++;
	if (digits > 2 || pch_wordy(sc->s, j + digits, sc->n) ||
	    phrase(sc, i, &pl) != PH_NONE || keyword_is(sc->s, i, j - i) ||
	    j + digits - i > PARSE_LABEL_MAX)
		return fail(sc, i);
	j += digits;
	if ((k = label_sep(sc, j)) == 0 || !num_at(sc->s, k, sc->n, &nm))
		return fail(sc, i);
	it->label_at = i;
	it->label_len = j - i;
	*next = k;
	return true;
}

/* 1-3 digits then , or . and three digits, again and again: 13,000. */
static size_t
comma_groups(const struct scan *sc, size_t j, struct item *it, unsigned *nd)
{
	char c = sc->s[j];

	while (sc->s[j] == c && three_digits(sc->s, j + 1, sc->n) &&
	    *nd + 3 <= PARSE_VALUE_MAX_DIGITS) {
		it->joined = it->joined * 1000 + three_value(sc->s + j + 1);
		*nd += 3;
		j += 4;
		it->grouped = it->fraction = true;
	}
	return j;
}

/* 1-3 digits then a space and three digits, again and again: 12 000. */
static size_t
space_groups(const struct scan *sc, size_t j, struct item *it, unsigned *nd)
{
	while (sc->s[j] == ' ' && three_digits(sc->s, j + 1, sc->n) &&
	    *nd + 3 <= PARSE_VALUE_MAX_DIGITS) {
		unsigned g = three_value(sc->s + j + 1);

		it->joined = it->joined * 1000 + g;
		it->lit[it->nlit] = g;
		it->lit_at[it->nlit] = j + 1;
		it->lit_end[it->nlit++] = j + 4;
		*nd += 3;
		j += 4;
		it->grouped = true;
	}
	return j;
}

/* , or . and 1-3 digits: a fraction, dropped. */
static size_t
fraction(const struct scan *sc, size_t j, struct item *it)
{
	size_t k = 0;

	if (sc->s[j] != ',' && sc->s[j] != '.')
		return j;
	while (k < 4 && j + 1 + k < sc->n && is_digit(sc->s[j + 1 + k]))
		k++;
	if (k == 0 || k > 3)
		return j;
	it->fraction = true;
	return j + 1 + k;
}

static bool
unit_start(const char *s)
{
	unsigned char b = (unsigned char)s[0], b1 = (unsigned char)s[1];

	return b == 'k' || b == 'm' ||
	    (b == 0xD0 && (b1 == 0xBA || b1 == 0xBC));
}

/* A unit after the value, with or without a space, and its dot. */
static size_t
unit(const struct scan *sc, size_t j, struct item *it)
{
	size_t k = skip_space(sc, j), u;

	/* units start with к, м, k or m: most values are followed by none */
	if (k >= sc->n || !unit_start(sc->s + k) ||
	    (u = unit_at(sc->s, k, sc->n)) == 0)
		return j;
	k += u;
	if (k < sc->n && sc->s[k] == '.' && !pch_wordy(sc->s, k + 1, sc->n))
		k++;
	it->unit = true;
	return k;
}

/* The number of an item (read into it->head) and what follows it. */
static void
item_number(struct scan *sc, struct item *it)
{
	size_t i = it->head.at, j;
	unsigned nd;

	j = it->head.end;
	nd = it->head.nd;
	it->nlit = 1;
	it->lit[0] = it->joined = it->head.v;
	it->lit_at[0] = i;
	it->lit_end[0] = j;
	if (nd >= 1 && nd <= 3 && (sc->s[j] == ',' || sc->s[j] == '.') &&
	    three_digits(sc->s, j + 1, sc->n))
		j = comma_groups(sc, j, it, &nd);
	else if (nd >= 1 && nd <= 3)
		j = space_groups(sc, j, it, &nd);
	j = fraction(sc, j, it);
	it->end = unit(sc, j, it);
}

/* Fillers (показания, передаю) before a value: skipped with their marks. */
static size_t
fillers(struct scan *sc, size_t i)
{
	size_t pl, k;

	while (phrase(sc, i, &pl) == PH_FILLER) {
		k = label_sep(sc, i + pl);
		i = k ? k : i + pl;
	}
	return i;
}

/* One item at s[i], or false (nothing recorded) when there is none. */
static bool
item_at(struct scan *sc, size_t i, struct item *it)
{
	it->label_len = 0;
	it->grouped = it->fraction = it->unit = false;
	if (sc->s[i] >= 'a' || (unsigned char)sc->s[i] >= 0x80)
		i = fillers(sc, i); /* only words can be fillers */
	if (!num_at(sc->s, i, sc->n, &it->head) &&
	    (!label_at(sc, i, it, &i) || !num_at(sc->s, i, sc->n, &it->head)))
		return false;
	item_number(sc, it);
	return true;
}

/*
 * The first value of a keyword-less text may be a contract: 4..12 digits
 * as written, no label, fraction, group or unit. Such a value may have up
 * to 12 digits.
 */
static bool
bare_contract(const struct scan *sc, const struct item *it)
{
	return sc->values_path && sc->count == 0 && it->label_len == 0 &&
	    !it->grouped && !it->fraction && !it->unit &&
	    it->head.nd >= PARSE_CONTRACT_MIN &&
	    it->head.nd <= PARSE_CONTRACT_MAX;
}

/* Record the literal values of it, its label and its joined reading. */
static void
item_commit(struct scan *sc, const struct item *it)
{
	struct parse_result *out = sc->out;
	unsigned max = PARSE_VALUE_MAX_DIGITS;
	unsigned first = sc->count;

	if (bare_contract(sc, it)) {
		out->bare_contract = true;
		copy_digits(sc->s, it->head.at, it->head.end, it->head.plain,
		    it->head.nd, out->contract);
		max = PARSE_CONTRACT_MAX;
	}
	for (unsigned k = 0; k < it->nlit; k++, sc->count++) {
		unsigned nd = k ? 3 : it->head.nd;

		if (sc->count >= PARSE_MAX_VALUES)
			problem(sc, PARSE_R_TOO_MANY_VALUES, it->lit_at[k],
			    it->lit_end[k]);
		else if (nd > max)
			problem(sc, PARSE_R_BAD_VALUE, it->lit_at[k],
			    it->lit_end[k]);
		else
			out->values[out->nvalues++] = it->lit[k];
	}
	if (it->label_len && first < PARSE_MAX_VALUES &&
	    !label_copy(sc->s, it->label_at, it->label_len, out->labels[first]))
		out->labels[first][0] =
		    '\0'; /* cannot happen: length checked */
	if (sc->nalt < PARSE_MAX_VALUES && first < PARSE_MAX_VALUES) {
		sc->alt[sc->nalt] = it->joined;
		sc->alt_from[sc->nalt++] = (uint8_t)first;
	}
	out->truncated |= it->fraction;
	sc->ambiguous |= it->grouped;
}

/* ---- separators and the end ------------------------------------------- */

/*
 * Between two values: a space; ; or / with optional spaces; a comma and a
 * space (optionally one before it); a , or . directly before 4+ digits; a
 * comma directly before a letter (a label). Returns the position after
 * it, or 0.
 */
static inline __attribute__((always_inline)) size_t
separator(const struct scan *sc, size_t j)
{
	const char *s = sc->s;
	size_t k = skip_space(sc, j);

	if (k < sc->n && (s[k] == ';' || s[k] == '/'))
		return skip_space(sc, k + 1);
	if (k < sc->n && s[k] == ',' && s[k + 1] == ' ')
		return k + 2;
	if (k > j)
		return k;
	if ((s[j] == ',' || s[j] == '.') && is_digit(s[j + 1]) &&
	    is_digit(s[j + 2]) && is_digit(s[j + 3]) && is_digit(s[j + 4]))
		return j + 1;
	if (s[j] == ',' && pch_at(s, j + 1, sc->n, &k) >= PCH_LATIN &&
	    pch_at(s, j + 1, sc->n, &k) <= PCH_CYR)
		return j + 1;
	return 0;
}

/*
 * After the last number: one of . , ; / (a space before it allowed) or
 * up to three !, then thanks, politeness, greetings or a signature, with
 * punctuation between them. True when that runs to the end.
 */
static bool
trail(struct scan *sc, size_t j)
{
	size_t k = skip_space(sc, j), pl, run = 0, mark = 0;
	enum phrase_class c;

	if (k < sc->n && is_mark(sc->s[k], MARKS_END))
		j = k + 1, mark = k + 1;
	while (k + run < sc->n && sc->s[k + run] == '!')
		run++;
	if (run > 3)
		return fail(sc, k);
	if (run > 0)
		j = k + run;
	for (;;) {
		j = skip_space(sc, j);
		if (j >= sc->n)
			return true;
		c = phrase(sc, j, &pl);
		/* "1,5,5": quote the mark that does not fit, not what follows */
		if (c != PH_THANKS && c != PH_POLITE && c != PH_GREET &&
		    c != PH_SIGN)
			return fail(sc, mark == j ? j - 1 : j);
		if (c == PH_SIGN)
			return signature(sc, j + pl);
		j += pl;
		if (!marks(sc, &j))
			return false;
	}
}

/*
 * The common item, read and committed at once: a run of digits at s[i],
 * perhaps with a fraction, and nothing that makes it more (no О/o, no
 * groups of three, no unit), at most PARSE_VALUE_MAX_DIGITS of them, or
 * PARSE_CONTRACT_MAX for the first value of a keyword-less text, which is
 * then a bare contract as bare_contract() says; not past the last value.
 * False, with nothing recorded, when item_at and item_commit must take
 * it; what they would do with such an item is exactly what is done here.
 */
static inline __attribute__((always_inline)) bool
plain_value(struct scan *sc, size_t i, size_t *end)
{
	const char *s = sc->s;
	bool first = sc->values_path && sc->count == 0, bare;
	uint64_t v;
	size_t len, j, f = 0;

	if (!is_digit(s[i]) || sc->count >= PARSE_MAX_VALUES)
		return false;
	len = digit_run(s + i, &v);
	j = i + len;
	if (len > PARSE_CONTRACT_MAX || s[j] == 'o' ||
	    (unsigned char)s[j] == 0xD0 ||
	    (len <= 3 && (s[j] == ' ' || s[j] == ',' || s[j] == '.') &&
	        three_digits(s, j + 1, sc->n)))
		return false;
	if (s[j] == ',' || s[j] == '.') /* as fraction() reads it */
		while (f < 4 && j + 1 + f < sc->n && is_digit(s[j + 1 + f]))
			f++;
	f = f >= 1 && f <= 3 ? f + 1 : 0; /* the fraction's bytes */
	bare = first && f == 0 && len >= PARSE_CONTRACT_MIN;
	if ((len > PARSE_VALUE_MAX_DIGITS && !bare) ||
	    unit_start(s + skip_space(sc, j + f)))
		return false;
	if (bare) {
		sc->out->bare_contract = true;
		copy_digits(s, i, j, true, (unsigned)len, sc->out->contract);
	}
	sc->out->values[sc->out->nvalues++] = v;
	sc->out->truncated |= f > 0;
	sc->alt[sc->nalt] = v;
	sc->alt_from[sc->nalt++] = (uint8_t)sc->count++;
	*end = j + f;
	return true;
}

/* Values after the first (or after the contract), then the end. */
static inline __attribute__((always_inline)) bool
rest(struct scan *sc, size_t j)
{
	struct item it;
	size_t k;

	for (;;) {
		if (j >= sc->n)
			return true;
		k = separator(sc, j);
		if (k == 0)
			fail(sc, j);
		else if (k < sc->n && plain_value(sc, k, &j))
			continue;
		else if (k < sc->n && item_at(sc, k, &it)) {
			item_commit(sc, &it);
			j = it.end;
			continue;
		}
		return trail(sc, j);
	}
}

/* ---- the three shapes --------------------------------------------------- */

/*
 * Words before the keyword: any words of letters with spaces and
 * punctuation between them. Returns the keyword's end, or 0 when a digit,
 * another character or the end comes first.
 */
static size_t
find_keyword(const struct scan *sc)
{
	size_t i = 0, j, len = keyword_len(sc->s);
	enum pch c;

	/* most texts: the keyword first, then a space or the contract */
	if (len > 0 && (sc->s[len] == ' ' || is_digit(sc->s[len])))
		return len;
	while (i < sc->n) {
		c = pch_at(sc->s, i, sc->n, &len);
		if (c == PCH_SPACE ||
		    (c == PCH_MARK && is_mark(sc->s[i], MARKS_LEAD))) {
			i++;
			continue;
		}
		if (c != PCH_LATIN && c != PCH_CYR)
			return 0;
		j = letters_end(sc->s, i, sc->n);
		if (keyword_is(sc->s, i, j - i) &&
		    (is_digit(sc->s[j]) || !pch_wordy(sc->s, j, sc->n)))
			return j;
		if (pch_wordy(sc->s, j, sc->n))
			return 0;
		i = j;
	}
	return 0;
}

/* The contract: a number, or 1-3 digits then groups of 3 (102 057 522). */
static inline __attribute__((always_inline)) bool
contract(struct scan *sc, size_t i, size_t *next)
{
	struct num nm;
	size_t j, f;
	unsigned nd;

	if (!num_at(sc->s, i, sc->n, &nm))
		return fail(sc, i);
	j = nm.end;
	nd = nm.nd;
	if (nd <= 3)
		while (sc->s[j] == ' ' && three_digits(sc->s, j + 1, sc->n) &&
		    nd + 3 <= PARSE_CONTRACT_MAX)
			nd += 3, j += 4;
	for (f = 0; (sc->s[j] == ',' || sc->s[j] == '.') &&
	     is_digit(sc->s[j + 1 + f]) && j + 1 + f < sc->n;)
		f++;
	if (nd < PARSE_CONTRACT_MIN || nd > PARSE_CONTRACT_MAX ||
	    (f >= 1 && f <= 3))
		problem(sc, PARSE_R_BAD_CONTRACT, i, j);
	else
		copy_digits(sc->s, i, j, nm.plain && nd == nm.nd, nd,
		    sc->out->contract);
	*next = f >= 1 && f <= 3 ? j + 1 + f : j;
	return true;
}

/*
 * From j: a space at most, 1-3 question marks, then what may end any text
 * (politeness). Such a tail asks for the readings: "ПС 123859 ?".
 */
static bool
question(struct scan *sc, size_t j)
{
	size_t k = skip_space(sc, j), run = 0;

	if (sc->s[k] != '?')
		return false; /* most texts: no question */
	while (k + run < sc->n && sc->s[k + run] == '?')
		run++;
	if (run == 0 || run > 3)
		return false;
	return trail(sc, k + run);
}

/* Between a command word and its contract: spaces, : . # - and №. */
static inline __attribute__((always_inline)) size_t
before_contract(const struct scan *sc, size_t i)
{
	if (sc->s[i] == ' ' && is_digit(sc->s[i + 1]))
		return i + 1; /* most texts: one space */
	for (;;) {
		if (i < sc->n && is_mark(sc->s[i], MARKS_CONTRACT))
			i++;
		else if (i + 3 <= sc->n && (unsigned char)sc->s[i] == 0xE2 &&
		    (unsigned char)sc->s[i + 1] == 0x84 &&
		    (unsigned char)sc->s[i + 2] == 0x96)
			i += 3; /* № */
		else
			return i;
	}
}

/* ПС and what follows it, from kw (the keyword's end). */
static enum parse_kind
keyword_text(struct scan *sc, size_t kw)
{
	size_t i = before_contract(sc, kw), j;

	if (i >= sc->n) {
		problem(sc, PARSE_R_NO_CONTRACT, sc->n, sc->n);
		return PARSE_INVALID;
	}
	if (!contract(sc, i, &j)) {
		sc->problem = PARSE_R_BAD_SYNTAX;
		return PARSE_INVALID;
	}
	if (question(sc, j))
		return PARSE_INFO; /* "ПС 123859 ?" */
	if (!rest(sc, j)) {
		sc->problem = PARSE_R_BAD_SYNTAX;
		return PARSE_INVALID;
	}
	return sc->out->nvalues ? PARSE_SUBMIT : PARSE_START;
}

/*
 * ИНФО / ОТВЯЗАТЬ <contract> [?] from i (after the command word, whose
 * kind is k): the separators a keyword takes, the contract, then what
 * may end any text.
 */
static enum parse_kind
contract_command(struct scan *sc, size_t i, enum parse_kind k)
{
	size_t j;

	i = before_contract(sc, i);
	if (!contract(sc, i, &j) || !(question(sc, j) || trail(sc, j))) {
		sc->problem = PARSE_R_BAD_SYNTAX;
		return PARSE_INVALID;
	}
	return k;
}

/*
 * Whether the phrase at s[i] is a command word: then a text that fails
 * after it is bad_syntax ("starts like a command"), else unknown.
 */
static bool
command_at(struct scan *sc, size_t i)
{
	size_t pl;
	enum phrase_class c = phrase(sc, i, &pl);

	return c >= PH_HELP;
}

/* Values without the keyword, after greetings, thanks or a "да". */
static enum parse_kind
values_text(struct scan *sc)
{
	size_t i = 0, pl, end;
	enum phrase_class c;
	struct item it;

	sc->values_path = true;
	for (;;) {
		i = skip_space(sc, i);
		if (is_digit(sc->s[i]))
			break; /* most texts: a value first */
		c = phrase(sc, i, &pl);
		if (c != PH_GREET && c != PH_THANKS && c != PH_POLITE &&
		    c != PH_CONFIRM)
			break;
		i += pl;
		if (!marks(sc, &i))
			break;
	}
	if (plain_value(sc, i, &end)) {
		/* most texts: a plain number */
	} else if (item_at(sc, i, &it)) {
		item_commit(sc, &it);
		end = it.end;
	} else {
		fail(sc, i);
		sc->problem =
		    command_at(sc, i) ? PARSE_R_BAD_SYNTAX : PARSE_R_UNKNOWN;
		return PARSE_INVALID;
	}
	if (!rest(sc, end)) {
		sc->problem = PARSE_R_BAD_SYNTAX;
		return PARSE_INVALID;
	}
	return PARSE_VALUES;
}

/*
 * A text with digits and no keyword: ИНФО / ОТВЯЗАТЬ <contract> after
 * greetings, else values.
 */
static enum parse_kind
digits_text(struct scan *sc)
{
	size_t i = 0, pl;
	enum phrase_class c;

	if (is_digit(sc->s[0]))
		return values_text(sc); /* most texts */
	for (;;) {
		i = skip_space(sc, i);
		c = phrase(sc, i, &pl);
		if (c == PH_INFO)
			return contract_command(sc, i + pl, PARSE_INFO);
		if (c == PH_UNBIND)
			return contract_command(sc, i + pl, PARSE_UNBIND);
		if (c != PH_GREET && c != PH_POLITE)
			return values_text(sc);
		i += pl;
		if (!marks(sc, &i))
			return values_text(sc);
	}
}

/* Whether the text is nothing but question marks (no call of strspn). */
static bool
only_questions(const struct scan *sc)
{
	for (size_t k = 0; k < sc->n; k++)
		if (sc->s[k] != '?')
			return false;
	return true;
}

/* The kind a text without digits is: a command, thanks, or nothing. */
static enum parse_kind
word_kind(enum phrase_class core, bool polite)
{
	switch (core) {
	case PH_HELP: return PARSE_HELP;
	case PH_CANCEL: return PARSE_CANCEL;
	case PH_CONFIRM: return PARSE_CONFIRM;
	case PH_INFO: return PARSE_INFO;
	case PH_UNBIND: return PARSE_UNBIND;
	case PH_REMIND_OFF: return PARSE_REMIND_OFF;
	case PH_REMIND_ON: return PARSE_REMIND_ON;
	default: return polite ? PARSE_THANKS : PARSE_INVALID;
	}
}

/*
 * A text without digits: phrases and punctuation. At most one command
 * (help, cancel, confirm; confirm words may repeat: "да, верно"), with
 * greetings and politeness around it; only politeness is thanks.
 */
static enum parse_kind
words_text(struct scan *sc)
{
	enum phrase_class core = PH_NONE, c;
	bool polite = false;
	size_t i = 0, pl;

	if (sc->s[0] == '?' && sc->n <= 4 && only_questions(sc))
		return PARSE_HELP; /* ? to ???? */
	while ((i = skip_space(sc, i)) < sc->n) {
		if (pch_at(sc->s, i, sc->n, &pl) == PCH_MARK) {
			if (!marks(sc, &i))
				goto bad;
			if (pch_at(sc->s, i, sc->n, &pl) == PCH_MARK)
				goto bad; /* a mark that is not punctuation */
			continue;
		}
		c = phrase(sc, i, &pl);
		if (c == PH_NONE)
			goto bad;
		if (c >= PH_HELP && core != PH_NONE &&
		    !(core == PH_CONFIRM && c == PH_CONFIRM))
			goto bad;
		if (c >= PH_HELP)
			core = c;
		polite |= c == PH_THANKS || c == PH_POLITE || c == PH_SIGN;
		if (c == PH_SIGN && !signature(sc, i + pl))
			goto bad;
		i = c == PH_SIGN ? sc->n : i + pl;
	}
	if (word_kind(core, polite) == PARSE_INVALID) {
		sc->problem =
		    PARSE_R_UNKNOWN; /* greetings only: nothing to quote */
		sc->fail_at = sc->n;
	}
	return word_kind(core, polite);
bad:
	fail(sc, i);
	sc->problem = core != PH_NONE ? PARSE_R_BAD_SYNTAX : PARSE_R_UNKNOWN;
	return PARSE_INVALID;
}

/* The span to quote from position i: a word, or a run of punctuation. */
static size_t
token_len(const struct scan *sc, size_t i)
{
	size_t j = i, len;
	enum pch c = pch_at(sc->s, i, sc->n, &len);

	if (pch_wordy(sc->s, i, sc->n)) {
		while (pch_wordy(sc->s, j, sc->n)) {
			pch_at(sc->s, j, sc->n, &len);
			j += len;
		}
	} else if (c == PCH_MARK || c == PCH_OTHER) {
		while (pch_at(sc->s, j, sc->n, &len) == PCH_MARK &&
		    !pch_wordy(sc->s, j, sc->n))
			j += len;
	}
	return j - i;
}

/* Copy the joined reading into out when some value had groups. */
static void
finish_alt(struct scan *sc)
{
	if (!sc->ambiguous)
		return;
	sc->out->ambiguous = true;
	sc->out->alt_nvalues = sc->nalt;
	memcpy(sc->out->alt_values, sc->alt, sc->nalt * sizeof(sc->alt[0]));
	memcpy(sc->out->alt_from, sc->alt_from, sc->nalt);
}

/*
 * A scan of s[0..n) into out. alt and alt_from are left as they are: they
 * are written before they are read (below nalt), and zeroing them was a
 * tenth of a short text's scan.
 */
static void
scan_init(struct scan *sc, const struct phrase_index *ix, const char *s,
    size_t n, struct parse_result *out)
{
	sc->ix = ix;
	sc->s = s;
	sc->n = n;
	sc->out = out;
	sc->problem = PARSE_R_NONE;
	sc->prob_at = sc->prob_end = sc->fail_at = 0;
	sc->values_path = sc->ambiguous = false;
	sc->count = 0;
	sc->ph_at = SIZE_MAX;
	sc->nalt = 0;
}

enum parse_kind
scan_text(const struct phrase_index *ix, const char *s, size_t n,
    struct parse_result *out, struct scan_fail *f)
{
	struct scan sc;
	enum parse_kind k;
	size_t kw;

	scan_init(&sc, ix, s, n, out);
	kw = find_keyword(&sc);

	if (kw > 0)
		k = keyword_text(&sc, kw);
	else if (has_digit(s, n))
		k = digits_text(&sc);
	else
		k = words_text(&sc);
	if (k != PARSE_INVALID && sc.problem == PARSE_R_NONE) {
		finish_alt(&sc);
		return out->kind = k;
	}
	out->reason = sc.problem;
	if (sc.values_path)
		out->contract[0] = '\0'; /* a bare contract is not kept */
	if (sc.problem == PARSE_R_BAD_SYNTAX || sc.problem == PARSE_R_UNKNOWN) {
		f->at = sc.fail_at;
		f->len = sc.fail_at < n ? token_len(&sc, sc.fail_at) : 0;
	} else {
		f->at = sc.prob_at;
		f->len = sc.prob_end - sc.prob_at;
	}
	return out->kind = PARSE_INVALID;
}
