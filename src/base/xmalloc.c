/* Allocation wrappers: out of memory is not an error we can recover from. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/xmalloc.h"

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	/* The last word before abort, so no logging machinery. */
	fputs("meterline: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void
oom(size_t size)
{
	fatalx("out of memory (%zu bytes)", size);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
xrealloc(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

char *
strlcpy_s(char *dst, const char *src, size_t size)
{
	if (size == 0)
		return dst;
	snprintf(dst, size, "%s", src);
	return dst;
}
