/*
 * The Viber adapter on the REST bot API's documented JSON: the signature
 * over the raw bytes (a re-serialised body fails), message and picture
 * into the common message, conversation_started answered in the response,
 * delivered/seen/failed as reports, others ignored; send_message built
 * with X-Viber-Auth-Token and the cancel keyboard; answers judged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "meterline/viber.h"

static struct config_messenger cfg = { .enabled = true,
	.token = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9",
	.api_base = "http://127.0.0.1:1",
	.bot_name = "Счётчик",
	.welcome = "Пришлите: ПС 123 456" };

static int
parse(const char *body, struct chan_update *u)
{
	char why[128];

	memset(u, 0, sizeof(*u));
	return viber_api.parse(&cfg, body, strlen(body), u, why, sizeof(why));
}

static void
test_signature(void **state)
{
	/* developers.viber.com: the example callback and its signature
	   under the example token */
	const char *body = "{\"event\":\"message\",\"timestamp\":1}";
	char hex[65];

	(void)state;
	http_signature_hex(body, strlen(body), (const unsigned char *)cfg.token,
	    strlen(cfg.token), hex);
	assert_true(viber_signature_ok(cfg.token, hex, body, strlen(body)));
	/* the same JSON re-serialised by a proxy */
	assert_false(viber_signature_ok(
	    cfg.token, hex, "{\"event\": \"message\", \"timestamp\": 1}", 37));
	assert_false(viber_signature_ok(cfg.token, NULL, body, strlen(body)));
	assert_false(viber_signature_ok(cfg.token, "", body, strlen(body)));
	hex[63] ^= 1;
	assert_false(viber_signature_ok(cfg.token, hex, body, strlen(body)));
	hex[63] ^= 1;
	hex[63] = '\0'; /* one character short */
	assert_false(viber_signature_ok(cfg.token, hex, body, strlen(body)));
	assert_false(viber_signature_ok("", hex, body, strlen(body)));
}

static void
test_message(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse("{\"event\":\"message\",\"timestamp\":1457764197627,"
	          "\"chat_hostname\":\"SN-376_\",\"message_token\":"
	          "4912661846655238145,\"sender\":{\"id\":\"01234567890A=\","
	          "\"name\":\"John McClane\",\"avatar\":\"http://avatar."
	          "example.com\",\"country\":\"UK\",\"language\":\"en\","
	          "\"api_version\":1},\"message\":{\"type\":\"text\",\"text\":"
	          "\"ПС 123859\",\"tracking_data\":\"tracking data\"},"
	          "\"silent\":false}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "viber");
	assert_string_equal(u.msg.sender, "01234567890A=");
	assert_string_equal(u.msg.recipient, "Счётчик");
	assert_string_equal(u.msg.external_id, "4912661846655238145");
	assert_string_equal(u.msg.text, "ПС 123859");
	assert_int_equal(u.msg.time_us, 1457764197627LL * 1000);
	assert_string_equal(u.photo, "");
	free(u.text);

	/* a picture with a caption: the caption read, the media kept */
	assert_int_equal(
	    parse("{\"event\":\"message\",\"timestamp\":1457764197627,"
	          "\"message_token\":4912661846655238146,\"sender\":{\"id\":"
	          "\"01234567890A=\",\"name\":\"J\"},\"message\":{\"type\":"
	          "\"picture\",\"text\":\"45055\",\"media\":\"https://dl-media."
	          "viber.com/p.jpg\",\"thumbnail\":\"https://x/t.jpg\","
	          "\"file_name\":\"p.jpg\"}}",
	        &u),
	    0);
	assert_string_equal(u.msg.text, "45055");
	assert_string_equal(u.photo, "https://dl-media.viber.com/p.jpg");
	free(u.text);

	/* a sticker: nothing to read */
	assert_int_equal(
	    parse("{\"event\":\"message\",\"timestamp\":1,\"message_token\":7,"
	          "\"sender\":{\"id\":\"a\"},\"message\":{\"type\":\"sticker\","
	          "\"sticker_id\":46105}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	/* no message_token, or not JSON: refused */
	assert_int_equal(parse("{\"event\":\"message\",\"timestamp\":1,"
	                       "\"sender\":{\"id\":\"a\"},\"message\":{"
	                       "\"type\":\"text\",\"text\":\"x\"}}",
	                     &u),
	    -1);
	assert_int_equal(parse("event=message", &u), -1);
	assert_int_equal(parse("{\"timestamp\":1}", &u), -1);
}

static void
test_events(void **state)
{
	struct chan_update u;
	json_t *a;

	(void)state;
	assert_int_equal(parse("{\"event\":\"conversation_started\","
	                       "\"timestamp\":1457764197627,\"message_token\":"
	                       "4912661846655238145,\"type\":\"open\","
	                       "\"context\":\"c\",\"user\":{\"id\":"
	                       "\"01234567890A=\",\"name\":\"J\"},"
	                       "\"subscribed\":false}",
	                     &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_non_null(u.answer);
	a = json_loads(u.answer, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(a, "type")), "text");
	assert_string_equal(
	    json_string_value(json_object_get(a, "text")), cfg.welcome);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(a, "sender"), "name")),
	    "Счётчик");
	json_decref(a);
	free(u.answer);

	assert_int_equal(parse("{\"event\":\"delivered\",\"timestamp\":"
	                       "1457764197627,\"message_token\":"
	                       "4912661846655238145,\"user_id\":\"0123=\"}",
	                     &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_STATUS);
	assert_string_equal(u.external_id, "4912661846655238145");
	assert_string_equal(u.status, "DELIVRD");
	assert_int_equal(parse("{\"event\":\"seen\",\"timestamp\":1,"
	                       "\"message_token\":5,\"user_id\":\"0123=\"}",
	                     &u),
	    0);
	assert_string_equal(u.status, "READ");
	assert_int_equal(parse("{\"event\":\"failed\",\"timestamp\":1,"
	                       "\"message_token\":5,\"user_id\":\"0123=\","
	                       "\"desc\":\"failure description\"}",
	                     &u),
	    0);
	assert_string_equal(u.status, "UNDELIV");
	assert_int_equal(parse("{\"event\":\"seen\",\"timestamp\":1}", &u), -1);

	assert_int_equal(parse("{\"event\":\"subscribed\",\"timestamp\":1,"
	                       "\"user\":{\"id\":\"0123=\"},\"message_token\":"
	                       "9}",
	                     &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_null(u.answer);
	assert_int_equal(parse("{\"event\":\"unsubscribed\",\"timestamp\":1,"
	                       "\"user_id\":\"0123=\",\"message_token\":9}",
	                     &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_int_equal(parse("{\"event\":\"webhook\",\"timestamp\":1,"
	                       "\"chat_hostname\":\"SN-1_\",\"message_token\":"
	                       "9}",
	                     &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
}

static void
test_build(void **state)
{
	struct chan_reply r = { 1, "01234567890A=", "Отмена?",
		strlen("Отмена?"), true };
	struct chan_req q;
	json_t *b;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_int_equal(viber_api.build(&cfg, &r, &q), 0);
	assert_string_equal(q.url, "http://127.0.0.1:1/pa/send_message");
	assert_string_equal(q.headers[0],
	    "X-Viber-Auth-Token: 445da6az1s345z78-dazcczb2542zv51a-"
	    "e0vc5fva17480im9");
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(b, "receiver")), "01234567890A=");
	assert_string_equal(
	    json_string_value(json_object_get(b, "text")), "Отмена?");
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(
	            json_object_get(json_object_get(b, "keyboard"), "Buttons"),
	            0),
	        "ActionBody")),
	    "Отмена");
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
	return viber_api.verdict(&cfg, &r, id, 72, &ra);
}

static void
test_verdict(void **state)
{
	char id[72];

	(void)state;
	assert_int_equal(verdict(200,
	                     "{\"status\":0,\"status_message\":\"ok\","
	                     "\"message_token\":5741311803571721087,"
	                     "\"chat_hostname\":\"SN-CHAT-05_\","
	                     "\"billing_status\":1}",
	                     id),
	    CHAN_SENT);
	assert_string_equal(id, "5741311803571721087");
	assert_int_equal(verdict(200,
	                     "{\"status\":6,\"status_message\":"
	                     "\"receiverNotSubscribed\"}",
	                     id),
	    CHAN_REJECTED);
	assert_int_equal(verdict(200,
	                     "{\"status\":12,\"status_message\":"
	                     "\"tooManyRequests\"}",
	                     id),
	    CHAN_RETRY);
	assert_int_equal(verdict(500, "", id), CHAN_RETRY);
	assert_int_equal(verdict(429, "", id), CHAN_RETRY);
	assert_int_equal(verdict(200, "not json", id), CHAN_RETRY);
}

static void
test_webhook_reqs(void **state)
{
	struct chan_req q;
	json_t *b;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_int_equal(
	    viber_webhook_set_req(&cfg, "https://m.example/v1/viber", &q), 0);
	assert_string_equal(q.url, "http://127.0.0.1:1/pa/set_webhook");
	b = json_loadb(q.body, q.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(b, "url")),
	    "https://m.example/v1/viber");
	assert_int_equal(json_array_size(json_object_get(b, "event_types")), 6);
	json_decref(b);
	free(q.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_webhook_reqs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
