/*
 * meterline webhook set|info telegram|max|viber|vk: register the bot's webhook with
 * the platform, or show what the platform has (docs/channels.md).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "commands.h"
#include "meterline/conf.h"
#include "meterline/max.h"
#include "meterline/telegram.h"
#include "meterline/viber.h"
#include "meterline/vk.h"
#include "meterline/webc.h"
#include "meterline/xmalloc.h"
#include "opts.h"

static const char webhook_usage[] =
    "usage: meterline webhook set telegram|max|viber|vk URL [--config FILE]\n"
    "       meterline webhook info telegram|max|viber|vk [--config FILE]\n"
    "\n"
    "set: tell the platform to post the bot's updates to URL (the public\n"
    "HTTPS address of [telegram]/[max] webhook_path), with the configured\n"
    "secret: Telegram setWebhook (secret_token, allowed_updates message),\n"
    "MAX POST /subscriptions (update_types message_created, bot_started),\n"
    "Viber /pa/set_webhook (event_types delivered, seen, failed, ...),\n"
    "VK groups.addCallbackServer (with the secret).\n"
    "info: Telegram getWebhookInfo, MAX GET /subscriptions, Viber\n"
    "/pa/get_account_info, VK groups.getCallbackServers.\n"
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

static const struct opts_spec webhook_spec = {
	.cmd = "webhook",
	.usage = webhook_usage,
	.opts = webhook_opts,
	.nopts = ARRAY_SIZE(webhook_opts),
	.min_args = 2,
	.max_args = 3,
	.missing =
	    "meterline webhook: say set or info, and telegram, max, viber or vk"
};

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

/* The platforms with an API to register the webhook. */
struct webhook_bot {
	const char *name;
	size_t off; /* of its section in struct config */
	int (*set)(const struct config_messenger *, const char *url,
	    struct chan_req *);
	int (*info)(const struct config_messenger *, struct chan_req *);
	const char *info_method;
};

static const struct webhook_bot webhook_bots[] = {
	{ "telegram", offsetof(struct config, telegram),
	    telegram_webhook_set_req, telegram_webhook_info_req, "POST" },
	{ "max", offsetof(struct config, max), max_webhook_set_req,
	    max_webhook_info_req, "GET" },
	{ "viber", offsetof(struct config, viber), viber_webhook_set_req,
	    viber_webhook_info_req, "POST" },
	{ "vk", offsetof(struct config, vk), vk_webhook_set_req,
	    vk_webhook_info_req, "POST" },
};

static const struct webhook_bot *
webhook_bot(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(webhook_bots); i++)
		if (strcmp(webhook_bots[i].name, name) == 0)
			return &webhook_bots[i];
	return NULL;
}

/* The request for verb and bot; -1 with a message when it cannot be. */
static int
webhook_request(const struct config *cfg, const char *verb,
    const struct webhook_bot *b, const char *url, struct chan_req *q,
    const char **method)
{
	const struct config_messenger *m =
	    (const void *)((const char *)cfg + b->off);
	bool set = strcmp(verb, "set") == 0;

	*method = set ? "POST" : b->info_method;
	if (!m->enabled) {
		fprintf(stderr, "meterline webhook: no [%s] in the config\n",
		    b->name);
		return -1;
	}
	if (set && url == NULL) {
		fprintf(stderr, "meterline webhook set: the URL is missing\n");
		return -1;
	}
	return set ? b->set(m, url, q) : b->info(m, q);
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
	    webhook_bot(argv[first + 1]) == NULL) {
		fputs(webhook_usage, stderr);
		goto out;
	}
	rc = 1;
	if (conf_resolve(cfg, a.config, NULL, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "meterline webhook: %s\n", err);
		goto out;
	}
	if (webhook_request(cfg, argv[first], webhook_bot(argv[first + 1]),
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
