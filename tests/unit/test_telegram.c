/*
 * The Telegram adapter on the Bot API's own JSON: Updates into the common
 * message (text, caption of the largest photo, own and foreign contacts,
 * /start, groups, bots, edits, broken bodies), sendMessage built, and the
 * platform's answers judged (ok, 429 with retry_after, 403, 500).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meterline/telegram.h"

static struct config_messenger cfg = { .enabled = true,
	.token = "123456:ABC-def",
	.api_base = "http://127.0.0.1:1" };

static int
parse(const char *body, struct chan_update *u)
{
	char why[128];

	memset(u, 0, sizeof(*u));
	return telegram_api.parse(
	    &cfg, body, strlen(body), u, why, sizeof(why));
}

static void
test_text(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse("{\"update_id\":10,\"message\":{\"message_id\":1,"
	          "\"from\":{\"id\":42,\"is_bot\":false,\"first_name\":"
	          "\"A\"},\"chat\":{\"id\":42,\"type\":\"private\"},"
	          "\"date\":1700000000,\"text\":\"ПС 123859\"}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_MESSAGE);
	assert_string_equal(u.msg.channel, "telegram");
	assert_string_equal(u.msg.sender, "42");
	assert_string_equal(u.msg.recipient, "123456");
	assert_string_equal(u.msg.external_id, "10");
	assert_string_equal(u.msg.text, "ПС 123859");
	assert_int_equal(u.msg.time_us, 1700000000LL * 1000000);
	free(u.text);
}

static void
test_photo_contact_start(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse(
	        "{\"update_id\":11,\"message\":{\"message_id\":2,\"from\":{"
	        "\"id\":42},\"chat\":{\"id\":42,\"type\":\"private\"},\"date\""
	        ":1,\"photo\":[{\"file_id\":\"small\",\"file_unique_id\":\"a\","
	        "\"width\":90,\"height\":90},{\"file_id\":\"big\","
	        "\"file_unique_id\":\"b\",\"width\":800,\"height\":800}],"
	        "\"caption\":\"ПС 1 2\"}}",
	        &u),
	    0);
	assert_string_equal(u.photo, "big");
	assert_string_equal(u.msg.text, "ПС 1 2");
	free(u.text);
	assert_int_equal(
	    parse("{\"update_id\":12,\"message\":{\"message_id\":3,"
	          "\"from\":{\"id\":42},\"chat\":{\"id\":42,\"type\":"
	          "\"private\"},\"date\":1,\"photo\":[{\"file_id\":"
	          "\"p\",\"file_unique_id\":\"a\",\"width\":1,"
	          "\"height\":1}]}}",
	        &u),
	    0);
	assert_string_equal(u.msg.text, "?"); /* a bare photo: the help */
	free(u.text);
	assert_int_equal(
	    parse("{\"update_id\":13,\"message\":{\"message_id\":4,"
	          "\"from\":{\"id\":42},\"chat\":{\"id\":42,\"type\":"
	          "\"private\"},\"date\":1,\"contact\":{"
	          "\"phone_number\":\"79120000001\",\"first_name\":"
	          "\"A\",\"user_id\":42}}}",
	        &u),
	    0);
	assert_string_equal(u.phone, "79120000001");
	free(u.text);
	assert_int_equal(
	    parse("{\"update_id\":14,\"message\":{\"message_id\":5,"
	          "\"from\":{\"id\":42},\"chat\":{\"id\":42,\"type\":"
	          "\"private\"},\"date\":1,\"contact\":{"
	          "\"phone_number\":\"79120000002\",\"first_name\":"
	          "\"B\",\"user_id\":43}}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE); /* someone else's card */
	assert_int_equal(
	    parse("{\"update_id\":15,\"message\":{\"message_id\":6,"
	          "\"from\":{\"id\":42},\"chat\":{\"id\":42,\"type\":"
	          "\"private\"},\"date\":1,\"text\":\"/start\"}}",
	        &u),
	    0);
	assert_string_equal(u.msg.text, "?");
	free(u.text);
}

static void
test_ignored_and_bad(void **state)
{
	struct chan_update u;

	(void)state;
	assert_int_equal(
	    parse("{\"update_id\":20,\"message\":{\"message_id\":1,"
	          "\"from\":{\"id\":42},\"chat\":{\"id\":-100,"
	          "\"type\":\"group\"},\"date\":1,\"text\":\"x\"}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_int_equal(
	    parse("{\"update_id\":21,\"message\":{\"message_id\":1,"
	          "\"from\":{\"id\":42,\"is_bot\":true},\"chat\":{"
	          "\"id\":42,\"type\":\"private\"},\"date\":1,"
	          "\"text\":\"x\"}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_int_equal(
	    parse("{\"update_id\":22,\"edited_message\":{"
	          "\"message_id\":1,\"chat\":{\"id\":42,\"type\":"
	          "\"private\"},\"date\":1,\"edit_date\":2,\"text\":"
	          "\"ПС 1 3\"}}",
	        &u),
	    0);
	assert_int_equal(u.kind, CHAN_IN_IGNORE);
	assert_int_equal(parse("{\"update_id\":", &u), -1);
	assert_int_equal(parse("{\"message\":{}}", &u), -1);
	assert_int_equal(parse("{\"update_id\":1,\"update_id\":2}", &u), -1);
	assert_int_equal(
	    parse("{\"update_id\":23,\"message\":{\"text\":\"x\"}}", &u), -1);
}

static void
test_send(void **state)
{
	struct chan_req q = { 0 };
	struct chan_reply r = { 7, "42", "Показания приняты.", 34 };
	char id[32] = "";
	int ra = 0;
	static const char ok[] =
	    "{\"ok\":true,\"result\":{\"message_id\":99,\"chat\":{\"id\":42}}}";
	static const char flood[] =
	    "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many "
	    "Requests: retry after 5\",\"parameters\":{\"retry_after\":5}}";

	(void)state;
	assert_int_equal(telegram_api.build(&cfg, &r, &q), 0);
	assert_string_equal(
	    q.url, "http://127.0.0.1:1/bot123456:ABC-def/sendMessage");
	assert_non_null(strstr(q.body, "\"chat_id\":42"));
	assert_non_null(strstr(q.body, "Показания приняты."));
	assert_non_null(strstr(q.body, "\"remove_keyboard\":true"));
	free(q.body);
	r.dialog_open = true;
	assert_int_equal(telegram_api.build(&cfg, &r, &q), 0);
	assert_non_null(
	    strstr(q.body, "\"keyboard\":[[{\"text\":\"Отмена\"}]]"));
	free(q.body);
	q.body = NULL;
	r.to = "not-a-chat";
	assert_int_equal(telegram_api.build(&cfg, &r, &q), -1);
	free(q.body);
	assert_int_equal(telegram_api.verdict(&cfg,
	                     &(struct webc_resp){ 200, ok, sizeof(ok) - 1, -1 },
	                     id, sizeof(id), &ra),
	    CHAN_SENT);
	assert_string_equal(id, "99");
	assert_int_equal(
	    telegram_api.verdict(&cfg,
	        &(struct webc_resp){ 429, flood, sizeof(flood) - 1, -1 }, id,
	        sizeof(id), &ra),
	    CHAN_RETRY);
	assert_int_equal(ra, 5);
	assert_int_equal(
	    telegram_api.verdict(&cfg, &(struct webc_resp){ 403, "{}", 2, -1 },
	        id, sizeof(id), &ra),
	    CHAN_REJECTED);
	assert_int_equal(telegram_api.verdict(&cfg,
	                     &(struct webc_resp){ 0, "", 0, -1, "timeout" }, id,
	                     sizeof(id), &ra),
	    CHAN_RETRY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_photo_contact_start),
		cmocka_unit_test(test_ignored_and_bad),
		cmocka_unit_test(test_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
