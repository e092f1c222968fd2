/*
 * The Viber REST bot API channel (docs/channels.md): callbacks signed
 * with X-Viber-Content-Signature (hex HMAC-SHA256 of the raw body keyed
 * with the auth token) into the common message, replies by
 * POST /pa/send_message with X-Viber-Auth-Token, delivered/seen/failed
 * into the outbox, and the requests of `meterline webhook set|info viber`.
 */
#ifndef METERLINE_VIBER_H
#define METERLINE_VIBER_H

#include <stdbool.h>

#include "meterline/channel.h"
#include "meterline/config.h"

/* The adapter; its ctx is the [viber] section (borrowed). */
extern const struct chan_api viber_api;

/* Whether sig (the header, NULL when absent) is the body's HMAC under
   token; constant time. */
bool viber_signature_ok(
    const char *token, const char *sig, const char *body, size_t len);

/* POST /pa/set_webhook {url, event_types, send_name}; 0 or -1. */
int viber_webhook_set_req(
    const struct config_messenger *, const char *url, struct chan_req *);
/* POST /pa/get_account_info {} (the webhook and the bot's state). */
int viber_webhook_info_req(const struct config_messenger *, struct chan_req *);

#endif
