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
    "Kinds: submit, start, values, cancel, help, invalid (with a reason).\n"
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

static void
print_values(const struct parse_result *r, FILE *f)
{
	for (unsigned i = 0; i < r->nvalues; i++)
		fprintf(f, "%s%llu", i ? " " : "",
		    (unsigned long long)r->values[i]);
}

/* One human-readable line, e.g. "submit: contract 123859, values 1 2". */
static void
print_readable(const struct parse_result *r, FILE *f)
{
	fputs(parse_kind_name(r->kind), f);
	switch (r->kind) {
	case PARSE_SUBMIT:
		fprintf(f, ": contract %s, values ", r->contract);
		print_values(r, f);
		break;
	case PARSE_START: fprintf(f, ": contract %s", r->contract); break;
	case PARSE_VALUES:
		fputs(": ", f);
		print_values(r, f);
		break;
	case PARSE_INVALID:
		fprintf(f, ": %s (%s)", parse_reason_name(r->reason),
		    reason_text[r->reason]);
		if (r->contract[0] != '\0')
			fprintf(f, ", contract %s", r->contract);
		break;
	default: break;
	}
	if (r->truncated)
		fputs(", fraction dropped", f);
	fputc('\n', f);
}

static void
print_one(struct parser *p, const char *text, size_t len, bool json)
{
	struct parse_result r;
	char buf[PARSE_JSON_MAX];

	parser_parse(p, text, len, &r);
	if (!json) {
		print_readable(&r, stdout);
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

/*
 * Check the arguments before printing anything: a usage error must not
 * leave half the output behind. Returns the number of texts, or -1.
 */
static int
scan_args(int argc, char **argv, bool *json, bool *help)
{
	bool opts = true;
	int ntext = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--") == 0)
			opts = false;
		else if (opts && strcmp(a, "--json") == 0)
			*json = true;
		else if (opts &&
		    (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0))
			*help = true;
		else if (opts && a[0] == '-' && a[1] != '\0') {
			fprintf(stderr,
			    "meterline parse: unknown option '%s'"
			    " (put '--' before a text starting with '-')\n",
			    a);
			return -1;
		} else
			ntext++;
	}
	return ntext;
}

int
cmd_parse(int argc, char **argv)
{
	bool json = false, help = false, opts = true;
	struct parser *p;
	char err[256];
	int ntext, rc = 0;

	ntext = scan_args(argc, argv, &json, &help);
	if (help) {
		fputs(parse_usage, stdout);
		return 0;
	}
	if (ntext <= 0) {
		if (ntext == 0)
			fprintf(stderr, "meterline parse: no TEXT given\n");
		fputs("usage: meterline parse [--json] [--] TEXT...\n"
		      "'meterline parse --help' for more.\n",
		    stderr);
		return EXIT_USAGE;
	}
	if ((p = parser_new(err, sizeof(err))) == NULL) {
		fprintf(stderr, "meterline parse: %s\n", err);
		return 1;
	}
	for (int i = 1; i < argc && rc == 0; i++) {
		const char *a = argv[i];

		if (opts && strcmp(a, "--") == 0) {
			opts = false;
			continue;
		}
		if (opts && a[0] == '-' && a[1] != '\0')
			continue;
		if (strcmp(a, "-") == 0)
			rc = parse_stdin(p, json);
		else
			print_one(p, a, strlen(a), json);
	}
	parser_free(p);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("meterline parse: stdout");
		rc = -1;
	}
	return rc == 0 ? 0 : 1;
}
