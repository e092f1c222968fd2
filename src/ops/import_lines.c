/*
 * The line loop of `import phones` and `import houses` (import_int.h):
 * CR/LF stripped, the header checked, empty lines skipped, a line with a
 * NUL byte reported rather than cut short at it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "import_int.h"

/* The end of reading: a read error or an empty file is said in err. */
static int
lines_end(const struct import_lines *il, FILE *in, long lineno, char *err,
    size_t errlen)
{
	if (ferror(in)) {
		snprintf(err, errlen, "%s: read error: %s", il->name,
		    strerror(errno));
		return -1;
	}
	if (lineno == 0) {
		snprintf(err, errlen, "%s: empty file (no header)", il->name);
		return -1;
	}
	return 0;
}

int
import_read_lines(
    const struct import_lines *il, FILE *in, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
		lineno++;
		while (
		    len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (lineno == 1 && !il->header_ok(line)) {
			snprintf(err, errlen, "%s:1: want the header %s",
			    il->name, il->header);
			rc = -1;
		} else if (lineno > 1 && len > 0 &&
		    strlen(line) != (size_t)len) {
			il->bad(il->ctx, lineno, "NUL byte in line");
		} else if (lineno > 1 && len > 0) {
			rc = il->line(il->ctx, line, lineno, err, errlen);
		}
	}
	if (rc == 0)
		rc = lines_end(il, in, lineno, err, errlen);
	free(line);
	return rc;
}
