/* Leveled logging to stderr with timestamps; helpers to keep logs safe. */
#include <stdarg.h>
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
	char line[2048], stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level < log_threshold)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so concurrent processes do not interleave. */
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", stamp, ts.tv_nsec / 1000000,
	    log_names[level], line);
}

const char *
log_mask_phone(const char *number, char *buf, size_t buflen)
{
	size_t n = strlen(number);

	if (n >= 8)
		snprintf(buf, buflen, "%.4s***%s", number, number + n - 4);
	else if (n >= 3)
		snprintf(buf, buflen, "%.1s***%s", number, number + n - 1);
	else
		snprintf(buf, buflen, "***");
	return buf;
}

const char *
log_escape(const char *text, size_t len, char *buf, size_t buflen)
{
	size_t o = 0;

	if (buflen == 0)
		return buf;
	for (size_t i = 0; i < len && o + 5 < buflen; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\\' || c == '"') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o +=
			    (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}
