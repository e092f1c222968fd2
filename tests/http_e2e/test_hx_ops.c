/*
 * What an operator sees of each message.
 *
 * Proves: the service writes one info line per message with its log row
 * id, channel, masked sender, outcome, reason, flags and the store's
 * latency, and never the full number; an accepted reading flagged for
 * review is counted in meterline_flagged_total{flag}; a duplicate is
 * logged as one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hx.h"

/* The whole log file of the service. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	HX_CHECK(f != NULL && buf != NULL, "cannot read %s", path);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The log has a line containing every part, in order. */
static void
expect_line(const char *log, const char *const *parts, size_t n)
{
	for (const char *l = log; l != NULL && *l;) {
		const char *end = strchr(l, '\n'), *p = l;
		size_t k = 0;

		for (; k < n; k++) {
			const char *hit = strstr(p, parts[k]);

			if (hit == NULL || (end != NULL && hit > end))
				break;
			p = hit + strlen(parts[k]);
		}
		if (k == n)
			return;
		l = end ? end + 1 : NULL;
	}
	hx_fail("no log line with \"%s\" ... \"%s\"", parts[0], parts[n - 1]);
}

int
main(void)
{
	struct hx_svc svc;
	const char *db;
	char reply[512], *log;
	const char *accepted[] = { "info  message ",
		": viber from 7******0801: accepted", " in ", " ms" };
	const char *flagged[] = {
		": telegram from ***********4821: accepted, flags high_consumption in "
	};
	const char *rejected[] = {
		": viber from 7******0801: rejected (bad_format) in "
	};
	const char *dup[] = {
		": viber from 7******0801: duplicate (accepted) in "
	};
	char *again;
	struct hx_resp r = { 0 };

	hx_init("test_hx_ops",
	    "a log line per message; flagged readings in /metrics");
	db = hx_db_create("hx_ops");
	hx_svc_start(&svc, db, NULL);
	hx_say(svc.port, "op-1", "viber", "79120000801", "ПС 102057522 11700",
	    reply, sizeof(reply));
	hx_say(svc.port, "op-2", "viber", "79120000801", "добрый вечер", reply,
	    sizeof(reply));
	hx_say(svc.port, "op-3", "telegram", "tg-user-0004821",
	    "ПС 123859 99000 23100", reply, sizeof(reply));
	again = hx_msg("op-1", "viber", "79120000801", "ПС 102057522 11700");
	hx_post(svc.port, again, &r);
	HX_EQ_INT(r.status, 200);
	hx_resp_clear(&r);
	free(again);
	HX_EQ_INT((long)hx_metric(svc.port,
	              "meterline_flagged_total{flag=\"high_consumption\"}"),
	    1);
	hx_ok("meterline_flagged_total{flag=\"high_consumption\"} 1");
	hx_svc_stop(&svc);
	log = slurp(svc.log);
	expect_line(log, accepted, 4);
	expect_line(log, rejected, 1);
	expect_line(log, flagged, 1);
	expect_line(log, dup, 1);
	HX_CHECK(strstr(log, "79120000801") == NULL &&
	        strstr(log, "tg-user-0004821") == NULL,
	    "a full sender in the log");
	hx_ok(
	    "one line per message: id, channel, masked sender, outcome, reason, "
	    "flags, latency; no full sender");
	free(log);
	return 0;
}
