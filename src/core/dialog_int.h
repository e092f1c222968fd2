/*
 * The dialog engine's private parts, shared by dialog.c (the handlers and
 * the decision), dialog_place.c (which value goes to which register) and
 * dialog_vars.c (the variables of the reply).
 */
#ifndef METERLINE_DIALOG_INT_H
#define METERLINE_DIALOG_INT_H

#include "meterline/dialog.h"

#define DLG_NUM 24
/* "полупик 123456789, " per register */
#define DLG_LIST (MODEL_MAX_REGISTERS * (MODEL_NAME_MAX + 14) + 1)
#define DLG_EXAMPLE (16 + MODEL_CONTRACT_MAX + MODEL_MAX_REGISTERS * 11)
#define DLG_VALUES (MODEL_MAX_REGISTERS * 12)
#define DLG_QUOTE_CHARS 10 /* characters of the text a reply quotes */
#define DLG_QUOTE (8 + DLG_QUOTE_CHARS * 4)
/* "полупик 123456789 (05.11), " per register */
#define DLG_READINGS (MODEL_MAX_REGISTERS * (MODEL_NAME_MAX + 24) + 1)
/* "***859, " per bound contract, and ", …" */
#define DLG_CONTRACTS (MODEL_BINDINGS_MAX * 9 + 8)

/* One decision in progress. */
struct dlg {
	const struct dialog_input *in;
	const struct parse_result *cmd; /* in->cmd, or bare as a command */
	struct parse_result bare; /* "<contract> <values>" read as ПС */
	/*
	 * The contract as the rules see it: in->contract, or for a
	 * correction a copy whose last values are the previous period's
	 * (model_register.prev_*). NULL: not found.
	 */
	const struct model_contract *c;
	struct model_contract basis;
	bool correction; /* basis holds prev_* (see docs/dialog.md) */
	int32_t period_start; /* the window occurrence of the message */
	const struct config *cfg;
	struct dialog_decision *out;
	struct tz_civil local; /* the message's local time */
	bool live; /* open dialog, not expired */
	bool command; /* a ПС (or bare contract) opened this decision */
	enum tpl_id tpl;
	struct tpl_vars vars;
	char value[DLG_NUM], last[DLG_NUM], digits[DLG_NUM];
	char expected[DLG_NUM], got[DLG_NUM], minutes[DLG_NUM];
	char from[DLG_NUM], to[DLG_NUM], days[DLG_NUM], next[DLG_NUM];
	char consumption[DLG_NUM];
	char registers[DLG_LIST], example[DLG_EXAMPLE], values[DLG_VALUES];
	char unknown[DLG_QUOTE], label[PARSE_LABEL_MAX + 1];
	char readings[DLG_READINGS], contracts[DLG_CONTRACTS];
	char attempts[DLG_NUM], until[DLG_NUM];
	bool passed; /* a challenge passed: its reply comes first */
};

/* ---- outcomes (dialog.c) ------------------------------------------------ */

void
dlg_outcome(struct dlg *, enum dialog_outcome, enum dialog_reason, enum tpl_id);
void dlg_reject(struct dlg *, enum dialog_reason, enum tpl_id);
/* Keep s as the sender's dialog, touched by this message. */
void dlg_keep(struct dlg *, const struct dialog_state *s);

/* ---- bound senders and self-service (dialog_self.c) --------------------- */

/*
 * A command that names no contract, from a sender with bindings: bound
 * to one, d->cmd becomes the command for it (false: decide on); bound to
 * several, the reply asks which (true: decided).
 */
bool dlg_self_resolve(struct dlg *);
/* [verify] mode = bound: refuse a sender not bound to the contract (true). */
bool dlg_self_gate(struct dlg *);
void dlg_on_info(struct dlg *);

/*
 * [verify] mode = challenge (dialog_challenge.c): a sender not bound to
 * contract (NULL: none named) acts on it. Asks the question, judges an
 * answer, refuses while locked out (true: decided); false when the
 * ordinary handler decides (no contract, an unknown or closed one, a
 * kind the challenge leaves alone).
 */
bool dlg_challenge(struct dlg *, const char *contract);
void dlg_on_unbind(struct dlg *);
void dlg_on_remind_off(struct dlg *);
void dlg_on_remind_on(struct dlg *);

/* Where the values of one message go (dialog_place.c). */
enum dlg_place_status {
	DLG_PLACE_OK,
	DLG_PLACE_TOO_MANY, /* more values than free registers */
	DLG_PLACE_UNKNOWN_LABEL, /* labels[label] names no register */
	DLG_PLACE_TWICE, /* two values for one register */
	DLG_PLACE_GAP, /* a register before a placed one has no value */
};

struct dlg_place {
	enum dlg_place_status status;
	int label; /* UNKNOWN_LABEL: index into the labels */
	unsigned next; /* registers 0..next-1 have values */
	uint64_t all[MODEL_MAX_REGISTERS]; /* by register */
	bool filled[MODEL_MAX_REGISTERS];
	bool touched_before; /* a label replaced a value already collected */
};

/*
 * Place n values (with their labels, "" for none; labels may be NULL)
 * after the dialog s: labelled ones to their register, the others to the
 * next free register in order. Register i < s->next keeps s->values[i]
 * unless a label names it.
 */
void dlg_place(const struct model_contract *, const struct dialog_state *s,
    const uint64_t *values, const char (*labels)[PARSE_LABEL_MAX + 1],
    unsigned n, struct dlg_place *out);

/* The register a label names (т1..т6, a name, д/н), or -1. */
int dlg_label_register(const struct model_contract *, const char *label);

/* Whether every placed value fits its register's digit capacity. */
bool dlg_place_fits(const struct model_contract *, const struct dlg_place *);

/* ---- reply variables (dialog_vars.c) ---------------------------------- */

void dlg_var(struct dlg *, enum tpl_var, const char *);
void dlg_var_num(struct dlg *, enum tpl_var, char *buf, uint64_t n);
/* {registers}, {expected}, {example} for registers from..n-1. */
void dlg_var_remaining(struct dlg *, unsigned from, bool with_keyword);
/* {register}, {digits}, {last}, one-value {example} for register i. */
void dlg_var_register(struct dlg *, unsigned i);
/* {registers} of the registers without a value in p. */
void dlg_var_missing(struct dlg *, const struct dlg_place *p);
/* {days}, {from}, {to}, {next} of window w. */
void dlg_var_window(struct dlg *, const struct config_window *w);
/* {values}: n values, space-separated. */
void dlg_var_values(struct dlg *, const uint32_t *v, unsigned n);
/* {registers}, {values}, {consumption} of an accepted submission. */
void dlg_var_submission(struct dlg *, const struct dialog_submission *);
/* {unknown}: " «…»" quoting what the grammar did not understand. */
void dlg_var_unknown(struct dlg *);

#endif
