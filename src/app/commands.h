/*
 * Subcommands of the meterline binary. Each takes argc/argv starting at its
 * own name, handles its own --help, and returns the process exit status:
 * 0 success, 1 failure, 2 usage error.
 */
#ifndef METERLINE_COMMANDS_H
#define METERLINE_COMMANDS_H

#define EXIT_USAGE 2

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_parse(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_maintain(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_export_log(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_webhook(int argc, char **argv);
int cmd_photo(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_remind(int argc, char **argv);

#endif
