/*
 * libFuzzer target: the contract import's CSV reader (src/ops/import_csv.c):
 * the header, RFC 4180 splitting and every per-line check, through
 * import_check_csv (import_contracts without its database) on a memory
 * FILE.
 *
 * Input: the CSV file. Promises checked: fuzz_import.h.
 */
#include "fuzz_import.h"
#include "meterline/import.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_bads b;
	struct import_report rep;
	char err[256];
	int rc;

	fuzz_csv_open(data, size, &b);
	memset(err, 'x', sizeof(err));
	rc = import_check_csv(
	    b.in, "fuzz.csv", fuzz_on_bad, &b, &rep, err, sizeof(err));
	fuzz_csv_close(&b, rc, err, sizeof(err), rep.bad_lines, rep.lines);
	return 0;
}
