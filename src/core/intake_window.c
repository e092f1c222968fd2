/*
 * A source's window as far as it shows (intake.h, docs/store.md
 * "Gathering"). Two periods, so that the peak of a flood that has just
 * ended still counts for one to two seconds and an old one never does.
 */
#include "meterline/intake.h"

#define WINDOW_PERIOD_US 1000000

void
intake_window_note(struct intake_window *w, unsigned awaiting, int64_t now_us)
{
	int64_t age = now_us - w->since_us;

	if (age >= WINDOW_PERIOD_US || age < 0) {
		w->prev = age >= 0 && age < 2 * WINDOW_PERIOD_US ? w->cur : 0;
		w->cur = 0;
		w->since_us = now_us;
	}
	if (awaiting > w->cur)
		w->cur = awaiting;
}

bool
intake_window_open(const struct intake_window *w, unsigned awaiting)
{
	unsigned seen = w->cur > w->prev ? w->cur : w->prev;

	return awaiting < seen;
}
