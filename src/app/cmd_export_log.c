/*
 * meterline export-log: the message log as JSON Lines on standard output,
 * the format `meterline replay` reads back.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/db.h"
#include "meterline/replay.h"

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

static int
export_parse_args(int argc, char **argv, struct export_args *a)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "channel", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': a->since = optarg; break;
		case 'u': a->until = optarg; break;
		case 'C': a->channel = optarg; break;
		case 'c': a->config = optarg; break;
		case 'd': a->db = optarg; break;
		case 'h': fputs(export_usage, stdout); return 0;
		default: fputs(export_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(export_usage, stderr);
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_export_log(int argc, char **argv)
{
	struct export_args a = { 0 };
	struct replay_export_opts o = { 0 };
	struct config *cfg;
	char conninfo[1024], err[4096];
	bool defaults;
	long rows;
	int rc;

	if ((rc = export_parse_args(argc, argv, &a)) >= 0)
		return rc;
	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL ||
	    replay_config(cfg, a.config, a.db, &defaults, conninfo,
	        sizeof(conninfo), err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline export-log: %s\n",
		    cfg ? err : "out of memory");
		free(cfg);
		return 1;
	}
	o.conninfo = conninfo;
	o.tz = &cfg->window.tz;
	o.channel = a.channel;
	o.has_since = a.since != NULL;
	o.has_until = a.until != NULL;
	if ((a.since && replay_when_parse(a.since, o.tz, &o.since_us) != 0) ||
	    (a.until && replay_when_parse(a.until, o.tz, &o.until_us) != 0)) {
		fprintf(stderr,
		    "meterline export-log: --since/--until take RFC 3339 "
		    "with an offset or YYYY-MM-DD\n");
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
