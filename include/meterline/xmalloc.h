/* Allocation that cannot fail, bounded string copy, ARRAY_SIZE. */
#ifndef METERLINE_XMALLOC_H
#define METERLINE_XMALLOC_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A broken invariant (a bug, never bad input): message to stderr, abort. */
_Noreturn void
fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocators that never return NULL: out of memory aborts with a message. */
void *xmalloc(size_t);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);

/* snprintf into a caller buffer, never overflowing; returns dst. */
char *strlcpy_s(char *dst, const char *src, size_t size);

#endif
