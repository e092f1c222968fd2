/*
 * Logging to stderr with levels. Untrusted text (SMS bodies, addresses)
 * goes through log_escape/log_mask_phone, never raw.
 */
#ifndef METERLINE_LOG_H
#define METERLINE_LOG_H

#include <stddef.h>

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

/* "79120000001" -> "7912***0001"; short numbers keep only their ends. */
const char *log_mask_phone(const char *number, char *buf, size_t buflen);

/* Escape control bytes and quotes of len bytes of text into buf (C style). */
const char *log_escape(const char *text, size_t len, char *buf, size_t buflen);

#endif
