/*
 * Schema migrations: schema/NNNN_name.sql, embedded in the binary at build
 * time (schema/embed.cmake), applied in order by `meterline migrate`.
 *
 * Applied versions are recorded in meterline_schema. Each migration runs in
 * its own transaction together with its version row, so a failure leaves
 * the database at the previous version. A database whose newest version is
 * above what this binary knows is refused: an old binary must not write to
 * a schema it does not understand.
 */
#ifndef METERLINE_MIGRATE_H
#define METERLINE_MIGRATE_H

#include <stddef.h>

struct migration {
	int version; /* NNNN of the file name */
	const char *name; /* "0001_init" */
	const char *sql; /* the file's text */
};

/* The embedded migrations, in version order (generated). */
extern const struct migration migrations[];
extern const size_t migrations_count;

/* Newest version this binary knows (0 if none). */
int migrate_latest(void);

struct migrate_report {
	int from; /* version found (0: empty database) */
	int to; /* version after the run */
	int applied; /* migrations applied by this run */
	int partitions; /* partitions created by this run */
};

/*
 * Bring the database at conninfo to migrate_latest(). Blocking: for the CLI
 * and tests only. Serialised against concurrent runs with an advisory lock.
 * Returns 0, or -1 with why in err (nothing of the failing migration is
 * applied).
 */
int migrate_run(
    const char *conninfo, struct migrate_report *, char *err, size_t errlen);

/* How many months ahead the store and migrate keep partitions. */
#define MIGRATE_PARTITIONS_AHEAD 3

#endif
