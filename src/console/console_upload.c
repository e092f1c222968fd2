/*
 * A file uploaded with a form (multipart/form-data, RFC 7578): the text
 * fields go into the request's parameters, as a urlencoded form's would
 * (so the CSRF check is the same), the one file part into creq.upload.
 * And the checks an uploaded text file must pass before anything reads
 * it: no NUL byte, valid UTF-8.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "console_int.h"
#include "meterline/xmalloc.h"

#define UP_BOUNDARY_MAX 70 /* RFC 2046 */
#define UP_FIELD_MAX 4096 /* a text field of the form */

/* The boundary of a Content-Type "multipart/form-data; boundary=...". */
static int
up_boundary(const char *ctype, char *out, size_t outlen)
{
	const char *p;
	size_t n;

	if (ctype == NULL ||
	    strncasecmp(ctype, "multipart/form-data", 19) != 0 ||
	    (p = strstr(ctype, "boundary=")) == NULL)
		return -1;
	p += 9;
	if (*p == '"') {
		p++;
		n = strcspn(p, "\"");
	} else {
		n = strcspn(p, "; \t");
	}
	if (n == 0 || n > UP_BOUNDARY_MAX || n + 1 > outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* The value of name="..." in a Content-Disposition line, into out. */
static bool
up_disp_param(
    const char *h, size_t hlen, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i + klen + 2 <= hlen; i++) {
		const char *v, *end;

		if ((i > 0 && h[i - 1] != ' ' && h[i - 1] != ';') ||
		    memcmp(h + i, key, klen) != 0 || h[i + klen] != '=' ||
		    h[i + klen + 1] != '"')
			continue;
		v = h + i + klen + 2;
		end = memchr(v, '"', hlen - (size_t)(v - h));
		if (end == NULL)
			return false;
		if ((size_t)(end - v) >= outlen)
			return false;
		memcpy(out, v, (size_t)(end - v));
		out[end - v] = '\0';
		return true;
	}
	return false;
}

/* One part: its headers [h, h + hlen) and data [d, d + dlen). */
static int
up_part(struct creq *r, const char *h, size_t hlen, const char *d, size_t dlen)
{
	char name[64], fname[256], *v;

	if (!up_disp_param(h, hlen, "name", name, sizeof(name)))
		return -1;
	if (up_disp_param(h, hlen, "filename", fname, sizeof(fname))) {
		if (r->upload != NULL)
			return -1; /* one file per form */
		r->upload = xmalloc(dlen + 1);
		memcpy(r->upload, d, dlen);
		r->upload[dlen] = '\0';
		r->upload_len = dlen;
		strlcpy_s(r->upload_name, fname, sizeof(r->upload_name));
		return 0;
	}
	if (dlen > UP_FIELD_MAX || memchr(d, '\0', dlen) != NULL)
		return -1;
	v = xmalloc(dlen + 1);
	memcpy(v, d, dlen);
	v[dlen] = '\0';
	evhttp_add_header(&r->params, name, v);
	free(v);
	return 0;
}

int
console_upload_parse(
    struct creq *r, const char *ctype, const char *body, size_t len)
{
	char b[UP_BOUNDARY_MAX + 1], delim[UP_BOUNDARY_MAX + 5];
	const char *p, *end = body + len;
	size_t dl;

	if (up_boundary(ctype, b, sizeof(b)) != 0)
		return -1;
	/* every delimiter but the first follows a line break */
	dl = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", b);
	if (len < dl - 2 || memcmp(body, delim + 2, dl - 2) != 0)
		return -1;
	p = body + dl - 2;
	for (;;) {
		const char *hend, *next;

		if (end - p >= 2 && memcmp(p, "--", 2) == 0)
			return 0; /* the closing delimiter */
		if (end - p < 2 || memcmp(p, "\r\n", 2) != 0)
			return -1;
		p += 2;
		hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hend == NULL)
			return -1;
		next = memmem(hend + 4, (size_t)(end - hend - 4), delim, dl);
		if (next == NULL ||
		    up_part(r, p, (size_t)(hend - p), hend + 4,
		        (size_t)(next - hend - 4)) != 0)
			return -1;
		p = next + dl;
	}
}

/* The length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
up_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

long
console_text_check(const char *s, size_t len, const char **why)
{
	long line = 1;

	for (size_t i = 0; i < len;) {
		size_t n;

		if (s[i] == '\0') {
			*why = "nul";
			return line;
		}
		if ((n = up_utf8_seq((const unsigned char *)s + i, len - i)) ==
		    0) {
			*why = "utf8";
			return line;
		}
		if (s[i] == '\n')
			line++;
		i += n;
	}
	*why = NULL;
	return 0;
}
