/*
 * meterline token add NAME: a bearer token for one billing integration of
 * GET /api/v1/readings. Printed once; only its SHA-256 is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/console_cli.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char token_usage[] =
    "usage: meterline token add NAME [--config FILE] [--db CONNINFO]\n"
    "\n"
    "Create an API token for the billing integration NAME (1-64 of a-z 0-9\n"
    ". _ -) and print it on standard output, once: 64 hex digits, sent as\n"
    "\"Authorization: Bearer <token>\" to GET /api/v1/readings. Only its\n"
    "SHA-256 is stored; revoke it with\n"
    "UPDATE api_tokens SET revoked_at = now() WHERE name = 'NAME'.\n"
    "\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 created, 1 error (a name already used), 2 usage.\n";

struct token_args {
	const char *config, *db;
};

static const struct opt token_opts[] = {
	OPT_CONFIG(struct token_args),
	OPT_DB(struct token_args),
};

static const struct opts_spec token_spec = { .cmd = "token",
	.usage = token_usage,
	.opts = token_opts,
	.nopts = ARRAY_SIZE(token_opts),
	.min_args = 2,
	.max_args = 2,
	.missing = "meterline token: expected: add NAME\n" };

int
cmd_token(int argc, char **argv)
{
	struct token_args a = { 0 };
	struct config *cfg;
	char err[1024], token[65];
	int rc, first;

	if ((rc = opts_parse(&token_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	if (strcmp(argv[first], "add") != 0) {
		fputs("meterline token: expected: add NAME\n", stderr);
		return EXIT_USAGE;
	}
	cfg = xmalloc(sizeof(*cfg));
	if (conf_resolve(cfg, a.config, a.db, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline token: %s\n", err);
		free(cfg);
		return 1;
	}
	rc = console_token_add(cfg->database.conninfo, argv[first + 1], NULL,
	    token, err, sizeof(err));
	free(cfg);
	if (rc != 0) {
		fprintf(stderr, "meterline token: %s\n", err);
		return 1;
	}
	printf("%s\n", token);
	memset(token, 0, sizeof(token));
	return 0;
}
