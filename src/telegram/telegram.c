/*
 * The Telegram Bot API adapter (include/meterline/telegram.h).
 *
 * In: an Update (core.telegram.org/bots/api#update) posted at the webhook.
 * Only private chats' `message` counts: its `text`, or a photo's
 * `caption`, or a shared `contact`. The sender is the chat id, the
 * external id the update_id (Telegram sends an update again until it gets
 * a 2xx), the time the message's `date`. An `edited_message` is answered
 * 200 and not stored: an edit never changes a reading (docs/channels.md).
 *
 * Out: sendMessage {chat_id, text}; the answer {"ok":true,"result":
 * Message} or {"ok":false,"error_code":429,"parameters":{"retry_after":N}}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meterline/telegram.h"

/* The bot's own id: the digits before ':' in its token ("123:AA..."). */
static void
tg_bot_id(const struct config_messenger *c, char *out, size_t len)
{
	size_t n = strcspn(c->token, ":");

	if (n == 0 || n >= len)
		n = 0;
	memcpy(out, c->token, n);
	out[n] = '\0';
	if (n == 0)
		snprintf(out, len, "telegram");
}

static int
tg_fail(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -1;
}

/* The largest size of a photo (PhotoSize[] comes smallest first). */
static const char *
tg_photo_id(json_t *photo)
{
	size_t n = json_is_array(photo) ? json_array_size(photo) : 0;
	json_t *last = n > 0 ? json_array_get(photo, n - 1) : NULL;

	return last ? json_string_value(json_object_get(last, "file_id"))
	            : NULL;
}

/* /start and /help, the commands every bot is sent, ask for the help. */
static const char *
tg_text(const char *text)
{
	if (text != NULL &&
	    (strncmp(text, "/start", 6) == 0 || strncmp(text, "/help", 5) == 0))
		return "?";
	return text;
}

/* A contact the sender shared of themselves: a verified phone. */
static void
tg_contact(json_t *msg, json_int_t from_id, struct chan_update *u)
{
	json_t *c = json_object_get(msg, "contact");
	json_t *uid = json_object_get(c, "user_id");
	const char *phone =
	    json_string_value(json_object_get(c, "phone_number"));

	if (json_is_integer(uid) && json_integer_value(uid) == from_id &&
	    phone != NULL && strlen(phone) < sizeof(u->phone))
		snprintf(u->phone, sizeof(u->phone), "%s", phone);
}

static int
tg_message(const struct config_messenger *c, json_t *msg, json_int_t update_id,
    struct chan_update *u, char *why, size_t whylen)
{
	json_t *chat = json_object_get(msg, "chat");
	json_t *from = json_object_get(msg, "from");
	json_t *chat_id = json_object_get(chat, "id");
	json_t *date = json_object_get(msg, "date");
	const char *type = json_string_value(json_object_get(chat, "type"));
	const char *text = json_string_value(json_object_get(msg, "text"));
	const char *photo = tg_photo_id(json_object_get(msg, "photo"));

	if (!json_is_integer(chat_id) || !json_is_integer(date))
		return tg_fail(why, whylen, "message without chat.id or date");
	if (type == NULL || strcmp(type, "private") != 0 ||
	    json_is_true(json_object_get(from, "is_bot")))
		return 0; /* groups, channels, bots: not customers */
	snprintf(u->sender, sizeof(u->sender), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(chat_id));
	snprintf(u->external_id, sizeof(u->external_id),
	    "%" JSON_INTEGER_FORMAT, update_id);
	tg_bot_id(c, u->recipient, sizeof(u->recipient));
	if (photo != NULL && strlen(photo) < sizeof(u->photo)) {
		snprintf(u->photo, sizeof(u->photo), "%s", photo);
		text = json_string_value(json_object_get(msg, "caption"));
	}
	if (json_object_get(msg, "contact") != NULL) {
		tg_contact(
		    msg, json_integer_value(json_object_get(from, "id")), u);
		if (u->phone[0] == '\0')
			return 0; /* someone else's card: nothing to do */
		text = NULL;
	}
	chan_update_fill(u, "telegram", tg_text(text),
	    chan_time_us(json_integer_value(date), 1000000));
	return 0;
}

static int
tg_parse(void *ctx, const char *body, size_t len, struct chan_update *u,
    char *why, size_t whylen)
{
	json_error_t e;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	json_t *id = json_object_get(root, "update_id");
	json_t *msg = json_object_get(root, "message");
	int rc = 0;

	u->kind = CHAN_IN_IGNORE;
	if (!json_is_object(root) || !json_is_integer(id))
		rc = tg_fail(why, whylen, root ? "no update_id" : "not JSON");
	else if (json_is_object(msg))
		rc = tg_message(
		    ctx, msg, json_integer_value(id), u, why, whylen);
	json_decref(root);
	return rc;
}

/* Fill q: POST {api_base}/bot{token}/{method} with a JSON body (taken). */
static int
tg_request(const struct config_messenger *c, const char *method, json_t *body,
    struct chan_req *q)
{
	int n = snprintf(q->url, sizeof(q->url), "%s/bot%s/%s", c->api_base,
	    c->token, method);

	q->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (n < 0 || (size_t)n >= sizeof(q->url) || (body && !q->body))
		return -1;
	q->len = q->body ? strlen(q->body) : 0;
	snprintf(
	    q->hdr[0], sizeof(q->hdr[0]), "Content-Type: application/json");
	q->headers[0] = q->hdr[0];
	q->headers[1] = NULL;
	return 0;
}

static int
tg_build(void *ctx, const struct chan_reply *r, struct chan_req *q)
{
	char *end;
	long long chat = strtoll(r->to, &end, 10);
	json_t *b;

	if (*end != '\0' || end == r->to)
		return -1;
	/* a reply keyboard with the cancel while the dialog is open, and
	 * taken away when it is not */
	b = r->dialog_open
	    ? json_pack("{s:I,s:s%,s:{s:[[{s:s}]],s:b,s:b}}", "chat_id",
	          (json_int_t)chat, "text", r->text, r->len, "reply_markup",
	          "keyboard", "text", CHAN_CANCEL_TEXT, "resize_keyboard", 1,
	          "one_time_keyboard", 1)
	    : json_pack("{s:I,s:s%,s:{s:b}}", "chat_id", (json_int_t)chat,
	          "text", r->text, r->len, "reply_markup", "remove_keyboard",
	          1);
	return b ? tg_request(ctx, "sendMessage", b, q) : -1;
}

static enum chan_verdict
tg_verdict(void *ctx, const struct webc_resp *r, char *ext_id, size_t idlen,
    int *retry_after)
{
	json_t *root = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	json_t *ra =
	    json_object_get(json_object_get(root, "parameters"), "retry_after");
	json_t *mid =
	    json_object_get(json_object_get(root, "result"), "message_id");
	enum chan_verdict v;

	(void)ctx;
	*retry_after =
	    json_is_integer(ra) ? (int)json_integer_value(ra) : r->retry_after;
	if (r->status == 200 && json_is_true(json_object_get(root, "ok"))) {
		v = CHAN_SENT;
		if (json_is_integer(mid))
			snprintf(ext_id, idlen, "%" JSON_INTEGER_FORMAT,
			    json_integer_value(mid));
	} else if (r->status == 400 || r->status == 403 || r->status == 404) {
		v = CHAN_REJECTED; /* chat not found, bot blocked by the user */
	} else {
		v = CHAN_RETRY; /* 429, 5xx, no answer, 401 until fixed */
	}
	json_decref(root);
	return v;
}

/* getFile, then the file at {api_base}/file/bot{token}/{file_path}. */
static int
tg_photo_url(void *ctx, const char *ref, int step, const struct webc_resp *prev,
    char *url, size_t len)
{
	const struct config_messenger *c = ctx;
	char esc[1024];
	json_t *root;
	const char *path;
	int n = -1;

	if (step == 0) {
		if (webc_escape(ref, esc, sizeof(esc)) < 0)
			return -1;
		n = snprintf(url, len, "%s/bot%s/getFile?file_id=%s",
		    c->api_base, c->token, esc);
		return n > 0 && (size_t)n < len ? 0 : -1;
	}
	root = json_loadb(prev->body, prev->len, 0, NULL);
	path = json_string_value(
	    json_object_get(json_object_get(root, "result"), "file_path"));
	if (path != NULL && json_is_true(json_object_get(root, "ok")) &&
	    strstr(path, "..") == NULL)
		n = snprintf(
		    url, len, "%s/file/bot%s/%s", c->api_base, c->token, path);
	json_decref(root);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

const struct chan_api telegram_api = {
	.name = "telegram",
	.secret_header = "X-Telegram-Bot-Api-Secret-Token",
	.parse = tg_parse,
	.build = tg_build,
	.verdict = tg_verdict,
	.photo_steps = 2,
	.photo_url = tg_photo_url,
};

int
telegram_webhook_set_req(
    const struct config_messenger *c, const char *url, struct chan_req *q)
{
	json_t *b = json_pack("{s:s,s:s,s:[s],s:b}", "url", url, "secret_token",
	    c->secret, "allowed_updates", "message", "drop_pending_updates", 0);

	return b ? tg_request(c, "setWebhook", b, q) : -1;
}

int
telegram_webhook_info_req(const struct config_messenger *c, struct chan_req *q)
{
	return tg_request(c, "getWebhookInfo", json_object(), q);
}
