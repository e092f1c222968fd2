/* meterline-smsc-sim: an SMSC simulator to try meterline without an operator. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "cflood.h"
#include "meterline/log.h"
#include "meterline/smsc_sim.h"

#define SIM_EXIT_USAGE 2

static void
sim_usage(FILE *f)
{
	fprintf(f,
	    "usage: meterline-smsc-sim [options]\n"
	    "\n"
	    "An SMSC simulator on 127.0.0.1: accepts an ESME bind (meterline serve),\n"
	    "answers submit_sm and delivers MO messages as deliver_sm (GSM-7 or\n"
	    "UCS-2, concatenated when long). Without --scenario or --flood it only\n"
	    "serves until interrupted.\n"
	    "\n"
	    "  --port N             listen on 127.0.0.1:N (2775; 0 picks a free port)\n"
	    "  --system-id ID       expected system_id (default: any)\n"
	    "  --password PW        expected password (default: any)\n"
	    "  --scenario FILE      play FILE, lines sender<TAB>recipient<TAB>text, one\n"
	    "                       at a time, each waiting for its reply; prints a\n"
	    "                       transcript. In text, \\n is a line break, \\t a\n"
	    "                       tab and \\\\ a backslash\n"
	    "  --flood N            deliver N messages at --window and --rate\n"
	    "  --flood-file FILE    deliver the lines of FILE (as --scenario) at\n"
	    "                       --window and --rate; a sender's next message\n"
	    "                       waits for the reply to its previous one\n"
	    "  --text TEXT          flood text; repeat to cycle (\"P 123456 42.5\")\n"
	    "  --sender-base NUM    flood senders NUM, NUM+1, ... (79000000000)\n"
	    "  --recipient NUM      flood recipient (7377)\n"
	    "  --window N           outstanding deliver_sm (10)\n"
	    "  --rate N             flood: MO per second, 0 = window-bound (0)\n"
	    "  --enquire-link S     our enquire_link period in seconds, 0 = never (30)\n"
	    "  --reply-timeout S    scenario: wait for each reply (10)\n"
	    "  --redeliver-ms N     deliver again N ms after an error answer (1000)\n"
	    "  --receipts           a delivery receipt for every accepted submit_sm\n"
	    "  --refuse-binds K     refuse the first K binds\n"
	    "  --drop-after N       drop the link after N PDUs received\n"
	    "  --drop-times N       and do that N times (1)\n"
	    "  --throttle N         answer the first N submit_sm ESME_RTHROTTLED\n"
	    "  --throttle-every N   then every Nth submit_sm\n"
	    "  --tempfail N         answer the next N submit_sm with --tempfail-status\n"
	    "  --tempfail-status S  that status (0x08)\n"
	    "  --bind-resp-id ID    answer binds with this command_id (a mismatch)\n"
	    "  --bad-message-id N   submit_sm_resp ids: 1 over 65 octets, 2 unterminated\n"
	    "  --stop-reading       once bound, never read from the ESME again\n"
	    "  --concat-flood G,P,N G messages of P parts of N octets of\n"
	    "                       message_payload (sar_* TLVs), part k of all\n"
	    "                       before part k+1; done when all are answered\n"
	    "  --timeout S          give up after S seconds (600 with work to do)\n"
	    "  --quiet              no transcript\n"
	    "  --results FILE       at the end, write every MO (acknowledged?\n"
	    "                       replied?) and every reply to FILE, one per line\n"
	    "  --log-level L        debug|info|warn|error (info)\n"
	    "  --tls-cert FILE      serve TLS with this PEM certificate chain\n"
	    "  --tls-key FILE       and this PEM key (default: in --tls-cert)\n"
	    "\n"
	    "Exit status: 0 when every message was acknowledged and answered, 1 when\n"
	    "not (or on an error), 2 on a usage error.\n");
}

struct sim_run {
	struct event_base *base;
	bool finished;
};

static void
sim_finished_cb(void *arg)
{
	struct sim_run *r = arg;

	r->finished = true;
	event_base_loopexit(r->base, NULL);
}

static void
sim_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* Parse a non-negative number (decimal or 0x hex) or fail. */
static int
sim_number(
    const char *opt, const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	*out = strtoul(s, &end, 0);
	if (*s == '\0' || *s == '-' || *end != '\0' || *out > max) {
		fprintf(stderr, "meterline-smsc-sim: %s: bad number '%s'\n",
		    opt, s);
		return -1;
	}
	return 0;
}

struct sim_opts {
	struct smsc_sim_cfg cfg;
	const char *scenario, *flood_file, *results;
	unsigned long flood, timeout_s;
	const char *texts[16];
	unsigned ntexts;
	unsigned long long sender_base;
	const char *recipient;
	int quiet;
	unsigned cflood[3]; /* --concat-flood G,P,N; G 0: none */
};

enum {
	O_PORT = 256,
	O_SYSID,
	O_PASSWORD,
	O_SCENARIO,
	O_FLOOD,
	O_TEXT,
	O_SENDER,
	O_RECIPIENT,
	O_WINDOW,
	O_RATE,
	O_ENQUIRE,
	O_REPLY_TIMEOUT,
	O_REDELIVER,
	O_RECEIPTS,
	O_REFUSE,
	O_DROP_AFTER,
	O_DROP_TIMES,
	O_THROTTLE,
	O_THROTTLE_EVERY,
	O_TEMPFAIL,
	O_TEMPFAIL_STATUS,
	O_BIND_RESP_ID,
	O_BAD_MSGID,
	O_STOP_READING,
	O_CFLOOD,
	O_TIMEOUT,
	O_QUIET,
	O_LOG_LEVEL,
	O_TLS_CERT,
	O_TLS_KEY,
	O_FLOOD_FILE,
	O_RESULTS,
	O_HELP,
};

static const struct option sim_longopts[] = {
	{ "port", required_argument, NULL, O_PORT },
	{ "system-id", required_argument, NULL, O_SYSID },
	{ "password", required_argument, NULL, O_PASSWORD },
	{ "scenario", required_argument, NULL, O_SCENARIO },
	{ "flood", required_argument, NULL, O_FLOOD },
	{ "text", required_argument, NULL, O_TEXT },
	{ "sender-base", required_argument, NULL, O_SENDER },
	{ "recipient", required_argument, NULL, O_RECIPIENT },
	{ "window", required_argument, NULL, O_WINDOW },
	{ "rate", required_argument, NULL, O_RATE },
	{ "enquire-link", required_argument, NULL, O_ENQUIRE },
	{ "reply-timeout", required_argument, NULL, O_REPLY_TIMEOUT },
	{ "redeliver-ms", required_argument, NULL, O_REDELIVER },
	{ "receipts", no_argument, NULL, O_RECEIPTS },
	{ "refuse-binds", required_argument, NULL, O_REFUSE },
	{ "drop-after", required_argument, NULL, O_DROP_AFTER },
	{ "drop-times", required_argument, NULL, O_DROP_TIMES },
	{ "throttle", required_argument, NULL, O_THROTTLE },
	{ "throttle-every", required_argument, NULL, O_THROTTLE_EVERY },
	{ "tempfail", required_argument, NULL, O_TEMPFAIL },
	{ "tempfail-status", required_argument, NULL, O_TEMPFAIL_STATUS },
	{ "bind-resp-id", required_argument, NULL, O_BIND_RESP_ID },
	{ "bad-message-id", required_argument, NULL, O_BAD_MSGID },
	{ "stop-reading", no_argument, NULL, O_STOP_READING },
	{ "concat-flood", required_argument, NULL, O_CFLOOD },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "log-level", required_argument, NULL, O_LOG_LEVEL },
	{ "tls-cert", required_argument, NULL, O_TLS_CERT },
	{ "tls-key", required_argument, NULL, O_TLS_KEY },
	{ "flood-file", required_argument, NULL, O_FLOOD_FILE },
	{ "results", required_argument, NULL, O_RESULTS },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* One numeric option into its field; 0, or -1 on a bad value. */
static int
sim_numeric_opt(struct sim_opts *o, int c, const char *arg)
{
	const char *name = sim_longopts[c - O_PORT].name;
	unsigned long v;

	if (sim_number(name, arg,
	        c == O_TEMPFAIL_STATUS || c == O_BIND_RESP_ID ? 0xFFFFFFFFul
	            : c == O_PORT                             ? 65535
	                                                      : 100000000ul,
	        &v) != 0)
		return -1;
	switch (c) {
	case O_PORT: o->cfg.port = (uint16_t)v; break;
	case O_FLOOD: o->flood = v; break;
	case O_WINDOW: o->cfg.window = (unsigned)v; break;
	case O_RATE: o->cfg.rate = (unsigned)v; break;
	case O_ENQUIRE: o->cfg.enquire_link_ms = (int)(v * 1000); break;
	case O_REPLY_TIMEOUT: o->cfg.reply_timeout_ms = (int)(v * 1000); break;
	case O_REDELIVER: o->cfg.redeliver_ms = (int)v; break;
	case O_REFUSE: o->cfg.refuse_binds = (unsigned)v; break;
	case O_DROP_AFTER: o->cfg.drop_after_pdus = (unsigned)v; break;
	case O_DROP_TIMES: o->cfg.drop_times = (unsigned)v; break;
	case O_THROTTLE: o->cfg.throttle_submits = (unsigned)v; break;
	case O_THROTTLE_EVERY: o->cfg.throttle_every = (unsigned)v; break;
	case O_TEMPFAIL: o->cfg.tempfail_submits = (unsigned)v; break;
	case O_TEMPFAIL_STATUS: o->cfg.tempfail_status = (uint32_t)v; break;
	case O_BIND_RESP_ID: o->cfg.bind_resp_id = (uint32_t)v; break;
	case O_BAD_MSGID: o->cfg.bad_message_id = (int)v; break;
	case O_TIMEOUT: o->timeout_s = v; break;
	default: return -1;
	}
	return 0;
}

/* Parse argv into o; 0, 1 for --help (done), or SIM_EXIT_USAGE. */
static int
sim_parse(int argc, char **argv, struct sim_opts *o)
{
	enum log_level lvl;
	int c;

	smsc_sim_cfg_defaults(&o->cfg);
	o->cfg.port = 2775;
	o->sender_base = 79000000000ull;
	o->recipient = "7377";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", sim_longopts, NULL)) != -1) {
		switch (c) {
		case O_SYSID: o->cfg.system_id = optarg; break;
		case O_PASSWORD: o->cfg.password = optarg; break;
		case O_SCENARIO: o->scenario = optarg; break;
		case O_RECIPIENT: o->recipient = optarg; break;
		case O_RECEIPTS: o->cfg.receipts = 1; break;
		case O_QUIET: o->quiet = 1; break;
		case O_STOP_READING: o->cfg.stop_reading = 1; break;
		case O_CFLOOD:
			if (cflood_parse(optarg, o->cflood) != 0) {
				fprintf(stderr,
				    "meterline-smsc-sim: bad --concat-flood\n");
				return SIM_EXIT_USAGE;
			}
			break;
		case O_TLS_CERT: o->cfg.tls_cert_file = optarg; break;
		case O_TLS_KEY: o->cfg.tls_key_file = optarg; break;
		case O_FLOOD_FILE: o->flood_file = optarg; break;
		case O_RESULTS: o->results = optarg; break;
		case O_TEXT:
			if (o->ntexts ==
			    sizeof(o->texts) / sizeof(o->texts[0])) {
				fprintf(stderr,
				    "meterline-smsc-sim: at most 16 --text\n");
				return SIM_EXIT_USAGE;
			}
			o->texts[o->ntexts++] = optarg;
			break;
		case O_SENDER:
			o->sender_base = strtoull(optarg, NULL, 10);
			break;
		case O_LOG_LEVEL:
			if (log_level_parse(optarg, &lvl) != 0) {
				fprintf(stderr,
				    "meterline-smsc-sim: bad --log-level\n");
				return SIM_EXIT_USAGE;
			}
			log_set_level(lvl);
			break;
		case O_HELP:
		case 'h': sim_usage(stdout); return 1;
		default:
			if (c < O_PORT || c > O_HELP) {
				fprintf(stderr,
				    "Try 'meterline-smsc-sim --help'.\n");
				return SIM_EXIT_USAGE;
			}
			if (sim_numeric_opt(o, c, optarg) != 0)
				return SIM_EXIT_USAGE;
			break;
		}
	}
	if (optind < argc ||
	    (o->scenario != NULL) + (o->flood > 0) + (o->flood_file != NULL) >
	        1) {
		fprintf(stderr, "meterline-smsc-sim: %s\n",
		    optind < argc
		        ? "unexpected arguments"
		        : "--scenario, --flood and --flood-file exclude each other");
		return SIM_EXIT_USAGE;
	}
	return 0;
}

/* Queue the work: a scenario file or N flood messages. */
static int
sim_queue(struct smsc_sim *sim, const struct sim_opts *o)
{
	char err[256], sender[24];
	const char *file = o->scenario ? o->scenario : o->flood_file;

	if (file != NULL &&
	    smsc_sim_load_scenario(sim, file, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline-smsc-sim: %s\n", err);
		return -1;
	}
	for (unsigned long i = 0; i < o->flood; i++) {
		const char *text =
		    o->ntexts ? o->texts[i % o->ntexts] : "P 123456 42.5";

		snprintf(sender, sizeof(sender), "%llu", o->sender_base + i);
		if (smsc_sim_add_mo(sim, sender, o->recipient, text, err,
		        sizeof(err)) != 0) {
			fprintf(stderr, "meterline-smsc-sim: %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* Our own CPU time: a benchmark on one machine shares it with the ESME. */
static void
sim_report_cpu(FILE *f)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	fprintf(f, "cpu: user %.2f s, system %.2f s\n",
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
}

/* The results file (--results); 0 or -1 with a message. */
static int
sim_write_results(const struct smsc_sim *sim, const char *path)
{
	FILE *f = fopen(path, "w");
	int bad = f == NULL;

	if (f != NULL) {
		bad |= smsc_sim_write_results(sim, f) != 0;
		bad |= fclose(f) != 0;
	}
	if (bad) {
		fprintf(stderr,
		    "meterline-smsc-sim: %s: cannot write results\n", path);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sim_opts o;
	struct sim_run run = { NULL, 0 };
	struct smsc_sim *sim;
	struct cflood *cf = NULL;
	struct event *sigint, *sigterm, *timeout;
	char err[256];
	size_t unanswered;
	int rc, work;

	memset(&o, 0, sizeof(o));
	if ((rc = sim_parse(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : rc;
	work = o.scenario != NULL || o.flood > 0 || o.flood_file != NULL ||
	    o.cflood[0] > 0;
	if (!o.quiet && o.scenario != NULL)
		o.cfg.transcript = stdout;
	signal(SIGPIPE, SIG_IGN);
	run.base = event_base_new();
	sim = smsc_sim_new(run.base, &o.cfg, err, sizeof(err));
	if (sim == NULL || sim_queue(sim, &o) != 0) {
		if (sim == NULL)
			fprintf(stderr, "meterline-smsc-sim: %s\n", err);
		smsc_sim_free(sim);
		event_base_free(run.base);
		return 1;
	}
	fprintf(stderr, "smsc-sim: listening on 127.0.0.1:%u\n",
	    smsc_sim_port(sim));
	sigint = evsignal_new(run.base, SIGINT, sim_signal_cb, run.base);
	sigterm = evsignal_new(run.base, SIGTERM, sim_signal_cb, run.base);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	timeout = evtimer_new(run.base, sim_signal_cb, run.base);
	if (work || o.timeout_s) {
		struct timeval tv = { o.timeout_s ? (time_t)o.timeout_s : 600,
			0 };

		evtimer_add(timeout, &tv);
	}
	if (o.cflood[0] > 0)
		cf = cflood_new(run.base, sim, o.cflood, sim_finished_cb, &run);
	else if (work)
		smsc_sim_run(sim,
		    o.scenario ? SMSC_SIM_SCENARIO : SMSC_SIM_FLOOD,
		    sim_finished_cb, &run);
	event_base_dispatch(run.base);
	/* Let the last answers reach the ESME, then unbind and close. */
	cflood_stop(cf);
	event_del(timeout);
	event_del(sigint);
	event_del(sigterm);
	smsc_sim_close(sim);
	event_base_dispatch(run.base);
	smsc_sim_report(sim, stderr);
	if (cf != NULL)
		cflood_report(cf, stderr);
	sim_report_cpu(stderr);
	rc = work && !run.finished ? 1 : 0;
	/* The help's promise: 1 when a message went unanswered (a scenario
	   gives up on a reply after --reply-timeout and goes on). */
	if (work && cf == NULL && run.finished &&
	    (unanswered = smsc_sim_unanswered(sim)) > 0) {
		fprintf(stderr, "smsc-sim: %zu message%s got no reply\n",
		    unanswered, unanswered == 1 ? "" : "s");
		rc = 1;
	}
	if (o.results != NULL && sim_write_results(sim, o.results) != 0)
		rc = 1;
	if (work && !run.finished)
		fprintf(stderr,
		    "smsc-sim: stopped with %zu messages not done\n",
		    smsc_sim_pending(sim));
	cflood_free(cf);
	event_free(timeout);
	event_free(sigint);
	event_free(sigterm);
	smsc_sim_free(sim);
	event_base_free(run.base);
	return rc;
}
