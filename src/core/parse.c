/*
 * The ПС grammar (docs/grammar.md): the API. A text goes through
 *
 * 1. norm_text (parse_norm.c), one pass in C: validate UTF-8, turn every
 *    kind of space, invisible character, emoji and messenger markup into
 *    one ASCII space, trim, fold letters to lower case, into the parser's
 *    scratch buffer;
 * 2. scan_text (parse_scan.c), the hand-written grammar over that line,
 *    which fills the result or says what it could not read.
 *
 * An invalid text is then checked for digits of other scripts (one PCRE2
 * pattern, \p{N}: the only Unicode property the grammar needs), and the
 * span the scanner could not read is mapped back to the customer's bytes
 * by normalising once more with a map. Valid texts take neither step.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/parse.h"
#include "meterline/xmalloc.h"
#include "parse_int.h"

/*
 * Any numeric character except 0-9: full-width, Arabic-Indic, ², ½...;
 * ³ right after м is the unit м³.
 */
static const char pat_nad[] = "(?![0-9])(?!(?<=м)³)\\p{N}";

struct parser {
	pcre2_code *re_nad;
	pcre2_match_data *md;
	bool jit;
	struct norm_tables tables;
	struct phrase_index phrases;
	char scratch[PARSE_MAX_TEXT + PARSE_PAD];
	uint16_t map[PARSE_MAX_TEXT + PARSE_PAD]; /* invalid texts only */
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
	[PARSE_INFO] = "info",
	[PARSE_REMIND_OFF] = "remind_off",
	[PARSE_REMIND_ON] = "remind_on",
	[PARSE_UNBIND] = "unbind",
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

/*
 * Make out an invalid result for reason, quoting in[at..at+len): only the
 * reason, the span and, for the reasons that name it, the contract stay.
 */
static enum parse_kind
set_invalid(
    struct parse_result *out, enum parse_reason reason, size_t at, size_t len)
{
	char contract[sizeof(out->contract)];

	memcpy(contract, out->contract, sizeof(contract));
	memset(out, 0, sizeof(*out));
	if (reason == PARSE_R_BAD_VALUE || reason == PARSE_R_TOO_MANY_VALUES)
		memcpy(out->contract, contract, sizeof(contract));
	out->kind = PARSE_INVALID;
	out->reason = reason;
	if (len > 0) {
		out->unknown_at = (uint16_t)at;
		out->unknown_len = (uint16_t)len;
	}
	return PARSE_INVALID;
}

/*
 * Run re over the normalised text from offset at (a character's start;
 * lookbehinds still see what is before it). pcre2_jit_match skips the
 * checks of pcre2_match, UTF validation included; that is safe only
 * because the scratch is our own output and norm_text validated every
 * byte of it (api-notes.md §d).
 */
static int
run(struct parser *p, const pcre2_code *re, const char *s, size_t n, size_t at)
{
	if (p->jit)
		return pcre2_jit_match(
		    re, (PCRE2_SPTR)s, n, at, 0, p->md, NULL);
	return pcre2_match(
	    re, (PCRE2_SPTR)s, n, at, PCRE2_NO_UTF_CHECK, p->md, NULL);
}

/*
 * Map a span of the normalised text back to the input: as it is when the
 * normalisation moved nothing before its end (same), else by normalising
 * again, recording where each byte came from.
 */
static void
map_span(struct parser *p, const char *text, size_t len, size_t same,
    size_t *at, size_t *n)
{
	if (*n == 0) {
		*at = 0;
		return;
	}
	if (*at + *n <= same)
		return;
	norm_map(&p->tables, (const unsigned char *)text, len, *at + *n,
	    p->scratch, p->map);
	*n = (size_t)p->map[*at + *n - 1] + 1 - p->map[*at];
	*at = p->map[*at];
}

/* An invalid text: which reason, and what to quote. */
static enum parse_kind
invalid(struct parser *p, const char *text, size_t len, size_t n,
    const struct norm_info *info, struct scan_fail *f, struct parse_result *out)
{
	enum parse_reason r = out->reason;
	PCRE2_SIZE *ov;

	/* \p{N} but 0-9 is foreign: the search starts at the first one */
	if (info->foreign &&
	    run(p, p->re_nad, p->scratch, n, info->foreign_at) > 0) {
		ov = pcre2_get_ovector_pointer(p->md);
		f->at = ov[0];
		f->len = ov[1] - ov[0];
		r = PARSE_R_NON_ASCII_DIGIT;
	}
	map_span(p, text, len, info->same, &f->at, &f->len);
	return set_invalid(out, r, f->at, f->len);
}

/* A text of nothing but spaces and emoji: 👍 alone says thanks. */
static enum parse_kind
blank_text(const struct norm_info *info, struct parse_result *out)
{
	if (info->pictos == 0)
		return set_invalid(out, PARSE_R_EMPTY, 0, 0);
	if (info->pictos_thanks)
		return out->kind = PARSE_THANKS;
	return set_invalid(
	    out, PARSE_R_UNKNOWN, info->picto_at, info->picto_len);
}

/*
 * Zero the result. GCC makes one memset of its 330 bytes a "rep stos",
 * whose start-up cost was 5% of a whole parse; fixed 64-byte pieces
 * become plain vector stores.
 */
static void
result_clear(struct parse_result *out)
{
	char *p = (char *)out;
	size_t k;

#pragma GCC unroll 8
	for (k = 0; k + 64 <= sizeof(*out); k += 64)
		memset(p + k, 0, 64);
	memset(p + k, 0, sizeof(*out) - k);
}

enum parse_kind
parser_parse(
    struct parser *p, const char *text, size_t len, struct parse_result *out)
{
	struct norm_info info;
	struct scan_fail f;
	int n;

	result_clear(out);
	if (len > PARSE_MAX_TEXT)
		return set_invalid(out, PARSE_R_TOO_LONG, 0, 0);
	n = norm_text(
	    &p->tables, (const unsigned char *)text, len, p->scratch, &info);
	if (n < 0)
		return set_invalid(out, PARSE_R_BAD_UTF8, 0, 0);
	if (n == 0)
		return blank_text(&info, out);
	if (scan_text(&p->phrases, p->scratch, (size_t)n, out, &f) !=
	    PARSE_INVALID)
		return out->kind;
	return invalid(p, text, len, (size_t)n, &info, &f, out);
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

struct parser *
parser_new(char *err, size_t errlen)
{
	struct parser *p = xcalloc(1, sizeof(*p));
	uint32_t have_jit = 0;

	if (!parse_words_check() || !phrase_index_init(&p->phrases)) {
		snprintf(err, errlen, "grammar phrase list is not sorted");
		goto fail;
	}
	norm_tables_init(&p->tables);
	pcre2_config(PCRE2_CONFIG_JIT, &have_jit);
	p->jit = have_jit != 0;
	p->re_nad =
	    compile(pat_nad, PCRE2_UTF | PCRE2_UCP, &p->jit, err, errlen);
	if (p->re_nad == NULL)
		goto fail;
	p->md = pcre2_match_data_create(1, NULL);
	if (p->md == NULL) {
		snprintf(err, errlen, "out of memory for match data");
		goto fail;
	}
	return p;
fail:
	parser_free(p);
	return NULL;
}

void
parser_free(struct parser *p)
{
	if (p == NULL)
		return;
	pcre2_match_data_free(p->md);
	pcre2_code_free(p->re_nad);
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

/* ,"key":[a,b,...] of n numbers. */
static void
jb_list(struct jbuf *b, const char *key, const uint64_t *v, unsigned n)
{
	jb_add(b, ",\"%s\":[", key);
	for (unsigned i = 0; i < n; i++)
		jb_add(b, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
	jb_add(b, "]");
}

/* ,"labels":[...] when any value has one; labels are letters and digits. */
static void
jb_labels(struct jbuf *b, const struct parse_result *r)
{
	unsigned i;

	for (i = 0; i < r->nvalues && r->labels[i][0] == '\0'; i++)
		;
	if (i == r->nvalues)
		return;
	jb_add(b, ",\"labels\":[");
	for (i = 0; i < r->nvalues; i++)
		jb_add(b, "%s\"%.*s\"", i ? "," : "", PARSE_LABEL_MAX,
		    r->labels[i]);
	jb_add(b, "]");
}

int
parse_result_json(const struct parse_result *r, char *buf, size_t buflen)
{
	struct jbuf b = { buf, 0, buflen, buflen == 0 };
	uint64_t from[PARSE_MAX_VALUES];

	jb_add(&b, "{\"kind\":\"%s\"", parse_kind_name(r->kind));
	if (r->kind == PARSE_INVALID)
		jb_add(&b, ",\"reason\":\"%s\"", parse_reason_name(r->reason));
	/* Digits only (parser output), so nothing needs escaping. */
	if (r->contract[0] != '\0')
		jb_add(&b, ",\"contract\":\"%.*s\"", PARSE_CONTRACT_MAX,
		    r->contract);
	if (r->bare_contract)
		jb_add(&b, ",\"bare_contract\":true");
	if (r->kind == PARSE_SUBMIT || r->kind == PARSE_VALUES) {
		jb_list(&b, "values", r->values, r->nvalues);
		jb_labels(&b, r);
	}
	if (r->truncated)
		jb_add(&b, ",\"truncated\":true");
	if (r->ambiguous) {
		for (unsigned j = 0; j < r->alt_nvalues; j++)
			from[j] = r->alt_from[j];
		jb_add(&b, ",\"ambiguous\":true");
		jb_list(&b, "alt_values", r->alt_values, r->alt_nvalues);
		jb_list(&b, "alt_from", from, r->alt_nvalues);
	}
	if (r->unknown_len > 0)
		jb_add(&b, ",\"unknown_at\":%u,\"unknown_len\":%u",
		    (unsigned)r->unknown_at, (unsigned)r->unknown_len);
	jb_add(&b, "}");
	return b.over ? -1 : (int)b.len;
}
