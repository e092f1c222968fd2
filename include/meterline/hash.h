/*
 * The one hash function and the one hash table of every module.
 *
 * The table maps 64-bit keys (hashes) to word-sized values (an index or a
 * pointer) with open addressing and linear probing; a key may hold several
 * values, so callers that hash strings compare the real key on each value
 * they get back. Removal shifts later entries back (no tombstones), so a
 * table under constant insert/remove churn never degrades. The load stays
 * at most one half.
 *
 * Keys that an attacker chooses (message ids, senders) are hashed with a
 * per-table random seed (hash_seed), so collisions cannot be planned.
 */
#ifndef METERLINE_HASH_H
#define METERLINE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FNV-1a over len bytes from seed, then a 64-bit finaliser. */
uint64_t hash_bytes(uint64_t seed, const void *data, size_t len);

/* The strings and their terminating NULs: ("ab","c") != ("a","bc"). */
uint64_t hash_strs(uint64_t seed, const char *const *strs, size_t n);

/* A well-mixed hash of an integer key. */
uint64_t hash_u64(uint64_t x);

/* A seed that differs between processes and tables. */
uint64_t hash_seed(void);

struct htab {
	uint64_t *keys; /* 0 = empty; key 0 is stored as 1 */
	uintptr_t *vals;
	size_t cap; /* a power of two, or 0 before the first put */
	size_t n;
};

#define HTAB_START SIZE_MAX /* *pos before the first htab_next */

/* Empty the table, keeping room for expected entries without growing. */
void htab_clear(struct htab *, size_t expected);
void htab_free(struct htab *);

/* Add val under key (a key may hold several values). */
void htab_put(struct htab *, uint64_t key, uintptr_t val);

/*
 * The next value under key: start with *pos = HTAB_START. Returns a pointer
 * to the value (it may be changed in place), or NULL after the last one.
 * The table must not change during the walk.
 */
uintptr_t *htab_next(const struct htab *, uint64_t key, size_t *pos);

/* Remove the entry (key, val); returns whether it was there. */
bool htab_del(struct htab *, uint64_t key, uintptr_t val);

#endif
