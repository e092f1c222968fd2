/*
 * The VK adapter on the Callback API's documented JSON: confirmation
 * answered with the string for our group only, the body's secret checked,
 * message_new into the common message (event_id the external id, the
 * largest photo kept), chats and our own messages ignored, "ok" for the
 * rest; messages.send form-encoded with a stable random_id; answers
 * judged (errors come with HTTP 200).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meterline/vk.h"

static struct config_messenger cfg = { .enabled = true,
	.token = "vk1.a.token",
	.secret = "s3cr3t",
	.account_id = "214752",
	.verify_token = "1a2b3c4d",
	.api_version = "5.199",
	.api_base = "http://127.0.0.1:1" };

static int
parse(const char *body, struct chan_update *u)
{
	char why[128];

	memset(u, 0, sizeof(*u));
	return vk_api.parse(&cfg, body, strlen(body), u, why, sizeof(why));
}

#define AUTH(b) vk_authentic(&cfg, b, strlen(b))

static void
test_auth(void **state)
{
	(void)state;
	assert_true(AUTH("{\"type\":\"confirmation\",\"group_id\":214752}"));
	assert_false(AUTH("{\"type\":\"confirmation\",\"group_id\":1}"));
	assert_true(AUTH("{\"type\":\"message_new\",\"group_id\":214752,"
	                 "\"secret\":\"s3cr3t\"}"));
	assert_false(AUTH("{\"type\":\"message_new\",\"group_id\":214752,"
	                  "\"secret\":\"s3cr3\"}"));
	assert_false(AUTH("{\"type\":\"message_new\",\"group_id\":214752}"));
	assert_false(AUTH("not json"));
}

static void
test_confirmation(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse("{\"type\":\"confirmation\",\"group_id\":214752}", &u), 0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_string_equal(u.answer, "1a2b3c4d");
	assert_string_equal(u.answer_type, "text/plain");
	free(u.answer);
	assert_int_equal(
	    parse("{\"type\":\"confirmation\",\"group_id\":5}", &u), -1);
	assert_null(u.answer);
}

static void
test_message(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse(
	        "{\"group_id\":214752,\"type\":\"message_new\",\"event_id\":"
	        "\"a8b4e8f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7\",\"v\":\"5.199\","
	        "\"object\":{\"message\":{\"date\":1700000000,\"from_id\":"
	        "1234567,\"id\":17,\"out\":0,\"version\":10000054,"
	        "\"attachments\":[{\"type\":\"photo\",\"photo\":{\"id\":1,"
	        "\"sizes\":[{\"height\":75,\"width\":56,\"type\":\"s\","
	        "\"url\":\"https://sun9-1.userapi.com/s.jpg\"},{\"height\":"
	        "1280,\"width\":960,\"type\":\"w\",\"url\":\"https://sun9-1."
	        "userapi.com/w.jpg\"},{\"height\":604,\"width\":453,"
	        "\"type\":\"x\",\"url\":\"https://sun9-1.userapi.com/x.jpg\""
	        "}]}}],\"conversation_message_id\":5,\"fwd_messages\":[],"
	        "\"important\":false,\"is_hidden\":false,\"peer_id\":1234567,"
	        "\"random_id\":0,\"text\":\"ПС 123859\"},\"client_info\":{"
	        "\"button_actions\":[\"text\"],\"keyboard\":true,"
	        "\"inline_keyboard\":true,\"carousel\":true,\"lang_id\":0}},"
	        "\"secret\":\"s3cr3t\"}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "vk");
	assert_string_equal(u.msg.sender, "1234567");
	assert_string_equal(u.msg.recipient, "214752");
	assert_string_equal(
	    u.msg.external_id, "a8b4e8f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7");
	assert_string_equal(u.msg.text, "ПС 123859");
	assert_string_equal(u.photo, "https://sun9-1.userapi.com/w.jpg");
	assert_int_equal(u.msg.time_us, 1700000000LL * 1000000);
	assert_string_equal(u.answer, "ok");
	free(u.text);
	free(u.answer);

	/* a group chat, and our own outgoing message: "ok", not stored */
	assert_int_equal(
	    parse("{\"group_id\":214752,\"type\":\"message_new\",\"event_id\":"
	          "\"e1\",\"object\":{\"message\":{\"date\":1,\"from_id\":1,"
	          "\"peer_id\":2000000001,\"out\":0,\"text\":\"x\"}}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_string_equal(u.answer, "ok");
	free(u.answer);
	assert_int_equal(
	    parse("{\"group_id\":214752,\"type\":\"message_new\",\"event_id\":"
	          "\"e2\",\"object\":{\"message\":{\"date\":1,\"from_id\":1,"
	          "\"peer_id\":1,\"out\":1,\"text\":\"x\"}}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	free(u.answer);
	/* another event type */
	assert_int_equal(parse("{\"group_id\":214752,\"type\":\"message_typing_"
	                       "state\",\"event_id\":\"e3\",\"object\":{}}",
	                     &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_string_equal(u.answer, "ok");
	free(u.answer);
	/* no event_id; another group: refused */
	assert_int_equal(
	    parse("{\"group_id\":214752,\"type\":\"message_new\",\"object\":{"
	          "\"message\":{\"date\":1,\"from_id\":1,\"peer_id\":1,"
	          "\"text\":\"x\"}}}",
	        &u),
	    -1);
	assert_int_equal(
	    parse("{\"group_id\":1,\"type\":\"message_new\"}", &u), -1);
}

static void
test_build(void **state)
{
	struct chan_reply r = { 42, "1234567", "Введите & ок",
		strlen("Введите & ок"), true };
	struct chan_req q, q2;

	(void)state;
	memset(&q, 0, sizeof(q));
	memset(&q2, 0, sizeof(q2));
	assert_int_equal(vk_api.build(&cfg, &r, &q), 0);
	assert_string_equal(q.url, "http://127.0.0.1:1/method/messages.send");
	assert_string_equal(
	    q.headers[0], "Content-Type: application/x-www-form-urlencoded");
	assert_non_null(strstr(q.body,
	    "user_id=1234567&random_id=43&message="
	    "%D0%92%D0%B2%D0%B5%D0%B4%D0%B8%D1%82%D0"
	    "%B5%20%26%20%D0%BE%D0%BA&keyboard="));
	assert_non_null(strstr(q.body, "&access_token=vk1.a.token&v=5.199"));
	/* the same row again: the same random_id */
	assert_int_equal(vk_api.build(&cfg, &r, &q2), 0);
	assert_string_equal(q.body, q2.body);
	assert_int_equal(vk_random_id(42), vk_random_id(42));
	assert_true(vk_random_id(42) != vk_random_id(43));
	assert_true(vk_random_id(UINT64_MAX) > 0);
	free(q.body);
	free(q2.body);
}

static enum chan_verdict
verdict(int status, const char *body, char *id)
{
	struct webc_resp r = {
		.status = status, .body = body, .len = strlen(body)
	};
	int ra;

	id[0] = '\0';
	return vk_api.verdict(&cfg, &r, id, 72, &ra);
}

static void
test_verdict(void **state)
{
	char id[72];

	(void)state;
	assert_int_equal(verdict(200, "{\"response\":731}", id), CHAN_SENT);
	assert_string_equal(id, "731");
	assert_int_equal(verdict(200,
	                     "{\"error\":{\"error_code\":901,\"error_msg\":"
	                     "\"Can't send messages for users without "
	                     "permission\"}}",
	                     id),
	    CHAN_REJECTED);
	assert_int_equal(verdict(200,
	                     "{\"error\":{\"error_code\":6,\"error_msg\":"
	                     "\"Too many requests per second\"}}",
	                     id),
	    CHAN_RETRY);
	assert_int_equal(
	    verdict(200, "{\"error\":{\"error_code\":10}}", id), CHAN_RETRY);
	assert_int_equal(verdict(500, "", id), CHAN_RETRY);
	assert_int_equal(verdict(429, "", id), CHAN_RETRY);
}

static void
test_webhook_reqs(void **state)
{
	struct chan_req q;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_int_equal(
	    vk_webhook_set_req(&cfg, "https://m.example/v1/vk", &q), 0);
	assert_string_equal(
	    q.url, "http://127.0.0.1:1/method/groups.addCallbackServer");
	assert_non_null(strstr(q.body,
	    "group_id=214752&url=https%3A%2F%2Fm."
	    "example%2Fv1%2Fvk&title=meterline&"
	    "secret_key=s3cr3t"));
	free(q.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_confirmation),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_webhook_reqs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
