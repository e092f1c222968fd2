/*
 * The MAX Bot API adapter (include/meterline/max.h; dev.max.ru).
 *
 * In: an Update posted at the webhook with the subscription's secret in
 * X-Max-Bot-Api-Secret. `message_created` in a dialog with a person: its
 * message.body.text (or an image attachment), from message.sender.user_id,
 * external id message.body.mid, time message.timestamp (milliseconds).
 * `bot_started` (the user pressed Start) is answered with the help; its
 * external id is "start:<user_id>:<timestamp>". Everything else is 200
 * and not stored.
 *
 * Out: POST {api_base}/messages?user_id=<id> {"text": ...} with
 * `Authorization: <token>`; the answer {"message": {"body": {"mid": ...}}}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meterline/max.h"

static int
mx_fail(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -1;
}

/* The URL of the first image attachment, or NULL. */
static const char *
mx_image(json_t *body)
{
	json_t *att = json_object_get(body, "attachments");
	size_t i;
	json_t *a;

	json_array_foreach(att, i, a)
	{
		const char *type =
		    json_string_value(json_object_get(a, "type"));

		if (type != NULL && strcmp(type, "image") == 0)
			return json_string_value(json_object_get(
			    json_object_get(a, "payload"), "url"));
	}
	return NULL;
}

static int
mx_message(json_t *root, struct chan_update *u, char *why, size_t whylen)
{
	json_t *msg = json_object_get(root, "message");
	json_t *sender = json_object_get(msg, "sender");
	json_t *rcpt = json_object_get(msg, "recipient");
	json_t *body = json_object_get(msg, "body");
	json_t *uid = json_object_get(sender, "user_id");
	json_t *ts = json_object_get(msg, "timestamp");
	const char *mid = json_string_value(json_object_get(body, "mid"));
	const char *ctype =
	    json_string_value(json_object_get(rcpt, "chat_type"));
	const char *text = json_string_value(json_object_get(body, "text"));
	const char *image = mx_image(body);
	json_t *bot = json_object_get(rcpt, "user_id");

	if (!json_is_integer(uid) || mid == NULL || !json_is_integer(ts))
		return mx_fail(why, whylen,
		    "message without sender.user_id, body.mid or timestamp");
	if (strlen(mid) >= sizeof(u->external_id))
		return mx_fail(why, whylen, "body.mid too long");
	if ((ctype != NULL && strcmp(ctype, "dialog") != 0) ||
	    json_is_true(json_object_get(sender, "is_bot")))
		return 0; /* group chats, channels, bots */
	snprintf(u->sender, sizeof(u->sender), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(uid));
	snprintf(u->external_id, sizeof(u->external_id), "%s", mid);
	if (json_is_integer(bot))
		snprintf(u->recipient, sizeof(u->recipient),
		    "%" JSON_INTEGER_FORMAT, json_integer_value(bot));
	else
		snprintf(u->recipient, sizeof(u->recipient), "max");
	if (image != NULL && strlen(image) < sizeof(u->photo))
		snprintf(u->photo, sizeof(u->photo), "%s", image);
	if (text != NULL && text[0] == '\0')
		text = NULL; /* a bare photo: the help, or the prompt again */
	if (text != NULL && strncmp(text, "/start", 6) == 0)
		text = NULL;
	chan_update_fill(
	    u, "max", text, chan_time_us(json_integer_value(ts), 1000));
	return 0;
}

static int
mx_started(json_t *root, struct chan_update *u, char *why, size_t whylen)
{
	json_t *uid = json_object_get(json_object_get(root, "user"), "user_id");
	json_t *ts = json_object_get(root, "timestamp");

	if (!json_is_integer(uid) || !json_is_integer(ts))
		return mx_fail(why, whylen, "bot_started without user or time");
	snprintf(u->sender, sizeof(u->sender), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(uid));
	snprintf(u->external_id, sizeof(u->external_id),
	    "start:%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT,
	    json_integer_value(uid), json_integer_value(ts));
	snprintf(u->recipient, sizeof(u->recipient), "max");
	chan_update_fill(
	    u, "max", NULL, chan_time_us(json_integer_value(ts), 1000));
	return 0;
}

static int
mx_parse(void *ctx, const char *body, size_t len, struct chan_update *u,
    char *why, size_t whylen)
{
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type =
	    json_string_value(json_object_get(root, "update_type"));
	int rc = 0;

	(void)ctx;
	u->kind = CHAN_IN_IGNORE;
	if (!json_is_object(root) || type == NULL)
		rc = mx_fail(why, whylen, root ? "no update_type" : "not JSON");
	else if (strcmp(type, "message_created") == 0)
		rc = mx_message(root, u, why, whylen);
	else if (strcmp(type, "bot_started") == 0)
		rc = mx_started(root, u, why, whylen);
	json_decref(root);
	return rc;
}

/* q: method to {api_base}{path}, the token header, a JSON body (taken). */
static int
mx_request(const struct config_messenger *c, const char *path, json_t *body,
    struct chan_req *q)
{
	int n = snprintf(q->url, sizeof(q->url), "%s%s", c->api_base, path);

	q->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (n < 0 || (size_t)n >= sizeof(q->url) || (body && !q->body))
		return -1;
	q->len = q->body ? strlen(q->body) : 0;
	n = snprintf(
	    q->hdr[0], sizeof(q->hdr[0]), "Authorization: %s", c->token);
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
mx_build(void *ctx, const struct chan_reply *r, struct chan_req *q)
{
	char path[96];
	char *end;
	long long uid = strtoll(r->to, &end, 10);
	json_t *b;

	if (*end != '\0' || end == r->to)
		return -1;
	snprintf(path, sizeof(path), "/messages?user_id=%lld", uid);
	/* an inline button that sends the cancel while the dialog is open */
	b = r->dialog_open
	    ? json_pack("{s:s%,s:[{s:s,s:{s:[[{s:s,s:s}]]}}]}", "text", r->text,
	          r->len, "attachments", "type", "inline_keyboard", "payload",
	          "buttons", "type", "message", "text", CHAN_CANCEL_TEXT)
	    : json_pack("{s:s%}", "text", r->text, r->len);
	return b ? mx_request(ctx, path, b, q) : -1;
}

static enum chan_verdict
mx_verdict(void *ctx, const struct webc_resp *r, char *ext_id, size_t idlen,
    int *retry_after)
{
	json_t *root = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *mid = json_string_value(json_object_get(
	    json_object_get(json_object_get(root, "message"), "body"), "mid"));
	enum chan_verdict v;

	(void)ctx;
	*retry_after = r->retry_after;
	if (r->status == 200) {
		v = CHAN_SENT;
		if (mid != NULL)
			snprintf(ext_id, idlen, "%s", mid);
	} else if (r->status == 400 || r->status == 403 || r->status == 404) {
		v = CHAN_REJECTED;
	} else {
		v = CHAN_RETRY;
	}
	json_decref(root);
	return v;
}

const struct chan_api max_api = {
	.name = "max",
	.secret_header = "X-Max-Bot-Api-Secret",
	.parse = mx_parse,
	.build = mx_build,
	.verdict = mx_verdict,
	.photo_steps = 1,
	.photo_url = chan_photo_url_direct,
};

int
max_webhook_set_req(
    const struct config_messenger *c, const char *url, struct chan_req *q)
{
	json_t *b = json_pack("{s:s,s:[s,s],s:s}", "url", url, "update_types",
	    "message_created", "bot_started", "secret", c->secret);

	return b ? mx_request(c, "/subscriptions", b, q) : -1;
}

int
max_webhook_info_req(const struct config_messenger *c, struct chan_req *q)
{
	return mx_request(c, "/subscriptions", NULL, q);
}
