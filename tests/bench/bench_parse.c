/*
 * bench_parse: what one core does with inbound SMS text. A generated corpus
 * of realistic messages (submits, starts, bare values, cancels, help,
 * thanks, confirmations, the forms of issue 13, invalid text; Cyrillic
 * and Latin) is stored as UCS-2, as SMPP delivers
 * it; each message is decoded (text_decode, data_coding 0x08), normalised
 * and parsed (parser_parse). Prints messages/second and ns/message, the
 * median of 5 runs, plus the decode-only and parse-only medians.
 *
 *   bench_parse [--count N] [--runs R] [--seed S] [--kind KIND]
 *   bench_parse --smoke     tiny corpus, once; exit 1 if any result is wrong
 *
 * --kind keeps only the generated messages of one kind (submit, invalid,
 * ...), to see what each costs (callgrind).
 *
 * Every generated message carries the kind (and reason) it must parse to,
 * and the corpus is checked against it before timing, so the figure is
 * never for a parser that rejects everything.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meterline/parse.h"
#include "meterline/text.h"
#include "meterline/xmalloc.h"

#define MAX_MSG_UTF8 160 /* generated texts are shorter than this */

struct corpus {
	size_t n;
	uint8_t *ucs2; /* all messages, UTF-16BE, back to back */
	size_t *off; /* message i: ucs2[off[i] .. off[i+1]) */
	char *utf8; /* the same texts in UTF-8, for parse-only */
	size_t *uoff;
	enum parse_kind *kind; /* what each must parse to */
	enum parse_reason *reason;
};

/* ---- generator -------------------------------------------------------- */

/* xorshift64*: the corpus depends only on the seed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static unsigned
pick(uint64_t *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

static const char *
pick_str(uint64_t *s, const char *const *v, unsigned n)
{
	return v[pick(s, n)];
}
#define PICK(s, v) pick_str(s, v, sizeof(v) / sizeof(v[0]))

/* Keywords weighted as phones send them: mostly ПС, some Latin or mixed. */
static const char *const kws[] = {
	"ПС",
	"ПС",
	"ПС",
	"ПС",
	"пс",
	"пс",
	"Пс",
	"PS",
	"ps",
	"ПC",
};
static const char *const kwseps[] = {
	" ",
	" ",
	" ",
	" ",
	" ",
	" ",
	"",
	": ",
	": №",
	" №",
	"\u00a0",
};
static const char *const vseps[] = {
	" ",
	" ",
	" ",
	" ",
	" ",
	"  ",
	"; ",
	";",
	"/",
	",",
	"\u00a0",
};
static const char *const fracs[] = {
	"",
	"",
	"",
	"",
	"",
	"",
	"",
	",5",
	".57",
	",123",
};
static const char *const ends[] = {
	"",
	"",
	"",
	"",
	"",
	"",
	" ",
	".",
	"\r\n",
	"\u200b",
};

/* n random digits; a leading zero now and then, as meters show them. */
static size_t
digits(uint64_t *s, char *out, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = (char)('0' + pick(s, 10));
	if (n > 1 && pick(s, 8) != 0 && out[0] == '0')
		out[0] = (char)('1' + pick(s, 9));
	return n;
}

/* Append values (1..k) to t; returns the new length. */
static size_t
gen_values(uint64_t *s, char *t, size_t n, unsigned k, bool first_sep)
{
	for (unsigned i = 0; i < k; i++) {
		const char *sep = i || first_sep ? PICK(s, vseps) : "";

		/* "," between values needs 4+ digits after it */
		n += (size_t)sprintf(t + n, "%s", sep);
		n += digits(s, t + n,
		    strcmp(sep, ",") ? 2 + pick(s, 5) : 4 + pick(s, 3));
		n += (size_t)sprintf(t + n, "%s", PICK(s, fracs));
	}
	return n;
}

static enum parse_kind
gen_submit(uint64_t *s, char *t)
{
	size_t n = (size_t)sprintf(t, "%s%s", PICK(s, kws), PICK(s, kwseps));

	n += digits(s, t + n, 6 + pick(s, 4));
	n = gen_values(s, t, n, 1 + pick(s, 3), true);
	strcpy(t + n, PICK(s, ends));
	return PARSE_SUBMIT;
}

static enum parse_kind
gen_start(uint64_t *s, char *t)
{
	size_t n = (size_t)sprintf(t, "%s%s", PICK(s, kws), PICK(s, kwseps));

	n += digits(s, t + n, 6 + pick(s, 4));
	strcpy(t + n, PICK(s, ends));
	return PARSE_START;
}

static enum parse_kind
gen_values_msg(uint64_t *s, char *t)
{
	size_t n = gen_values(s, t, 0, 1 + pick(s, 2), false);

	strcpy(t + n, PICK(s, ends));
	return PARSE_VALUES;
}

static enum parse_kind
gen_word(uint64_t *s, char *t)
{
	static const struct {
		const char *text;
		enum parse_kind kind;
	} words[] = {
		{ "ОТМЕНА", PARSE_CANCEL },
		{ "отмена", PARSE_CANCEL },
		{ "Стоп!", PARSE_CANCEL },
		{ "ПОМОЩЬ", PARSE_HELP },
		{ "справка", PARSE_HELP },
		{ "?", PARSE_HELP },
		{ "Как передать показания?", PARSE_HELP },
		{ "Спасибо!", PARSE_THANKS },
		{ "спасибо большое", PARSE_THANKS },
		{ "\xf0\x9f\x91\x8d", PARSE_THANKS }, /* 👍 */
		{ "ДА", PARSE_CONFIRM },
		{ "Да.", PARSE_CONFIRM },
	};
	unsigned i = pick(s, sizeof(words) / sizeof(words[0]));

	strcpy(t, words[i].text);
	return words[i].kind;
}

/*
 * How people really write (issue 13): greetings, politeness, units,
 * labels, markup, emoji, grouped contracts, thousands. Each with its kind.
 */
static const struct {
	const char *text;
	enum parse_kind kind;
} people[] = {
	{ "Здравствуйте! Передаю показания: ПС 102057531 3600", PARSE_SUBMIT },
	{ "Показания ПС 102057531 3600", PARSE_SUBMIT },
	{ "ПС 102057531 7300 спасибо", PARSE_SUBMIT },
	{ "ПС 102057522 8700 кВт*ч", PARSE_SUBMIT },
	{ "ПС 123861 день 12000 ночь 5800", PARSE_SUBMIT },
	{ "*ПС 102057522 11638*", PARSE_SUBMIT },
	{ "\xf0\x9f\x93\xb7 ПС 102057522 11638", PARSE_SUBMIT }, /* 📷 */
	{ "ПС 102 057 522 11638", PARSE_SUBMIT },
	{ "РС 102057522 11638", PARSE_SUBMIT },
	{ "Т1 13000 Т2 6200", PARSE_VALUES },
	{ "Ночь 6200", PARSE_VALUES },
	{ "2100, 1600, 1000", PARSE_VALUES },
	{ "102057540 7700", PARSE_VALUES },
	{ "3600 кВт", PARSE_VALUES },
	{ "13,000", PARSE_VALUES },
	{ "12 000", PARSE_VALUES },
};

static enum parse_kind
gen_people(uint64_t *s, char *t)
{
	unsigned i = pick(s, sizeof(people) / sizeof(people[0]));

	strcpy(t, people[i].text);
	return people[i].kind;
}

/* Invalid texts people really send, each with the reason it must get. */
static const struct {
	const char *text;
	enum parse_reason reason;
} invalid[] = {
	{ "Добрый день! Показания за март 12345", PARSE_R_UNKNOWN },
	{ "Добрый день", PARSE_R_UNKNOWN },
	{ "Hello", PARSE_R_UNKNOWN },
	{ "Лицевой счет 45055 23186", PARSE_R_UNKNOWN },
	{ "ПС", PARSE_R_NO_CONTRACT },
	{ "ПС 123 45055", PARSE_R_BAD_CONTRACT },
	{ "ПС 123859,5 45055", PARSE_R_BAD_CONTRACT },
	{ "ПС 102057522 116381234567", PARSE_R_BAD_VALUE },
	{ "ПС 123859 1 2 3 4 5 6 7", PARSE_R_TOO_MANY_VALUES },
	{ "ПС 123859 45055 кВтт", PARSE_R_BAD_SYNTAX },
	{ "ПС договор 123859", PARSE_R_BAD_SYNTAX },
	{ "45055 ,23186", PARSE_R_BAD_SYNTAX },
	{ "ПС 123859 １１６３８", PARSE_R_NON_ASCII_DIGIT },
	{ "ПС 102057522 ١١٦٣٨", PARSE_R_NON_ASCII_DIGIT },
};

static enum parse_kind
gen_invalid(uint64_t *s, char *t, enum parse_reason *reason)
{
	unsigned i = pick(s, sizeof(invalid) / sizeof(invalid[0]));

	strcpy(t, invalid[i].text);
	*reason = invalid[i].reason;
	return PARSE_INVALID;
}

/*
 * One message: 40% submit, 15% start, 20% values, 10% words, 5% the
 * forms of issue 13, 10% invalid.
 */
static enum parse_kind
gen_one(uint64_t *s, char *t, enum parse_reason *reason)
{
	unsigned r = pick(s, 100);

	*reason = PARSE_R_NONE;
	if (r < 40)
		return gen_submit(s, t);
	if (r < 55)
		return gen_start(s, t);
	if (r < 75)
		return gen_values_msg(s, t);
	if (r < 85)
		return gen_word(s, t);
	if (r < 90)
		return gen_people(s, t);
	return gen_invalid(s, t, reason);
}

/* Valid UTF-8 (ours) to UTF-16BE; returns the octets written. */
static size_t
to_ucs2(const char *u8, uint8_t *out)
{
	const unsigned char *p = (const unsigned char *)u8;
	size_t o = 0;
	uint32_t c;

	while (*p) {
		if (*p < 0x80)
			c = *p++;
		else if (*p < 0xE0)
			c = (uint32_t)(*p++ & 0x1F) << 6, c |= *p++ & 0x3F;
		else if (*p < 0xF0)
			c = (uint32_t)(*p++ & 0x0F) << 12,
			c |= (uint32_t)(*p++ & 0x3F) << 6, c |= *p++ & 0x3F;
		else
			c = (uint32_t)(*p++ & 0x07) << 18,
			c |= (uint32_t)(*p++ & 0x3F) << 12,
			c |= (uint32_t)(*p++ & 0x3F) << 6, c |= *p++ & 0x3F;
		if (c >= 0x10000) {
			c -= 0x10000;
			out[o++] = (uint8_t)(0xD8 | c >> 18);
			out[o++] = (uint8_t)(c >> 10);
			c = 0xDC00 | (c & 0x3FF);
		}
		out[o++] = (uint8_t)(c >> 8);
		out[o++] = (uint8_t)c;
	}
	return o;
}

/* One message of kind only (PARSE__KIND_MAX: any) into t. */
static enum parse_kind
gen_kind(uint64_t *s, char *t, enum parse_reason *reason, enum parse_kind only)
{
	enum parse_kind k;

	do
		k = gen_one(s, t, reason);
	while (only != PARSE__KIND_MAX && k != only);
	return k;
}

static void
corpus_build(struct corpus *c, size_t n, uint64_t seed, enum parse_kind only)
{
	char t[MAX_MSG_UTF8 * 2];
	size_t o = 0, uo = 0;

	c->n = n;
	c->ucs2 = xmalloc(n * MAX_MSG_UTF8 * 2);
	c->utf8 = xmalloc(n * MAX_MSG_UTF8);
	c->off = xmalloc((n + 1) * sizeof(*c->off));
	c->uoff = xmalloc((n + 1) * sizeof(*c->uoff));
	c->kind = xmalloc(n * sizeof(*c->kind));
	c->reason = xmalloc(n * sizeof(*c->reason));
	for (size_t i = 0; i < n; i++) {
		c->kind[i] = gen_kind(&seed, t, &c->reason[i], only);
		c->off[i] = o;
		o += to_ucs2(t, c->ucs2 + o);
		c->uoff[i] = uo;
		memcpy(c->utf8 + uo, t, strlen(t));
		uo += strlen(t);
	}
	c->off[n] = o;
	c->uoff[n] = uo;
}

static void
corpus_free(struct corpus *c)
{
	free(c->ucs2);
	free(c->utf8);
	free(c->off);
	free(c->uoff);
	free(c->kind);
	free(c->reason);
}

/* ---- runs ------------------------------------------------------------- */

/*
 * Time is taken twice: wall clock, and this thread's CPU time. On a
 * shared machine the second leaves out the time other processes had the
 * core, so it is the steadier measure of what one core does; both are
 * printed.
 */
struct span {
	double wall, cpu;
};

static struct span
now(void)
{
	struct timespec w, c;

	clock_gettime(CLOCK_MONOTONIC, &w);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
	return (struct span){ w.tv_sec + w.tv_nsec / 1e9,
		c.tv_sec + c.tv_nsec / 1e9 };
}

static struct span
since(struct span t0)
{
	struct span t1 = now();

	return (struct span){ t1.wall - t0.wall, t1.cpu - t0.cpu };
}

/* A sum of the results, so the compiler cannot drop the work. */
static volatile uint64_t sink;

/*
 * Decode + parse every message once; returns the time taken. Not inlined,
 * so callgrind --toggle-collect=run_full counts exactly this path.
 */
static __attribute__((noinline)) struct span
run_full(struct parser *p, const struct corpus *c)
{
	char buf[TEXT_UTF8_MAX(MAX_MSG_UTF8 * 2) + 1];
	struct parse_result r;
	uint64_t sum = 0;
	struct span t0 = now();

	for (size_t i = 0; i < c->n; i++) {
		size_t n = text_decode(TEXT_DCS_UCS2, c->ucs2 + c->off[i],
		    c->off[i + 1] - c->off[i], buf, sizeof(buf), NULL);

		sum += parser_parse(p, buf, n, &r) + r.values[0];
	}
	sink += sum;
	return since(t0);
}

static struct span
run_decode(const struct corpus *c)
{
	char buf[TEXT_UTF8_MAX(MAX_MSG_UTF8 * 2) + 1];
	uint64_t sum = 0;
	struct span t0 = now();

	for (size_t i = 0; i < c->n; i++)
		sum += text_decode(TEXT_DCS_UCS2, c->ucs2 + c->off[i],
		           c->off[i + 1] - c->off[i], buf, sizeof(buf), NULL) +
		    (unsigned char)buf[0];
	sink += sum;
	return since(t0);
}

static struct span
run_parse(struct parser *p, const struct corpus *c)
{
	struct parse_result r;
	uint64_t sum = 0;
	struct span t0 = now();

	for (size_t i = 0; i < c->n; i++)
		sum += parser_parse(p, c->utf8 + c->uoff[i],
		           c->uoff[i + 1] - c->uoff[i], &r) +
		    r.values[0];
	sink += sum;
	return since(t0);
}

/* Decode and parse every message and compare with what was generated. */
static size_t
verify(struct parser *p, const struct corpus *c, size_t *count)
{
	char buf[TEXT_UTF8_MAX(MAX_MSG_UTF8 * 2) + 1];
	struct parse_result r;
	size_t bad = 0, n;

	for (size_t i = 0; i < c->n; i++) {
		n = text_decode(TEXT_DCS_UCS2, c->ucs2 + c->off[i],
		    c->off[i + 1] - c->off[i], buf, sizeof(buf), NULL);
		parser_parse(p, buf, n, &r);
		count[r.kind]++;
		if (r.kind == c->kind[i] && r.reason == c->reason[i] &&
		    n == c->uoff[i + 1] - c->uoff[i] &&
		    memcmp(buf, c->utf8 + c->uoff[i], n) == 0)
			continue;
		if (bad++ < 5)
			fprintf(stderr,
			    "bench_parse: \"%.*s\" parsed as %s/%s, "
			    "expected %s/%s\n",
			    (int)n, buf, parse_kind_name(r.kind),
			    parse_reason_name(r.reason),
			    parse_kind_name(c->kind[i]),
			    parse_reason_name(c->reason[i]));
	}
	return bad;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define MAX_RUNS 99

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
report(const char *what, const struct span *t, int runs, size_t n)
{
	double cpu[MAX_RUNS], wall[MAX_RUNS], c, w;

	for (int i = 0; i < runs; i++) {
		cpu[i] = t[i].cpu;
		wall[i] = t[i].wall;
	}
	c = median(cpu, runs);
	w = median(wall, runs);
	printf("%-22s %9.0f msg/s %7.1f ns/msg   (CPU time; wall clock "
	       "%.0f msg/s)\n",
	    what, n / c, c * 1e9 / n, n / w);
}

/* The kind called name into *k; false when none is. */
static bool
kind_named(const char *name, enum parse_kind *k)
{
	for (int i = 0; i < PARSE__KIND_MAX; i++)
		if (strcmp(parse_kind_name((enum parse_kind)i), name) == 0) {
			*k = (enum parse_kind)i;
			return true;
		}
	return false;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: bench_parse [--smoke] [--count N] [--runs R] "
	    "[--seed S] [--kind KIND]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	size_t n = 1000000, count[PARSE__KIND_MAX] = { 0 }, bad;
	uint64_t seed = 20260318;
	int runs = 5;
	bool smoke = false;
	struct span full[MAX_RUNS], dec[MAX_RUNS], par[MAX_RUNS];
	struct corpus c;
	struct parser *p;
	char err[256];
	enum parse_kind only = PARSE__KIND_MAX;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--smoke") == 0)
			smoke = true;
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc) {
			if (!kind_named(argv[++i], &only))
				return usage();
		} else
			return usage();
	}
	if (smoke) {
		n = 5000;
		runs = 1;
	}
	if (n == 0 || seed == 0 || runs < 1 || runs > MAX_RUNS)
		return usage();
	if ((p = parser_new(err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_parse: %s\n", err);
		return 1;
	}
	corpus_build(&c, n, seed, only);
	bad = verify(p, &c, count);
	printf("corpus: %zu msgs, %zu UCS-2 octets; submit %zu start %zu "
	       "values %zu cancel %zu help %zu thanks %zu confirm %zu "
	       "invalid %zu; JIT %s\n",
	    n, c.off[n], count[PARSE_SUBMIT], count[PARSE_START],
	    count[PARSE_VALUES], count[PARSE_CANCEL], count[PARSE_HELP],
	    count[PARSE_THANKS], count[PARSE_CONFIRM], count[PARSE_INVALID],
	    parser_jit(p) ? "on" : "off");
	if (bad == 0) {
		for (int r = 0; r < runs; r++) {
			full[r] = run_full(p, &c);
			dec[r] = run_decode(&c);
			par[r] = run_parse(p, &c);
		}
		printf("median of %d runs, one thread:\n", runs);
		report("decode+normalise+parse", full, runs, n);
		report("decode only", dec, runs, n);
		report("normalise+parse only", par, runs, n);
	}
	corpus_free(&c);
	parser_free(p);
	if (bad) {
		fprintf(stderr,
		    "bench_parse: %zu of %zu messages parsed wrong\n", bad, n);
		return 1;
	}
	return 0;
}
