/*
 * One option parser for every command: a command declares its options
 * once, in a table of struct opt that names the field of its own argument
 * struct each option fills (offsetof), and opts_parse does the rest:
 * getopt_long, --help/-h, numbers checked against their bounds, choices,
 * the count of positional arguments, and the messages of usage errors.
 */
#ifndef METERLINE_APP_OPTS_H
#define METERLINE_APP_OPTS_H

#include <stdbool.h>
#include <stddef.h>

enum opt_type {
	OPT_FLAG, /* bool, set to true */
	OPT_STRING, /* const char *, argv's string */
	OPT_INT, /* int within min..max */
	OPT_CHOICE, /* int: the value of the matching choice */
};

struct opt_choice {
	const char *name;
	int value;
};

struct opt {
	const char *name; /* long name, without "--" */
	char short_name; /* 0 when there is none */
	enum opt_type type;
	size_t off; /* offsetof the field in the command's argument struct */
	int min, max; /* OPT_INT */
	const struct opt_choice *choices; /* OPT_CHOICE, ends with NULL name */
};

/* The options most commands share; TYPE is the argument struct. */
#define OPT_CONFIG(type) \
	{ \
		"config", 0, OPT_STRING, offsetof(type, config) \
	}
#define OPT_DB(type) \
	{ \
		"db", 0, OPT_STRING, offsetof(type, db) \
	}

/* A command's command line. */
struct opts_spec {
	const char *cmd; /* "replay", in messages */
	const char *usage; /* the --help text (stdout) */
	/* after a usage error on stderr; NULL = usage */
	const char *brief;
	/* what follows "unknown option '--x'"; NULL = nothing */
	const char *unknown_hint;
	const struct opt *opts;
	size_t nopts;
	int min_args, max_args; /* positional arguments; max -1 = any */
	/* the message when fewer than min_args; NULL = the usage alone */
	const char *missing;
};

/*
 * Parse argv (argv[0] is the command's name) into args, the struct the
 * table's offsets refer to. Options and arguments may come in any order;
 * "--" ends the options. Returns -1 to go on, with the positional
 * arguments at argv[*first] to argv[argc - 1]; or the exit status to return
 * at once: 0 after --help (printed), EXIT_USAGE after a usage error
 * (reported on stderr).
 */
int opts_parse(
    const struct opts_spec *, int argc, char **argv, void *args, int *first);

#endif
