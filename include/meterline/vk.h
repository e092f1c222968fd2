/*
 * The VK Callback API channel (docs/channels.md): the confirmation event
 * answered with the confirmation string, every other event checked by the
 * `secret` in its body and answered "ok", message_new into the common
 * message (dedupe by event_id), replies by messages.send with a random_id
 * of the outbox row, and the requests of `meterline webhook set|info vk`.
 */
#ifndef METERLINE_VK_H
#define METERLINE_VK_H

#include <stdbool.h>

#include "meterline/channel.h"
#include "meterline/config.h"

/* The adapter; its ctx is the [vk] section (borrowed). */
extern const struct chan_api vk_api;

/* Whether body is VK's: a confirmation for our group, or an event whose
   `secret` equals the configured one (constant time). */
bool
vk_authentic(const struct config_messenger *, const char *body, size_t len);

/* The random_id of the reply in outbox row `row`: the same on every try,
   so VK shows a retried send once. */
long long vk_random_id(uint64_t row);

/* groups.addCallbackServer {group_id, url, title, secret_key}; 0 or -1. */
int vk_webhook_set_req(
    const struct config_messenger *, const char *url, struct chan_req *);
/* groups.getCallbackServers {group_id}. */
int vk_webhook_info_req(const struct config_messenger *, struct chan_req *);

#endif
