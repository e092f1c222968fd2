/*
 * Step 1 of the grammar (docs/grammar.md, "Spaces", "Emoji and markup",
 * "Case"): one pass over the text that validates UTF-8, turns every kind
 * of space, invisible character, emoji and messenger markup into one ASCII
 * space, collapses runs, trims both ends and folds letters to lower case.
 * The scanner then only ever sees single spaces and lower case.
 *
 * Speed: runs of plain ASCII (digits, mostly) are copied 8 bytes at a time
 * (SWAR, little-endian hosts; others take the byte loop), because branches
 * that depend on the text mispredict on a mixed corpus and cost more than
 * the work itself.
 */
#include "parse_int.h"

/*
 * Top bit of each byte of w that norm_text must look at: controls and
 * space (< 0x21), " # $ % & ' ( ) * (0x22-0x2A: * is markup), capitals and
 * [ \ ] ^ _ ` (0x41-0x60: _ and ` are markup), ~ and DEL (0x7E-0x7F), and
 * every byte >= 0x80. Each byte is compared with its top bit forced on,
 * so no borrow crosses bytes. Digits, lower case and , . ; / : - stay on
 * the fast path.
 */
static uint64_t
special_bytes(uint64_t w)
{
	uint64_t h = w | PARSE_HIGHS;
	uint64_t lt21 = ~(h - 0x21 * PARSE_ONES);
	uint64_t in22 = (h - 0x22 * PARSE_ONES) & ~(h - 0x2B * PARSE_ONES);
	uint64_t in41 = (h - 0x41 * PARSE_ONES) & ~(h - 0x61 * PARSE_ONES);
	uint64_t ge7e = h - 0x7E * PARSE_ONES;

	return (w | lt21 | in22 | in41 | ge7e) & PARSE_HIGHS;
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

/* One normalisation: input, output, and what it has seen so far. */
struct norm {
	const struct norm_tables *t;
	const unsigned char *in;
	size_t len, i, o;
	char *out;
	uint16_t *map;
	unsigned prev; /* the last output was a space (1 at the start) */
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
 * lower case.
 */
static void
copy_char(const struct norm_tables *t, char *out, const unsigned char *in,
    size_t n, uint32_t cp, bool *foreign)
{
	const char *f;

	if (n == 2 && (in[0] & 0xFE) == 0xD0) {
		f = t->cyr[(in[0] & 1) << 6 | (in[1] & 0x3F)];
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
 * The character at in[i] that needs a look: a space, control, capital or
 * markup in ASCII, or a UTF-8 sequence. Writes its output at out[o] and
 * returns its length in bytes, 0 for invalid UTF-8; *sp tells whether it
 * was a space (written as ' ').
 */
static inline size_t
norm_char(struct norm *z, unsigned *sp)
{
	const unsigned char *in = z->in;
	unsigned b = in[z->i];
	size_t n;
	uint32_t cp;

	if (b < 0x80) {
		z->out[z->o] = z->t->ascii[b];
		if (b == '*' || b == '_' || b == '~' || b == '`')
			*sp = markup_space(z->prev,
			    z->o ? (unsigned char)z->out[z->o - 1] : 0, in,
			    z->i, z->len);
		else
			*sp = z->out[z->o] == ' ';
		if (*sp)
			z->out[z->o] = ' ';
		return 1;
	}
	if ((n = utf8_seq(in + z->i, z->len - z->i, &cp)) == 0)
		return 0;
	*sp = 1;
	if (cp >= 0x400 && cp <= 0x4FF)
		*sp = 0;
	else if (emoji_modifier(cp)) /* skin tones are in the emoji block */
		;
	else if (pictograph(cp))
		note_pictograph(z->info, z->i, cp, n);
	else if (!wide_space(cp))
		*sp = 0;
	if (*sp)
		z->out[z->o] = ' ';
	else
		copy_char(
		    z->t, z->out + z->o, in + z->i, n, cp, &z->info->foreign);
	return n;
}

/* Record where output bytes o.. came from (map mode only). */
static void
map_char(uint16_t *map, size_t o, size_t i, size_t n)
{
	for (size_t k = 0; k < n; k++)
		map[o + k] = (uint16_t)(i + k);
}

/*
 * Runs of plain bytes are copied 8 at a time while 8 bytes are left; a
 * store may write up to 8 bytes past the run, which later output
 * overwrites. A space is always written, and the output advances past it
 * only when the previous output was not a space: arithmetic, not a branch
 * that would mispredict.
 */
int
norm_text(const struct norm_tables *t, const unsigned char *in, size_t len,
    char *out, uint16_t *map, struct norm_info *info)
{
	struct norm z = { t, in, len, 0, 0, out, map, 1, info };
	size_t n, k;
	unsigned sp;
	uint64_t w, m;

	memset(info, 0, sizeof(*info));
	while (z.i < len) {
		if (PARSE_SWAR && map == NULL && len - z.i >= 8) {
			w = parse_load8(in + z.i);
			m = special_bytes(w);
			k = m ? parse_first_byte(m) : 8;
			memcpy(out + z.o, &w, 8);
			z.o += k;
			z.i += k;
			z.prev &= k == 0;
			if (k == 8)
				continue;
		}
		n = norm_char(&z, &sp);
		if (n == 0)
			return -1;
		if (map != NULL)
			map_char(map, z.o, z.i, sp ? 1 : n);
		z.i += n;
		z.o += sp ? !z.prev : n;
		z.prev = sp;
	}
	if (z.prev && z.o > 0)
		z.o--; /* the one trailing space */
	memset(out + z.o, 0, PARSE_PAD);
	return (int)z.o;
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

void
norm_tables_init(struct norm_tables *t)
{
	ascii_map_init(t->ascii);
	cyr_map_init(t->cyr);
}
