/*
 * The console's command-line tools, blocking (never on the loop):
 * `meterline user add`, `meterline token add`, `meterline export readings`
 * (docs/console.md).
 */
#ifndef METERLINE_CONSOLE_CLI_H
#define METERLINE_CONSOLE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Create console user name with role (admin, support, manager) and the
 * password (hashed here with argon2id), or with --update set the password
 * and role of an existing one. actor is written to the audit log.
 * 0, or -1 with why in err.
 */
int console_user_add(const char *conninfo, const char *name, const char *role,
    const char *password, bool update, const char *actor, char *err,
    size_t errlen);

/*
 * Set the houses a manager serves (issue 18): houses is a list of house
 * ids separated by commas ("3,7"), replacing the user's earlier set; an
 * unknown id is an error and nothing changes. Audited. 0, or -1 with why.
 */
int console_user_houses(const char *conninfo, const char *name,
    const char *houses, const char *actor, char *err, size_t errlen);

/*
 * Create API token name: 32 random bytes, printed once as 64 hex digits
 * into token; only its SHA-256 is stored. 0, or -1 with why in err.
 */
int console_token_add(const char *conninfo, const char *name, const char *actor,
    char token[65], char *err, size_t errlen);

enum console_export_format { CONSOLE_EXPORT_CSV, CONSOLE_EXPORT_JSON };

struct console_export_opts {
	const char *conninfo;
	const char *tzname; /* the utility's zone, for times */
	int year, month; /* the period: readings of submissions dated in it */
	enum console_export_format format;
	const char *statuses; /* "accepted,corrected" */
};

/* Write the period's readings to out; rows counts them. 0, or -1. */
int console_export_readings(const struct console_export_opts *, FILE *out,
    long *rows, char *err, size_t errlen);

/* "2026-11" -> year, month. 0 or -1. */
int console_parse_period(const char *s, int *year, int *month);

/* "accepted,corrected": every item a known status. 0 or -1. */
int console_check_statuses(const char *s);

#endif
