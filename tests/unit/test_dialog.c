/*
 * The dialog engine, as conversations: each row is one message a customer
 * sends (at a time, local to the utility unless it ends in Z) and what must
 * come of it: outcome, reason, reply, the dialog left open, the values
 * stored and the flags. Texts go through the real grammar (parser_parse);
 * an accepted submission updates the contract's last values, as the store
 * would, so later rows see them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meterline/conf.h"
#include "meterline/dialog.h"

#define ACCEPTED_RU "Показания приняты. Спасибо."
#define REVIEW_RU \
	"Показания приняты. Расход выше обычного, их проверит специалист."

struct step {
	const char *at; /* "2024-05-20 12:00:00" local, or "...Z" UTC */
	const char *text; /* what the customer sends */
	const char *outcome;
	const char *reason; /* NULL: none */
	const char *reply; /* NULL: not checked */
	const char
	    *dialog; /* "123859/1": contract/next left open; NULL: none */
	const char *stored; /* "45055 23186": the submission; NULL: none */
	const char *flags; /* dialog_flags_str of the decision; NULL: "" */
	const char *consumption; /* "55 186" when checked */
	/*
	 * What the grammar reads in text, when given: a spec for cmd_spec()
	 * ("submit c=123861 день:12000 ночь:5800"), so the rules are tested
	 * apart from the grammar; text is still passed for quoting.
	 */
	const char *cmd;
};

struct conversation {
	const char *name;
	void (*setup)(struct config *);
	struct step steps[12];
};

static struct config base_cfg, cfg; /* 30 KiB each: off the stack */
/* the sender's bindings: "123859,555001", set by a setup; NULL: none */
static const char *bound_to;
static struct model_bindings bindings;
static struct parser *parser;

/* ---- the contracts billing knows ------------------------------------- */

struct fixture_reg {
	const char *name;
	uint8_t digits;
	bool has_last;
	uint32_t last;
	const char *date; /* "2024-04-20" */
};

struct fixture {
	const char *number;
	enum model_resource res;
	enum model_status status;
	struct fixture_reg regs[MODEL_MAX_REGISTERS];
};

#define E MODEL_RES_ELECTRICITY
#define HW MODEL_RES_HOT_WATER
#define CW MODEL_RES_COLD_WATER
#define ACT MODEL_ST_ACTIVE

static const struct fixture fixtures[] = {
	{ "102057522", E, ACT, { { "Т1", 5, true, 11000, "2024-04-20" } } },
	{ "123859", E, ACT,
	    { { "день", 5, true, 45000, "2024-04-22" },
	        { "ночь", 5, true, 23000, "2024-04-22" } } },
	{ "555001", E, ACT,
	    { { "пик", 6, true, 100000, "2024-04-21" },
	        { "полупик", 6, true, 50000, "2024-04-21" },
	        { "ночь", 6, true, 30000, "2024-04-21" } } },
	{ "176354", CW, ACT,
	    { { "кухня", 5, true, 40, "2024-04-20" },
	        { "ванная", 5, true, 30, "2024-04-20" } } },
	{ "176355", HW, ACT, { { "ГВС", 5, true, 20, "2024-04-20" } } },
	{ "999000", E, MODEL_ST_CLOSED,
	    { { "Т1", 5, true, 100, "2020-01-20" } } },
	{ "424242", E, ACT, { { "Т1", 5, true, 99950, "2024-04-20" } } },
	{ "777001", E, ACT, { { "Т1", 6, false, 0, NULL } } },
	{ "888001", E, ACT, { { "Т1", 4, true, 9000, "2024-04-20" } } },
	{ "888002", E, ACT, { { "Т1", 4, true, 8999, "2024-04-20" } } },
	{ "123861", E, ACT,
	    { { "день", 5, true, 11500, "2024-04-22" },
	        { "ночь", 5, true, 5600, "2024-04-22" } } },
	{ "123862", E, ACT,
	    { { "День", 5, true, 11500, "2024-04-22" },
	        { "Ночь", 5, true, 5600, "2024-04-22" } } },
	{ "102057540", E, ACT,
	    { { "показания", 5, true, 7000, "2024-04-20" } } },
	{ "600600", E, ACT,
	    { { "Т1", 9, true, 123456789, "2024-04-20" },
	        { "Т2", 9, true, 1, "2024-04-20" },
	        { "Т3", 9, true, 1, "2024-04-20" },
	        { "Т4", 9, true, 1, "2024-04-20" },
	        { "Т5", 9, true, 1, "2024-04-20" },
	        { "Т6", 9, true, 1, "2024-04-20" } } },
};

#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

static struct model_contract catalog[NFIX];

static int32_t
date_of(const char *s)
{
	int y;
	unsigned m, d;

	if (sscanf(s, "%d-%u-%u", &y, &m, &d) != 3)
		fail_msg("bad date %s", s);
	return model_date_from_ymd(y, m, d);
}

static void
catalog_reset(void)
{
	char err[128];

	memset(catalog, 0, sizeof(catalog));
	for (size_t i = 0; i < NFIX; i++) {
		struct model_contract *c = &catalog[i];

		strcpy(c->number, fixtures[i].number);
		c->resource = fixtures[i].res;
		c->status = fixtures[i].status;
		for (unsigned j = 0; j < MODEL_MAX_REGISTERS &&
		     fixtures[i].regs[j].name != NULL;
		     j++) {
			const struct fixture_reg *f = &fixtures[i].regs[j];
			struct model_register *r = &c->registers[j];

			r->position = (uint8_t)(j + 1);
			r->digits = f->digits;
			r->has_last = f->has_last;
			r->last_value = f->last;
			r->last_date =
			    f->date ? date_of(f->date) : MODEL_DATE_NONE;
			strcpy(r->name, f->name);
			c->nregisters++;
		}
		if (model_contract_check(c, err, sizeof(err)) != 0)
			fail_msg("fixture: %s", err);
	}
}

static struct model_contract *
catalog_find(const char *number)
{
	for (size_t i = 0; number != NULL && i < NFIX; i++) {
		if (strcmp(catalog[i].number, number) == 0)
			return &catalog[i];
	}
	return NULL;
}

/*
 * What the store does with a submission: each register's last value moves
 * to prev and the new one becomes last; a correction replaces last and
 * keeps prev (dialog.h).
 */
static void
catalog_apply(const struct dialog_submission *s)
{
	struct model_contract *c = catalog_find(s->contract);

	assert_non_null(c);
	for (unsigned i = 0; i < s->nvalues; i++) {
		struct model_register *r = &c->registers[i];

		if (!(s->flags & DIALOG_F_CORRECTION)) {
			r->has_prev = r->has_last;
			r->prev_value = r->last_value;
			r->prev_date = r->last_date;
		}
		r->has_last = true;
		r->last_value = s->values[i];
		r->last_date = s->date;
	}
}

/* ---- times ------------------------------------------------------------- */

/* "2024-05-25 23:59:59" in the configured zone, or "...Z" in UTC, to µs. */
static int64_t
time_of(const char *s)
{
	int y, n = 0;
	unsigned mo, d, h, mi, sec;
	int64_t t;

	if (sscanf(s, "%d-%u-%u %u:%u:%u%n", &y, &mo, &d, &h, &mi, &sec, &n) !=
	    6)
		fail_msg("bad time %s", s);
	t = (int64_t)model_date_from_ymd(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + sec;
	if (s[n] != 'Z') {
		/* local -> UTC: the offset at the guess, then at the answer */
		int64_t u = t - tz_offset(&cfg.window.tz, t);

		t = t - tz_offset(&cfg.window.tz, u);
	}
	return t * 1000000;
}

/* ---- running a conversation ------------------------------------------ */

static void
values_str(const uint32_t *v, unsigned n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(
		    buf + used, len - used, "%s%" PRIu32, i ? " " : "", v[i]);
}

static void templates_uk(struct config *);

/*
 * A command as the grammar would give it: "KIND tokens...", KIND one of
 * submit start values thanks confirm help cancel invalid; tokens c=N
 * (contract), bare, trunc, alt=V@I,V@I (ambiguous: the joined reading,
 * each starting at value I; @I defaults to its own index),
 * u=AT,LEN (the part not understood), LABEL:V or V (a value).
 */
static void
cmd_spec(const char *spec, struct parse_result *r)
{
	static const char *const kinds[] = { "invalid", "submit", "start",
		"values", "cancel", "help", "thanks", "confirm" };
	char buf[256], *next;

	memset(r, 0, sizeof(*r));
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = buf; t != NULL; t = next) {
		char *colon;
		bool kind = false;

		if ((next = strchr(t, ' ')) != NULL)
			*next++ = '\0';
		colon = strchr(t, ':');

		for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]);
		     k++) {
			if (strcmp(t, kinds[k]) == 0) {
				r->kind = (enum parse_kind)k;
				kind = true;
			}
		}
		if (kind)
			continue;
		if (strncmp(t, "c=", 2) == 0) {
			assert_true(strlen(t + 2) < sizeof(r->contract));
			memcpy(r->contract, t + 2, strlen(t + 2) + 1);
		} else if (strcmp(t, "bare") == 0) {
			r->bare_contract = true;
		} else if (strcmp(t, "trunc") == 0) {
			r->truncated = true;
		} else if (strncmp(t, "alt=", 4) == 0) {
			r->ambiguous = true;
			/* V@I: the joined value starts at value I */
			for (char *v = t + 4; *v != '\0';) {
				unsigned j = r->alt_nvalues++;

				r->alt_values[j] = strtoull(v, &v, 10);
				r->alt_from[j] = (uint8_t)j;
				if (*v == '@')
					r->alt_from[j] =
					    (uint8_t)strtoul(v + 1, &v, 10);
				v += *v == ',';
			}
		} else if (strncmp(t, "u=", 2) == 0) {
			unsigned at, len;

			assert_int_equal(sscanf(t + 2, "%u,%u", &at, &len), 2);
			r->unknown_at = (uint16_t)at;
			r->unknown_len = (uint16_t)len;
		} else {
			if (colon != NULL) {
				*colon = '\0';
				assert_true(strlen(t) < sizeof(r->labels[0]));
				memcpy(r->labels[r->nvalues], t, strlen(t) + 1);
			}
			r->values[r->nvalues++] =
			    strtoull(colon ? colon + 1 : t, NULL, 10);
		}
	}
	if (r->kind == PARSE_INVALID && r->reason == PARSE_R_NONE)
		r->reason = PARSE_R_BAD_SYNTAX;
}

static void
check_step(const struct conversation *cv, unsigned i, const struct step *st,
    const struct dialog_decision *out)
{
	char got[256], want[256];
	const char *reason = dialog_reason_name(out->reason);

	dialog_flags_str(out->flags, got, sizeof(got));
	if (strcmp(dialog_outcome_name(out->outcome), st->outcome) != 0 ||
	    (reason == NULL) != (st->reason == NULL) ||
	    (reason != NULL && strcmp(reason, st->reason) != 0))
		fail_msg(
		    "%s step %u (%s): outcome %s/%s, want %s/%s (reply %s)",
		    cv->name, i, st->text, dialog_outcome_name(out->outcome),
		    reason ? reason : "-", st->outcome,
		    st->reason ? st->reason : "-", out->reply);
	if (strcmp(got, st->flags ? st->flags : "") != 0)
		fail_msg("%s step %u: flags \"%s\", want \"%s\"", cv->name, i,
		    got, st->flags ? st->flags : "");
	if (st->reply != NULL && strcmp(out->reply, st->reply) != 0)
		fail_msg("%s step %u: reply\n  \"%s\"\nwant\n  \"%s\"",
		    cv->name, i, out->reply, st->reply);
	assert_int_equal(out->reply_len, strlen(out->reply));
	/* default replies fit one SMS, the declared two-part ones two */
	if (cv->setup != templates_uk &&
	    tpl_ucs2_units(out->reply) >
	        (tpl_two_part(out->tpl) ? 2 * 67 : TPL_SMS_UNITS))
		fail_msg("%s step %u: reply of %zu characters: %s", cv->name, i,
		    tpl_ucs2_units(out->reply), out->reply);
	if (out->has_dialog)
		snprintf(got, sizeof(got), "%s/%u", out->dialog.contract,
		    out->dialog.next);
	if ((st->dialog == NULL) != !out->has_dialog ||
	    (st->dialog != NULL && strcmp(got, st->dialog) != 0))
		fail_msg("%s step %u: dialog %s, want %s", cv->name, i,
		    out->has_dialog ? got : "none",
		    st->dialog ? st->dialog : "none");
	if (out->has_submission)
		values_str(out->submission.values, out->submission.nvalues, got,
		    sizeof(got));
	if ((st->stored == NULL) != !out->has_submission ||
	    (st->stored != NULL && strcmp(got, st->stored) != 0))
		fail_msg("%s step %u: stored %s, want %s", cv->name, i,
		    out->has_submission ? got : "nothing",
		    st->stored ? st->stored : "nothing");
	if (st->consumption != NULL) {
		values_str(out->submission.consumption, out->submission.nvalues,
		    want, sizeof(want));
		if (strcmp(want, st->consumption) != 0)
			fail_msg("%s step %u: consumption %s, want %s",
			    cv->name, i, want, st->consumption);
	}
}

/* bound_to into bindings. */
static void
bindings_reset(void)
{
	const char *p = bound_to;
	size_t len;

	memset(&bindings, 0, sizeof(bindings));
	while (p != NULL && *p != '\0' && bindings.n < MODEL_BINDINGS_MAX) {
		len = strcspn(p, ",");
		snprintf(bindings.contract[bindings.n++],
		    MODEL_CONTRACT_MAX + 1, "%.*s", (int)len, p);
		p += len + (p[len] == ',');
	}
}

/* What the store does with a decision's action (dialog.h). */
static void
bindings_apply(const struct dialog_decision *out)
{
	if (out->action == DIALOG_ACT_REMIND_OFF)
		bindings.remind_off = true;
	if (out->action == DIALOG_ACT_REMIND_ON)
		bindings.remind_off = false;
	if (out->action != DIALOG_ACT_UNBIND)
		return;
	for (unsigned i = 0; i < bindings.n; i++) {
		if (strcmp(bindings.contract[i], out->action_contract) != 0)
			continue;
		memmove(bindings.contract[i], bindings.contract[i + 1],
		    (bindings.n - i - 1) * sizeof(bindings.contract[0]));
		bindings.n--;
		return;
	}
}

static void
run(const struct conversation *cv)
{
	struct dialog_state open;
	bool has_open = false;
	struct dialog_decision *out = malloc(sizeof(*out));

	cfg = base_cfg;
	bound_to = NULL;
	if (cv->setup != NULL)
		cv->setup(&cfg);
	bindings_reset();
	catalog_reset();
	for (unsigned i = 0; cv->steps[i].text != NULL; i++) {
		const struct step *st = &cv->steps[i];
		struct parse_result cmd;
		struct dialog_input in;

		if (st->cmd != NULL)
			cmd_spec(st->cmd, &cmd);
		else
			parser_parse(parser, st->text, strlen(st->text), &cmd);
		in = (struct dialog_input){ .time_us = time_of(st->at),
			.text = st->text,
			.text_len = strlen(st->text),
			.channel = "sms",
			.sender = "79120000001",
			.cmd = &cmd,
			.dialog = has_open ? &open : NULL,
			.bindings = &bindings };
		in.contract = catalog_find(
		    dialog_contract_wanted(&cmd, in.dialog, in.bindings));
		if (dialog_decide(&in, &cfg, out) != 0)
			fail_msg("%s step %u: caller error: %s", cv->name, i,
			    out->reply);
		check_step(cv, i, st, out);
		if ((has_open = out->has_dialog))
			open = out->dialog;
		if (out->has_submission)
			catalog_apply(&out->submission);
		bindings_apply(out);
	}
	free(out);
}

/* ---- configurations -------------------------------------------------- */

static void
set(struct config *c, const char *section, const char *key, const char *v)
{
	char why[256];

	if (config_set(c, section, key, v, why, sizeof(why)) != 0)
		fail_msg("config %s.%s = %s: %s", section, key, v, why);
}

static void
verify_bound(struct config *c)
{
	set(c, "verify", "mode", "bound");
}

static void
bound_123859(struct config *c)
{
	verify_bound(c);
	bound_to = "123859";
}

static void
bound_555001(struct config *c)
{
	verify_bound(c);
	bound_to = "555001";
}

static void
bound_several(struct config *c)
{
	verify_bound(c);
	bound_to = "123859,555001";
}

/* [verify] off, but billing bound the phone: the shortcuts still work. */
static void
off_bound_123859(struct config *c)
{
	(void)c;
	bound_to = "123859";
}

static void
off_bound_several(struct config *c)
{
	(void)c;
	bound_to = "123859,555001";
}

static void
window_30_3(struct config *c)
{
	set(c, "window", "days", "30-3");
}

static void
window_accept(struct config *c)
{
	set(c, "window", "policy", "accept");
}

static void
window_cold_water_20_28(struct config *c)
{
	set(c, "window", "days.cold_water", "20-28");
}

static void
window_hot_water_accept(struct config *c)
{
	set(c, "window", "policy.hot_water", "accept");
}

static void
zone_kyiv(struct config *c)
{
	char err[256];

	set(c, "window", "timezone", "Europe/Kyiv");
	if (tz_load(&c->window.tz, "Europe/Kyiv", err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
expiry_5m(struct config *c)
{
	set(c, "dialog", "expiry", "5m");
}

static void
templates_uk(struct config *c)
{
	char err[1024];

	if (config_load(
	        c, MLINE_TEST_DATA "/templates-uk.conf", err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
accepted_echo(struct config *c)
{
	set(c, "templates", "accepted",
	    "Принято: {registers}; {values}; расход {consumption}");
}

static void
limits_off(struct config *c)
{
	set(c, "limits", "electricity", "0");
}

/* ---- the conversations ----------------------------------------------- */

#define T "2024-05-20 12:00:00"
#define NOTHING NULL
#define PROMPT_TN(c, r) "Договор " c ". Введите показания: " r

static const struct conversation conversations[] = {
	/* one register */
	{ "single accepted at once", NULL,
	    {
	        { T, "ПС 102057522 11638", "accepted", NULL, ACCEPTED_RU, NULL,
	            "11638", NULL, "638" },
	    } },
	{ "single started, then the value", NULL,
	    {
	        { T, "ПС 102057522", "prompt", NULL,
	            "Договор 102057522. Введите показание счётчика, например 45055",
	            "102057522/0", NOTHING },
	        { T, "11638", "accepted", NULL, ACCEPTED_RU, NULL, "11638" },
	    } },
	{ "single equal to the last value", NULL,
	    {
	        { T, "ПС 102057522 11000", "accepted", NULL, NULL, NULL,
	            "11000", NULL, "0" },
	    } },
	{ "single lower than last, then resent", NULL,
	    {
	        { T, "ПС 102057522 10999", "rejected", "lower_than_last",
	            "Показание 10999 меньше прежнего 11000. Пришлите верное. "
	            "Если неверно прежнее, обратитесь в поддержку",
	            "102057522/0", NOTHING },
	        { T, "11638", "accepted", NULL, ACCEPTED_RU, NULL, "11638" },
	    } },
	{ "single more digits than the capacity", NULL,
	    {
	        { T, "ПС 102057522 116380", "rejected", "too_many_digits",
	            "В показании 116380 больше 5 цифр. Пришлите верное показание",
	            "102057522/0", NOTHING },
	        { T, "ПС 102057522 011638", "accepted", NULL, NULL, NULL,
	            "11638", "replaced" },
	    } },
	{ "single too many values", NULL,
	    {
	        { T, "ПС 102057522 11638 12000", "rejected", "too_many_values",
	            "Лишние показания: по договору 102057522 одно показание, "
	            "прислано 2",
	            "102057522/0", NOTHING },
	    } },
	{ "single with a fraction and junk spacing", NULL,
	    {
	        { T, "  пс:102057522   11638,57 ", "accepted", NULL,
	            ACCEPTED_RU, NULL, "11638", "truncated" },
	    } },
	{ "single in two windows: the second sees the first as last", NULL,
	    {
	        { T, "ПС 102057522 11638", "accepted", NULL, NULL, NULL,
	            "11638" },
	        { "2024-06-20 12:00:00", "ПС 102057522 11637", "rejected",
	            "lower_than_last",
	            "Показание 11637 меньше прежнего 11638. Пришлите верное. "
	            "Если неверно прежнее, обратитесь в поддержку",
	            "102057522/0", NOTHING },
	    } },
	{ "latin PS, lower case", NULL,
	    {
	        { T, "ps 123859 45055 23186", "accepted", NULL, ACCEPTED_RU,
	            NULL, "45055 23186" },
	    } },

	/* day / night */
	{ "day/night all at once", NULL,
	    {
	        { T, "ПС 123859 45055 23186", "accepted", NULL, ACCEPTED_RU,
	            NULL, "45055 23186", NULL, "55 186" },
	    } },
	{ "day/night one value per message", NULL,
	    {
	        { T, "ПС 123859", "prompt", NULL, PROMPT_TN("123859", "день"),
	            "123859/0" },
	        { T, "45055", "prompt", NULL, PROMPT_TN("123859", "ночь"),
	            "123859/1" },
	        { T, "23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "day/night partial then completion", NULL,
	    {
	        { T, "ПС 123859 45055", "prompt", NULL,
	            "Не хватает показания: ночь. Пример: 23186", "123859/1" },
	        { T, "23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "day/night started, then both values", NULL,
	    {
	        { T, "ПС 123859", "prompt", NULL, NULL, "123859/0" },
	        { T, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "day/night too many in the command", NULL,
	    {
	        { T, "ПС 123859 45055 23186 1", "rejected", "too_many_values",
	            "Лишние показания: договор 123859 — 2 шкалы (день, ночь), "
	            "прислано 3",
	            "123859/0" },
	        { T, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "day/night too many inside the dialog", NULL,
	    {
	        { T, "ПС 123859 45055", "prompt", NULL, NULL, "123859/1" },
	        { T, "23186 100", "rejected", "too_many_values",
	            "Лишние показания: нужно ещё 1 (ночь), прислано 2",
	            "123859/1" },
	        { T, "23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "day/night more than six values", NULL,
	    {
	        { T, "ПС 123859 1 2 3 4 5 6 7", "rejected", "too_many_values",
	            "Лишние показания: договор 123859 — 2 шкалы (день, ночь), "
	            "прислано >6",
	            "123859/0" },
	        { T, "1 2 3 4 5 6 7", "rejected", "too_many_values",
	            "Лишние показания: нужно ещё 2 (день, ночь), прислано >6",
	            "123859/0" },
	    } },
	{ "day/night night lower than last keeps day", NULL,
	    {
	        { T, "ПС 123859 45055 22000", "rejected", "lower_than_last",
	            "Показание 22000 меньше прежнего 23000. Пришлите верное (ночь). "
	            "Если неверно прежнее, обратитесь в поддержку",
	            "123859/1" },
	        { T, "23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "day/night too many digits inside the dialog", NULL,
	    {
	        { T, "ПС 123859", "prompt", NULL, NULL, "123859/0" },
	        { T, "450550", "rejected", "too_many_digits",
	            "В показании 450550 больше 5 цифр. Введите показания: день",
	            "123859/0" },
	        { T, "45055", "prompt", NULL, PROMPT_TN("123859", "ночь"),
	            "123859/1" },
	        { T, "23186", "accepted", NULL, NULL, NULL, "45055 23186" },
	    } },
	{ "day/night cancel", NULL,
	    {
	        { T, "ПС 123859 45055", "prompt", NULL, NULL, "123859/1" },
	        { T, "ОТМЕНА", "cancelled", NULL,
	            "Ввод показаний по договору 123859 отменён.", NOTHING },
	        { T, "23186", "rejected", "no_dialog", NULL, NOTHING },
	    } },
	{ "cancel without a dialog", NULL,
	    {
	        { T, "СТОП", "cancelled", "nothing_to_cancel",
	            "Нечего отменять: ввод показаний не начат.", NOTHING },
	    } },
	{ "help inside a dialog keeps it", NULL,
	    {
	        { T, "ПС 123859", "prompt", NULL, NULL, "123859/0" },
	        { T, "?", "help", NULL, NULL, "123859/0" },
	        { T, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "help without a dialog", NULL,
	    {
	        { T, "ПОМОЩЬ", "help", NULL,
	            "Пришлите: ПС 102057522 11638 (договор и показание). Два тарифа: "
	            "ПС 123861 день 12000 ночь 5800. Приём с 18 по 25 число. "
	            "Отмена: СТОП",
	            NOTHING },
	        { T, "справка", "help", NULL, NULL, NOTHING },
	    } },
	{ "a new ПС replaces the open dialog", NULL,
	    {
	        { T, "ПС 123859 45055", "prompt", NULL, NULL, "123859/1" },
	        { T, "ПС 102057522 11638", "accepted", NULL, ACCEPTED_RU, NULL,
	            "11638", "replaced" },
	        { T, "23186", "rejected", "no_dialog", NULL, NOTHING },
	    } },
	{ "ПС for the same contract starts over", NULL,
	    {
	        { T, "ПС 123859 45055", "prompt", NULL, NULL, "123859/1" },
	        { T, "ПС 123859", "prompt", NULL, PROMPT_TN("123859", "день"),
	            "123859/0", NOTHING, "replaced" },
	        { T, "45100 23186", "accepted", NULL, NULL, NULL,
	            "45100 23186" },
	    } },
	{ "bad format inside a dialog keeps it", NULL,
	    {
	        { T, "ПС 123859", "prompt", NULL, NULL, "123859/0" },
	        { T, "привет", "rejected", "bad_format",
	            "Не понял. Договор 123859: день, ночь. Пример: 45055 23186",
	            "123859/0" },
	        { T, "45055 23186", "accepted", NULL, NULL, NULL,
	            "45055 23186" },
	    } },
	{ "a value of eleven digits in ПС", NULL,
	    {
	        { T, "ПС 123859 12345678901", "rejected", "bad_format",
	            "Не понял «1234567890…». Договор 123859: день, ночь. "
	            "Пример: 45055 23186",
	            "123859/0" },
	    } },

	/* expiry */
	{ "expiry: exactly 30 minutes idle is still open", NULL,
	    {
	        { "2024-05-20 12:00:00", "ПС 123859", "prompt", NULL, NULL,
	            "123859/0" },
	        { "2024-05-20 12:30:00", "45055 23186", "accepted", NULL, NULL,
	            NULL, "45055 23186" },
	    } },
	{ "expiry: one second later it is gone", NULL,
	    {
	        { "2024-05-20 12:00:00", "ПС 123859", "prompt", NULL, NULL,
	            "123859/0" },
	        { "2024-05-20 12:30:01", "45055 23186", "rejected", "expired",
	            "Время ввода истекло. Начните заново: ПС 123859", NOTHING,
	            NOTHING, "expired" },
	        { "2024-05-20 12:30:02", "45055 23186", "rejected", "no_dialog",
	            NULL, NOTHING },
	    } },
	{ "expiry counts from the last message", NULL,
	    {
	        { "2024-05-20 12:00:00", "ПС 123859", "prompt", NULL, NULL,
	            "123859/0" },
	        { "2024-05-20 12:25:00", "45055", "prompt", NULL, NULL,
	            "123859/1" },
	        { "2024-05-20 12:55:00", "23186", "accepted", NULL, NULL, NULL,
	            "45055 23186" },
	    } },
	{ "expired dialog replaced by a new ПС", NULL,
	    {
	        { "2024-05-20 12:00:00", "ПС 123859 45055", "prompt", NULL,
	            NULL, "123859/1" },
	        { "2024-05-20 13:00:00", "ПС 123859 45055 23186", "accepted",
	            NULL, NULL, NULL, "45055 23186", "expired" },
	    } },
	{ "cancel after expiry has nothing to cancel", NULL,
	    {
	        { "2024-05-20 12:00:00", "ПС 123859", "prompt", NULL, NULL,
	            "123859/0" },
	        { "2024-05-20 12:31:00", "отмена", "cancelled",
	            "nothing_to_cancel", NULL, NOTHING, NOTHING, "expired" },
	    } },
	{ "expiry from the config: 5 minutes", expiry_5m,
	    {
	        { "2024-05-20 12:00:00", "ПС 123859", "prompt", NULL, NULL,
	            "123859/0" },
	        { "2024-05-20 12:05:00", "45055", "prompt", NULL, NULL,
	            "123859/1" },
	        { "2024-05-20 12:10:01", "23186", "rejected", "expired", NULL,
	            NOTHING, NOTHING, "expired" },
	    } },

	/* peak / semi-peak / night */
	{ "three tariffs all at once", NULL,
	    {
	        { T, "ПС 555001 100100 50200 30300", "accepted", NULL,
	            ACCEPTED_RU, NULL, "100100 50200 30300", NULL,
	            "100 200 300" },
	    } },
	{ "three tariffs one per message", NULL,
	    {
	        { T, "ПС 555001", "prompt", NULL, PROMPT_TN("555001", "пик"),
	            "555001/0" },
	        { T, "100100", "prompt", NULL, PROMPT_TN("555001", "полупик"),
	            "555001/1" },
	        { T, "50200", "prompt", NULL, PROMPT_TN("555001", "ночь"),
	            "555001/2" },
	        { T, "30300", "accepted", NULL, ACCEPTED_RU, NULL,
	            "100100 50200 30300" },
	    } },
	{ "three tariffs two, then one", NULL,
	    {
	        { T, "ПС 555001 100100 50200", "prompt", NULL,
	            "Не хватает показания: ночь. Пример: 11638", "555001/2" },
	        { T, "30300", "accepted", NULL, NULL, NULL,
	            "100100 50200 30300" },
	    } },
	{ "three tariffs one, then two", NULL,
	    {
	        { T, "ПС 555001 100100", "prompt", NULL,
	            "Не хватает показаний: полупик, ночь. Пример: 23186 11638",
	            "555001/1" },
	        { T, "50200 30300", "accepted", NULL, NULL, NULL,
	            "100100 50200 30300" },
	    } },
	{ "three tariffs too many", NULL,
	    {
	        { T, "ПС 555001 1 2 3 4", "rejected", "too_many_values",
	            "Лишние показания: договор 555001 — 3 шкалы (пик, полупик, "
	            "ночь), прислано 4",
	            "555001/0" },
	    } },
	{ "three tariffs semi-peak lower keeps peak", NULL,
	    {
	        { T, "ПС 555001 100100 49999 30300", "rejected",
	            "lower_than_last",
	            "Показание 49999 меньше прежнего 50000. Пришлите верное "
	            "(полупик). Если неверно прежнее, обратитесь в поддержку",
	            "555001/1" },
	        { T, "50200 30300", "accepted", NULL, NULL, NULL,
	            "100100 50200 30300" },
	    } },
	{ "six registers of nine digits", NULL,
	    {
	        { T, "ПС 600600 123456790 2 3 4 5 6", "accepted", NULL, NULL,
	            NULL, "123456790 2 3 4 5 6", NULL, "1 1 2 3 4 5" },
	    } },

	/* water */
	{ "cold water, two meters at once", NULL,
	    {
	        { T, "ПС 176354 45 33", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45 33", NULL, "5 3" },
	    } },
	{ "cold water, kitchen then bathroom", NULL,
	    {
	        { T, "ПС 176354", "prompt", NULL, PROMPT_TN("176354", "кухня"),
	            "176354/0" },
	        { T, "45", "prompt", NULL, PROMPT_TN("176354", "ванная"),
	            "176354/1" },
	        { T, "33", "accepted", NULL, ACCEPTED_RU, NULL, "45 33" },
	    } },
	{ "cold water, too many", NULL,
	    {
	        { T, "ПС 176354 45 33 1", "rejected", "too_many_values",
	            "Лишние показания: договор 176354 — 2 шкалы (кухня, ванная), "
	            "прислано 3",
	            "176354/0" },
	    } },
	{ "hot water, one meter", NULL,
	    {
	        { T, "ПС 176355 25", "accepted", NULL, ACCEPTED_RU, NULL,
	            "25" },
	    } },

	/* high consumption: 30 days since 2024-04-20 */
	{ "electricity 200 kWh/day is not flagged", NULL,
	    {
	        { T, "ПС 102057522 17000", "accepted", NULL, ACCEPTED_RU, NULL,
	            "17000" },
	    } },
	{ "electricity above 200 kWh/day is flagged", NULL,
	    {
	        { T, "ПС 102057522 17001", "accepted", NULL, REVIEW_RU, NULL,
	            "17001", "high_consumption" },
	    } },
	{ "flagging switched off by limit 0", limits_off,
	    {
	        { T, "ПС 102057522 99999", "accepted", NULL, NULL, NULL,
	            "99999" },
	    } },
	{ "cold water, two meters summed, flagged", NULL,
	    {
	        { T, "ПС 176354 90 71", "accepted", NULL, REVIEW_RU, NULL,
	            "90 71", "high_consumption", "50 41" },
	    } },
	{ "cold water 3 m3/day is not flagged", NULL,
	    {
	        { T, "ПС 176354 90 70", "accepted", NULL, NULL, NULL, "90 70" },
	    } },
	{ "hot water above 2 m3/day is flagged", NULL,
	    {
	        { T, "ПС 176355 81", "accepted", NULL, NULL, NULL, "81",
	            "high_consumption" },
	    } },
	/* outside the window (policy accept) a second reading is no correction */
	{ "same-day second reading counts as one day", window_accept,
	    {
	        { "2024-05-27 12:00:00", "ПС 102057522 11100", "accepted", NULL,
	            NULL, NULL, "11100", "outside_window" },
	        { "2024-05-27 13:00:00", "ПС 102057522 11301", "accepted", NULL,
	            REVIEW_RU, NULL, "11301", "high_consumption,outside_window",
	            "201" },
	    } },
	{ "a new meter has no last value", NULL,
	    {
	        { T, "ПС 777001 5", "accepted", NULL, ACCEPTED_RU, NULL, "5",
	            "no_last", "0" },
	        { T, "ПС 777001 4", "accepted", NULL,
	            "Показания исправлены: 4.", NULL, "4", "no_last,correction",
	            "0" },
	        { "2024-06-20 12:00:00", "ПС 777001 3", "rejected",
	            "lower_than_last", NULL, "777001/0" },
	    } },

	/* wrap-around */
	{ "wrap-around from 99950 to 120", NULL,
	    {
	        { T, "ПС 424242 00120", "accepted", NULL, ACCEPTED_RU, NULL,
	            "120", "wraparound", "170" },
	    } },
	{ "wrap-around: last exactly 90%, new just under 10%", NULL,
	    {
	        { T, "ПС 888001 999", "accepted", NULL, NULL, NULL, "999",
	            "wraparound", "1999" },
	    } },
	{ "wrap-around: new exactly 10% is lower than last", NULL,
	    {
	        { T, "ПС 888001 1000", "rejected", "lower_than_last",
	            "Показание 1000 меньше прежнего 9000. Пришлите верное. Если "
	            "неверно прежнее, обратитесь в поддержку",
	            "888001/0" },
	    } },
	{ "wrap-around: last just under 90% is lower than last", NULL,
	    {
	        { T, "ПС 888002 5", "rejected", "lower_than_last", NULL,
	            "888002/0" },
	    } },
	{ "wrap-around: capacity 4 still applies", NULL,
	    {
	        { T, "ПС 888001 10000", "rejected", "too_many_digits",
	            "В показании 10000 больше 4 цифр. Пришлите верное показание",
	            "888001/0" },
	        { T, "9999", "accepted", NULL, NULL, NULL, "9999", NULL,
	            "999" },
	    } },

	/* contracts */
	{ "unknown contract", NULL,
	    {
	        { T, "ПС 99999 11638", "rejected", "unknown_contract",
	            "Нет договора 99999. Проверьте номер. Пример: ПС 102057522 11638",
	            NOTHING },
	    } },
	{ "unknown contract drops the open dialog", NULL,
	    {
	        { T, "ПС 123859", "prompt", NULL, NULL, "123859/0" },
	        { T, "ПС 99999", "rejected", "unknown_contract", NULL, NOTHING,
	            NOTHING, "replaced" },
	        { T, "45055", "rejected", "no_dialog", NULL, NOTHING },
	    } },
	{ "closed contract", NULL,
	    {
	        { T, "ПС 999000 123", "rejected", "closed_contract",
	            "Договор 999000 закрыт, показания не принимаются.",
	            NOTHING },
	    } },
	{ "bare values without a dialog", NULL,
	    {
	        /* a number that could be a contract, but is none */
	        { T, "11638", "rejected", "no_dialog",
	            "Сначала укажите договор (11638 не найден): ПС 102057522 "
	            "11638",
	            NOTHING },
	        { T, "116", "rejected", "no_dialog",
	            "Сначала укажите договор. Пример: ПС 102057522 11638",
	            NOTHING },
	        { T, "45055 23186", "rejected", "no_dialog", NULL, NOTHING },
	    } },
	{ "junk without a dialog", NULL,
	    {
	        { T, "здравствуйте", "rejected", "bad_format",
	            "Не понял. Пример: ПС 102057522 11638. Справка: ПОМОЩЬ",
	            NOTHING },
	        { T, "", "rejected", "bad_format", NULL, NOTHING },
	        { T, "ПС 999 1", "rejected", "bad_format", NULL, NOTHING },
	    } },

	/* the window, 18-25 in Europe/Moscow by default */
	{ "window: the 25th 23:59:59 local is inside", NULL,
	    {
	        { "2024-05-25 23:59:59", "ПС 102057522 11638", "accepted", NULL,
	            NULL, NULL, "11638" },
	    } },
	{ "window: the 26th 00:00:00 local is outside", NULL,
	    {
	        { "2024-05-26 00:00:00", "ПС 102057522 11638", "rejected",
	            "outside_window",
	            "Показания не приняты: приём с 18 по 25 число. "
	            "Следующий — с 18.06",
	            NOTHING },
	    } },
	{ "window: the 18th 00:00:00 in, the 17th 23:59:59 out", NULL,
	    {
	        { "2024-05-17 23:59:59", "ПС 102057522 11638", "rejected",
	            "outside_window", NULL, NOTHING },
	        { "2024-05-18 00:00:00", "ПС 102057522 11638", "accepted", NULL,
	            NULL, NULL, "11638" },
	    } },
	{ "window: 21:00 UTC on the 25th is the 26th in Moscow", NULL,
	    {
	        { "2024-05-25 20:59:59Z", "ПС 102057522 11638", "accepted",
	            NULL, NULL, NULL, "11638" },
	        { "2024-05-25 21:00:00Z", "ПС 102057522 11639", "rejected",
	            "outside_window", NULL, NOTHING },
	    } },
	{ "window: Moscow was +4 in 2012", NULL,
	    {
	        { "2012-05-25 19:59:59Z", "ПС 102057522 11100", "accepted",
	            NULL, NULL, NULL, "11100" },
	        { "2012-05-25 20:00:00Z", "ПС 102057522 11639", "rejected",
	            "outside_window", NULL, NOTHING },
	    } },
	{ "window: ПС alone is refused outside the window", NULL,
	    {
	        { "2024-05-10 12:00:00", "ПС 123859", "rejected",
	            "outside_window", NULL, NOTHING },
	    } },
	{ "window: a dialog that crosses midnight into the 26th", NULL,
	    {
	        { "2024-05-25 23:59:00", "ПС 123859", "prompt", NULL, NULL,
	            "123859/0" },
	        { "2024-05-26 00:00:30", "45055 23186", "rejected",
	            "outside_window", NULL, NOTHING },
	    } },
	{ "window 30-3 across a month end", window_30_3,
	    {
	        { "2024-05-29 23:59:59", "ПС 102057522 11100", "rejected",
	            "outside_window",
	            "Показания не приняты: приём с 30 по 3 число. "
	            "Следующий — с 30.05",
	            NOTHING },
	        { "2024-05-30 00:00:00", "ПС 102057522 11100", "accepted", NULL,
	            NULL, NULL, "11100" },
	        /* the same occurrence of the window: corrections */
	        { "2024-05-31 12:00:00", "ПС 102057522 11200", "accepted", NULL,
	            NULL, NULL, "11200", "correction" },
	        { "2024-06-01 00:00:00", "ПС 102057522 11300", "accepted", NULL,
	            NULL, NULL, "11300", "correction" },
	        { "2024-06-03 23:59:59", "ПС 102057522 11400", "accepted", NULL,
	            NULL, NULL, "11400", "correction" },
	        { "2024-06-04 00:00:00", "ПС 102057522 11500", "rejected",
	            "outside_window", NULL, NOTHING },
	        { "2024-05-20 12:00:00", "ПС 102057522 11500", "rejected",
	            "outside_window", NULL, NOTHING },
	    } },
	{ "window 30-3 in February opens on the 28th", window_30_3,
	    {
	        { "2023-02-27 23:59:59", "ПС 102057522 11100", "rejected",
	            "outside_window", NULL, NOTHING },
	        { "2023-02-28 00:00:00", "ПС 102057522 11100", "accepted", NULL,
	            NULL, NULL, "11100" },
	        { "2023-03-03 12:00:00", "ПС 102057522 11200", "accepted", NULL,
	            NULL, NULL, "11200", "correction" },
	    } },
	{ "window 30-3: 21:00 UTC on the 3rd is the 4th in Moscow", window_30_3,
	    {
	        { "2024-06-03 20:59:59Z", "ПС 102057522 11100", "accepted",
	            NULL, NULL, NULL, "11100" },
	        { "2024-06-03 21:00:00Z", "ПС 102057522 11200", "rejected",
	            "outside_window", NULL, NOTHING },
	    } },
	{ "window policy accept flags instead", window_accept,
	    {
	        { "2024-05-26 00:00:00", "ПС 123859 45055", "prompt", NULL,
	            NULL, "123859/1", NOTHING, "outside_window" },
	        { "2024-05-26 00:01:00", "23186", "accepted", NULL, ACCEPTED_RU,
	            NULL, "45055 23186", "outside_window" },
	    } },
	{ "window per resource: cold water 20-28", window_cold_water_20_28,
	    {
	        { "2024-05-27 12:00:00", "ПС 176354 45 33", "accepted", NULL,
	            NULL, NULL, "45 33" },
	        { "2024-05-27 12:00:00", "ПС 102057522 11638", "rejected",
	            "outside_window", NULL, NOTHING },
	        { "2024-05-19 12:00:00", "ПС 176354 46 34", "rejected",
	            "outside_window",
	            "Показания не приняты: приём с 20 по 28 число. "
	            "Следующий — с 20.05",
	            NOTHING },
	    } },
	{ "window per resource: hot water accepts late",
	    window_hot_water_accept,
	    {
	        { "2024-05-27 12:00:00", "ПС 176355 25", "accepted", NULL, NULL,
	            NULL, "25", "outside_window" },
	        { "2024-05-27 12:00:00", "ПС 176354 45 33", "rejected",
	            "outside_window", NULL, NOTHING },
	    } },
	{ "window in Europe/Kyiv across DST", zone_kyiv,
	    {
	        { "2024-01-25 21:59:59Z", "ПС 102057522 11100", "accepted",
	            NULL, NULL, NULL, "11100" },
	        { "2024-01-25 22:00:00Z", "ПС 102057522 11200", "rejected",
	            "outside_window", NULL, NOTHING },
	        { "2024-07-25 20:59:59Z", "ПС 102057522 11200", "accepted",
	            NULL, NULL, NULL, "11200" },
	        { "2024-07-25 21:00:00Z", "ПС 102057522 11300", "rejected",
	            "outside_window", NULL, NOTHING },
	    } },

	/* templates from a config file */
	{ "templates overridden in Ukrainian", templates_uk,
	    {
	        { T, "ПС 123859", "prompt", NULL,
	            "Договір 123859. Введіть показники: день", "123859/0" },
	        { T, "45055 23186", "accepted", NULL,
	            "Показники прийнято. Дякуємо.", NULL, "45055 23186" },
	        { T, "ПС 102057522 10", "rejected", "lower_than_last",
	            "Показник 10 менший за попередній 11000. Введіть показники: Т1",
	            "102057522/0" },
	        { T, "ПС 99999 1", "rejected", "unknown_contract",
	            "Договір 99999 не знайдено. Приклад: ПС 102057522 11638",
	            NOTHING, NOTHING, "replaced" },
	        { "2024-05-26 12:00:00", "ПС 102057522 11638", "rejected",
	            "outside_window", "Показники приймаються з 18 по 25 число.",
	            NOTHING },
	    } },

	/* labels (issue 13): values placed by register name, in any order */
	{ "labels in order", NULL,
	    {
	        { T, "ПС 123861 день 12000 ночь 5800", "accepted", NULL,
	            ACCEPTED_RU, NULL, "12000 5800", NULL, "500 200",
	            .cmd = "submit c=123861 день:12000 ночь:5800" },
	    } },
	{ "labels reversed", NULL,
	    {
	        { T, "ПС 123861 ночь 5800 день 12000", "accepted", NULL,
	            ACCEPTED_RU, NULL, "12000 5800",
	            .cmd = "submit c=123861 ночь:5800 день:12000" },
	    } },
	{ "labels Т1 Т2, and д н", NULL,
	    {
	        { T, "ПС 123861 Т2 6200 Т1 13000", "accepted", NULL, NULL, NULL,
	            "13000 6200", .cmd = "submit c=123861 т2:6200 т1:13000" },
	        { "2024-06-20 12:00:00", "ПС 123861 д 13100 н 6300", "accepted",
	            NULL, NULL, NULL, "13100 6300",
	            .cmd = "submit c=123861 д:13100 н:6300" },
	    } },
	{ "labels against names in capitals", NULL,
	    {
	        { T, "ПС 123862 ДЕНЬ 12000 ночь 5800", "accepted", NULL, NULL,
	            NULL, "12000 5800",
	            .cmd = "submit c=123862 день:12000 ночь:5800" },
	    } },
	{ "inside a dialog Ночь 6200 fills the night register", NULL,
	    {
	        { T, "ПС 123861 12000", "prompt", NULL,
	            "Не хватает показания: ночь. Пример: 23186", "123861/1" },
	        { T, "Ночь 6200", "accepted", NULL, ACCEPTED_RU, NULL,
	            "12000 6200", .cmd = "values ночь:6200" },
	    } },
	{ "a label replaces a value already collected", NULL,
	    {
	        { T, "ПС 123861 12000", "prompt", NULL, NULL, "123861/1" },
	        { T, "день 12100 ночь 5800", "accepted", NULL, NULL, NULL,
	            "12100 5800", .cmd = "values день:12100 ночь:5800" },
	    } },
	{ "an unknown label is named with the registers", NULL,
	    {
	        { T, "ПС 123861 вода 5800", "rejected", "unknown_label",
	            "Не понял «вода». Шкалы договора 123861: день, ночь",
	            "123861/0", .cmd = "submit c=123861 вода:5800" },
	        { T, "Т3 5800", "rejected", "unknown_label",
	            "Не понял «т3». Шкалы договора 123861: день, ночь",
	            "123861/0", .cmd = "values т3:5800" },
	        { T, "12000 5800", "accepted", NULL, NULL, NULL, "12000 5800" },
	    } },
	{ "a label that leaves a register out", NULL,
	    {
	        { T, "ПС 123861 ночь 5800", "rejected", "missing_values",
	            "Не хватает показания: день. Пример: день 45055",
	            "123861/0", .cmd = "submit c=123861 ночь:5800" },
	    } },
	{ "one register twice", NULL,
	    {
	        { T, "ПС 123861 день 1 день 2", "rejected", "bad_format",
	            "Не понял. Договор 123861: день, ночь. Пример: 45055 23186",
	            "123861/0", .cmd = "submit c=123861 день:1 день:2" },
	    } },
	{ "a one-register contract ignores a label", NULL,
	    {
	        { T, "ПС 102057522 день 11638", "accepted", NULL, ACCEPTED_RU,
	            NULL, "11638", .cmd = "submit c=102057522 день:11638" },
	    } },

	/* "<contract> <values>" without the keyword */
	{ "keyword-less contract and value", NULL,
	    {
	        { T, "102057540 7700", "accepted", NULL, ACCEPTED_RU, NULL,
	            "7700", NULL, "700",
	            .cmd = "values bare c=102057540 102057540 7700" },
	    } },
	{ "keyword-less contract alone starts a dialog", NULL,
	    {
	        { T, "102057540", "prompt", NULL,
	            "Договор 102057540. Введите показание счётчика, например "
	            "45055",
	            "102057540/0", .cmd = "values bare c=102057540 102057540" },
	        { T, "7700", "accepted", NULL, NULL, NULL, "7700" },
	    } },
	{ "keyword-less with two registers and labels", NULL,
	    {
	        { T, "123861 день 12000 ночь 5800", "accepted", NULL, NULL,
	            NULL, "12000 5800",
	            .cmd = "values bare c=123861 123861 день:12000 ночь:5800" },
	    } },
	{ "keyword-less number that is no contract", NULL,
	    {
	        { T, "99999999 7700", "rejected", "no_dialog",
	            "Сначала укажите договор (99999999 не найден): ПС "
	            "102057522 11638",
	            NOTHING, .cmd = "values bare c=99999999 99999999 7700" },
	    } },
	{ "inside a dialog the first number is a value", NULL,
	    {
	        { T, "ПС 123861", "prompt", NULL, NULL, "123861/0" },
	        { T, "12000 5800", "accepted", NULL, NULL, NULL, "12000 5800",
	            .cmd = "values bare c=12000 12000 5800" },
	    } },

	/* ambiguous thousands: never guessed */
	{ "13,000 asked, ДА takes 13000", NULL,
	    {
	        { T, "ПС 102057522 13,000", "prompt", "ambiguous",
	            "Вы имели в виду 13000? Ответьте ДА или пришлите показание "
	            "без запятой",
	            "102057522/0",
	            .cmd = "submit c=102057522 trunc 13 alt=13000" },
	        { T, "ДА", "accepted", NULL, ACCEPTED_RU, NULL, "13000", NULL,
	            "2000", .cmd = "confirm" },
	    } },
	{ "6.600 inside a dialog, ДА", NULL,
	    {
	        { T, "ПС 123861 12000", "prompt", NULL, NULL, "123861/1" },
	        { T, "6.600", "prompt", "ambiguous",
	            "Вы имели в виду 6600? Ответьте ДА или пришлите показание "
	            "без точки",
	            "123861/1", .cmd = "values trunc 6 alt=6600" },
	        { T, "да", "accepted", NULL, NULL, NULL, "12000 6600",
	            .cmd = "confirm" },
	    } },
	{ "12 000 asked, then sent without the space", NULL,
	    {
	        { T, "ПС 102057522 12 000", "prompt", "ambiguous",
	            "Вы имели в виду 12000? Ответьте ДА или пришлите показание "
	            "без пробела",
	            "102057522/0", .cmd = "submit c=102057522 12 0 alt=12000" },
	        { T, "12000", "accepted", NULL, NULL, NULL, "12000" },
	        { T, "ДА", "help", "nothing_to_confirm",
	            "Подтверждать нечего. Пример: ПС 102057522 11638. Справка: "
	            "ПОМОЩЬ",
	            NOTHING, .cmd = "confirm" },
	    } },
	{ "12 000 on two registers: both readings fit, asked", NULL,
	    {
	        { T, "ПС 123861 12 000", "prompt", "ambiguous", NULL,
	            "123861/0", .cmd = "submit c=123861 12 0 alt=12000" },
	        { T, "ДА", "prompt", NULL,
	            "Договор 123861. Введите показания: ночь", "123861/1",
	            .cmd = "confirm" },
	        { T, "5800", "accepted", NULL, NULL, NULL, "12000 5800" },
	    } },
	{ "joined reading too long for the register: the literal one", NULL,
	    {
	        { T, "ПС 123861 12000,500", "prompt", NULL,
	            "Не хватает показания: ночь. Пример: 23186", "123861/1",
	            NOTHING, "truncated",
	            .cmd = "submit c=123861 trunc 12000 alt=12000500" },
	    } },
	{ "any other message clears the question", NULL,
	    {
	        { T, "ПС 102057522 13,000", "prompt", "ambiguous", NULL,
	            "102057522/0",
	            .cmd = "submit c=102057522 trunc 13 alt=13000" },
	        { T, "?", "help", NULL, NULL, "102057522/0" },
	        { T, "ДА", "help", "nothing_to_confirm", NULL, "102057522/0",
	            .cmd = "confirm" },
	    } },
	{ "ДА after the dialog expired", NULL,
	    {
	        { "2024-05-20 12:00:00", "ПС 102057522 13,000", "prompt",
	            "ambiguous", NULL, "102057522/0",
	            .cmd = "submit c=102057522 trunc 13 alt=13000" },
	        { "2024-05-20 12:31:00", "ДА", "rejected", "expired",
	            "Время ввода истекло. Начните заново: ПС 102057522",
	            NOTHING, NOTHING, "expired", .cmd = "confirm" },
	    } },

	/* thanks, and what was not understood */
	{ "thanks answered politely", NULL,
	    {
	        { T, "Спасибо!", "thanks", NULL,
	            "Пожалуйста! Показания принимаются с 18 по 25 число месяца.",
	            NOTHING, .cmd = "thanks" },
	        { T, "ПС 123861", "prompt", NULL, NULL, "123861/0" },
	        { T, "спасибо", "thanks", NULL, NULL, "123861/0",
	            .cmd = "thanks" },
	    } },
	{ "Не понял quotes the part not understood", NULL,
	    {
	        { T, "ПС 102057522 3600 кВтч", "rejected", "bad_format",
	            "Не понял «кВтч». Договор 102057522, пример: 45055",
	            "102057522/0", .cmd = "invalid c=102057522 u=20,8" },
	        { T, "ПС 123861", "prompt", NULL, NULL, "123861/0", NOTHING,
	            "replaced" },
	        { T, "ночью 5800", "rejected", "bad_format",
	            "Не понял «ночью». Договор 123861: день, ночь. Пример: "
	            "45055 23186",
	            "123861/0", .cmd = "invalid u=0,10" },
	    } },
	{ "a long quote is cut, a bad span is not quoted", NULL,
	    {
	        { T, "привет как дела у вас", "rejected", "bad_format",
	            "Не понял «привет как…». Пример: ПС 102057522 11638. "
	            "Справка: ПОМОЩЬ",
	            NOTHING, .cmd = "invalid u=0,38" },
	        { T, "abc", "rejected", "bad_format",
	            "Не понял. Пример: ПС 102057522 11638. Справка: ПОМОЩЬ",
	            NOTHING, .cmd = "invalid u=1,99" },
	        { T, "a\tb", "rejected", "bad_format",
	            "Не понял «a b». Пример: ПС 102057522 11638. Справка: "
	            "ПОМОЩЬ",
	            NOTHING, .cmd = "invalid u=0,3" },
	    } },

	/* corrections inside the window (issue 13, item 4) */
	{ "a typo flagged, then corrected against the value before", NULL,
	    {
	        { T, "ПС 102057540 36000", "accepted", NULL, REVIEW_RU, NULL,
	            "36000", "high_consumption", "29000" },
	        { T, "ПС 102057540 6999", "rejected", "lower_than_last",
	            "Показание 6999 меньше прежнего 7000. Пришлите верное. Если "
	            "неверно прежнее, обратитесь в поддержку",
	            "102057540/0" },
	        { T, "ПС 102057540 7300", "accepted", NULL,
	            "Показания исправлены: 7300.", NULL, "7300",
	            "replaced,correction", "300" },
	        { T, "ПС 102057540 7400", "accepted", NULL,
	            "Показания исправлены: 7400.", NULL, "7400", "correction",
	            "400" },
	    } },
	{ "a two-register correction names the values", NULL,
	    {
	        { T, "ПС 123861 12000 5800", "accepted", NULL, ACCEPTED_RU,
	            NULL, "12000 5800" },
	        { T, "ПС 123861 12100 5900", "accepted", NULL,
	            "Показания исправлены: день 12100, ночь 5900.", NULL,
	            "12100 5900", "correction", "600 300" },
	    } },
	{ "a correction through a dialog, below the typo", NULL,
	    {
	        { T, "ПС 123861 12000 5800", "accepted", NULL, NULL, NULL,
	            "12000 5800" },
	        { T, "ПС 123861", "prompt", NULL, NULL, "123861/0" },
	        { T, "11900", "prompt", NULL, NULL, "123861/1" },
	        { T, "5700", "accepted", NULL, NULL, NULL, "11900 5700",
	            "correction", "400 100" },
	    } },
	{ "the next window opens next month", NULL,
	    {
	        { "2024-12-26 12:00:00", "ПС 102057522 11638", "rejected",
	            "outside_window",
	            "Показания не приняты: приём с 18 по 25 число. "
	            "Следующий — с 18.01",
	            NOTHING },
	        { "2024-02-10 12:00:00", "ПС 102057522 11638", "rejected",
	            "outside_window",
	            "Показания не приняты: приём с 18 по 25 число. "
	            "Следующий — с 18.02",
	            NOTHING },
	    } },
	{ "accepted echoes registers, values and consumption", accepted_echo,
	    {
	        { T, "ПС 123861 12000 5800", "accepted", NULL,
	            "Принято: день 12000, ночь 5800; 12000 5800; расход 700",
	            NULL, "12000 5800" },
	        { T, "ПС 102057522 11638", "accepted", NULL,
	            "Принято: 11638; 11638; расход 638", NULL, "11638" },
	    } },
	{ "two water meters with equal values", NULL,
	    {
	        { T, "ПС 176354", "prompt", NULL, NULL, "176354/0" },
	        { T, "45", "prompt", NULL, NULL, "176354/1" },
	        { T, "45", "accepted", NULL, ACCEPTED_RU, NULL, "45 45" },
	    } },
	/* issue 17: ИНФО, bound senders ([verify] mode = bound), settings */
	{ "info to anyone with verify off", NULL,
	    {
	        { T, "ИНФО 123859", "info", NULL,
	            "Договор 123859: день 45000 (22.04), ночь 23000 (22.04). "
	            "За этот месяц не переданы, приём 18-25 числа",
	            NULL, NOTHING },
	        { T, "ПС 123859 45055 23186", "accepted", NULL, ACCEPTED_RU,
	            NULL, "45055 23186" },
	        { T, "ПС 123859 ?", "info", NULL,
	            "Договор 123859: день 45055 (20.05), ночь 23186 (20.05). "
	            "За этот месяц приняты",
	            NULL, NOTHING },
	        { T, "инфо 000111", "rejected", "unknown_contract",
	            "Нет договора 000111. Проверьте номер. Пример: ПС 102057522 "
	            "11638",
	            NULL, NOTHING },
	        { T, "ИНФО", "rejected", "not_bound",
	            "Номер не привязан к договору. Привязать его можно в "
	            "абонентском отделе",
	            NULL, NOTHING },
	        { T, "инфо 777001", "info", NULL,
	            "Договор 777001: Т1 —. За этот месяц не переданы, приём "
	            "18-25 числа",
	            NULL, NOTHING },
	    } },
	{ "info after the window closed: the last occurrence's", NULL,
	    {
	        { "2024-05-24 12:00:00", "ПС 123859 45055 23186", "accepted",
	            NULL, ACCEPTED_RU, NULL, "45055 23186" },
	        { "2024-06-02 12:00:00", "ИНФО 123859", "info", NULL,
	            "Договор 123859: день 45055 (24.05), ночь 23186 (24.05). "
	            "За этот месяц приняты",
	            NULL, NOTHING },
	        { "2024-06-18 12:00:00", "ИНФО 123859", "info", NULL, NULL,
	            NULL, NOTHING },
	    } },
	{ "info keeps the open dialog", NULL,
	    {
	        { T, "ПС 123859", "prompt", NULL, NULL, "123859/0", NOTHING },
	        { T, "ИНФО 123859", "info", NULL, NULL, "123859/0", NOTHING },
	        { T, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "settings with verify off", NULL,
	    {
	        { T, "НЕ НАПОМИНАТЬ", "setting", NULL,
	            "Напоминания отключены. Включить: НАПОМИНАТЬ", NULL,
	            NOTHING },
	        { T, "Напоминайте", "setting", NULL,
	            "Напоминания включены. Отключить: НЕ НАПОМИНАТЬ", NULL,
	            NOTHING },
	        { T, "ОТВЯЗАТЬ 123859", "rejected", "not_bound", NULL, NULL,
	            NOTHING },
	    } },
	{ "bound to one: ПС alone starts its dialog", bound_123859,
	    {
	        { T, "ПС", "prompt", NULL,
	            "Договор 123859. Введите показания: день", "123859/0",
	            NOTHING },
	        { T, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	        { T, "ИНФО", "info", NULL,
	            "Договор 123859: день 45055 (20.05), ночь 23186 (20.05). "
	            "За этот месяц приняты",
	            NULL, NOTHING },
	    } },
	{ "bound to one: values alone go to it", bound_123859,
	    {
	        { T, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	        { T, "день 45100 ночь 23200", "accepted", NULL,
	            "Показания исправлены: день 45100, ночь 23200.", NULL,
	            "45100 23200", "correction" },
	        { T, "123859 45200 23300", "accepted", NULL, NULL, NULL,
	            "45200 23300", "correction" },
	    } },
	{ "bound to one: values alone, one at a time", bound_123859,
	    {
	        { T, "45055", "prompt", NULL, NULL, "123859/1", NOTHING },
	        { T, "23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "bound to one: another contract is refused", bound_555001,
	    {
	        { T, "ПС 123859 45055 23186", "rejected", "not_bound",
	            "Номер не привязан к договору. Привязать его можно в "
	            "абонентском отделе",
	            NULL, NOTHING },
	        { T, "ИНФО 123859", "rejected", "not_bound", NULL, NULL,
	            NOTHING },
	        /* values alone go to the one bound contract, 555001 */
	        { T, "123859 45055 23186", "rejected", "lower_than_last", NULL,
	            "555001/1", NOTHING },
	        { T, "ОТМЕНА", "cancelled", NULL, NULL, NULL, NOTHING },
	        { T, "ИНФО 555001", "info", NULL, NULL, NULL, NOTHING },
	        { T, "ПС 555001 100100 50050 30030", "accepted", NULL,
	            ACCEPTED_RU, NULL, "100100 50050 30030" },
	    } },
	{ "not bound at all", verify_bound,
	    {
	        { T, "ПС 123859 45055 23186", "rejected", "not_bound", NULL,
	            NULL, NOTHING },
	        { T, "ПС 123859", "rejected", "not_bound", NULL, NULL,
	            NOTHING },
	        { T, "45055 23186", "rejected", "not_bound", NULL, NULL,
	            NOTHING },
	        { T, "ИНФО 123859", "rejected", "not_bound", NULL, NULL,
	            NOTHING },
	        { T, "ПС", "rejected", "not_bound", NULL, NULL, NOTHING },
	        { T, "ПОМОЩЬ", "help", NULL, NULL, NULL, NOTHING },
	        { T, "Спасибо", "thanks", NULL, NULL, NULL, NOTHING },
	        { T, "ДА", "help", "nothing_to_confirm", NULL, NULL, NOTHING },
	        { T, "НЕ НАПОМИНАТЬ", "setting", NULL, NULL, NULL, NOTHING },
	        { T, "абв", "rejected", "bad_format", NULL, NULL, NOTHING },
	    } },
	{ "bound to several: which one?", bound_several,
	    {
	        { T, "ПС", "rejected", "which_contract",
	            "Укажите договор: ***859, ***001. Пример: ПС 102057522 "
	            "11638",
	            NULL, NOTHING },
	        { T, "45055 23186", "rejected", "which_contract", NULL, NULL,
	            NOTHING },
	        { T, "ИНФО", "rejected", "which_contract", NULL, NULL,
	            NOTHING },
	        { T, "ОТВЯЗАТЬ", "rejected", "which_contract", NULL, NULL,
	            NOTHING },
	        { T, "ПС 102057522 11638", "rejected", "not_bound", NULL, NULL,
	            NOTHING },
	        { T, "123859 45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	        { T, "ПС 555001", "prompt", NULL, NULL, "555001/0", NOTHING },
	        { T, "100100 50050 30030", "accepted", NULL, ACCEPTED_RU, NULL,
	            "100100 50050 30030" },
	    } },
	{ "unbind, then refused", bound_123859,
	    {
	        { T, "ПС 123859", "prompt", NULL, NULL, "123859/0", NOTHING },
	        { T, "ОТВЯЗАТЬ 555001", "rejected", "not_bound", NULL, NULL,
	            NOTHING },
	        { T, "ОТВЯЗАТЬ 123859", "setting", NULL,
	            "Номер отвязан от договора 123859.", NULL, NOTHING },
	        { T, "ПС 123859 45055 23186", "rejected", "not_bound", NULL,
	            NULL, NOTHING },
	        { T, "ПС", "rejected", "not_bound", NULL, NULL, NOTHING },
	    } },
	{ "unbind alone, bound to one", bound_123859,
	    {
	        { T, "отвязать", "setting", NULL,
	            "Номер отвязан от договора 123859.", NULL, NOTHING },
	        { T, "45055 23186", "rejected", "not_bound", NULL, NULL,
	            NOTHING },
	    } },
	{ "verify off, bound to one: the shortcuts work", off_bound_123859,
	    {
	        { T, "ПС", "prompt", NULL, NULL, "123859/0", NOTHING },
	        { T, "ОТМЕНА", "cancelled", NULL, NULL, NULL, NOTHING },
	        { T, "ПС 555001 100100 50050 30030", "accepted", NULL,
	            ACCEPTED_RU, NULL, "100100 50050 30030" },
	        { T, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "verify off, bound to several: a known bare contract as before",
	    off_bound_several,
	    {
	        { T, "102057522 11638", "accepted", NULL, ACCEPTED_RU, NULL,
	            "11638" },
	        { T, "45055 23186", "rejected", "which_contract", NULL, NULL,
	            NOTHING },
	    } },

};

#define NCONV (sizeof(conversations) / sizeof(conversations[0]))

/* One cmocka test per conversation, so a failure names it. */
static void
test_conversation(void **state)
{
	run(*state);
}

/* ---- the API around the decision ------------------------------------- */

static struct parse_result
cmd_of(const char *text)
{
	struct parse_result r;

	parser_parse(parser, text, strlen(text), &r);
	return r;
}

static void
test_contract_needed(void **state)
{
	struct dialog_state d = { .contract = "123859", .nregisters = 2 };
	struct parse_result r;

	(void)state;
	r = cmd_of("ПС 555001 1");
	assert_string_equal(dialog_contract_needed(&r, &d), "555001");
	r = cmd_of("ПС 555001");
	assert_string_equal(dialog_contract_needed(&r, NULL), "555001");
	r = cmd_of("1 2");
	assert_string_equal(dialog_contract_needed(&r, &d), "123859");
	assert_null(dialog_contract_needed(&r, NULL));
	r = cmd_of("привет");
	assert_string_equal(dialog_contract_needed(&r, &d), "123859");
	assert_null(dialog_contract_needed(&r, NULL));
	r = cmd_of("ПС 555001 1 2 3 4 5 6 7");
	assert_string_equal(dialog_contract_needed(&r, &d), "555001");
	r = cmd_of("?");
	assert_null(dialog_contract_needed(&r, &d));
	r = cmd_of("СТОП");
	assert_null(dialog_contract_needed(&r, &d));
}

/* Bindings name the contract the customer left out; NULL: as needed. */
static void
test_contract_wanted(void **state)
{
	struct model_bindings one = { .n = 1, .contract = { "123859" } };
	struct model_bindings two = { .n = 2,
		.contract = { "123859", "555001" } };
	struct dialog_state d = { .contract = "176354", .nregisters = 2 };
	struct parse_result r;

	(void)state;
	r = cmd_of("ПС");
	assert_string_equal(dialog_contract_wanted(&r, NULL, &one), "123859");
	assert_null(dialog_contract_wanted(&r, NULL, &two));
	assert_null(dialog_contract_wanted(&r, NULL, NULL));
	r = cmd_of("45055 23186");
	assert_string_equal(dialog_contract_wanted(&r, NULL, &one), "123859");
	assert_string_equal(dialog_contract_wanted(&r, &d, &one), "176354");
	assert_string_equal(dialog_contract_wanted(&r, NULL, &two), "45055");
	r = cmd_of("555001 45055 23186");
	assert_string_equal(dialog_contract_wanted(&r, NULL, &two), "555001");
	r = cmd_of("ИНФО");
	assert_string_equal(dialog_contract_wanted(&r, NULL, &one), "123859");
	assert_null(dialog_contract_wanted(&r, NULL, NULL));
	r = cmd_of("ИНФО 176354");
	assert_string_equal(dialog_contract_wanted(&r, NULL, &one), "176354");
	r = cmd_of("ОТВЯЗАТЬ 176354");
	assert_null(dialog_contract_wanted(&r, NULL, &one));
	r = cmd_of("ПС 176354 20 30");
	assert_string_equal(dialog_contract_wanted(&r, NULL, &one), "176354");
	one.more = true; /* more than listed: never "the one" */
	r = cmd_of("ПС");
	assert_null(dialog_contract_wanted(&r, NULL, &one));
}

/* What the store is told to change: the action and its contract. */
static void
test_actions(void **state)
{
	struct model_bindings b = { .n = 1, .contract = { "123859" } };
	struct dialog_decision *out = malloc(sizeof(*out));
	struct parse_result r;
	struct dialog_input in = {
		.time_us = time_of(T), .cmd = &r, .bindings = &b
	};

	(void)state;
	r = cmd_of("НЕ НАПОМИНАТЬ");
	assert_int_equal(dialog_decide(&in, &base_cfg, out), 0);
	assert_int_equal(out->action, DIALOG_ACT_REMIND_OFF);
	assert_string_equal(dialog_outcome_name(out->outcome), "setting");
	r = cmd_of("НАПОМИНАТЬ");
	assert_int_equal(dialog_decide(&in, &base_cfg, out), 0);
	assert_int_equal(out->action, DIALOG_ACT_REMIND_ON);
	r = cmd_of("ОТВЯЗАТЬ 123859");
	assert_int_equal(dialog_decide(&in, &base_cfg, out), 0);
	assert_int_equal(out->action, DIALOG_ACT_UNBIND);
	assert_string_equal(out->action_contract, "123859");
	r = cmd_of("ОТВЯЗАТЬ 555001");
	assert_int_equal(dialog_decide(&in, &base_cfg, out), 0);
	assert_int_equal(out->action, DIALOG_ACT_NONE);
	assert_string_equal(dialog_reason_name(out->reason), "not_bound");
	r = cmd_of("ПС 123859 45055 23186");
	in.contract = catalog_find("123859");
	assert_int_equal(dialog_decide(&in, &base_cfg, out), 0);
	assert_int_equal(out->action, DIALOG_ACT_NONE);
	free(out);
}

static void
test_caller_errors(void **state)
{
	struct dialog_decision *out = malloc(sizeof(*out));
	struct dialog_state d = {
		.contract = "123859", .nregisters = 2, .next = 2
	};
	struct parse_result r = cmd_of("ПС 123859 1");
	struct dialog_input in = { .time_us = 0, .cmd = &r };

	(void)state;
	cfg = base_cfg;
	catalog_reset();
	in.contract = catalog_find("555001"); /* not the one named */
	assert_int_equal(dialog_decide(&in, &cfg, out), -1);
	assert_non_null(strstr(out->reply, "dialog_contract_needed"));
	in.contract = catalog_find("123859");
	in.dialog = &d; /* next == nregisters: never stored */
	assert_int_equal(dialog_decide(&in, &cfg, out), -1);
	d.next = 1;
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	free(out);
}

static void
test_state_check(void **state)
{
	struct dialog_state d = { .contract = "123859",
		.nregisters = 2,
		.next = 1,
		.started_us = 5,
		.last_us = 6 };
	char err[128];

	(void)state;
	assert_int_equal(dialog_state_check(&d, err, sizeof(err)), 0);
	d.started_us = 7;
	assert_int_equal(dialog_state_check(&d, err, sizeof(err)), -1);
	d.started_us = 5;
	strcpy(d.contract, "12a");
	assert_int_equal(dialog_state_check(&d, err, sizeof(err)), -1);
	strcpy(d.contract, "123859");
	d.nregisters = 7;
	assert_int_equal(dialog_state_check(&d, err, sizeof(err)), -1);
}

/* Billing re-imported the contract with other registers mid-dialog. */
static void
test_contract_changed(void **state)
{
	struct dialog_decision *out = malloc(sizeof(*out));
	struct dialog_state d = { .contract = "123859",
		.nregisters = 3,
		.next = 1,
		.values = { 45055 } };
	struct parse_result r = cmd_of("23186");
	struct dialog_input in = { .cmd = &r, .dialog = &d };

	(void)state;
	cfg = base_cfg;
	catalog_reset();
	in.time_us = d.started_us = d.last_us = time_of(T);
	in.contract = catalog_find("123859");
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	assert_int_equal(out->reason, DIALOG_R_EXPIRED);
	assert_true(out->flags & DIALOG_F_CONTRACT_CHANGED);
	assert_false(out->has_dialog);
	free(out);
}

/* A value accepted earlier in the dialog is checked again at the end. */
static void
test_revalidated_at_completion(void **state)
{
	struct dialog_decision *out = malloc(sizeof(*out));
	struct dialog_state d = { .contract = "123859",
		.nregisters = 2,
		.next = 1,
		.values = { 45055 } };
	struct parse_result r = cmd_of("23186");
	struct dialog_input in = { .cmd = &r, .dialog = &d };

	(void)state;
	cfg = base_cfg;
	catalog_reset();
	in.time_us = d.started_us = d.last_us = time_of(T);
	in.contract = catalog_find("123859");
	catalog_find("123859")->registers[0].last_value = 46000;
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	assert_int_equal(out->reason, DIALOG_R_LOWER_THAN_LAST);
	assert_true(out->has_dialog);
	assert_int_equal(out->dialog.next, 0);
	free(out);
}

/* A correction names the first day of its window occurrence. */
static void
test_correction_fields(void **state)
{
	struct dialog_decision *out = malloc(sizeof(*out));
	struct parse_result r = cmd_of("ПС 102057540 7300");
	struct dialog_input in = { .cmd = &r };
	struct model_contract *c;

	(void)state;
	cfg = base_cfg;
	catalog_reset();
	c = catalog_find("102057540");
	c->registers[0].last_value = 36000;
	c->registers[0].last_date = date_of("2024-05-19");
	c->registers[0].has_prev = true;
	c->registers[0].prev_value = 7000;
	c->registers[0].prev_date = date_of("2024-04-20");
	in.contract = c;
	in.time_us = time_of("2024-05-20 12:00:00");
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	assert_true(out->has_submission);
	assert_true(out->submission.flags & DIALOG_F_CORRECTION);
	assert_int_equal(
	    out->submission.supersedes_since, date_of("2024-05-18"));
	assert_int_equal(out->submission.consumption[0], 300);
	/* the last reading before the window: no correction */
	c->registers[0].last_date = date_of("2024-05-17");
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	assert_int_equal(out->reason, DIALOG_R_LOWER_THAN_LAST);
	/* a correction of a new meter: like a new meter */
	c->registers[0].last_date = date_of("2024-05-18");
	c->registers[0].has_prev = false;
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	assert_int_equal(
	    out->submission.flags, DIALOG_F_CORRECTION | DIALOG_F_NO_LAST);
	free(out);
}

/* The question keeps the joined reading; a row with too many is refused. */
static void
test_pending(void **state)
{
	struct dialog_decision *out = malloc(sizeof(*out));
	struct parse_result r;
	struct dialog_input in = { .cmd = &r };
	char err[128];

	(void)state;
	cfg = base_cfg;
	catalog_reset();
	cmd_spec("submit c=123861 день:12 0 ночь:5 800 alt=12000@0,5800@2", &r);
	in.contract = catalog_find("123861");
	in.time_us = time_of(T);
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	assert_int_equal(out->reason, DIALOG_R_AMBIGUOUS);
	assert_int_equal(out->dialog.npending, 2);
	assert_int_equal(out->dialog.pending[0], 12000);
	assert_int_equal(out->dialog.pending[1], 5800);
	assert_int_equal(out->tpl, TPL_AMBIGUOUS_SPACE);
	assert_string_equal(out->reply,
	    "Вы имели в виду 12000 5800? Ответьте ДА или пришлите "
	    "показание без пробела");
	out->dialog.npending = 3;
	assert_int_equal(
	    dialog_state_check(&out->dialog, err, sizeof(err)), -1);
	free(out);
}

/* Window occurrences: where a period starts, when the next one opens. */
static void
test_window_dates(void **state)
{
	struct config_window w = { .from = 18, .to = 25 };
	struct config_window wrap = { .from = 30, .to = 3 };
	struct config_window month = { .from = 1, .to = 31 };

	(void)state;
	assert_int_equal(
	    validate_period_start(&w, 2024, 5, 20), date_of("2024-05-18"));
	assert_int_equal(
	    validate_period_start(&w, 2024, 5, 26), MODEL_DATE_NONE);
	assert_int_equal(
	    validate_period_start(&wrap, 2024, 6, 2), date_of("2024-05-30"));
	assert_int_equal(
	    validate_period_start(&wrap, 2024, 1, 2), date_of("2023-12-30"));
	assert_int_equal(
	    validate_period_start(&wrap, 2023, 3, 1), date_of("2023-02-28"));
	assert_int_equal(
	    validate_period_start(&month, 2024, 2, 29), date_of("2024-02-01"));
	assert_int_equal(
	    validate_next_open(&w, 2024, 5, 10), date_of("2024-05-18"));
	assert_int_equal(
	    validate_next_open(&w, 2024, 5, 26), date_of("2024-06-18"));
	assert_int_equal(
	    validate_next_open(&w, 2024, 12, 26), date_of("2025-01-18"));
	assert_int_equal(
	    validate_next_open(&wrap, 2024, 2, 10), date_of("2024-02-29"));
}

static void
test_names(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(
	    dialog_outcome_name(DIALOG_OUT_ACCEPTED), "accepted");
	assert_string_equal(
	    dialog_outcome_name(DIALOG_OUT_REJECTED), "rejected");
	assert_null(dialog_outcome_name(DIALOG__OUT_MAX));
	assert_null(dialog_reason_name(DIALOG_R_NONE));
	for (int r = 1; r < DIALOG__R_MAX; r++)
		assert_non_null(dialog_reason_name(r));
	assert_string_equal(
	    dialog_reason_name(DIALOG_R_LOWER_THAN_LAST), "lower_than_last");
	assert_string_equal(
	    dialog_flag_name(DIALOG_F_WRAPAROUND), "wraparound");
	assert_null(dialog_flag_name(3));
	assert_string_equal(
	    dialog_flags_str(DIALOG_F_HIGH_CONSUMPTION | DIALOG_F_REPLACED, buf,
	        sizeof(buf)),
	    "high_consumption,replaced");
	assert_string_equal(
	    model_resource_name(MODEL_RES_HOT_WATER), "hot_water");
}

static void
test_contract_check(void **state)
{
	struct model_contract c;
	char err[128];

	(void)state;
	catalog_reset();
	c = *catalog_find("123859");
	assert_int_equal(model_contract_check(&c, err, sizeof(err)), 0);
	c.registers[1].digits = 10;
	assert_int_equal(model_contract_check(&c, err, sizeof(err)), -1);
	c = *catalog_find("123859");
	c.registers[1].position = 3;
	assert_int_equal(model_contract_check(&c, err, sizeof(err)), -1);
	c = *catalog_find("123859");
	c.registers[0].last_value = 100000;
	assert_int_equal(model_contract_check(&c, err, sizeof(err)), -1);
	c = *catalog_find("123859");
	c.nregisters = 0;
	assert_int_equal(model_contract_check(&c, err, sizeof(err)), -1);
}

static int
setup(void **state)
{
	char err[256];

	(void)state;
	if ((parser = parser_new(err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	config_defaults(&base_cfg);
	/* the full Moscow history (the built-in default only knows +3) */
	if (tz_load(&base_cfg.window.tz, "Europe/Moscow", err, sizeof(err)) !=
	    0)
		fail_msg("%s", err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	parser_free(parser);
	return 0;
}

int
main(void)
{
	struct CMUnitTest tests[NCONV + 13];
	size_t n = 0;

	for (size_t i = 0; i < NCONV; i++) {
		tests[n] = (struct CMUnitTest){ conversations[i].name,
			test_conversation, NULL, NULL,
			(void *)&conversations[i] };
		n++;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_contract_needed);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_contract_wanted);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_actions);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_caller_errors);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_state_check);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_contract_changed);
	tests[n++] =
	    (struct CMUnitTest)cmocka_unit_test(test_revalidated_at_completion);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_names);
	tests[n++] =
	    (struct CMUnitTest)cmocka_unit_test(test_correction_fields);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_pending);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_window_dates);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_contract_check);
	return _cmocka_run_group_tests("dialog", tests, n, setup, teardown);
}
