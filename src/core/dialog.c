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

#include "meterline/dialog.h"
#include "meterline/xmalloc.h"

#define DLG_NUM 24
#define DLG_LIST (MODEL_MAX_REGISTERS * (MODEL_NAME_MAX + 2) + 1)
#define DLG_EXAMPLE (16 + MODEL_CONTRACT_MAX + MODEL_MAX_REGISTERS * 11)

/* One decision in progress. */
struct dlg {
	const struct dialog_input *in;
	const struct parse_result *cmd;
	const struct model_contract *c; /* NULL: not found */
	const struct config *cfg;
	struct dialog_decision *out;
	struct tz_civil local; /* the message's local time */
	bool live; /* open dialog, not expired */
	enum tpl_id tpl;
	struct tpl_vars vars;
	char value[DLG_NUM], last[DLG_NUM], digits[DLG_NUM];
	char expected[DLG_NUM], got[DLG_NUM], minutes[DLG_NUM];
	char from[DLG_NUM], to[DLG_NUM], days[DLG_NUM];
	char registers[DLG_LIST], example[DLG_EXAMPLE];
};

static const char *const outcome_names[DIALOG__OUT_MAX] = {
	[DIALOG_OUT_ACCEPTED] = "accepted",
	[DIALOG_OUT_PROMPT] = "prompt",
	[DIALOG_OUT_CANCELLED] = "cancelled",
	[DIALOG_OUT_HELP] = "help",
	[DIALOG_OUT_REJECTED] = "rejected",
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
};

/* Sample readings for {example}: the Komi instructions' own numbers. */
static const uint32_t samples_power[MODEL_MAX_REGISTERS] = { 45055, 23186,
	11638, 7350, 5120, 3904 };
static const uint32_t samples_water[MODEL_MAX_REGISTERS] = { 20, 40, 35, 18, 52,
	27 };

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
	case PARSE_VALUES: return dialog != NULL ? dialog->contract : NULL;
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
	if (why != NULL)
		snprintf(
		    err, errlen, "dialog %.*s: %s", (int)n, s->contract, why);
	return why != NULL ? -1 : 0;
}

/* ---- reply variables ------------------------------------------------- */

static uint32_t
dlg_sample(const struct model_contract *c, unsigned i)
{
	const uint32_t *s = c->resource == MODEL_RES_ELECTRICITY
	    ? samples_power
	    : samples_water;

	return s[i] % model_capacity_limit(c->registers[i].digits);
}

static void
dlg_var(struct dlg *d, enum tpl_var v, const char *s)
{
	d->vars.v[v] = s;
}

static void
dlg_var_num(struct dlg *d, enum tpl_var v, char *buf, uint64_t n)
{
	snprintf(buf, DLG_NUM, "%" PRIu64, n);
	dlg_var(d, v, buf);
}

/* {registers}, {expected}, {example} for registers from..n-1. */
static void
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
		    "%s%" PRIu32, e ? " " : "", dlg_sample(c, i));
	}
	dlg_var(d, TPL_VAR_REGISTERS, d->registers);
	dlg_var(d, TPL_VAR_EXAMPLE, d->example);
	dlg_var_num(d, TPL_VAR_EXPECTED, d->expected, c->nregisters - from);
}

/*
 * {register}, {digits}, {last} for register i; {registers}, {expected} from
 * i on; {example} one value, as the customer should resend just this one.
 */
static void
dlg_var_register(struct dlg *d, unsigned i)
{
	const struct model_register *r = &d->c->registers[i];

	dlg_var_remaining(d, i, false);
	dlg_var(d, TPL_VAR_REGISTER, r->name);
	dlg_var_num(d, TPL_VAR_DIGITS, d->digits, r->digits);
	if (r->has_last)
		dlg_var_num(d, TPL_VAR_LAST, d->last, r->last_value);
	snprintf(
	    d->example, sizeof(d->example), "%" PRIu32, dlg_sample(d->c, i));
}

static void
dlg_var_window(struct dlg *d, const struct config_window *w)
{
	dlg_var_num(d, TPL_VAR_FROM, d->from, w->from);
	dlg_var_num(d, TPL_VAR_TO, d->to, w->to);
	snprintf(d->days, sizeof(d->days), "%u-%u", w->from, w->to);
	dlg_var(d, TPL_VAR_DAYS, d->days);
}

/* ---- outcomes -------------------------------------------------------- */

static void
dlg_outcome(
    struct dlg *d, enum dialog_outcome o, enum dialog_reason r, enum tpl_id tpl)
{
	d->out->outcome = o;
	d->out->reason = r;
	d->tpl = tpl;
}

static void
dlg_reject(struct dlg *d, enum dialog_reason r, enum tpl_id tpl)
{
	dlg_outcome(d, DIALOG_OUT_REJECTED, r, tpl);
}

/* Keep s as the sender's dialog, touched by this message. */
static void
dlg_keep(struct dlg *d, const struct dialog_state *s)
{
	d->out->has_dialog = true;
	d->out->dialog = *s;
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

static void
dlg_prompt(struct dlg *d, const struct dialog_state *s)
{
	dlg_keep(d, s);
	dlg_var_remaining(d, s->next, false);
	dlg_var(d, TPL_VAR_REGISTER, d->c->registers[s->next].name);
	dlg_outcome(d, DIALOG_OUT_PROMPT, DIALOG_R_NONE, TPL_PROMPT);
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
	sub->flags |=
	    out->flags & (DIALOG_F_OUTSIDE_WINDOW | DIALOG_F_TRUNCATED);
	out->flags |= sub->flags;
	out->has_submission = true;
	out->submission = *sub;
	dlg_outcome(d, DIALOG_OUT_ACCEPTED, DIALOG_R_NONE, TPL_ACCEPTED);
}

/*
 * Add n values to the dialog s and check every value collected so far
 * (last values may have moved since the earlier messages). The first bad
 * value keeps the dialog open at its register; a full set is accepted.
 */
static void
dlg_collect(
    struct dlg *d, struct dialog_state *s, const uint64_t *values, unsigned n)
{
	struct dialog_submission sub;
	uint64_t all[MODEL_MAX_REGISTERS];
	unsigned total = s->next + n;

	memset(&sub, 0, sizeof(sub));
	for (unsigned i = 0; i < total; i++) {
		enum dialog_reason r;

		all[i] = i < s->next ? s->values[i] : values[i - s->next];
		r = validate_value(&d->c->registers[i], all[i],
		    &sub.consumption[i], &sub.reg_flags[i]);
		if (r != DIALOG_R_NONE) {
			s->next = (uint8_t)i;
			dlg_keep(d, s);
			dlg_var_register(d, i);
			dlg_var_num(d, TPL_VAR_VALUE, d->value, all[i]);
			dlg_reject(d, r,
			    r == DIALOG_R_TOO_MANY_DIGITS
			        ? TPL_TOO_MANY_DIGITS
			        : TPL_LOWER_THAN_LAST);
			return;
		}
		s->values[i] = sub.values[i] = (uint32_t)all[i];
		sub.flags |= sub.reg_flags[i];
	}
	s->next = (uint8_t)total;
	if (total == d->c->nregisters)
		dlg_accept(d, &sub, s);
	else
		dlg_prompt(d, s);
}

/* More values than registers left: say how many, keep the dialog. */
static void
dlg_too_many(struct dlg *d, const struct dialog_state *s, bool with_keyword)
{
	const struct parse_result *cmd = d->cmd;

	dlg_keep(d, s);
	dlg_var_remaining(d, s->next, with_keyword);
	if (cmd->kind == PARSE_INVALID)
		dlg_var(d, TPL_VAR_GOT, ">6"); /* language-neutral */
	else
		dlg_var_num(d, TPL_VAR_GOT, d->got, cmd->nvalues);
	dlg_reject(d, DIALOG_R_TOO_MANY_VALUES, TPL_TOO_MANY_VALUES);
}

static bool
dlg_too_many_values(const struct parse_result *cmd, unsigned left)
{
	return (cmd->kind == PARSE_INVALID &&
	           cmd->reason == PARSE_R_TOO_MANY_VALUES) ||
	    cmd->nvalues > left;
}

/* ---- handlers, one per command kind ---------------------------------- */

/* ПС <contract> [values]: a new dialog, replacing any open one. */
static void
dlg_on_command(struct dlg *d)
{
	const struct parse_result *cmd = d->cmd;
	struct dialog_state s;

	if (d->live)
		d->out->flags |= DIALOG_F_REPLACED;
	if (!dlg_contract_usable(d) || !dlg_window_ok(d))
		return;
	memset(&s, 0, sizeof(s));
	strlcpy_s(s.contract, d->c->number, sizeof(s.contract));
	s.nregisters = d->c->nregisters;
	s.started_us = s.last_us = d->in->time_us;
	if (dlg_too_many_values(cmd, d->c->nregisters)) {
		dlg_too_many(d, &s, true);
	} else if (cmd->kind == PARSE_INVALID) {
		/* a value the parser refused: ask for the first register */
		dlg_keep(d, &s);
		dlg_var_register(d, 0);
		dlg_reject(d, DIALOG_R_BAD_FORMAT, TPL_BAD_FORMAT_DIALOG);
	} else {
		dlg_collect(d, &s, cmd->values, cmd->nvalues);
	}
}

/* Bare values: the next registers of the open dialog. */
static void
dlg_on_values(struct dlg *d)
{
	const struct parse_result *cmd = d->cmd;
	struct dialog_state s;

	if (d->in->dialog == NULL) {
		dlg_reject(d, DIALOG_R_NO_DIALOG, TPL_NO_DIALOG);
		return;
	}
	if (!d->live) {
		dlg_reject(d, DIALOG_R_EXPIRED, TPL_EXPIRED);
		return;
	}
	if (!dlg_contract_usable(d))
		return;
	if (d->c->nregisters != d->in->dialog->nregisters) {
		/* billing re-imported the contract mid-dialog: start again */
		d->out->flags |= DIALOG_F_CONTRACT_CHANGED;
		dlg_reject(d, DIALOG_R_EXPIRED, TPL_EXPIRED);
		return;
	}
	if (!dlg_window_ok(d))
		return;
	s = *d->in->dialog;
	if (dlg_too_many_values(cmd, (unsigned)(s.nregisters - s.next)))
		dlg_too_many(d, &s, false);
	else
		dlg_collect(d, &s, cmd->values, cmd->nvalues);
}

static void
dlg_on_invalid(struct dlg *d)
{
	const struct parse_result *cmd = d->cmd;
	const struct dialog_state *s = d->in->dialog;

	if (cmd->contract[0] != '\0') {
		dlg_on_command(d); /* ПС <contract> with a bad value */
	} else if (cmd->reason == PARSE_R_TOO_MANY_VALUES) {
		dlg_on_values(d);
	} else if (d->live && d->c != NULL &&
	    d->c->nregisters == s->nregisters) {
		dlg_keep(d, s);
		dlg_var_register(d, s->next);
		dlg_reject(d, DIALOG_R_BAD_FORMAT, TPL_BAD_FORMAT_DIALOG);
	} else {
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

static void (*const dlg_handlers[PARSE__KIND_MAX])(struct dlg *) = {
	[PARSE_INVALID] = dlg_on_invalid,
	[PARSE_SUBMIT] = dlg_on_command,
	[PARSE_START] = dlg_on_command,
	[PARSE_VALUES] = dlg_on_values,
	[PARSE_CANCEL] = dlg_on_cancel,
	[PARSE_HELP] = dlg_on_help,
	/* answered as before the grammar knew them, until the dialog does */
	[PARSE_THANKS] = dlg_on_invalid,
	[PARSE_CONFIRM] = dlg_on_invalid,
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
	const char *needed = dialog_contract_needed(in->cmd, in->dialog);
	char err[128];

	if ((unsigned)in->cmd->kind >= PARSE__KIND_MAX ||
	    in->cmd->nvalues > PARSE_MAX_VALUES)
		return dlg_caller_error(out, "dialog_decide: bad command");
	if (in->dialog != NULL &&
	    dialog_state_check(in->dialog, err, sizeof(err)) != 0)
		return dlg_caller_error(out, err);
	if (in->contract != NULL &&
	    (needed == NULL || strcmp(needed, in->contract->number) != 0))
		return dlg_caller_error(out,
		    "dialog_decide: the contract is not "
		    "the one dialog_contract_needed names");
	return 0;
}

static int64_t
dlg_seconds(int64_t us)
{
	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
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
	d.c = in->contract;
	d.cfg = cfg;
	d.out = out;
	tz_local(&cfg->window.tz, dlg_seconds(in->time_us), &d.local);
	d.live =
	    in->dialog != NULL && !dialog_expired(in->dialog, in->time_us, cfg);
	if (in->dialog != NULL && !d.live)
		out->flags |= DIALOG_F_EXPIRED;
	if (in->cmd->truncated)
		out->flags |= DIALOG_F_TRUNCATED;
	dlg_var(
	    &d, TPL_VAR_CONTRACT, dialog_contract_needed(in->cmd, in->dialog));
	dlg_var_num(
	    &d, TPL_VAR_MINUTES, d.minutes, (uint64_t)cfg->dialog.expiry / 60);
	if (d.vars.v[TPL_VAR_CONTRACT] == NULL && in->dialog != NULL)
		dlg_var(&d, TPL_VAR_CONTRACT, in->dialog->contract);
	dlg_handlers[in->cmd->kind](&d);
	out->reply_len = tpl_render(
	    cfg->templates[d.tpl], &d.vars, out->reply, sizeof(out->reply));
	return 0;
}
