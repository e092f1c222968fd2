/*
 * Encoding replies for submit_sm: UTF-8 to GSM-7 (unpacked, one septet
 * per octet) when the whole text fits the GSM 03.38 alphabet and its
 * extension table, else UCS-2 (UTF-16BE), split into concatenated parts.
 *
 * Two passes over the text: the first validates it and settles the
 * encoding and whether it fits one SMS, the second fills the parts. A
 * character's octets never straddle two parts, so an escape sequence or a
 * surrogate pair stays whole and its part is one unit short.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "meterline/text.h"
#include "text_int.h"

static void
encode_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Decode the UTF-8 sequence at s[*i] (n bytes in all) into *cp and step
 * past it. Strict (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF, no truncated sequence. Returns -1 on invalid input.
 */
static int
utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned char c = s[*i];
	size_t k, need;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	}
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4;
	else
		return -1;
	v = c & (0x7F >> need);
	if (n - *i < need)
		return -1;
	for (k = 1; k < need; k++) {
		if ((s[*i + k] & 0xC0) != 0x80)
			return -1;
		v = v << 6 | (s[*i + k] & 0x3F);
	}
	if (v < min[need] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return -1;
	*cp = v;
	*i += need;
	return 0;
}

/* What the first pass learns about a text. */
struct encode_plan {
	bool gsm7; /* every character has a GSM-7 encoding */
	size_t septets; /* GSM-7 length, escapes counting two */
	size_t units; /* UTF-16 length, pairs counting two */
};

static int
encode_plan(const char *utf8, size_t len, struct encode_plan *p, char *err,
    size_t errlen)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t i = 0, at;
	uint32_t cp;

	p->gsm7 = true;
	p->septets = p->units = 0;
	while (i < len) {
		at = i;
		if (utf8_next(s, len, &i, &cp) != 0) {
			encode_error(
			    err, errlen, "invalid UTF-8 at byte %zu", at);
			return -1;
		}
		p->units += cp >= 0x10000 ? 2 : 1;
		if (p->gsm7) {
			int g = gsm7_from_ucs(cp);

			if (g < 0)
				p->gsm7 = false;
			p->septets += GSM7_IS_EXT(g) ? 2 : 1;
		}
	}
	return 0;
}

/* The octets of one character in the chosen encoding; returns how many. */
static size_t
encode_char(uint32_t cp, enum text_encoding enc, uint8_t buf[4])
{
	int g;

	if (enc == TEXT_ENC_GSM7) {
		g = gsm7_from_ucs(cp);
		if (!GSM7_IS_EXT(g)) {
			buf[0] = (uint8_t)g;
			return 1;
		}
		buf[0] = GSM7_ESC;
		buf[1] = (uint8_t)(g & 0x7F);
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (uint8_t)(cp >> 8);
		buf[1] = (uint8_t)cp;
		return 2;
	}
	cp -= 0x10000;
	buf[0] = (uint8_t)(0xD8 | cp >> 18);
	buf[1] = (uint8_t)(cp >> 10);
	buf[2] = (uint8_t)(0xDC | (cp >> 8 & 0x03));
	buf[3] = (uint8_t)cp;
	return 4;
}

/* Open part number out->nparts (0-based), with a UDH when concatenating. */
static void
part_open(struct text_sms *out, bool concat, uint8_t ref)
{
	struct text_part *p = &out->parts[out->nparts++];

	p->len = 0;
	if (!concat)
		return;
	p->data[0] = 0x05; /* UDH length */
	p->data[1] = 0x00; /* IE: concatenated SM, 8-bit reference */
	p->data[2] = 0x03; /* IE length */
	p->data[3] = ref;
	p->data[4] = 0; /* total: known once every part is filled */
	p->data[5] = (uint8_t)out->nparts;
	p->len = TEXT_UDH_LEN;
}

/*
 * Second pass: fill the parts, payload octets at most cap per part. The
 * text is known to be valid UTF-8.
 */
static int
encode_fill(const char *utf8, size_t len, uint8_t ref, bool concat, size_t cap,
    struct text_sms *out)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t i = 0, n, room = cap;
	uint8_t buf[4];
	uint32_t cp;
	struct text_part *p;

	out->nparts = 0;
	part_open(out, concat, ref);
	p = &out->parts[0];
	while (i < len) {
		(void)utf8_next(s, len, &i, &cp);
		n = encode_char(cp, out->enc, buf);
		if (n > room) {
			if (out->nparts == TEXT_MAX_PARTS)
				return -1;
			part_open(out, concat, ref);
			p = &out->parts[out->nparts - 1];
			room = cap;
		}
		memcpy(p->data + p->len, buf, n);
		p->len = (uint8_t)(p->len + n);
		room -= n;
	}
	for (unsigned k = 0; concat && k < out->nparts; k++)
		out->parts[k].data[4] = (uint8_t)out->nparts;
	return 0;
}

int
text_encode(const char *utf8, size_t len, uint8_t ref, struct text_sms *out,
    char *err, size_t errlen)
{
	struct encode_plan plan;
	size_t single, cap;
	bool concat;

	out->nparts = 0;
	if (encode_plan(utf8, len, &plan, err, errlen) != 0)
		return -1;
	out->enc = plan.gsm7 ? TEXT_ENC_GSM7 : TEXT_ENC_UCS2;
	out->dcs = plan.gsm7 ? TEXT_DCS_GSM7 : TEXT_DCS_UCS2;
	if (plan.gsm7) {
		single = TEXT_GSM7_SINGLE;
		cap = TEXT_GSM7_PART;
		concat = plan.septets > single;
	} else {
		single = 2 * TEXT_UCS2_SINGLE;
		cap = 2 * TEXT_UCS2_PART;
		concat = plan.units > TEXT_UCS2_SINGLE;
	}
	if (encode_fill(utf8, len, ref, concat, concat ? cap : single, out) !=
	    0) {
		encode_error(err, errlen,
		    "text too long: %zu %s need more than %d parts",
		    plan.gsm7 ? plan.septets : plan.units,
		    plan.gsm7 ? "GSM-7 septets" : "UCS-2 code units",
		    TEXT_MAX_PARTS);
		out->nparts = 0;
		return -1;
	}
	return 0;
}
