/*
 * Reading replay files: JSON Lines (jansson) or CSV with a header
 * (RFC 4180: quoted fields may hold commas, quotes and line breaks). Each
 * good record becomes a replay_rec; each bad one is reported and skipped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "meterline/config.h"
#include "meterline/intake.h"
#include "meterline/msg_id.h"
#include "meterline/replay.h"
#include "meterline/xmalloc.h"

#define REPLAY_CHANNEL_MAX 64
#define REPLAY_ADDR_MAX 256
#define REPLAY_ID_MAX 256
#define REPLAY_TEXT_MAX 65536

/* The fields of one record before they are checked. */
struct read_fields {
	const char *time, *channel, *from, *to, *text, *id;
	size_t text_len;
};

/* Why the fields are not a message, or NULL; sets *us. */
static const char *
read_check(const struct read_fields *f, int64_t *us)
{
	if (f->time == NULL || f->time[0] == '\0')
		return "time is missing";
	if (replay_time_parse(f->time, us) != 0)
		return "time must be RFC 3339 with an offset, "
		       "e.g. 2026-11-24T12:30:00+03:00";
	if (f->channel == NULL || f->channel[0] == '\0')
		return "channel is missing";
	if (strlen(f->channel) > REPLAY_CHANNEL_MAX)
		return "channel is too long";
	if (f->from == NULL || f->from[0] == '\0')
		return "from is missing";
	if (strlen(f->from) > REPLAY_ADDR_MAX ||
	    (f->to != NULL && strlen(f->to) > REPLAY_ADDR_MAX))
		return "from or to is too long";
	if (f->text == NULL)
		return "text is missing";
	if (f->text_len > REPLAY_TEXT_MAX)
		return "text is longer than 64 KiB";
	if (f->id != NULL && strlen(f->id) > REPLAY_ID_MAX)
		return "id is longer than 256 bytes";
	return NULL;
}

/* Copy a checked record into the set. */
static void
read_add(struct replay_set *set, const struct read_fields *f, int64_t us,
    const char *name, long line)
{
	const char *to = f->to ? f->to : "";
	char sid[MSG_ID_STABLE_LEN + 1];
	const char *id = f->id != NULL && f->id[0] != '\0' ? f->id : NULL;
	size_t lc = strlen(f->channel) + 1, lf = strlen(f->from) + 1,
	       lt = strlen(to) + 1, li;
	struct replay_rec *r;
	char *p;

	if (id == NULL) {
		msg_id_stable(
		    us, f->channel, f->from, to, f->text, f->text_len, sid);
		id = sid;
	}
	li = strlen(id) + 1;
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 1024;
		set->recs = xrealloc(set->recs, set->cap * sizeof(*set->recs));
	}
	r = &set->recs[set->n];
	r->seq = set->n++;
	r->time_us = us;
	r->file = name;
	r->line = line;
	r->text_len = f->text_len;
	p = r->buf = xmalloc(lc + lf + lt + li + f->text_len + 1);
	r->channel = memcpy(p, f->channel, lc);
	r->from = memcpy(p += lc, f->from, lf);
	r->to = memcpy(p += lf, to, lt);
	r->id = memcpy(p += lt, id, li);
	r->text = memcpy(p += li, f->text, f->text_len);
	p[f->text_len] = '\0';
}

static void
read_record(struct replay_set *set, const struct read_fields *f,
    const char *name, long line, replay_bad_cb bad, void *arg)
{
	int64_t us;
	const char *why = read_check(f, &us);

	if (why != NULL) {
		set->bad++;
		bad(name, line, why, arg);
		return;
	}
	read_add(set, f, us, name, line);
}

/* ---- JSON Lines -------------------------------------------------------- */

/* A string member, or NULL; *why set when it has another type. */
static const char *
json_member(json_t *o, const char *key, size_t *len, char *num, size_t numlen,
    const char **why)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_integer(v) && num != NULL) { /* ids may be numbers */
		snprintf(num, numlen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return num;
	}
	if (!json_is_string(v)) {
		*why = key;
		return NULL;
	}
	if (len != NULL)
		*len = json_string_length(v);
	return json_string_value(v);
}

static void
read_json_line(struct replay_set *set, const char *line, size_t len,
    const char *name, long lineno, replay_bad_cb bad, void *arg)
{
	struct read_fields f = { 0 };
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *wrong = NULL, *dup;
	char why[200], num[32];

	if (o == NULL || !json_is_object(o)) {
		snprintf(why, sizeof(why), "not a JSON object%s%s",
		    o ? "" : ": ", o ? "" : jerr.text);
		set->bad++;
		bad(name, lineno, why, arg);
		json_decref(o);
		return;
	}
	f.time = json_member(o, "time", NULL, NULL, 0, &wrong);
	f.channel = json_member(o, "channel", NULL, NULL, 0, &wrong);
	f.from = json_member(o, "from", NULL, NULL, 0, &wrong);
	f.to = json_member(o, "to", NULL, NULL, 0, &wrong);
	f.text = json_member(o, "text", &f.text_len, NULL, 0, &wrong);
	f.id = json_member(o, "id", NULL, num, sizeof(num), &wrong);
	/* export-log: a duplicate live is replayed under its original's id,
	   so it is a duplicate again (docs/replay.md) */
	dup = json_member(o, "duplicate_of", NULL, NULL, 0, &wrong);
	if (dup != NULL && dup[0] != '\0')
		f.id = dup;
	if (wrong != NULL) {
		snprintf(why, sizeof(why), "%s must be a string", wrong);
		set->bad++;
		bad(name, lineno, why, arg);
	} else {
		read_record(set, &f, name, lineno, bad, arg);
	}
	json_decref(o);
}

/* ---- CSV ----------------------------------------------------------------- */

#define CSV_MAXF 8

/* One CSV record: its fields as NUL-terminated strings in buf. */
struct csv_rec {
	char *buf;
	size_t len, cap;
	size_t off[CSV_MAXF], flen[CSV_MAXF];
	int nf; /* fields, possibly more than CSV_MAXF */
};

static void
csv_put(struct csv_rec *r, char c)
{
	if (r->len + 2 > r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->buf = xrealloc(r->buf, r->cap);
	}
	r->buf[r->len++] = c;
}

static void
csv_field_end(struct csv_rec *r, size_t start)
{
	if (r->nf < CSV_MAXF) {
		r->off[r->nf] = start;
		r->flen[r->nf] = r->len - start;
	}
	r->nf++;
	csv_put(r, '\0');
}

/* Strip the line break; 0 when the line is empty then. */
static size_t
csv_chomp(char *line, ssize_t n)
{
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return (size_t)n;
}

/*
 * Read the next record (skipping empty lines) into r. Returns 1 with
 * *why NULL for a record, 1 with *why set for a malformed one, 0 at the
 * end, -1 on a read error. *first is the record's first line number.
 */
static int
csv_next(FILE *in, char **line, size_t *cap, long *lineno, long *first,
    struct csv_rec *r, const char **why)
{
	enum { F_START, F_PLAIN, F_QUOTED, F_QUOTE } st = F_START;
	size_t start = 0;
	ssize_t got;
	const char *p;

	do {
		errno = 0;
		if ((got = getline(line, cap, in)) < 0)
			return errno ? -1 : 0;
		++*lineno;
	} while (csv_chomp(*line, got) == 0);
	*first = *lineno;
	*why = NULL;
	r->len = 0;
	r->nf = 0;
	for (p = *line;; p++) {
		char c = *p;

		if (c == '\0' && st == F_QUOTED) {
			csv_put(r, '\n'); /* a line break inside quotes */
			if ((got = getline(line, cap, in)) < 0) {
				*why = "a quoted field is not closed";
				return 1;
			}
			++*lineno;
			csv_chomp(*line, got);
			p = *line - 1;
			continue;
		}
		if (c == '\0' || (c == ',' && st != F_QUOTED)) {
			csv_field_end(r, start);
			if (c == '\0')
				return 1;
			start = r->len;
			st = F_START;
			continue;
		}
		switch (st) {
		case F_START:
			if (c == '"') {
				st = F_QUOTED;
				break;
			}
			st = F_PLAIN;
			csv_put(r, c);
			break;
		case F_PLAIN:
			if (c == '"' && *why == NULL)
				*why = "a quote inside an unquoted field";
			csv_put(r, c);
			break;
		case F_QUOTED:
			if (c == '"')
				st = F_QUOTE;
			else
				csv_put(r, c);
			break;
		case F_QUOTE:
			if (c == '"') {
				csv_put(r, '"');
				st = F_QUOTED;
			} else if (*why == NULL) {
				*why = "text after a closing quote";
			}
			break;
		}
	}
}

static const char *
csv_field(const struct csv_rec *r, int i)
{
	return r->buf + r->off[i];
}

/* Whether the record is the header; *has_id for the optional id column. */
static bool
csv_header_ok(struct csv_rec *r, bool *has_id)
{
	static const char *const names[] = { "time", "channel", "from", "to",
		"text", "id" };

	if (r->nf != 5 && r->nf != 6)
		return false;
	for (int i = 0; i < r->nf; i++) {
		char *f = r->buf + r->off[i];
		size_t n = r->flen[i];

		if (i == 0 && n >= 3 && memcmp(f, "\xef\xbb\xbf", 3) == 0) {
			f += 3; /* a byte order mark */
			n -= 3;
		}
		while (n > 0 && isspace((unsigned char)f[n - 1]))
			f[--n] = '\0';
		while (isspace((unsigned char)*f))
			f++;
		if (strcasecmp(f, names[i]) != 0)
			return false;
	}
	*has_id = r->nf == 6;
	return true;
}

static int
read_csv(struct replay_set *set, FILE *in, const char *name, replay_bad_cb bad,
    void *arg, char *err, size_t errlen)
{
	struct csv_rec r = { 0 };
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0, first;
	const char *why;
	bool has_id = false;
	int rc;

	rc = csv_next(in, &line, &cap, &lineno, &first, &r, &why);
	if (rc > 0 && (why != NULL || !csv_header_ok(&r, &has_id))) {
		snprintf(err, errlen,
		    "%s:%ld: the CSV header must be time,channel,from,to,text[,id]",
		    name, first);
		rc = -2;
	}
	while (rc > 0 &&
	    (rc = csv_next(in, &line, &cap, &lineno, &first, &r, &why)) > 0) {
		struct read_fields f;

		if (why == NULL && r.nf != (has_id ? 6 : 5))
			why =
			    has_id ? "expected 6 fields" : "expected 5 fields";
		if (why != NULL) {
			set->bad++;
			bad(name, first, why, arg);
			continue;
		}
		f.time = csv_field(&r, 0);
		f.channel = csv_field(&r, 1);
		f.from = csv_field(&r, 2);
		f.to = csv_field(&r, 3);
		f.text = csv_field(&r, 4);
		f.text_len = r.flen[4];
		f.id = has_id ? csv_field(&r, 5) : NULL;
		read_record(set, &f, name, first, bad, arg);
	}
	if (rc == -1)
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
	free(line);
	free(r.buf);
	return rc < 0 ? -1 : 0;
}

/* ---- files --------------------------------------------------------------- */

static int
read_jsonl(struct replay_set *set, FILE *in, const char *name,
    replay_bad_cb bad, void *arg, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	ssize_t got;

	errno = 0;
	while ((got = getline(&line, &cap, in)) >= 0) {
		size_t n = csv_chomp(line, got);
		const char *p = line;

		lineno++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '\0')
			read_json_line(set, line, n, name, lineno, bad, arg);
		errno = 0;
	}
	free(line);
	if (errno != 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The format from the first non-blank byte, which stays in the stream;
 * false when there is none (nothing to read).
 */
static bool
read_detect(FILE *in, enum replay_format *fmt)
{
	int c;

	while ((c = getc(in)) != EOF && isspace(c))
		;
	if (c == EOF)
		return false;
	ungetc(c, in);
	*fmt = c == '{' ? REPLAY_FMT_JSONL : REPLAY_FMT_CSV;
	return true;
}

int
replay_read(struct replay_set *set, FILE *in, const char *name,
    enum replay_format fmt, replay_bad_cb bad, void *arg, char *err,
    size_t errlen)
{
	if (fmt == REPLAY_FMT_AUTO && !read_detect(in, &fmt))
		return ferror(in)
		    ? (snprintf(err, errlen, "%s: read error", name), -1)
		    : 0;
	if (fmt == REPLAY_FMT_JSONL)
		return read_jsonl(set, in, name, bad, arg, err, errlen);
	return read_csv(set, in, name, bad, arg, err, errlen);
}

void
replay_set_free(struct replay_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->recs[i].buf);
	free(set->recs);
	memset(set, 0, sizeof(*set));
}

void
replay_bound(struct replay_set *set, const struct config_intake *b,
    int64_t now_us, replay_bad_cb bad, void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct replay_rec *r = &set->recs[i];
		char why[200], line[240];

		if (intake_time_check(b, now_us, r->time_us) ==
		    INTAKE_TIME_OK) {
			set->recs[kept++] = *r;
			continue;
		}
		snprintf(line, sizeof(line), "%s; not replayed",
		    intake_time_why(b, now_us, r->time_us, why, sizeof(why)));
		bad(r->file, r->line, line, arg);
		set->refused++;
		free(r->buf);
	}
	set->n = kept;
}

static int
read_cmp(const void *a, const void *b)
{
	const struct replay_rec *x = a, *y = b;

	if (x->time_us != y->time_us)
		return x->time_us < y->time_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
replay_sort(struct replay_set *set)
{
	if (set->n > 1)
		qsort(set->recs, set->n, sizeof(set->recs[0]), read_cmp);
}
