/*
 * Logging to stderr with levels. Untrusted text (SMS bodies, addresses)
 * goes through log_escape/log_mask_phone, never raw.
 */
#ifndef METERLINE_LOG_H
#define METERLINE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level);
enum log_level log_get_level(void);
/* Parse "debug|info|warn|error"; returns 0 or -1. */
int log_level_parse(const char *, enum log_level *);

void log_write(enum log_level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) \
	do { \
		if (log_get_level() <= LOG_DEBUG) \
			log_write(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_info(...) \
	do { \
		if (log_get_level() <= LOG_INFO) \
			log_write(LOG_INFO, __VA_ARGS__); \
	} while (0)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

/*
 * Mask a phone number or messenger id for a log line or a screen, by one
 * rule: at least 6 characters are hidden, and of the rest at most the last
 * 4 are shown. A number of 11 digits or more (international, with its
 * country code; an optional '+' is kept) also shows its first digit.
 * Hidden characters are stars, one each up to 12. A shown character of an
 * id that is not ASCII letter or digit is a star too.
 *   "79120000001" -> "7******0001"   "+447700900123" -> "+4*******0123"
 *   "9120000001"  -> "******0001"    "12345678" -> "******78"
 *   "7377"        -> "****"          "tg-user-4821937" -> "***********1937"
 * Returns buf (19 bytes always suffice).
 */
const char *log_mask_phone(const char *number, char *buf, size_t buflen);

/*
 * Escape len bytes of untrusted text for a log line into buf (C style):
 * backslash and double quote as \\ and \", C0 controls, DEL and bytes that
 * are not valid UTF-8 as \xNN, and C1 controls, the bidi controls (U+061C,
 * U+200E/F, U+202A-E, U+2066-9) and U+2028/9 as \uNNNN. Nothing in the
 * result can split a line or reorder it when shown. Truncates at a
 * character boundary when buf is short. Returns buf.
 */
const char *log_escape(const char *text, size_t len, char *buf, size_t buflen);

/*
 * The same for text shown to staff (reports, exports): only the unsafe
 * characters are escaped; quotes and backslashes stay as they are.
 * log_write passes every line through it.
 */
const char *
log_sanitize(const char *text, size_t len, char *buf, size_t buflen);

/*
 * Offset of the first character of text that log_escape would escape as
 * unsafe (not valid UTF-8, or !log_char_safe), with its code point in *cp
 * (-1 for a bad byte; cp may be NULL); -1 if there is none.
 */
long log_text_unsafe(const char *text, size_t len, int32_t *cp);

/* Whether code point cp may be shown as is (see log_escape). */
bool log_char_safe(int32_t cp);

/*
 * Decode the UTF-8 character at text (len > 0 bytes): returns its length
 * and its code point in *cp, or 1 and *cp = -1 for a byte that does not
 * start a valid, shortest-form sequence.
 */
size_t log_utf8_next(const char *text, size_t len, int32_t *cp);

#endif
