/*
 * The dialog engine: one message in, one decision out (see dialog.h and
 * docs/dialog.md). A handler per command kind picks the outcome, the new
 * dialog and the reply template; validate.c judges each value; the reply
 * is rendered once at the end from the template and the variables set on
 * the way.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dialog_int.h"
#include "meterline/xmalloc.h"

static const char *const outcome_names[DIALOG__OUT_MAX] = {
	[DIALOG_OUT_ACCEPTED] = "accepted",
	[DIALOG_OUT_PROMPT] = "prompt",
	[DIALOG_OUT_CANCELLED] = "cancelled",
	[DIALOG_OUT_HELP] = "help",
	[DIALOG_OUT_REJECTED] = "rejected",
	[DIALOG_OUT_THANKS] = "thanks",
	[DIALOG_OUT_INFO] = "info",
	[DIALOG_OUT_SETTING] = "setting",
};

static const char *const reason_names[DIALOG__R_MAX] = {
	[DIALOG_R_NONE] = NULL,
	[DIALOG_R_BAD_FORMAT] = "bad_format",
	[DIALOG_R_UNKNOWN_CONTRACT] = "unknown_contract",
	[DIALOG_R_CLOSED_CONTRACT] = "closed_contract",
	[DIALOG_R_TOO_MANY_VALUES] = "too_many_values",
	[DIALOG_R_TOO_MANY_DIGITS] = "too_many_digits",
	[DIALOG_R_LOWER_THAN_LAST] = "lower_than_last",
	[DIALOG_R_OUTSIDE_WINDOW] = "outside_window",
	[DIALOG_R_NO_DIALOG] = "no_dialog",
	[DIALOG_R_EXPIRED] = "expired",
	[DIALOG_R_NOTHING_TO_CANCEL] = "nothing_to_cancel",
	[DIALOG_R_AMBIGUOUS] = "ambiguous",
	[DIALOG_R_UNKNOWN_LABEL] = "unknown_label",
	[DIALOG_R_MISSING_VALUES] = "missing_values",
	[DIALOG_R_NOTHING_TO_CONFIRM] = "nothing_to_confirm",
	[DIALOG_R_NOT_BOUND] = "not_bound",
	[DIALOG_R_WHICH_CONTRACT] = "which_contract",
	[DIALOG_R_CHALLENGE] = "challenge",
	[DIALOG_R_WRONG_ANSWER] = "wrong_answer",
	[DIALOG_R_LOCKED_OUT] = "locked_out",
	[DIALOG_R_CANNOT_VERIFY] = "cannot_verify",
};

static const char *const flag_names[DIALOG__F_COUNT] = {
	"high_consumption",
	"wraparound",
	"outside_window",
	"truncated",
	"replaced",
	"expired",
	"contract_changed",
	"no_last",
	"correction",
	"verified",
};

const char *
dialog_outcome_name(enum dialog_outcome o)
{
	return (unsigned)o < DIALOG__OUT_MAX ? outcome_names[o] : NULL;
}

const char *
dialog_reason_name(enum dialog_reason r)
{
	return (unsigned)r < DIALOG__R_MAX ? reason_names[r] : NULL;
}

const char *
dialog_flag_name(unsigned flag)
{
	for (unsigned i = 0; i < DIALOG__F_COUNT; i++) {
		if (flag == 1u << i)
			return flag_names[i];
	}
	return NULL;
}

const char *
dialog_flags_str(unsigned flags, char *buf, size_t buflen)
{
	size_t used = 0;

	if (buflen > 0)
		buf[0] = '\0';
	for (unsigned i = 0; i < DIALOG__F_COUNT; i++) {
		if (!(flags & (1u << i)) || used >= buflen)
			continue;
		used += (size_t)snprintf(buf + used, buflen - used, "%s%s",
		    used ? "," : "", flag_names[i]);
	}
	return buf;
}

const char *
dialog_contract_needed(
    const struct parse_result *cmd, const struct dialog_state *dialog)
{
	switch (cmd->kind) {
	case PARSE_SUBMIT:
	case PARSE_START: return cmd->contract;
	case PARSE_INVALID:
		/* the parser keeps the contract when only a value was bad */
		if (cmd->contract[0] != '\0')
			return cmd->contract;
		return dialog != NULL ? dialog->contract : NULL;
	case PARSE_VALUES:
		if (dialog == NULL && cmd->bare_contract)
			return cmd->contract; /* "<contract> <values>" */
		return dialog != NULL ? dialog->contract : NULL;
	case PARSE_CONFIRM: return dialog != NULL ? dialog->contract : NULL;
	case PARSE_INFO: return cmd->contract[0] != '\0' ? cmd->contract : NULL;
	default: return NULL;
	}
}

bool
dialog_expired(
    const struct dialog_state *s, int64_t time_us, const struct config *cfg)
{
	/* Alive for exactly `expiry` of idle time, expired the next µs. */
	return time_us - s->last_us > cfg->dialog.expiry * 1000000;
}

int
dialog_state_check(const struct dialog_state *s, char *err, size_t errlen)
{
	size_t n = strnlen(s->contract, sizeof(s->contract));
	const char *why = NULL;

	if (n < 4 || n > MODEL_CONTRACT_MAX ||
	    strspn(s->contract, "0123456789") != n)
		why = "contract is not 4..12 digits";
	else if (s->nregisters < 1 || s->nregisters > MODEL_MAX_REGISTERS)
		why = "nregisters is not 1..6";
	else if (s->next >= s->nregisters)
		why = "next is not below nregisters";
	else if (s->started_us > s->last_us)
		why = "started after its last activity";
	else if (s->npending > s->nregisters - s->next)
		why = "more pending values than registers left";
	if (why != NULL)
		snprintf(
		    err, errlen, "dialog %.*s: %s", (int)n, s->contract, why);
	return why != NULL ? -1 : 0;
}

/* ---- outcomes -------------------------------------------------------- */

void
dlg_outcome(
    struct dlg *d, enum dialog_outcome o, enum dialog_reason r, enum tpl_id tpl)
{
	d->out->outcome = o;
	d->out->reason = r;
	d->tpl = tpl;
}

void
dlg_reject(struct dlg *d, enum dialog_reason r, enum tpl_id tpl)
{
	dlg_outcome(d, DIALOG_OUT_REJECTED, r, tpl);
}

/* The one-register variant of a reply that would name the register. */
static enum tpl_id
dlg_tpl(const struct dlg *d, enum tpl_id several, enum tpl_id single)
{
	return d->c != NULL && d->c->nregisters == 1 ? single : several;
}

/*
 * Keep s as the sender's dialog, touched by this message. Any question
 * it held is answered by this message, whatever it is.
 */
void
dlg_keep(struct dlg *d, const struct dialog_state *s)
{
	d->out->has_dialog = true;
	d->out->dialog = *s;
	d->out->dialog.npending = 0;
	memset(d->out->dialog.pending, 0, sizeof(d->out->dialog.pending));
	if (d->in->time_us > s->last_us)
		d->out->dialog.last_us = d->in->time_us;
}

/* Unknown or closed contract: rejected, any dialog dropped. */
static bool
dlg_contract_usable(struct dlg *d)
{
	if (d->c == NULL) {
		dlg_reject(d, DIALOG_R_UNKNOWN_CONTRACT, TPL_UNKNOWN_CONTRACT);
		return false;
	}
	if (d->c->status == MODEL_ST_CLOSED) {
		dlg_reject(d, DIALOG_R_CLOSED_CONTRACT, TPL_CLOSED_CONTRACT);
		return false;
	}
	return true;
}

/* The window on the message's own local date; policy accept only flags. */
static bool
dlg_window_ok(struct dlg *d)
{
	struct config_window w = config_window_for(d->cfg, d->c->resource);

	if (validate_in_window(&w, d->local.year, d->local.month, d->local.day))
		return true;
	if (w.policy == CONFIG_POLICY_ACCEPT) {
		d->out->flags |= DIALOG_F_OUTSIDE_WINDOW;
		return true;
	}
	dlg_var_window(d, &w);
	dlg_reject(d, DIALOG_R_OUTSIDE_WINDOW, TPL_OUTSIDE_WINDOW);
	return false;
}

/* The dialog's contract as loaded now, still usable and in the window. */
static bool
dlg_dialog_usable(struct dlg *d)
{
	if (!dlg_contract_usable(d))
		return false;
	if (d->c->nregisters != d->in->dialog->nregisters) {
		/* billing re-imported the contract mid-dialog: start again */
		d->out->flags |= DIALOG_F_CONTRACT_CHANGED;
		dlg_reject(d, DIALOG_R_EXPIRED, TPL_EXPIRED);
		return false;
	}
	return dlg_window_ok(d);
}

/*
 * Ask for the next register. After a ПС that brought values but not all
 * of them, name what is missing; else the dialog's plain question.
 */
static void
dlg_prompt(struct dlg *d, const struct dialog_state *s, bool had_values)
{
	dlg_keep(d, s);
	dlg_var_remaining(d, s->next, false);
	dlg_var(d, TPL_VAR_REGISTER, d->c->registers[s->next].name);
	if (d->command && had_values)
		dlg_outcome(d, DIALOG_OUT_PROMPT, DIALOG_R_NONE, TPL_MISSING);
	else
		dlg_outcome(d, DIALOG_OUT_PROMPT, DIALOG_R_NONE,
		    dlg_tpl(d, TPL_PROMPT, TPL_PROMPT_SINGLE));
}

/* The reply to a stored submission: review first, then correction. */
static enum tpl_id
dlg_accepted_tpl(const struct dialog_submission *sub)
{
	if (sub->flags & DIALOG_F_HIGH_CONSUMPTION)
		return TPL_ACCEPTED_REVIEW;
	if (sub->flags & DIALOG_F_CORRECTION)
		return TPL_CORRECTED;
	return TPL_ACCEPTED;
}

/* Every register filled: the submission, and the dialog ends. */
static void
dlg_accept(
    struct dlg *d, struct dialog_submission *sub, const struct dialog_state *s)
{
	struct dialog_decision *out = d->out;

	strlcpy_s(sub->contract, d->c->number, sizeof(sub->contract));
	sub->resource = d->c->resource;
	sub->nvalues = d->c->nregisters;
	sub->time_us = d->in->time_us;
	sub->date = d->local.date;
	sub->started_us = s->started_us;
	sub->daily_milli = validate_daily_milli(d->c, sub);
	if (validate_high(d->cfg, d->c->resource, sub->daily_milli))
		sub->flags |= DIALOG_F_HIGH_CONSUMPTION;
	if (d->correction) {
		sub->flags |= DIALOG_F_CORRECTION;
		sub->supersedes_since = d->period_start;
	}
	sub->flags |=
	    out->flags & (DIALOG_F_OUTSIDE_WINDOW | DIALOG_F_TRUNCATED);
	out->flags |= sub->flags;
	out->has_submission = true;
	out->submission = *sub;
	dlg_var_submission(d, sub);
	dlg_outcome(
	    d, DIALOG_OUT_ACCEPTED, DIALOG_R_NONE, dlg_accepted_tpl(sub));
}

/* Value i was refused: the dialog stays at register i, the reply says why. */
static void
dlg_refuse_value(struct dlg *d, struct dialog_state *s, unsigned i,
    uint64_t value, enum dialog_reason r)
{
	s->next = (uint8_t)i;
	dlg_keep(d, s);
	dlg_var_register(d, i);
	dlg_var_num(d, TPL_VAR_VALUE, d->value, value);
	if (r == DIALOG_R_TOO_MANY_DIGITS)
		dlg_reject(d, r,
		    dlg_tpl(
		        d, TPL_TOO_MANY_DIGITS, TPL_TOO_MANY_DIGITS_SINGLE));
	else
		dlg_reject(d, r,
		    dlg_tpl(
		        d, TPL_LOWER_THAN_LAST, TPL_LOWER_THAN_LAST_SINGLE));
}

/*
 * The registers 0..p->next-1 now have values (collected before or placed
 * by this message): check every one of them (last values may have moved
 * since the earlier messages). The first bad value keeps the dialog open
 * at its register; a full set is accepted.
 */
static void
dlg_collect(struct dlg *d, struct dialog_state *s, const struct dlg_place *p,
    bool had_values)
{
	struct dialog_submission sub;

	memset(&sub, 0, sizeof(sub));
	for (unsigned i = 0; i < p->next; i++) {
		enum dialog_reason r = validate_value(&d->c->registers[i],
		    p->all[i], &sub.consumption[i], &sub.reg_flags[i]);

		if (r != DIALOG_R_NONE) {
			dlg_refuse_value(d, s, i, p->all[i], r);
			return;
		}
		s->values[i] = sub.values[i] = (uint32_t)p->all[i];
		sub.flags |= sub.reg_flags[i];
	}
	s->next = (uint8_t)p->next;
	if (p->next == d->c->nregisters)
		dlg_accept(d, &sub, s);
	else
		dlg_prompt(d, s, had_values);
}

/* More values than registers (left): say which, keep the dialog. */
static void
dlg_too_many(struct dlg *d, const struct dialog_state *s)
{
	const struct parse_result *cmd = d->cmd;

	dlg_keep(d, s);
	dlg_var_remaining(d, d->command ? 0 : s->next, d->command);
	if (cmd->kind == PARSE_INVALID)
		dlg_var(d, TPL_VAR_GOT, ">6"); /* language-neutral */
	else
		dlg_var_num(d, TPL_VAR_GOT, d->got, cmd->nvalues);
	dlg_reject(d, DIALOG_R_TOO_MANY_VALUES,
	    d->c->nregisters == 1 ? TPL_TOO_MANY_VALUES_SINGLE
	        : d->command      ? TPL_TOO_MANY_VALUES
	                          : TPL_TOO_MANY_VALUES_DIALOG);
}

/* The text could not be read: repeat the question for register next. */
static void
dlg_bad_format_at(struct dlg *d, const struct dialog_state *s)
{
	dlg_keep(d, s);
	dlg_var_register(d, s->next);
	if (d->c->nregisters > 1)
		dlg_var_remaining(d, s->next, false);
	dlg_var_unknown(d);
	dlg_reject(d, DIALOG_R_BAD_FORMAT,
	    dlg_tpl(d, TPL_BAD_FORMAT_DIALOG, TPL_BAD_FORMAT_SINGLE));
}

/* A placement that failed: say why, keep the dialog where it was. */
static void
dlg_place_failed(
    struct dlg *d, const struct dialog_state *s, const struct dlg_place *p)
{
	switch (p->status) {
	case DLG_PLACE_TOO_MANY: dlg_too_many(d, s); return;
	case DLG_PLACE_UNKNOWN_LABEL:
		dlg_keep(d, s);
		strlcpy_s(d->label, d->cmd->labels[p->label], sizeof(d->label));
		dlg_var(d, TPL_VAR_LABEL, d->label);
		dlg_var_remaining(d, 0, false);
		dlg_reject(d, DIALOG_R_UNKNOWN_LABEL, TPL_UNKNOWN_LABEL);
		return;
	case DLG_PLACE_GAP:
		dlg_keep(d, s);
		dlg_var_missing(d, p);
		dlg_reject(d, DIALOG_R_MISSING_VALUES, TPL_MISSING);
		return;
	default: dlg_bad_format_at(d, s); return; /* a register twice */
	}
}

/* ---- ambiguous thousands ----------------------------------------------- */

/*
 * The labels of the joined reading: alt_values[j] starts at
 * values[alt_from[j]], so it carries that value's label ("день 12 000
 * ночь 5 800": день and ночь for 12000 and 5800). A label inside a group
 * that was joined cannot be placed: false (the joined reading is not
 * taken then).
 */
static bool
dlg_alt_labels(const struct parse_result *cmd, char (*alt)[PARSE_LABEL_MAX + 1])
{
	memset(alt, 0, PARSE_MAX_VALUES * sizeof(*alt));
	for (unsigned j = 0; j < cmd->alt_nvalues; j++) {
		unsigned from = cmd->alt_from[j];
		unsigned to = j + 1 < cmd->alt_nvalues ? cmd->alt_from[j + 1]
		                                       : cmd->nvalues;

		if (from >= cmd->nvalues || to > cmd->nvalues)
			return false;
		memcpy(alt[j], cmd->labels[from], sizeof(*alt));
		for (unsigned i = from + 1; i < to; i++) {
			if (cmd->labels[i][0] != '\0')
				return false;
		}
	}
	return true;
}

/* Whether a reading of the message can be right for the contract. */
static bool
dlg_reading_fits(const struct dlg *d, const struct dlg_place *p)
{
	return p->status == DLG_PLACE_OK && !p->touched_before &&
	    dlg_place_fits(d->c, p);
}

/*
 * Which separator made the thousands ambiguous: a space when the literal
 * reading has more values; else the first , or . between a digit and
 * exactly three digits in the text (a comma when there is no text).
 */
static enum tpl_id
dlg_ambiguous_tpl(const struct dlg *d)
{
	const char *t = d->in->text;
	size_t n = d->in->text_len;

	if (d->cmd->alt_nvalues < d->cmd->nvalues)
		return TPL_AMBIGUOUS_SPACE;
	for (size_t i = 1; t != NULL && i + 3 < n + 1; i++) {
		if ((t[i] == ',' || t[i] == '.') && t[i - 1] >= '0' &&
		    t[i - 1] <= '9' && i + 3 < n + 1 &&
		    strspn(t + i + 1, "0123456789") >= 3 &&
		    (i + 4 >= n || t[i + 4] < '0' || t[i + 4] > '9'))
			return t[i] == '.' ? TPL_AMBIGUOUS_DOT
			                   : TPL_AMBIGUOUS_COMMA;
	}
	return TPL_AMBIGUOUS_COMMA;
}

/*
 * "13,000", "6.600", "12 000": never guess. When the joined reading can
 * be right, ask (the dialog holds it as pending for a ДА); when only the
 * literal one can, take it without a question. Returns whether it asked.
 */
static bool
dlg_ambiguous(struct dlg *d, struct dialog_state *s)
{
	const struct parse_result *cmd = d->cmd;
	char alt_labels[PARSE_MAX_VALUES][PARSE_LABEL_MAX + 1];
	struct dlg_place alt;
	uint32_t pending[MODEL_MAX_REGISTERS];
	unsigned n = 0;

	if (!cmd->ambiguous || cmd->alt_nvalues == 0 ||
	    !dlg_alt_labels(cmd, alt_labels))
		return false;
	dlg_place(d->c, s, cmd->alt_values, alt_labels, cmd->alt_nvalues, &alt);
	if (!dlg_reading_fits(d, &alt))
		return false;
	/* the joined reading can be right: ask, whatever the literal one */
	for (unsigned i = s->next; i < alt.next; i++)
		pending[n++] = (uint32_t)alt.all[i];
	dlg_keep(d, s);
	d->out->dialog.npending = (uint8_t)n;
	memcpy(d->out->dialog.pending, pending, n * sizeof(pending[0]));
	d->out->flags &= ~(unsigned)DIALOG_F_TRUNCATED;
	dlg_var_values(d, pending, n);
	dlg_var_remaining(d, s->next, false);
	dlg_outcome(
	    d, DIALOG_OUT_PROMPT, DIALOG_R_AMBIGUOUS, dlg_ambiguous_tpl(d));
	return true;
}

/* ---- handlers, one per command kind ---------------------------------- */

/* The values of this message into the dialog s: placed, then checked. */
static void
dlg_take(struct dlg *d, struct dialog_state *s)
{
	const struct parse_result *cmd = d->cmd;
	struct dlg_place p;

	if (cmd->kind == PARSE_INVALID) { /* more than 6 values */
		dlg_too_many(d, s);
		return;
	}
	if (dlg_ambiguous(d, s))
		return;
	dlg_place(d->c, s, cmd->values, cmd->labels, cmd->nvalues, &p);
	if (p.status != DLG_PLACE_OK)
		dlg_place_failed(d, s, &p);
	else
		dlg_collect(d, s, &p, cmd->nvalues > 0);
}

/* ПС <contract> [values]: a new dialog, replacing any open one. */
static void
dlg_on_command(struct dlg *d)
{
	struct dialog_state s;

	d->command = true;
	if (d->live)
		d->out->flags |= DIALOG_F_REPLACED;
	if (!dlg_contract_usable(d) || !dlg_window_ok(d))
		return;
	memset(&s, 0, sizeof(s));
	strlcpy_s(s.contract, d->c->number, sizeof(s.contract));
	s.nregisters = d->c->nregisters;
	s.started_us = s.last_us = d->in->time_us;
	if (d->cmd->kind == PARSE_INVALID &&
	    d->cmd->reason != PARSE_R_TOO_MANY_VALUES)
		dlg_bad_format_at(d, &s); /* a value the parser refused */
	else
		dlg_take(d, &s);
}

/* Bare values: the next registers of the open dialog. */
static void
dlg_on_values(struct dlg *d)
{
	struct dialog_state s;

	if (d->in->dialog == NULL) {
		dlg_reject(d, DIALOG_R_NO_DIALOG,
		    d->cmd->bare_contract ? TPL_NO_DIALOG_UNKNOWN
		                          : TPL_NO_DIALOG);
		return;
	}
	if (!d->live) {
		dlg_reject(d, DIALOG_R_EXPIRED, TPL_EXPIRED);
		return;
	}
	if (!dlg_dialog_usable(d))
		return;
	s = *d->in->dialog;
	dlg_take(d, &s);
}

static void
dlg_on_invalid(struct dlg *d)
{
	const struct parse_result *cmd = d->cmd;

	if (cmd->contract[0] != '\0') {
		dlg_on_command(d); /* ПС <contract> with a bad value */
	} else if (cmd->reason == PARSE_R_TOO_MANY_VALUES) {
		dlg_on_values(d);
	} else if (d->live && d->c != NULL &&
	    d->c->nregisters == d->in->dialog->nregisters) {
		dlg_bad_format_at(d, d->in->dialog);
	} else {
		dlg_var_unknown(d);
		dlg_reject(d, DIALOG_R_BAD_FORMAT, TPL_BAD_FORMAT);
	}
}

static void
dlg_on_cancel(struct dlg *d)
{
	if (d->live)
		dlg_outcome(
		    d, DIALOG_OUT_CANCELLED, DIALOG_R_NONE, TPL_CANCELLED);
	else
		dlg_outcome(d, DIALOG_OUT_CANCELLED, DIALOG_R_NOTHING_TO_CANCEL,
		    TPL_NOTHING_TO_CANCEL);
}

static void
dlg_on_help(struct dlg *d)
{
	if (d->live)
		dlg_keep(d, d->in->dialog);
	dlg_var_window(d, &d->cfg->window.all);
	dlg_outcome(d, DIALOG_OUT_HELP, DIALOG_R_NONE, TPL_HELP);
}

static void
dlg_on_thanks(struct dlg *d)
{
	if (d->live)
		dlg_keep(d, d->in->dialog);
	dlg_var_window(d, &d->cfg->window.all);
	dlg_outcome(d, DIALOG_OUT_THANKS, DIALOG_R_NONE, TPL_THANKS);
}

/* ДА: the pending reading, as if the customer had sent it. */
static void
dlg_on_confirm(struct dlg *d)
{
	const struct dialog_state *open = d->in->dialog;
	struct dialog_state s;
	struct dlg_place p;

	if (open != NULL && !d->live && open->npending > 0) {
		dlg_reject(d, DIALOG_R_EXPIRED, TPL_EXPIRED);
		return;
	}
	if (!d->live || open->npending == 0) {
		if (d->live)
			dlg_keep(d, open);
		dlg_var_window(d, &d->cfg->window.all);
		dlg_outcome(d, DIALOG_OUT_HELP, DIALOG_R_NOTHING_TO_CONFIRM,
		    TPL_NOTHING_TO_CONFIRM);
		return;
	}
	if (!dlg_dialog_usable(d))
		return;
	s = *open;
	memset(&p, 0, sizeof(p));
	for (unsigned i = 0; i < s.next; i++)
		p.all[i] = s.values[i];
	for (unsigned i = 0; i < s.npending; i++)
		p.all[s.next + i] = s.pending[i];
	p.next = s.next + s.npending;
	s.npending = 0;
	dlg_collect(d, &s, &p, true);
}

static void (*const dlg_handlers[PARSE__KIND_MAX])(struct dlg *) = {
	[PARSE_INVALID] = dlg_on_invalid,
	[PARSE_SUBMIT] = dlg_on_command,
	[PARSE_START] = dlg_on_command,
	[PARSE_VALUES] = dlg_on_values,
	[PARSE_CANCEL] = dlg_on_cancel,
	[PARSE_HELP] = dlg_on_help,
	[PARSE_THANKS] = dlg_on_thanks,
	[PARSE_CONFIRM] = dlg_on_confirm,
	[PARSE_INFO] = dlg_on_info,
	[PARSE_REMIND_OFF] = dlg_on_remind_off,
	[PARSE_REMIND_ON] = dlg_on_remind_on,
	[PARSE_UNBIND] = dlg_on_unbind,
};

/* ---- the decision ---------------------------------------------------- */

static int
dlg_caller_error(struct dialog_decision *out, const char *why)
{
	out->outcome = DIALOG_OUT_REJECTED;
	out->reason = DIALOG_R_BAD_FORMAT;
	out->reply_len = strlen(strlcpy_s(out->reply, why, sizeof(out->reply)));
	return -1;
}

/* Check what the caller passed; the reason goes to out->reply. */
static int
dlg_check_input(const struct dialog_input *in, struct dialog_decision *out)
{
	const char *needed =
	    dialog_contract_wanted(in->cmd, in->dialog, in->bindings);
	char err[128];

	if ((unsigned)in->cmd->kind >= PARSE__KIND_MAX ||
	    in->cmd->nvalues > PARSE_MAX_VALUES ||
	    in->cmd->alt_nvalues > PARSE_MAX_VALUES)
		return dlg_caller_error(out, "dialog_decide: bad command");
	if (in->dialog != NULL &&
	    dialog_state_check(in->dialog, err, sizeof(err)) != 0)
		return dlg_caller_error(out, err);
	if (in->contract != NULL &&
	    (needed == NULL || strcmp(needed, in->contract->number) != 0))
		return dlg_caller_error(out,
		    "dialog_decide: the contract is not "
		    "the one dialog_contract_needed (with bindings: "
		    "dialog_contract_wanted) names");
	return 0;
}

static int64_t
dlg_seconds(int64_t us)
{
	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

/*
 * "<contract> <values>" with a known contract and no dialog: read it as
 * ПС <contract> <values> (one number: ПС <contract>).
 */
static void
dlg_bare_as_command(struct dlg *d)
{
	const struct parse_result *cmd = d->in->cmd;
	struct parse_result *b = &d->bare;
	unsigned n = cmd->nvalues - 1u;

	*b = *cmd;
	b->kind = n > 0 ? PARSE_SUBMIT : PARSE_START;
	b->bare_contract = false;
	b->nvalues = (uint8_t)n;
	memmove(b->values, cmd->values + 1, n * sizeof(b->values[0]));
	b->values[n] = 0;
	memmove(b->labels, cmd->labels + 1, n * sizeof(b->labels[0]));
	memset(b->labels[n], 0, sizeof(b->labels[n]));
	if (cmd->ambiguous && cmd->alt_nvalues > 1 &&
	    cmd->alt_values[0] == cmd->values[0] && cmd->alt_from[1] == 1) {
		b->alt_nvalues = (uint8_t)(cmd->alt_nvalues - 1);
		for (unsigned j = 0; j < b->alt_nvalues; j++) {
			b->alt_values[j] = cmd->alt_values[j + 1];
			b->alt_from[j] = (uint8_t)(cmd->alt_from[j + 1] - 1);
		}
	} else {
		b->ambiguous = false; /* the contract itself was in question */
		b->alt_nvalues = 0;
	}
	d->cmd = b;
}

/*
 * A correction: the message is inside a window occurrence in which the
 * contract already has its readings (every register's last date in it).
 * Then the rules judge the values against the readings before those
 * (prev_*), not against the ones being corrected.
 */
static void
dlg_basis(struct dlg *d)
{
	const struct model_contract *c = d->in->contract;
	struct config_window w;
	int32_t start;

	d->basis = *c;
	d->c = &d->basis;
	w = config_window_for(d->cfg, c->resource);
	start = validate_period_start(
	    &w, d->local.year, d->local.month, d->local.day);
	if (start == MODEL_DATE_NONE)
		return;
	for (unsigned i = 0; i < c->nregisters; i++) {
		const struct model_register *r = &c->registers[i];

		if (!r->has_last || r->last_date < start ||
		    r->last_date > d->local.date)
			return;
	}
	for (unsigned i = 0; i < c->nregisters; i++) {
		struct model_register *r = &d->basis.registers[i];

		r->has_last = r->has_prev;
		r->last_value = r->has_prev ? r->prev_value : 0;
		r->last_date = r->has_prev ? r->prev_date : MODEL_DATE_NONE;
	}
	d->correction = true;
	d->period_start = start;
}

/* The reply: after a challenge passed, "bound" and then what followed. */
static size_t
dlg_render(struct dlg *d, const struct config *cfg)
{
	struct dialog_decision *out = d->out;
	size_t n = 0;

	if (d->passed) {
		n = tpl_render(cfg->templates[TPL_CHALLENGE_PASSED], &d->vars,
		    out->reply, sizeof(out->reply));
		if (n > 0 && n + 2 < sizeof(out->reply))
			out->reply[n++] = ' ';
	}
	return n +
	    tpl_render(cfg->templates[out->tpl], &d->vars, out->reply + n,
	        sizeof(out->reply) - n);
}

int
dialog_decide(const struct dialog_input *in, const struct config *cfg,
    struct dialog_decision *out)
{
	struct dlg d;

	memset(out, 0, offsetof(struct dialog_decision, reply));
	out->reply[0] = '\0';
	if (dlg_check_input(in, out) != 0)
		return -1;
	memset(&d, 0, sizeof(d));
	d.in = in;
	d.cmd = in->cmd;
	d.cfg = cfg;
	d.out = out;
	tz_local(&cfg->window.tz, dlg_seconds(in->time_us), &d.local);
	if (in->contract != NULL)
		dlg_basis(&d);
	d.live =
	    in->dialog != NULL && !dialog_expired(in->dialog, in->time_us, cfg);
	if (in->dialog != NULL && !d.live)
		out->flags |= DIALOG_F_EXPIRED;
	if (in->cmd->truncated)
		out->flags |= DIALOG_F_TRUNCATED;
	dlg_var(&d, TPL_VAR_CONTRACT,
	    dialog_contract_wanted(in->cmd, in->dialog, in->bindings));
	dlg_var_num(
	    &d, TPL_VAR_MINUTES, d.minutes, (uint64_t)cfg->dialog.expiry / 60);
	if (d.vars.v[TPL_VAR_CONTRACT] == NULL && in->dialog != NULL)
		dlg_var(&d, TPL_VAR_CONTRACT, in->dialog->contract);
	if (!dlg_self_resolve(&d) && !dlg_self_gate(&d)) {
		if (d.cmd == in->cmd && in->cmd->kind == PARSE_VALUES &&
		    in->cmd->bare_contract && in->cmd->nvalues > 0 &&
		    in->dialog == NULL && in->contract != NULL)
			dlg_bare_as_command(&d);
		dlg_handlers[d.cmd->kind](&d);
	}
	out->tpl = tpl_pick(cfg->templates, d.tpl);
	out->reply_len = dlg_render(&d, cfg);
	return 0;
}
