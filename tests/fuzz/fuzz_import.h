/*
 * What the three import targets share: the input as a memory FILE and the
 * promises about bad lines (each reported once, in line order, within the
 * file and after the header, with a reason; never more than the data
 * lines read; a refused file has a reason).
 */
#ifndef METERLINE_FUZZ_IMPORT_H
#define METERLINE_FUZZ_IMPORT_H

#include <string.h>

#include "fuzz_check.h"

struct fuzz_bads {
	long n, last, lines;
	FILE *in;
};

static void
fuzz_on_bad(const char *name, long line, const char *why, void *arg)
{
	struct fuzz_bads *b = arg;

	CHECK(strcmp(name, "fuzz.csv") == 0);
	CHECK(line >= 2 && line <= b->lines && line > b->last);
	CHECK(why != NULL && why[0] != '\0');
	b->last = line;
	b->n++;
}

/* The input as the file "fuzz.csv"; b counts its lines. */
static void
fuzz_csv_open(const uint8_t *data, size_t size, struct fuzz_bads *b)
{
	static char empty[1];

	*b = (struct fuzz_bads){ 0, 0, 1, NULL };
	for (size_t i = 0; i < size; i++)
		b->lines += data[i] == '\n';
	/* fmemopen refuses size 0: an empty file is one octet read away. */
	b->in = size > 0 ? fmemopen((void *)data, size, "r")
	                 : fmemopen(empty, 1, "r");
	CHECK(b->in != NULL);
	if (size == 0)
		fgetc(b->in);
}

/* The end of one import: rc and err as it returned them, its counts. */
static void
fuzz_csv_close(struct fuzz_bads *b, int rc, const char *err, size_t errlen,
    long bad_lines, long lines)
{
	if (rc != 0)
		CHECK(memchr(err, 0, errlen) != NULL && err[0] != '\0');
	CHECK(b->n == bad_lines);
	CHECK(bad_lines <= lines && lines < b->lines);
	fclose(b->in);
}

#endif
