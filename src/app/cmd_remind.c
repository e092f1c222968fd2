/*
 * meterline remind: who gets a reminder before the deadline, and why
 * (--dry-run); queue or release them by hand (serve does both on its own
 * timer; docs/reminders.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/db.h"
#include "meterline/log.h"
#include "meterline/remind.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char remind_usage[] =
    "usage: meterline remind --dry-run [--date YYYY-MM-DD] [--config FILE]"
    " [--db CONNINFO]\n"
    "       meterline remind --queue [--date YYYY-MM-DD] [...]\n"
    "       meterline remind --release [--max N] [...]\n"
    "\n"
    "Reminders before the deadline ([reminders] in the config). serve queues\n"
    "and sends them by itself; this command shows and does the same steps.\n"
    "\n"
    "  --dry-run        list who would get a reminder on the date and why\n"
    "                   (phones masked); changes nothing\n"
    "  --queue          queue the date's reminders now, once per date (as\n"
    "                   serve does at [reminders] time)\n"
    "  --release        put queued reminders into the outbox of their channel\n"
    "                   now, ignoring rate and quiet hours (serve then sends)\n"
    "  --date D         the reminder date (default: today, [window] timezone)\n"
    "  --max N          at most N per channel with --release (default 100000)\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  --db CONNINFO    libpq connection string; overrides [database] conninfo\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 done, 1 failure, 2 usage.\n";

struct remind_args {
	const char *config, *db, *date;
	bool dry_run, queue, release;
	int max;
};

#define A(m) offsetof(struct remind_args, m)
static const struct opt remind_opts[] = {
	OPT_CONFIG(struct remind_args),
	OPT_DB(struct remind_args),
	{ "dry-run", 0, OPT_FLAG, A(dry_run) },
	{ "queue", 0, OPT_FLAG, A(queue) },
	{ "release", 0, OPT_FLAG, A(release) },
	{ "date", 0, OPT_STRING, A(date) },
	{ "max", 0, OPT_INT, A(max), 1, 100000000, NULL },
};
#undef A

static const struct opts_spec remind_spec = { .cmd = "remind",
	.usage = remind_usage,
	.opts = remind_opts,
	.nopts = ARRAY_SIZE(remind_opts),
	.max_args = 0 };

/* One line per target: contract, channel, masked phone or chat, why. */
static void
remind_print(const struct remind_target *t, void *arg)
{
	char masked[32];

	(void)arg;
	printf("%s %s %s: %s%s\n", t->contract, t->channel,
	    log_mask_phone(t->target, masked, sizeof(masked)), t->why,
	    t->queued ? " [queued already]" : "");
}

/* The date asked for, or today's local date. */
static int
remind_pick_date(const struct config *cfg, const char *arg, int32_t *date)
{
	if (arg == NULL) {
		*date = remind_local_date(cfg, (int64_t)time(NULL));
		return 0;
	}
	if (remind_date_parse(arg, date) == 0)
		return 0;
	fprintf(stderr, "meterline remind: --date %s is not YYYY-MM-DD\n", arg);
	return -1;
}

/* --dry-run and --queue: the date's reminders. */
static int
remind_date_cmd(struct db_sync *db, const struct config *cfg,
    const struct remind_args *a, int32_t date, char *err, size_t errlen)
{
	struct remind_due d;
	char day[16];
	long n;

	remind_date_str(date, day, sizeof(day));
	if (!remind_due_on(cfg, date, &d)) {
		printf("%s: no reminders (not a reminder day inside a "
		       "window)\n",
		    day);
		return 0;
	}
	n = a->dry_run
	    ? remind_dry_run(db, cfg, &d, remind_print, NULL, err, errlen)
	    : remind_queue(db, cfg, &d, err, errlen);
	if (n < 0)
		return -1;
	printf("%s: %ld reminder%s %s\n", day, n, n == 1 ? "" : "s",
	    a->dry_run ? "would be queued (dry run: nothing changed)"
	               : "queued (0: queued before, or none due)");
	return 0;
}

/* --release: every configured channel, up to max each. */
static int
remind_release_cmd(struct db_sync *db, const struct config *cfg, int max,
    char *err, size_t errlen)
{
	const char *s = cfg->reminders.channels;
	int32_t today = remind_local_date(cfg, (int64_t)time(NULL));
	char name[32];

	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		long n, sent = 0;

		snprintf(name, sizeof(name), "%.*s", (int)len, s);
		if ((n = remind_release(
		         db, cfg, name, max, today, &sent, err, errlen)) < 0)
			return -1;
		printf("%s: %ld reminder%s into the outbox, %ld skipped "
		       "(submitted, opted out or too late)\n",
		    name, sent, sent == 1 ? "" : "s", n - sent);
		s += len + (s[len] == ',');
	}
	return 0;
}

static int
remind_run(const struct remind_args *a, char *err, size_t errlen)
{
	struct config *cfg = xmalloc(sizeof(*cfg));
	struct db_sync *db = NULL;
	int32_t date;
	int rc = -1;

	if (conf_resolve(cfg, a->config, a->db, NULL, err, errlen) != 0)
		goto out;
	if (!cfg->reminders.enabled) {
		snprintf(err, errlen, "no [reminders] section in the config");
		goto out;
	}
	if (remind_pick_date(cfg, a->date, &date) != 0) {
		rc = -2;
		goto out;
	}
	if ((db = db_sync_open(cfg->database.conninfo, err, errlen)) == NULL)
		goto out;
	rc = a->release ? remind_release_cmd(db, cfg, a->max, err, errlen)
	                : remind_date_cmd(db, cfg, a, date, err, errlen);
out:
	db_sync_close(db);
	free(cfg);
	return rc;
}

int
cmd_remind(int argc, char **argv)
{
	struct remind_args a = { .max = 100000 };
	char err[4096];
	int rc, first;

	if ((rc = opts_parse(&remind_spec, argc, argv, &a, &first)) >= 0)
		return rc;
	if (a.dry_run + a.queue + a.release != 1) {
		fprintf(stderr,
		    "meterline remind: give one of --dry-run, "
		    "--queue, --release\n%s",
		    remind_usage);
		return EXIT_USAGE;
	}
	if ((rc = remind_run(&a, err, sizeof(err))) == -2)
		return EXIT_USAGE;
	if (rc != 0) {
		fprintf(stderr, "meterline remind: %s\n", err);
		return 1;
	}
	return 0;
}
