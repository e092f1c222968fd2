/*
 * Parts of concatenated SMS, kept in concat_parts by the batch that
 * received them, so that each part is answered as soon as it is durable
 * (an SMSC with window 1 sends part 2 only after part 1's answer) and a
 * restart between the parts loses nothing. The channel joins the parts it
 * holds and submits the whole message (INTAKE_F_WHOLE); the batch that
 * processes it marks its group's stored parts with its id. A part whose
 * channel holds nothing else of its group (after a restart) gets the
 * group's stored parts back with its answer. A part seen before is not
 * kept twice; one equal to a part of a message already processed is a
 * redelivery and is answered so (part_done), never joined again. Parts
 * whose message no channel completes (the rest never came after a
 * restart) are joined as they are by the sweep at the end of this file.
 * docs/store.md, "Concatenated SMS".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/ascii.h"
#include "meterline/log.h"
#include "meterline/store.h"
#include "meterline/text.h"
#include "meterline/xmalloc.h"
#include "store_int.h"

#define PART_ROW(r) ((uintptr_t)(r) << 1)
#define PART_MSG(j) ((uintptr_t)(j) << 1 | 1)

static uint64_t
parts_key(const struct store_batch *b, const char *sender,
    const char *recipient, long ref, long total)
{
	const char *k[2] = { sender, recipient };

	return hash_strs(b->seed, k, 2) ^
	    hash_u64((uint64_t)ref << 8 | (uint64_t)total);
}

void
parts_lock_keys(const struct store_batch *b, struct sql_arr *a)
{
	for (size_t i = 0; i < b->nparts; i++)
		sarr_i64(a, (int64_t)b->parts[i].sender_key);
}

void
parts_send_load(struct store_batch *b, struct db *db)
{
	b->r1[ST_PARTS] = -1;
	if (b->nparts == 0)
		return;
	for (int k = 0; k < 4; k++)
		sarr_begin(&b->arr[k]);
	for (size_t i = 0; i < b->nparts; i++) {
		const struct store_msg *m = &b->parts[i];

		sarr_text(&b->arr[0], m->in.sender);
		sarr_text(&b->arr[1], m->in.recipient);
		sarr_i64(&b->arr[2], m->part.ref);
		sarr_i64(&b->arr[3], m->part.total);
	}
	for (int k = 0; k < 4; k++)
		b->params[k] = sarr_end(&b->arr[k]);
	b->r1[ST_PARTS] = (int)b->r1_count++;
	db_send(db, ST_PARTS, b->params);
}

/* Whether row r's hex octets are the part's octets. */
static bool
parts_same_data(const struct db_rows *rows, int r, const struct store_msg *m)
{
	const char *hex = db_rows_get(rows, r, PART_DATA);

	if (strlen(hex) != 2 * m->part.len)
		return false;
	for (size_t i = 0; i < m->part.len; i++)
		if (ascii_hex(hex[2 * i]) * 16 + ascii_hex(hex[2 * i + 1]) !=
		    m->part.data[i])
			return false;
	return true;
}

/* Keep row r (a waiting part of m's group) to return with m's answer. */
static void
parts_return(struct store_batch *b, struct store_msg *m,
    const struct db_rows *rows, int r)
{
	const char *hex = db_rows_get(rows, r, PART_DATA);
	size_t len = strlen(hex) / 2;
	struct store_ret *t;

	if (b->nret == b->ret_cap) {
		b->ret_cap = b->ret_cap ? 2 * b->ret_cap : 64;
		b->ret = xrealloc(b->ret, b->ret_cap * sizeof(*b->ret));
	}
	t = &b->ret[b->nret++];
	t->seq = (uint8_t)atoi(db_rows_get(rows, r, PART_SEQ));
	t->dcs = (uint8_t)atoi(db_rows_get(rows, r, PART_DCS));
	t->dropped = strcmp(db_rows_get(rows, r, PART_DROPPED), "t") == 0;
	t->off = b->bytes.len;
	t->len = len;
	for (size_t i = 0; i < len; i++) {
		char o = (char)(ascii_hex(hex[2 * i]) * 16 +
		    ascii_hex(hex[2 * i + 1]));

		sbuf_add(&b->bytes, &o, 1);
	}
	m->ret_n++;
}

/* Whether row r is of m's group. */
static bool
parts_row_of(const struct db_rows *rows, int r, const struct store_msg *m)
{
	return atol(db_rows_get(rows, r, PART_REF)) == m->part.ref &&
	    atol(db_rows_get(rows, r, PART_TOTAL)) == m->part.total &&
	    strcmp(db_rows_get(rows, r, PART_SENDER), m->in.sender) == 0 &&
	    strcmp(db_rows_get(rows, r, PART_RECIPIENT), m->in.recipient) == 0;
}

/* Decide part i: keep it, or not (seen before), and what to return. */
static void
parts_decide_one(struct store_batch *b, size_t i, const struct db_rows *rows)
{
	struct store_msg *m = &b->parts[i];
	uint64_t key = parts_key(
	    b, m->in.sender, m->in.recipient, m->part.ref, m->part.total);
	size_t pos = HTAB_START;
	uintptr_t *v;
	bool seen = false;

	m->ret_first = b->nret;
	m->ret_n = 0;
	m->part_done = false;
	while ((v = htab_next(&b->part_map, key, &pos)) != NULL) {
		size_t x = *v >> 1;

		if (*v & 1) { /* an earlier part of this batch */
			const struct store_msg *o = &b->parts[x];

			seen |= o->part.seq == m->part.seq &&
			    o->part.ref == m->part.ref &&
			    o->part.total == m->part.total &&
			    strcmp(o->in.sender, m->in.sender) == 0 &&
			    strcmp(o->in.recipient, m->in.recipient) == 0;
			continue;
		}
		if (!parts_row_of(rows, (int)x, m))
			continue;
		if (atoi(db_rows_get(rows, (int)x, PART_SEQ)) == m->part.seq) {
			bool joined =
			    strcmp(db_rows_get(rows, (int)x, PART_DONE), "t") ==
			    0;

			/* a joined part with other octets: a new message
			   reusing the reference, kept over it */
			m->part_done =
			    joined && parts_same_data(rows, (int)x, m);
			seen |= !joined || m->part_done;
		} else if (m->part.want_stored &&
		    strcmp(db_rows_get(rows, (int)x, PART_DONE), "f") == 0) {
			parts_return(b, m, rows, (int)x);
		}
	}
	m->part_put = !seen;
	if (m->part_put)
		htab_put(&b->part_map, key, PART_MSG(i));
}

/* Round 2: the parts to keep. */
static void
parts_write(struct store_batch *b, struct db *db)
{
	struct sql_arr *a = b->arr;
	static const char hexd[] = "0123456789abcdef";

	for (int k = 0; k < 10; k++)
		sarr_begin(&a[k]);
	for (size_t i = 0; i < b->nparts; i++) {
		const struct store_msg *m = &b->parts[i];
		char *hex;

		if (!m->part_put)
			continue;
		hex = xmalloc(2 * m->part.len + 1);
		for (size_t k = 0; k < m->part.len; k++) {
			hex[2 * k] = hexd[m->part.data[k] >> 4];
			hex[2 * k + 1] = hexd[m->part.data[k] & 15];
		}
		hex[2 * m->part.len] = '\0';
		sarr_text(&a[0], m->in.sender);
		sarr_text(&a[1], m->in.recipient);
		sarr_i64(&a[2], m->part.ref);
		sarr_i64(&a[3], m->part.total);
		sarr_i64(&a[4], m->part.seq);
		sarr_i64(&a[5], m->part.dcs);
		sarr_text(&a[6], hex);
		sarr_bool(&a[7], m->part.dropped);
		sarr_i64(&a[8], m->in.time_us);
		if (m->acks.conn != 0)
			sarr_i64(&a[9], (int64_t)m->acks.conn);
		else
			sarr_null(&a[9]);
		free(hex);
	}
	for (int k = 0; k < 10; k++)
		b->params[k] = sarr_end(&a[k]);
	if (a[0].n > 0)
		db_send(db, ST_PART_PUT, b->params);
}

/* Round 2: the groups the batch's whole messages were joined from. */
static void
parts_write_done(struct store_batch *b, struct db *db)
{
	struct sql_arr *a = b->arr;

	for (int k = 0; k < 5; k++)
		sarr_begin(&a[k]);
	for (size_t i = 0; i < b->n; i++) {
		const struct store_msg *m = &b->msgs[i];

		if (!(m->in.flags & INTAKE_F_WHOLE) ||
		    m->status == INTAKE_TEMPFAIL)
			continue;
		sarr_text(&a[0], m->in.sender);
		sarr_text(&a[1], m->in.recipient);
		sarr_i64(&a[2], m->part.ref);
		sarr_i64(&a[3], m->part.total);
		sarr_i64(&a[4], m->original ? m->original : m->id);
	}
	for (int k = 0; k < 5; k++)
		b->params[k] = sarr_end(&a[k]);
	if (a[0].n > 0)
		db_send(db, ST_PART_DONE, b->params);
}

int
parts_decide(
    struct store_batch *b, const struct db_round_result *r, struct db *db)
{
	const struct db_rows *rows =
	    b->r1[ST_PARTS] >= 0 ? r->rows[b->r1[ST_PARTS]] : NULL;
	int nrows = rows ? db_rows_count(rows) : 0;

	if (rows != NULL && db_rows_columns(rows) != PART__NCOLS)
		return -1;
	b->nret = 0;
	sbuf_reset(&b->bytes);
	htab_clear(&b->part_map, (size_t)nrows + b->nparts);
	for (int x = 0; x < nrows; x++)
		htab_put(&b->part_map,
		    parts_key(b, db_rows_get(rows, x, PART_SENDER),
		        db_rows_get(rows, x, PART_RECIPIENT),
		        atol(db_rows_get(rows, x, PART_REF)),
		        atol(db_rows_get(rows, x, PART_TOTAL))),
		    PART_ROW(x));
	for (size_t i = 0; i < b->nparts; i++)
		parts_decide_one(b, i, rows);
	parts_write(b, db);
	parts_write_done(b, db);
	return 0;
}

void
parts_result(const struct store_batch *b, const struct store_msg *m,
    struct intake_part *buf, struct intake_result *r)
{
	memset(r, 0, sizeof(*r));
	r->status = INTAKE_APPLIED;
	r->outcome = "part";
	r->part_done = m->part_done;
	for (size_t i = 0; i < m->ret_n && i < 255; i++) {
		const struct store_ret *t = &b->ret[m->ret_first + i];

		memset(&buf[i], 0, sizeof(buf[i]));
		buf[i].ref = m->part.ref;
		buf[i].total = m->part.total;
		buf[i].seq = t->seq;
		buf[i].dcs = t->dcs;
		buf[i].dropped = t->dropped;
		buf[i].data = (const uint8_t *)b->bytes.p + t->off;
		buf[i].len = t->len;
		r->nparts++;
	}
	r->parts = r->nparts > 0 ? buf : NULL;
}

void
parts_free(struct store_batch *b)
{
	free(b->parts);
	free(b->ret);
	sbuf_free(&b->bytes);
	htab_free(&b->part_map);
}

/* ---- the sweep: parts whose message never completes --------------------- */

/*
 * A channel holding parts processes what it has concat_timeout after the
 * first one came; parts kept before a restart whose rest never comes are
 * held by nobody. The sweep takes a group once its newest waiting part is
 * older than a channel could still hold it, plus a grace for the
 * channel's own late message to commit (the same parts joined by both
 * would make two messages): the timeout again, at least 5 s.
 */
int64_t
parts_sweep_after_ms(int64_t concat_timeout_ms)
{
	return concat_timeout_ms +
	    (concat_timeout_ms > 5000 ? concat_timeout_ms : 5000);
}

enum {
	SW_SENDER,
	SW_RECIPIENT,
	SW_REF,
	SW_TOTAL,
	SW_SEQ,
	SW_DCS,
	SW_DATA,
	SW_DROPPED,
	SW_US,
	SW__NCOLS
};

/* At most this many groups a sweep: the next sweep takes the rest. */
#define SWEEP_GROUPS 64

void
parts_sweep_send(struct db *db, int64_t after_ms)
{
	char sql[1200];

	/* Whole groups only: every waiting part of a group the inner query
	   picked, in order. */
	snprintf(sql, sizeof(sql),
	    "SELECT p.sender, p.recipient, p.ref, p.total, p.seq, p.dcs,"
	    " encode(p.data, 'hex'), p.dropped, p.received_us"
	    " FROM concat_parts AS p"
	    " WHERE p.channel = 'sms' AND p.message_id IS NULL"
	    " AND (p.sender, p.recipient, p.ref, p.total) IN ("
	    "SELECT o.sender, o.recipient, o.ref, o.total FROM concat_parts AS o"
	    " WHERE o.channel = 'sms' AND o.message_id IS NULL"
	    " AND o.logged_at < now() - %lld * interval '1 millisecond'"
	    " AND NOT EXISTS (SELECT 1 FROM concat_parts AS q"
	    " WHERE q.channel = 'sms' AND q.sender = o.sender"
	    " AND q.recipient = o.recipient AND q.ref = o.ref"
	    " AND q.total = o.total AND q.message_id IS NULL"
	    " AND q.logged_at >= now() - %lld * interval '1 millisecond')"
	    " GROUP BY 1, 2, 3, 4 LIMIT %d)"
	    " ORDER BY p.sender, p.recipient, p.ref, p.total, p.seq",
	    (long long)after_ms, (long long)after_ms, SWEEP_GROUPS);
	db_send_sql(db, sql);
}

/* Whether rows a and b are parts of one group. */
static bool
sweep_same_group(const struct db_rows *rows, int a, int b)
{
	for (int k = SW_SENDER; k <= SW_TOTAL; k++)
		if (strcmp(db_rows_get(rows, a, k), db_rows_get(rows, b, k)) !=
		    0)
			return false;
	return true;
}

/*
 * Join rows [first, end) (one group, in order) as the channel joins the
 * parts it holds (smpp_concat.c): a UCS-2 part of odd length ends in
 * U+FFFD rather than shifting the parts after it. Returns the octets.
 */
static uint8_t *
sweep_join(
    const struct db_rows *rows, int first, int end, uint8_t dcs, size_t *len)
{
	bool ucs2 = text_dcs_charset(dcs, NULL) == TEXT_CS_UCS2;
	size_t cap = 1, off = 0;
	uint8_t *out;

	for (int r = first; r < end; r++)
		cap += strlen(db_rows_get(rows, r, SW_DATA)) / 2 + 2;
	out = xmalloc(cap);
	for (int r = first; r < end; r++) {
		const char *hex = db_rows_get(rows, r, SW_DATA);
		size_t n = strlen(hex) / 2;

		for (size_t i = 0; i < n; i++)
			out[off + i] = (uint8_t)(ascii_hex(hex[2 * i]) * 16 +
			    ascii_hex(hex[2 * i + 1]));
		off += n;
		if (ucs2 && n % 2 == 1) {
			out[off - 1] = 0xFF;
			out[off++] = 0xFD;
		}
	}
	*len = off;
	return out;
}

static void
sweep_done(const struct intake_result *r, void *arg)
{
	(void)arg;
	if (r->status == INTAKE_TEMPFAIL)
		log_warn(
		    "store: kept parts of a concatenated message not processed now; the next sweep tries again");
}

/* Submit rows [first, end), one group, as its whole message. */
static void
sweep_group(struct store *st, const struct config *cfg,
    const struct db_rows *rows, int first, int end)
{
	uint8_t dcs = (uint8_t)atoi(db_rows_get(rows, first, SW_DCS));
	struct intake_part whole = { 0 };
	struct inbound_msg msg = { 0 };
	size_t len, cap = (size_t)cfg->smpp.max_message_length + 1;
	uint8_t *data = sweep_join(rows, first, end, dcs, &len);
	char *text = xmalloc(cap), masked[32];
	int64_t t = 0;

	for (int r = first; r < end; r++) {
		int64_t us = atoll(db_rows_get(rows, r, SW_US));

		t = us > t ? us : t;
	}
	whole.ref = (uint16_t)atoi(db_rows_get(rows, first, SW_REF));
	whole.total = (uint8_t)atoi(db_rows_get(rows, first, SW_TOTAL));
	msg.channel = "sms";
	msg.sender = db_rows_get(rows, first, SW_SENDER);
	msg.recipient = db_rows_get(rows, first, SW_RECIPIENT);
	msg.text_len = text_decode(dcs, data, len, text, cap, &msg.text_flags);
	msg.text = text;
	/* The newest part's time: a second sweep of the same parts makes the
	   same stable id, so it is a duplicate by id, never applied twice. */
	msg.time_us = t;
	msg.dcs = dcs;
	msg.flags = INTAKE_F_WHOLE;
	msg.part = &whole;
	log_info(
	    "store: concatenated message from %s: %d of %u parts kept, the rest never came; processed as it is",
	    log_mask_phone(msg.sender, masked, sizeof(masked)), end - first,
	    whole.total);
	if (store_submit(st, &msg, sweep_done, NULL) != 0)
		log_warn(
		    "store: kept parts of a concatenated message not processed now (queue full); the next sweep tries again");
	free(text);
	free(data);
}

int
parts_sweep_rows(
    struct store *st, const struct config *cfg, const struct db_rows *rows)
{
	int n = db_rows_count(rows), groups = 0;

	if (db_rows_columns(rows) != SW__NCOLS)
		return -1;
	for (int first = 0, end; first < n; first = end) {
		for (end = first + 1;
		     end < n && sweep_same_group(rows, first, end); end++)
			;
		sweep_group(st, cfg, rows, first, end);
		groups++;
	}
	return groups;
}
