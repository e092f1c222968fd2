/*
 * The VK Callback API adapter (include/meterline/vk.h;
 * dev.vk.com/ru/api/callback/getting-started).
 *
 * In: {"type": ..., "group_id": N, "event_id": "...", "v": "5.199",
 * "object": {...}, "secret": "..."}.
 *   confirmation (the server's check when it is added): answered with the
 *     confirmation string, for our group_id only; no secret needed.
 *   message_new: object.message's text from from_id (a person in a
 *     private dialog), external id event_id (VK sends an event again,
 *     X-Retry-Counter, until it gets "ok"), time `date`; the largest size
 *     of the first photo attachment kept.
 *   every other event: "ok", not stored.
 * Every answer but the confirmation's is the text "ok".
 *
 * Out: POST {api_base}/method/messages.send, form-encoded: user_id,
 * random_id (from the outbox row: a retried send is shown once), message,
 * access_token, v[, keyboard]; the answer {"response": <message id>} or
 * {"error": {"error_code": N}} (HTTP 200 either way).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meterline/vk.h"
#include "meterline/xmalloc.h"

#define VK_PEER_CHATS 2000000000LL /* peer ids of group chats start here */

/* error codes (dev.vk.com/ru/reference/errors) retried, not failed: unknown,
   authorization (an operator's fix), too many per second, flood control,
   server error, the method's rate limit */
static const int vk_temporary[] = { 1, 5, 6, 9, 10, 29 };
#define VK_TOO_MANY 6
#define VK_FLOOD 9
#define VK_RATE_LIMIT 29

static int
vk_fail(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -1;
}

static bool
vk_group_is(const struct config_messenger *c, json_t *root)
{
	char g[32];
	json_t *gid = json_object_get(root, "group_id");

	if (!json_is_integer(gid))
		return false;
	snprintf(
	    g, sizeof(g), "%" JSON_INTEGER_FORMAT, json_integer_value(gid));
	return strcmp(g, c->account_id) == 0;
}

bool
vk_authentic(const struct config_messenger *c, const char *body, size_t len)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const char *type = json_string_value(json_object_get(root, "type"));
	const char *sec = json_string_value(json_object_get(root, "secret"));
	bool ok;

	if (type != NULL && strcmp(type, "confirmation") == 0)
		ok = vk_group_is(c, root);
	else
		ok = sec != NULL && c->secret[0] != '\0' &&
		    chan_secret_equal(sec, c->secret);
	json_decref(root);
	return ok;
}

static bool
vk_auth(void *ctx, const struct http_exchange *x, const char *body, size_t len)
{
	(void)x;
	return vk_authentic(ctx, body, len);
}

static void
vk_answer(struct chan_update *u, const char *text)
{
	u->answer = strdup(text);
	u->answer_type = "text/plain";
}

/* A size's pixels; 0 for a size no photo has (a hostile body's huge
   width and height must not overflow: fuzz_messenger). */
static json_int_t
vk_area(json_int_t w, json_int_t h)
{
	if (w <= 0 || h <= 0 || w > INT32_MAX || h > INT32_MAX)
		return 0;
	return w * h;
}

/* The URL of the largest size of the first photo attachment, or NULL. */
static const char *
vk_photo(json_t *msg)
{
	size_t i;
	json_t *a, *s;
	const char *best = NULL;
	json_int_t area = -1;

	json_array_foreach(json_object_get(msg, "attachments"), i, a)
	{
		const char *type =
		    json_string_value(json_object_get(a, "type"));

		if (type == NULL || strcmp(type, "photo") != 0)
			continue;
		json_array_foreach(
		    json_object_get(json_object_get(a, "photo"), "sizes"), i, s)
		{
			json_int_t ar = vk_area(
			    json_integer_value(json_object_get(s, "width")),
			    json_integer_value(json_object_get(s, "height")));

			if (ar > area) {
				area = ar;
				best = json_string_value(
				    json_object_get(s, "url"));
			}
		}
		break;
	}
	return best;
}

static int
vk_message(const struct config_messenger *c, json_t *root,
    struct chan_update *u, char *why, size_t whylen)
{
	json_t *msg =
	    json_object_get(json_object_get(root, "object"), "message");
	json_t *from = json_object_get(msg, "from_id");
	json_t *peer = json_object_get(msg, "peer_id");
	json_t *date = json_object_get(msg, "date");
	const char *ev = json_string_value(json_object_get(root, "event_id"));
	const char *text = json_string_value(json_object_get(msg, "text"));
	const char *photo = vk_photo(msg);

	if (!json_is_integer(from) || !json_is_integer(date) || ev == NULL)
		return vk_fail(why, whylen,
		    "message_new without from_id, date or event_id");
	if (strlen(ev) >= sizeof(u->external_id))
		return vk_fail(why, whylen, "event_id too long");
	if (json_integer_value(from) <= 0 ||
	    json_integer_value(peer) >= VK_PEER_CHATS ||
	    json_integer_value(json_object_get(msg, "out")) != 0)
		return 0; /* communities, group chats, our own */
	snprintf(u->sender, sizeof(u->sender), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(from));
	snprintf(u->external_id, sizeof(u->external_id), "%s", ev);
	snprintf(u->recipient, sizeof(u->recipient), "%s", c->account_id);
	if (photo != NULL && strlen(photo) < sizeof(u->photo))
		snprintf(u->photo, sizeof(u->photo), "%s", photo);
	if (text != NULL && text[0] == '\0')
		text = NULL;
	chan_update_fill(
	    u, "vk", text, chan_time_us(json_integer_value(date), 1000000));
	return 0;
}

static int
vk_parse(void *ctx, const char *body, size_t len, struct chan_update *u,
    char *why, size_t whylen)
{
	const struct config_messenger *c = ctx;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type = json_string_value(json_object_get(root, "type"));
	int rc = 0;

	u->kind = CHAN_IN_IGNORE;
	if (!json_is_object(root) || type == NULL)
		rc = vk_fail(why, whylen, root ? "no type" : "not JSON");
	else if (!vk_group_is(c, root))
		rc = vk_fail(why, whylen, "another group_id");
	else if (strcmp(type, "confirmation") == 0)
		vk_answer(u, c->verify_token);
	else if (strcmp(type, "message_new") == 0)
		rc = vk_message(c, root, u, why, whylen);
	if (rc == 0 && u->answer == NULL)
		vk_answer(u, "ok");
	json_decref(root);
	return rc;
}

/* Append key=value, percent-encoded, to a form of cap bytes; -1 full. */
static int
vk_form_add(char *form, size_t cap, size_t *len, const char *key, const char *v,
    size_t vlen)
{
	static const char hex[] = "0123456789ABCDEF";
	int n =
	    snprintf(form + *len, cap - *len, "%s%s=", *len ? "&" : "", key);

	if (n < 0 || (size_t)n >= cap - *len)
		return -1;
	*len += (size_t)n;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (*len + 4 > cap)
			return -1;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch) != NULL) {
			form[(*len)++] = (char)ch;
		} else {
			form[(*len)++] = '%';
			form[(*len)++] = hex[ch >> 4];
			form[(*len)++] = hex[ch & 15];
		}
	}
	form[*len] = '\0';
	return 0;
}

/* q: POST {api_base}/method/<method>, the form (taken) plus the token and
   version. */
static int
vk_request(const struct config_messenger *c, const char *method, char *form,
    size_t cap, size_t len, struct chan_req *q)
{
	int n = snprintf(
	    q->url, sizeof(q->url), "%s/method/%s", c->api_base, method);

	q->body = form;
	if (n < 0 || (size_t)n >= sizeof(q->url) ||
	    vk_form_add(form, cap, &len, "access_token", c->token,
	        strlen(c->token)) != 0 ||
	    vk_form_add(form, cap, &len, "v", c->api_version,
	        strlen(c->api_version)) != 0)
		return -1;
	q->len = len;
	snprintf(q->hdr[0], sizeof(q->hdr[0]),
	    "Content-Type: application/x-www-form-urlencoded");
	q->headers[0] = q->hdr[0];
	q->headers[1] = NULL;
	return 0;
}

long long
vk_random_id(uint64_t row)
{
	/* VK's random_id is an int32 checked against the community's whole
	   history with the user, so a resend of the row is shown once; rows
	   2^31 - 1 apart would share one (0 turns the check off) */
	return (long long)(row % 2147483647ULL) + 1;
}

static int
vk_build(void *ctx, const struct chan_reply *r, struct chan_req *q)
{
	static const char kbd[] =
	    "{\"one_time\":true,\"buttons\":[[{\"action\":{\"type\":\"text\","
	    "\"label\":\"" CHAN_CANCEL_TEXT "\"},\"color\":\"secondary\"}]]}";
	size_t cap = r->len * 3 + sizeof(kbd) * 3 + 1024, len = 0;
	char *form = malloc(cap), rid[24];

	if (form == NULL)
		return -1;
	form[0] = '\0';
	snprintf(rid, sizeof(rid), "%lld", vk_random_id(r->cookie));
	if (vk_form_add(form, cap, &len, "user_id", r->to, strlen(r->to)) !=
	        0 ||
	    vk_form_add(form, cap, &len, "random_id", rid, strlen(rid)) != 0 ||
	    vk_form_add(form, cap, &len, "message", r->text, r->len) != 0 ||
	    (r->dialog_open &&
	        vk_form_add(
	            form, cap, &len, "keyboard", kbd, sizeof(kbd) - 1) != 0)) {
		q->body = form;
		return -1;
	}
	return vk_request(ctx, "messages.send", form, cap, len, q);
}

/* Seconds before a retry for a temporary error code, 0: the backoff's. */
static int
vk_backoff(json_int_t code)
{
	switch (code) {
	case VK_TOO_MANY: return 1; /* per second */
	case VK_FLOOD: return 5;
	case VK_RATE_LIMIT: return 60; /* the method's quota */
	default: return 0;
	}
}

static enum chan_verdict
vk_verdict(void *ctx, const struct webc_resp *r, char *ext_id, size_t idlen,
    int *retry_after)
{
	json_t *root = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	json_t *resp = json_object_get(root, "response");
	json_t *err =
	    json_object_get(json_object_get(root, "error"), "error_code");
	enum chan_verdict v = CHAN_RETRY;

	(void)ctx;
	*retry_after = r->retry_after;
	if (r->status == 200 && json_is_integer(resp)) {
		v = CHAN_SENT;
		snprintf(ext_id, idlen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(resp));
	} else if (r->status == 200 && json_is_integer(err)) {
		v = CHAN_REJECTED;
		for (size_t i = 0; i < ARRAY_SIZE(vk_temporary); i++)
			if (json_integer_value(err) == vk_temporary[i])
				v = CHAN_RETRY;
		if (*retry_after <= 0)
			*retry_after = vk_backoff(json_integer_value(err));
	}
	json_decref(root);
	return v;
}

const struct chan_api vk_api = {
	.name = "vk",
	.auth = vk_auth,
	.parse = vk_parse,
	.build = vk_build,
	.verdict = vk_verdict,
	.photo_steps = 1,
	.photo_url = chan_photo_url_direct,
};

int
vk_webhook_set_req(
    const struct config_messenger *c, const char *url, struct chan_req *q)
{
	size_t cap = strlen(url) * 3 + 2048, len = 0;
	char *form = malloc(cap);

	if (form == NULL)
		return -1;
	form[0] = '\0';
	if (vk_form_add(form, cap, &len, "group_id", c->account_id,
	        strlen(c->account_id)) != 0 ||
	    vk_form_add(form, cap, &len, "url", url, strlen(url)) != 0 ||
	    vk_form_add(form, cap, &len, "title", "meterline", 9) != 0 ||
	    vk_form_add(form, cap, &len, "secret_key", c->secret,
	        strlen(c->secret)) != 0) {
		q->body = form;
		return -1;
	}
	return vk_request(c, "groups.addCallbackServer", form, cap, len, q);
}

int
vk_webhook_info_req(const struct config_messenger *c, struct chan_req *q)
{
	size_t cap = 1024, len = 0;
	char *form = malloc(cap);

	if (form == NULL)
		return -1;
	form[0] = '\0';
	if (vk_form_add(form, cap, &len, "group_id", c->account_id,
	        strlen(c->account_id)) != 0) {
		q->body = form;
		return -1;
	}
	return vk_request(c, "groups.getCallbackServers", form, cap, len, q);
}
