/*
 * libFuzzer target: the house import's reader (src/ops/import_houses.c)
 * through import_check_houses (import_houses without its database).
 *
 * Input: the CSV file. Promises checked: fuzz_import.h.
 */
#include "fuzz_import.h"
#include "meterline/import.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_bads b;
	struct import_houses_report rep;
	char err[256];
	int rc;

	fuzz_csv_open(data, size, &b);
	memset(err, 'x', sizeof(err));
	rc = import_check_houses(
	    b.in, "fuzz.csv", fuzz_on_bad, &b, &rep, err, sizeof(err));
	fuzz_csv_close(&b, rc, err, sizeof(err), rep.bad_lines, rep.lines);
	return 0;
}
