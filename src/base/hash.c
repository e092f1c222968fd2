/* FNV-1a with a finaliser, and an open-addressing multimap of hashes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meterline/hash.h"
#include "meterline/xmalloc.h"

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

uint64_t
hash_u64(uint64_t x)
{
	/* splitmix64's finaliser: every input bit reaches every output bit. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
fnv(uint64_t h, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

uint64_t
hash_bytes(uint64_t seed, const void *data, size_t len)
{
	return hash_u64(fnv(FNV_OFFSET ^ seed, data, len));
}

uint64_t
hash_strs(uint64_t seed, const char *const *strs, size_t n)
{
	uint64_t h = FNV_OFFSET ^ seed;

	for (size_t i = 0; i < n; i++)
		h = fnv(h, (const unsigned char *)strs[i], strlen(strs[i]) + 1);
	return hash_u64(h);
}

uint64_t
hash_seed(void)
{
	static uint64_t counter;
	struct timespec ts;

	/* Not cryptographic: enough that an outsider cannot guess it. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return hash_u64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
	    ((uint64_t)getpid() << 40) ^ ++counter);
}

static size_t
htab_home(const struct htab *t, uint64_t key)
{
	return (size_t)key & (t->cap - 1);
}

static void
htab_insert(struct htab *t, uint64_t key, uintptr_t val)
{
	size_t i = htab_home(t, key);

	while (t->keys[i] != 0)
		i = (i + 1) & (t->cap - 1);
	t->keys[i] = key;
	t->vals[i] = val;
	t->n++;
}

static void
htab_resize(struct htab *t, size_t cap)
{
	struct htab old = *t;

	t->keys = xcalloc(cap, sizeof(*t->keys));
	t->vals = xmalloc(cap * sizeof(*t->vals));
	t->cap = cap;
	t->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i] != 0)
			htab_insert(t, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

void
htab_clear(struct htab *t, size_t expected)
{
	size_t cap = 16;

	while (cap < expected * 2)
		cap *= 2;
	if (cap > t->cap) {
		free(t->keys);
		free(t->vals);
		t->keys = xmalloc(cap * sizeof(*t->keys));
		t->vals = xmalloc(cap * sizeof(*t->vals));
		t->cap = cap;
	}
	memset(t->keys, 0, t->cap * sizeof(*t->keys));
	t->n = 0;
}

void
htab_free(struct htab *t)
{
	free(t->keys);
	free(t->vals);
	memset(t, 0, sizeof(*t));
}

void
htab_put(struct htab *t, uint64_t key, uintptr_t val)
{
	if ((t->n + 1) * 2 > t->cap)
		htab_resize(t, t->cap ? t->cap * 2 : 16);
	htab_insert(t, key ? key : 1, val);
}

uintptr_t *
htab_next(const struct htab *t, uint64_t key, size_t *pos)
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	key = key ? key : 1;
	i = *pos == HTAB_START ? htab_home(t, key) : (*pos + 1) & (t->cap - 1);
	for (; t->keys[i] != 0; i = (i + 1) & (t->cap - 1)) {
		if (t->keys[i] == key) {
			*pos = i;
			return &t->vals[i];
		}
	}
	return NULL;
}

/* Empty slot i, moving back later entries of its run that may (no
   entry may sit before its home position in the probe order). */
static void
htab_shift_back(struct htab *t, size_t i)
{
	size_t mask = t->cap - 1;

	t->keys[i] = 0;
	for (size_t j = (i + 1) & mask; t->keys[j] != 0; j = (j + 1) & mask) {
		size_t home = htab_home(t, t->keys[j]);

		/* j stays unless its home lies cyclically in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->keys[i] = t->keys[j];
			t->vals[i] = t->vals[j];
			t->keys[j] = 0;
			i = j;
		}
	}
}

bool
htab_del(struct htab *t, uint64_t key, uintptr_t val)
{
	size_t pos = HTAB_START;
	uintptr_t *v;

	while ((v = htab_next(t, key, &pos)) != NULL) {
		if (*v == val) {
			htab_shift_back(t, pos);
			t->n--;
			return true;
		}
	}
	return false;
}
