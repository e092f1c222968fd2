/*
 * The domain model: a contract (one billing account for one resource) and
 * its ordered registers (one value to read each). Contracts come from
 * billing through the import command; the store loads one before the dialog
 * engine decides a message.
 *
 * Every struct here is fixed-size and holds no pointers, so the store can
 * keep them on the stack or in a batch array, copy them with memcpy, and
 * nothing on the hot path allocates.
 */
#ifndef METERLINE_MODEL_H
#define METERLINE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_REGISTERS 6
#define MODEL_CONTRACT_MAX 12 /* digits of a contract number (as parse.h) */
#define MODEL_NAME_MAX 47 /* bytes of a register's display name (UTF-8) */
#define MODEL_DIGITS_MIN 4 /* digit capacity (значность) of a register */
#define MODEL_DIGITS_MAX 9 /* so every value fits a PostgreSQL integer */
#define MODEL_DATE_NONE INT32_MIN
#define MODEL_SERIAL_MAX 32 /* bytes of a meter's serial number */

enum model_resource {
	MODEL_RES_ELECTRICITY,
	MODEL_RES_HOT_WATER,
	MODEL_RES_COLD_WATER,
	MODEL__RES_MAX
};

enum model_status { MODEL_ST_ACTIVE, MODEL_ST_CLOSED, MODEL__ST_MAX };

/*
 * One register: the scale of a one-tariff meter, day or night of a
 * two-tariff one, пик/полупик/ночь, or one of several water meters.
 *
 * Dates are civil dates in the utility's time zone, counted in days since
 * 1970-01-01 (PostgreSQL: `d - DATE '1970-01-01'` and back with
 * `DATE '1970-01-01' + n`); see model_date_from_ymd().
 */
struct model_register {
	uint8_t position; /* 1-based order in the dialog */
	uint8_t digits; /* capacity, MODEL_DIGITS_MIN..MAX */
	bool has_last; /* false for a new meter */
	uint32_t last_value; /* last accepted value, when has_last */
	int32_t last_date; /* its date, or MODEL_DATE_NONE */
	/*
	 * The accepted value before last (what last replaced), so a customer
	 * can correct a typo within the same period: a correction is checked
	 * against prev, not against the typo. has_prev false when unknown.
	 */
	bool has_prev;
	uint32_t prev_value;
	int32_t prev_date; /* or MODEL_DATE_NONE */
	char name[MODEL_NAME_MAX + 1]; /* "день", "ночь", "кухня"... */
	/*
	 * The meter's serial number (заводской номер) from billing, "" when
	 * unknown; [verify] mode = challenge asks for its last four digits.
	 */
	char serial[MODEL_SERIAL_MAX + 1];
};

struct model_contract {
	char number[MODEL_CONTRACT_MAX + 1]; /* as written */
	enum model_resource resource;
	enum model_status status;
	uint8_t nregisters; /* 1..MODEL_MAX_REGISTERS */
	struct model_register registers[MODEL_MAX_REGISTERS]; /* in order */
};

/*
 * The contracts one sender (a phone, a messenger chat) is bound to, as
 * the store loads them with the sender's dialog (docs/dialog.md,
 * "Bound senders"). Fixed-size: a sender bound to more than
 * MODEL_BINDINGS_MAX contracts keeps the first ones (by contract number)
 * and more is set.
 */
#define MODEL_BINDINGS_MAX 8

struct model_bindings {
	uint8_t n; /* contracts listed, 0..MODEL_BINDINGS_MAX */
	bool more; /* bound to more than those listed */
	bool remind_off; /* the sender said НЕ НАПОМИНАТЬ */
	char contract[MODEL_BINDINGS_MAX][MODEL_CONTRACT_MAX + 1];
};

/* Whether contract is one of b's (b may be NULL: bound to nothing). */
bool model_bindings_has(const struct model_bindings *b, const char *contract);

/* "electricity", "hot_water", "cold_water"; NULL when out of range. */
const char *model_resource_name(enum model_resource);
/* The inverse; returns 0, or -1 for an unknown name. */
int model_resource_parse(const char *, enum model_resource *);

/* "active", "closed" to the status; returns 0, or -1 for an unknown name. */
int model_status_parse(const char *, enum model_status *);

/*
 * Check a contract as billing delivered it: number of 4..12 ASCII digits,
 * 1..6 registers with positions 1..n in order, capacities 4..9, non-empty
 * names, last values within capacity. Returns 0, or -1 with why in err.
 * The import checks every contract with this; the dialog engine trusts it.
 */
int
model_contract_check(const struct model_contract *, char *err, size_t errlen);

/* 10^digits, the first value a register of that capacity cannot show. */
uint32_t model_capacity_limit(unsigned digits);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int32_t model_date_from_ymd(int year, unsigned month, unsigned day);

#endif
