/*
 * The grammar's parts, private to src/core/parse*.c (docs/grammar.md):
 *
 *   parse_norm.c  step 1, the text to one normalised line (spaces, case,
 *                 emoji, markup), optionally with a map back to the text;
 *   parse_scan.c  step 2, the hand-written grammar over that line;
 *   parse_words.c the fixed word lists (greetings, thanks, help words,
 *                 units) and the character classes both of them use;
 *   parse.c       the API: orchestration, PCRE2 (\p{N}), names, JSON.
 */
#ifndef METERLINE_PARSE_INT_H
#define METERLINE_PARSE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "meterline/parse.h"

/* -DPARSE_SWAR=0 forces the byte loops (to test them on x86). */
#ifndef PARSE_SWAR
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PARSE_SWAR 1
#else
#define PARSE_SWAR 0
#endif
#endif

/* SSE2 blocks of 16 bytes when normalising; -DPARSE_SIMD=0 (or
   PARSE_SWAR=0) leaves them out. SSE2 is part of x86-64 itself. */
#ifndef PARSE_SIMD
#if defined(__SSE2__) && PARSE_SWAR
#define PARSE_SIMD 1
#else
#define PARSE_SIMD 0
#endif
#endif

/*
 * norm_text writes 16 zero bytes after the text, for 8-byte reads; its
 * 16-byte stores need as many bytes of room past the text.
 */
#define PARSE_PAD 16

#define PARSE_ONES 0x0101010101010101ULL
#define PARSE_HIGHS 0x8080808080808080ULL

static inline uint64_t
parse_load8(const void *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* Index of the lowest byte of m whose top bit is set; m != 0. */
static inline unsigned
parse_first_byte(uint64_t m)
{
	return (unsigned)__builtin_ctzll(m) >> 3;
}

/* ---- step 1 ------------------------------------------------------------ */

/* What an ASCII byte is to norm_text. */
enum norm_kind {
	NORM_PLAIN, /* digits, a-z, most punctuation: copied as they are */
	NORM_KEEP, /* written as ascii[b] (capitals folded) */
	NORM_SPACE, /* space, tab, LF, VT, FF, CR */
	NORM_MARKUP, /* * _ ~ `: a space at a word's edge, else kept */
};

/* What norm_text writes for ASCII bytes and the Cyrillic 2-byte letters. */
struct norm_tables {
	char ascii[128];
	unsigned char akind[128]; /* enum norm_kind */
	char cyr[128][2]; /* D0/D1 xx folded, by (lead & 1, xx) */
};

void norm_tables_init(struct norm_tables *);

/* What norm_text saw besides the text it wrote. */
struct norm_info {
	bool foreign; /* kept a non-ASCII, non-Cyrillic character */
	size_t foreign_at; /* the first one, in the output */
	unsigned pictos; /* pictographs (emoji) turned into spaces */
	bool pictos_thanks; /* every one of them says thanks (👍 🙏 ...) */
	size_t picto_at, picto_len; /* the first one, in the input */
	size_t same; /* output bytes before it are at the same offsets in
			the input: no map is needed for them */
};

/*
 * Normalise len bytes of in into out (len + PARSE_PAD bytes). Returns the
 * output length or -1 for invalid UTF-8.
 */
int norm_text(const struct norm_tables *, const unsigned char *in, size_t len,
    char *out, struct norm_info *);

/*
 * Normalise the valid UTF-8 in again, into out (len + PARSE_PAD bytes),
 * far enough that map[o] holds the input offset of each output byte
 * o < upto (for quoting a span of the input).
 */
void norm_map(const struct norm_tables *, const unsigned char *in, size_t len,
    size_t upto, char *out, uint16_t *map);

/* ---- character classes and word lists (parse_words.c) ----------------- */

enum pch {
	PCH_END, /* past the end of the text */
	PCH_SPACE,
	PCH_DIGIT, /* ASCII 0-9 */
	PCH_LATIN, /* a-z */
	PCH_CYR, /* a Cyrillic letter, U+0400-U+04FF */
	PCH_MARK, /* ASCII punctuation, and № */
	PCH_OTHER, /* anything else: symbols, other scripts, controls */
};

/*
 * Class of the character at s[i] (text of n bytes, valid UTF-8, checked
 * by norm_text), its length in *len. Inline: the scanner asks it for
 * nearly every character.
 */
static inline enum pch
pch_at(const char *s, size_t i, size_t n, size_t *len)
{
	unsigned char b;

	*len = 1;
	if (i >= n)
		return PCH_END;
	b = (unsigned char)s[i];
	if (b == ' ')
		return PCH_SPACE;
	if (b >= '0' && b <= '9')
		return PCH_DIGIT;
	if (b >= 'a' && b <= 'z')
		return PCH_LATIN;
	if (b < 0x80)
		return b > 0x20 && b < 0x7F ? PCH_MARK : PCH_OTHER;
	*len = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
	if (b >= 0xD0 && b <= 0xD3)
		return PCH_CYR;
	if (b == 0xE2 && (unsigned char)s[i + 1] == 0x84 &&
	    (unsigned char)s[i + 2] == 0x96)
		return PCH_MARK; /* № */
	return PCH_OTHER;
}

/*
 * Whether the character at s[i] continues a word: letters, digits and
 * other scripts do; so do * _ ~ `, which norm_text keeps only between two
 * word characters (кВт*ч).
 */
static inline bool
pch_wordy(const char *s, size_t i, size_t n)
{
	size_t len;
	enum pch c = pch_at(s, i, n, &len);

	if (c == PCH_MARK)
		return s[i] == '*' || s[i] == '_' || s[i] == '~' || s[i] == '`';
	return c == PCH_DIGIT || c == PCH_LATIN || c == PCH_CYR ||
	    c == PCH_OTHER;
}

enum phrase_class {
	PH_NONE = 0,
	PH_GREET, /* здравствуйте, добрый день: before anything */
	PH_FILLER, /* показания, передаю: before a value, never a label */
	PH_THANKS, /* спасибо, спс, благодарю */
	PH_POLITE, /* пожалуйста, до свидания */
	PH_SIGN, /* с уважением: the rest of the text is a name */
	PH_HELP, /* помощь, помогите, как передать показания */
	PH_CANCEL, /* отмена, стоп */
	PH_CONFIRM, /* да, верно, подтверждаю */
	PH_INFO, /* инфо, бал: the last readings (a contract may follow) */
	PH_UNBIND, /* отвязать (a contract may follow) */
	PH_REMIND_OFF, /* не напоминать */
	PH_REMIND_ON, /* напоминать */
};

/*
 * Where the phrases of each first letter are in the (sorted) list: keys
 * a-z, then the Cyrillic letters D0 80 - D1 BF; and each phrase's first
 * 8 bytes as a big-endian number (head, zero-padded) with the mask of
 * its length (hmask), so that one compare orders a phrase against a text.
 * Built once by parser_new.
 */
#define PHRASE_KEYS (26 + 128)
#define PHRASES_MAX 128

struct phrase_index {
	uint8_t from[PHRASE_KEYS], to[PHRASE_KEYS];
	uint64_t head[PHRASES_MAX], hmask[PHRASES_MAX];
};

/* Fill ix; false if a phrase does not start with a letter of a key. */
bool phrase_index_init(struct phrase_index *ix);

/*
 * The longest listed phrase at s[i] that ends at a word boundary; its
 * length in *len. PH_NONE when none. s has PARSE_PAD bytes after s[n].
 */
enum phrase_class phrase_at(const struct phrase_index *ix, const char *s,
    size_t i, size_t n, size_t *len);

/* Whether the phrase list is sorted (parser_new refuses to start if not). */
bool parse_words_check(void);

/* Length of a unit (кВт, м3, куб...) at s[i] ending at a word boundary. */
size_t unit_at(const char *s, size_t i, size_t n);

/* Whether s[i..i+len) is the keyword: П/P/Р then С/C/S. */
bool keyword_is(const char *s, size_t i, size_t len);

/* Bytes of the keyword at s (PARSE_PAD readable after the text), or 0. */
size_t keyword_len(const char *s);

/*
 * Copy the label s[i..i+len) (letters, then digits) into out (size
 * PARSE_LABEL_MAX + 1), Latin look-alikes mapped to Cyrillic when the
 * label is Cyrillic or all look-alikes. False when it does not fit.
 */
bool label_copy(const char *s, size_t i, size_t len, char *out);

/* ---- step 2 (parse_scan.c) -------------------------------------------- */

/* Where the scan failed, in the normalised text: the span to quote. */
struct scan_fail {
	size_t at, len;
};

/*
 * Read the normalised text s[0..n) (n > 0, PARSE_PAD zeros after) into
 * out. For an invalid text, out->reason is set and *fail says what to
 * quote (len 0: nothing); the caller maps it back to the input.
 */
enum parse_kind scan_text(const struct phrase_index *ix, const char *s,
    size_t n, struct parse_result *out, struct scan_fail *fail);

#endif
