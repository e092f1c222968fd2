/*
 * The Viber REST bot API adapter (include/meterline/viber.h;
 * developers.viber.com/docs/api/rest-bot-api).
 *
 * In: a callback {"event": ...} signed in X-Viber-Content-Signature.
 *   message: its text (a picture's caption, the picture kept by its
 *     media URL) from sender.id; external id message_token.
 *   conversation_started (the user opened the chat; not yet subscribed,
 *     so send_message would be refused): answered in the callback's own
 *     response with a welcome and the help, as Viber allows; not stored.
 *   delivered, seen, failed: the outbox row whose message_token they name
 *     (CHAN_IN_STATUS).
 *   subscribed, unsubscribed, webhook and the rest: 200, not stored. An
 *     unsubscribed user's replies are refused by Viber (status 6): failed.
 *
 * Out: POST {api_base}/pa/send_message {receiver, sender: {name}, type:
 * text, text[, keyboard]} with X-Viber-Auth-Token. Viber answers 200 with
 * {"status": 0, "message_token": N} or a status code of its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meterline/viber.h"

/* Viber's status codes of send_message that no retry will change. */
#define VB_TOO_MANY_REQUESTS 12

static int
vb_fail(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -1;
}

bool
viber_signature_ok(
    const char *token, const char *sig, const char *body, size_t len)
{
	char hdr[80];

	if (sig == NULL || token[0] == '\0' || strlen(sig) != 64)
		return false;
	snprintf(hdr, sizeof(hdr), "sha256=%s", sig);
	return http_signature_check(hdr, body, len,
	           (const unsigned char *)token, strlen(token)) == HTTP_SIG_OK;
}

static bool
vb_auth(void *ctx, const struct http_exchange *x, const char *body, size_t len)
{
	const struct config_messenger *c = ctx;

	return viber_signature_ok(c->token,
	    http_exchange_header(x, "X-Viber-Content-Signature"), body, len);
}

/* The callback's message_token as text; -1 when absent. */
static int
vb_token(json_t *root, char *out, size_t len)
{
	json_t *t = json_object_get(root, "message_token");

	if (!json_is_integer(t))
		return -1;
	snprintf(out, len, "%" JSON_INTEGER_FORMAT, json_integer_value(t));
	return 0;
}

static int
vb_message(const struct config_messenger *c, json_t *root,
    struct chan_update *u, char *why, size_t whylen)
{
	json_t *msg = json_object_get(root, "message");
	const char *from = json_string_value(
	    json_object_get(json_object_get(root, "sender"), "id"));
	const char *type = json_string_value(json_object_get(msg, "type"));
	const char *text = json_string_value(json_object_get(msg, "text"));
	const char *media = json_string_value(json_object_get(msg, "media"));
	json_t *ts = json_object_get(root, "timestamp");

	if (from == NULL || type == NULL || !json_is_integer(ts) ||
	    vb_token(root, u->external_id, sizeof(u->external_id)) != 0)
		return vb_fail(why, whylen,
		    "message without sender.id, type, timestamp or token");
	if (strlen(from) >= sizeof(u->sender))
		return vb_fail(why, whylen, "sender.id too long");
	if (strcmp(type, "text") != 0 && strcmp(type, "picture") != 0)
		return 0; /* stickers, locations, files: nothing to read */
	snprintf(u->sender, sizeof(u->sender), "%s", from);
	snprintf(u->recipient, sizeof(u->recipient), "%s",
	    c->bot_name[0] ? c->bot_name : "viber");
	if (strcmp(type, "picture") == 0 && media != NULL &&
	    strlen(media) < sizeof(u->photo))
		snprintf(u->photo, sizeof(u->photo), "%s", media);
	if (text != NULL && text[0] == '\0')
		text = NULL; /* a bare picture: the help, or the prompt again */
	chan_update_fill(
	    u, "viber", text, chan_time_us(json_integer_value(ts), 1000));
	return 0;
}

/* The welcome in the callback's response (Viber shows it at once). */
static void
vb_welcome(const struct config_messenger *c, struct chan_update *u)
{
	json_t *b = json_pack("{s:{s:s},s:s,s:s}", "sender", "name",
	    c->bot_name[0] ? c->bot_name : "meterline", "type", "text", "text",
	    c->welcome[0] ? c->welcome : "?");

	u->answer = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
}

/* delivered, seen, failed: the state of the reply they name. */
static int
vb_status(json_t *root, const char *event, struct chan_update *u, char *why,
    size_t whylen)
{
	if (vb_token(root, u->external_id, sizeof(u->external_id)) != 0)
		return vb_fail(why, whylen, "report without message_token");
	u->kind = CHAN_IN_STATUS;
	snprintf(u->status, sizeof(u->status), "%s",
	    strcmp(event, "delivered") == 0  ? "DELIVRD"
	        : strcmp(event, "seen") == 0 ? "READ"
	                                     : "UNDELIV");
	return 0;
}

static int
vb_parse(void *ctx, const char *body, size_t len, struct chan_update *u,
    char *why, size_t whylen)
{
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *ev = json_string_value(json_object_get(root, "event"));
	int rc = 0;

	u->kind = CHAN_IN_IGNORE;
	if (!json_is_object(root) || ev == NULL)
		rc = vb_fail(why, whylen, root ? "no event" : "not JSON");
	else if (strcmp(ev, "message") == 0)
		rc = vb_message(ctx, root, u, why, whylen);
	else if (strcmp(ev, "conversation_started") == 0)
		vb_welcome(ctx, u);
	else if (strcmp(ev, "delivered") == 0 || strcmp(ev, "seen") == 0 ||
	    strcmp(ev, "failed") == 0)
		rc = vb_status(root, ev, u, why, whylen);
	json_decref(root);
	return rc;
}

/* q: POST {api_base}{path} with the token header and a JSON body (taken). */
static int
vb_request(const struct config_messenger *c, const char *path, json_t *body,
    struct chan_req *q)
{
	int n = snprintf(q->url, sizeof(q->url), "%s%s", c->api_base, path);

	q->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (n < 0 || (size_t)n >= sizeof(q->url) || q->body == NULL)
		return -1;
	q->len = strlen(q->body);
	n = snprintf(
	    q->hdr[0], sizeof(q->hdr[0]), "X-Viber-Auth-Token: %s", c->token);
	if (n < 0 || (size_t)n >= sizeof(q->hdr[0]))
		return -1;
	snprintf(
	    q->hdr[1], sizeof(q->hdr[1]), "Content-Type: application/json");
	q->headers[0] = q->hdr[0];
	q->headers[1] = q->hdr[1];
	q->headers[2] = NULL;
	return 0;
}

static int
vb_build(void *ctx, const struct chan_reply *r, struct chan_req *q)
{
	const struct config_messenger *c = ctx;
	json_t *b = json_pack("{s:s,s:i,s:{s:s},s:s,s:s%}", "receiver", r->to,
	    "min_api_version", 1, "sender", "name",
	    c->bot_name[0] ? c->bot_name : "meterline", "type", "text", "text",
	    r->text, r->len);

	/* a button that sends the cancel while the dialog is open */
	if (b != NULL && r->dialog_open)
		json_object_set_new(b, "keyboard",
		    json_pack("{s:s,s:b,s:[{s:s,s:s,s:s}]}", "Type", "keyboard",
		        "DefaultHeight", 0, "Buttons", "ActionType", "reply",
		        "ActionBody", CHAN_CANCEL_TEXT, "Text",
		        CHAN_CANCEL_TEXT));
	return b ? vb_request(c, "/pa/send_message", b, q) : -1;
}

static enum chan_verdict
vb_verdict(void *ctx, const struct webc_resp *r, char *ext_id, size_t idlen,
    int *retry_after)
{
	json_t *root = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	json_t *st = json_object_get(root, "status");
	enum chan_verdict v = CHAN_RETRY;

	(void)ctx;
	*retry_after = r->retry_after;
	if (r->status == 200 && json_is_integer(st)) {
		json_int_t s = json_integer_value(st);

		if (s == 0) {
			v = CHAN_SENT;
			if (vb_token(root, ext_id, idlen) != 0)
				ext_id[0] = '\0';
		} else if (s != VB_TOO_MANY_REQUESTS && s != 2) {
			/* bad data, not subscribed, blocked...; 2 (bad
			   token) is an operator's fix: retried */
			v = CHAN_REJECTED;
		}
	} else if (r->status == 400 || r->status == 403 || r->status == 404) {
		v = CHAN_REJECTED;
	}
	json_decref(root);
	return v;
}

const struct chan_api viber_api = {
	.name = "viber",
	.auth = vb_auth,
	.parse = vb_parse,
	.build = vb_build,
	.verdict = vb_verdict,
	.photo_steps = 1,
	.photo_url = chan_photo_url_direct,
};

int
viber_webhook_set_req(
    const struct config_messenger *c, const char *url, struct chan_req *q)
{
	json_t *b = json_pack("{s:s,s:[s,s,s,s,s,s],s:b}", "url", url,
	    "event_types", "delivered", "seen", "failed", "subscribed",
	    "unsubscribed", "conversation_started", "send_name", 0);

	return b ? vb_request(c, "/pa/set_webhook", b, q) : -1;
}

int
viber_webhook_info_req(const struct config_messenger *c, struct chan_req *q)
{
	return vb_request(c, "/pa/get_account_info", json_object(), q);
}
