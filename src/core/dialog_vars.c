/*
 * The variables of a reply (docs/replies.md): the register names, the
 * example fitting the contract, the window and when it opens next, the
 * values of a submission, and the part of the text not understood.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dialog_int.h"

/* Sample readings for {example}: the Komi instructions' own numbers. */
static const uint32_t samples_power[MODEL_MAX_REGISTERS] = { 45055, 23186,
	11638, 7350, 5120, 3904 };
static const uint32_t samples_water[MODEL_MAX_REGISTERS] = { 20, 40, 35, 18, 52,
	27 };

static uint32_t
vars_sample(const struct model_contract *c, unsigned i)
{
	const uint32_t *s = c->resource == MODEL_RES_ELECTRICITY
	    ? samples_power
	    : samples_water;

	return s[i] % model_capacity_limit(c->registers[i].digits);
}

void
dlg_var(struct dlg *d, enum tpl_var v, const char *s)
{
	d->vars.v[v] = s;
}

/* n in decimal into buf (DLG_NUM bytes); snprintf costs ten times more. */
static char *
vars_itoa(char *buf, uint64_t n)
{
	char tmp[DLG_NUM];
	size_t k = 0, i = 0;

	do
		tmp[k++] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	while (k > 0)
		buf[i++] = tmp[--k];
	buf[i] = '\0';
	return buf;
}

void
dlg_var_num(struct dlg *d, enum tpl_var v, char *buf, uint64_t n)
{
	dlg_var(d, v, vars_itoa(buf, n));
}

void
dlg_var_remaining(struct dlg *d, unsigned from, bool with_keyword)
{
	const struct model_contract *c = d->c;
	size_t r = 0, e = 0;

	if (with_keyword)
		e = (size_t)snprintf(
		    d->example, sizeof(d->example), "ПС %s", c->number);
	d->registers[0] = '\0';
	for (unsigned i = from; i < c->nregisters; i++) {
		r +=
		    (size_t)snprintf(d->registers + r, sizeof(d->registers) - r,
		        "%s%s", i > from ? ", " : "", c->registers[i].name);
		e += (size_t)snprintf(d->example + e, sizeof(d->example) - e,
		    "%s%" PRIu32, e ? " " : "", vars_sample(c, i));
	}
	dlg_var(d, TPL_VAR_REGISTERS, d->registers);
	dlg_var(d, TPL_VAR_EXAMPLE, d->example);
	dlg_var_num(d, TPL_VAR_EXPECTED, d->expected, c->nregisters - from);
}

void
dlg_var_register(struct dlg *d, unsigned i)
{
	const struct model_register *r = &d->c->registers[i];

	dlg_var_remaining(d, i, false);
	dlg_var(d, TPL_VAR_REGISTER, r->name);
	dlg_var_num(d, TPL_VAR_DIGITS, d->digits, r->digits);
	if (r->has_last)
		dlg_var_num(d, TPL_VAR_LAST, d->last, r->last_value);
	snprintf(
	    d->example, sizeof(d->example), "%" PRIu32, vars_sample(d->c, i));
}

void
dlg_var_missing(struct dlg *d, const struct dlg_place *p)
{
	const struct model_contract *c = d->c;
	size_t r = 0, e = 0;
	unsigned n = 0, first = c->nregisters;

	d->registers[0] = d->example[0] = '\0';
	for (unsigned i = 0; i < c->nregisters; i++) {
		if (p->filled[i])
			continue;
		first = first < i ? first : i;
		r +=
		    (size_t)snprintf(d->registers + r, sizeof(d->registers) - r,
		        "%s%s", n++ ? ", " : "", c->registers[i].name);
		/* labelled, so the values may come in any order */
		e += (size_t)snprintf(d->example + e, sizeof(d->example) - e,
		    "%s%s %" PRIu32, e ? " " : "", c->registers[i].name,
		    vars_sample(c, i));
	}
	if (first < c->nregisters)
		dlg_var(d, TPL_VAR_REGISTER, c->registers[first].name);
	dlg_var(d, TPL_VAR_REGISTERS, d->registers);
	dlg_var(d, TPL_VAR_EXAMPLE, d->example);
	dlg_var_num(d, TPL_VAR_EXPECTED, d->expected, n);
}

/* "18.06": a date as day and month. */
static void
vars_day_month(char *buf, int32_t date)
{
	int y;
	unsigned m, day;

	tz_civil_from_days(date, &y, &m, &day);
	snprintf(buf, DLG_NUM, "%02u.%02u", day, m);
}

void
dlg_var_window(struct dlg *d, const struct config_window *w)
{
	dlg_var_num(d, TPL_VAR_FROM, d->from, w->from);
	dlg_var_num(d, TPL_VAR_TO, d->to, w->to);
	snprintf(d->days, sizeof(d->days), "%u-%u", w->from, w->to);
	dlg_var(d, TPL_VAR_DAYS, d->days);
	vars_day_month(d->next,
	    validate_next_open(w, d->local.year, d->local.month, d->local.day));
	dlg_var(d, TPL_VAR_NEXT, d->next);
}

void
dlg_var_values(struct dlg *d, const uint32_t *v, unsigned n)
{
	size_t used = 0;

	d->values[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(d->values + used,
		    sizeof(d->values) - used, "%s%" PRIu32, i ? " " : "", v[i]);
	dlg_var(d, TPL_VAR_VALUES, d->values);
}

void
dlg_var_submission(struct dlg *d, const struct dialog_submission *s)
{
	const struct model_contract *c = d->c;
	uint64_t sum = 0;
	size_t r = 0;

	d->registers[0] = '\0';
	for (unsigned i = 0; i < s->nvalues; i++) {
		sum += s->consumption[i];
		if (c->nregisters > 1) /* one register: the value alone */
			r += (size_t)snprintf(d->registers + r,
			    sizeof(d->registers) - r, "%s%s %" PRIu32,
			    i ? ", " : "", c->registers[i].name, s->values[i]);
	}
	if (c->nregisters == 1)
		snprintf(d->registers, sizeof(d->registers), "%" PRIu32,
		    s->values[0]);
	dlg_var(d, TPL_VAR_REGISTERS, d->registers);
	dlg_var_values(d, s->values, s->nvalues);
	dlg_var_num(d, TPL_VAR_CONSUMPTION, d->consumption, sum);
}

/*
 * Copy up to DLG_QUOTE_CHARS characters of the len bytes at s into out
 * (cap bytes); control characters become spaces, a broken sequence ends
 * the copy, a longer text ends in "…". Returns the bytes written.
 */
static size_t
vars_quote(const char *s, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;
	unsigned chars = 0;

	while (i < len && chars < DLG_QUOTE_CHARS) {
		size_t n = tpl_utf8_char(s + i, len - i);

		if (n == 0 || o + n + 1 > cap)
			break;
		if (n == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))
			out[o] = ' ';
		else
			memcpy(out + o, s + i, n);
		o += n, i += n, chars++;
	}
	if (i < len && o + 4 <= cap) {
		memcpy(out + o, "…", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

void
dlg_var_unknown(struct dlg *d)
{
	const struct dialog_input *in = d->in;
	const struct parse_result *cmd = in->cmd;
	char q[DLG_QUOTE - 8];

	d->unknown[0] = '\0';
	dlg_var(d, TPL_VAR_UNKNOWN, d->unknown);
	if (in->text == NULL || cmd->kind != PARSE_INVALID ||
	    cmd->unknown_len == 0 ||
	    (size_t)cmd->unknown_at + cmd->unknown_len > in->text_len)
		return;
	if (vars_quote(in->text + cmd->unknown_at, cmd->unknown_len, q,
	        sizeof(q)) == 0)
		return;
	snprintf(d->unknown, sizeof(d->unknown), " «%s»", q);
}
