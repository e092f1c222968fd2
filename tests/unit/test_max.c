/*
 * The MAX adapter on the Bot API's own JSON: message_created into the
 * common message (text, image URL, dialog only), bot_started as the help,
 * other updates ignored, broken bodies refused; POST /messages built with
 * the Authorization header; answers judged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meterline/max.h"

static struct config_messenger cfg = {
	.enabled = true, .token = "max-token", .api_base = "http://127.0.0.1:1"
};

static int
parse(const char *body, struct chan_update *u)
{
	char why[128];

	memset(u, 0, sizeof(*u));
	return max_api.parse(&cfg, body, strlen(body), u, why, sizeof(why));
}

static void
test_message(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse("{\"update_type\":\"message_created\",\"timestamp\":"
	          "1700000000123,\"message\":{\"sender\":{\"user_id\":501,"
	          "\"name\":\"I\",\"is_bot\":false},\"recipient\":{\"chat_id\":"
	          "9,\"chat_type\":\"dialog\",\"user_id\":777},\"timestamp\":"
	          "1700000000123,\"body\":{\"mid\":\"mid.abc\",\"seq\":1,"
	          "\"text\":\"ПС 123859\",\"attachments\":[{\"type\":\"image\","
	          "\"payload\":{\"photo_id\":1,\"token\":\"t\",\"url\":"
	          "\"https://i.example/p.jpg\"}}]}},\"user_locale\":\"ru\"}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "max");
	assert_string_equal(u.msg.sender, "501");
	assert_string_equal(u.msg.recipient, "777");
	assert_string_equal(u.msg.external_id, "mid.abc");
	assert_string_equal(u.msg.text, "ПС 123859");
	assert_string_equal(u.photo, "https://i.example/p.jpg");
	assert_int_equal(u.msg.time_us, 1700000000123LL * 1000);
	free(u.text);
}

static void
test_started_and_ignored(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(parse("{\"update_type\":\"bot_started\",\"timestamp\":"
	                       "5000,\"chat_id\":9,\"user\":{\"user_id\":501,"
	                       "\"name\":\"I\"},\"payload\":null}",
	                     &u),
	    0);
	assert_string_equal(u.msg.text, "?");
	assert_string_equal(u.msg.external_id, "start:501:5000");
	free(u.text);
	assert_int_equal(
	    parse("{\"update_type\":\"message_created\","
	          "\"timestamp\":1,\"message\":{\"sender\":{"
	          "\"user_id\":501},\"recipient\":{\"chat_id\":9,"
	          "\"chat_type\":\"chat\"},\"timestamp\":1,\"body\""
	          ":{\"mid\":\"m\",\"text\":\"x\"}}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_int_equal(parse("{\"update_type\":\"message_removed\","
	                       "\"timestamp\":1,\"message_id\":\"m\"}",
	                     &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_int_equal(parse("[]", &u), -1);
	assert_int_equal(parse("{\"update_type\":\"message_created\","
	                       "\"message\":{\"body\":{}}}",
	                     &u),
	    -1);
}

static void
test_send(void **state)
{
	struct chan_req q = { 0 };
	struct chan_reply r = { 1, "501", "ok", 2 };
	static const char ok[] =
	    "{\"message\":{\"recipient\":{\"user_id\":501},\"body\":{\"mid\":"
	    "\"mid.out\",\"seq\":2,\"text\":\"ok\"}}}";
	char id[32] = "";
	int ra = 0;

	(void)state;
	assert_int_equal(max_api.build(&cfg, &r, &q), 0);
	assert_string_equal(q.url, "http://127.0.0.1:1/messages?user_id=501");
	assert_string_equal(q.headers[0], "Authorization: max-token");
	assert_string_equal(q.body, "{\"text\":\"ok\"}");
	free(q.body);
	r.dialog_open = true;
	assert_int_equal(max_api.build(&cfg, &r, &q), 0);
	assert_non_null(strstr(q.body, "\"type\":\"inline_keyboard\""));
	assert_non_null(strstr(q.body, "\"text\":\"Отмена\""));
	free(q.body);
	assert_int_equal(max_api.verdict(&cfg,
	                     &(struct webc_resp){ 200, ok, sizeof(ok) - 1, -1 },
	                     id, sizeof(id), &ra),
	    CHAN_SENT);
	assert_string_equal(id, "mid.out");
	assert_int_equal(
	    max_api.verdict(&cfg, &(struct webc_resp){ 429, "{}", 2, 3 }, id,
	        sizeof(id), &ra),
	    CHAN_RETRY);
	assert_int_equal(ra, 3);
	assert_int_equal(
	    max_api.verdict(&cfg, &(struct webc_resp){ 404, "{}", 2, -1 }, id,
	        sizeof(id), &ra),
	    CHAN_REJECTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_started_and_ignored),
		cmocka_unit_test(test_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
