/*
 * The Telegram, MAX, Viber, WhatsApp Cloud and VK adapters on the
 * platforms' own documented examples (tests/msgr/fixtures/README.md names
 * each source), not on our fakes' JSON: each fixture goes through the adapter's real
 * parse, verdict or photo steps, and its raw bytes through the signature
 * check, with the HMAC computed here by OpenSSL. A shape we misread
 * together with our fakes fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/hmac.h>

#include "meterline/max.h"
#include "meterline/telegram.h"
#include "meterline/viber.h"
#include "meterline/vk.h"
#include "meterline/whatsapp.h"

static struct config_messenger tg_cfg = { .enabled = true,
	.token = "5555555555:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
	.secret = "tg-secret",
	.api_base = "https://api.telegram.org" };

static struct config_messenger max_cfg = { .enabled = true,
	.token = "max-token",
	.secret = "max-secret",
	.api_base = "https://platform-api2.max.ru" };

static struct config_messenger viber_cfg = { .enabled = true,
	.token = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9",
	.bot_name = "Счётчик",
	.welcome = "Пришлите показания",
	.api_base = "https://chatapi.viber.com" };

static struct config_messenger wa_cfg = { .enabled = true,
	.token = "EAAG-token",
	.secret = "app-secret",
	.verify_token = "verify-me",
	.account_id = "106540352242922",
	.template_name = "meter_reminder",
	.template_lang = "ru",
	.api_base = "https://graph.facebook.com/v21.0" };

static struct config_messenger vk_cfg = { .enabled = true,
	.token = "vk1.a.token",
	.secret = "vk-secret",
	.verify_token = "1a2b3c4d",
	.account_id = "199493573",
	.api_version = "5.199",
	.api_base = "https://api.vk.com" };

/* The fixture's bytes, NUL-terminated (the caller frees). */
static char *
fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", MLINE_MSGR_FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Lowercase hex HMAC-SHA256, by OpenSSL (not by the code under test). */
static void
hmac_hex(const char *key, const char *body, size_t len, char out[65])
{
	unsigned char mac[32];
	unsigned int n = 0;

	assert_non_null(HMAC(EVP_sha256(), key, (int)strlen(key),
	    (const unsigned char *)body, len, mac, &n));
	assert_int_equal(n, 32);
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void
update_free(struct chan_update *u)
{
	free(u->text);
	free(u->answer);
	memset(u, 0, sizeof(*u));
}

/* Parse fixture name with api's single-update parse; its return code. */
static int
parse(const struct chan_api *api, struct config_messenger *c, const char *name,
    struct chan_update *u)
{
	char why[160];
	size_t len;
	char *body = fixture(name, &len);
	int rc;

	memset(u, 0, sizeof(*u));
	rc = api->parse(c, body, len, u, why, sizeof(why));
	free(body);
	return rc;
}

/* ---- Viber --------------------------------------------------------------- */

static void
test_viber_message(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse(&viber_api, &viber_cfg, "viber/message_text.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "viber");
	assert_string_equal(u.sender, "01234567890A=");
	assert_string_equal(u.msg.text, "a message to the service");
	assert_string_equal(u.external_id, "4912661846655238145");
	assert_int_equal(u.msg.time_us, 1457764197627000LL);
	/* a text message: its "media" field is not a photo */
	assert_string_equal(u.photo, "");
	update_free(&u);
}

static void
test_viber_events(void **state)
{
	struct chan_update u;
	json_t *w;

	(void)state;
	assert_int_equal(
	    parse(&viber_api, &viber_cfg, "viber/subscribed.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	update_free(&u);
	assert_int_equal(
	    parse(&viber_api, &viber_cfg, "viber/unsubscribed.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	update_free(&u);
	/* the welcome is the callback's answer, in send_message's shape */
	assert_int_equal(parse(&viber_api, &viber_cfg,
	                     "viber/conversation_started.json", &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_non_null(u.answer);
	w = json_loads(u.answer, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(w, "sender"), "name")),
	    "Счётчик");
	assert_string_equal(
	    json_string_value(json_object_get(w, "type")), "text");
	assert_string_equal(json_string_value(json_object_get(w, "text")),
	    "Пришлите показания");
	json_decref(w);
	update_free(&u);
}

static void
test_viber_receipts(void **state)
{
	static const struct {
		const char *file, *status;
	} t[] = { { "viber/delivered.json", "DELIVRD" },
		{ "viber/seen.json", "READ" },
		{ "viber/failed.json", "UNDELIV" } };
	struct chan_update u;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(
		    parse(&viber_api, &viber_cfg, t[i].file, &u), 0);
		assert_int_equal(u.kind, CHAN_IN_STATUS);
		assert_string_equal(u.external_id, "4912661846655238145");
		assert_string_equal(u.status, t[i].status);
		update_free(&u);
	}
}

static void
test_viber_signature(void **state)
{
	size_t len;
	char *body = fixture("viber/message_text.json", &len);
	char hex[65];
	json_t *j = json_loadb(body, len, 0, NULL);
	char *compact = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	(void)state;
	/* the header is the bare hex, no "sha256=" (Viber's docs and SDKs) */
	hmac_hex(viber_cfg.token, body, len, hex);
	assert_true(viber_signature_ok(viber_cfg.token, hex, body, len));
	assert_false(viber_signature_ok("another-token", hex, body, len));
	/* the same JSON re-serialised: the MAC is over the raw bytes */
	assert_false(
	    viber_signature_ok(viber_cfg.token, hex, compact, strlen(compact)));
	free(compact);
	json_decref(j);
	free(body);
}

/* Our send_message body has every field of the documented request, with
   the same JSON types. */
static void
test_viber_send_shape(void **state)
{
	struct chan_reply r = { 7, "01234567890A=", "Hello world!", 12, false };
	struct chan_req q;
	size_t len;
	char *doc = fixture("viber/send_message_request.json", &len);
	json_t *d = json_loadb(doc, len, 0, NULL), *b;
	const char *keys[] = { "receiver", "min_api_version", "sender", "type",
		"text" };

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_int_equal(viber_api.build(&viber_cfg, &r, &q), 0);
	assert_string_equal(q.url, "https://chatapi.viber.com/pa/send_message");
	assert_string_equal(q.headers[0],
	    "X-Viber-Auth-Token: 445da6az1s345z78-dazcczb2542zv51a-"
	    "e0vc5fva17480im9");
	b = json_loadb(q.body, q.len, 0, NULL);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(json_typeof(json_object_get(b, keys[i])),
		    json_typeof(json_object_get(d, keys[i])));
	assert_true(json_is_string(
	    json_object_get(json_object_get(b, "sender"), "name")));
	json_decref(b);
	json_decref(d);
	free(q.body);
	free(doc);
}

/* ---- WhatsApp ------------------------------------------------------------ */

/* What parse_each gave, in order. */
struct wa_got {
	int n, refused;
	struct chan_update u[8];
};

static void
wa_collect(void *arg, struct chan_update *u, const char *why)
{
	struct wa_got *g = arg;

	(void)why;
	if (u == NULL) {
		g->refused++;
		return;
	}
	assert_true(g->n < 8);
	g->u[g->n] = *u;
	/* the adapter frees its strings after the call: keep copies */
	g->u[g->n].text = u->text ? strdup(u->text) : NULL;
	g->u[g->n].answer = NULL;
	g->n++;
}

static void
wa_got_free(struct wa_got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->u[i].text);
}

static void
wa_each(const char *body, size_t len, struct wa_got *g)
{
	char why[160];

	memset(g, 0, sizeof(*g));
	assert_int_equal(whatsapp_api.parse_each(&wa_cfg, body, len, wa_collect,
	                     g, why, sizeof(why)),
	    0);
}

static void
wa_each_file(const char *name, struct wa_got *g)
{
	size_t len;
	char *body = fixture(name, &len);

	wa_each(body, len, g);
	free(body);
}

static void
test_wa_text(void **state)
{
	struct wa_got g;

	(void)state;
	/* the App Dashboard's test notification */
	wa_each_file("whatsapp/text_dashboard_test.json", &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.u[0].kind, CHAN_IN_MESSAGE);
	assert_string_equal(g.u[0].sender, "16315551181");
	assert_string_equal(g.u[0].phone, "+16315551181");
	assert_string_equal(g.u[0].external_id, "ABGGFlA5Fpa");
	assert_string_equal(g.u[0].text, "this is a text message");
	assert_int_equal(g.u[0].msg.time_us, 1504902988000000LL);
	wa_got_free(&g);
	wa_each_file("whatsapp/text.json", &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.u[0].external_id,
	    "wamid.HBgLNjAxNzM1MjYyMzMVAgASGBQzQUI0NkE4NjM1QTU2NjVGOURGQgA=");
	assert_string_equal(g.u[0].text, "Hihu");
	wa_got_free(&g);
}

static void
test_wa_image(void **state)
{
	struct wa_got g;
	char url[1024], hdr[320];
	size_t len;
	char *media = fixture("whatsapp/media_url.json", &len);
	struct webc_resp prev = { .status = 200, .body = media, .len = len };

	(void)state;
	wa_each_file("whatsapp/image.json", &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.u[0].kind, CHAN_IN_MESSAGE);
	assert_string_equal(g.u[0].text, "This is a caption");
	assert_string_equal(g.u[0].photo, "2754859441498128");
	/* the photo's two steps: GET /{media-id}, then its url; Bearer */
	assert_int_equal(whatsapp_api.photo_steps, 2);
	assert_int_equal(whatsapp_api.photo_url(
	                     &wa_cfg, g.u[0].photo, 0, NULL, url, sizeof(url)),
	    0);
	assert_string_equal(
	    url, "https://graph.facebook.com/v21.0/2754859441498128");
	assert_int_equal(whatsapp_api.photo_url(
	                     &wa_cfg, g.u[0].photo, 1, &prev, url, sizeof(url)),
	    0);
	assert_string_equal(url,
	    "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
	    "?mid=2754859441498128&ext=1691187458&hash="
	    "ATuZ2EFdDAsJE6cQ1Wz8ydPhVGJKNtW_zM4ADGJ2rzDWEQ");
	assert_int_equal(
	    whatsapp_api.photo_header(&wa_cfg, hdr, sizeof(hdr)), 0);
	assert_string_equal(hdr, "Authorization: Bearer EAAG-token");
	/* a media id that is not digits never reaches a URL */
	assert_int_equal(whatsapp_api.photo_url(
	                     &wa_cfg, "1/../x", 0, NULL, url, sizeof(url)),
	    -1);
	wa_got_free(&g);
	free(media);
}

static void
test_wa_statuses(void **state)
{
	struct wa_got g;

	(void)state;
	wa_each_file("whatsapp/status_sent.json", &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.u[0].kind, CHAN_IN_IGNORE); /* "sent": ours */
	wa_each_file("whatsapp/status_delivered.json", &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.u[0].kind, CHAN_IN_STATUS);
	assert_string_equal(g.u[0].status, "DELIVRD");
	/* as given, as the verdict keeps the send's id */
	assert_string_equal(g.u[0].external_id,
	    "wamid.HBgNNTUxNjk5MjMxODIyMhUCABEYEjgxQkVFRDVBQTVDODFDOTg3MQA=");
	wa_each_file("whatsapp/status_failed_131047.json", &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.u[0].kind, CHAN_IN_STATUS);
	assert_string_equal(g.u[0].status, "REJECTD");
}

/* Several messages and statuses, of two entries and two changes, in one
   notification (the documented examples put together): every one taken,
   a malformed one refused alone. */
static void
test_wa_batch(void **state)
{
	size_t l1, l2, l3, l4;
	char *t = fixture("whatsapp/text.json", &l1);
	char *im = fixture("whatsapp/image.json", &l2);
	char *dl = fixture("whatsapp/status_delivered.json", &l3);
	char *fl = fixture("whatsapp/status_failed_131047.json", &l4);
	json_t *root = json_loadb(t, l1, 0, NULL);
	json_t *img = json_loadb(im, l2, 0, NULL);
	json_t *del = json_loadb(dl, l3, 0, NULL);
	json_t *fail = json_loadb(fl, l4, 0, NULL);
	json_t *value = json_object_get(
	    json_object_get(
	        json_array_get(
	            json_object_get(
	                json_array_get(json_object_get(root, "entry"), 0),
	                "changes"),
	            0),
	        "value"),
	    "messages");
	json_t *e0changes = json_object_get(
	    json_array_get(json_object_get(root, "entry"), 0), "changes");
	struct wa_got g;
	char *body;

	(void)state;
	/* entry 0: change 0 the text and the image (and a broken one),
	   change 1 the delivered status; entry 1: the failed status */
	json_array_append(value,
	    json_array_get(
	        json_object_get(
	            json_object_get(
	                json_array_get(
	                    json_object_get(
	                        json_array_get(
	                            json_object_get(img, "entry"), 0),
	                        "changes"),
	                    0),
	                "value"),
	            "messages"),
	        0));
	json_array_append_new(value,
	    json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "from", "+7912", "id",
	        "wamid.bad", "timestamp", "1", "type", "text", "text", "body",
	        "x"));
	json_array_append(e0changes,
	    json_array_get(json_object_get(
	                       json_array_get(json_object_get(del, "entry"), 0),
	                       "changes"),
	        0));
	json_array_append(json_object_get(root, "entry"),
	    json_array_get(json_object_get(fail, "entry"), 0));
	body = json_dumps(root, JSON_COMPACT);
	wa_each(body, strlen(body), &g);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.refused, 1);
	assert_string_equal(g.u[0].text, "Hihu");
	assert_string_equal(g.u[1].photo, "2754859441498128");
	assert_string_equal(g.u[2].status, "DELIVRD");
	assert_string_equal(g.u[3].status, "REJECTD");
	wa_got_free(&g);
	free(body);
	json_decref(root);
	json_decref(img);
	json_decref(del);
	json_decref(fail);
	free(t);
	free(im);
	free(dl);
	free(fl);
}

static void
test_wa_signature(void **state)
{
	size_t len;
	char *body = fixture("whatsapp/text.json", &len);
	char hex[65], hdr[80];

	(void)state;
	hmac_hex(wa_cfg.secret, body, len, hex);
	snprintf(hdr, sizeof(hdr), "sha256=%s", hex);
	assert_true(whatsapp_signature_ok(wa_cfg.secret, hdr, body, len));
	assert_false(whatsapp_signature_ok(wa_cfg.secret, hex, body, len));
	body[len - 2] ^= 1; /* one byte changed */
	assert_false(whatsapp_signature_ok(wa_cfg.secret, hdr, body, len));
	free(body);
}

static enum chan_verdict
verdict(const struct chan_api *api, struct config_messenger *c, int status,
    const char *name, char *ext, size_t extlen, int *retry)
{
	size_t len;
	char *body = fixture(name, &len);
	struct webc_resp r = { .status = status, .body = body, .len = len };
	enum chan_verdict v;

	ext[0] = '\0';
	v = api->verdict(c, &r, ext, extlen, retry);
	free(body);
	return v;
}

static void
test_wa_answers(void **state)
{
	char ext[72];
	int retry;

	(void)state;
	assert_int_equal(
	    verdict(&whatsapp_api, &wa_cfg, 200, "whatsapp/send_response.json",
	        ext, sizeof(ext), &retry),
	    CHAN_SENT);
	assert_string_equal(
	    ext, "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA");
	assert_int_equal(
	    verdict(&whatsapp_api, &wa_cfg, 400, "whatsapp/error_131047.json",
	        ext, sizeof(ext), &retry),
	    CHAN_REJECTED);
	assert_string_equal(ext, WHATSAPP_WINDOW_CLOSED);
	assert_int_equal(
	    verdict(&whatsapp_api, &wa_cfg, 400, "whatsapp/error_130429.json",
	        ext, sizeof(ext), &retry),
	    CHAN_RETRY);
	assert_true(retry > 0);
}

/* The button's interactive body holds 1,024 characters: a longer reply
   goes as a text message (4,096), without the button. */
static void
test_wa_button_limit(void **state)
{
	char text[2 * 1100 + 1];
	struct chan_reply r = { 1, "16505551234", text, 0, true };
	struct chan_req q;
	json_t *b;

	(void)state;
	for (int i = 0; i < 1100; i++)
		memcpy(text + 2 * i, "я", 2);
	text[2 * 1100] = '\0';
	for (int n = 1024; n <= 1025; n++) {
		r.len = 2 * (size_t)n;
		memset(&q, 0, sizeof(q));
		assert_int_equal(whatsapp_api.build(&wa_cfg, &r, &q), 0);
		b = json_loadb(q.body, q.len, 0, NULL);
		assert_string_equal(
		    json_string_value(json_object_get(b, "type")),
		    n == 1024 ? "interactive" : "text");
		json_decref(b);
		free(q.body);
	}
}

/* ---- VK ------------------------------------------------------------------ */

static void
test_vk_confirmation(void **state)
{
	struct chan_update u;
	size_t len;
	char *body = fixture("vk/confirmation.json", &len);

	(void)state;
	/* no secret in a confirmation: our group_id is enough */
	assert_true(vk_authentic(&vk_cfg, body, len));
	assert_int_equal(
	    parse(&vk_api, &vk_cfg, "vk/confirmation.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_string_equal(u.answer, "1a2b3c4d");
	assert_string_equal(u.answer_type, "text/plain");
	update_free(&u);
	free(body);
}

static void
test_vk_message_new(void **state)
{
	struct chan_update u;
	size_t len;
	char *body = fixture("vk/message_new_private.json", &len);
	json_t *j = json_loadb(body, len, 0, NULL);
	char *signed_body;

	(void)state;
	/* without the secret: not VK's; with it: VK's */
	assert_false(vk_authentic(&vk_cfg, body, len));
	json_object_set_new(j, "secret", json_string("vk-secret"));
	signed_body = json_dumps(j, JSON_COMPACT);
	assert_true(vk_authentic(&vk_cfg, signed_body, strlen(signed_body)));
	assert_int_equal(
	    parse(&vk_api, &vk_cfg, "vk/message_new_private.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "vk");
	assert_string_equal(u.sender, "22757746");
	assert_string_equal(u.msg.text, "1");
	assert_string_equal(
	    u.external_id, "20a812cb0e42e89e4fbe5f49df1600e1e79983ac");
	assert_int_equal(u.msg.time_us, 1634665118000000LL);
	assert_string_equal(u.answer, "ok");
	update_free(&u);
	free(signed_body);
	json_decref(j);
	free(body);
}

static void
test_vk_group_chat(void **state)
{
	struct config_messenger c = vk_cfg;
	struct chan_update u;

	(void)state;
	/* another community's event is refused */
	assert_int_equal(
	    parse(&vk_api, &vk_cfg, "vk/message_new_chat.json", &u), -1);
	update_free(&u);
	snprintf(c.account_id, sizeof(c.account_id), "214167102");
	/* a group chat (peer_id >= 2000000000): answered ok, not stored */
	assert_int_equal(parse(&vk_api, &c, "vk/message_new_chat.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_string_equal(u.answer, "ok");
	update_free(&u);
}

static void
test_vk_answers(void **state)
{
	char ext[72];
	int retry;

	(void)state;
	assert_int_equal(verdict(&vk_api, &vk_cfg, 200, "vk/send_response.json",
	                     ext, sizeof(ext), &retry),
	    CHAN_SENT);
	assert_string_equal(ext, "1450");
	assert_int_equal(verdict(&vk_api, &vk_cfg, 200, "vk/error_6.json", ext,
	                     sizeof(ext), &retry),
	    CHAN_RETRY);
	assert_int_equal(retry, 1);
	assert_int_equal(verdict(&vk_api, &vk_cfg, 200, "vk/error_9.json", ext,
	                     sizeof(ext), &retry),
	    CHAN_RETRY);
	assert_true(retry >= 1);
	assert_int_equal(verdict(&vk_api, &vk_cfg, 200, "vk/error_901.json",
	                     ext, sizeof(ext), &retry),
	    CHAN_REJECTED);
}

/* messages.send as documented: random_id (int32, not 0) fixed by the
   row, the user, the text, the token and v. */
static void
test_vk_send(void **state)
{
	struct chan_reply r = { 4242, "22757746", "Показания приняты",
		strlen("Показания приняты"), false };
	struct chan_req q, q2;

	(void)state;
	memset(&q, 0, sizeof(q));
	memset(&q2, 0, sizeof(q2));
	assert_int_equal(vk_api.build(&vk_cfg, &r, &q), 0);
	assert_int_equal(vk_api.build(&vk_cfg, &r, &q2), 0);
	assert_string_equal(q.url, "https://api.vk.com/method/messages.send");
	assert_non_null(strstr(q.body, "user_id=22757746&random_id=4243&"));
	assert_non_null(strstr(q.body, "&access_token=vk1.a.token&v=5.199"));
	assert_string_equal(q.body, q2.body); /* a resend is the same send */
	assert_true(vk_random_id(0) > 0);
	assert_true(vk_random_id(UINT64_MAX) <= 2147483647LL);
	free(q.body);
	free(q2.body);
}

/* ---- Telegram -------------------------------------------------------- */

/*
 * The webhooks guide's example updates: a private text, a forward, an
 * edit, entities, a voice note, a document, an inline query, a callback.
 */
static void
test_tg_guide_updates(void **state)
{
	static const char *const ignored[] = { "telegram/edited_message.json",
		"telegram/inline_query.json", "telegram/callback_query.json" };
	static const char *const helped[] = { "telegram/forwarded.json",
		"telegram/voice.json", "telegram/document.json" };
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse(&telegram_api, &tg_cfg, "telegram/message_text.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "telegram");
	assert_string_equal(u.sender, "1111111"); /* the chat */
	assert_string_equal(u.recipient, "5555555555"); /* the bot */
	assert_string_equal(u.external_id, "10000"); /* update_id */
	assert_int_equal(u.msg.time_us, 1441645532000000LL);
	assert_string_equal(u.msg.text, "?"); /* /start: the help */
	update_free(&u);
	assert_int_equal(
	    parse(&telegram_api, &tg_cfg, "telegram/entities.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.text, "Bold and italics");
	update_free(&u);
	/* a forward of /start, a voice note, a file: the help, no crash */
	for (size_t i = 0; i < sizeof(helped) / sizeof(helped[0]); i++) {
		assert_int_equal(
		    parse(&telegram_api, &tg_cfg, helped[i], &u), 0);
		assert_int_equal(u.kind, CHAN_IN_MESSAGE);
		assert_string_equal(u.msg.text, "?");
		assert_string_equal(u.photo, "");
		update_free(&u);
	}
	/* an edit changes no reading; queries are not messages: 200 only */
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		assert_int_equal(
		    parse(&telegram_api, &tg_cfg, ignored[i], &u), 0);
		assert_int_equal(u.kind, CHAN_IN_IGNORE);
		update_free(&u);
	}
}

/* A photo with its caption (the largest size kept), contacts, a group. */
static void
test_tg_photo_contact(void **state)
{
	struct chan_update u;
	char url[1024];
	size_t len;
	char *file = fixture("telegram/getfile_response.json", &len);
	struct webc_resp prev = { .status = 200, .body = file, .len = len };

	(void)state;
	assert_int_equal(
	    parse(&telegram_api, &tg_cfg, "telegram/photo_caption.json", &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.text, "ПС 102057522 11638");
	assert_string_equal(u.photo, "AgACAgIAAxkBAAMEZ1aLargeSize");
	assert_int_equal(telegram_api.photo_steps, 2);
	assert_int_equal(
	    telegram_api.photo_url(&tg_cfg, u.photo, 0, NULL, url, sizeof(url)),
	    0);
	assert_string_equal(url,
	    "https://api.telegram.org/bot5555555555:"
	    "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getFile?file_id="
	    "AgACAgIAAxkBAAMEZ1aLargeSize");
	assert_int_equal(telegram_api.photo_url(
	                     &tg_cfg, u.photo, 1, &prev, url, sizeof(url)),
	    0);
	assert_string_equal(url,
	    "https://api.telegram.org/file/bot5555555555:"
	    "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/photos/file_0.jpg");
	update_free(&u);
	/* the sender's own card: a verified phone */
	assert_int_equal(
	    parse(&telegram_api, &tg_cfg, "telegram/contact_own.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.phone, "79123456789");
	update_free(&u);
	/* someone else's card binds nothing */
	assert_int_equal(
	    parse(&telegram_api, &tg_cfg, "telegram/contact_other.json", &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_string_equal(u.phone, "");
	update_free(&u);
	/* a group's message is not a customer's */
	assert_int_equal(
	    parse(&telegram_api, &tg_cfg, "telegram/group_message.json", &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	update_free(&u);
	free(file);
}

static void
test_tg_answers(void **state)
{
	char ext[72];
	int retry = -1;

	(void)state;
	assert_int_equal(
	    verdict(&telegram_api, &tg_cfg, 200, "telegram/send_response.json",
	        ext, sizeof(ext), &retry),
	    CHAN_SENT);
	assert_string_equal(ext, "1369");
	assert_int_equal(
	    verdict(&telegram_api, &tg_cfg, 429, "telegram/error_429.json", ext,
	        sizeof(ext), &retry),
	    CHAN_RETRY);
	assert_int_equal(retry, 7); /* parameters.retry_after */
	assert_int_equal(
	    verdict(&telegram_api, &tg_cfg, 403, "telegram/error_403.json", ext,
	        sizeof(ext), &retry),
	    CHAN_REJECTED);
}

/* sendMessage as documented: chat_id an Integer, text, reply_markup. */
static void
test_tg_send(void **state)
{
	struct chan_reply r = { 7, "1111111", "Введите показания: ночь",
		strlen("Введите показания: ночь"), true };
	struct chan_req q;
	json_t *b, *kb;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_int_equal(telegram_api.build(&tg_cfg, &r, &q), 0);
	assert_string_equal(q.url,
	    "https://api.telegram.org/bot5555555555:"
	    "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage");
	assert_string_equal(q.headers[0], "Content-Type: application/json");
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_non_null(b);
	assert_int_equal(
	    json_integer_value(json_object_get(b, "chat_id")), 1111111);
	assert_string_equal(json_string_value(json_object_get(b, "text")),
	    "Введите показания: ночь");
	/* ReplyKeyboardMarkup: keyboard is an array of rows of buttons */
	kb = json_object_get(json_object_get(b, "reply_markup"), "keyboard");
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_array_get(kb, 0), 0), "text")),
	    CHAN_CANCEL_TEXT);
	json_decref(b);
	free(q.body);
	/* no dialog: the keyboard is taken away (ReplyKeyboardRemove) */
	r.dialog_open = false;
	memset(&q, 0, sizeof(q));
	assert_int_equal(telegram_api.build(&tg_cfg, &r, &q), 0);
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_true(json_is_true(json_object_get(
	    json_object_get(b, "reply_markup"), "remove_keyboard")));
	json_decref(b);
	free(q.body);
	/* a chat id that is not a number never reaches a request */
	r.to = "1111111; DROP";
	assert_int_equal(telegram_api.build(&tg_cfg, &r, &q), -1);
}

/* ---- MAX ------------------------------------------------------------- */

/* The official Go client's webhook stubs and shapes of its schema. */
static void
test_max_updates(void **state)
{
	static const char *const ignored[] = {
		"max/message_created_chat.json", /* a group chat */
		"max/message_edited.json", "max/message_callback.json"
	};
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse(&max_api, &max_cfg, "max/message_created_dialog.json", &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "max");
	assert_string_equal(u.sender, "123456789");
	assert_string_equal(u.recipient, "229229229"); /* the bot */
	assert_string_equal(
	    u.external_id, "mid.000000000adf429c019d47b1ce4600ff");
	assert_int_equal(u.msg.time_us, 1775025603399000LL); /* ms */
	assert_string_equal(u.msg.text, "ПС 102057522 11638");
	update_free(&u);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		assert_int_equal(parse(&max_api, &max_cfg, ignored[i], &u), 0);
		assert_int_equal(u.kind, CHAN_IN_IGNORE);
		update_free(&u);
	}
	/* Start pressed: the help, once per (user, time) */
	assert_int_equal(
	    parse(&max_api, &max_cfg, "max/bot_started.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.sender, "123456789");
	assert_string_equal(u.external_id, "start:123456789:1775025604499");
	assert_string_equal(u.msg.text, "?");
	update_free(&u);
}

static void
test_max_image(void **state)
{
	struct chan_update u;
	char url[1024];

	(void)state;
	assert_int_equal(parse(&max_api, &max_cfg, "max/image.json", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(
	    u.photo, "https://i.oneme.ru/i?r=BTGBPUwtwgYUeoFhO7rESmr8");
	assert_string_equal(u.msg.text, "?"); /* a bare photo */
	assert_int_equal(max_api.photo_steps, 1);
	assert_int_equal(
	    max_api.photo_url(&max_cfg, u.photo, 0, NULL, url, sizeof(url)), 0);
	assert_string_equal(url, u.photo);
	update_free(&u);
}

static void
test_max_answers_send(void **state)
{
	struct chan_reply r = { 9, "123456789", "Показания приняты. Спасибо.",
		strlen("Показания приняты. Спасибо."), false };
	struct chan_req q;
	char ext[72];
	int retry;
	json_t *b;

	(void)state;
	assert_int_equal(
	    verdict(&max_api, &max_cfg, 200, "max/send_response.json", ext,
	        sizeof(ext), &retry),
	    CHAN_SENT);
	assert_string_equal(ext, "mid.000000000adf429c019d47d58f2b3d9e");
	/* a wrong token: kept and retried until the operator fixes it */
	assert_int_equal(
	    verdict(&max_api, &max_cfg, 401, "max/error_invalid_token.json",
	        ext, sizeof(ext), &retry),
	    CHAN_RETRY);
	memset(&q, 0, sizeof(q));
	assert_int_equal(max_api.build(&max_cfg, &r, &q), 0);
	assert_string_equal(
	    q.url, "https://platform-api2.max.ru/messages?user_id=123456789");
	assert_string_equal(q.headers[0], "Authorization: max-token");
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(b, "text")),
	    "Показания приняты. Спасибо.");
	json_decref(b);
	free(q.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tg_guide_updates),
		cmocka_unit_test(test_tg_photo_contact),
		cmocka_unit_test(test_tg_answers),
		cmocka_unit_test(test_tg_send),
		cmocka_unit_test(test_max_updates),
		cmocka_unit_test(test_max_image),
		cmocka_unit_test(test_max_answers_send),
		cmocka_unit_test(test_viber_message),
		cmocka_unit_test(test_viber_events),
		cmocka_unit_test(test_viber_receipts),
		cmocka_unit_test(test_viber_signature),
		cmocka_unit_test(test_viber_send_shape),
		cmocka_unit_test(test_wa_text),
		cmocka_unit_test(test_wa_image),
		cmocka_unit_test(test_wa_statuses),
		cmocka_unit_test(test_wa_batch),
		cmocka_unit_test(test_wa_signature),
		cmocka_unit_test(test_wa_answers),
		cmocka_unit_test(test_wa_button_limit),
		cmocka_unit_test(test_vk_confirmation),
		cmocka_unit_test(test_vk_message_new),
		cmocka_unit_test(test_vk_group_chat),
		cmocka_unit_test(test_vk_answers),
		cmocka_unit_test(test_vk_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
