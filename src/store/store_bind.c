/*
 * Bound senders in the batch (issue 17, docs/store.md "Bindings"): the
 * contracts each sender's phone is bound to and its reminder opt-out,
 * read in round 1 with the dialogs (ST_BINDINGS, no extra round trip);
 * the decisions' binds (a challenge passed), unbinds and reminder
 * switches applied to the batch's copy at once, so a later message of
 * the same sender sees them, and written in round 2 (ST_BIND_SET).
 */
#include <stdlib.h>
#include <string.h>

#include "meterline/xmalloc.h"
#include "store_int.h"

void
bind_load(struct store_batch *b, const struct db_rows *rows)
{
	for (int r = 0; rows != NULL && r < db_rows_count(rows); r++) {
		const char *channel = db_rows_get(rows, r, BIND_CHANNEL);
		const char *sender = db_rows_get(rows, r, BIND_SENDER);
		const char *contract = db_rows_get(rows, r, BIND_CONTRACT);
		const char *off = db_rows_get(rows, r, BIND_REMIND_OFF);
		struct store_sender *s = batch_sender_find(
		    b, channel, sender, store_sender_key(channel, sender));
		struct model_bindings *bd;

		if (s == NULL)
			continue;
		bd = &s->bind;
		bd->remind_off = off != NULL && strcmp(off, "t") == 0;
		if (contract == NULL)
			continue; /* an opt-out without bindings */
		if (bd->n == MODEL_BINDINGS_MAX) {
			bd->more = true; /* ordered: the first ones are kept */
			continue;
		}
		strlcpy_s(
		    bd->contract[bd->n++], contract, sizeof(bd->contract[0]));
	}
}

/* Drop contract from the sender's bindings (the batch's copy). */
static void
bind_drop(struct model_bindings *bd, const char *contract)
{
	for (unsigned i = 0; i < bd->n; i++) {
		if (strcmp(bd->contract[i], contract) != 0)
			continue;
		memmove(bd->contract[i], bd->contract[i + 1],
		    (bd->n - i - 1) * sizeof(bd->contract[0]));
		bd->n--;
		return;
	}
}

/* Add contract to the sender's bindings (the batch's copy). */
static void
bind_add(struct model_bindings *bd, const char *contract)
{
	if (model_bindings_has(bd, contract))
		return;
	if (bd->n == MODEL_BINDINGS_MAX) {
		bd->more = true;
		return;
	}
	strlcpy_s(bd->contract[bd->n++], contract, sizeof(bd->contract[0]));
}

void
bind_apply(struct store_batch *b, size_t i)
{
	struct store_msg *m = &b->msgs[i];
	struct store_sender *s = &b->senders[m->sender];
	const struct dialog_decision *d = &b->dec;

	chal_apply(b, i);
	switch (d->action) {
	case DIALOG_ACT_BIND:
		bind_add(&s->bind, d->action_contract);
		strlcpy_s(m->contract, d->action_contract, sizeof(m->contract));
		m->bind = true; /* round 2 inserts the row */
		break;
	case DIALOG_ACT_UNBIND:
		bind_drop(&s->bind, d->action_contract);
		/* the log names the contract unbound; round 2 deletes the row */
		strlcpy_s(m->contract, d->action_contract, sizeof(m->contract));
		m->unbind = true;
		break;
	case DIALOG_ACT_REMIND_OFF:
	case DIALOG_ACT_REMIND_ON:
		s->bind.remind_off = d->action == DIALOG_ACT_REMIND_OFF;
		s->remind =
		    d->action; /* the last one of the batch is written */
		break;
	default: break;
	}
}

/*
 * Whether a later message of the batch binds or unbinds the same
 * contract for the same sender: the last one wins (one statement cannot
 * insert and delete one row in order).
 */
static bool
bind_superseded(const struct store_batch *b, size_t i)
{
	const struct store_msg *m = &b->msgs[i];

	for (size_t j = i + 1; j < b->n; j++) {
		const struct store_msg *o = &b->msgs[j];

		if (o->sender == m->sender && (o->bind || o->unbind) &&
		    o->status != INTAKE_TEMPFAIL && o->dup == STORE_DUP_NONE &&
		    strcmp(o->contract, m->contract) == 0)
			return true;
	}
	return false;
}

/* One row of ST_BIND_SET. */
static void
bind_row(struct store_batch *b, const struct store_msg *m, const char *action,
    const char *contract)
{
	sarr_text(&b->arr[0], m->in.channel);
	sarr_text(&b->arr[1], m->in.sender);
	sarr_text(&b->arr[2], action);
	if (contract != NULL)
		sarr_text(&b->arr[3], contract);
	else
		sarr_null(&b->arr[3]);
}

void
bind_write(struct store_batch *b, struct db *db)
{
	for (int k = 0; k < 4; k++)
		sarr_begin(&b->arr[k]);
	for (size_t i = 0; i < b->n; i++) {
		const struct store_msg *m = &b->msgs[i];

		if (m->status == INTAKE_TEMPFAIL || m->dup != STORE_DUP_NONE ||
		    !(m->bind || m->unbind) || bind_superseded(b, i))
			continue;
		bind_row(b, m, m->bind ? "bind" : "unbind", m->contract);
	}
	for (size_t i = 0; i < b->nsenders; i++) {
		const struct store_sender *s = &b->senders[i];

		if (s->remind == DIALOG_ACT_REMIND_OFF)
			bind_row(b, &b->msgs[s->msg], "remind_off", NULL);
		else if (s->remind == DIALOG_ACT_REMIND_ON)
			bind_row(b, &b->msgs[s->msg], "remind_on", NULL);
	}
	for (int k = 0; k < 4; k++)
		b->params[k] = sarr_end(&b->arr[k]);
	if (b->arr[0].n > 0)
		db_send(db, ST_BIND_SET, b->params);
}
