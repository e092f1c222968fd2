/*
 * [verify] mode = challenge through the pure core, as conversations: each
 * row is one message (local time, text) and what must come of it. The
 * harness does what the store does between messages: keeps the dialog,
 * the sender's bindings (a BIND adds one) and its challenge rows per
 * contract, and moves the contracts' last values on a submission.
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
#define PASSED_RU(c) "Номер привязан к договору " c "."
#define ASK_RU(c) "Договор " c ": пришлите 4 последние цифры номера счётчика"
#define WRONG_RU(n) \
	"Неверно. Осталось попыток: " n ". Нужны 4 последние цифры номера " \
	"счётчика"
#define LOCKED_RU(t) "Слишком много неверных ответов. Повторите после " t

struct step {
	const char *at; /* "2024-05-20 12:00:00", local (Europe/Moscow) */
	const char *text;
	const char *outcome;
	const char *reason; /* NULL: none */
	const char *reply; /* NULL: not checked */
	const char *dialog; /* "123859/0" left open; NULL: none */
	const char *stored; /* "45055 23186"; NULL: nothing */
	const char *flags; /* NULL: none */
};

struct conversation {
	const char *name;
	const char *mode; /* [verify] mode; NULL: challenge */
	const char *bound_to; /* "555001": the sender's bindings */
	bool no_phone; /* a chat that shared no phone */
	struct step steps[14];
	bool staff; /* entered by a console user (the house page) */
};

/* ---- billing's contracts, with serials -------------------------------- */

struct fixture {
	const char *number;
	enum model_status status;
	unsigned n;
	const char *names[3];
	uint32_t last[3];
	const char *serials[3];
};

static const struct fixture fixtures[] = {
	{ "123859", MODEL_ST_ACTIVE, 2, { "день", "ночь" }, { 45000, 23000 },
	    { "CE6803-01234567", "CE6803-01234567" } },
	/* two water meters: either serial answers */
	{ "176354", MODEL_ST_ACTIVE, 2, { "кухня", "ванная" }, { 40, 30 },
	    { "ВК-778899", "11-223344" } },
	{ "555001", MODEL_ST_ACTIVE, 1, { "Т1" }, { 100 }, { "" } },
	{ "102057522", MODEL_ST_ACTIVE, 1, { "Т1" }, { 11000 }, { "N12" } },
	{ "999000", MODEL_ST_CLOSED, 1, { "Т1" }, { 100 }, { "9999-7531" } },
};
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))
/* what no reply may ever contain: the serials' last digits */
static const char *const tails[] = { "4567", "8899", "3344", "7531" };

static struct model_contract catalog[NFIX];
static struct config base_cfg, cfg;
static struct parser *parser;

static void
catalog_reset(void)
{
	char err[128];

	memset(catalog, 0, sizeof(catalog));
	for (size_t i = 0; i < NFIX; i++) {
		struct model_contract *c = &catalog[i];

		strcpy(c->number, fixtures[i].number);
		c->status = fixtures[i].status;
		c->nregisters = (uint8_t)fixtures[i].n;
		for (unsigned j = 0; j < fixtures[i].n; j++) {
			struct model_register *r = &c->registers[j];

			r->position = (uint8_t)(j + 1);
			r->digits = 5;
			r->has_last = true;
			r->last_value = fixtures[i].last[j];
			r->last_date = model_date_from_ymd(2024, 4, 20);
			strcpy(r->name, fixtures[i].names[j]);
			strcpy(r->serial, fixtures[i].serials[j]);
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
		r->last_value = s->values[i];
		r->last_date = s->date;
	}
}

/* ---- the sender as the store keeps it ---------------------------------- */

struct sender {
	bool has_open;
	struct dialog_state open;
	struct model_bindings bind;
	struct dialog_challenge rows[8];
	unsigned nrows;
};

static struct dialog_challenge *
row_find(struct sender *s, const char *contract)
{
	for (unsigned i = 0; contract != NULL && i < s->nrows; i++) {
		if (strcmp(s->rows[i].contract, contract) == 0)
			return &s->rows[i];
	}
	return NULL;
}

static void
sender_apply(struct sender *s, const struct dialog_decision *out)
{
	struct dialog_challenge *row = row_find(s, out->challenge.contract);

	if ((s->has_open = out->has_dialog))
		s->open = out->dialog;
	if (out->has_submission)
		catalog_apply(&out->submission);
	if (out->action == DIALOG_ACT_BIND) {
		assert_false(
		    model_bindings_has(&s->bind, out->action_contract));
		strcpy(s->bind.contract[s->bind.n++], out->action_contract);
	}
	if (out->challenge_op == DIALOG_CH_PUT) {
		if (row == NULL) {
			assert_true(s->nrows < 8);
			row = &s->rows[s->nrows++];
		}
		*row = out->challenge;
	} else if (out->challenge_op == DIALOG_CH_DELETE && row != NULL) {
		*row = s->rows[--s->nrows];
	}
}

/* ---- running ------------------------------------------------------------ */

static int64_t
time_of(const char *s)
{
	int y;
	unsigned mo, d, h, mi, sec;
	int64_t t;

	if (sscanf(s, "%d-%u-%u %u:%u:%u", &y, &mo, &d, &h, &mi, &sec) != 6)
		fail_msg("bad time %s", s);
	t = (int64_t)model_date_from_ymd(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + sec;
	return (t - tz_offset(&cfg.window.tz, t)) * 1000000;
}

static void
values_str(const uint32_t *v, unsigned n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(
		    buf + used, len - used, "%s%" PRIu32, i ? " " : "", v[i]);
}

static void
check_step(const struct conversation *cv, unsigned i, const struct step *st,
    const struct dialog_decision *out)
{
	const char *reason = dialog_reason_name(out->reason);
	char got[256];

	if (strcmp(dialog_outcome_name(out->outcome), st->outcome) != 0 ||
	    (reason == NULL) != (st->reason == NULL) ||
	    (reason != NULL && strcmp(reason, st->reason) != 0))
		fail_msg("%s step %u (%s): %s/%s, want %s/%s (reply %s)",
		    cv->name, i, st->text, dialog_outcome_name(out->outcome),
		    reason ? reason : "-", st->outcome,
		    st->reason ? st->reason : "-", out->reply);
	if (st->reply != NULL && strcmp(out->reply, st->reply) != 0)
		fail_msg("%s step %u: reply\n  \"%s\"\nwant\n  \"%s\"",
		    cv->name, i, out->reply, st->reply);
	assert_int_equal(out->reply_len, strlen(out->reply));
	for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++) {
		if (strstr(out->reply, tails[k]) != NULL &&
		    strstr(st->text, tails[k]) == NULL) /* not quoted back */
			fail_msg("%s step %u: the reply reveals a serial: %s",
			    cv->name, i, out->reply);
	}
	dialog_flags_str(out->flags, got, sizeof(got));
	if (strcmp(got, st->flags ? st->flags : "") != 0)
		fail_msg("%s step %u: flags \"%s\", want \"%s\"", cv->name, i,
		    got, st->flags ? st->flags : "");
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
}

static void
set(struct config *c, const char *section, const char *key, const char *v)
{
	char why[256];

	if (config_set(c, section, key, v, why, sizeof(why)) != 0)
		fail_msg("config %s.%s = %s: %s", section, key, v, why);
}

static void
run(const struct conversation *cv)
{
	struct sender *s = calloc(1, sizeof(*s));
	struct dialog_decision *out = malloc(sizeof(*out));

	cfg = base_cfg;
	set(&cfg, "verify", "mode", cv->mode ? cv->mode : "challenge");
	catalog_reset();
	if (cv->bound_to != NULL)
		strcpy(s->bind.contract[s->bind.n++], cv->bound_to);
	for (unsigned i = 0; cv->steps[i].text != NULL; i++) {
		const struct step *st = &cv->steps[i];
		struct parse_result cmd;
		struct dialog_input in;
		const char *wanted;
		char err[128];

		parser_parse(parser, st->text, strlen(st->text), &cmd);
		in = (struct dialog_input){ .time_us = time_of(st->at),
			.text = st->text,
			.text_len = strlen(st->text),
			.channel = cv->staff ? "web"
			    : cv->no_phone   ? "telegram"
			                     : "sms",
			.sender = "79120000001",
			.cmd = &cmd,
			.dialog = s->has_open ? &s->open : NULL,
			.bindings = &s->bind,
			.no_phone = cv->no_phone,
			.staff = cv->staff };
		wanted = dialog_contract_wanted(&cmd, in.dialog, in.bindings);
		in.contract = catalog_find(wanted);
		in.challenge = row_find(s, wanted);
		if (dialog_decide(&in, &cfg, out) != 0)
			fail_msg("%s step %u: caller error: %s", cv->name, i,
			    out->reply);
		check_step(cv, i, st, out);
		if (out->has_dialog &&
		    dialog_state_check(&out->dialog, err, sizeof(err)) != 0)
			fail_msg("%s step %u: %s", cv->name, i, err);
		sender_apply(s, out);
	}
	free(out);
	free(s);
}

/* ---- the conversations ------------------------------------------------ */

#define T "2024-05-20 12:00:00"
#define T1 "2024-05-20 12:00:10"
#define T2 "2024-05-20 12:00:20"
#define T3 "2024-05-20 12:00:30"
#define Q "123859/0" /* the question's dialog */

static const struct conversation conversations[] = {
	{ "bound: no question", NULL, "123859", false,
	    {
	        { T, "ПС 123859 45055 23186", "accepted", NULL, ACCEPTED_RU,
	            NULL, "45055 23186" },
	    } },
	{ "unbound: the right answer binds and stores the held reading", NULL,
	    NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge",
	            ASK_RU("123859"), Q },
	        { T1, "4567", "accepted", NULL,
	            PASSED_RU("123859") " " ACCEPTED_RU, NULL, "45055 23186",
	            "verified" },
	        /* bound now: no question, a correction as for anyone bound */
	        { T2, "ПС 123859 45100 23200", "accepted", NULL, NULL, NULL,
	            "45100 23200", "correction" },
	        { T2, "ПС", "prompt", NULL, NULL, Q },
	    } },
	{ "labels are held in register order", NULL, NULL, false,
	    {
	        { T, "ПС 123859 ночь 23186 день 45055", "prompt", "challenge",
	            NULL, Q },
	        { T1, "4567", "accepted", NULL, NULL, NULL, "45055 23186",
	            "verified" },
	    } },
	{ "ПС alone: the answer starts the dialog", NULL, NULL, false,
	    {
	        { T, "ПС 123859", "prompt", "challenge", NULL, Q },
	        { T1, " 4567 ", "prompt", NULL,
	            PASSED_RU("123859") " Договор 123859. Введите показания: "
	                                "день",
	            Q, NULL, "verified" },
	        { T2, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
	            "45055 23186" },
	    } },
	{ "ИНФО is held too", NULL, NULL, false,
	    {
	        { T, "ИНФО 123859", "prompt", "challenge", ASK_RU("123859"),
	            Q },
	        { T1, "4567", "info", NULL,
	            PASSED_RU("123859") " Договор 123859: день 45000 (20.04), "
	                                "ночь 23000 (20.04). За этот месяц не "
	                                "переданы, приём 18-25 числа",
	            NULL, NULL, "verified" },
	    } },
	{ "a keyword-less reading is held", NULL, NULL, false,
	    {
	        { T, "123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "4567", "accepted", NULL, NULL, NULL, "45055 23186",
	            "verified" },
	    } },
	{ "wrong, wrong, right", NULL, NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "1111", "rejected", "wrong_answer", WRONG_RU("2"), Q },
	        { T2, "4568", "rejected", "wrong_answer", WRONG_RU("1"), Q },
	        { T3, "4567", "accepted", NULL, NULL, NULL, "45055 23186",
	            "verified" },
	    } },
	{ "three wrong: locked out until the lockout ends", NULL, NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "1111", "rejected", "wrong_answer", NULL, Q },
	        { T2, "2222", "rejected", "wrong_answer", NULL, Q },
	        /* 12:00:30 + 1 h, rounded up to the minute */
	        { T3, "3333", "rejected", "locked_out",
	            LOCKED_RU("13:01 20.05") },
	        { "2024-05-20 12:30:00", "ПС 123859 45055 23186", "rejected",
	            "locked_out", LOCKED_RU("13:01 20.05") },
	        { "2024-05-20 12:30:00", "ИНФО 123859", "rejected",
	            "locked_out" },
	        { "2024-05-20 12:30:00", "4567", "rejected", "no_dialog" },
	        { "2024-05-20 13:00:29", "ПС 123859", "rejected",
	            "locked_out" },
	        /* the lockout is over: asked afresh, 3 attempts again */
	        { "2024-05-20 13:00:30", "ПС 123859 45055 23186", "prompt",
	            "challenge", NULL, Q },
	        { "2024-05-20 13:00:40", "1111", "rejected", "wrong_answer",
	            WRONG_RU("2"), Q },
	        { "2024-05-20 13:00:50", "4567", "accepted", NULL, NULL, NULL,
	            "45055 23186", "verified" },
	    } },
	{ "anything but 4 digits asks again, holding the reading", NULL, NULL,
	    false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "45055", "prompt", "challenge", ASK_RU("123859"), Q },
	        { T1, "12345", "prompt", "challenge", NULL, Q },
	        { T1, "ДА", "prompt", "challenge", NULL, Q },
	        { T1, "абв", "prompt", "challenge", NULL, Q },
	        { T2, "4567", "accepted", NULL, NULL, NULL, "45055 23186",
	            "verified" },
	    } },
	/* help and thanks end a held reading as they end a ДА question */
	{ "help keeps the question, not the held reading", NULL, NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "ПОМОЩЬ", "help", NULL, NULL, Q },
	        { T2, "4567", "prompt", NULL, NULL, Q, NULL, "verified" },
	    } },
	{ "a new ПС while asked holds the new reading", NULL, NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "1111", "rejected", "wrong_answer", NULL, Q },
	        { T1, "ПС 123859 45066 23199", "prompt", "challenge", NULL, Q },
	        /* attempts are the contract's, not the question's */
	        { T2, "2222", "rejected", "wrong_answer", WRONG_RU("1"), Q },
	        { T2, "4567", "accepted", NULL, NULL, NULL, "45066 23199",
	            "verified" },
	    } },
	{ "several contracts: each its own question and attempts", NULL, NULL,
	    false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "1111", "rejected", "wrong_answer", WRONG_RU("2"), Q },
	        { T1, "ПС 176354 45 35", "prompt", "challenge",
	            ASK_RU("176354"), "176354/0" },
	        { T1, "4567", "rejected", "wrong_answer", WRONG_RU("2"),
	            "176354/0" },
	        /* the bathroom meter's serial answers as well */
	        { T2, "3344", "accepted", NULL, NULL, NULL, "45 35",
	            "verified" },
	        { T2, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T2, "2222", "rejected", "wrong_answer", WRONG_RU("1"), Q },
	        { T3, "4567", "accepted", NULL, NULL, NULL, "45055 23186",
	            "verified" },
	        /* bound to both now: which one? */
	        { T3, "ПС", "rejected", "which_contract" },
	    } },
	{ "bound to another contract: that one alone, this one asked", NULL,
	    "555001", false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "4567", "accepted", NULL, NULL, NULL, "45055 23186",
	            "verified" },
	        { T1, "ПС", "rejected", "which_contract" },
	    } },
	{ "no serial in billing: cannot verify here", NULL, NULL, false,
	    {
	        { T, "ПС 555001 150", "rejected", "cannot_verify",
	            "Подтвердить договор 555001 здесь нельзя. Привяжите номер в "
	            "абонентском отделе" },
	        /* a serial with fewer than 4 digits is none */
	        { T, "ИНФО 102057522", "rejected", "cannot_verify" },
	        { T, "ПС 000111 5", "rejected", "unknown_contract" },
	        { T, "ПС 999000 5", "rejected", "closed_contract" },
	        { T, "ОТВЯЗАТЬ 123859", "rejected", "not_bound" },
	        { T, "НЕ НАПОМИНАТЬ", "setting" },
	    } },
	{ "a chat without a phone: share it first", NULL, NULL, true,
	    {
	        { T, "ПС 123859 45055 23186", "rejected", "cannot_verify",
	            "Поделитесь контактом (номером телефона), затем пришлите ПС "
	            "123859" },
	    } },
	{ "the question expires with its dialog", NULL, NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { "2024-05-20 12:30:01", "4567", "rejected", "expired", NULL,
	            NULL, NULL, "expired" },
	        { "2024-05-20 12:31:00", "ПС 123859 45055 23186", "prompt",
	            "challenge", NULL, Q },
	        { "2024-05-20 12:31:10", "4567", "accepted", NULL, NULL, NULL,
	            "45055 23186", "verified" },
	    } },
	{ "cancel ends the question, not the attempts", NULL, NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL, Q },
	        { T1, "1111", "rejected", "wrong_answer", NULL, Q },
	        { T1, "СТОП", "cancelled" },
	        { T1, "4567", "rejected", "no_dialog" },
	        { T2, "ПС 123859", "prompt", "challenge", NULL, Q },
	        { T2, "2222", "rejected", "wrong_answer", WRONG_RU("1"), Q },
	        { T3, "3333", "rejected", "locked_out" },
	    } },
	{ "the held reading is judged at the answer", NULL, NULL, false,
	    {
	        { T, "ПС 123859 40000 23186", "prompt", "challenge", NULL, Q },
	        { T1, "4567", "rejected", "lower_than_last", NULL, Q, NULL,
	            "verified" },
	        { T2, "45055 23186", "accepted", NULL, NULL, NULL,
	            "45055 23186" },
	    } },
	{ "mode bound asks nothing", "bound", NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "rejected", "not_bound" },
	        { T, "4567", "rejected", "not_bound" },
	    } },
	/* a manager's house entry: the console vouched for the sender */
	{ "staff entry passes mode bound", "bound", NULL, false,
	    {
	        { T, "ПС 123859 45055 23186", "accepted", NULL, NULL, NULL,
	            "45055 23186" },
	    },
	    true },
	{ "staff entry passes mode challenge", NULL, NULL, false,
	    {
	        { T, "ПС 102057522 11638", "accepted", NULL, NULL, NULL,
	            "11638" },
	    },
	    true },
};
#define NCONV (sizeof(conversations) / sizeof(conversations[0]))

static void
test_conversation(void **state)
{
	run(*state);
}

/* The config keys and their defaults. */
static void
test_config(void **state)
{
	struct config c;
	char why[256];

	(void)state;
	config_defaults(&c);
	assert_int_equal(c.verify.mode, CONFIG_VERIFY_OFF);
	assert_int_equal(c.verify.attempts, 3);
	assert_int_equal(c.verify.lockout, 3600);
	assert_int_equal(
	    config_set(&c, "verify", "mode", "challenge", why, sizeof(why)), 0);
	assert_int_equal(c.verify.mode, CONFIG_VERIFY_CHALLENGE);
	assert_int_equal(
	    config_set(&c, "verify", "lockout", "15m", why, sizeof(why)), 0);
	assert_int_equal(c.verify.lockout, 900);
	assert_int_equal(
	    config_set(&c, "verify", "attempts", "0", why, sizeof(why)), -1);
	assert_int_equal(
	    config_set(&c, "verify", "lockout", "10s", why, sizeof(why)), -1);
}

/* One attempt and a 15-minute lockout, from the config. */
static void
test_configured_attempts(void **state)
{
	static const struct conversation cv = { "one attempt", NULL, NULL,
		false,
		{
		    { T, "ПС 123859 45055 23186", "prompt", "challenge", NULL,
		        Q },
		    { T1, "1111", "rejected", "locked_out",
		        LOCKED_RU("12:16 20.05") },
		    { "2024-05-20 12:15:10", "ПС 123859 45055 23186", "prompt",
		        "challenge", NULL, Q },
		} };
	char why[256];

	(void)state;
	assert_int_equal(
	    config_set(&base_cfg, "verify", "attempts", "1", why, sizeof(why)),
	    0);
	assert_int_equal(
	    config_set(&base_cfg, "verify", "lockout", "15m", why, sizeof(why)),
	    0);
	run(&cv);
	config_set(&base_cfg, "verify", "attempts", "3", why, sizeof(why));
	config_set(&base_cfg, "verify", "lockout", "1h", why, sizeof(why));
}

/* A row for another contract is not this one's; a stale question is none. */
static void
test_rows_matched(void **state)
{
	struct parse_result cmd;
	struct dialog_decision *out = malloc(sizeof(*out));
	struct dialog_challenge other = { .contract = "176354",
		.attempts = 2,
		.locked_until_us = time_of("2024-05-20 13:00:00") };
	struct dialog_state q = { .contract = "123859",
		.nregisters = 2,
		.started_us = time_of(T),
		.last_us = time_of(T) };
	struct dialog_challenge stale = {
		.contract = "123859", .attempts = 1, .asked_us = time_of(T) - 1
	};
	struct dialog_input in = { .time_us = time_of(T1),
		.text = "4567",
		.text_len = 4,
		.cmd = &cmd };

	(void)state;
	cfg = base_cfg;
	set(&cfg, "verify", "mode", "challenge");
	catalog_reset();
	parser_parse(parser, "ПС 123859", strlen("ПС 123859"), &cmd);
	in.text = "ПС 123859";
	in.text_len = strlen(in.text);
	in.contract = catalog_find("123859");
	in.challenge = &other; /* the store's mistake: ignored */
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	assert_int_equal(out->reason, DIALOG_R_CHALLENGE);
	assert_int_equal(out->challenge_op, DIALOG_CH_PUT);
	assert_string_equal(out->challenge.contract, "123859");
	assert_int_equal(out->challenge.attempts, 0);

	/* the dialog is not the question that row asked: ask again */
	parser_parse(parser, "4567", 4, &cmd);
	in.text = "4567";
	in.text_len = 4;
	in.dialog = &q;
	in.challenge = &stale;
	assert_int_equal(dialog_decide(&in, &cfg, out), 0);
	assert_int_equal(out->reason, DIALOG_R_CHALLENGE);
	assert_int_equal(out->challenge.attempts, 1);
	assert_int_equal(out->challenge.asked_us, in.time_us);
	free(out);
}

/*
 * Issue 17 item 2 where test_dialog does not reach: bound to more than
 * MODEL_BINDINGS_MAX, the list is masked and ends in "…"; bound to one,
 * values inside a dialog of another contract go to that dialog; bound
 * to several, values alone inside a dialog go to it (no question).
 */
static void
test_which_masked(void **state)
{
	struct model_bindings many = { .n = MODEL_BINDINGS_MAX, .more = true };
	struct parse_result cmd;
	struct dialog_decision *out = malloc(sizeof(*out));
	struct dialog_input in = {
		.time_us = time_of(T), .cmd = &cmd, .bindings = &many
	};

	(void)state;
	cfg = base_cfg;
	set(&cfg, "verify", "mode", "bound");
	catalog_reset();
	for (unsigned i = 0; i < MODEL_BINDINGS_MAX; i++)
		snprintf(many.contract[i], sizeof(many.contract[i]),
		    "10000%u%02u", i, 11 * i);
	for (unsigned k = 0; k < 2; k++) {
		const char *text = k ? "45055 23186" : "ПС";

		parser_parse(parser, text, strlen(text), &cmd);
		in.text = text;
		in.text_len = strlen(text);
		/* "45055" could be a contract: billing has none such */
		assert_null(
		    catalog_find(dialog_contract_wanted(&cmd, NULL, &many)));
		assert_int_equal(dialog_decide(&in, &cfg, out), 0);
		assert_int_equal(out->reason, DIALOG_R_WHICH_CONTRACT);
		assert_false(out->has_dialog);
		assert_string_equal(out->reply,
		    "Укажите договор: ***000, ***111, ***222, ***333, ***444, "
		    "***555, ***666, ***777, …. Пример: ПС 102057522 11638");
	}
	free(out);
}

static void
test_bound_values_in_dialog(void **state)
{
	static const struct conversation one = { "bound to one, a dialog of "
		                                 "another open",
		"off", "555001", false,
		{
		    { T, "ПС 123859", "prompt", NULL, NULL, Q },
		    { T1, "45055 23186", "accepted", NULL, ACCEPTED_RU, NULL,
		        "45055 23186" },
		    /* no dialog: values alone are the bound contract's */
		    { T2, "150", "accepted", NULL, ACCEPTED_RU, NULL, "150" },
		} };
	static const struct conversation bound = { "mode bound, bound to one",
		"bound", "123859", false,
		{
		    { T, "ПС", "prompt", NULL,
		        "Договор 123859. Введите показания: день", Q },
		    { T1, "45055", "prompt", NULL, NULL, "123859/1" },
		    { T2, "23186", "accepted", NULL, ACCEPTED_RU, NULL,
		        "45055 23186" },
		    { T2, "ПС 555001 150", "rejected", "not_bound" },
		} };

	(void)state;
	run(&one);
	run(&bound);
}

static int
setup(void **state)
{
	char err[256];

	(void)state;
	if ((parser = parser_new(err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	config_defaults(&base_cfg);
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
	struct CMUnitTest tests[NCONV + 5];
	size_t n = 0;

	for (size_t i = 0; i < NCONV; i++)
		tests[n++] = (struct CMUnitTest){ conversations[i].name,
			test_conversation, NULL, NULL,
			(void *)&conversations[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_config);
	tests[n++] =
	    (struct CMUnitTest)cmocka_unit_test(test_configured_attempts);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_rows_matched);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_which_masked);
	tests[n++] =
	    (struct CMUnitTest)cmocka_unit_test(test_bound_values_in_dialog);
	return _cmocka_run_group_tests(
	    "dialog_challenge", tests, n, setup, teardown);
}
