/*
 * The contract card's chart: consumption per period (calendar month of
 * the reading's local date) as bars, drawn by the server as inline SVG,
 * no script. Readings that count (accepted, in review, corrected) are
 * summed over the contract's registers; a period with a reading flagged
 * for high consumption, or one in review, is drawn in the warning colour
 * with a "!" over its bar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "console_int.h"
#include "meterline/xmalloc.h"
#include "meterline/dialog.h"

#define SVG_MAX_PERIODS 24
#define SVG_W 640
#define SVG_H 220
#define SVG_LEFT 56
#define SVG_BOTTOM 30
#define SVG_TOP 18

struct svg_period {
	char month[8]; /* YYYY-MM */
	long sum;
	bool flagged;
};

/* Columns of CS_CONTRACT_READINGS the chart reads. */
enum { R_CONS = 9, R_STATUS = 10, R_FLAGS = 11, R_MONTH = 13 };

static bool
svg_counts(const char *status)
{
	return strcmp(status, "accepted") == 0 ||
	    strcmp(status, "review") == 0 || strcmp(status, "corrected") == 0;
}

/* Periods from rows (newest first) into p, oldest first; returns count. */
static int
svg_periods(const struct db_rows *rows, struct svg_period *p)
{
	int n = 0;

	for (int i = 0; i < db_rows_count(rows); i++) {
		const char *m = db_rows_get(rows, i, R_MONTH);
		unsigned fl = (unsigned)atoi(db_rows_get(rows, i, R_FLAGS));

		if (m == NULL || strlen(m) != 7 ||
		    !svg_counts(db_rows_get(rows, i, R_STATUS)))
			continue;
		if (n == 0 || strcmp(p[n - 1].month, m) != 0) {
			if (n == SVG_MAX_PERIODS)
				break;
			memset(&p[n], 0, sizeof(p[n]));
			memcpy(p[n].month, m, 8);
			n++;
		}
		p[n - 1].sum += atol(db_rows_get(rows, i, R_CONS));
		if ((fl & DIALOG_F_HIGH_CONSUMPTION) ||
		    strcmp(db_rows_get(rows, i, R_STATUS), "review") == 0)
			p[n - 1].flagged = true;
	}
	for (int i = 0; i < n / 2; i++) {
		struct svg_period t = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
	return n;
}

static void
svg_bar(struct evbuffer *b, const struct svg_period *p, int i, int n, long max)
{
	int plot_h = SVG_H - SVG_BOTTOM - SVG_TOP;
	int slot = (SVG_W - SVG_LEFT - 10) / n;
	int w = slot * 2 / 3 > 4 ? slot * 2 / 3 : 4;
	int h = max > 0
	    ? (int)((double)(p->sum > 0 ? p->sum : 0) * plot_h / max)
	    : 0;
	int x = SVG_LEFT + i * slot + (slot - w) / 2;
	int y = SVG_H - SVG_BOTTOM - h;

	evbuffer_add_printf(b,
	    "<rect class=\"bar%s\" x=\"%d\" y=\"%d\" width=\"%d\" "
	    "height=\"%d\"><title>%s: %ld%s</title></rect>",
	    p->flagged ? " flagged" : "", x, y, w, h, p->month, p->sum,
	    p->flagged ? " (высокий расход)" : "");
	if (p->flagged)
		evbuffer_add_printf(b,
		    "<text class=\"flag\" x=\"%d\" y=\"%d\">!</text>",
		    x + w / 2, y - 3);
	evbuffer_add_printf(b,
	    "<text class=\"lbl\" x=\"%d\" y=\"%d\">%s</text>", x + w / 2,
	    SVG_H - SVG_BOTTOM + 14, p->month + 2);
}

void
console_svg_chart(struct evbuffer *b, const struct db_rows *rows)
{
	struct svg_period p[SVG_MAX_PERIODS];
	int n = svg_periods(rows, p);
	long max = 0;

	if (n == 0) {
		evbuffer_add_printf(b,
		    "<p class=\"hint\">Показаний пока нет."
		    "</p>\n");
		return;
	}
	for (int i = 0; i < n; i++)
		if (p[i].sum > max)
			max = p[i].sum;
	evbuffer_add_printf(b,
	    "<svg id=\"chart\" class=\"chart\" viewBox=\"0 0 %d %d\" "
	    "role=\"img\" aria-label=\"Расход по периодам\">"
	    "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
	    "<text class=\"lbl\" x=\"%d\" y=\"%d\">%ld</text>"
	    "<text class=\"lbl\" x=\"%d\" y=\"%d\">0</text>",
	    SVG_W, SVG_H, SVG_LEFT, SVG_H - SVG_BOTTOM, SVG_W - 5,
	    SVG_H - SVG_BOTTOM, SVG_LEFT / 2, SVG_TOP + 4, max, SVG_LEFT / 2,
	    SVG_H - SVG_BOTTOM);
	for (int i = 0; i < n; i++)
		svg_bar(b, &p[i], i, n, max);
	evbuffer_add_printf(b, "</svg>\n");
}
