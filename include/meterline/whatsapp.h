/*
 * The WhatsApp Cloud API channel (docs/channels.md): the webhook's GET
 * verification (hub.mode, hub.verify_token, hub.challenge), notifications
 * signed in X-Hub-Signature-256 (sha256=<hex HMAC of the raw body with the
 * app secret) into the common message, statuses into the outbox, replies
 * by POST /{phone_number_id}/messages with a Bearer token.
 */
#ifndef METERLINE_WHATSAPP_H
#define METERLINE_WHATSAPP_H

#include <stdbool.h>

#include "meterline/channel.h"
#include "meterline/config.h"

/* The adapter; its ctx is the [whatsapp] section (borrowed). */
extern const struct chan_api whatsapp_api;

/* Whether sig ("sha256=<hex>", NULL when absent) is the body's HMAC
   under the app secret; constant time. */
bool whatsapp_signature_ok(
    const char *app_secret, const char *sig, const char *body, size_t len);

/*
 * The verification GET: the challenge to echo (0), or -1 (answered 403)
 * when mode is not "subscribe" or token is not verify_token.
 */
int whatsapp_verify(const struct config_messenger *, const char *mode,
    const char *token, const char *challenge);

/*
 * The configured template to `to` (the only message WhatsApp takes
 * outside the 24-hour window: reminders); -1 when none is configured.
 */
int whatsapp_template_req(
    const struct config_messenger *, const char *to, struct chan_req *);

/* The row's id when WhatsApp refused free text outside the window. */
#define WHATSAPP_WINDOW_CLOSED "outside_24h_window"

#endif
