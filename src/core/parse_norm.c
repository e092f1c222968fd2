/*
 * Step 1 of the grammar (docs/grammar.md, "Spaces", "Emoji and markup",
 * "Case"): one pass over the text that validates UTF-8, turns every kind
 * of space, invisible character, emoji and messenger markup into one ASCII
 * space, collapses runs, trims both ends and folds letters to lower case.
 * The scanner then only ever sees single spaces and lower case.
 *
 * Speed: runs of plain ASCII and Cyrillic letters, mixed, are copied and
 * folded 16 bytes at a time with SSE2 (norm_block); without it, runs of
 * plain ASCII (digits, single spaces) go 8 bytes at a time (SWAR,
 * little-endian hosts; others take the byte loop) and Cyrillic letters
 * fold in a loop of their own: branches that depend on the text
 * mispredict on a mixed corpus and cost more than the work itself. The
 * pass's state stays in registers (NORM_INLINE).
 */
#include "parse_int.h"

#if PARSE_SIMD
#include <emmintrin.h>
#endif

/*
 * Top bit of each byte of w that norm_text must look at: controls
 * (< 0x20), " # $ % & ' ( ) * (0x22-0x2A: * is markup), capitals and
 * [ \ ] ^ _ ` (0x41-0x60: _ and ` are markup), ~ and DEL (0x7E-0x7F),
 * every byte >= 0x80, and a space right after a space (in w, or at its
 * first byte when lastsp says the output before w ends in one): runs of
 * spaces collapse. Each byte is compared with its top bit forced on, so
 * no borrow crosses bytes. Digits, lower case, single spaces and
 * , . ; / : - stay on the fast path.
 */
static inline uint64_t
special_bytes(uint64_t w, bool lastsp)
{
	uint64_t h = w | PARSE_HIGHS;
	uint64_t lt20 = ~(h - 0x20 * PARSE_ONES);
	uint64_t in22 = (h - 0x22 * PARSE_ONES) & ~(h - 0x2B * PARSE_ONES);
	uint64_t in41 = (h - 0x41 * PARSE_ONES) & ~(h - 0x61 * PARSE_ONES);
	uint64_t ge7e = h - 0x7E * PARSE_ONES;
	uint64_t x = w ^ (0x20 * PARSE_ONES); /* a space: a zero byte */
	uint64_t sp = ~(((x & 0x7F * PARSE_ONES) + 0x7F * PARSE_ONES) | x);
	uint64_t dbl = sp & (sp << 8 | (uint64_t)lastsp << 7);

	return (w | lt20 | in22 | in41 | ge7e | dbl) & PARSE_HIGHS;
}

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
 * What turns an emoji into a variant: variation selectors, skin tones, the
 * keycap mark, tag characters. Spaces, but not counted as pictographs.
 */
static bool
emoji_modifier(uint32_t c)
{
	return (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0x1F3FB && c <= 0x1F3FF) ||
	    c == 0x20E3 || (c >= 0xE0020 && c <= 0xE007F) ||
	    (c >= 0xE0100 && c <= 0xE01EF);
}

/*
 * Emoji and pictographs. The blocks are taken whole, except the numbers
 * in them (dingbat digits U+2776-U+2793, digit-with-comma U+1F100-U+1F10C),
 * which stay for the non_ascii_digit check.
 */
static bool
pictograph(uint32_t c)
{
	if (c < 0x2000)
		return c == 0xA9 || c == 0xAE;
	if (c < 0x2B00)
		return c == 0x203C || c == 0x2049 || c == 0x2122 ||
		    c == 0x2139 || (c >= 0x2190 && c <= 0x21FF) ||
		    (c >= 0x2300 && c <= 0x23FF) ||
		    (c >= 0x25A0 && c <= 0x25FF) ||
		    (c >= 0x2600 && c <= 0x27BF &&
		        !(c >= 0x2776 && c <= 0x2793)) ||
		    (c >= 0x2900 && c <= 0x297F);
	if (c < 0x1F000)
		return c <= 0x2BFF || c == 0x3030 || c == 0x303D ||
		    c == 0x3297 || c == 0x3299;
	return c <= 0x1FAFF && !(c >= 0x1F100 && c <= 0x1F10C);
}

/* The pictographs that say thanks or "fine": 👍 alone is a thank-you. */
static bool
thanks_pictograph(uint32_t c)
{
	static const uint32_t thanks[] = {
		0x1F44D, /* 👍 */
		0x1F44C, /* 👌 */
		0x1F44F, /* 👏 */
		0x1F64F, /* 🙏 */
		0x1F64C, /* 🙌 */
		0x1F91D, /* 🤝 */
		0x2764, /* ❤ */
		0x2665, /* ♥ */
		0x1F496, /* 💖 */
		0x1F497, /* 💗 */
		0x1F499, /* 💙 */
		0x1F49A, /* 💚 */
		0x1F49B, /* 💛 */
		0x1F49C, /* 💜 */
		0x1F490, /* 💐 */
		0x1F339, /* 🌹 */
		0x263A, /* ☺ */
		0x1F642, /* 🙂 */
		0x1F60A, /* 😊 */
		0x1F600, /* 😀 */
		0x1F603, /* 😃 */
		0x1F604, /* 😄 */
		0x1F60D, /* 😍 */
		0x1F970, /* 🥰 */
	};

	for (size_t k = 0; k < sizeof(thanks) / sizeof(thanks[0]); k++)
		if (thanks[k] == c)
			return true;
	return false;
}

/*
 * Length of the well-formed UTF-8 sequence at s (n > 0 bytes left) with
 * its code point in *cp, or 0 when it is not well-formed: overlong forms,
 * surrogates and values past U+10FFFF are refused, as RFC 3629 says.
 */
static inline __attribute__((always_inline)) size_t
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
 * Every helper that takes a struct norm is inlined into norm_pass, so the
 * compiler keeps its fields in registers: one call that took its address
 * would keep the whole loop's state in memory.
 */
#define NORM_INLINE static inline __attribute__((always_inline))

/* One normalisation: input, output, and what it has seen so far. */
struct norm {
	const struct norm_tables *t;
	const unsigned char *in;
	size_t len, i, o;
	char *out;
	uint16_t *map;
	unsigned prev; /* the last output was a space (1 at the start) */
	size_t same; /* output before it is at the same offset in the input */
	struct norm_info *info;
};

/* Whether output byte c belongs to a word: a-z, 0-9, or any kept non-ASCII. */
static bool
wordy_out(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c >= 0x80;
}

/* Whether the input character at in[i] (len bytes in all) is a word's. */
static bool
wordy_in(const unsigned char *in, size_t i, size_t len)
{
	unsigned char b;
	uint32_t cp;

	if (i >= len)
		return false;
	b = in[i];
	if (b < 0x80)
		return (b >= '0' && b <= '9') ||
		    ((b | 0x20) >= 'a' && (b | 0x20) <= 'z');
	return utf8_seq(in + i, len - i, &cp) != 0 && !wide_space(cp) &&
	    !emoji_modifier(cp) && !pictograph(cp);
}

/*
 * * _ ~ ` are messenger markup (bold, italics, strike, code) at the edge
 * of a token, so a space; between two word characters (кВт*ч) they stay.
 * last is the previous output byte, prev whether it was a space.
 */
static bool
markup_space(unsigned prev, unsigned char last, const unsigned char *in,
    size_t i, size_t len)
{
	return prev || !wordy_out(last) || !wordy_in(in, i + 1, len);
}

/* Count a pictograph; remember the first, or the first that is not thanks. */
static void
note_pictograph(struct norm_info *info, size_t i, uint32_t cp, size_t n)
{
	bool thanks = thanks_pictograph(cp);

	if (info->pictos++ == 0 || (info->pictos_thanks && !thanks)) {
		info->picto_at = i;
		info->picto_len = n;
	}
	info->pictos_thanks =
	    (info->pictos == 1 || info->pictos_thanks) && thanks;
}

/*
 * Copy the n-byte character cp from in to out. A Cyrillic letter of the
 * D0/D1 range goes through the table, which folds Russian capitals to
 * lower case. Returns whether it is foreign (may be a digit).
 */
static bool
copy_char(const struct norm_tables *t, char *out, const unsigned char *in,
    size_t n, uint32_t cp)
{
	const char *f;

	if (n == 2 && (in[0] & 0xFE) == 0xD0) {
		f = t->cyr[(in[0] & 1) << 6 | (in[1] & 0x3F)];
		out[0] = f[0];
		out[1] = f[1];
		return false;
	}
	/* n is 2..4: byte by byte, no call of memcpy */
	out[0] = (char)in[0];
	out[1] = (char)in[1];
	if (n > 2)
		out[2] = (char)in[2];
	if (n > 3)
		out[3] = (char)in[3];
	/* Cyrillic (U+0400-U+04FF) has no digits; anything else may. */
	return cp < 0x400 || cp > 0x4FF;
}

/* Record where output bytes o.. came from (map mode only). */
static inline void
map_char(uint16_t *map, size_t o, size_t i, size_t n)
{
	if (map != NULL)
		for (size_t k = 0; k < n; k++)
			map[o + k] = (uint16_t)(i + k);
}

/*
 * A space (of any kind) that took n input bytes. It is always written,
 * and the output advances past it only when the previous output was not
 * a space: arithmetic, not a branch that would mispredict.
 */
NORM_INLINE void
put_space(struct norm *z, size_t n)
{
	z->out[z->o] = ' ';
	map_char(z->map, z->o, z->i, 1);
	/* the only place output and input offsets part: a run of spaces, or
	   one space of several bytes */
	if ((z->prev || n > 1) && z->o < z->same)
		z->same = z->o;
	z->o += !z->prev;
	z->prev = 1;
	z->i += n;
}

/* n bytes already written at out[o] for the input at in[i]: advance. */
NORM_INLINE void
put_kept(struct norm *z, size_t n_in, size_t n_out)
{
	map_char(z->map, z->o, z->i, n_out);
	z->o += n_out;
	z->i += n_in;
	z->prev = 0;
}

/*
 * The next 8 bytes of the input, or when fewer are left (and the text
 * has 8 at all), the last 8 shifted so that the rest comes first,
 * followed by zero bytes (special, so a run stops there).
 */
NORM_INLINE uint64_t
next8(const struct norm *z)
{
	size_t left = z->len - z->i;

	if (left >= 8)
		return parse_load8(z->in + z->i);
	return parse_load8(z->in + z->len - 8) >> (8 * (8 - left));
}

/*
 * A run of plain bytes (digits, lower case, single spaces, most
 * punctuation: copied as they are), 8 at a time; the caller checked that
 * the text has 8 bytes and that the first is plain (a space only after
 * something else), so at least one is taken. A store may write up to 8
 * bytes past the run, which later output overwrites.
 */
NORM_INLINE void
norm_plain(struct norm *z)
{
	uint64_t w, m;
	size_t k;
	bool lastsp = false;

	do {
		w = next8(z);
		m = special_bytes(w, lastsp);
		k = m ? parse_first_byte(m) : 8;
		memcpy(z->out + z->o, &w, 8);
		put_kept(z, k, k);
		lastsp = z->out[z->o - 1] == ' ';
	} while (k == 8 && z->i < z->len);
	z->prev = lastsp;
}

/* An ASCII byte: kept (capitals folded), a space, or markup. */
NORM_INLINE void
norm_ascii(struct norm *z, unsigned b)
{
	z->out[z->o] = z->t->ascii[b];
	switch (z->t->akind[b]) {
	case NORM_PLAIN:
	case NORM_KEEP: put_kept(z, 1, 1); return;
	case NORM_SPACE: put_space(z, 1); return;
	}
	/* markup: * _ ~ ` */
	if (markup_space(z->prev, z->o ? (unsigned char)z->out[z->o - 1] : 0,
	        z->in, z->i, z->len))
		put_space(z, 1);
	else
		put_kept(z, 1, 1);
}

/*
 * Whether the non-Cyrillic character cp (n bytes at in[i]) is a space:
 * an emoji modifier, a pictograph (counted) or a space of Unicode.
 */
NORM_INLINE bool
wide_is_space(struct norm *z, uint32_t cp, size_t n)
{
	/*
	 * The common ones first, no-break (U+00A0) and zero-width (U+200B)
	 * spaces and №: below U+2000 only (C) and (R) are pictographs and
	 * nothing is an emoji modifier; U+2000-U+200F are all spaces; № is
	 * none of the three kinds.
	 */
	if (cp < 0x2000 && cp != 0xA9 && cp != 0xAE)
		return wide_space(cp);
	if (cp - 0x2000 < 0x10)
		return true;
	if (cp == 0x2116)
		return false; /* №, often before a contract: a mark, kept */
	if (emoji_modifier(cp)) /* skin tones are in the emoji block */
		return true;
	if (pictograph(cp)) {
		note_pictograph(z->info, z->i, cp, n);
		return true;
	}
	return wide_space(cp);
}

/*
 * A UTF-8 sequence other than a Cyrillic letter of the D0/D1 range (the
 * caller's fast path): a space, an emoji or a character kept. Returns
 * false for invalid UTF-8.
 */
NORM_INLINE bool
norm_wide(struct norm *z)
{
	const unsigned char *in = z->in + z->i;
	size_t n;
	uint32_t cp;

	if ((n = utf8_seq(in, z->len - z->i, &cp)) == 0)
		return false;
	if ((cp < 0x400 || cp > 0x4FF) && wide_is_space(z, cp, n)) {
		put_space(z, n);
		return true;
	}
	if (copy_char(z->t, z->out + z->o, in, n, cp) && !z->info->foreign) {
		z->info->foreign = true;
		z->info->foreign_at = z->o;
	}
	put_kept(z, n, n);
	return true;
}

/* Whether in[i] starts a letter of U+0400-U+047F (lead D0/D1). */
static inline bool
cyr_at(const unsigned char *in, size_t i, size_t len)
{
	return i + 1 < len && (in[i] & 0xFE) == 0xD0 &&
	    (in[i + 1] & 0xC0) == 0x80;
}

/*
 * A run of Cyrillic letters of U+0400-U+047F (lead D0/D1), most letters
 * of a Russian text, in a loop of its own: the table folds capitals to
 * lower case, two bytes at a time.
 */
NORM_INLINE void
norm_cyr(struct norm *z)
{
	const unsigned char *in = z->in;
	size_t i = z->i, o = z->o;

	do {
		memcpy(z->out + o,
		    z->t->cyr[(in[i] & 1) << 6 | (in[i + 1] & 0x3F)], 2);
		map_char(z->map, o, i, 2);
		i += 2;
		o += 2;
	} while (cyr_at(in, i, z->len));
	z->i = i;
	z->o = o;
	z->prev = 0;
}

#if PARSE_SIMD
/*
 * The left (1-7) bytes at p in the low bytes of a word, zeros above: two
 * loads that overlap in the middle (the same bytes at the same places),
 * no byte loop; a short text ("25", "да") is all of it.
 */
static inline uint64_t
load_short(const unsigned char *p, size_t left)
{
	uint32_t a, b;
	uint16_t c, d;

	if (left >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + left - 4, 4);
		return a | (uint64_t)b << (8 * (left - 4));
	}
	if (left >= 2) {
		memcpy(&c, p, 2);
		memcpy(&d, p + left - 2, 2);
		return c | (uint64_t)d << (8 * (left - 2));
	}
	return p[0];
}

/*
 * The 16 bytes of the input from in[i], zeros past its end (a NUL is
 * never taken by norm_block, so a block stops there). Reads only the
 * input's own bytes: the last 8 shifted, as next8.
 */
NORM_INLINE __m128i
next16(const struct norm *z)
{
	const unsigned char *p = z->in + z->i;
	size_t left = z->len - z->i;
	uint64_t lo = 0, hi = 0;

	if (left >= 16)
		return _mm_loadu_si128((const __m128i *)(const void *)p);
	if (left > 8) {
		lo = parse_load8(p);
		hi = parse_load8(z->in + z->len - 8) >> (8 * (16 - left));
	} else if (z->len >= 8) {
		lo = parse_load8(z->in + z->len - 8) >> (8 * (8 - left));
	} else {
		lo = load_short(p, left);
	}
	return _mm_set_epi64x((long long)hi, (long long)lo);
}

#define NB(c) _mm_set1_epi8((char)(c))

/*
 * Bytes of v that are the same for norm_ascii whatever comes around them:
 * ! to } except the markup * _ ` (capitals fold), and a space that does
 * not follow a space (at byte 0: the output before, prev).
 */
NORM_INLINE __m128i
block_ascii(__m128i v, unsigned prev)
{
	__m128i sp = _mm_cmpeq_epi8(v, NB(' '));
	__m128i after_sp = _mm_or_si128(
	    _mm_slli_si128(sp, 1), _mm_cvtsi32_si128(prev ? 0xFF : 0));
	__m128i in = _mm_and_si128(
	    _mm_cmpgt_epi8(v, NB(0x1F)), _mm_cmplt_epi8(v, NB(0x7E)));
	__m128i markup = _mm_or_si128(_mm_cmpeq_epi8(v, NB('*')),
	    _mm_or_si128(
	        _mm_cmpeq_epi8(v, NB('_')), _mm_cmpeq_epi8(v, NB('`'))));

	return _mm_andnot_si128(
	    _mm_or_si128(markup, _mm_and_si128(sp, after_sp)), in);
}

/* Bytes of v that belong to a whole letter D0/D1 xx (U+0400-U+047F). */
NORM_INLINE __m128i
block_cyr(__m128i v)
{
	__m128i lead = _mm_cmpeq_epi8(_mm_and_si128(v, NB(0xFE)), NB(0xD0));
	__m128i cont = _mm_cmpeq_epi8(_mm_and_si128(v, NB(0xC0)), NB(0x80));

	return _mm_or_si128(_mm_and_si128(lead, _mm_srli_si128(cont, 1)),
	    _mm_and_si128(cont, _mm_slli_si128(lead, 1)));
}

/*
 * v folded as ascii[] and cyr[] fold it, for the bytes block_ascii and
 * block_cyr take: A-Z (cap) +0x20; D0 (d0) 90-9F to D0 B0-BF; D0 A0-AF to
 * D1 80-8F; D0 81 (Ё) to D1 91.
 */
NORM_INLINE __m128i
block_fold(__m128i v, __m128i cap, __m128i d0)
{
	__m128i hi = _mm_and_si128(v, NB(0xF0));
	__m128i p_ = _mm_cmpeq_epi8(hi, NB(0xA0)); /* Р-Я */
	__m128i yo = _mm_cmpeq_epi8(v, NB(0x81));
	__m128i cont =
	    _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(hi, NB(0x90)), NB(0x20)),
	        _mm_or_si128(
	            _mm_and_si128(p_, NB(-0x20)), _mm_and_si128(yo, NB(0x10))));
	__m128i lead = _mm_and_si128(
	    _mm_and_si128(d0, _mm_srli_si128(_mm_or_si128(p_, yo), 1)), NB(1));

	return _mm_add_epi8(v,
	    _mm_or_si128(_mm_and_si128(cap, NB(0x20)),
	        _mm_or_si128(
	            lead, _mm_and_si128(_mm_slli_si128(d0, 1), cont))));
}

/*
 * A run of bytes that norm_ascii and norm_cyr would each copy (folded),
 * up to 16 at a time, as one step: plain ASCII and whole Cyrillic letters
 * mixed, the most of any text (ПС 102057522 11638). Returns the bytes
 * taken, 0 when the first byte needs the per-character path. Stores 16
 * bytes at out[o] (o <= i: PARSE_PAD covers them); later output
 * overwrites those past the run. Cyrillic is looked for only in a
 * block with a byte >= 0x80: digits and spaces, most blocks, have none.
 */
NORM_INLINE size_t
norm_block(struct norm *z)
{
	__m128i v = next16(z), ok = block_ascii(v, z->prev), cap, d0;
	bool wide = _mm_movemask_epi8(v) != 0; /* a byte >= 0x80 */
	size_t k;

	if (wide)
		ok = _mm_or_si128(ok, block_cyr(v));
	k = (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(ok));
	if (k == 0) /* ~mask has bit 16 set */
		return 0;
	cap = _mm_and_si128(
	    _mm_cmpgt_epi8(v, NB('A' - 1)), _mm_cmplt_epi8(v, NB('Z' + 1)));
	if (!wide) {
		v = _mm_add_epi8(v, _mm_and_si128(cap, NB(0x20)));
	} else {
		d0 = _mm_cmpeq_epi8(v, NB(0xD0));
		v = block_fold(v, cap, d0);
	}
	_mm_storeu_si128((__m128i *)(void *)(z->out + z->o), v);
	map_char(z->map, z->o, z->i, k);
	z->o += k;
	z->i += k;
	z->prev = z->out[z->o - 1] == ' ';
	return k;
}
#undef NB
#endif

/*
 * One pass, one branch on the kind of each character: blocks of up to 16
 * plain bytes (SSE2), else runs of plain ASCII 8 bytes at a time and
 * Cyrillic letters through the fold table; other ASCII through the
 * tables, the rest decoded and classified. With
 * a map it stops once upto bytes are out. Always inlined, into norm_text
 * and norm_map, so the pass without a map tests nothing about it.
 */
static inline __attribute__((always_inline)) int
norm_pass(const struct norm_tables *t, const unsigned char *in, size_t len,
    char *out, uint16_t *map, size_t upto, struct norm_info *info)
{
	struct norm z = { t, in, len, 0, 0, out, map, 1, len, info };
	unsigned b;

	memset(info, 0, sizeof(*info));
	while (z.i < len && (map == NULL || z.o < upto)) {
		b = in[z.i];
#if PARSE_SIMD
		/* most bytes start a block: ASCII ' '..'}', Cyrillic leads */
		if ((b - 0x20u < 0x5E || (b & 0xFE) == 0xD0) && norm_block(&z))
			continue;
#endif
		if (b >= 0x80) {
			if (cyr_at(in, z.i, len))
				norm_cyr(&z);
			else if (!norm_wide(&z))
				return -1;
		} else if (PARSE_SWAR && !PARSE_SIMD &&
		    (t->akind[b] == NORM_PLAIN || (b == ' ' && !z.prev)) &&
		    len >= 8) {
			norm_plain(&z);
		} else {
			norm_ascii(&z, b);
		}
	}
	if (z.prev && z.o > 0)
		z.o--; /* the one trailing space */
	info->same = z.same;
	memset(out + z.o, 0, PARSE_PAD);
	return (int)z.o;
}

int
norm_text(const struct norm_tables *t, const unsigned char *in, size_t len,
    char *out, struct norm_info *info)
{
	return norm_pass(t, in, len, out, NULL, 0, info);
}

void
norm_map(const struct norm_tables *t, const unsigned char *in, size_t len,
    size_t upto, char *out, uint16_t *map)
{
	struct norm_info info;

	norm_pass(t, in, len, out, map, upto, &info);
}

/* What norm_text writes for each ASCII byte, and what kind it is. */
static void
ascii_map_init(char *map, unsigned char *kind)
{
	for (unsigned b = 0; b < 128; b++) {
		kind[b] =
		    special_bytes(b, false) & 0x80 ? NORM_KEEP : NORM_PLAIN;
		if (b == ' ' || (b >= '\t' && b <= '\r'))
			map[b] = ' ', kind[b] = NORM_SPACE; /* tab, LF, CR.. */
		else if (b >= 'A' && b <= 'Z')
			map[b] = (char)(b | 0x20);
		else
			map[b] = (char)b; /* controls stay, as junk */
		if (b == '*' || b == '_' || b == '~' || b == '`')
			kind[b] = NORM_MARKUP;
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

void
norm_tables_init(struct norm_tables *t)
{
	ascii_map_init(t->ascii, t->akind);
	cyr_map_init(t->cyr);
}
