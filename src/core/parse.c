/*
 * The ПС grammar (docs/grammar.md). A text goes through two steps:
 *
 * 1. norm_text, one pass in C: validate UTF-8, turn every kind of space,
 *    line break and invisible character into one ASCII space, collapse
 *    runs, trim both ends. The result goes into the parser's scratch
 *    buffer, so the pattern below only ever sees single spaces.
 * 2. One match of the main pattern (PCRE2, JIT when available). The
 *    pattern fixes the shape of the text; lengths and counts (contract
 *    4..12 digits, values up to 10 digits, at most 6 of them) are checked
 *    in C on the captured groups, which gives each failure its own reason.
 *
 * Texts the main pattern rejects are classified by two small patterns
 * (digits of other scripts; starts like a command), on that path only.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/parse.h"
#include "meterline/util.h"

/*
 * Pattern pieces. Letters are written as \x{...} so the source stays ASCII;
 * with PCRE2_UTF | PCRE2_CASELESS, \x{43F} (п) also matches П. Digits are
 * [0-9], never \d (api-notes.md §d).
 */
/* ПС: П or Latin P, then С, Latin C or Latin S (ПС PS ПC PС PC ПS). */
#define P_KW     "[\\x{43F}p][\\x{441}cs]"
/* After the keyword: spaces and : . - # № in any mix, or nothing. */
#define P_KWSEP  "[ :.#\\x{2116}-]*+"
/* A fraction: , or . and exactly 1-3 digits (4+ digits make a value). */
#define P_FRAC   "[.,][0-9]{1,3}+(?![0-9])"
#define P_VAL    "[0-9]++(?:" P_FRAC ")?"
/* Between values: a space, ; or / with optional spaces, or , . before 4+ digits. */
#define P_VSEP   "(?: (?:[;/] ?)?|[;/] ?|[.,](?=[0-9]{4}))"
#define P_VALS   P_VAL "(?:" P_VSEP P_VAL ")*+"
/* One trailing . , ; or / after the last number is forgiven. */
#define P_TRAIL  "(?: ?[.,;/])?"
/* отмена | стоп */
#define P_CANCEL "\\x{43E}\\x{442}\\x{43C}\\x{435}\\x{43D}\\x{430}" \
                 "|\\x{441}\\x{442}\\x{43E}\\x{43F}"
/* помощь | справка */
#define P_HELPW  "\\x{43F}\\x{43E}\\x{43C}\\x{43E}\\x{449}\\x{44C}" \
                 "|\\x{441}\\x{43F}\\x{440}\\x{430}\\x{432}\\x{43A}\\x{430}"
/* Up to three of . ! ? after a command word ("Стоп!", "Помощь?", "??"). */
#define P_CTRAIL "(?: ?[.!?]{1,3})?"

static const char pat_main[] =
    "^(?:"
    "(?<kw>" P_KW ")" P_KWSEP
    "(?:(?<c>[0-9]++)(?<cf>" P_FRAC ")?(?:" P_VSEP "(?<v>" P_VALS "))?)?"
    P_TRAIL
    "|(?<bv>" P_VALS ")" P_TRAIL
    "|(?<cancel>" P_CANCEL ")" P_CTRAIL
    "|(?<help>" P_HELPW "|\\?)" P_CTRAIL
    ")\\z";

/* Starts like a command: then the reply can say what is wrong with it. */
static const char pat_lead[] =
    "^(?:" P_KW "(?!\\p{L})|[0-9]|(?:" P_CANCEL "|" P_HELPW ")(?!\\p{L}))";

/* Any numeric character except 0-9: full-width, Arabic-Indic, ², ½... */
static const char pat_nad[] = "(?![0-9])\\p{N}";

struct parser {
	pcre2_code       *re_main;
	pcre2_code       *re_lead;
	pcre2_code       *re_nad;
	pcre2_match_data *md;		/* sized for re_main, serves all three */
	bool              jit;
	uint32_t          g_kw, g_c, g_cf, g_v, g_bv, g_cancel, g_help;
	char              scratch[PARSE_MAX_TEXT + 1];
};

static const char *const kind_names[] = {
	[PARSE_INVALID] = "invalid",
	[PARSE_SUBMIT] = "submit",
	[PARSE_START] = "start",
	[PARSE_VALUES] = "values",
	[PARSE_CANCEL] = "cancel",
	[PARSE_HELP] = "help",
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

/* ---- step 1: normalisation ---------------------------------------- */

/* ASCII bytes that count as spaces: tab, LF, VT, FF, CR, space. */
static bool
ascii_space(unsigned char b)
{
	return b == ' ' || (b >= '\t' && b <= '\r');
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
 * Normalise len bytes of in into out (at least len bytes): spaces as
 * above become one ' ' between tokens and none at the ends. The output
 * is never longer than the input. Sets *nonascii when a byte >= 0x80 is
 * kept. Returns the output length, or -1 for invalid UTF-8.
 */
static int
norm_text(const unsigned char *in, size_t len, char *out, bool *nonascii)
{
	size_t i = 0, o = 0, n;
	bool space = false;
	uint32_t cp;

	while (i < len) {
		unsigned char b = in[i];

		if (b < 0x80) {
			n = 1;
			if (ascii_space(b)) {
				space = true;
				i++;
				continue;
			}
		} else {
			if ((n = utf8_seq(in + i, len - i, &cp)) == 0)
				return -1;
			if (wide_space(cp)) {
				space = true;
				i += n;
				continue;
			}
			*nonascii = true;
		}
		if (space && o > 0)
			out[o++] = ' ';
		space = false;
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
	}
	return (int)o;
}

/* ---- step 2: match and read the groups ----------------------------- */

static bool
group_set(const PCRE2_SIZE *ov, uint32_t g)
{
	return ov[2 * g] != PCRE2_UNSET;
}

static size_t
group_len(const PCRE2_SIZE *ov, uint32_t g)
{
	return ov[2 * g + 1] - ov[2 * g];
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
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
 * Read the values of s[start..end), a region the main pattern accepted.
 * A digit run right after , or . of 1-3 digits is a fraction (dropped);
 * every other run is a value. Stops at the first bad or surplus value.
 */
static enum parse_reason
scan_values(const char *s, size_t start, size_t end, struct parse_result *out)
{
	size_t i = start, j;
	uint64_t v;

	while (i < end) {
		if (!is_digit(s[i])) {
			i++;
			continue;
		}
		for (j = i, v = 0; j < end && is_digit(s[j]); j++)
			v = v * 10 + (uint64_t)(s[j] - '0');
		if (i > start && (s[i - 1] == ',' || s[i - 1] == '.') &&
		    j - i <= 3) {
			out->truncated = true;
		} else if (out->nvalues == PARSE_MAX_VALUES) {
			return PARSE_R_TOO_MANY_VALUES;
		} else if (j - i > PARSE_VALUE_MAX_DIGITS) {
			return PARSE_R_BAD_VALUE;
		} else {
			out->values[out->nvalues++] = v;
		}
		i = j;
	}
	return PARSE_R_NONE;
}

/* The keyword branch matched: ПС, then maybe a contract and values. */
static enum parse_kind
read_keyword(struct parser *p, const char *s, const PCRE2_SIZE *ov,
             struct parse_result *out)
{
	size_t clen;
	enum parse_reason r;

	if (!group_set(ov, p->g_c))
		return set_invalid(out, PARSE_R_NO_CONTRACT);
	clen = group_len(ov, p->g_c);
	if (clen < PARSE_CONTRACT_MIN || clen > PARSE_CONTRACT_MAX ||
	    group_set(ov, p->g_cf))
		return set_invalid(out, PARSE_R_BAD_CONTRACT);
	memcpy(out->contract, s + ov[2 * p->g_c], clen);
	out->contract[clen] = '\0';
	if (!group_set(ov, p->g_v))
		return out->kind = PARSE_START;
	r = scan_values(s, ov[2 * p->g_v], ov[2 * p->g_v + 1], out);
	if (r != PARSE_R_NONE)
		return set_invalid(out, r);
	return out->kind = PARSE_SUBMIT;
}

/* Turn a successful match of the main pattern into a result. */
static enum parse_kind
read_match(struct parser *p, const char *s, struct parse_result *out)
{
	const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
	enum parse_reason r;

	if (group_set(ov, p->g_kw))
		return read_keyword(p, s, ov, out);
	if (group_set(ov, p->g_bv)) {
		r = scan_values(s, ov[2 * p->g_bv], ov[2 * p->g_bv + 1], out);
		if (r != PARSE_R_NONE)
			return set_invalid(out, r);
		return out->kind = PARSE_VALUES;
	}
	if (group_set(ov, p->g_cancel))
		return out->kind = PARSE_CANCEL;
	return out->kind = PARSE_HELP;
}

/* Match re against the normalised text; the scratch is valid UTF-8. */
static int
run(struct parser *p, const pcre2_code *re, const char *s, size_t n)
{
	return pcre2_match(re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, p->md,
	                   NULL);
}

/* Why the main pattern did not match. */
static enum parse_reason
classify(struct parser *p, const char *s, size_t n, bool nonascii)
{
	if (nonascii && run(p, p->re_nad, s, n) > 0)
		return PARSE_R_NON_ASCII_DIGIT;
	if (run(p, p->re_lead, s, n) > 0)
		return PARSE_R_BAD_SYNTAX;
	return PARSE_R_UNKNOWN;
}

enum parse_kind
parser_parse(struct parser *p, const char *text, size_t len,
             struct parse_result *out)
{
	bool nonascii = false;
	int n, rc;

	memset(out, 0, sizeof(*out));
	if (len > PARSE_MAX_TEXT)
		return set_invalid(out, PARSE_R_TOO_LONG);
	n = norm_text((const unsigned char *)text, len, p->scratch, &nonascii);
	if (n < 0)
		return set_invalid(out, PARSE_R_BAD_UTF8);
	if (n == 0)
		return set_invalid(out, PARSE_R_EMPTY);
	rc = run(p, p->re_main, p->scratch, (size_t)n);
	if (rc > 0)
		return read_match(p, p->scratch, out);
	/* -1 is "no match"; any other error is treated the same way. */
	return set_invalid(out, classify(p, p->scratch, (size_t)n, nonascii));
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

	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts, &ec,
	                   &off, NULL);
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

static uint32_t
group(const pcre2_code *re, const char *name)
{
	return (uint32_t)pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
}

struct parser *
parser_new(char *err, size_t errlen)
{
	const uint32_t opts = PCRE2_UTF | PCRE2_CASELESS;
	struct parser *p = xcalloc(1, sizeof(*p));
	uint32_t have_jit = 0;

	pcre2_config(PCRE2_CONFIG_JIT, &have_jit);
	p->jit = have_jit != 0;
	p->re_main = compile(pat_main, opts, &p->jit, err, errlen);
	p->re_lead = compile(pat_lead, opts | PCRE2_UCP, &p->jit, err, errlen);
	p->re_nad = compile(pat_nad, PCRE2_UTF | PCRE2_UCP, &p->jit, err,
	                    errlen);
	if (p->re_main == NULL || p->re_lead == NULL || p->re_nad == NULL) {
		parser_free(p);
		return NULL;
	}
	p->md = pcre2_match_data_create_from_pattern(p->re_main, NULL);
	if (p->md == NULL) {
		snprintf(err, errlen, "out of memory for match data");
		parser_free(p);
		return NULL;
	}
	p->g_kw = group(p->re_main, "kw");
	p->g_c = group(p->re_main, "c");
	p->g_cf = group(p->re_main, "cf");
	p->g_v = group(p->re_main, "v");
	p->g_bv = group(p->re_main, "bv");
	p->g_cancel = group(p->re_main, "cancel");
	p->g_help = group(p->re_main, "help");
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
	char  *p;
	size_t len, cap;
	bool   over;
};

static void
jb_add(struct jbuf *b, const char *fmt, ...)
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
