/*
 * The store's small parts, without a database: array literals, the text
 * cleaner, the keys. (The database round trip of the same literals is
 * in test_store_dialogs.c.)
 */
#include <stdio.h>
#include <string.h>

#include "itest.h"
#include "meterline/db.h"
#include "store_int.h"

static void
test_array_literals(void)
{
	struct sql_arr a = { 0 };

	sarr_begin(&a);
	ITEST_EQ_STR(sarr_end(&a), "{}");
	sarr_begin(&a);
	sarr_text(&a, "plain");
	sarr_text(&a, "q\"uote");
	sarr_text(&a, "back\\slash");
	sarr_text(&a, NULL);
	sarr_text(&a, "NULL");
	sarr_text(&a, "{,}");
	sarr_text(&a, "");
	sarr_text(&a, "ПС 123");
	ITEST_EQ_STR(sarr_end(&a),
	    "{\"plain\",\"q\\\"uote\",\"back\\\\slash\",NULL,"
	    "\"NULL\",\"{,}\",\"\",\"ПС 123\"}");
	sarr_begin(&a);
	sarr_i64(&a, -9223372036854775807LL - 1);
	sarr_i64(&a, 0);
	sarr_i64(&a, 9223372036854775807LL);
	sarr_i64(&a, -1);
	sarr_i64(&a, 1000);
	sarr_bool(&a, true);
	sarr_bool(&a, false);
	sarr_null(&a);
	ITEST_EQ_STR(sarr_end(&a),
	    "{-9223372036854775808,0,9223372036854775807,-1,1000,t,f,NULL}");
	sbuf_free(&a.b);
}

static void
clean(const char *in, size_t len, const char *want)
{
	char out[64];
	size_t n = db_text_clean(out, in, len);

	ITEST_EQ_LONG((long)n, (long)strlen(want));
	ITEST_EQ_STR(out, want);
}

static void
test_text_clean(void)
{
	clean("ok ПС €𝄞", strlen("ok ПС €𝄞"), "ok ПС €𝄞");
	clean("a\0b", 3,
	    "a\xef\xbf\xbd"
	    "b"); /* NUL */
	clean("a\xff"
	      "b",
	    3,
	    "a\xef\xbf\xbd"
	    "b"); /* never valid */
	clean("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"); /* overlong '/' */
	clean("\xed\xa0\x80", 3,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	clean("\xd0", 1, "\xef\xbf\xbd"); /* cut short */
	clean("\xf4\x90\x80\x80", 4, /* above U+10FFFF */
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

/*
 * messages.dedupe_key holds these values: a message logged by an earlier
 * version must still be found as the original of its redelivery.
 */
static void
test_dedupe_key(void)
{
	uint64_t k = store_dedupe_key(
	    "sms", "+79001234567", "7726", "ПС 102057522 11638");

	ITEST_EQ_LONG((long)(k >> 32), 0xaebdb63dL);
	ITEST_EQ_LONG((long)(k & 0xffffffffu), 0xa6ca19d8L);
	/* Each string ends with its NUL: ("ab", "c") is not ("a", "bc"). */
	ITEST_CHECK(store_dedupe_key("s", "ab", "c", "t") !=
	    store_dedupe_key("s", "a", "bc", "t"));
	ITEST_CHECK(
	    store_sender_key("sms", "ab") != store_sender_key("sm", "sab"));
}

int
main(void)
{
	test_array_literals();
	test_text_clean();
	test_dedupe_key();
	printf("ok\n");
	return 0;
}
