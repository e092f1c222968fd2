/* Small helpers shared by every module. */
#ifndef METERLINE_UTIL_H
#define METERLINE_UTIL_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocators that never return NULL: out of memory aborts with a message. */
void *xmalloc(size_t);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);

/* snprintf into a caller buffer, never overflowing; returns dst. */
char *strlcpy_s(char *dst, const char *src, size_t size);

#endif
