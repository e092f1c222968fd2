/*
 * meterline export readings --period YYYY-MM: a month's readings for
 * billing, one row per register, CSV or JSON Lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/console_cli.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char export_usage[] =
    "usage: meterline export readings --period YYYY-MM [--format csv|json]\n"
    "                                 [--status accepted,corrected]\n"
    "                                 [--config FILE] [--db CONNINFO]\n"
    "\n"
    "Write the readings of the submissions dated (in the utility's time zone)\n"
    "in the month to standard output, one row per register, ordered by\n"
    "contract, date and position. CSV columns:\n"
    "\n"
    "  contract,resource,position,register,tariff,value,previous,consumption,\n"
    "  date,time,channel,status,flags,id,submission\n"
    "\n"
    "tariff is T1/T2/T3 as GIS ZhKKh's MeteringValueT1..T3. json writes one\n"
    "object per line (the API's rows, with MeteringValueTn).\n"
    "\n"
    "  --period YYYY-MM the month (required)\n"
    "  --format F       csv (default) or json\n"
    "  --status LIST    statuses to include (default accepted,corrected; also\n"
    "                   review, superseded, annulled, rejected)\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 written, 1 database or write error, 2 usage.\n";

struct export_args {
	const char *config, *db, *period, *status;
	int format;
};

static const struct opt_choice export_formats[] = {
	{ "csv", CONSOLE_EXPORT_CSV },
	{ "json", CONSOLE_EXPORT_JSON },
	{ NULL, 0 },
};

static const struct opt export_opts[] = {
	{ "period", 0, OPT_STRING, offsetof(struct export_args, period) },
	{ "status", 0, OPT_STRING, offsetof(struct export_args, status) },
	{ "format", 0, OPT_CHOICE, offsetof(struct export_args, format),
	    .choices = export_formats },
	OPT_CONFIG(struct export_args),
	OPT_DB(struct export_args),
};

static const struct opts_spec export_spec = { .cmd = "export",
	.usage = export_usage,
	.opts = export_opts,
	.nopts = ARRAY_SIZE(export_opts),
	.min_args = 1,
	.max_args = 1,
	.missing = "meterline export: expected: readings --period YYYY-MM\n" };

int
cmd_export(int argc, char **argv)
{
	struct export_args a = { .format = CONSOLE_EXPORT_CSV };
	struct console_export_opts o = { 0 };
	struct config *cfg;
	char err[1024];
	long rows = 0;
	int rc, first;

	if ((rc = opts_parse(&export_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	o.statuses = a.status ? a.status : "accepted,corrected";
	if (strcmp(argv[first], "readings") != 0 ||
	    console_parse_period(a.period, &o.year, &o.month) != 0 ||
	    console_check_statuses(o.statuses) != 0) {
		fputs("meterline export: expected: readings --period YYYY-MM "
		      "[--status accepted,corrected,...]\n",
		    stderr);
		return EXIT_USAGE;
	}
	cfg = xmalloc(sizeof(*cfg));
	if (conf_resolve(cfg, a.config, a.db, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline export: %s\n", err);
		free(cfg);
		return 1;
	}
	o.conninfo = cfg->database.conninfo;
	o.tzname = cfg->window.timezone;
	o.format = (enum console_export_format)a.format;
	rc = console_export_readings(&o, stdout, &rows, err, sizeof(err));
	free(cfg);
	if (rc != 0) {
		fprintf(stderr, "meterline export: %s\n", err);
		return 1;
	}
	fprintf(stderr, "%ld readings\n", rows);
	return 0;
}
