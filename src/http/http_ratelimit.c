/*
 * Per-sender rate limiting for the HTTP intake: one token bucket per key in
 * a fixed-size open-addressing table. Keys are stored as 64-bit hashes with
 * a random seed, so neither the table nor the probe sequence can be steered
 * by a client, and the memory is allocated once.
 *
 * It is a cache, not base's hash table (which grows with its keys): when
 * every slot a key may use is taken, the least recently refilled bucket is
 * forgotten, so a flood of new senders costs no memory.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "meterline/hash.h"
#include "meterline/http_intake.h"
#include "meterline/xmalloc.h"

#define RL_PROBE 8 /* slots looked at per key */
#define RL_UNIT 60000000LL /* one token, in units: exact arithmetic */

/*
 * Token counts are kept in units of 1/60,000,000 token: a bucket refills
 * per_minute units per microsecond, so everything stays in integers.
 */
struct rl_slot {
	uint64_t key; /* 0 = empty */
	int64_t last_us; /* when units was last brought up to date */
	int64_t units;
};

struct http_ratelimit {
	struct rl_slot *slots;
	size_t mask;
	int64_t per_minute; /* units added per microsecond */
	int64_t cap; /* burst, in units */
	uint64_t seed;
};

/* Never 0: a slot's key 0 means empty. */
static uint64_t
rl_hash(uint64_t seed, const void *data, size_t len)
{
	uint64_t h = hash_bytes(seed, data, len);

	return h ? h : 1;
}

struct http_ratelimit *
http_ratelimit_new(size_t slots, int per_minute, int burst)
{
	struct http_ratelimit *rl;
	size_t n = RL_PROBE;

	if (per_minute <= 0)
		return NULL;
	while (n < slots && n < ((size_t)1 << 30))
		n <<= 1;
	rl = xcalloc(1, sizeof(*rl));
	rl->slots = xcalloc(n, sizeof(*rl->slots));
	rl->mask = n - 1;
	rl->per_minute = per_minute;
	rl->cap = (int64_t)(burst > 0 ? burst : per_minute) * RL_UNIT;
	if (RAND_bytes((unsigned char *)&rl->seed, sizeof(rl->seed)) != 1)
		rl->seed = hash_seed();
	return rl;
}

void
http_ratelimit_free(struct http_ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->slots);
	free(rl);
}

/* Units in a slot at now_us, refilled but not stored. */
static int64_t
rl_units(
    const struct http_ratelimit *rl, const struct rl_slot *s, int64_t now_us)
{
	int64_t dt = now_us - s->last_us;

	if (dt <= 0)
		return s->units;
	if (dt >= rl->cap / rl->per_minute + 1) /* no overflow: full */
		return rl->cap;
	return s->units + dt * rl->per_minute < rl->cap
	    ? s->units + dt * rl->per_minute
	    : rl->cap;
}

/*
 * The slot of key h: its own if present, else a free or forgettable one
 * (an empty slot or a bucket that has refilled completely is the same as
 * no entry), else the least recently used one of the probe window. With
 * create false, NULL when the key is absent.
 */
static struct rl_slot *
rl_lookup(struct http_ratelimit *rl, uint64_t h, int64_t now_us, bool create)
{
	struct rl_slot *free_slot = NULL, *lru = NULL;

	for (size_t i = 0; i < RL_PROBE; i++) {
		struct rl_slot *s = &rl->slots[(h + i) & rl->mask];

		if (s->key == h)
			return s;
		if (free_slot == NULL &&
		    (s->key == 0 || rl_units(rl, s, now_us) >= rl->cap))
			free_slot = s;
		if (lru == NULL || s->last_us < lru->last_us)
			lru = s;
	}
	if (!create)
		return NULL;
	if (free_slot == NULL)
		free_slot = lru;
	free_slot->key = h;
	free_slot->last_us = now_us;
	free_slot->units = rl->cap;
	return free_slot;
}

/* Bring a slot up to date at now_us. */
static void
rl_refill(const struct http_ratelimit *rl, struct rl_slot *s, int64_t now_us)
{
	s->units = rl_units(rl, s, now_us);
	if (now_us > s->last_us)
		s->last_us = now_us;
}

int
http_ratelimit_take(
    struct http_ratelimit *rl, const void *key, size_t len, int64_t now_us)
{
	struct rl_slot *s;
	int64_t wait_us;

	if (rl == NULL)
		return 0;
	s = rl_lookup(rl, rl_hash(rl->seed, key, len), now_us, true);
	rl_refill(rl, s, now_us);
	if (s->units >= RL_UNIT) {
		s->units -= RL_UNIT;
		return 0;
	}
	wait_us = (RL_UNIT - s->units + rl->per_minute - 1) / rl->per_minute;
	return (int)((wait_us + 999999) / 1000000);
}

void
http_ratelimit_refund(
    struct http_ratelimit *rl, const void *key, size_t len, int64_t now_us)
{
	struct rl_slot *s;

	if (rl == NULL)
		return;
	s = rl_lookup(rl, rl_hash(rl->seed, key, len), now_us, false);
	if (s == NULL)
		return;
	rl_refill(rl, s, now_us);
	s->units = s->units + RL_UNIT < rl->cap ? s->units + RL_UNIT : rl->cap;
}

size_t
http_ratelimit_used(const struct http_ratelimit *rl)
{
	size_t n = 0;

	if (rl == NULL)
		return 0;
	for (size_t i = 0; i <= rl->mask; i++)
		n += rl->slots[i].key != 0;
	return n;
}
