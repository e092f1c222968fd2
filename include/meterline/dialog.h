/*
 * The dialog engine: what meterline decides for one message.
 *
 * Pure: no I/O, no clock reads, no globals, no allocation. The same inputs
 * always give the same decision, so live SMS, the messenger bridge, replay
 * and the tests share it. The store, per message, in one transaction:
 *
 *   1. parses the text (parser_parse) into a struct parse_result;
 *   2. locks and loads the sender's dialog row for (channel, sender), if any;
 *   3. loads the contract named by dialog_contract_needed(cmd, dialog), if
 *      that returns non-NULL (the command's contract, else the dialog's);
 *   4. calls dialog_decide();
 *   5. writes out->dialog (or deletes the row when !out->has_dialog),
 *      out->submission when has_submission (values, and each register's new
 *      last value and date), the outcome and the reply; COMMITs.
 *
 * See docs/dialog.md for the rules and docs/outcomes.md for the codes.
 */
#ifndef METERLINE_DIALOG_H
#define METERLINE_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meterline/config.h"
#include "meterline/model.h"
#include "meterline/parse.h"

#define DIALOG_REPLY_MAX 1024 /* bytes of a rendered reply, NUL included */

/*
 * The open dialog of one (channel, sender). It serialises into one
 * PostgreSQL row, one column per field:
 *
 *   CREATE TABLE dialog (
 *     channel    text     NOT NULL,
 *     sender     text     NOT NULL,
 *     contract   text     NOT NULL,     -- contract
 *     nregisters smallint NOT NULL,     -- nregisters
 *     next       smallint NOT NULL,     -- next (= cardinality(vals))
 *     vals       integer[] NOT NULL,    -- values[0 .. next-1]
 *     started_us bigint   NOT NULL,     -- started_us
 *     last_us    bigint   NOT NULL,     -- last_us
 *     PRIMARY KEY (channel, sender));
 *
 * Values fit integer (MODEL_DIGITS_MAX is 9). Times are Unix microseconds
 * in UTC, as inbound_msg.time_us (to_timestamp(last_us / 1e6) to read them).
 * dialog_state_check() validates a row read back.
 */
struct dialog_state {
	char contract[MODEL_CONTRACT_MAX + 1];
	uint8_t nregisters; /* the contract's count when the dialog began */
	uint8_t next; /* index of the register asked for next */
	uint32_t values[MODEL_MAX_REGISTERS]; /* values[0..next-1] collected */
	int64_t started_us; /* the ПС that opened it */
	int64_t last_us; /* last message that touched it */
	/*
	 * A question is open ("Вы имели в виду 13000? Ответьте ДА ..."):
	 * npending values that a ДА would take as if the customer had sent
	 * them, starting at register next. 0: no question. Column
	 *   pending integer[] NOT NULL DEFAULT '{}'  -- pending[0..npending-1]
	 */
	uint8_t npending;
	uint32_t pending[MODEL_MAX_REGISTERS];
};

enum dialog_outcome {
	DIALOG_OUT_ACCEPTED, /* a submission is stored */
	DIALOG_OUT_PROMPT, /* values taken (or a dialog started); asks for more */
	DIALOG_OUT_CANCELLED, /* ОТМЕНА/СТОП (reason nothing_to_cancel without a dialog) */
	DIALOG_OUT_HELP, /* ПОМОЩЬ/СПРАВКА/? */
	DIALOG_OUT_REJECTED, /* see the reason */
	DIALOG_OUT_THANKS, /* Спасибо!: answered politely, nothing else */
	DIALOG_OUT_INFO, /* ИНФО: the last readings of a contract */
	DIALOG_OUT_SETTING, /* НЕ НАПОМИНАТЬ, НАПОМИНАТЬ, ОТВЯЗАТЬ done */
	DIALOG__OUT_MAX
};

/* Stable: the names are in logs, metrics, replay reports and the database. */
enum dialog_reason {
	DIALOG_R_NONE,
	DIALOG_R_BAD_FORMAT,
	DIALOG_R_UNKNOWN_CONTRACT,
	DIALOG_R_CLOSED_CONTRACT,
	DIALOG_R_TOO_MANY_VALUES,
	DIALOG_R_TOO_MANY_DIGITS,
	DIALOG_R_LOWER_THAN_LAST,
	DIALOG_R_OUTSIDE_WINDOW,
	DIALOG_R_NO_DIALOG,
	DIALOG_R_EXPIRED,
	DIALOG_R_NOTHING_TO_CANCEL,
	DIALOG_R_AMBIGUOUS, /* prompt: "13,000" asked as "13000? ДА" */
	DIALOG_R_UNKNOWN_LABEL, /* rejected: a label names no register */
	DIALOG_R_MISSING_VALUES, /* rejected: labels left a register out */
	DIALOG_R_NOTHING_TO_CONFIRM, /* help: ДА with no question open */
	DIALOG_R_NOT_BOUND, /* rejected: [verify] and the sender is not bound */
	DIALOG_R_WHICH_CONTRACT, /* rejected: bound to several, name one */
	/* [verify] mode = challenge (dialog_challenge.c) */
	DIALOG_R_CHALLENGE, /* prompt: the question is asked (again) */
	DIALOG_R_WRONG_ANSWER, /* rejected: a wrong answer, attempts left */
	DIALOG_R_LOCKED_OUT, /* rejected: too many wrong answers, until ... */
	DIALOG_R_CANNOT_VERIFY, /* rejected: no serial, or no phone to bind */
	DIALOG__R_MAX
};

/* Facts about a decision, for the log and for review (bit set). */
#define DIALOG_F_HIGH_CONSUMPTION 0x01 /* daily consumption above [limits] */
#define DIALOG_F_WRAPAROUND 0x02 /* a register rolled over its scale */
#define DIALOG_F_OUTSIDE_WINDOW \
	0x04 /* accepted outside the window (policy accept) */
#define DIALOG_F_TRUNCATED 0x08 /* the parser dropped a fraction */
#define DIALOG_F_REPLACED 0x10 /* an open dialog was replaced by a new ПС */
#define DIALOG_F_EXPIRED 0x20 /* an expired dialog was discarded */
#define DIALOG_F_CONTRACT_CHANGED \
	0x40 /* registers changed mid-dialog; restarted */
#define DIALOG_F_NO_LAST 0x80 /* a register had no last value (new meter) */
#define DIALOG_F_CORRECTION 0x100 /* supersedes this period's submission */
#define DIALOG_F_VERIFIED 0x200 /* the right answer bound the sender now */
#define DIALOG__F_COUNT 10

/*
 * What to store when every register is filled: one reading per register.
 *
 * A correction (DIALOG_F_CORRECTION) replaces the contract's accepted
 * submission of the same period: the store marks the readings of that
 * contract dated on or after supersedes_since as superseded, and moves
 * last_value/last_date to the new values while prev_* stay as they were.
 * Otherwise the store moves each register's last_* into prev_* first.
 */
struct dialog_submission {
	char contract[MODEL_CONTRACT_MAX + 1];
	enum model_resource resource;
	uint8_t nvalues; /* = the contract's nregisters */
	uint32_t values[MODEL_MAX_REGISTERS];
	/* value - last, or 10^digits - last + value on a wrap-around; 0 when
	   the register had no last value (see reg_flags) */
	uint32_t consumption[MODEL_MAX_REGISTERS];
	uint8_t reg_flags[MODEL_MAX_REGISTERS]; /* WRAPAROUND, NO_LAST */
	unsigned flags; /* DIALOG_F_* of the whole submission */
	uint64_t daily_milli; /* consumption per day x 1000, summed */
	int64_t time_us; /* the completing message's time */
	int32_t date; /* its local date: each register's new last_date */
	int64_t started_us; /* when the dialog began */
	int32_t supersedes_since; /* correction: first date of the period */
};

/* What the store changes for the sender besides the dialog. */
enum dialog_action {
	DIALOG_ACT_NONE,
	DIALOG_ACT_REMIND_OFF, /* the sender gets no reminders */
	DIALOG_ACT_REMIND_ON, /* the sender gets reminders again */
	DIALOG_ACT_UNBIND, /* drop the binding (sender, action_contract) */
	DIALOG_ACT_BIND, /* bind (sender, action_contract): challenge passed */
};

/* What the right answer to a challenge goes on with. */
enum dialog_held {
	DIALOG_HELD_READING, /* ПС <contract> with the dialog's pending values */
	DIALOG_HELD_INFO, /* ИНФО <contract> */
};

/*
 * [verify] mode = challenge: the state of one (channel, sender, contract),
 * one row of table challenges (schema/0010_challenge.sql). A question is
 * open while the sender's dialog is alive, of this contract, and started
 * at asked_us; the reading it holds is that dialog's pending values.
 */
struct dialog_challenge {
	char contract[MODEL_CONTRACT_MAX + 1];
	uint8_t attempts; /* wrong answers since the last lockout */
	int64_t locked_until_us; /* 0: not locked out; Unix µs */
	int64_t asked_us; /* the open question's time; 0: none */
	enum dialog_held held;
};

/* What the store does with the challenge row of (sender, contract). */
enum dialog_challenge_op {
	DIALOG_CH_NONE, /* leave it as it is */
	DIALOG_CH_PUT, /* upsert out->challenge */
	DIALOG_CH_DELETE, /* delete it (passed, or nothing left to keep) */
};

struct dialog_input {
	int64_t time_us; /* the message's own time, UTC */
	const char *channel; /* owner of the dialog, with sender */
	const char *sender;
	const struct parse_result *cmd;
	/* the sender's open dialog, or NULL */
	const struct dialog_state *dialog;
	/* the contract named by dialog_contract_needed(), or NULL: not found */
	const struct model_contract *contract;
	/*
	 * The text as parsed (cmd came from it), so a reply can quote what
	 * was not understood (cmd->unknown_at/len). NULL: nothing is quoted.
	 */
	const char *text;
	size_t text_len;
	/*
	 * The contracts the sender is bound to (loaded by the store with the
	 * dialog), or NULL: bound to none. See dialog_contract_wanted().
	 */
	const struct model_bindings *bindings;
	/*
	 * [verify] mode = challenge: the row of (sender, the contract
	 * dialog_contract_wanted names), or NULL: none yet. no_phone: the
	 * sender has no phone a binding could be stored under (a messenger
	 * chat that shared no contact).
	 */
	const struct dialog_challenge *challenge;
	bool no_phone;
	/*
	 * Entered by a signed-in console user (a manager's house, issue 18;
	 * INTAKE_F_STAFF): the console vouched for the sender, so [verify]
	 * asks for no binding. Never set from a field of a message.
	 */
	bool staff;
};

struct dialog_decision {
	enum dialog_outcome outcome;
	enum dialog_reason reason;
	unsigned flags; /* DIALOG_F_* */
	bool has_dialog; /* false: delete the sender's row */
	struct dialog_state dialog;
	bool has_submission;
	struct dialog_submission submission;
	enum dialog_action action; /* DIALOG_OUT_SETTING: what to store */
	char action_contract[MODEL_CONTRACT_MAX + 1]; /* UNBIND, BIND: which */
	enum dialog_challenge_op challenge_op;
	struct dialog_challenge challenge; /* DIALOG_CH_PUT, _DELETE: the row */
	enum tpl_id tpl; /* the template the reply was rendered from */
	size_t reply_len;
	char reply[DIALOG_REPLY_MAX]; /* UTF-8, NUL-terminated */
};

/*
 * The contract number the store must load before dialog_decide: the
 * command's for ПС (with or without values), else the open dialog's for
 * bare values, an unreadable text or ДА; for keyword-less
 * "<contract> <values>" (cmd->bare_contract) with no dialog, the
 * command's first number; else NULL (help, cancel, thanks, bad format
 * without a dialog: no contract needed). Points into cmd or dialog.
 */
const char *dialog_contract_needed(
    const struct parse_result *cmd, const struct dialog_state *dialog);

/*
 * The same, for a sender with bindings (NULL: none): the contract the
 * message acts on when the customer named none and the sender is bound to
 * exactly one (ПС alone, ИНФО or ОТВЯЗАТЬ alone, values with no dialog
 * open); for keyword-less "<contract> <values>" with no dialog, the first
 * number when it is a bound contract. Otherwise as
 * dialog_contract_needed(). The store loads this one before
 * dialog_decide. Points into cmd, dialog or bindings.
 */
const char *dialog_contract_wanted(const struct parse_result *cmd,
    const struct dialog_state *dialog, const struct model_bindings *bindings);

/*
 * Decide one message. in->contract must be the contract numbered
 * dialog_contract_needed(in->cmd, in->dialog) or NULL when billing has no
 * such contract; cfg must have passed config_check. Fills every field of
 * *out. Returns 0, or -1 on a caller error (contract number mismatch,
 * a dialog that fails dialog_state_check), with a reason in out->reply.
 */
int dialog_decide(const struct dialog_input *in, const struct config *cfg,
    struct dialog_decision *out);

/* Whether the dialog has been idle longer than the configured expiry. */
bool dialog_expired(
    const struct dialog_state *, int64_t time_us, const struct config *);

/* Validate a dialog row read back from the database. */
int dialog_state_check(const struct dialog_state *, char *err, size_t errlen);

/*
 * Checks on one value (src/core/validate.c), also usable on their own.
 *
 * Check value against a register: digit capacity, then lower than last
 * unless a wrap-around (last >= 90% of 10^digits and value < 10%). Returns
 * DIALOG_R_NONE, DIALOG_R_TOO_MANY_DIGITS or DIALOG_R_LOWER_THAN_LAST; on
 * success sets *consumption and *reg_flags (DIALOG_F_WRAPAROUND,
 * DIALOG_F_NO_LAST).
 */
enum dialog_reason validate_value(const struct model_register *, uint64_t value,
    uint32_t *consumption, uint8_t *reg_flags);

/* Whether local civil date (year, month, day) is inside window w. */
bool validate_in_window(
    const struct config_window *w, int year, unsigned month, unsigned day);

/*
 * The first date (days since 1970-01-01) of the occurrence of window w
 * that contains the local date, or MODEL_DATE_NONE when the date is
 * outside w. With days 1-31 that is the calendar month.
 */
int32_t validate_period_start(
    const struct config_window *w, int year, unsigned month, unsigned day);

/* The first date after the local date on which window w opens. */
int32_t validate_next_open(
    const struct config_window *w, int year, unsigned month, unsigned day);

/*
 * Consumption per day x 1000 over the registers of s (each since its
 * register's last date, at least one day), and whether it is above the
 * resource's daily maximum.
 */
uint64_t validate_daily_milli(
    const struct model_contract *, const struct dialog_submission *s);
bool
validate_high(const struct config *, enum model_resource, uint64_t daily_milli);

/* "accepted", "prompt", "cancelled", "help", "rejected". */
const char *dialog_outcome_name(enum dialog_outcome);
/* "bad_format"...; NULL for DIALOG_R_NONE (intake_result.reason is NULL). */
const char *dialog_reason_name(enum dialog_reason);
/* Name of one DIALOG_F_* bit: "high_consumption"...; NULL if unknown. */
const char *dialog_flag_name(unsigned flag);
/* All set flags as "high_consumption,wraparound" into buf; returns buf. */
const char *dialog_flags_str(unsigned flags, char *buf, size_t buflen);

#endif
