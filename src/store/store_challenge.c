/*
 * Challenges in the batch ([verify] mode = challenge, issue 17,
 * docs/store.md "Challenges"): each sender's rows of table challenges
 * (attempts, lockout, the open question), read in round 1 with the
 * dialogs by the same sender arrays (ST_CHALLENGES, only in that mode),
 * handed to the engine for the contract it decides on, changed in the
 * batch's copy as each message is decided (a later message of the sender
 * sees its earlier answer), and written in round 2 (ST_CHAL_SET): the
 * final row per (sender, contract), upserted or deleted.
 */
#include <stdlib.h>
#include <string.h>

#include "meterline/xmalloc.h"
#include "store_int.h"

static uint64_t
chal_key(const struct store_batch *b, int sender, const char *contract)
{
	const struct store_msg *m = &b->msgs[b->senders[sender].msg];
	const char *k[3] = { m->in.channel, m->in.sender, contract };

	return hash_strs(b->seed, k, 3);
}

static struct store_chal *
chal_lookup(struct store_batch *b, int sender, const char *contract)
{
	size_t pos = HTAB_START;
	uintptr_t *v;

	if (contract == NULL)
		return NULL;
	while ((v = htab_next(&b->chal_map, chal_key(b, sender, contract),
	            &pos)) != NULL) {
		struct store_chal *c = &b->chals[*v];

		if (c->sender == sender &&
		    strcmp(c->ch.contract, contract) == 0)
			return c;
	}
	return NULL;
}

static struct store_chal *
chal_add(struct store_batch *b, int sender, const char *contract)
{
	struct store_chal *c;

	if (b->nchals == b->chals_cap) {
		b->chals_cap = b->chals_cap ? b->chals_cap * 2 : 16;
		b->chals = xrealloc(b->chals, b->chals_cap * sizeof(*b->chals));
	}
	c = &b->chals[b->nchals];
	memset(c, 0, sizeof(*c));
	c->sender = sender;
	strlcpy_s(c->ch.contract, contract, sizeof(c->ch.contract));
	htab_put(&b->chal_map, chal_key(b, sender, contract), b->nchals++);
	return c;
}

void
chal_send_load(struct store_batch *b, struct db *db)
{
	if (!b->challenge)
		return;
	b->r1[ST_CHALLENGES] = (int)b->r1_count++;
	db_send(db, ST_CHALLENGES, b->params);
}

/* A bigint column, 0 for NULL. */
static int64_t
chal_us(const struct db_rows *rows, int r, int col)
{
	const char *v = db_rows_get(rows, r, col);

	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

void
chal_load(struct store_batch *b, const struct db_rows *rows)
{
	b->nchals = 0;
	htab_clear(
	    &b->chal_map, rows != NULL ? (size_t)db_rows_count(rows) : 0);
	for (int r = 0; rows != NULL && r < db_rows_count(rows); r++) {
		const char *channel = db_rows_get(rows, r, CHAL_CHANNEL);
		const char *sender = db_rows_get(rows, r, CHAL_SENDER);
		const char *contract = db_rows_get(rows, r, CHAL_CONTRACT);
		const char *held = db_rows_get(rows, r, CHAL_HELD);
		struct store_sender *s = batch_sender_find(
		    b, channel, sender, store_sender_key(channel, sender));
		struct store_chal *c;

		if (s == NULL)
			continue;
		s->no_phone =
		    strcmp(db_rows_get(rows, r, CHAL_PHONE), "f") == 0;
		if (contract == NULL)
			continue; /* a chat without a phone, no rows */
		c = chal_add(b, (int)(s - b->senders), contract);
		c->ch.attempts =
		    (uint8_t)atoi(db_rows_get(rows, r, CHAL_ATTEMPTS));
		c->ch.locked_until_us = chal_us(rows, r, CHAL_LOCKED_US);
		c->ch.asked_us = chal_us(rows, r, CHAL_ASKED_US);
		c->ch.held = held != NULL && strcmp(held, "info") == 0
		    ? DIALOG_HELD_INFO
		    : DIALOG_HELD_READING;
	}
}

const struct dialog_challenge *
chal_find(struct store_batch *b, int sender, const char *contract)
{
	struct store_chal *c = chal_lookup(b, sender, contract);

	return c != NULL && !c->gone ? &c->ch : NULL;
}

void
chal_apply(struct store_batch *b, size_t i)
{
	const struct store_msg *m = &b->msgs[i];
	const struct dialog_decision *d = &b->dec;
	struct store_chal *c;

	if (d->challenge_op == DIALOG_CH_NONE)
		return;
	c = chal_lookup(b, m->sender, d->challenge.contract);
	if (c == NULL) {
		if (d->challenge_op == DIALOG_CH_DELETE)
			return; /* never stored */
		c = chal_add(b, m->sender, d->challenge.contract);
	}
	c->ch = d->challenge;
	c->gone = d->challenge_op == DIALOG_CH_DELETE;
	c->dirty = true;
}

void
chal_write(struct store_batch *b, struct db *db)
{
	struct sql_arr *a = b->arr;

	for (int k = 0; k < 8; k++)
		sarr_begin(&a[k]);
	for (size_t i = 0; i < b->nchals; i++) {
		const struct store_chal *c = &b->chals[i];
		const struct store_msg *m = &b->msgs[b->senders[c->sender].msg];

		if (!c->dirty)
			continue;
		sarr_text(&a[0], m->in.channel);
		sarr_text(&a[1], m->in.sender);
		sarr_text(&a[2], c->ch.contract);
		sarr_i64(&a[3], c->ch.attempts);
		if (c->ch.locked_until_us != 0)
			sarr_i64(&a[4], c->ch.locked_until_us);
		else
			sarr_null(&a[4]);
		if (c->ch.asked_us != 0)
			sarr_i64(&a[5], c->ch.asked_us);
		else
			sarr_null(&a[5]);
		sarr_text(
		    &a[6], c->ch.held == DIALOG_HELD_INFO ? "info" : "reading");
		sarr_bool(&a[7], c->gone);
	}
	for (int k = 0; k < 8; k++)
		b->params[k] = sarr_end(&a[k]);
	if (a[0].n > 0)
		db_send(db, ST_CHAL_SET, b->params);
}

void
chal_free(struct store_batch *b)
{
	free(b->chals);
	htab_free(&b->chal_map);
}
