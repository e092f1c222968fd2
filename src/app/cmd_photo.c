/*
 * meterline photo get MESSAGE_ID FILE: the photo a customer sent with a
 * messenger message, as stored (docs/channels.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "meterline/ascii.h"
#include "meterline/conf.h"
#include "meterline/db.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char photo_usage[] =
    "usage: meterline photo get MESSAGE_ID FILE [--config FILE] [--db CONNINFO]\n"
    "\n"
    "Write the photo kept with message MESSAGE_ID (messages.id; the\n"
    "submission_photos view links submissions to theirs) to FILE ('-' for\n"
    "standard output). A photo still being fetched, over photo_max, or\n"
    "that could not be fetched is said so on stderr.\n"
    "\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 written, 1 no photo or an error, 2 usage.\n";

struct photo_args {
	const char *config, *db;
};

static const struct opt photo_opts[] = {
	OPT_CONFIG(struct photo_args),
	OPT_DB(struct photo_args),
};

static const struct opts_spec photo_spec = { .cmd = "photo",
	.usage = photo_usage,
	.opts = photo_opts,
	.nopts = ARRAY_SIZE(photo_opts),
	.min_args = 3,
	.max_args = 3,
	.missing = "meterline photo: usage: photo get MESSAGE_ID FILE" };

/* bytea's text form "\x<hex>" into its bytes, in place; the length. */
static size_t
photo_unhex(char *s)
{
	size_t n = 0;

	if (s[0] != '\\' || s[1] != 'x')
		return 0;
	for (const char *p = s + 2; p[0] && p[1]; p += 2) {
		int hi = ascii_hex(p[0]), lo = ascii_hex(p[1]);

		if (hi < 0 || lo < 0)
			return 0;
		s[n++] = (char)(hi << 4 | lo);
	}
	return n;
}

static int
photo_write(const char *path, const char *data, size_t len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	int rc = 0;

	if (f == NULL || fwrite(data, 1, len, f) != len)
		rc = -1;
	if (f != NULL && f != stdout && fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "meterline photo: cannot write %s\n", path);
	return rc;
}

/* The photo of message id into path; 0 or 1. */
static int
photo_get(struct db_sync *db, const char *id, const char *path)
{
	const char *p[1] = { id };
	char err[512];
	struct db_rows *r = db_sync_query(db,
	    "SELECT state, bytes, channel FROM message_photos"
	    " WHERE message_id = $1::int8",
	    1, p, err, sizeof(err));
	int rc = 1;

	if (r == NULL) {
		fprintf(stderr, "meterline photo: %s\n", err);
	} else if (db_rows_count(r) == 0) {
		fprintf(
		    stderr, "meterline photo: message %s has no photo\n", id);
	} else if (strcmp(db_rows_get(r, 0, 0), "stored") != 0) {
		fprintf(stderr, "meterline photo: message %s: photo %s\n", id,
		    db_rows_get(r, 0, 0));
	} else {
		char *hex = xstrdup(db_rows_get(r, 0, 1));
		size_t n = photo_unhex(hex);

		rc = photo_write(path, hex, n) == 0 ? 0 : 1;
		if (rc == 0 && strcmp(path, "-") != 0)
			fprintf(stderr, "%s photo of message %s: %zu bytes\n",
			    db_rows_get(r, 0, 2), id, n);
		free(hex);
	}
	db_rows_free(r);
	return rc;
}

int
cmd_photo(int argc, char **argv)
{
	struct photo_args a = { 0 };
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct db_sync *db = NULL;
	char err[4096];
	int rc, first;

	if ((rc = opts_parse(&photo_spec, argc, argv, &a, &first)) >= 0)
		goto out;
	rc = EXIT_USAGE;
	if (strcmp(argv[first], "get") != 0 ||
	    strspn(argv[first + 1], "0123456789") != strlen(argv[first + 1])) {
		fputs(photo_usage, stderr);
		goto out;
	}
	rc = 1;
	if (conf_resolve(cfg, a.config, a.db, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline photo: %s\n", err);
		goto out;
	}
	if ((db = db_sync_open(cfg->database.conninfo, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "meterline photo: %s\n", err);
		goto out;
	}
	rc = photo_get(db, argv[first + 1], argv[first + 2]);
out:
	db_sync_close(db);
	free(cfg);
	return rc;
}
