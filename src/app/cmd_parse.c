/*
 * meterline parse: show what customer texts mean, one line per text. This
 * is how support staff check a message, so the output is exact and stable:
 * --json prints the object of parse_result_json, one per line.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "meterline/parse.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char parse_usage[] =
    "usage: meterline parse [--json] [--] TEXT...\n"
    "\n"
    "Show what each customer TEXT means under the ПС grammar, one line per\n"
    "TEXT, in order. A TEXT of '-' reads texts from standard input, one per\n"
    "line. Put '--' before texts that start with '-'; quote '?' and spaces.\n"
    "\n"
    "  --json      one JSON object per line, e.g.\n"
    "              {\"kind\":\"submit\",\"contract\":\"102057522\",\"values\":[11638]}\n"
    "  -h, --help  this text\n"
    "\n"
    "Kinds: submit, start, values, cancel, help, thanks, confirm, invalid\n"
    "(with a reason and the part not understood).\n"
    "docs/grammar.md has the rules and every reason.\n";

/* What each reason means, for the readable output. */
static const char *const reason_text[PARSE_R__MAX] = {
	[PARSE_R_NONE] = "",
	[PARSE_R_TOO_LONG] = "longer than 4096 bytes",
	[PARSE_R_BAD_UTF8] = "not valid UTF-8",
	[PARSE_R_EMPTY] = "nothing but spaces",
	[PARSE_R_NON_ASCII_DIGIT] = "digits other than 0-9: full-width or "
	                            "another script",
	[PARSE_R_NO_CONTRACT] = "ПС without a contract number",
	[PARSE_R_BAD_CONTRACT] = "contract must be 4-12 digits, no fraction",
	[PARSE_R_BAD_VALUE] = "a value has more than 10 digits",
	[PARSE_R_TOO_MANY_VALUES] = "more than 6 values",
	[PARSE_R_BAD_SYNTAX] = "starts like a command, the rest does not fit",
	[PARSE_R_UNKNOWN] = "not a command",
};

/* "12000" or "день:12000", the readable form of value i of v[]. */
static void
print_value(const struct parse_result *r, const uint64_t *v, unsigned i,
    unsigned label, FILE *f)
{
	if (label < r->nvalues && r->labels[label][0] != '\0')
		fprintf(f, "%.*s:", PARSE_LABEL_MAX, r->labels[label]);
	fprintf(f, "%llu", (unsigned long long)v[i]);
}

static void
print_values(const struct parse_result *r, FILE *f)
{
	for (unsigned i = 0; i < r->nvalues; i++) {
		fputs(i ? " " : "", f);
		print_value(r, r->values, i, i, f);
	}
}

/* ", or joined 13000" for ambiguous thousands. */
static void
print_joined(const struct parse_result *r, FILE *f)
{
	fputs(", or joined ", f);
	for (unsigned j = 0; j < r->alt_nvalues; j++) {
		fputs(j ? " " : "", f);
		print_value(r, r->alt_values, j, r->alt_from[j], f);
	}
}

/*
 * ", at \"кВтт\"": the span of the text the grammar could
 * not read, bytes below 0x20 and the quote escaped so the line stays one.
 */
static void
print_unknown(
    const struct parse_result *r, const char *text, size_t len, FILE *f)
{
	if (r->unknown_len == 0 || (size_t)r->unknown_at + r->unknown_len > len)
		return;
	fputs(", at \"", f);
	for (size_t i = r->unknown_at; i < r->unknown_at + r->unknown_len;
	     i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == '"' || c == '\\' || c == 0x7F)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* One human-readable line, e.g. "submit: contract 123859, values 1 2". */
static void
print_readable(
    const struct parse_result *r, const char *text, size_t len, FILE *f)
{
	fputs(parse_kind_name(r->kind), f);
	switch (r->kind) {
	case PARSE_SUBMIT:
		fprintf(f, ": contract %s, values ", r->contract);
		print_values(r, f);
		break;
	case PARSE_START: fprintf(f, ": contract %s", r->contract); break;
	case PARSE_INFO:
	case PARSE_UNBIND:
		if (r->contract[0] != '\0')
			fprintf(f, ": contract %s", r->contract);
		break;
	case PARSE_VALUES:
		fputs(": ", f);
		print_values(r, f);
		if (r->bare_contract)
			fprintf(
			    f, ", the first may be contract %s", r->contract);
		break;
	case PARSE_INVALID:
		fprintf(f, ": %s (%s)", parse_reason_name(r->reason),
		    reason_text[r->reason]);
		if (r->contract[0] != '\0')
			fprintf(f, ", contract %s", r->contract);
		print_unknown(r, text, len, f);
		break;
	default: break;
	}
	if (r->truncated)
		fputs(", fraction dropped", f);
	if (r->ambiguous)
		print_joined(r, f);
	fputc('\n', f);
}

static void
print_one(struct parser *p, const char *text, size_t len, bool json)
{
	struct parse_result r;
	char buf[PARSE_JSON_MAX];

	parser_parse(p, text, len, &r);
	if (!json) {
		print_readable(&r, text, len, stdout);
		return;
	}
	if (parse_result_json(&r, buf, sizeof(buf)) < 0)
		abort(); /* PARSE_JSON_MAX is a bug if this happens */
	puts(buf);
}

/* Parse every line of stdin; the newline is not part of the text. */
static int
parse_stdin(struct parser *p, bool json)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			n--;
		print_one(p, line, (size_t)n, json);
	}
	free(line);
	if (ferror(stdin)) {
		perror("meterline parse: stdin");
		return -1;
	}
	return 0;
}

static const char parse_brief[] =
    "usage: meterline parse [--json] [--] TEXT...\n"
    "'meterline parse --help' for more.\n";

struct parse_args {
	bool json;
};

static const struct opt parse_opts[] = {
	{ "json", 0, OPT_FLAG, offsetof(struct parse_args, json) },
};

/*
 * Every argument is checked before anything is printed: a usage error must
 * not leave half the output behind.
 */
static const struct opts_spec parse_spec = { .cmd = "parse",
	.usage = parse_usage,
	.brief = parse_brief,
	.unknown_hint = " (put '--' before a text starting with '-')",
	.opts = parse_opts,
	.nopts = ARRAY_SIZE(parse_opts),
	.min_args = 1,
	.max_args = -1,
	.missing = "no TEXT given" };

int
cmd_parse(int argc, char **argv)
{
	struct parse_args a = { 0 };
	struct parser *p;
	char err[256];
	int rc, first;

	if ((rc = opts_parse(&parse_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	if ((p = parser_new(err, sizeof(err))) == NULL) {
		fprintf(stderr, "meterline parse: %s\n", err);
		return 1;
	}
	rc = 0;
	for (int i = first; i < argc && rc == 0; i++) {
		if (strcmp(argv[i], "-") == 0)
			rc = parse_stdin(p, a.json);
		else
			print_one(p, argv[i], strlen(argv[i]), a.json);
	}
	parser_free(p);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("meterline parse: stdout");
		rc = -1;
	}
	return rc == 0 ? 0 : 1;
}
