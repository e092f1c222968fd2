/*
 * PostgreSQL array literals built element by element, the way the store
 * and the outbox pass whole columns as one text parameter each.
 */
#ifndef METERLINE_IO_SQL_ARRAY_H
#define METERLINE_IO_SQL_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer; reused from batch to batch. */
struct sql_buf {
	char *p;
	size_t len, cap;
};

void sbuf_reset(struct sql_buf *);
void sbuf_add(struct sql_buf *, const char *, size_t);
void sbuf_free(struct sql_buf *);

/*
 * A PostgreSQL array literal built element by element: {"a","b",NULL,3}.
 * Every text element is quoted; the result is one text parameter.
 */
struct sql_arr {
	struct sql_buf b;
	size_t n;
};

void sarr_begin(struct sql_arr *);
void sarr_text(struct sql_arr *, const char *s); /* NULL: NULL */
void sarr_i64(struct sql_arr *, int64_t);
void sarr_null(struct sql_arr *);
void sarr_bool(struct sql_arr *, bool);
const char *sarr_end(struct sql_arr *);

#endif
