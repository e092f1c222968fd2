/*
 * The WhatsApp Cloud API adapter on Meta's documented webhook JSON: the
 * X-Hub-Signature-256 over the raw bytes, the verification handshake's
 * check, text/image/interactive messages into the common message with the
 * wa_id as a verified phone, statuses as reports; the send request with
 * the Bearer token and the cancel button; answers judged, the closed
 * 24-hour window a rejection with its reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "meterline/whatsapp.h"

static struct config_messenger cfg = { .enabled = true,
	.token = "EAAG-token",
	.secret = "app-secret",
	.verify_token = "verify-me",
	.account_id = "106540352242922",
	.template_name = "meter_reminder",
	.template_lang = "ru",
	.api_base = "http://127.0.0.1:1" };

#define WA_HEAD \
	"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":" \
	"\"102290129340398\",\"changes\":[{\"value\":{\"messaging_product\":" \
	"\"whatsapp\",\"metadata\":{\"display_phone_number\":" \
	"\"15550783881\",\"phone_number_id\":\"106540352242922\"},"
#define WA_TAIL "},\"field\":\"messages\"}]}]}"

static int
parse(const char *body, struct chan_update *u)
{
	char why[128];

	memset(u, 0, sizeof(*u));
	return whatsapp_api.parse(
	    &cfg, body, strlen(body), u, why, sizeof(why));
}

static void
test_signature(void **state)
{
	const char *body = WA_HEAD "\"statuses\":[]" WA_TAIL;
	char hex[65], sig[80];

	(void)state;
	http_signature_hex(
	    body, strlen(body), (const unsigned char *)"app-secret", 10, hex);
	snprintf(sig, sizeof(sig), "sha256=%s", hex);
	assert_true(
	    whatsapp_signature_ok("app-secret", sig, body, strlen(body)));
	assert_false(
	    whatsapp_signature_ok("app-secret", hex, body, strlen(body)));
	assert_false(
	    whatsapp_signature_ok("app-secret", NULL, body, strlen(body)));
	assert_false(whatsapp_signature_ok("other", sig, body, strlen(body)));
	assert_false(whatsapp_signature_ok("", sig, body, strlen(body)));
	assert_false(
	    whatsapp_signature_ok("app-secret", sig, body, strlen(body) - 1));
}

static void
test_verify(void **state)
{
	(void)state;
	assert_int_equal(
	    whatsapp_verify(&cfg, "subscribe", "verify-me", "1158201444"), 0);
	assert_int_equal(
	    whatsapp_verify(&cfg, "subscribe", "verify-mE", "1158201444"), -1);
	assert_int_equal(
	    whatsapp_verify(&cfg, "unsubscribe", "verify-me", "1"), -1);
	assert_int_equal(whatsapp_verify(&cfg, "subscribe", NULL, "1"), -1);
	assert_int_equal(
	    whatsapp_verify(&cfg, "subscribe", "verify-me", NULL), -1);
}

static void
test_messages(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse(WA_HEAD "\"contacts\":[{\"profile\":{\"name\":\"Kerry\"},"
	                  "\"wa_id\":\"79129671520\"}],\"messages\":[{"
	                  "\"from\":\"79129671520\",\"id\":\"wamid.ID1\","
	                  "\"timestamp\":\"1700000000\",\"text\":{\"body\":"
	                  "\"ПС 123859\"},\"type\":\"text\"}]" WA_TAIL,
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "whatsapp");
	assert_string_equal(u.msg.sender, "79129671520");
	assert_string_equal(u.msg.recipient, "106540352242922");
	assert_string_equal(u.msg.external_id, "wamid.ID1");
	assert_string_equal(u.msg.text, "ПС 123859");
	assert_string_equal(u.phone, "+79129671520");
	assert_int_equal(u.msg.time_us, 1700000000LL * 1000000);
	free(u.text);

	assert_int_equal(
	    parse(WA_HEAD "\"messages\":[{\"from\":\"79129671520\",\"id\":"
	                  "\"wamid.ID2\",\"timestamp\":\"1700000001\","
	                  "\"type\":\"image\",\"image\":{\"caption\":\"45055\","
	                  "\"mime_type\":\"image/jpeg\",\"sha256\":\"x\","
	                  "\"id\":\"1482393\"}}]" WA_TAIL,
	        &u),
	    0);
	assert_string_equal(u.msg.text, "45055");
	free(u.text);

	assert_int_equal(
	    parse(WA_HEAD
	        "\"messages\":[{\"from\":\"79129671520\",\"id\":"
	        "\"wamid.ID3\",\"timestamp\":\"1700000002\","
	        "\"type\":\"interactive\",\"interactive\":{\"type\":"
	        "\"button_reply\",\"button_reply\":{\"id\":\"cancel\","
	        "\"title\":\"Отмена\"}}}]" WA_TAIL,
	        &u),
	    0);
	assert_string_equal(u.msg.text, "Отмена");
	free(u.text);

	/* audio: nothing to read; from not a number, or not JSON: refused */
	assert_int_equal(
	    parse(WA_HEAD "\"messages\":[{\"from\":\"79129671520\",\"id\":"
	                  "\"wamid.ID4\",\"timestamp\":\"1\",\"type\":"
	                  "\"audio\",\"audio\":{\"id\":\"1\"}}]" WA_TAIL,
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_int_equal(
	    parse(WA_HEAD "\"messages\":[{\"from\":\"+7912\",\"id\":\"w\","
	                  "\"timestamp\":\"1\",\"type\":\"text\",\"text\":{"
	                  "\"body\":\"x\"}}]" WA_TAIL,
	        &u),
	    -1);
	assert_int_equal(parse("{\"object\":\"x\"}", &u), -1);
	assert_int_equal(parse("not json", &u), -1);
}

static void
test_statuses(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse(WA_HEAD "\"statuses\":[{\"id\":\"wamid.HBgLMTY1MDM4Nzk0MzkV"
	                  "AgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA\",\"status\":"
	                  "\"delivered\",\"timestamp\":\"1700000003\","
	                  "\"recipient_id\":\"79129671520\",\"conversation\":"
	                  "{\"id\":\"c\",\"origin\":{\"type\":\"service\"}},"
	                  "\"pricing\":{\"billable\":true,\"pricing_model\":"
	                  "\"CBP\",\"category\":\"service\"}}]" WA_TAIL,
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_STATUS);
	assert_string_equal(u.status, "DELIVRD");
	/* as given: the ids are case-sensitive base64 */
	assert_string_equal(u.external_id,
	    "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA");
	assert_int_equal(
	    parse(WA_HEAD
	        "\"statuses\":[{\"id\":\"wamid.A\",\"status\":"
	        "\"read\",\"timestamp\":\"1\",\"recipient_id\":\"7\"}]" WA_TAIL,
	        &u),
	    0);
	assert_string_equal(u.status, "READ");
	assert_int_equal(
	    parse(WA_HEAD
	        "\"statuses\":[{\"id\":\"wamid.A\",\"status\":"
	        "\"failed\",\"timestamp\":\"1\",\"recipient_id\":\"7\","
	        "\"errors\":[{\"code\":131047,\"title\":\"Re-"
	        "engagement message\"}]}]" WA_TAIL,
	        &u),
	    0);
	/* the closed 24-hour window, told apart from other failures */
	assert_string_equal(u.status, "REJECTD");
	assert_int_equal(
	    parse(WA_HEAD
	        "\"statuses\":[{\"id\":\"wamid.A\",\"status\":"
	        "\"sent\",\"timestamp\":\"1\",\"recipient_id\":\"7\"}]" WA_TAIL,
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	/* an empty id names no reply (fuzz_messenger, whatsapp_status_...) */
	assert_int_equal(parse(WA_HEAD "\"statuses\":[{\"id\":\"\",\"status\":"
	                               "\"delivered\"}]" WA_TAIL,
	                     &u),
	    -1);
}

static void
test_build(void **state)
{
	struct chan_reply r = { 1, "79129671520", "Введите", strlen("Введите"),
		true };
	struct chan_req q;
	json_t *b;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_int_equal(whatsapp_api.build(&cfg, &r, &q), 0);
	assert_string_equal(
	    q.url, "http://127.0.0.1:1/106540352242922/messages");
	assert_string_equal(q.headers[0], "Authorization: Bearer EAAG-token");
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(b, "to")), "79129671520");
	assert_string_equal(
	    json_string_value(json_object_get(b, "type")), "interactive");
	json_decref(b);
	free(q.body);
	r.dialog_open = false;
	memset(&q, 0, sizeof(q));
	assert_int_equal(whatsapp_api.build(&cfg, &r, &q), 0);
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(b, "text"), "body")),
	    "Введите");
	json_decref(b);
	free(q.body);
	memset(&q, 0, sizeof(q));
	assert_int_equal(whatsapp_template_req(&cfg, "79129671520", &q), 0);
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(b, "template"), "name")),
	    "meter_reminder");
	json_decref(b);
	free(q.body);
	/* a reminder's row (chan_reply.as_template) goes as the template */
	r.as_template = true;
	memset(&q, 0, sizeof(q));
	assert_int_equal(whatsapp_api.build(&cfg, &r, &q), 0);
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(b, "type")), "template");
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(b, "template"), "name")),
	    "meter_reminder");
	json_decref(b);
	free(q.body);
}

static enum chan_verdict
verdict(int status, const char *body, char *id)
{
	struct webc_resp r = {
		.status = status, .body = body, .len = strlen(body)
	};
	int ra;

	id[0] = '\0';
	return whatsapp_api.verdict(&cfg, &r, id, 72, &ra);
}

static void
test_verdict(void **state)
{
	char id[72];

	(void)state;
	assert_int_equal(verdict(200,
	                     "{\"messaging_product\":\"whatsapp\",\"contacts\":"
	                     "[{\"input\":\"7912\",\"wa_id\":\"7912\"}],"
	                     "\"messages\":[{\"id\":\"wamid.HBgLABC\"}]}",
	                     id),
	    CHAN_SENT);
	assert_string_equal(id, "wamid.HBgLABC"); /* as given */
	assert_int_equal(verdict(400,
	                     "{\"error\":{\"message\":\"(#131047) Re-"
	                     "engagement message\",\"type\":\"OAuthException\","
	                     "\"code\":131047}}",
	                     id),
	    CHAN_REJECTED);
	assert_string_equal(id, WHATSAPP_WINDOW_CLOSED);
	assert_int_equal(verdict(400,
	                     "{\"error\":{\"message\":\"rate\",\"code\":"
	                     "130429}}",
	                     id),
	    CHAN_RETRY);
	assert_int_equal(verdict(400,
	                     "{\"error\":{\"message\":\"(#100) Invalid\","
	                     "\"code\":100}}",
	                     id),
	    CHAN_REJECTED);
	assert_int_equal(
	    verdict(401, "{\"error\":{\"code\":190}}", id), CHAN_RETRY);
	assert_int_equal(verdict(500, "", id), CHAN_RETRY);
	assert_int_equal(verdict(429, "", id), CHAN_RETRY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_verdict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
