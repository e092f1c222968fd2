/* meterline: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

/* Add one line here per subcommand; keep them in the order of --help. */
static const struct command commands[] = {
	{ "serve", cmd_serve, "run the gateway (SMPP, HTTP bridge, store)" },
	{ "parse", cmd_parse, "show what a customer's text means" },
	{ "migrate", cmd_migrate, "create or upgrade the database schema" },
	{ "maintain", cmd_maintain, "drop what [retention] no longer keeps" },
	{ "import", cmd_import, "load contracts from billing (CSV)" },
	{ "replay", cmd_replay, "apply a message log again (dry run, report)" },
	{ "export-log", cmd_export_log, "write the message log as JSON Lines" },
	{ "webhook", cmd_webhook, "register a messenger bot's webhook" },
	{ "photo", cmd_photo, "write a photo a customer sent to a file" },
	{ "export", cmd_export, "export a month's readings for billing" },
	{ "user", cmd_user, "add a user of the support console" },
	{ "token", cmd_token, "add a token of the billing API" },
	{ "remind", cmd_remind, "reminders before the deadline (dry run)" },
};

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: meterline <command> [options] [args]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(
		    f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'meterline <command> --help' describes one command.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("meterline %s\n", MLINE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "meterline: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
