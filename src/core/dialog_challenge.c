/*
 * [verify] mode = challenge (issue 17, docs/dialog.md "Challenge"): a
 * sender not bound to a contract is asked the last four digits of the
 * meter's serial number before its first reading or ИНФО for it. The
 * right answer binds it and the held reading (or ИНФО) goes on as if it
 * had been sent now; wrong answers count, and after [verify] attempts of
 * them the sender is locked out of that contract for [verify] lockout.
 *
 * Pure like the rest of the engine: the state of (sender, contract) comes
 * in (in->challenge) and goes out (out->challenge, challenge_op); the time
 * is the message's. The question lives in the sender's dialog row (its
 * pending values are the held reading), so it expires with the dialog.
 * The serial itself never leaves this file.
 */
#include <stdio.h>
#include <string.h>

#include "dialog_int.h"
#include "meterline/xmalloc.h"

#define CH_DIGITS 4

/* The last four digits of a register's serial (false: fewer than four). */
static bool
ch_serial_tail(const struct model_register *r, char tail[CH_DIGITS + 1])
{
	unsigned n = 0;

	for (size_t i = strnlen(r->serial, sizeof(r->serial));
	     i > 0 && n < CH_DIGITS; i--) {
		char c = r->serial[i - 1];

		if (c >= '0' && c <= '9')
			tail[CH_DIGITS - ++n] = c;
	}
	tail[CH_DIGITS] = '\0';
	return n == CH_DIGITS;
}

/*
 * Whether the answer is one register's tail (NULL: whether any register
 * has one). Any meter of the contract will do: a customer with a kitchen
 * and a bathroom meter may read either.
 */
static bool
ch_serial_matches(const struct model_contract *c, const char *answer)
{
	char tail[CH_DIGITS + 1];

	for (unsigned i = 0; i < c->nregisters; i++) {
		if (ch_serial_tail(&c->registers[i], tail) &&
		    (answer == NULL || strcmp(tail, answer) == 0))
			return true;
	}
	return false;
}

/* The message as an answer: exactly four digits, spaces around (false). */
static bool
ch_answer(const struct dlg *d, char answer[CH_DIGITS + 1])
{
	const char *t = d->in->text;
	size_t n = d->in->text_len, a = 0, z;

	if (t == NULL)
		return false;
	while (a < n &&
	    (t[a] == ' ' || t[a] == '\t' || t[a] == '\n' || t[a] == '\r'))
		a++;
	for (z = n; z > a &&
	     (t[z - 1] == ' ' || t[z - 1] == '\t' || t[z - 1] == '\n' ||
	         t[z - 1] == '\r');
	     z--)
		;
	if (z - a != CH_DIGITS || strspn(t + a, "0123456789") < CH_DIGITS)
		return false;
	memcpy(answer, t + a, CH_DIGITS);
	answer[CH_DIGITS] = '\0';
	return true;
}

/*
 * The state of (sender, contract) as of this message: the row the store
 * loaded, or a fresh one; a lockout that has ended starts over.
 */
static void
ch_state(const struct dlg *d, const char *contract, struct dialog_challenge *st)
{
	const struct dialog_challenge *row = d->in->challenge;

	if (row != NULL && strcmp(row->contract, contract) == 0)
		*st = *row;
	else {
		memset(st, 0, sizeof(*st));
		strlcpy_s(st->contract, contract, sizeof(st->contract));
	}
	if (st->locked_until_us != 0 && st->locked_until_us <= d->in->time_us) {
		st->locked_until_us = 0;
		st->attempts = 0;
	}
}

/* Whether the sender's live dialog is this contract's open question. */
static bool
ch_question_open(const struct dlg *d, const struct dialog_challenge *st)
{
	const struct dialog_state *q = d->in->dialog;

	return d->live && st->asked_us != 0 &&
	    strcmp(q->contract, st->contract) == 0 &&
	    q->started_us == st->asked_us;
}

/* Kinds that act on the contract and so need the sender verified. */
static bool
ch_trigger(const struct dlg *d)
{
	const struct parse_result *cmd = d->cmd;

	switch (cmd->kind) {
	case PARSE_START:
	case PARSE_SUBMIT:
	case PARSE_INFO: return true;
	case PARSE_VALUES:
		return d->in->dialog == NULL ? cmd->bare_contract : d->live;
	case PARSE_CONFIRM: return d->live;
	case PARSE_INVALID: return cmd->contract[0] != '\0' || d->live;
	default: return false;
	}
}

/* The row to write, and what to do with it. */
static void
ch_write(struct dlg *d, const struct dialog_challenge *st,
    enum dialog_challenge_op op)
{
	d->out->challenge_op = op;
	d->out->challenge = *st;
}

/*
 * The reading the question holds, in register order (labels placed):
 * the values of a ПС or of a keyword-less "<contract> <values>". None
 * when they cannot be placed or are ambiguous ("13,000"): the right
 * answer then asks for them.
 */
static uint8_t
ch_hold(const struct dlg *d, uint32_t held[MODEL_MAX_REGISTERS])
{
	const struct parse_result *cmd = d->cmd;
	bool bare = cmd->kind == PARSE_VALUES && cmd->bare_contract &&
	    d->in->dialog == NULL;
	unsigned skip = bare ? 1 : 0; /* the first number is the contract */
	struct dialog_state empty;
	struct dlg_place p;

	if ((cmd->kind != PARSE_SUBMIT && !bare) || cmd->ambiguous ||
	    cmd->nvalues <= skip)
		return 0;
	memset(&empty, 0, sizeof(empty));
	empty.nregisters = d->c->nregisters;
	dlg_place(d->c, &empty, cmd->values + skip, cmd->labels + skip,
	    cmd->nvalues - skip, &p);
	if (p.status != DLG_PLACE_OK)
		return 0;
	for (unsigned i = 0; i < p.next; i++) {
		if (p.all[i] > UINT32_MAX)
			return 0;
		held[i] = (uint32_t)p.all[i];
	}
	return (uint8_t)p.next;
}

/* Ask the question: a dialog holding the reading, the row to match it. */
static void
ch_ask(struct dlg *d, struct dialog_challenge *st)
{
	struct dialog_state *s = &d->out->dialog;

	if (d->in->no_phone) {
		d->out->has_dialog = false;
		dlg_reject(d, DIALOG_R_CANNOT_VERIFY, TPL_CANNOT_VERIFY_PHONE);
		return;
	}
	if (!ch_serial_matches(d->c, NULL)) {
		d->out->has_dialog = false;
		dlg_reject(d, DIALOG_R_CANNOT_VERIFY, TPL_CANNOT_VERIFY);
		return;
	}
	memset(s, 0, sizeof(*s));
	strlcpy_s(s->contract, d->c->number, sizeof(s->contract));
	s->nregisters = d->c->nregisters;
	s->started_us = s->last_us = d->in->time_us;
	s->npending = ch_hold(d, s->pending);
	d->out->has_dialog = true;
	st->asked_us = d->in->time_us;
	st->held =
	    d->cmd->kind == PARSE_INFO ? DIALOG_HELD_INFO : DIALOG_HELD_READING;
	ch_write(d, st, DIALOG_CH_PUT);
	dlg_outcome(d, DIALOG_OUT_PROMPT, DIALOG_R_CHALLENGE, TPL_CHALLENGE);
}

/* The question again, holding what it held; nothing counted. */
static void
ch_repeat(struct dlg *d)
{
	d->out->has_dialog = true;
	d->out->dialog = *d->in->dialog; /* pending kept: the held reading */
	if (d->in->time_us > d->out->dialog.last_us)
		d->out->dialog.last_us = d->in->time_us;
	dlg_outcome(d, DIALOG_OUT_PROMPT, DIALOG_R_CHALLENGE, TPL_CHALLENGE);
}

/* "14:35 07.12": the lockout's end, local, rounded up to the minute. */
static void
ch_var_until(struct dlg *d, int64_t until_us)
{
	int64_t s = until_us / 1000000 + (until_us % 1000000 != 0);
	struct tz_civil t;

	s += (60 - s % 60) % 60;
	tz_local(&d->cfg->window.tz, s, &t);
	snprintf(d->until, sizeof(d->until), "%02u:%02u %02u.%02u", t.hour,
	    t.min, t.day, t.month);
	dlg_var(d, TPL_VAR_UNTIL, d->until);
}

static void
ch_locked(struct dlg *d, const struct dialog_challenge *st)
{
	d->out->has_dialog = false;
	ch_var_until(d, st->locked_until_us);
	dlg_reject(d, DIALOG_R_LOCKED_OUT, TPL_CHALLENGE_LOCKED);
}

/* A wrong answer: counted; the last one allowed locks the sender out. */
static void
ch_wrong(struct dlg *d, struct dialog_challenge *st)
{
	const struct config_verify *v = &d->cfg->verify;

	st->attempts++;
	if (st->attempts >= v->attempts) {
		st->locked_until_us = d->in->time_us + v->lockout * 1000000;
		st->asked_us = 0;
		ch_write(d, st, DIALOG_CH_PUT);
		ch_locked(d, st);
		return;
	}
	ch_write(d, st, DIALOG_CH_PUT);
	ch_repeat(d);
	dlg_var_num(d, TPL_VAR_ATTEMPTS, d->attempts,
	    (uint64_t)(v->attempts - st->attempts));
	dlg_reject(d, DIALOG_R_WRONG_ANSWER, TPL_CHALLENGE_WRONG);
}

/*
 * The right answer: bind, forget the row, and go on with what the
 * question held as if the now bound sender had sent it (the caller runs
 * the handler of d->cmd; the reply says "bound" first).
 */
static void
ch_pass(struct dlg *d, const struct dialog_challenge *st)
{
	const struct dialog_state *q = d->in->dialog;
	struct parse_result *b = &d->bare;

	memset(b, 0, sizeof(*b));
	strlcpy_s(b->contract, st->contract, sizeof(b->contract));
	if (st->held == DIALOG_HELD_INFO) {
		b->kind = PARSE_INFO;
	} else {
		b->kind = q->npending > 0 ? PARSE_SUBMIT : PARSE_START;
		b->nvalues = q->npending;
		for (unsigned i = 0; i < q->npending; i++)
			b->values[i] = q->pending[i];
	}
	d->cmd = b;
	d->live = false; /* the question's dialog is done */
	d->out->action = DIALOG_ACT_BIND;
	strlcpy_s(d->out->action_contract, st->contract,
	    sizeof(d->out->action_contract));
	d->out->flags |= DIALOG_F_VERIFIED;
	ch_write(d, st, DIALOG_CH_DELETE);
	d->passed = true;
}

/* With the question open: an answer, a new command, or anything else. */
static bool
ch_on_question(struct dlg *d, struct dialog_challenge *st)
{
	char answer[CH_DIGITS + 1];

	if (d->cmd->kind == PARSE_VALUES && ch_answer(d, answer)) {
		if (ch_serial_matches(d->c, answer)) {
			ch_pass(d, st);
			return false; /* the held command is decided on */
		}
		ch_wrong(d, st);
		return true;
	}
	if (d->cmd->kind == PARSE_START || d->cmd->kind == PARSE_SUBMIT ||
	    d->cmd->kind == PARSE_INFO)
		ch_ask(d, st); /* what it holds now */
	else
		ch_repeat(d);
	return true;
}

bool
dlg_challenge(struct dlg *d, const char *contract)
{
	struct dialog_challenge st;

	if (contract == NULL || d->c == NULL || !ch_trigger(d) ||
	    strcmp(d->c->number, contract) != 0 ||
	    d->c->status == MODEL_ST_CLOSED)
		return false; /* the ordinary handler says why */
	dlg_var(d, TPL_VAR_CONTRACT, d->c->number);
	ch_state(d, contract, &st);
	if (st.locked_until_us != 0) {
		ch_locked(d, &st);
		return true;
	}
	if (ch_question_open(d, &st))
		return ch_on_question(d, &st);
	ch_ask(d, &st);
	return true;
}
