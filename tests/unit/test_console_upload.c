/*
 * The console's upload checks (src/console/console_upload.c): a
 * multipart/form-data body into the form's fields and its one file, and
 * the text check an uploaded log passes before replay reads it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "console_int.h"

#define CT "multipart/form-data; boundary=XyZ"

static struct creq *
req_new(void)
{
	struct creq *r = calloc(1, sizeof(*r));

	TAILQ_INIT(&r->params);
	return r;
}

static void
req_free(struct creq *r)
{
	evhttp_clear_headers(&r->params);
	free(r->upload);
	free(r);
}

static int
parse(struct creq *r, const char *ctype, const char *body, size_t len)
{
	return console_upload_parse(r, ctype, body, len);
}

#define PARSE(r, ct, lit) parse((r), (ct), (lit), sizeof(lit) - 1)

static void
test_fields_and_file(void **state)
{
	/* the file's own line breaks, even "\r\n--Xy" short of the
	   boundary, stay in it */
	static const char ok[] =
	    "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"
	    "abc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"log\"; "
	    "filename=\"day24.jsonl\"\r\nContent-Type: application/octet-stream"
	    "\r\n\r\nline1\r\n--Xy\nline2\n\r\n--XyZ--\r\n";
	struct creq *r = req_new();

	(void)state;
	assert_int_equal(
	    PARSE(r, "multipart/form-data; boundary=\"XyZ\"", ok), 0);
	assert_string_equal(evhttp_find_header(&r->params, "csrf"), "abc");
	assert_non_null(r->upload);
	assert_int_equal(r->upload_len, strlen("line1\r\n--Xy\nline2\n"));
	assert_memory_equal(r->upload, "line1\r\n--Xy\nline2\n", r->upload_len);
	assert_string_equal(r->upload_name, "day24.jsonl");
	req_free(r);
	/* the same cut before its closing delimiter */
	r = req_new();
	assert_int_equal(parse(r, CT, ok, sizeof(ok) - 1 - 9), -1);
	req_free(r);
}

static void
test_refused(void **state)
{
	static const char two_files[] =
	    "--XyZ\r\nContent-Disposition: form-data; name=\"a\"; "
	    "filename=\"1\"\r\n\r\nx\r\n--XyZ\r\nContent-Disposition: "
	    "form-data; name=\"b\"; filename=\"2\"\r\n\r\ny\r\n--XyZ--\r\n";
	static const char nul_field[] =
	    "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"
	    "a\0b\r\n--XyZ--\r\n";
	static const char no_headers[] = "--XyZ\r\n\r\n--XyZ--\r\n";
	static const char other[] = "--AbC\r\nContent-Disposition: form-data; "
	                            "name=\"csrf\"\r\n\r\nx\r\n--AbC--\r\n";
	struct creq *r;

	(void)state;
	r = req_new();
	assert_int_equal(PARSE(r, CT, two_files), -1);
	req_free(r);
	r = req_new();
	assert_int_equal(PARSE(r, CT, nul_field), -1);
	req_free(r);
	r = req_new();
	assert_int_equal(PARSE(r, CT, no_headers), -1);
	req_free(r);
	r = req_new();
	assert_int_equal(PARSE(r, CT, other), -1); /* another boundary */
	req_free(r);
	r = req_new();
	assert_int_equal(PARSE(r, "multipart/form-data", other), -1);
	req_free(r);
	r = req_new();
	assert_int_equal(PARSE(r, "text/plain", other), -1);
	req_free(r);
	r = req_new();
	assert_int_equal(parse(r, CT, "", 0), -1);
	req_free(r);
}

static void
test_text_check(void **state)
{
	const char *why = "x";

	(void)state;
	assert_int_equal(
	    console_text_check("ПС 123\n{}\n", strlen("ПС 123\n{}\n"), &why),
	    0);
	assert_null(why);
	assert_int_equal(console_text_check("a\nb\n\0c", 6, &why), 3);
	assert_string_equal(why, "nul");
	/* Latin-1 é, an overlong '/', a surrogate, beyond U+10FFFF, a cut
	   sequence: each invalid, on its line */
	assert_int_equal(console_text_check("a\n\xe9t\xe9", 5, &why), 2);
	assert_string_equal(why, "utf8");
	assert_int_equal(console_text_check("\xc0\xaf", 2, &why), 1);
	assert_int_equal(console_text_check("\xed\xa0\x80", 3, &why), 1);
	assert_int_equal(console_text_check("\xf4\x90\x80\x80", 4, &why), 1);
	assert_int_equal(console_text_check("ok\n\xd0", 4, &why), 2);
	assert_int_equal(console_text_check("\xf0\x9f\x93\xb7", 4, &why), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_and_file),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_text_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
