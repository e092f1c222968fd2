/*
 * The Telegram Bot API channel (docs/channels.md): the webhook's Update
 * JSON into the common message, replies by sendMessage, and the requests
 * of `meterline webhook set|info telegram`.
 */
#ifndef METERLINE_TELEGRAM_H
#define METERLINE_TELEGRAM_H

#include "meterline/channel.h"
#include "meterline/config.h"

/* The adapter; its ctx is the [telegram] section (borrowed). */
extern const struct chan_api telegram_api;

/* setWebhook with secret_token and allowed_updates; 0 or -1. */
int telegram_webhook_set_req(
    const struct config_messenger *, const char *url, struct chan_req *);
/* getWebhookInfo. */
int
telegram_webhook_info_req(const struct config_messenger *, struct chan_req *);

#endif
