/*
 * libFuzzer target: the console's upload parser (src/console/
 * console_upload.c): a multipart/form-data body into the form's fields and
 * its one file, and the text check a log passes before replay reads it.
 *
 * Input: the boundary (up to the first newline, at most 70 bytes), then
 * the body.
 *
 * Promises checked: a body is taken (0) or refused (-1), never more; a
 * file taken is NUL-terminated, of its stated length, and bytes of the
 * body; fields are name/value strings; the text check names a line within
 * the file and a reason, or none.
 */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "console_int.h"
#include "fuzz_check.h"

/* The file taken, checked against the body it came from. */
static void
check_file(const struct creq *r, const char *body, size_t len)
{
	const char *why = NULL;
	long line, lines = 1;

	CHECK(r->upload_len <= len && r->upload[r->upload_len] == '\0');
	CHECK(r->upload_len == 0 ||
	    memmem(body, len, r->upload, r->upload_len) != NULL);
	CHECK(memchr(r->upload_name, '\0', sizeof(r->upload_name)) != NULL);
	for (size_t i = 0; i < r->upload_len; i++)
		lines += r->upload[i] == '\n';
	line = console_text_check(r->upload, r->upload_len, &why);
	CHECK(line >= 0 && line <= lines);
	CHECK(line == 0 || (why != NULL && why[0] != '\0'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size < 71 ? size : 71);
	char ctype[128];
	struct creq r;
	struct evkeyval *kv;
	size_t blen, len;
	char *body;

	if (nl == NULL)
		return 0;
	blen = (size_t)(nl - (const char *)data);
	snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%.*s",
	    (int)blen, (const char *)data);
	len = size - blen - 1;
	body = malloc(len + 1); /* exactly the body: ASan sees past its end */
	CHECK(body != NULL);
	memcpy(body, nl + 1, len);
	memset(&r, 0, sizeof(r));
	TAILQ_INIT(&r.params);
	if (console_upload_parse(&r, ctype, body, len) == 0 && r.upload != NULL)
		check_file(&r, body, len);
	TAILQ_FOREACH(kv, &r.params, next)
	CHECK(kv->key != NULL && kv->value != NULL);
	evhttp_clear_headers(&r.params);
	free(r.upload);
	free(body);
	return 0;
}
