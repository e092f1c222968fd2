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
    "usage: meterline export-log [--from T] [--to T] [--contract N]\n"
    "                            [--sender S] [--outcome O] [--channel C]\n"
    "                            [--config FILE] [--db CONNINFO]\n"
    "\n"
    "Write the message log as JSON Lines on standard output, in the\n"
    "messages' time order, one object per message:\n"
    "\n"
    "  {\"id\":\"...\",\"time\":\"2026-11-24T12:30:00+03:00\",\"channel\":\"sms\",\n"
    "   \"from\":\"79001234567\",\"to\":\"7377\",\"text\":\"ПС 123859 45055 23186\",\n"
    "   \"outcome\":\"accepted\",\"reason\":null,\"reply\":\"...\",\n"
    "   \"contract\":\"123859\",\"values\":[45055,23186],\"status\":\"accepted\",\n"
    "   \"delivery\":\"delivered\",\"receipt\":\"DELIVRD\"}\n"
    "\n"
    "id is the channel's message id, or for messages without one (SMS) the\n"
    "stable id replay gives them. Times are in the configured time zone.\n"
    "values and status: the readings the message stored and their\n"
    "submission's status (accepted, review, superseded); delivery and\n"
    "receipt: its SMS reply's outbox state and delivery receipt. Replay\n"
    "reads the file back (and ignores what it does not need).\n"
    "\n"
    "  --from T         messages whose own time is at or after T\n"
    "  --to T           messages whose own time is before T\n"
    "                   (T: RFC 3339 with offset, or YYYY-MM-DD = local midnight;\n"
    "                   --since and --until are the same options)\n"
    "  --contract N     only messages about contract N\n"
    "  --sender S       only messages from S (a phone number or messenger id)\n"
    "  --outcome O      only outcome O (accepted, prompt, rejected, help,\n"
    "                   cancelled, duplicate...)\n"
    "  --channel C      only channel C (sms, viber, ...)\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 written, 1 database or write error, 2 usage.\n";

struct export_args {
	const char *config, *db, *since, *until, *channel;
	const char *contract, *sender, *outcome;
};

#define A(field) offsetof(struct export_args, field)
static const struct opt export_opts[] = {
	{ "from", 0, OPT_STRING, A(since) },
	{ "to", 0, OPT_STRING, A(until) },
	{ "since", 0, OPT_STRING, A(since) },
	{ "until", 0, OPT_STRING, A(until) },
	{ "channel", 0, OPT_STRING, A(channel) },
	{ "contract", 0, OPT_STRING, A(contract) },
	{ "sender", 0, OPT_STRING, A(sender) },
	{ "outcome", 0, OPT_STRING, A(outcome) },
	OPT_CONFIG(struct export_args),
	OPT_DB(struct export_args),
};
#undef A

static const struct opts_spec export_spec = { .cmd = "export-log",
	.usage = export_usage,
	.opts = export_opts,
	.nopts = ARRAY_SIZE(export_opts),
	.max_args = 0 };

/* --from and --to in the configured zone; -1 when malformed. */
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
	o.contract = a.contract;
	o.sender = a.sender;
	o.outcome = a.outcome;
	if (export_times(&a, &o) != 0) {
		fprintf(stderr,
		    "meterline export-log: --from/--to take RFC 3339 with an offset or YYYY-MM-DD\n");
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
