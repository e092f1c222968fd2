/* Reassembly of concatenated short messages: see smpp_concat.h. */
#include <stdlib.h>
#include <string.h>

#include "meterline/hash.h"
#include "meterline/smpp_codec.h"
#include "meterline/smpp_concat.h"
#include "meterline/text.h"
#include "meterline/xmalloc.h"

/* One message being reassembled. */
struct grp {
	uint64_t key; /* grp_key(): its entry in by_key */
	struct grp *prev, *next; /* age list, oldest first */
	char src[66], dst[66];
	uint16_t ref;
	uint8_t total, got, dcs;
	int64_t deadline;
	bool evicted; /* pushed out by the bounds: expire now */
	bool truncated; /* a part was dropped: over max_group_bytes */
	size_t bytes; /* octets held */
	size_t out_bytes; /* octets the message will hold: grp_out_len() */
	uint8_t **part; /* [total], NULL until that part arrives */
	uint16_t *plen;
	uint64_t *tokens;
	size_t ntok, captok;
};

struct smpp_reasm {
	struct htab by_key; /* key -> struct grp * */
	uint64_t seed; /* senders choose src: keep collisions unplanned */
	struct grp *oldest, *newest;
	size_t ngroups, bytes; /* everything held */
	size_t live_groups, live_bytes; /* not marked to expire */
	size_t nevicted; /* marked, still held */
	unsigned max_groups;
	size_t max_bytes;
	size_t max_group_bytes; /* 0: only max_bytes */
	int64_t timeout_us;
	struct smpp_reasm_counts counts;
};

struct smpp_reasm *
smpp_reasm_new(unsigned max_groups, size_t max_bytes, int64_t timeout_us)
{
	struct smpp_reasm *r = xcalloc(1, sizeof(*r));

	r->max_groups = max_groups ? max_groups : 1;
	r->max_bytes = max_bytes;
	r->timeout_us = timeout_us;
	r->seed = hash_seed();
	return r;
}

static uint64_t
grp_key(const struct smpp_reasm *r, const char *src, const char *dst,
    uint16_t ref, uint8_t total)
{
	const char *addrs[] = { src, dst };

	return hash_strs(r->seed, addrs, 2) ^
	    hash_u64((uint64_t)ref << 8 | total);
}

static struct grp *
grp_find(struct smpp_reasm *r, uint64_t key, const char *src, const char *dst,
    uint16_t ref, uint8_t total)
{
	size_t pos = HTAB_START;
	uintptr_t *v;

	while ((v = htab_next(&r->by_key, key, &pos)) != NULL) {
		struct grp *g = (struct grp *)*v;

		if (g->ref == ref && g->total == total &&
		    strcmp(g->src, src) == 0 && strcmp(g->dst, dst) == 0)
			return g;
	}
	return NULL;
}

/* Unlink g from the hash and the age list; the caller owns it. */
static void
grp_unlink(struct smpp_reasm *r, struct grp *g)
{
	htab_del(&r->by_key, g->key, (uintptr_t)g);
	if (g->prev)
		g->prev->next = g->next;
	else
		r->oldest = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		r->newest = g->prev;
	r->ngroups--;
	r->bytes -= g->bytes;
	if (g->evicted) {
		r->nevicted--;
	} else {
		r->live_groups--;
		r->live_bytes -= g->bytes;
	}
}

static void
grp_free(struct grp *g)
{
	for (unsigned i = 0; i < g->total; i++)
		free(g->part[i]);
	free(g->part);
	free(g->plen);
	free(g->tokens);
	free(g);
}

static void
grp_token(struct grp *g, uint64_t token)
{
	if (g->ntok == g->captok) {
		g->captok = g->captok ? 2 * g->captok : 4;
		g->tokens = xrealloc(g->tokens, g->captok * sizeof(*g->tokens));
	}
	g->tokens[g->ntok++] = token;
}

/* Turn a group into a message (the group is freed). */
static struct smpp_reasm_msg *
grp_emit(struct smpp_reasm *r, struct grp *g)
{
	struct smpp_reasm_msg *m = xcalloc(1, sizeof(*m));
	int ucs2 = text_dcs_charset(g->dcs, NULL) == TEXT_CS_UCS2;
	size_t off = 0;

	grp_unlink(r, g);
	memcpy(m->src, g->src, sizeof(m->src));
	memcpy(m->dst, g->dst, sizeof(m->dst));
	m->ref = g->ref;
	m->dcs = g->dcs;
	m->total = g->total;
	m->got = g->got;
	m->complete = g->got == g->total;
	m->evicted = g->evicted;
	m->truncated = g->truncated;
	m->data = xmalloc(g->bytes + g->total + 1);
	for (unsigned i = 0; i < g->total; i++) {
		size_t n = g->plen[i];

		if (g->part[i] == NULL)
			continue;
		/*
		 * A UCS-2 part with an odd octet count would shift every part
		 * after it by one octet: its dangling octet becomes U+FFFD.
		 */
		if (ucs2 && n % 2 == 1) {
			memcpy(m->data + off, g->part[i], n - 1);
			off += n - 1;
			m->data[off++] = 0xFF;
			m->data[off++] = 0xFD;
			m->odd_parts++;
			continue;
		}
		memcpy(m->data + off, g->part[i], n);
		off += n;
	}
	m->data[off] = 0;
	m->len = off;
	m->tokens = g->tokens;
	m->ntokens = g->ntok;
	g->tokens = NULL;
	grp_free(g);
	return m;
}

/*
 * Make room for incoming octets (and for a new group when new_group): the
 * oldest groups other than keep are marked to expire now (evicted) until
 * the live ones fit the bounds. Run before every part is stored, so the
 * bytes held never pass max_bytes by more than the part being added.
 * Their memory goes at the next smpp_reasm_expire, which the caller runs
 * after every add.
 */
static void
reasm_bound(struct smpp_reasm *r, const struct grp *keep, size_t incoming,
    bool new_group)
{
	for (struct grp *g = r->oldest; g != NULL; g = g->next) {
		if (r->live_groups + new_group <= r->max_groups &&
		    r->live_bytes + incoming <= r->max_bytes)
			break;
		if (g->evicted || g == keep)
			continue;
		g->evicted = true;
		r->live_groups--;
		r->live_bytes -= g->bytes;
		r->nevicted++;
		r->counts.groups_evicted++;
	}
}

static struct grp *
grp_new(struct smpp_reasm *r, uint64_t key, const char *src, const char *dst,
    const struct smpp_concat *c, uint8_t dcs, int64_t now_us)
{
	struct grp *g = xcalloc(1, sizeof(*g));

	strlcpy_s(g->src, src, sizeof(g->src));
	strlcpy_s(g->dst, dst, sizeof(g->dst));
	g->ref = c->ref;
	g->total = c->total;
	g->dcs = dcs;
	g->deadline = now_us + r->timeout_us;
	g->part = xcalloc(c->total, sizeof(*g->part));
	g->plen = xcalloc(c->total, sizeof(*g->plen));
	g->key = key;
	htab_put(&r->by_key, key, (uintptr_t)g);
	g->prev = r->newest;
	if (r->newest)
		r->newest->next = g;
	else
		r->oldest = g;
	r->newest = g;
	r->ngroups++;
	r->live_groups++;
	return g;
}

/*
 * The octets a part of len adds to g's message: grp_emit() turns the
 * dangling octet of an odd UCS-2 part into two (U+FFFD).
 */
static size_t
grp_out_len(const struct grp *g, size_t len)
{
	if (len % 2 == 1 && text_dcs_charset(g->dcs, NULL) == TEXT_CS_UCS2)
		return len + 1;
	return len;
}

/* Keep one part's octets in g (bounds already made room). */
static void
grp_store(struct smpp_reasm *r, struct grp *g, unsigned i, const uint8_t *data,
    size_t len)
{
	g->part[i] = xmalloc(len ? len : 1);
	memcpy(g->part[i], data, len);
	g->plen[i] = (uint16_t)len;
	g->bytes += len;
	g->out_bytes += grp_out_len(g, len);
	r->bytes += len;
	if (!g->evicted)
		r->live_bytes += len;
}

/* 1 when a part of len octets would take g's message past the bound. */
static int
grp_over(const struct smpp_reasm *r, const struct grp *g, size_t len)
{
	return r->max_group_bytes > 0 &&
	    g->out_bytes + grp_out_len(g, len) > r->max_group_bytes;
}

enum smpp_reasm_rc
smpp_reasm_add(struct smpp_reasm *r, const char *src, const char *dst,
    const struct smpp_concat *c, uint8_t dcs, const uint8_t *data, size_t len,
    uint64_t token, int64_t now_us, struct smpp_reasm_msg **out)
{
	uint64_t key = grp_key(r, src, dst, c->ref, c->total);
	struct grp *g = grp_find(r, key, src, dst, c->ref, c->total);
	unsigned i = (unsigned)c->seq - 1;
	enum smpp_reasm_rc rc = SMPP_REASM_HELD;

	*out = NULL;
	if (g == NULL) {
		reasm_bound(r, NULL, len, true);
		g = grp_new(r, key, src, dst, c, dcs, now_us);
	}
	grp_token(g, token);
	if (g->part[i] != NULL)
		return SMPP_REASM_DUPLICATE;
	if (grp_over(r, g, len)) {
		/* Counted as arrived (the message still completes), text lost. */
		g->truncated = true;
		r->counts.parts_dropped++;
		rc = SMPP_REASM_DROPPED;
		len = 0;
	} else {
		reasm_bound(r, g, len, false);
	}
	grp_store(r, g, i, data, len);
	g->got++;
	if (g->got < g->total)
		return rc;
	*out = grp_emit(r, g);
	return SMPP_REASM_COMPLETE;
}

bool
smpp_reasm_has(struct smpp_reasm *r, const char *src, const char *dst,
    const struct smpp_concat *c)
{
	return grp_find(r, grp_key(r, src, dst, c->ref, c->total), src, dst,
	           c->ref, c->total) != NULL;
}

void
smpp_reasm_forget(struct smpp_reasm *r, const char *src, const char *dst,
    const struct smpp_concat *c)
{
	struct grp *g = grp_find(r, grp_key(r, src, dst, c->ref, c->total), src,
	    dst, c->ref, c->total);

	if (g == NULL || g->got != 1 || g->part[c->seq - 1] == NULL)
		return;
	grp_unlink(r, g);
	grp_free(g);
}

struct smpp_reasm_msg *
smpp_reasm_expire(struct smpp_reasm *r, int64_t now_us)
{
	/* Age order is deadline order, except for groups marked by the bounds. */
	for (struct grp *g = r->oldest; g != NULL; g = g->next) {
		if (g->evicted || g->deadline <= now_us)
			return grp_emit(r, g);
		if (r->nevicted == 0)
			break;
	}
	return NULL;
}

struct smpp_reasm_msg *
smpp_reasm_pop(struct smpp_reasm *r)
{
	return r->oldest ? grp_emit(r, r->oldest) : NULL;
}

int64_t
smpp_reasm_next_deadline(const struct smpp_reasm *r)
{
	if (r->oldest == NULL)
		return -1;
	if (r->nevicted > 0)
		return 0;
	return r->oldest->deadline;
}

size_t
smpp_reasm_groups(const struct smpp_reasm *r)
{
	return r->ngroups;
}

size_t
smpp_reasm_bytes(const struct smpp_reasm *r)
{
	return r->bytes;
}

void
smpp_reasm_set_group_max(struct smpp_reasm *r, size_t bytes)
{
	r->max_group_bytes = bytes;
}

const struct smpp_reasm_counts *
smpp_reasm_counts(const struct smpp_reasm *r)
{
	return &r->counts;
}

void
smpp_reasm_msg_free(struct smpp_reasm_msg *m)
{
	if (m == NULL)
		return;
	free(m->data);
	free(m->tokens);
	free(m);
}

void
smpp_reasm_free(struct smpp_reasm *r)
{
	struct grp *g, *next;

	if (r == NULL)
		return;
	for (g = r->oldest; g != NULL; g = next) {
		next = g->next;
		grp_free(g);
	}
	htab_free(&r->by_key);
	free(r);
}
