/*
 * libFuzzer target: the phones import's CSV reader (src/ops/import_phones.c)
 * through import_check_phones (import_phones without its database) on a
 * memory FILE.
 *
 * Input: the CSV file.
 *
 * Promises checked: a file is refused only with a reason; every bad line is
 * reported once, in line order, within the file and after the header, with
 * a reason; reported bad lines never outnumber the data lines read.
 */
#include <string.h>

#include "fuzz_check.h"
#include "meterline/import.h"

struct bads {
	long n, last, lines;
};

static void
on_bad(const char *name, long line, const char *why, void *arg)
{
	struct bads *b = arg;

	CHECK(strcmp(name, "fuzz.csv") == 0);
	CHECK(line >= 2 && line <= b->lines && line > b->last);
	CHECK(why != NULL && why[0] != '\0');
	b->last = line;
	b->n++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char empty[1];
	struct bads b = { 0, 0, 1 };
	struct import_phones_report rep;
	char err[256];
	FILE *in;

	for (size_t i = 0; i < size; i++)
		b.lines += data[i] == '\n';
	/* fmemopen refuses size 0: an empty file is one octet read away. */
	in = size > 0 ? fmemopen((void *)data, size, "r")
	              : fmemopen(empty, 1, "r");
	CHECK(in != NULL);
	if (size == 0)
		fgetc(in);
	memset(err, 'x', sizeof(err));
	if (import_check_phones(
	        in, "fuzz.csv", on_bad, &b, &rep, err, sizeof(err)) != 0)
		CHECK(memchr(err, 0, sizeof(err)) != NULL && err[0] != '\0');
	CHECK(b.n == rep.bad_lines);
	CHECK(rep.bad_lines <= rep.lines && rep.lines < b.lines);
	fclose(in);
	return 0;
}
