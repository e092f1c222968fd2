/*
 * Customer self-service (issue 17, docs/dialog.md "Bound senders"): the
 * contracts a sender is bound to stand in for a contract the customer did
 * not name, [verify] mode = bound refuses senders acting on a contract
 * they are not bound to (mode = challenge asks them: dialog_challenge.c), and the handlers of ИНФО, ОТВЯЗАТЬ, НЕ НАПОМИНАТЬ
 * and НАПОМИНАТЬ.
 */
#include <stdio.h>
#include <string.h>

#include "dialog_int.h"
#include "meterline/xmalloc.h"

/* The one contract a sender is bound to, or NULL (none, or several). */
static const char *
self_single(const struct model_bindings *b)
{
	return b != NULL && b->n == 1 && !b->more ? b->contract[0] : NULL;
}

/* Whether the customer named no contract where a bound one can stand. */
static bool
self_unnamed(const struct parse_result *cmd, const struct dialog_state *dialog,
    const struct model_bindings *b)
{
	switch (cmd->kind) {
	case PARSE_INVALID: return cmd->reason == PARSE_R_NO_CONTRACT;
	case PARSE_INFO:
	case PARSE_UNBIND: return cmd->contract[0] == '\0';
	case PARSE_VALUES:
		return dialog == NULL &&
		    !(cmd->bare_contract &&
		        model_bindings_has(b, cmd->contract));
	default: return false;
	}
}

const char *
dialog_contract_wanted(const struct parse_result *cmd,
    const struct dialog_state *dialog, const struct model_bindings *b)
{
	const char *single = self_single(b);

	if (single != NULL && self_unnamed(cmd, dialog, b))
		return single;
	return dialog_contract_needed(cmd, dialog);
}

/* "***859, ***861": the sender's contracts, all but the last 3 masked. */
static void
self_var_contracts(struct dlg *d, const struct model_bindings *b)
{
	size_t used = 0, len;

	d->contracts[0] = '\0';
	for (unsigned i = 0;
	     i < b->n && i < MODEL_BINDINGS_MAX && used < sizeof(d->contracts);
	     i++) {
		len = strnlen(b->contract[i], MODEL_CONTRACT_MAX);
		used += (size_t)snprintf(d->contracts + used,
		    sizeof(d->contracts) - used, "%s***%s", i ? ", " : "",
		    b->contract[i] + (len > 3 ? len - 3 : 0));
	}
	if (b->more && used < sizeof(d->contracts))
		snprintf(
		    d->contracts + used, sizeof(d->contracts) - used, ", …");
	dlg_var(d, TPL_VAR_CONTRACTS, d->contracts);
}

/* The sender must say which of its contracts: nothing else changes. */
static void
self_which(struct dlg *d)
{
	if (d->live)
		dlg_keep(d, d->in->dialog);
	self_var_contracts(d, d->in->bindings);
	dlg_reject(d, DIALOG_R_WHICH_CONTRACT, TPL_WHICH_CONTRACT);
}

/* Not bound: say how to bind; a dialog of that contract ends. */
static void
self_not_bound(struct dlg *d)
{
	d->out->has_dialog = false;
	dlg_reject(d, DIALOG_R_NOT_BOUND, TPL_NOT_BOUND);
}

/*
 * The command as if the customer had named the sender's one contract:
 * ПС alone starts a dialog, values alone submit, ИНФО/ОТВЯЗАТЬ alone act
 * on it.
 */
static void
self_name_contract(struct dlg *d, const char *contract)
{
	const struct parse_result *cmd = d->in->cmd;
	struct parse_result *b = &d->bare;

	*b = *cmd;
	if (cmd->kind == PARSE_INVALID) {
		memset(b, 0, sizeof(*b));
		b->kind = PARSE_START;
	} else if (cmd->kind == PARSE_VALUES) {
		b->kind = PARSE_SUBMIT;
		b->bare_contract = false;
	}
	strlcpy_s(b->contract, contract, sizeof(b->contract));
	d->cmd = b;
}

bool
dlg_self_resolve(struct dlg *d)
{
	const struct dialog_input *in = d->in;
	const struct model_bindings *b = in->bindings;
	const char *single = self_single(b);

	if (b == NULL || b->n == 0 || !self_unnamed(in->cmd, in->dialog, b))
		return false;
	if (single != NULL) {
		self_name_contract(d, single);
		return false;
	}
	/* off: "<known contract> <values>" keeps its meaning from before */
	if (in->cmd->kind == PARSE_VALUES && in->cmd->bare_contract &&
	    in->contract != NULL && d->cfg->verify.mode == CONFIG_VERIFY_OFF)
		return false;
	self_which(d);
	return true;
}

/* Kinds that answer anyone: they touch no contract's data. */
static bool
self_open_to_all(const struct dlg *d)
{
	switch (d->cmd->kind) {
	case PARSE_HELP:
	case PARSE_THANKS:
	case PARSE_CANCEL:
	case PARSE_REMIND_OFF:
	case PARSE_REMIND_ON: return true;
	case PARSE_CONFIRM: return d->in->dialog == NULL;
	case PARSE_INVALID:
		return d->cmd->contract[0] == '\0' && d->in->dialog == NULL &&
		    d->cmd->reason != PARSE_R_NO_CONTRACT;
	default: return false;
	}
}

bool
dlg_self_gate(struct dlg *d)
{
	const struct dialog_input *in = d->in;
	const char *contract =
	    dialog_contract_wanted(in->cmd, in->dialog, in->bindings);

	if (d->cfg->verify.mode == CONFIG_VERIFY_OFF || in->staff ||
	    self_open_to_all(d))
		return false;
	if (contract == NULL && d->cmd->contract[0] != '\0')
		contract = d->cmd->contract;
	if (contract != NULL ? model_bindings_has(in->bindings, contract)
	                     : in->bindings != NULL && in->bindings->n > 0)
		return false;
	if (d->cfg->verify.mode == CONFIG_VERIFY_CHALLENGE)
		return dlg_challenge(d, contract);
	if (contract != NULL)
		dlg_var(d, TPL_VAR_CONTRACT, contract);
	self_not_bound(d);
	return true;
}

/* ---- ИНФО ------------------------------------------------------------- */

/* "день 12000 (05.11), ночь —": each register's last accepted value. */
static void
self_var_readings(struct dlg *d, const struct model_contract *c)
{
	size_t used = 0;
	int y;
	unsigned m, day;

	d->readings[0] = '\0';
	for (unsigned i = 0; i < c->nregisters && used < sizeof(d->readings);
	     i++) {
		const struct model_register *r = &c->registers[i];
		const char *sep = i ? ", " : "";

		if (!r->has_last) {
			used += (size_t)snprintf(d->readings + used,
			    sizeof(d->readings) - used, "%s%s —", sep, r->name);
			continue;
		}
		if (r->last_date == MODEL_DATE_NONE)
			used += (size_t)snprintf(d->readings + used,
			    sizeof(d->readings) - used, "%s%s %u", sep, r->name,
			    (unsigned)r->last_value);
		else {
			tz_civil_from_days(r->last_date, &y, &m, &day);
			used += (size_t)snprintf(d->readings + used,
			    sizeof(d->readings) - used, "%s%s %u (%02u.%02u)",
			    sep, r->name, (unsigned)r->last_value, day, m);
		}
	}
	dlg_var(d, TPL_VAR_READINGS, d->readings);
}

/*
 * The first date of the latest window occurrence that has opened by the
 * message's date (the current one inside the window, the last one after
 * it closed), looked for at most two months back.
 */
static int32_t
self_period_start(const struct dlg *d, const struct config_window *w)
{
	int y;
	unsigned m, day;

	for (int32_t date = d->local.date; date > d->local.date - 62; date--) {
		tz_civil_from_days(date, &y, &m, &day);
		if (validate_in_window(w, y, m, day))
			return validate_period_start(w, y, m, day);
	}
	return MODEL_DATE_NONE;
}

/* Whether every register has a reading of that occurrence. */
static bool
self_period_in(const struct dlg *d, const struct model_contract *c)
{
	struct config_window w = config_window_for(d->cfg, c->resource);
	int32_t start = self_period_start(d, &w);

	if (start == MODEL_DATE_NONE)
		return false;
	for (unsigned i = 0; i < c->nregisters; i++) {
		const struct model_register *r = &c->registers[i];

		if (!r->has_last || r->last_date == MODEL_DATE_NONE ||
		    r->last_date < start)
			return false;
	}
	return true;
}

void
dlg_on_info(struct dlg *d)
{
	const struct model_contract *c = d->in->contract;
	struct config_window w;

	if (d->cmd->contract[0] == '\0') {
		self_not_bound(d); /* ИНФО alone, bound to nothing */
		return;
	}
	if (d->live)
		dlg_keep(d, d->in->dialog);
	if (c == NULL) {
		dlg_reject(d, DIALOG_R_UNKNOWN_CONTRACT, TPL_UNKNOWN_CONTRACT);
		return;
	}
	w = config_window_for(d->cfg, c->resource);
	dlg_var_window(d, &w);
	self_var_readings(d, c); /* as stored: never the correction basis */
	dlg_outcome(d, DIALOG_OUT_INFO, DIALOG_R_NONE,
	    self_period_in(d, c) ? TPL_INFO : TPL_INFO_DUE);
}

/* ---- ОТВЯЗАТЬ, НЕ НАПОМИНАТЬ, НАПОМИНАТЬ --------------------------------- */

void
dlg_on_unbind(struct dlg *d)
{
	const char *contract = d->cmd->contract;

	if (contract[0] == '\0' ||
	    !model_bindings_has(d->in->bindings, contract)) {
		self_not_bound(d);
		return;
	}
	/* a dialog of another contract goes on; this one's ends */
	if (d->live && strcmp(d->in->dialog->contract, contract) != 0)
		dlg_keep(d, d->in->dialog);
	d->out->action = DIALOG_ACT_UNBIND;
	strlcpy_s(
	    d->out->action_contract, contract, sizeof(d->out->action_contract));
	dlg_var(d, TPL_VAR_CONTRACT, contract);
	dlg_outcome(d, DIALOG_OUT_SETTING, DIALOG_R_NONE, TPL_UNBOUND);
}

static void
self_remind(struct dlg *d, enum dialog_action a, enum tpl_id tpl)
{
	if (d->live)
		dlg_keep(d, d->in->dialog);
	d->out->action = a;
	dlg_outcome(d, DIALOG_OUT_SETTING, DIALOG_R_NONE, tpl);
}

void
dlg_on_remind_off(struct dlg *d)
{
	self_remind(d, DIALOG_ACT_REMIND_OFF, TPL_REMIND_OFF);
}

void
dlg_on_remind_on(struct dlg *d)
{
	self_remind(d, DIALOG_ACT_REMIND_ON, TPL_REMIND_ON);
}
