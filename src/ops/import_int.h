/*
 * What the imports of phones and houses share (internal to ops): a CSV of
 * a header line and one record a line, each line checked on its own.
 */
#ifndef METERLINE_IMPORT_INT_H
#define METERLINE_IMPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct import_lines {
	const char *name; /* the file, in messages */
	const char *header; /* what the first line must be, for the message */
	bool (*header_ok)(char *line); /* may split the line in place */
	/* a data line (no NUL, no line end): 0, or -1 with err (stops) */
	int (*line)(void *ctx, char *line, long lineno, char *err, size_t);
	/* a data line that is no line of text (a NUL byte): counted, bad */
	void (*bad)(void *ctx, long lineno, const char *why);
	void *ctx;
};

/*
 * Read in line by line: the header, then every non-empty data line to
 * il->line. 0, or -1 with why in err: no header, a wrong one, a read
 * error, or what il->line said.
 */
int import_read_lines(
    const struct import_lines *il, FILE *in, char *err, size_t errlen);

#endif
