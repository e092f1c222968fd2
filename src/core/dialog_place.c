/*
 * Which value of a message goes to which register: by label ("день 12000",
 * "Т2 6200", in any order) or, without one, to the next register in order.
 * docs/dialog.md, "Labels".
 */
#include <string.h>

#include "dialog_int.h"

/*
 * The next character of a UTF-8 string folded to lower case: ASCII A-Z
 * and the Russian alphabet (А-Я, Ё). Other characters compare as they
 * are. Advances *s.
 */
static uint32_t
place_fold_next(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	uint32_t cp;

	if (p[0] < 0x80) {
		*s += 1;
		return p[0] >= 'A' && p[0] <= 'Z' ? p[0] + 32u : p[0];
	}
	if ((p[0] & 0xe0) != 0xc0 || (p[1] & 0xc0) != 0x80) {
		*s += 1; /* longer sequences and junk: byte by byte */
		return 0x100u | p[0];
	}
	*s += 2;
	cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	if (cp >= 0x410 && cp <= 0x42f)
		return cp + 0x20; /* А-Я */
	return cp == 0x401 ? 0x451 : cp; /* Ё */
}

/* Whether a and b are equal without case. */
static bool
place_fold_eq(const char *a, const char *b)
{
	while (*a != '\0' && *b != '\0') {
		if (place_fold_next(&a) != place_fold_next(&b))
			return false;
	}
	return *a == '\0' && *b == '\0';
}

static uint32_t
place_first(const char *s)
{
	return place_fold_next(&s);
}

/* "т1".."т6" (also "t1", the grammar maps it): register n, or -1. */
static int
place_tariff(const struct model_contract *c, const char *label)
{
	static const char t[] = "т"; /* U+0442 */

	if (strncmp(label, t, 2) != 0 || label[2] < '1' || label[2] > '6' ||
	    label[3] != '\0')
		return -1;
	return label[2] - '1' < c->nregisters ? label[2] - '1' : -1;
}

/* д/н for день/ночь: the one register whose name starts the same way. */
static int
place_initial(const struct model_contract *c, const char *label)
{
	uint32_t first = place_first(label);
	int found = -1;

	if (first != 0x434 && first != 0x43d) /* д, н */
		return -1;
	for (unsigned i = 0; i < c->nregisters; i++) {
		if (place_first(c->registers[i].name) != first)
			continue;
		if (found >= 0)
			return -1; /* not unique */
		found = (int)i;
	}
	return found;
}

int
dlg_label_register(const struct model_contract *c, const char *label)
{
	int r;

	for (unsigned i = 0; i < c->nregisters; i++) {
		if (place_fold_eq(label, c->registers[i].name))
			return (int)i;
	}
	if ((r = place_tariff(c, label)) >= 0)
		return r;
	return place_initial(c, label);
}

/* The register value i goes to, or a status saying why none. */
static enum dlg_place_status
place_one(const struct model_contract *c, const char *label, const bool *mine,
    unsigned *cursor, int *reg)
{
	if (label != NULL && label[0] != '\0' && c->nregisters > 1) {
		if ((*reg = dlg_label_register(c, label)) < 0)
			return DLG_PLACE_UNKNOWN_LABEL;
		return mine[*reg] ? DLG_PLACE_TWICE : DLG_PLACE_OK;
	}
	while (*cursor < c->nregisters && mine[*cursor])
		(*cursor)++;
	if (*cursor >= c->nregisters)
		return DLG_PLACE_TOO_MANY;
	*reg = (int)*cursor;
	return DLG_PLACE_OK;
}

void
dlg_place(const struct model_contract *c, const struct dialog_state *s,
    const uint64_t *values, const char (*labels)[PARSE_LABEL_MAX + 1],
    unsigned n, struct dlg_place *out)
{
	bool mine[MODEL_MAX_REGISTERS] = { false };
	unsigned cursor = s->next;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < s->next && i < c->nregisters; i++) {
		out->all[i] = s->values[i];
		out->filled[i] = true;
	}
	for (unsigned i = 0; i < n; i++) {
		int reg = -1;

		out->status = place_one(
		    c, labels != NULL ? labels[i] : NULL, mine, &cursor, &reg);
		if (out->status != DLG_PLACE_OK) {
			out->label = (int)i;
			return;
		}
		mine[reg] = out->filled[reg] = true;
		out->all[reg] = values[i];
		out->touched_before |= (unsigned)reg < s->next;
	}
	while (out->next < c->nregisters && out->filled[out->next])
		out->next++;
	for (unsigned i = out->next; i < c->nregisters; i++) {
		if (out->filled[i])
			out->status = DLG_PLACE_GAP;
	}
}

bool
dlg_place_fits(const struct model_contract *c, const struct dlg_place *p)
{
	for (unsigned i = 0; i < c->nregisters; i++) {
		if (p->filled[i] &&
		    p->all[i] >= model_capacity_limit(c->registers[i].digits))
			return false;
	}
	return true;
}
