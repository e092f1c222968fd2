/*
 * The MAX Bot API channel (dev.max.ru; docs/channels.md): webhook Updates
 * (message_created, bot_started) into the common message, replies by
 * POST /messages with the token in the Authorization header, and the
 * requests of `meterline webhook set|info max`.
 */
#ifndef METERLINE_MAX_H
#define METERLINE_MAX_H

#include "meterline/channel.h"
#include "meterline/config.h"

/* The adapter; its ctx is the [max] section (borrowed). */
extern const struct chan_api max_api;

/* POST /subscriptions {url, update_types, secret}; 0 or -1. */
int max_webhook_set_req(
    const struct config_messenger *, const char *url, struct chan_req *);
/* GET /subscriptions (the method is "GET": body NULL). */
int max_webhook_info_req(const struct config_messenger *, struct chan_req *);

#endif
