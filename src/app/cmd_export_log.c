/*
 * meterline export-log: the message log as JSON Lines on standard output,
 * the format `meterline replay` reads back.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/replay.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char export_usage[] =
    "usage: meterline export-log [--since T] [--until T] [--channel C]\n"
    "                            [--config FILE] [--db CONNINFO]\n"
    "\n"
    "Write the message log as JSON Lines on standard output, oldest first,\n"
    "one object per message:\n"
    "\n"
    "  {\"id\":\"...\",\"time\":\"2026-11-24T12:30:00+03:00\",\"channel\":\"sms\",\n"
    "   \"from\":\"79001234567\",\"to\":\"7377\",\"text\":\"ПС 123859\",\n"
    "   \"outcome\":\"prompt\",\"reason\":null,\"reply\":\"...\"}\n"
    "\n"
    "id is the channel's message id, or for messages without one (SMS) the\n"
    "stable id replay gives them. Times are in the configured time zone.\n"
    "\n"
    "  --since T        messages whose own time is at or after T\n"
    "  --until T        messages whose own time is before T\n"
    "                   (T: RFC 3339 with offset, or YYYY-MM-DD = local midnight)\n"
    "  --channel C      only channel C (sms, viber, ...)\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 written, 1 database or write error, 2 usage.\n";

struct export_args {
	const char *config, *db, *since, *until, *channel;
};

static const struct opt export_opts[] = {
	{ "since", 0, OPT_STRING, offsetof(struct export_args, since) },
	{ "until", 0, OPT_STRING, offsetof(struct export_args, until) },
	{ "channel", 0, OPT_STRING, offsetof(struct export_args, channel) },
	OPT_CONFIG(struct export_args),
	OPT_DB(struct export_args),
};

static const struct opts_spec export_spec = { .cmd = "export-log",
	.usage = export_usage,
	.opts = export_opts,
	.nopts = ARRAY_SIZE(export_opts),
	.max_args = 0 };

/* --since and --until in the configured zone; -1 when malformed. */
static int
export_times(const struct export_args *a, struct replay_export_opts *o)
{
	o->has_since = a->since != NULL;
	o->has_until = a->until != NULL;
	if (a->since && replay_when_parse(a->since, o->tz, &o->since_us) != 0)
		return -1;
	if (a->until && replay_when_parse(a->until, o->tz, &o->until_us) != 0)
		return -1;
	return 0;
}

int
cmd_export_log(int argc, char **argv)
{
	struct export_args a = { 0 };
	struct replay_export_opts o = { 0 };
	struct config *cfg;
	char err[4096];
	long rows;
	int rc, first;

	if ((rc = opts_parse(&export_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	cfg = xmalloc(sizeof(*cfg));
	if (conf_resolve(cfg, a.config, a.db, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline export-log: %s\n", err);
		free(cfg);
		return 1;
	}
	o.conninfo = cfg->database.conninfo;
	o.tz = &cfg->window.tz;
	o.channel = a.channel;
	if (export_times(&a, &o) != 0) {
		fprintf(stderr,
		    "meterline export-log: --since/--until take RFC 3339 with an offset or YYYY-MM-DD\n");
		free(cfg);
		return EXIT_USAGE;
	}
	rc = replay_export(&o, stdout, &rows, err, sizeof(err));
	free(cfg);
	if (rc != 0) {
		fprintf(stderr, "meterline export-log: %s\n", err);
		return 1;
	}
	return 0;
}
