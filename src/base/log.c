/* Leveled logging to stderr with timestamps; helpers to keep logs safe. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "meterline/log.h"

/* The one piece of process-wide state outside the core: the log threshold. */
static enum log_level log_threshold = LOG_INFO;
static const char *const log_names[] = { "debug", "info", "warn", "error" };

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

enum log_level
log_get_level(void)
{
	return log_threshold;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_write(enum log_level level, const char *fmt, ...)
{
	char line[2048], safe[2048], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level < log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	/* Whatever a caller forgot to escape cannot split or reorder the
	   line: control, bidi and broken UTF-8 become visible escapes. */
	log_sanitize(line,
	    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1, safe,
	    sizeof(safe));
	/* One write per line so concurrent processes do not interleave. */
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000,
	    log_names[level], safe);
}

/* ---- masking ------------------------------------------------------------- */

#define MASK_SHOW_MAX 4 /* characters shown at the end, at most */
#define MASK_HIDE_MIN 6 /* characters hidden, at least */
#define MASK_STARS_MAX 12 /* a long id does not get a long row of stars */
#define MASK_INTL_MIN 11 /* digits of a number that keeps its first digit */

static bool
mask_is_phone(const char *s)
{
	if (*s == '+')
		s++;
	return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

const char *
log_mask_phone(const char *number, char *buf, size_t buflen)
{
	bool phone = mask_is_phone(number);
	const char *digits = number + (number[0] == '+' && phone);
	size_t n = strlen(digits), show, lead = 0, hide, o = 0;

	if (buflen == 0)
		return buf;
	show = n > MASK_HIDE_MIN ? n - MASK_HIDE_MIN : 0;
	if (show > MASK_SHOW_MAX)
		show = MASK_SHOW_MAX;
	if (phone && n >= MASK_INTL_MIN)
		lead = 1; /* the first digit of the country code */
	hide = n - show - lead;
	if (digits != number && o + 1 < buflen)
		buf[o++] = '+';
	for (size_t i = 0; i < lead && o + 1 < buflen; i++)
		buf[o++] = digits[i];
	for (size_t i = 0; i < hide && i < MASK_STARS_MAX && o + 1 < buflen;
	     i++)
		buf[o++] = '*';
	for (size_t i = n - show; i < n && o + 1 < buflen; i++) {
		char c = digits[i];
		/* an id's tail is shown only where it is plain ASCII */
		bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z');

		buf[o++] = plain ? c : '*';
	}
	buf[o] = '\0';
	return buf;
}

/* ---- escaping ------------------------------------------------------------ */

size_t
log_utf8_next(const char *text, size_t len, int32_t *cp)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t need;
	int32_t v, min;

	*cp = -1;
	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1, v = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 2, v = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 3, v = s[0] & 0x07, min = 0x10000;
	else
		return 1;
	if (len <= need)
		return 1;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 1;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 1; /* overlong, out of range or a surrogate */
	*cp = v;
	return need + 1;
}

bool
log_char_safe(int32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return false; /* C0, DEL, C1 */
	switch (cp) {
	case 0x061c: /* ARABIC LETTER MARK */
	case 0x200e: /* LRM */
	case 0x200f: /* RLM */
	case 0x2028: /* LINE SEPARATOR */
	case 0x2029: /* PARAGRAPH SEPARATOR */ return false;
	}
	return !(cp >= 0x202a && cp <= 0x202e) && /* LRE..RLO */
	    !(cp >= 0x2066 && cp <= 0x2069); /* LRI..PDI */
}

long
log_text_unsafe(const char *text, size_t len, int32_t *cp)
{
	int32_t c;

	for (size_t i = 0; i < len;) {
		size_t n = log_utf8_next(text + i, len - i, &c);

		if (c < 0 || !log_char_safe(c)) {
			if (cp != NULL)
				*cp = c;
			return (long)i;
		}
		i += n;
	}
	return -1;
}

/*
 * The common escaper: unsafe characters as \xNN (a byte: C0, DEL, broken
 * UTF-8) or \uNNNN (a code point: C1, bidi, separators); with quote, also
 * backslash and double quote. Stops, NUL-terminated, before an escape
 * that would not fit.
 */
static const char *
log_escape_into(
    const char *text, size_t len, char *buf, size_t buflen, bool quote)
{
	size_t o = 0;
	int32_t cp;

	if (buflen == 0)
		return buf;
	for (size_t i = 0; i < len;) {
		size_t n = log_utf8_next(text + i, len - i, &cp);
		char esc[8];
		size_t elen;

		if (cp < 0 || (cp < 0x80 && !log_char_safe(cp)))
			elen = (size_t)snprintf(esc, sizeof(esc), "\\x%02x",
			    (unsigned char)text[i]);
		else if (!log_char_safe(cp))
			elen = (size_t)snprintf(
			    esc, sizeof(esc), "\\u%04x", (unsigned)cp);
		else if (quote && (cp == '\\' || cp == '"'))
			elen = (size_t)snprintf(esc, sizeof(esc), "\\%c", cp);
		else
			elen = 0;
		if (o + (elen ? elen : n) >= buflen)
			break;
		memcpy(buf + o, elen ? esc : text + i, elen ? elen : n);
		o += elen ? elen : n;
		i += n;
	}
	buf[o] = '\0';
	return buf;
}

const char *
log_escape(const char *text, size_t len, char *buf, size_t buflen)
{
	return log_escape_into(text, len, buf, buflen, true);
}

const char *
log_sanitize(const char *text, size_t len, char *buf, size_t buflen)
{
	return log_escape_into(text, len, buf, buflen, false);
}
