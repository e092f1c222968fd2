/*
 * meterline webhook set|info telegram|max: register the bot's webhook with
 * the platform, or show what the platform has (docs/channels.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/max.h"
#include "meterline/telegram.h"
#include "meterline/webc.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char webhook_usage[] =
    "usage: meterline webhook set telegram|max URL [--config FILE]\n"
    "       meterline webhook info telegram|max [--config FILE]\n"
    "\n"
    "set: tell the platform to post the bot's updates to URL (the public\n"
    "HTTPS address of [telegram]/[max] webhook_path), with the configured\n"
    "secret: Telegram setWebhook (secret_token, allowed_updates message),\n"
    "MAX POST /subscriptions (update_types message_created, bot_started).\n"
    "info: Telegram getWebhookInfo, MAX GET /subscriptions.\n"
    "The platform's answer is printed as it came.\n"
    "\n"
    "  --config FILE    config file (default " CONF_DEFAULT_PATH ")\n"
    "  -h, --help       this text\n"
    "\n"
    "Exit status: 0 the platform said 200, 1 it did not, 2 usage.\n";

struct webhook_args {
	const char *config;
};

static const struct opt webhook_opts[] = {
	OPT_CONFIG(struct webhook_args),
};

static const struct opts_spec webhook_spec = { .cmd = "webhook",
	.usage = webhook_usage,
	.opts = webhook_opts,
	.nopts = ARRAY_SIZE(webhook_opts),
	.min_args = 2,
	.max_args = 3,
	.missing = "meterline webhook: say set or info, and telegram or max" };

struct webhook_run {
	struct event_base *base;
	int status;
};

static void
webhook_done(const struct webc_resp *r, void *arg)
{
	struct webhook_run *run = arg;

	run->status = r->status;
	if (r->status == 0)
		fprintf(stderr, "meterline webhook: no answer: %s\n", r->error);
	else
		printf("%d %.*s\n", r->status, (int)r->len, r->body);
	event_base_loopbreak(run->base);
}

/* The request for verb and bot; -1 with a message when it cannot be. */
static int
webhook_request(const struct config *cfg, const char *verb, const char *bot,
    const char *url, struct chan_req *q, const char **method)
{
	bool tg = strcmp(bot, "telegram") == 0;
	const struct config_messenger *m = tg ? &cfg->telegram : &cfg->max;
	bool set = strcmp(verb, "set") == 0;

	*method = set || tg ? "POST" : "GET";
	if (!m->enabled) {
		fprintf(
		    stderr, "meterline webhook: no [%s] in the config\n", bot);
		return -1;
	}
	if (set && url == NULL) {
		fprintf(stderr, "meterline webhook set: the URL is missing\n");
		return -1;
	}
	if (tg)
		return set ? telegram_webhook_set_req(m, url, q)
		           : telegram_webhook_info_req(m, q);
	return set ? max_webhook_set_req(m, url, q)
	           : max_webhook_info_req(m, q);
}

int
cmd_webhook(int argc, char **argv)
{
	struct webhook_args a = { 0 };
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct webhook_run run = { 0 };
	struct chan_req q = { 0 };
	struct webc *wc = NULL;
	const char *method;
	char err[4096];
	int rc, first;

	if ((rc = opts_parse(&webhook_spec, argc, argv, &a, &first)) >= 0)
		goto out;
	rc = EXIT_USAGE;
	if ((strcmp(argv[first], "set") != 0 &&
	        strcmp(argv[first], "info") != 0) ||
	    (strcmp(argv[first + 1], "telegram") != 0 &&
	        strcmp(argv[first + 1], "max") != 0)) {
		fputs(webhook_usage, stderr);
		goto out;
	}
	rc = 1;
	if (conf_resolve(cfg, a.config, NULL, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline webhook: %s\n", err);
		goto out;
	}
	if (webhook_request(cfg, argv[first], argv[first + 1],
	        first + 2 < argc ? argv[first + 2] : NULL, &q, &method) != 0)
		goto out;
	run.base = event_base_new();
	wc = webc_new(run.base, NULL);
	if (wc != NULL &&
	    webc_send(wc,
	        &(struct webc_req){ .method = method,
	            .url = q.url,
	            .headers = q.headers,
	            .body = q.body,
	            .len = q.len },
	        webhook_done, &run) == 0)
		event_base_dispatch(run.base);
	rc = run.status == 200 ? 0 : 1;
	webc_free(wc);
	event_base_free(run.base);
out:
	free(q.body);
	free(cfg);
	return rc;
}
