/* PostgreSQL array literals: see sql_array.h. */
#include <stdlib.h>
#include <string.h>

#include "meterline/xmalloc.h"
#include "meterline/sql_array.h"

/* ---- buffers ----------------------------------------------------------- */

void
sbuf_reset(struct sql_buf *b)
{
	b->len = 0;
}

void
sbuf_add(struct sql_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
sbuf_free(struct sql_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- array literals ---------------------------------------------------- */

void
sarr_begin(struct sql_arr *a)
{
	sbuf_reset(&a->b);
	sbuf_add(&a->b, "{", 1);
	a->n = 0;
}

static void
sarr_sep(struct sql_arr *a)
{
	if (a->n++ > 0)
		sbuf_add(&a->b, ",", 1);
}

void
sarr_text(struct sql_arr *a, const char *s)
{
	const char *run;

	if (s == NULL) {
		sarr_null(a);
		return;
	}
	sarr_sep(a);
	sbuf_add(&a->b, "\"", 1);
	/* Copy runs without a quote or backslash in one go. */
	for (run = s;; run++) {
		size_t n = strcspn(run, "\"\\");

		sbuf_add(&a->b, run, n);
		run += n;
		if (*run == '\0')
			break;
		sbuf_add(&a->b, "\\", 1);
		sbuf_add(&a->b, run, 1);
	}
	sbuf_add(&a->b, "\"", 1);
}

/*
 * Digits by hand: snprintf was an eighth of serve's CPU under load, and a
 * batch writes a dozen integers per message.
 */
void
sarr_i64(struct sql_arr *a, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	sarr_sep(a);
	sbuf_add(&a->b, p, (size_t)(num + sizeof(num) - p));
}

void
sarr_null(struct sql_arr *a)
{
	sarr_sep(a);
	sbuf_add(&a->b, "NULL", 4);
}

void
sarr_bool(struct sql_arr *a, bool v)
{
	sarr_sep(a);
	sbuf_add(&a->b, v ? "t" : "f", 1);
}

const char *
sarr_end(struct sql_arr *a)
{
	sbuf_add(&a->b, "}", 1);
	return a->b.p;
}
