/*
 * What real customers send (issue 13): every row of tests/data/
 * realworld.tsv goes through the grammar (parser_parse) and the dialog
 * engine (dialog_decide) against an in-memory store built from
 * tests/data/realworld-contracts.csv, and must give exactly the outcome,
 * reason and reply written in the row. The store keeps one dialog per
 * sender and applies each submission as the real one does: last values
 * move to prev, a correction replaces last and keeps prev.
 *
 * Every mismatch is reported with its line before the test fails, so one
 * run shows them all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "meterline/dialog.h"

#define RW_MAX_CONTRACTS 512
#define RW_MAX_SENDERS 512
#define RW_BASE_S 1795154400 /* 2026-11-20 06:00:00 UTC */

struct rw_sender {
	char msisdn[24];
	bool has_dialog;
	struct dialog_state dialog;
};

struct rw_store {
	struct model_contract contracts[RW_MAX_CONTRACTS];
	size_t ncontracts;
	struct rw_sender senders[RW_MAX_SENDERS];
	size_t nsenders;
};

static struct rw_store store; /* 160 KiB: off the stack */
static struct config cfg;

/* ---- the contracts ----------------------------------------------------- */

static struct model_contract *
rw_contract(const char *number)
{
	for (size_t i = 0; number != NULL && i < store.ncontracts; i++) {
		if (strcmp(store.contracts[i].number, number) == 0)
			return &store.contracts[i];
	}
	return NULL;
}

/* Split line at commas into at most n fields (no quoting in this file). */
static size_t
rw_split(char *line, char sep, char **f, size_t n)
{
	size_t k = 0;

	f[k++] = line;
	for (char *p = line; *p != '\0' && k < n; p++) {
		if (*p == sep) {
			*p = '\0';
			f[k++] = p + 1;
		}
	}
	return k;
}

static int32_t
rw_date(const char *s)
{
	int y;
	unsigned m, d;

	if (s[0] == '\0')
		return MODEL_DATE_NONE;
	if (sscanf(s, "%d-%u-%u", &y, &m, &d) != 3)
		fail_msg("bad date %s", s);
	return model_date_from_ymd(y, m, d);
}

/* One CSV line: one register of a contract. */
static void
rw_contract_line(char *line)
{
	char *f[8];
	struct model_contract *c;
	struct model_register *r;

	if (rw_split(line, ',', f, 8) != 8)
		fail_msg("contracts: bad line %s", line);
	if ((c = rw_contract(f[0])) == NULL) {
		assert_true(store.ncontracts < RW_MAX_CONTRACTS);
		c = &store.contracts[store.ncontracts++];
		snprintf(c->number, sizeof(c->number), "%s", f[0]);
		assert_int_equal(model_resource_parse(f[1], &c->resource), 0);
		assert_int_equal(model_status_parse(f[7], &c->status), 0);
	}
	assert_true(c->nregisters < MODEL_MAX_REGISTERS);
	r = &c->registers[c->nregisters++];
	r->position = (uint8_t)atoi(f[2]);
	assert_true(strlen(f[3]) < sizeof(r->name));
	memcpy(r->name, f[3], strlen(f[3]) + 1);
	r->digits = (uint8_t)atoi(f[4]);
	r->has_last = f[5][0] != '\0';
	r->last_value = (uint32_t)strtoul(f[5], NULL, 10);
	r->last_date = rw_date(f[6]);
	r->prev_date = MODEL_DATE_NONE;
}

static void
rw_load_contracts(void)
{
	FILE *f = fopen(MLINE_TEST_DATA "/realworld-contracts.csv", "r");
	char line[512], err[256];

	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f)); /* the header */
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0')
			rw_contract_line(line);
	}
	fclose(f);
	for (size_t i = 0; i < store.ncontracts; i++) {
		if (model_contract_check(&store.contracts[i], err, sizeof(err)))
			fail_msg("contracts: %s", err);
	}
}

/* ---- the store --------------------------------------------------------- */

static struct rw_sender *
rw_sender(const char *msisdn)
{
	struct rw_sender *s;

	for (size_t i = 0; i < store.nsenders; i++) {
		if (strcmp(store.senders[i].msisdn, msisdn) == 0)
			return &store.senders[i];
	}
	assert_true(store.nsenders < RW_MAX_SENDERS);
	s = &store.senders[store.nsenders++];
	snprintf(s->msisdn, sizeof(s->msisdn), "%s", msisdn);
	return s;
}

/* What the store does with a submission (dialog.h). */
static void
rw_apply(const struct dialog_submission *s)
{
	struct model_contract *c = rw_contract(s->contract);

	assert_non_null(c);
	for (unsigned i = 0; i < s->nvalues; i++) {
		struct model_register *r = &c->registers[i];

		if (!(s->flags & DIALOG_F_CORRECTION)) {
			r->has_prev = r->has_last;
			r->prev_value = r->last_value;
			r->prev_date = r->last_date;
		}
		r->has_last = true;
		r->last_value = s->values[i];
		r->last_date = s->date;
	}
}

/* ---- the rows ---------------------------------------------------------- */

/* Undo the file's escapes (\n, \t, \\) in place. */
static void
rw_unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' &&
		    (s[1] == 'n' || s[1] == 't' || s[1] == '\\')) {
			*o++ = s[1] == 'n' ? '\n' : s[1] == 't' ? '\t' : '\\';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Run one row; returns whether it gave what it says. */
static bool
rw_row(struct parser *p, unsigned lineno, char **f, struct dialog_decision *out)
{
	struct rw_sender *s = rw_sender(f[0]);
	const char *reason;
	struct parse_result cmd;
	struct dialog_input in;

	rw_unescape(f[2]);
	parser_parse(p, f[2], strlen(f[2]), &cmd);
	in = (struct dialog_input){
		.time_us = (RW_BASE_S + strtoll(f[1], NULL, 10)) * 1000000,
		.channel = "sms",
		.sender = s->msisdn,
		.cmd = &cmd,
		.dialog = s->has_dialog ? &s->dialog : NULL,
		.text = f[2],
		.text_len = strlen(f[2]),
	};
	in.contract = rw_contract(dialog_contract_needed(&cmd, in.dialog));
	if (dialog_decide(&in, &cfg, out) != 0)
		fail_msg("line %u: caller error %s", lineno, out->reply);
	if ((s->has_dialog = out->has_dialog))
		s->dialog = out->dialog;
	if (out->has_submission)
		rw_apply(&out->submission);
	reason = dialog_reason_name(out->reason);
	if (strcmp(dialog_outcome_name(out->outcome), f[3]) == 0 &&
	    strcmp(reason ? reason : "-", f[4]) == 0 &&
	    strcmp(out->reply, f[5]) == 0)
		return true;
	print_error("realworld.tsv:%u: %s\n  got  %s %s %s\n  want %s %s %s\n",
	    lineno, f[2], dialog_outcome_name(out->outcome),
	    reason ? reason : "-", out->reply, f[3], f[4], f[5]);
	return false;
}

static void
test_realworld(void **state)
{
	FILE *f = fopen(MLINE_TEST_DATA "/realworld.tsv", "r");
	struct dialog_decision *out = malloc(sizeof(*out));
	struct parser *p;
	char line[4096], err[256];
	unsigned lineno = 0, rows = 0, bad = 0;

	(void)state;
	assert_non_null(f);
	assert_non_null(p = parser_new(err, sizeof(err)));
	rw_load_contracts();
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fields[7];

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (rw_split(line, '\t', fields, 7) != 6)
			fail_msg("realworld.tsv:%u: not 6 fields", lineno);
		rows++;
		bad += !rw_row(p, lineno, fields, out);
	}
	fclose(f);
	parser_free(p);
	free(out);
	print_message("%u rows, %u contracts, %u wrong\n", rows,
	    (unsigned)store.ncontracts, bad);
	assert_true(rows >= 220);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_realworld),
	};

	config_defaults(&cfg);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
