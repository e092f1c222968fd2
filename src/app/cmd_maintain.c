/*
 * meterline maintain: apply [retention] once (docs/retention.md), e.g.
 * from a systemd timer; serve does the same every [retention] interval.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "meterline/clock.h"
#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/maintain.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char maintain_usage[] =
    "usage: meterline maintain [--config FILE] [--db CONNINFO] [--ahead D]\n"
    "\n"
    "Apply the [retention] periods: detach and drop the monthly partitions\n"
    "of messages and outbox that end before now - period, delete older\n"
    "stable ids and photos. A period of 0 (the default) keeps everything.\n"
    "Safe to run while serve runs, and from several machines at once.\n"
    "\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  --ahead D        act as if the clock were D (90s, 30m, 2h, 400d) ahead\n"
    "  -h, --help       this text\n";

struct maintain_args {
	const char *config, *db, *ahead;
};

static const struct opt maintain_opts[] = {
	OPT_CONFIG(struct maintain_args),
	OPT_DB(struct maintain_args),
	{ "ahead", 0, OPT_STRING, offsetof(struct maintain_args, ahead) },
};

static const struct opts_spec maintain_spec = { .cmd = "maintain",
	.usage = maintain_usage,
	.opts = maintain_opts,
	.nopts = ARRAY_SIZE(maintain_opts),
	.max_args = 0 };

/* Resolve the config and run; 0, 1 (failure) or 2 (usage). */
static int
maintain_go(const struct maintain_args *a, struct config *cfg)
{
	struct retention_report rep;
	int64_t ahead = 0;
	char err[4096];

	if (a->ahead != NULL && config_parse_duration(a->ahead, &ahead) != 0) {
		fprintf(stderr,
		    "meterline maintain: --ahead takes a duration: 90s, 30m, 2h, 400d\n");
		return EXIT_USAGE;
	}
	if (conf_resolve(cfg, a->config, a->db, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline maintain: %s\n", err);
		return 1;
	}
	if (!maintain_wanted(cfg)) {
		printf(
		    "retention: no periods set in [retention]: nothing to do\n");
		return 0;
	}
	if (maintain_run(cfg, clock_real_us() + ahead * 1000000, &rep, err,
	        sizeof(err)) < 0) {
		fprintf(stderr, "meterline maintain: %s\n", err);
		return 1;
	}
	printf(
	    "retention: %d partitions dropped, %lld ids and %lld photos deleted\n",
	    rep.partitions, (long long)rep.ids, (long long)rep.photos);
	return 0;
}

int
cmd_maintain(int argc, char **argv)
{
	struct maintain_args a = { 0 };
	struct config *cfg;
	int rc, first;

	if ((rc = opts_parse(&maintain_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	cfg = xmalloc(sizeof(*cfg));
	rc = maintain_go(&a, cfg);
	free(cfg);
	return rc;
}
