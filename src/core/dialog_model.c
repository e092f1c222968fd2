/* The domain model: names of enums, and checking a contract from billing. */
#include <stdio.h>
#include <string.h>

#include "meterline/model.h"
#include "meterline/tz.h"

static const char *const resource_names[MODEL__RES_MAX] = {
	[MODEL_RES_ELECTRICITY] = "electricity",
	[MODEL_RES_HOT_WATER] = "hot_water",
	[MODEL_RES_COLD_WATER] = "cold_water",
};

static const char *const status_names[MODEL__ST_MAX] = {
	[MODEL_ST_ACTIVE] = "active",
	[MODEL_ST_CLOSED] = "closed",
};

const char *
model_resource_name(enum model_resource r)
{
	return (unsigned)r < MODEL__RES_MAX ? resource_names[r] : NULL;
}

int
model_resource_parse(const char *s, enum model_resource *out)
{
	for (unsigned i = 0; i < MODEL__RES_MAX; i++) {
		if (strcmp(s, resource_names[i]) == 0) {
			*out = (enum model_resource)i;
			return 0;
		}
	}
	return -1;
}

int
model_status_parse(const char *s, enum model_status *out)
{
	for (unsigned i = 0; i < MODEL__ST_MAX; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum model_status)i;
			return 0;
		}
	}
	return -1;
}

uint32_t
model_capacity_limit(unsigned digits)
{
	uint32_t limit = 1;

	for (unsigned i = 0; i < digits && i < MODEL_DIGITS_MAX; i++)
		limit *= 10;
	return limit;
}

int32_t
model_date_from_ymd(int year, unsigned month, unsigned day)
{
	return tz_days_from_civil(year, month, day);
}

static int
model_fail(
    char *err, size_t errlen, const char *number, unsigned reg, const char *why)
{
	if (reg > 0)
		snprintf(err, errlen, "contract %s, register %u: %s", number,
		    reg, why);
	else
		snprintf(err, errlen, "contract %s: %s", number, why);
	return -1;
}

static int
model_register_check(
    const struct model_contract *c, unsigned i, char *err, size_t errlen)
{
	const struct model_register *r = &c->registers[i];

	if (r->position != i + 1)
		return model_fail(err, errlen, c->number, i + 1,
		    "positions must be 1..n in order");
	if (r->digits < MODEL_DIGITS_MIN || r->digits > MODEL_DIGITS_MAX)
		return model_fail(err, errlen, c->number, i + 1,
		    "digit capacity must be 4..9");
	if (memchr(r->name, '\0', sizeof(r->name)) == NULL ||
	    r->name[0] == '\0')
		return model_fail(err, errlen, c->number, i + 1,
		    "display name empty or too long");
	if (r->has_last && r->last_value >= model_capacity_limit(r->digits))
		return model_fail(err, errlen, c->number, i + 1,
		    "last value has more digits than the capacity");
	if (r->has_last && r->last_date == MODEL_DATE_NONE)
		return model_fail(
		    err, errlen, c->number, i + 1, "last value without a date");
	return 0;
}

int
model_contract_check(const struct model_contract *c, char *err, size_t errlen)
{
	size_t n = strnlen(c->number, sizeof(c->number));

	if (n < 4 || n > MODEL_CONTRACT_MAX ||
	    strspn(c->number, "0123456789") != n)
		return model_fail(
		    err, errlen, "?", 0, "number must be 4..12 ASCII digits");
	if ((unsigned)c->resource >= MODEL__RES_MAX ||
	    (unsigned)c->status >= MODEL__ST_MAX)
		return model_fail(
		    err, errlen, c->number, 0, "bad resource or status");
	if (c->nregisters < 1 || c->nregisters > MODEL_MAX_REGISTERS)
		return model_fail(
		    err, errlen, c->number, 0, "must have 1..6 registers");
	for (unsigned i = 0; i < c->nregisters; i++) {
		if (model_register_check(c, i, err, errlen) != 0)
			return -1;
	}
	return 0;
}

bool
model_bindings_has(const struct model_bindings *b, const char *contract)
{
	if (b == NULL)
		return false;
	for (unsigned i = 0; i < b->n && i < MODEL_BINDINGS_MAX; i++) {
		if (strncmp(b->contract[i], contract, sizeof(b->contract[i])) ==
		    0)
			return true;
	}
	return false;
}
