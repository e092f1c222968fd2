/*
 * Reply templates: the text of every reply, with {placeholders}. Russian
 * defaults are built in; [templates] in the config file overrides any of
 * them (a utility in Ukraine wants Ukrainian). Rendering writes into a
 * caller buffer and allocates nothing.
 *
 * Placeholder syntax: {name} is replaced by a value, {{ and }} stand for a
 * literal brace. {name|one|few|many} is a plural: the form for the number
 * in name by the Russian (and Ukrainian) rule: one for 1, 21, 31...; few
 * for 2-4, 22-24...; many for 0, 5-20, 25-30... ("{expected|шкала|шкалы|
 * шкал}"); English writes "{expected|scale|scales|scales}". Each template may use only the placeholders listed for it
 * (tpl_vars_allowed); config validation rejects any other.
 */
#ifndef METERLINE_TEMPLATES_H
#define METERLINE_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>

#define TPL_MAX 480 /* bytes of one template (UTF-8) */
#define TPL_SMS_UNITS 70 /* UCS-2 characters of one SMS */

/* Stable ids; the config key is tpl_name(id), e.g. templates.accepted. */
enum tpl_id {
	TPL_ACCEPTED,
	TPL_PROMPT,
	TPL_HELP,
	TPL_CANCELLED,
	TPL_NOTHING_TO_CANCEL,
	TPL_BAD_FORMAT,
	TPL_BAD_FORMAT_DIALOG,
	TPL_UNKNOWN_CONTRACT,
	TPL_CLOSED_CONTRACT,
	TPL_TOO_MANY_VALUES,
	TPL_TOO_MANY_DIGITS,
	TPL_LOWER_THAN_LAST,
	TPL_OUTSIDE_WINDOW,
	TPL_NO_DIALOG,
	TPL_EXPIRED,
	/* issue 13; appended so the ids above keep their numbers */
	TPL_ACCEPTED_REVIEW, /* accepted, flagged for review */
	TPL_CORRECTED, /* accepted as a correction of this period's */
	TPL_PROMPT_SINGLE, /* prompt of a one-register contract */
	TPL_MISSING, /* values taken, registers still missing (named) */
	TPL_BAD_FORMAT_SINGLE, /* bad_format_dialog, one register */
	TPL_TOO_MANY_VALUES_DIALOG, /* too many for the registers left */
	TPL_TOO_MANY_VALUES_SINGLE, /* too many for one register */
	TPL_TOO_MANY_DIGITS_SINGLE,
	TPL_LOWER_THAN_LAST_SINGLE,
	TPL_NO_DIALOG_UNKNOWN, /* "<number> <values>": no such contract */
	TPL_THANKS, /* Спасибо! */
	TPL_NOTHING_TO_CONFIRM, /* ДА with no question open */
	TPL_AMBIGUOUS_COMMA, /* "13,000": 13000? */
	TPL_AMBIGUOUS_DOT, /* "6.600": 6600? */
	TPL_AMBIGUOUS_SPACE, /* "12 000": 12000? */
	TPL_UNKNOWN_LABEL, /* a label that names no register */
	TPL_INFO, /* ИНФО: last readings; this period's are in */
	TPL_INFO_DUE, /* ИНФО: last readings; this period's are not in yet */
	TPL_NOT_BOUND, /* [verify]: the sender is not bound; how to bind */
	TPL_WHICH_CONTRACT, /* bound to several contracts: which one? */
	TPL_UNBOUND, /* ОТВЯЗАТЬ done */
	TPL_REMIND_OFF, /* НЕ НАПОМИНАТЬ done */
	TPL_REMIND_ON, /* НАПОМИНАТЬ done */
	/* [verify] mode = challenge */
	TPL_CHALLENGE, /* the question: the last 4 digits of the serial */
	TPL_CHALLENGE_WRONG, /* a wrong answer, attempts left */
	TPL_CHALLENGE_LOCKED, /* locked out until */
	TPL_CHALLENGE_PASSED, /* bound; the held reading's reply follows */
	TPL_CANNOT_VERIFY, /* the contract has no serial: bind elsewhere */
	TPL_CANNOT_VERIFY_PHONE, /* a chat without a phone: share it first */
	TPL__MAX
};

enum tpl_var {
	TPL_VAR_CONTRACT, /* contract number as written */
	TPL_VAR_REGISTER, /* display name of the register concerned */
	TPL_VAR_VALUE, /* the value sent */
	TPL_VAR_LAST, /* the register's last accepted value */
	TPL_VAR_DIGITS, /* the register's digit capacity */
	TPL_VAR_EXPECTED, /* how many values are expected */
	TPL_VAR_GOT, /* how many values were sent */
	TPL_VAR_REGISTERS, /* names of the expected registers, "день, ночь" */
	TPL_VAR_EXAMPLE, /* the right form for this case, "ПС 123859 45055 23186" */
	TPL_VAR_DAYS, /* the window, "18-25" */
	TPL_VAR_FROM, /* first day of the window, "18" */
	TPL_VAR_TO, /* last day of the window, "25" */
	TPL_VAR_MINUTES, /* dialog expiry in minutes, "30" */
	TPL_VAR_VALUES, /* the values, "12000 5800" */
	TPL_VAR_CONSUMPTION, /* consumption since the last reading, "241" */
	TPL_VAR_UNKNOWN, /* " «кВт»": what was not understood, or "" */
	TPL_VAR_LABEL, /* a register label as written, "ввод" */
	TPL_VAR_NEXT, /* the day the next window opens, "18.06" */
	TPL_VAR_READINGS, /* last readings, "день 12000 (05.11), ночь 5800 (05.11)" */
	TPL_VAR_CONTRACTS, /* the sender's contracts, masked, "***859, ***861" */
	TPL_VAR_ATTEMPTS, /* wrong answers left before a lockout, "2" */
	TPL_VAR_UNTIL, /* the lockout's end, local, "14:35 07.12" */
	TPL_VAR__MAX
};

/* The values of one rendering; NULL entries render as "". */
struct tpl_vars {
	const char *v[TPL_VAR__MAX];
};

const char *tpl_name(enum tpl_id); /* "accepted"; NULL if out of range */
int tpl_lookup(const char *name); /* id, or -1 */
const char *tpl_default(enum tpl_id); /* built-in Russian text */
unsigned tpl_vars_allowed(enum tpl_id); /* bit (1u << TPL_VAR_x) per var */
bool tpl_two_part(enum tpl_id); /* default may need two SMS */

/*
 * The template to answer with in place of id, given the configured texts
 * (config.templates): a refinement (prompt_single, accepted_review...)
 * left at its default while its general reply (prompt, accepted...) is
 * overridden gives way to the general one, so a translated config keeps
 * one language. Else id. docs/replies.md lists the pairs.
 */
enum tpl_id tpl_pick(const char (*templates)[TPL_MAX + 1], enum tpl_id id);

/*
 * Check a template for tpl_id: balanced braces, only allowed placeholders,
 * at most TPL_MAX bytes, valid UTF-8. Returns 0, or -1 with why in err.
 */
int tpl_check(enum tpl_id, const char *tpl, char *err, size_t errlen);

/*
 * Render tpl with vars into out (cap bytes, NUL included). The output is
 * cut at a character boundary when it does not fit. Returns its length.
 */
size_t
tpl_render(const char *tpl, const struct tpl_vars *, char *out, size_t cap);

/*
 * Bytes of the valid UTF-8 character at text (len bytes available), or 0
 * when it is malformed, overlong, a surrogate or cut short.
 */
size_t tpl_utf8_char(const char *text, size_t len);

/* UCS-2 code units the UTF-8 text takes in an SMS (2 for non-BMP). */
size_t tpl_ucs2_units(const char *utf8);

#endif
