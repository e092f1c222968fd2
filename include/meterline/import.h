/*
 * Contract import from billing: a CSV with a header, one row per register,
 *
 *   contract,resource,position,register,digits,last_value,last_date[,status]
 *
 * loaded with upsert semantics in one transaction: COPY into a temporary
 * table, checks across rows in SQL, then one INSERT ... ON CONFLICT per
 * table. A bad line is reported and skipped together with the other lines
 * of its contract (half a contract would make the dialog ask for the wrong
 * registers); the rest is loaded. docs/store.md has the rules.
 */
#ifndef METERLINE_IMPORT_H
#define METERLINE_IMPORT_H

#include <stdio.h>

struct import_report {
	long lines; /* data lines read (header excluded) */
	long bad_lines; /* reported and skipped */
	long contracts_skipped; /* had a bad line: none of their lines loaded */
	long contracts; /* contracts loaded (new, changed or not) */
	long contracts_new; /* of which new */
	/* of which existing with another resource or status */
	long contracts_changed;
	long registers_removed; /* of loaded contracts, absent from the file */
	long registers; /* registers loaded */
	long registers_changed; /* of which new or changed */
	double seconds;
};

/* One bad line: file name, line number (1 = header), why. */
typedef void (*import_bad_cb)(
    const char *name, long line, const char *why, void *arg);

/*
 * Import the CSV read from `in` (called `name` in reports) into the
 * database at conninfo. Blocking (CLI, tests, bench). Returns 0 when the
 * file was processed, even with bad lines; -1 with why in err when nothing
 * was loaded (no database, bad header, I/O or SQL error).
 */
int import_contracts(const char *conninfo, FILE *in, const char *name,
    import_bad_cb bad, void *arg, struct import_report *, char *err,
    size_t errlen);

/*
 * Phone import (issue 17): a CSV with the header contract,phone, one
 * binding a line. Phones are normalised to the international digits an
 * SMS sender arrives as; lines of unknown contracts are reported and
 * skipped; the rest is added to bindings (existing ones stay). One
 * transaction. Returns as import_contracts.
 */
struct import_phones_report {
	long lines; /* data lines read (header excluded) */
	long bad_lines; /* reported and skipped */
	long bindings; /* distinct (phone, contract) loaded */
	long bindings_new; /* of which not bound before */
	double seconds;
};

int import_phones(const char *conninfo, FILE *in, const char *name,
    import_bad_cb bad, void *arg, struct import_phones_report *, char *err,
    size_t errlen);

/*
 * House import (issue 18, docs/house-entry.md): a CSV with the header
 * contract,city,street,number,apartment,serials, one contract a line;
 * serials are the registers' serial numbers in position order, separated
 * by spaces or ';'. Houses are created as needed; each contract gets its
 * house and apartment, each register its serial. Lines of unknown
 * contracts are reported and skipped. One transaction. Returns as
 * import_contracts.
 */
struct import_houses_report {
	long lines; /* data lines read (header excluded) */
	long bad_lines; /* reported and skipped */
	long houses; /* distinct houses in the file */
	long houses_new; /* of which created */
	long contracts; /* contracts given a house */
	long serials; /* registers given a serial */
	double seconds;
};
int import_houses(const char *conninfo, FILE *in, const char *name,
    import_bad_cb bad, void *arg, struct import_houses_report *, char *err,
    size_t errlen);

/*
 * The per-line checks of import_contracts without a database (for the
 * fuzzer and a dry run): the header, every field of every line. Checks
 * across lines need the database and are not made. The same report,
 * without contract counts; the same return.
 */
int import_check_csv(FILE *in, const char *name, import_bad_cb bad, void *arg,
    struct import_report *, char *err, size_t errlen);

/* The same for import_phones and import_houses: the header and the
   checks of every line, nothing loaded (counts of the database stay 0). */
int import_check_phones(FILE *in, const char *name, import_bad_cb bad,
    void *arg, struct import_phones_report *, char *err, size_t errlen);
int import_check_houses(FILE *in, const char *name, import_bad_cb bad,
    void *arg, struct import_houses_report *, char *err, size_t errlen);

#endif
