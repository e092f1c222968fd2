/*
 * The WhatsApp Cloud API adapter (include/meterline/whatsapp.h;
 * developers.facebook.com/docs/whatsapp/cloud-api/webhooks).
 *
 * In: {"object": "whatsapp_business_account", "entry": [{"changes":
 * [{"field": "messages", "value": {"metadata": {"phone_number_id"},
 * "messages": [...], "statuses": [...]}}]}]}, signed with the app secret.
 *   messages[] of type text (text.body), image (image.caption; image.id
 *     kept as the photo: GET {api_base}/{media-id} answers its url, GET
 *     url the bytes, both with the Bearer token), interactive (the cancel
 *     button: button_reply.title) and button: from `from` (the wa_id, a
 *     phone number: also bound as the chat's verified phone), external id
 *     `id` (wamid...), time `timestamp` (seconds).
 *   statuses[] delivered/read/failed: the reply whose wamid they name; a
 *     failure for the closed 24-hour window (errors[].code 131047, how
 *     the Cloud API reports free text sent outside it) is REJECTD.
 * A notification may carry several messages and statuses, of several
 * entries and changes: every one is taken (parse_each).
 *
 * Out: POST {api_base}/{phone_number_id}/messages {messaging_product:
 * whatsapp, to, type: text} with `Authorization: Bearer <token>`; while a
 * dialog is open an interactive message with one reply button (its body
 * holds at most WA_BUTTON_BODY_MAX characters: a longer reply goes as
 * text, without the button).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "meterline/whatsapp.h"

/* Graph API error codes (developers.facebook.com/docs/whatsapp/cloud-api/
   support/error-codes) */
#define WA_RE_ENGAGEMENT 131047 /* the 24-hour window is closed */
#define WA_RATE_LIMIT 130429 /* the number's throughput */
#define WA_SPAM_RATE 131048
#define WA_PAIR_RATE 131056
#define WA_APP_RATE 4 /* the app's Graph API calls */
#define WA_WABA_RATE 80007
#define WA_GENERIC 131000 /* "Something went wrong" */
#define WA_UNAVAILABLE 131016

/* an interactive message's body.text (the text message's is 4096) */
#define WA_BUTTON_BODY_MAX 1024

static int
wa_fail(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return -1;
}

bool
whatsapp_signature_ok(
    const char *app_secret, const char *sig, const char *body, size_t len)
{
	if (sig == NULL || app_secret[0] == '\0')
		return false;
	return http_signature_check(sig, body, len,
	           (const unsigned char *)app_secret,
	           strlen(app_secret)) == HTTP_SIG_OK;
}

static bool
wa_auth(void *ctx, const struct http_exchange *x, const char *body, size_t len)
{
	const struct config_messenger *c = ctx;

	return whatsapp_signature_ok(c->secret,
	    http_exchange_header(x, "X-Hub-Signature-256"), body, len);
}

int
whatsapp_verify(const struct config_messenger *c, const char *mode,
    const char *token, const char *challenge)
{
	if (mode == NULL || token == NULL || challenge == NULL ||
	    strcmp(mode, "subscribe") != 0 || c->verify_token[0] == '\0' ||
	    !chan_secret_equal(token, c->verify_token))
		return -1;
	return 0;
}

static void
wa_handshake(void *ctx, struct http_exchange *x)
{
	char mode[32], token[300], challenge[256];
	bool ok = http_exchange_query(x, "hub.mode", mode, sizeof(mode)) == 0 &&
	    http_exchange_query(x, "hub.verify_token", token, sizeof(token)) ==
	        0 &&
	    http_exchange_query(
	        x, "hub.challenge", challenge, sizeof(challenge)) == 0 &&
	    whatsapp_verify(ctx, mode, token, challenge) == 0;

	if (ok)
		http_exchange_reply_raw(
		    x, 200, "text/plain", challenge, strlen(challenge));
	else
		http_exchange_reply(x, 403,
		    "{\"ok\":false,\"error\":"
		    "\"verification_failed\"}",
		    0);
}

/* The message's text by its type; NULL: nothing to read (the help). */
static const char *
wa_text(json_t *m, const char *type, bool *known)
{
	*known = true;
	if (strcmp(type, "text") == 0)
		return json_string_value(
		    json_object_get(json_object_get(m, "text"), "body"));
	if (strcmp(type, "image") == 0)
		return json_string_value(
		    json_object_get(json_object_get(m, "image"), "caption"));
	if (strcmp(type, "interactive") == 0)
		return json_string_value(json_object_get(
		    json_object_get(
		        json_object_get(m, "interactive"), "button_reply"),
		    "title"));
	if (strcmp(type, "button") == 0)
		return json_string_value(
		    json_object_get(json_object_get(m, "button"), "text"));
	*known = false;
	return NULL;
}

/* An image's media id as u's photo (digits only: it goes in a URL). */
static void
wa_media(json_t *m, const char *type, struct chan_update *u)
{
	const char *id = json_string_value(
	    json_object_get(json_object_get(m, "image"), "id"));
	size_t n = id ? strlen(id) : 0;

	if (strcmp(type, "image") == 0 && n > 0 && n < 64 &&
	    strspn(id, "0123456789") == n)
		snprintf(u->photo, sizeof(u->photo), "%s", id);
}

static int
wa_message(const struct config_messenger *c, json_t *m, struct chan_update *u,
    char *why, size_t whylen)
{
	const char *from = json_string_value(json_object_get(m, "from"));
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *ts = json_string_value(json_object_get(m, "timestamp"));
	const char *type = json_string_value(json_object_get(m, "type"));
	const char *text;
	bool known;
	size_t n;

	if (from == NULL || id == NULL || ts == NULL || type == NULL)
		return wa_fail(
		    why, whylen, "message without from, id, timestamp or type");
	n = strlen(from);
	if (n == 0 || n > 20 || strspn(from, "0123456789") != n)
		return wa_fail(why, whylen, "from is not a wa_id");
	if (strlen(id) >= sizeof(u->external_id) || strlen(ts) > 12 ||
	    strspn(ts, "0123456789") != strlen(ts))
		return wa_fail(why, whylen, "id too long or timestamp bad");
	text = wa_text(m, type, &known);
	if (!known)
		return 0; /* audio, stickers, locations, reactions... */
	snprintf(u->sender, sizeof(u->sender), "%s", from);
	snprintf(u->external_id, sizeof(u->external_id), "%s", id);
	snprintf(u->recipient, sizeof(u->recipient), "%s", c->account_id);
	wa_media(m, type, u);
	/* the wa_id is the number WhatsApp verified: the chat's phone */
	snprintf(u->phone, sizeof(u->phone), "+%s", from);
	if (text != NULL && text[0] == '\0')
		text = NULL;
	chan_update_fill(
	    u, "whatsapp", text, chan_time_us(strtoll(ts, NULL, 10), 1000000));
	return 0;
}

/* A failed status's first error code, 0 when none. */
static json_int_t
wa_error_code(json_t *s)
{
	return json_integer_value(json_object_get(
	    json_array_get(json_object_get(s, "errors"), 0), "code"));
}

static int
wa_status(json_t *s, struct chan_update *u, char *why, size_t whylen)
{
	const char *id = json_string_value(json_object_get(s, "id"));
	const char *st = json_string_value(json_object_get(s, "status"));

	if (id == NULL || id[0] == '\0' || st == NULL ||
	    strlen(id) >= sizeof(u->external_id))
		return wa_fail(why, whylen, "status without id or status");
	if (strcmp(st, "delivered") != 0 && strcmp(st, "read") != 0 &&
	    strcmp(st, "failed") != 0)
		return 0; /* "sent": ours already */
	u->kind = CHAN_IN_STATUS;
	/* as given: ids are case-sensitive base64, matched exactly */
	snprintf(u->external_id, sizeof(u->external_id), "%s", id);
	snprintf(u->status, sizeof(u->status), "%s",
	    strcmp(st, "delivered") == 0  ? "DELIVRD"
	        : strcmp(st, "read") == 0 ? "READ"
	        : wa_error_code(s) == WA_RE_ENGAGEMENT
	        ? "REJECTD" /* free text after the 24-hour window */
	        : "UNDELIV");
	return 0;
}

typedef void wa_each_fn(void *arg, struct chan_update *u, const char *why);

/* One message or status of a notification, to each(). */
static void
wa_take(const struct config_messenger *c, json_t *item, bool message,
    wa_each_fn *each, void *arg)
{
	struct chan_update u;
	char why[160];
	int rc;

	memset(&u, 0, sizeof(u));
	u.kind = CHAN_IN_IGNORE;
	rc = message ? wa_message(c, item, &u, why, sizeof(why))
	             : wa_status(item, &u, why, sizeof(why));
	if (rc != 0)
		each(arg, NULL, why);
	else
		each(arg, &u, NULL);
	free(u.text);
	free(u.answer);
}

static int
wa_parse_each(void *ctx, const char *body, size_t len, wa_each_fn *each,
    void *arg, char *why, size_t whylen)
{
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *obj = json_string_value(json_object_get(root, "object"));
	json_t *e, *ch, *item;
	size_t i, j, k;

	if (!json_is_object(root) || obj == NULL ||
	    !json_is_array(json_object_get(root, "entry"))) {
		json_decref(root);
		return wa_fail(
		    why, whylen, root ? "no object or entry" : "not JSON");
	}
	json_array_foreach(json_object_get(root, "entry"), i, e)
	{
		json_array_foreach(json_object_get(e, "changes"), j, ch)
		{
			json_t *v = json_object_get(ch, "value");

			json_array_foreach(json_object_get(v, "messages"), k,
			    item) wa_take(ctx, item, true, each, arg);
			json_array_foreach(json_object_get(v, "statuses"), k,
			    item) wa_take(ctx, item, false, each, arg);
		}
	}
	json_decref(root);
	return 0;
}

/* The first update of a body (the tests' and fuzzers' single parse). */
struct wa_first {
	struct chan_update *u;
	char *why;
	size_t whylen;
	int rc;
	bool done;
};

static void
wa_first_cb(void *arg, struct chan_update *u, const char *why)
{
	struct wa_first *f = arg;

	if (f->done || (u != NULL && u->kind == CHAN_IN_IGNORE))
		return;
	f->done = true;
	if (u == NULL) {
		f->rc = wa_fail(f->why, f->whylen, why);
		return;
	}
	*f->u = *u;
	f->u->text = NULL;
	f->u->answer = NULL;
	if (u->kind == CHAN_IN_MESSAGE) /* its own copy, msg pointing at it */
		chan_update_fill(f->u, "whatsapp", u->text, u->msg.time_us);
}

static int
wa_parse(void *ctx, const char *body, size_t len, struct chan_update *u,
    char *why, size_t whylen)
{
	struct wa_first f = { u, why, whylen, 0, false };

	u->kind = CHAN_IN_IGNORE;
	if (wa_parse_each(ctx, body, len, wa_first_cb, &f, why, whylen) != 0)
		return -1;
	return f.rc;
}

/* q: POST {api_base}/{phone_number_id}/messages, Bearer, the body (taken). */
static int
wa_request(const struct config_messenger *c, json_t *body, struct chan_req *q)
{
	int n = snprintf(q->url, sizeof(q->url), "%s/%s/messages", c->api_base,
	    c->account_id);

	q->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (n < 0 || (size_t)n >= sizeof(q->url) || q->body == NULL)
		return -1;
	q->len = strlen(q->body);
	n = snprintf(
	    q->hdr[0], sizeof(q->hdr[0]), "Authorization: Bearer %s", c->token);
	if (n < 0 || (size_t)n >= sizeof(q->hdr[0]))
		return -1;
	snprintf(
	    q->hdr[1], sizeof(q->hdr[1]), "Content-Type: application/json");
	q->headers[0] = q->hdr[0];
	q->headers[1] = q->hdr[1];
	q->headers[2] = NULL;
	return 0;
}

/* UTF-8 characters in s (WhatsApp's limits count characters). */
static size_t
wa_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static int
wa_build(void *ctx, const struct chan_reply *r, struct chan_req *q)
{
	json_t *b;

	if (r->as_template) /* a reminder: outside the window too */
		return whatsapp_template_req(ctx, r->to, q);
	if (r->dialog_open && wa_chars(r->text, r->len) <= WA_BUTTON_BODY_MAX)
		/* a reply button that sends the cancel */
		b = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:{s:s%},s:{s:[{s:s,"
		              "s:{s:s,s:s}}]}}}",
		    "messaging_product", "whatsapp", "recipient_type",
		    "individual", "to", r->to, "type", "interactive",
		    "interactive", "type", "button", "body", "text", r->text,
		    r->len, "action", "buttons", "type", "reply", "reply", "id",
		    "cancel", "title", CHAN_CANCEL_TEXT);
	else
		b = json_pack("{s:s,s:s,s:s,s:s,s:{s:b,s:s%}}",
		    "messaging_product", "whatsapp", "recipient_type",
		    "individual", "to", r->to, "type", "text", "text",
		    "preview_url", 0, "body", r->text, r->len);
	return b ? wa_request(ctx, b, q) : -1;
}

int
whatsapp_template_req(
    const struct config_messenger *c, const char *to, struct chan_req *q)
{
	json_t *b;

	if (c->template_name[0] == '\0')
		return -1;
	b = json_pack("{s:s,s:s,s:s,s:{s:s,s:{s:s}}}", "messaging_product",
	    "whatsapp", "to", to, "type", "template", "template", "name",
	    c->template_name, "language", "code",
	    c->template_lang[0] ? c->template_lang : "ru");
	return b ? wa_request(c, b, q) : -1;
}

static enum chan_verdict
wa_verdict(void *ctx, const struct webc_resp *r, char *ext_id, size_t idlen,
    int *retry_after)
{
	json_t *root = r->len ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(
	    json_array_get(json_object_get(root, "messages"), 0), "id"));
	json_int_t code = json_integer_value(
	    json_object_get(json_object_get(root, "error"), "code"));
	enum chan_verdict v = CHAN_RETRY;

	(void)ctx;
	*retry_after = r->retry_after;
	if (r->status == 200 && id != NULL) {
		v = CHAN_SENT;
		/* as given: a status names it byte for byte */
		snprintf(ext_id, idlen, "%s", id);
	} else if (code == WA_RE_ENGAGEMENT) {
		/* free text outside the 24-hour window: never, whatever
		   retries; the row says why */
		v = CHAN_REJECTED;
		snprintf(ext_id, idlen, "%s", WHATSAPP_WINDOW_CLOSED);
	} else if (code == WA_RATE_LIMIT || code == WA_SPAM_RATE ||
	    code == WA_PAIR_RATE || code == WA_APP_RATE ||
	    code == WA_WABA_RATE) {
		v = CHAN_RETRY;
		if (*retry_after <= 0)
			*retry_after = 5;
	} else if (code == WA_GENERIC || code == WA_UNAVAILABLE) {
		v = CHAN_RETRY; /* Meta's own trouble, whatever the status */
	} else if (r->status == 400 || r->status == 403 || r->status == 404) {
		v = CHAN_REJECTED;
	}
	json_decref(root);
	return v;
}

/* Photos: step 0 GET {api_base}/{media-id} -> {"url": ...}; step 1 that
   url. Both carry the Bearer token (wa_photo_header). */
static int
wa_photo_url(void *ctx, const char *ref, int step, const struct webc_resp *prev,
    char *url, size_t len)
{
	const struct config_messenger *c = ctx;
	const char *file;
	json_t *root;
	int rc, n;

	if (step == 0) {
		n = snprintf(url, len, "%s/%s", c->api_base, ref);
		return n < 0 || (size_t)n >= len ||
		        strspn(ref, "0123456789") != strlen(ref)
		    ? -1
		    : 0;
	}
	root = json_loadb(prev->body, prev->len, 0, NULL);
	file = json_string_value(json_object_get(root, "url"));
	rc = file ? chan_photo_url_direct(ctx, file, 0, NULL, url, len) : -1;
	json_decref(root);
	return rc;
}

static int
wa_photo_header(void *ctx, char *line, size_t len)
{
	const struct config_messenger *c = ctx;
	int n = snprintf(line, len, "Authorization: Bearer %s", c->token);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const struct chan_api whatsapp_api = {
	.name = "whatsapp",
	.auth = wa_auth,
	.handshake = wa_handshake,
	.parse = wa_parse,
	.parse_each = wa_parse_each,
	.build = wa_build,
	.verdict = wa_verdict,
	.photo_steps = 2,
	.photo_url = wa_photo_url,
	.photo_header = wa_photo_header,
};
