/*
 * meterline serve: the arguments of the daemon. The daemon itself (the
 * wiring of store, channels, metrics and signals) is serve_run in
 * src/serve/serve.c.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/config.h"
#include "meterline/serve.h"
#include "meterline/xmalloc.h"
#include "opts.h"

#define SERVE_DUMP_MAX (1 << 16)

static const char serve_usage[] =
    "usage: meterline serve [--config FILE] [--db CONNINFO] [--check]\n"
    "\n"
    "Run the gateway: the SMPP link ([smpp]), the messenger bridge\n"
    "([http]) and the store, until SIGTERM or SIGINT.\n"
    "\n"
    "  --config FILE   config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO   overrides [database] conninfo\n"
    "  --check         load and check the config, print it (secrets\n"
    "                  masked), and exit\n";

struct serve_args {
	const char *config, *db;
	bool check;
};

static const struct opt serve_opts[] = {
	OPT_CONFIG(struct serve_args),
	OPT_DB(struct serve_args),
	{ "check", 0, OPT_FLAG, offsetof(struct serve_args, check) },
};

static const struct opts_spec serve_spec = { .cmd = "serve",
	.usage = serve_usage,
	.opts = serve_opts,
	.nopts = ARRAY_SIZE(serve_opts),
	.max_args = 0 };

/* --check: the effective config, secrets masked. */
static void
serve_print_config(const struct config *cfg)
{
	char *dump = xmalloc(SERVE_DUMP_MAX);

	config_dump(cfg, dump, SERVE_DUMP_MAX);
	fputs(dump, stdout);
	free(dump);
}

/* The config, with something to serve; NULL after reporting why not. */
static struct config *
serve_config(const struct serve_args *a)
{
	struct config *cfg = xmalloc(sizeof(*cfg));
	const char *source;
	char err[4096];

	if (conf_resolve(cfg, a->config, a->db, &source, err, sizeof(err)) ==
	    0) {
		if (serve_check(cfg, err, sizeof(err)) == 0)
			return cfg;
		fprintf(stderr, "meterline serve: %s: %s\n",
		    source != NULL ? source : "no config file", err);
	} else {
		fprintf(stderr, "meterline serve: %s\n", err);
	}
	free(cfg);
	return NULL;
}

int
cmd_serve(int argc, char **argv)
{
	struct serve_args a = { 0 };
	struct config *cfg;
	char err[512];
	int rc, first;

	if ((rc = opts_parse(&serve_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	if ((cfg = serve_config(&a)) == NULL)
		return 1;
	if (a.check)
		serve_print_config(cfg);
	else if ((rc = serve_run(cfg, err, sizeof(err))) != 0)
		fprintf(stderr, "meterline serve: %s\n", err);
	free(cfg);
	return rc == 0 ? 0 : 1;
}
