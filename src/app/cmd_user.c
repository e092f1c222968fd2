/*
 * meterline user add NAME --role admin|support|manager: a console user.
 * The password comes from a prompt (twice, not echoed) on a terminal, or
 * as the first line of standard input otherwise; it is hashed here with
 * argon2id and never stored or logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/console_cli.h"
#include "meterline/xmalloc.h"
#include "opts.h"

#define USER_PW_MAX 1024

static const char user_usage[] =
    "usage: meterline user add NAME --role admin|support|manager [--update]\n"
    "                          [--houses ID,...] [--config FILE] [--db CONNINFO]\n"
    "\n"
    "Create a user of the support console. The password is asked twice on a\n"
    "terminal, or read as the first line of standard input:\n"
    "\n"
    "  printf '%s\\n' \"$PW\" | meterline user add ivanova --role support\n"
    "\n"
    "Names: 1-64 of a-z 0-9 . _ -. Passwords: 10 characters or more, stored\n"
    "as argon2id (libsodium). Roles: admin (everything, users), support\n"
    "(search, corrections, review), manager (read only). The creation is\n"
    "written to the console's audit log as cli:<unix user>.\n"
    "\n"
    "  --role ROLE      admin, support or manager (required)\n"
    "  --update         the user may exist: set its password and role, enable it\n"
    "  --houses ID,...  a manager's houses (ids of `meterline import houses`),\n"
    "                   replacing any it had; the house entry page shows only them\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 done, 1 error, 2 usage.\n";

struct user_args {
	const char *config, *db, *role, *houses;
	bool update;
};

static const struct opt user_opts[] = {
	{ "role", 0, OPT_STRING, offsetof(struct user_args, role) },
	{ "update", 0, OPT_FLAG, offsetof(struct user_args, update) },
	{ "houses", 0, OPT_STRING, offsetof(struct user_args, houses) },
	OPT_CONFIG(struct user_args),
	OPT_DB(struct user_args),
};

static const struct opts_spec user_spec = { .cmd = "user",
	.usage = user_usage,
	.opts = user_opts,
	.nopts = ARRAY_SIZE(user_opts),
	.min_args = 2,
	.max_args = 2,
	.missing = "meterline user: expected: add NAME --role ROLE\n" };

/* One line without its end into buf; -1 at EOF or when too long. */
static int
user_read_line(FILE *in, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, in) == NULL)
		return -1;
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == len - 1)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Prompt without echo on the terminal. */
static int
user_prompt(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	int rc;

	fputs(prompt, stderr);
	if (tcgetattr(STDIN_FILENO, &old) != 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	rc = user_read_line(stdin, buf, len);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

static int
user_password(char *pw, size_t len)
{
	char again[USER_PW_MAX + 2];
	int rc;

	if (!isatty(STDIN_FILENO))
		return user_read_line(stdin, pw, len);
	if (user_prompt("Password: ", pw, len) != 0 ||
	    user_prompt("Again: ", again, sizeof(again)) != 0)
		return -1;
	rc = strcmp(pw, again) == 0 ? 0 : -2;
	memset(again, 0, sizeof(again));
	return rc;
}

int
cmd_user(int argc, char **argv)
{
	struct user_args a = { 0 };
	struct config *cfg;
	char err[1024], pw[USER_PW_MAX + 2];
	int rc, first, prc;

	if ((rc = opts_parse(&user_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	if (strcmp(argv[first], "add") != 0 || a.role == NULL) {
		fputs(
		    "meterline user: expected: add NAME --role ROLE\n", stderr);
		return EXIT_USAGE;
	}
	cfg = xmalloc(sizeof(*cfg));
	if (conf_resolve(cfg, a.config, a.db, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline user: %s\n", err);
		free(cfg);
		return 1;
	}
	if ((prc = user_password(pw, sizeof(pw))) != 0) {
		fprintf(stderr, "meterline user: %s\n",
		    prc == -2 ? "the passwords differ"
		              : "no password (first line of stdin, at most "
		                "1024 characters)");
		free(cfg);
		return 1;
	}
	rc = console_user_add(cfg->database.conninfo, argv[first + 1], a.role,
	    pw, a.update, NULL, err, sizeof(err));
	memset(pw, 0, sizeof(pw));
	if (rc == 0 && a.houses != NULL)
		rc = console_user_houses(cfg->database.conninfo,
		    argv[first + 1], a.houses, NULL, err, sizeof(err));
	free(cfg);
	if (rc != 0) {
		fprintf(stderr, "meterline user: %s\n", err);
		return 1;
	}
	printf("user %s (%s) saved\n", argv[first + 1], a.role);
	return 0;
}
