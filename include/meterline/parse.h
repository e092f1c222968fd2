/*
 * The ПС grammar: one customer text (UTF-8) to one command.
 *
 * A parser owns its compiled PCRE2 patterns, match data and scratch buffer,
 * so parsing allocates nothing per message. One parser per thread.
 * docs/grammar.md states the exact rules, with examples.
 */
#ifndef METERLINE_PARSE_H
#define METERLINE_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define PARSE_MAX_VALUES 6
#define PARSE_CONTRACT_MIN 4
#define PARSE_CONTRACT_MAX 12
#define PARSE_VALUE_MAX_DIGITS 10
#define PARSE_MAX_TEXT 4096 /* longer texts are invalid (too_long) */
#define PARSE_JSON_MAX 640 /* parse_result_json never needs more */

enum parse_kind {
	PARSE_INVALID = 0,
	PARSE_SUBMIT, /* ПС <contract> v1..vk, k >= 1 */
	PARSE_START, /* ПС <contract> */
	PARSE_VALUES, /* v1..vk with no keyword */
	PARSE_CANCEL, /* ОТМЕНА / СТОП */
	PARSE_HELP, /* ПОМОЩЬ / СПРАВКА / ? / HELP / помогите / Как передать...? */
	PARSE_THANKS, /* Спасибо! / благодарю / 👍 (no command, no number) */
	PARSE_CONFIRM, /* ДА (the answer to an ambiguous-thousands question) */
	PARSE_INFO, /* ИНФО [contract] / ПС <contract> ? : last readings */
	PARSE_REMIND_OFF, /* НЕ НАПОМИНАТЬ */
	PARSE_REMIND_ON, /* НАПОМИНАТЬ */
	PARSE_UNBIND, /* ОТВЯЗАТЬ [contract] */
	PARSE__KIND_MAX
};

/*
 * Why a text is invalid; PARSE_R_NONE for every other kind. When several
 * apply, the first in this order wins, and among the grammar reasons
 * (no_contract .. too_many_values) the first problem in reading order.
 */
enum parse_reason {
	PARSE_R_NONE = 0,
	PARSE_R_TOO_LONG, /* over PARSE_MAX_TEXT bytes */
	PARSE_R_BAD_UTF8, /* not valid UTF-8 */
	PARSE_R_EMPTY, /* nothing but spaces */
	PARSE_R_NON_ASCII_DIGIT, /* digits of another script (full-width, ...) */
	PARSE_R_NO_CONTRACT, /* keyword without a contract number */
	PARSE_R_BAD_CONTRACT, /* contract not 4..12 ASCII digits, or a fraction */
	PARSE_R_BAD_VALUE, /* a value of more than 10 digits */
	PARSE_R_TOO_MANY_VALUES, /* more than PARSE_MAX_VALUES values */
	PARSE_R_BAD_SYNTAX, /* starts like a command (ПС, a number, a
				 * command word) but the rest does not fit */
	PARSE_R_UNKNOWN, /* anything else: no keyword, words, junk */
	PARSE_R__MAX
};

#define PARSE_LABEL_MAX 23 /* bytes of a register label, NUL excluded */

/*
 * SUBMIT: contract and 1..6 values. START: contract. VALUES: 1..6 values.
 * INFO, UNBIND: contract, or "" when the customer named none (the dialog
 * takes the sender's one bound contract then).
 * CANCEL, HELP, THANKS, CONFIRM, REMIND_OFF, REMIND_ON: nothing else. INVALID: reason; contract
 * too when the contract was good and a value was not (bad_value,
 * too_many_values), so a reply can name it. Fields not listed are zero / "".
 *
 * Keyword-less "<contract> <values>": a VALUES text whose first number
 * could be a contract (4..12 digits, no fraction, no label) sets
 * bare_contract and copies that number as written into contract; values
 * still hold every number, values[0] included. Whether it is a contract is
 * the dialog's call (known contract, no open dialog). Details: a first
 * number with a unit ("3600 кВт") or in digit groups is no contract
 * either; values[0] may then have 11 or 12 digits (every other value has
 * at most PARSE_VALUE_MAX_DIGITS); an INVALID result never keeps it.
 *
 * Labels: labels[i] is the register label written before values[i]
 * ("день 12000", "Т1: 13000"), folded to lower case, look-alike Latin
 * letters mapped to Cyrillic ("t1" -> "т1"), "" when none. Matching them
 * to register names is the dialog's job.
 *
 * Ambiguous thousands ("13,000", "6.600", "12 000"): values/truncated hold
 * the literal reading (13 with a fraction dropped; 12 and 0), ambiguous is
 * set and alt_values/alt_nvalues hold the reading with the groups joined
 * (13000; 12000). The dialog asks which one is meant; it never guesses.
 * alt_values is the whole list (values without groups are in it too);
 * alt_from[j] is the index in values where alt_values[j] starts, so its
 * label is labels[alt_from[j]] ("день 12 000 ночь 5 800": values 12 0 5
 * 800, alt_values 12000 5800, alt_from 0 2). truncated is the literal
 * reading's.
 *
 * unknown_at: for INVALID, the byte offset in the text of the first part
 * not understood (a word, a unit that does not fit), so a reply can quote
 * it; unknown_len its length in bytes (0 when nothing to quote). Offsets
 * are in the text as given (before normalisation); for bad_contract,
 * bad_value and too_many_values the span is the number concerned, for
 * non_ascii_digit the character. Not NUL-terminated: quote exactly
 * unknown_len bytes.
 */
struct parse_result {
	enum parse_kind kind;
	enum parse_reason reason;
	bool truncated; /* a fraction was dropped */
	bool bare_contract; /* VALUES: values[0] may be a contract (above) */
	bool ambiguous; /* thousands written with a separator (above) */
	uint8_t nvalues;
	uint8_t alt_nvalues;
	char contract[PARSE_CONTRACT_MAX + 1]; /* as written, digits only */
	uint64_t values[PARSE_MAX_VALUES];
	uint64_t alt_values[PARSE_MAX_VALUES];
	uint8_t alt_from[PARSE_MAX_VALUES]; /* alt_values[j] starts at
					     * values[alt_from[j]] (above) */
	char labels[PARSE_MAX_VALUES][PARSE_LABEL_MAX + 1];
	uint16_t unknown_at;
	uint16_t unknown_len;
};

struct parser;

/* Compile the grammar. Returns NULL and fills err on failure. */
struct parser *parser_new(char *err, size_t errlen);
void parser_free(struct parser *); /* NULL-safe */

/* Whether the patterns run as JIT machine code (else the interpreter). */
bool parser_jit(const struct parser *);

/*
 * Parse one text of len bytes (UTF-8, need not be NUL-terminated, may
 * contain any bytes). Always fills *out; returns out->kind.
 */
enum parse_kind parser_parse(
    struct parser *, const char *text, size_t len, struct parse_result *out);

const char *parse_kind_name(enum parse_kind); /* "submit", ... */
const char *parse_reason_name(enum parse_reason); /* "bad_contract", ... */

/* Number of decimal digits of v as written without leading zeros (0 -> 1). */
unsigned parse_value_digits(uint64_t v);

/*
 * Write r as one JSON object (no newline, NUL-terminated) into buf, the
 * format of `meterline parse --json`. Returns the length, or -1 if buf is
 * too small (PARSE_JSON_MAX always suffices).
 */
int parse_result_json(const struct parse_result *r, char *buf, size_t buflen);

#endif
