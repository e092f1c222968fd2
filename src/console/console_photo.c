/*
 * Messenger photos in the conversation view (GET /photo?id=MESSAGE_ID,
 * &thumb=1 for the thumbnail). The photos are kept in PostgreSQL as the
 * platform sent them (message_photos, docs/channels.md); the table keeps
 * no type, so the type is read from the bytes' own signature (JPEG, PNG,
 * GIF, WebP) and anything else is never served: a file that is not an
 * image, whatever a customer or a platform called it, cannot reach the
 * browser. Every answer carries the type found and nosniff.
 *
 * Thumbnails are scaled on the server with libgd (Debian's libgd3: JPEG,
 * PNG, GIF and WebP in one small C library already in the distribution),
 * computed on demand on a worker thread (console_worker.c), never on the
 * loop. The image's size is read from its header first and a picture of
 * more than PH_MAX_PIXELS is not decoded (a small file can claim a huge
 * canvas). A photo that cannot be decoded gets a placeholder picture.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <gd.h>

#include "console_int.h"
#include "meterline/ascii.h"
#include "meterline/log.h"
#include "meterline/xmalloc.h"

#define PH_THUMB 160 /* the thumbnail's longer side, pixels */
#define PH_MAX_PIXELS (40L * 1000 * 1000)

enum ph_type { PH_NONE, PH_JPEG, PH_PNG, PH_GIF, PH_WEBP };
static const char *const ph_ctype[] = { NULL, "image/jpeg", "image/png",
	"image/gif", "image/webp" };

/* A grey picture with a crossed frame: "no picture here". */
static const char ph_placeholder[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"160\" height=\"120\" "
    "viewBox=\"0 0 160 120\"><rect width=\"160\" height=\"120\" "
    "fill=\"#eee\" stroke=\"#999\"/><path d=\"M0 0L160 120M160 0L0 120\" "
    "stroke=\"#bbb\"/><text x=\"80\" y=\"64\" font-size=\"14\" "
    "text-anchor=\"middle\" fill=\"#555\">нет фото</text></svg>";

struct ph_job {
	struct creq *r;
	unsigned char *data; /* owned: the photo */
	size_t len;
	enum ph_type type;
	void *thumb; /* gdFree */
	int thumb_len;
	enum ph_type thumb_type;
};

static uint32_t
ph_be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
ph_le16(const unsigned char *p)
{
	return (uint32_t)p[1] << 8 | p[0];
}

static uint32_t
ph_le24(const unsigned char *p)
{
	return (uint32_t)p[2] << 16 | ph_le16(p);
}

static enum ph_type
ph_sniff(const unsigned char *d, size_t n)
{
	if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return PH_JPEG;
	if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
		return PH_PNG;
	if (n >= 6 &&
	    (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
		return PH_GIF;
	if (n >= 12 && memcmp(d, "RIFF", 4) == 0 &&
	    memcmp(d + 8, "WEBP", 4) == 0)
		return PH_WEBP;
	return PH_NONE;
}

/* A JPEG's size from its first SOF marker. */
static int
ph_jpeg_size(const unsigned char *d, size_t n, uint32_t *w, uint32_t *h)
{
	size_t i = 2;

	while (i + 4 <= n) {
		unsigned m = d[i + 1];

		if (d[i] != 0xff)
			return -1;
		if (m == 0xff) {
			i++;
			continue;
		}
		if ((m >= 0xd0 && m <= 0xd9) || m == 0x01) {
			i += 2;
			continue;
		}
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 &&
		    m != 0xcc) {
			if (i + 9 > n)
				return -1;
			*h = ph_be16(d + i + 5);
			*w = ph_be16(d + i + 7);
			return 0;
		}
		i += 2 + ph_be16(d + i + 2);
	}
	return -1;
}

/* A WebP's canvas size (lossy, lossless or extended). */
static int
ph_webp_size(const unsigned char *d, size_t n, uint32_t *w, uint32_t *h)
{
	if (n >= 30 && memcmp(d + 12, "VP8X", 4) == 0) {
		*w = 1 + ph_le24(d + 24);
		*h = 1 + ph_le24(d + 27);
	} else if (n >= 30 && memcmp(d + 12, "VP8 ", 4) == 0) {
		*w = ph_le16(d + 26) & 0x3fff;
		*h = ph_le16(d + 28) & 0x3fff;
	} else if (n >= 25 && memcmp(d + 12, "VP8L", 4) == 0) {
		uint32_t bits = ph_le24(d + 21) | (uint32_t)d[24] << 24;

		*w = (bits & 0x3fff) + 1;
		*h = ((bits >> 14) & 0x3fff) + 1;
	} else {
		return -1;
	}
	return 0;
}

/* The picture's size as its header says; -1 when unreadable. */
static int
ph_size(const struct ph_job *j, uint32_t *w, uint32_t *h)
{
	const unsigned char *d = j->data;

	switch (j->type) {
	case PH_PNG:
		if (j->len < 24)
			return -1;
		*w = (uint32_t)ph_be16(d + 16) << 16 | ph_be16(d + 18);
		*h = (uint32_t)ph_be16(d + 20) << 16 | ph_be16(d + 22);
		return 0;
	case PH_GIF:
		if (j->len < 10)
			return -1;
		*w = ph_le16(d + 6);
		*h = ph_le16(d + 8);
		return 0;
	case PH_JPEG: return ph_jpeg_size(d, j->len, w, h);
	case PH_WEBP: return ph_webp_size(d, j->len, w, h);
	default: return -1;
	}
}

static gdImagePtr
ph_decode(const struct ph_job *j)
{
	int n = (int)j->len;

	switch (j->type) {
	case PH_JPEG: return gdImageCreateFromJpegPtr(n, j->data);
	case PH_PNG: return gdImageCreateFromPngPtr(n, j->data);
	case PH_GIF: return gdImageCreateFromGifPtr(n, j->data);
	case PH_WEBP: return gdImageCreateFromWebpPtr(n, j->data);
	default: return NULL;
	}
}

/* On the worker: decode, scale to PH_THUMB, encode (JPEG stays JPEG,
 * the others become PNG, keeping transparency). */
static void
ph_work(void *arg)
{
	struct ph_job *j = arg;
	uint32_t w = 0, h = 0, tw, th;
	gdImagePtr im, small;

	if (j->len > INT32_MAX || ph_size(j, &w, &h) != 0 || w == 0 || h == 0 ||
	    (uint64_t)w * h > PH_MAX_PIXELS || (im = ph_decode(j)) == NULL)
		return;
	if (!gdImageTrueColor(im))
		gdImagePaletteToTrueColor(im);
	tw = w >= h ? PH_THUMB : (uint32_t)((uint64_t)w * PH_THUMB / h);
	th = h > w ? PH_THUMB : (uint32_t)((uint64_t)h * PH_THUMB / w);
	if (w <= PH_THUMB && h <= PH_THUMB)
		tw = w, th = h;
	small = gdImageScale(im, tw ? tw : 1, th ? th : 1);
	gdImageDestroy(im);
	if (small == NULL)
		return;
	if (j->type == PH_JPEG) {
		j->thumb = gdImageJpegPtr(small, &j->thumb_len, 80);
		j->thumb_type = PH_JPEG;
	} else {
		gdImageSaveAlpha(small, 1);
		j->thumb = gdImagePngPtrEx(small, &j->thumb_len, 6);
		j->thumb_type = PH_PNG;
	}
	gdImageDestroy(small);
}

static void
ph_placeholder_reply(struct creq *r)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, ph_placeholder, sizeof(ph_placeholder) - 1);
	creq_reply(r, 200, "image/svg+xml", b);
}

static void
ph_job_free(struct ph_job *j)
{
	if (j->thumb != NULL)
		gdFree(j->thumb);
	free(j->data);
	free(j);
}

static void
ph_done(void *arg, bool cancelled)
{
	struct ph_job *j = arg;
	struct evbuffer *b;

	if (cancelled) {
		creq_error(j->r, 503, "Сервис останавливается.");
	} else if (j->thumb == NULL || j->thumb_len <= 0) {
		log_info("console: photo of message %s: cannot make a "
		         "thumbnail, placeholder shown",
		    creq_param(j->r, "id"));
		ph_placeholder_reply(j->r);
	} else {
		b = evbuffer_new();
		evbuffer_add(b, j->thumb, (size_t)j->thumb_len);
		creq_reply(j->r, 200, ph_ctype[j->thumb_type], b);
	}
	ph_job_free(j);
}

/* bytea's text form "\x<hex>" into bytes; NULL when it is not one. */
static unsigned char *
ph_unhex(const char *s, size_t *len)
{
	size_t n = s ? strlen(s) : 0;
	unsigned char *out;

	if (n < 2 || s[0] != '\\' || s[1] != 'x' || n % 2 != 0)
		return NULL;
	out = xmalloc(n / 2);
	*len = 0;
	for (const char *p = s + 2; p[0] != '\0'; p += 2) {
		int hi = ascii_hex(p[0]), lo = ascii_hex(p[1]);

		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[(*len)++] = (unsigned char)(hi << 4 | lo);
	}
	return out;
}

/* The stored photo itself, only as the image type its bytes are. */
static void
ph_full(struct creq *r, unsigned char *data, size_t len, enum ph_type type)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, data, len);
	free(data);
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
	    "Content-Disposition", "inline");
	creq_reply(r, 200, ph_ctype[type], b);
}

static void
ph_cb(struct creq *r, const struct db_round_result *res)
{
	const struct db_rows *rows;
	bool thumb = creq_param(r, "thumb") != NULL;
	unsigned char *data = NULL;
	struct ph_job *j;
	size_t len = 0;
	enum ph_type type;

	if (creq_round_failed(r, res))
		return;
	rows = res->rows[0];
	if (db_rows_count(rows) == 1 &&
	    strcmp(db_rows_get(rows, 0, 0), "stored") == 0)
		data = ph_unhex(db_rows_get(rows, 0, 1), &len);
	type = data ? ph_sniff(data, len) : PH_NONE;
	if (type == PH_NONE && thumb) {
		free(data);
		ph_placeholder_reply(r);
		return;
	}
	if (type == PH_NONE && data == NULL) {
		creq_error(r, 404, "Фото нет.");
		return;
	}
	if (type == PH_NONE) {
		log_warn("console: message %s: the stored file is not an "
		         "image; not served",
		    creq_param(r, "id"));
		free(data);
		creq_error(
		    r, 415, "Этот файл не изображение: он не показывается.");
		return;
	}
	if (!thumb) {
		ph_full(r, data, len, type);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->r = r;
	j->data = data;
	j->len = len;
	j->type = type;
	if (console_worker_submit(r->con->images, ph_work, ph_done, j) != 0) {
		ph_job_free(j);
		creq_error(r, 503, "Сервер занят, повторите позже.");
	}
}

void
console_photo_get(struct creq *r)
{
	const char *id = creq_param(r, "id");

	if (id == NULL || strlen(id) > 18 ||
	    strspn(id, "0123456789") != strlen(id)) {
		creq_error(r, 400, "Нужен номер сообщения.");
		return;
	}
	if (db_send(r->con->db, CS_PHOTO, &id) != 0) {
		creq_error(r, 503, "База данных недоступна.");
		return;
	}
	creq_round(r, ph_cb);
}

/* libgd's complaints about a broken picture: the log's, at debug level. */
static void
ph_gd_error(int priority, const char *fmt, va_list ap)
{
	char buf[256];

	(void)priority;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_debug("console: libgd: %s", buf);
}

void
console_photo_init(void)
{
	gdSetErrorMethod(ph_gd_error);
}
