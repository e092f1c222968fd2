/* The option parser every command shares (opts.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"

#define OPTS_MAX 32
#define OPT_HELP (-2) /* index of --help in the getopt table */

/* A usage error: "meterline CMD: why" (unless why is NULL), the usage. */
static int
opts_usage_error(const struct opts_spec *s, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "meterline %s: %s\n", s->cmd, why);
	fputs(s->brief != NULL ? s->brief : s->usage, stderr);
	return EXIT_USAGE;
}

/* Why getopt_long stopped at arg: unknown option, or no value given. */
static int
opts_getopt_error(const struct opts_spec *s, int ch, const char *arg)
{
	char why[256], name[3] = { '-', (char)optopt, '\0' };

	if (optopt != 0 && ch == '?')
		arg = name; /* an unknown letter inside "-qx" */
	if (ch == ':')
		snprintf(why, sizeof(why), "%s needs a value", arg);
	else
		snprintf(why, sizeof(why), "unknown option '%s'%s", arg,
		    s->unknown_hint != NULL ? s->unknown_hint : "");
	return opts_usage_error(s, why);
}

/* "1000" within min..max, the whole string. */
static int
opts_int(const struct opt *o, const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < o->min || v > o->max)
		return -1;
	*out = (int)v;
	return 0;
}

static int
opts_choice(const struct opt *o, const char *s, int *out)
{
	for (const struct opt_choice *c = o->choices; c->name != NULL; c++) {
		if (strcmp(c->name, s) == 0) {
			*out = c->value;
			return 0;
		}
	}
	return -1;
}

/* Store one option's value into its field; -1 when the value is bad. */
static int
opts_store(const struct opt *o, const char *value, void *args)
{
	char *field = (char *)args + o->off;
	bool yes = true;
	int v;

	switch (o->type) {
	case OPT_FLAG: memcpy(field, &yes, sizeof(yes)); return 0;
	case OPT_STRING: memcpy(field, &value, sizeof(value)); return 0;
	case OPT_INT:
	case OPT_CHOICE:
		if ((o->type == OPT_INT ? opts_int(o, value, &v)
		                        : opts_choice(o, value, &v)) != 0)
			return -1;
		memcpy(field, &v, sizeof(v));
		return 0;
	}
	return -1;
}

/* A value the option does not take ("--batch x"). */
static int
opts_bad_value(const struct opts_spec *s, const char *opt, const char *value)
{
	char why[256];

	snprintf(why, sizeof(why), "bad value '%s' for --%s",
	    value ? value : "", opt);
	return opts_usage_error(s, why);
}

/* The getopt tables from the command's: val is the index in s->opts. */
static void
opts_tables(const struct opts_spec *s, struct option *lo, char *so)
{
	size_t n = 0, k = 0;

	so[k++] = ':'; /* a missing value is ':', not '?' */
	so[k++] = 'h';
	lo[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	for (size_t i = 0; i < s->nopts; i++) {
		const struct opt *o = &s->opts[i];
		int has_arg =
		    o->type == OPT_FLAG ? no_argument : required_argument;

		lo[n++] = (struct option){ o->name, has_arg, NULL, (int)i };
		if (o->short_name != 0) {
			so[k++] = o->short_name;
			if (has_arg == required_argument)
				so[k++] = ':';
		}
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	so[k] = '\0';
}

/* The table index of a short option, or -1. */
static int
opts_by_short(const struct opts_spec *s, int ch)
{
	if (ch == 'h' || ch == OPT_HELP)
		return OPT_HELP;
	for (size_t i = 0; i < s->nopts; i++) {
		if (s->opts[i].short_name == ch)
			return (int)i;
	}
	return -1;
}

int
opts_parse(
    const struct opts_spec *s, int argc, char **argv, void *args, int *first)
{
	struct option lo[OPTS_MAX + 2];
	char so[2 * OPTS_MAX + 3];
	int ch, nargs;

	if (s->nopts > OPTS_MAX)
		abort(); /* a table longer than OPTS_MAX is a bug */
	opts_tables(s, lo, so);
	optind = 1;
	opterr = 0; /* our own messages, naming the command */
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const char *arg = argv[optind - 1];
		int i =
		    ch >= 0 && ch < (int)s->nopts ? ch : opts_by_short(s, ch);

		if (ch == '?' || ch == ':')
			return opts_getopt_error(s, ch, arg);
		if (i == OPT_HELP) {
			fputs(s->usage, stdout);
			return 0;
		}
		if (i < 0)
			return opts_getopt_error(s, '?', arg);
		if (opts_store(&s->opts[i], optarg, args) != 0)
			return opts_bad_value(s, s->opts[i].name, optarg);
	}
	nargs = argc - optind;
	if (nargs < s->min_args)
		return opts_usage_error(s, s->missing);
	if (s->max_args >= 0 && nargs > s->max_args) {
		char why[256];

		snprintf(why, sizeof(why), "unexpected argument '%s'",
		    argv[optind + s->max_args]);
		return opts_usage_error(s, why);
	}
	*first = optind;
	return -1;
}
