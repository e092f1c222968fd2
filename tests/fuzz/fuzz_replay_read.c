/*
 * libFuzzer target: replay's readers of a message log export, JSON Lines
 * and CSV (src/ops/replay_read.c), through replay_read on a memory FILE.
 *
 * Input: the first octet picks the format (0: detect, 1: JSON Lines,
 * 2: CSV, by its value mod 3); the rest is the file.
 *
 * Promises checked: every record read has all its strings, a text of
 * text_len octets without a NUL cut, a line within the file and its name;
 * bad records are counted as reported; replay_sort orders by time and
 * keeps the reading order among equal times; every allocation is freed.
 */
#include <string.h>

#include "fuzz_check.h"
#include "meterline/replay.h"

struct bads {
	long n;
	long lines; /* lines in the input, for bounds */
};

static void
on_bad(const char *name, long line, const char *why, void *arg)
{
	struct bads *b = arg;

	CHECK(strcmp(name, "fuzz") == 0);
	CHECK(line >= 1 && line <= b->lines);
	CHECK(why != NULL && why[0] != '\0');
	b->n++;
}

static void
check_set(const struct replay_set *set, const struct bads *b)
{
	CHECK(set->n <= set->cap);
	CHECK(set->bad == b->n);
	for (size_t i = 0; i < set->n; i++) {
		const struct replay_rec *r = &set->recs[i];

		CHECK(r->channel && r->from && r->to && r->text && r->id);
		CHECK(strlen(r->text) <= r->text_len);
		CHECK(r->text[r->text_len] == '\0');
		CHECK(r->line >= 1 && r->line <= b->lines);
		CHECK(strcmp(r->file, "fuzz") == 0);
	}
}

static void
check_sorted(const struct replay_set *set)
{
	for (size_t i = 1; i < set->n; i++) {
		const struct replay_rec *a = &set->recs[i - 1],
		                        *z = &set->recs[i];

		CHECK(a->time_us < z->time_us ||
		    (a->time_us == z->time_us && a->seq < z->seq));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum replay_format fmts[3] = { REPLAY_FMT_AUTO,
		REPLAY_FMT_JSONL, REPLAY_FMT_CSV };
	static char empty[1];
	struct replay_set set = { 0 };
	struct bads b = { 0, 1 };
	char err[256];
	FILE *in;

	if (size < 1)
		return 0;
	for (size_t i = 1; i < size; i++)
		b.lines += data[i] == '\n';
	/* fmemopen refuses size 0: an empty file is one octet read away. */
	in = size > 1 ? fmemopen((void *)(data + 1), size - 1, "r")
	              : fmemopen(empty, 1, "r");
	CHECK(in != NULL);
	if (size == 1)
		fgetc(in);
	if (replay_read(&set, in, "fuzz", fmts[data[0] % 3], on_bad, &b, err,
	        sizeof(err)) == 0) {
		check_set(&set, &b);
		replay_sort(&set);
		check_sorted(&set);
	} else {
		CHECK(memchr(err, 0, sizeof(err)) != NULL && err[0] != '\0');
	}
	replay_set_free(&set);
	fclose(in);
	return 0;
}
