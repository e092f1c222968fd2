/*
 * Decoding short-message text of every data_coding to UTF-8.
 *
 * Each decoder turns octets into code points and appends them to a sink
 * that knows where the output ends; a character that does not fit ends
 * the output there, so a cut never falls inside a character. The UCS-2
 * decoder is on the hot path of every inbound SMS: keep it branch-light
 * and free of calls.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "meterline/text.h"
#include "text_int.h"

#if TEXT_SIMD
#include <emmintrin.h>
#endif

/* Output in progress: o is the next byte, lim the byte kept for the NUL. */
struct sink {
	char *o;
	char *lim;
	unsigned flags;
};

/* Append a code point of two or more UTF-8 bytes; false if it won't fit. */
static inline bool
sink_put_wide(struct sink *s, uint32_t cp)
{
	unsigned char *o = (unsigned char *)s->o;
	size_t room = (size_t)(s->lim - s->o);

	if (cp < 0x800) {
		if (room < 2)
			return false;
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		s->o += 2;
	} else if (cp < 0x10000) {
		if (room < 3)
			return false;
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		s->o += 3;
	} else {
		if (room < 4)
			return false;
		o[0] = (unsigned char)(0xF0 | cp >> 18);
		o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		o[3] = (unsigned char)(0x80 | (cp & 0x3F));
		s->o += 4;
	}
	return true;
}

/*
 * Append one code point (never a surrogate). U+0000 is dropped so that
 * the output is a proper C string: SMSCs pad with NULs, and a NUL in the
 * middle would silently cut every strlen-based consumer. Returns false
 * and marks the output truncated when cp does not fit.
 */
static inline bool
sink_put(struct sink *s, uint32_t cp)
{
	if (cp - 1 < 0x7F) {
		if (s->o == s->lim)
			goto full;
		*s->o++ = (char)cp;
		return true;
	}
	if (cp == 0) {
		s->flags |= TEXT_F_NUL_DROPPED;
		return true;
	}
	if (sink_put_wide(s, cp))
		return true;
full:
	s->flags |= TEXT_F_TRUNCATED;
	return false;
}

/* Append U+FFFD for input that is invalid in its encoding. */
static inline bool
sink_put_bad(struct sink *s)
{
	s->flags |= TEXT_F_REPLACED;
	return sink_put(s, UCS_REPLACEMENT);
}

enum text_charset
text_dcs_charset(uint8_t dcs, unsigned *flags)
{
	switch (dcs) {
	case TEXT_DCS_GSM7: return TEXT_CS_GSM7;
	case TEXT_DCS_IA5: return TEXT_CS_IA5;
	case TEXT_DCS_LATIN1: return TEXT_CS_LATIN1;
	case TEXT_DCS_CYRILLIC: return TEXT_CS_CYRILLIC;
	case TEXT_DCS_UCS2: return TEXT_CS_UCS2;
	}
	/*
	 * SMPP 3.4 reserves 0x10-0xBF, but some SMSCs copy the GSM TP-DCS
	 * through unchanged. In 03.38's general coding groups (0x00-0x7F)
	 * bit 5 means compressed, which we cannot read, and bits 3-2 give the
	 * alphabet; 0xC0-0xDF (message waiting) is GSM-7, 0xE0-0xEF UCS-2,
	 * and 0xF0-0xFF is GSM-7 when bit 2 is clear, 8-bit data when set.
	 */
	if (dcs >= 0x10 && dcs < 0x80 && !(dcs & 0x20)) {
		if ((dcs & 0x0C) == 0x00)
			return TEXT_CS_GSM7;
		if ((dcs & 0x0C) == 0x08)
			return TEXT_CS_UCS2;
	} else if (dcs >= 0xC0 && dcs < 0xE0) {
		return TEXT_CS_GSM7;
	} else if (dcs >= 0xE0 && dcs < 0xF0) {
		return TEXT_CS_UCS2;
	} else if (dcs >= 0xF0 && !(dcs & 0x04)) {
		return TEXT_CS_GSM7;
	}
	if (flags != NULL)
		*flags |= TEXT_F_UNKNOWN_DCS;
	return TEXT_CS_LATIN1;
}

/*
 * The character after an escape at in[*i]. 03.38: an escape followed by
 * a code the extension table does not define shows the default-alphabet
 * character, ESC ESC (reserved for another table) and a dangling escape
 * show a space. Those are marked replaced, so they reach the log.
 */
static uint32_t
gsm7_escaped(const uint8_t *in, size_t len, size_t *i, struct sink *s)
{
	uint8_t c;

	if (*i + 1 == len || in[*i + 1] >= 0x80) {
		s->flags |= TEXT_F_REPLACED;
		return ' ';
	}
	c = in[++*i];
	if (gsm7_ext[c] != 0)
		return gsm7_ext[c];
	s->flags |= TEXT_F_REPLACED;
	return gsm7_basic[c];
}

/* GSM 03.38, one septet per octet; an octet >= 0x80 is invalid. */
static void
decode_gsm7(const uint8_t *in, size_t len, struct sink *s)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];
		uint32_t cp;

		if (c >= 0x80) {
			if (!sink_put_bad(s))
				return;
			continue;
		}
		cp = c == GSM7_ESC ? gsm7_escaped(in, len, &i, s)
		                   : gsm7_basic[c];
		if (!sink_put(s, cp))
			return;
	}
}

/* IA5 is 7-bit ASCII: an octet >= 0x80 cannot be trusted as anything. */
static void
decode_ia5(const uint8_t *in, size_t len, struct sink *s)
{
	for (size_t i = 0; i < len; i++) {
		if (!(in[i] < 0x80 ? sink_put(s, in[i]) : sink_put_bad(s)))
			return;
	}
}

static void
decode_latin1(const uint8_t *in, size_t len, struct sink *s)
{
	for (size_t i = 0; i < len; i++) {
		if (!sink_put(s, in[i]))
			return;
	}
}

/*
 * ISO-8859-5: Latin-1 up to 0xA0; above, Cyrillic at U+0360 + c except
 * the soft hyphen (0xAD), the numero sign (0xF0) and the section sign
 * (0xFD).
 */
static uint32_t
iso8859_5(uint8_t c)
{
	if (c <= 0xA0 || c == 0xAD)
		return c;
	if (c == 0xF0)
		return 0x2116;
	if (c == 0xFD)
		return 0x00A7;
	return 0x0360u + c;
}

static void
decode_cyrillic(const uint8_t *in, size_t len, struct sink *s)
{
	for (size_t i = 0; i < len; i++) {
		if (!sink_put(s, iso8859_5(in[i])))
			return;
	}
}

/*
 * A surrogate unit u read at in[*i - 2]: combine a high one with the low
 * one that follows, else it is unpaired and becomes U+FFFD.
 */
static uint32_t
ucs2_surrogate(
    uint32_t u, const uint8_t *in, size_t n, size_t *i, struct sink *s)
{
	uint32_t lo;

	if (u < 0xDC00 && *i < n) {
		lo = (uint32_t)in[*i] << 8 | in[*i + 1];
		if (lo - 0xDC00 < 0x400) {
			*i += 2;
			return 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
		}
	}
	s->flags |= TEXT_F_REPLACED;
	return UCS_REPLACEMENT;
}

#define UCS2_LANES 0x0001000100010001ULL

/*
 * Four UTF-16BE units at in that are all ASCII 1-0x7F written as four
 * bytes at o; false (nothing written) when one is not. Digits, spaces and
 * Latin, most of an SMS, then cost a few operations per four units.
 */
static inline bool
ucs2_ascii4(const uint8_t *in, unsigned char *o)
{
	uint64_t w, lo;
	uint32_t four;

	memcpy(&w, in, 8); /* little-endian: unit k is bytes 2k (high), 2k+1 */
	if ((w & (0xFF * UCS2_LANES | 0x8000 * UCS2_LANES)) != 0)
		return false; /* a high byte, or a low byte >= 0x80 */
	lo = w >> 8; /* the low bytes, 0-0x7F, one per 16-bit lane */
	if (((lo + 0x7F * UCS2_LANES) & 0x80 * UCS2_LANES) != 0x80 * UCS2_LANES)
		return false; /* a NUL, which is dropped */
	lo = (lo | lo >> 8) & 0x0000FFFF0000FFFFULL;
	four = (uint32_t)(lo | lo >> 16);
	memcpy(o, &four, 4);
	return true;
}

#if TEXT_SIMD
/* The eight UTF-16BE units at in, each a 16-bit lane with its value. */
static inline __m128i
ucs2_lanes(const uint8_t *in)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)in);

	return _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
}

/*
 * Which lanes of u are ASCII 1-0x7F, two bits each. Signed compares: a
 * unit >= 0x8000 is below zero, in neither class.
 */
static inline unsigned
ucs2_ascii_lanes(__m128i u)
{
	return (unsigned)_mm_movemask_epi8(
	    _mm_and_si128(_mm_cmpgt_epi16(u, _mm_setzero_si128()),
	        _mm_cmplt_epi16(u, _mm_set1_epi16(0x80))));
}

/*
 * The run of ASCII 1-0x7F units, or else of 0x80-0x7FF units (two UTF-8
 * bytes each: Cyrillic words), that starts at in, up to eight of them
 * (sixteen ASCII ones when more says 32 octets are there), written at o,
 * which has room for 16 bytes; returns the units taken (0 when the first
 * unit is neither: NUL, three bytes, a surrogate) and the bytes written
 * in *nout. Bytes past *nout may be written too: the caller's room is
 * three bytes per unit left. SSE2 is part of x86-64 itself, so no CPU
 * check is needed.
 */
static inline unsigned
ucs2_run8(const uint8_t *in, bool more, unsigned char *o, unsigned *nout)
{
	__m128i u = ucs2_lanes(in), u2;
	unsigned m = ucs2_ascii_lanes(u), k;

	if (m & 1) {
		k = (unsigned)__builtin_ctz(~m) / 2; /* ~m has bit 16 set */
		if (k == 8 && more) { /* long ASCII runs: 16 at a time */
			u2 = ucs2_lanes(in + 16);
			_mm_storeu_si128(
			    (__m128i *)(void *)o, _mm_packus_epi16(u, u2));
			k += (unsigned)__builtin_ctz(~ucs2_ascii_lanes(u2)) / 2;
		} else {
			_mm_storel_epi64(
			    (__m128i *)(void *)o, _mm_packus_epi16(u, u));
		}
		*nout = k;
		return k;
	}
	m = (unsigned)_mm_movemask_epi8(
	    _mm_and_si128(_mm_cmpgt_epi16(u, _mm_set1_epi16(0x7F)),
	        _mm_cmplt_epi16(u, _mm_set1_epi16(0x800))));
	k = (unsigned)__builtin_ctz(~m) / 2;
	/* lead byte 110xxxxx first, then 10xxxxxx: little-endian lanes */
	_mm_storeu_si128((__m128i *)(void *)o,
	    _mm_or_si128(
	        _mm_or_si128(_mm_srli_epi16(u, 6), _mm_set1_epi16(0xC0)),
	        _mm_slli_epi16(
	            _mm_or_si128(_mm_and_si128(u, _mm_set1_epi16(0x3F)),
	                _mm_set1_epi16(0x80)),
	            8)));
	*nout = 2 * k;
	return k;
}

/*
 * The last r (1-7) units of a text of eight or more, when its last eight
 * units are all ASCII: those eight are decoded again from in (the last 16
 * octets) over the 8 - r bytes written last, which are the same bytes,
 * and r more. False, nothing written, when one of the eight is not.
 */
static inline bool
ucs2_ascii_tail(const uint8_t *in, unsigned char *o)
{
	__m128i u = ucs2_lanes(in);

	if (ucs2_ascii_lanes(u) != 0xFFFF)
		return false;
	_mm_storel_epi64((__m128i *)(void *)o, _mm_packus_epi16(u, u));
	return true;
}
#endif

/*
 * UTF-16BE when the output surely fits: two input octets never make more
 * than three output bytes (a pair: four from four), so nothing is checked
 * per character. Runs of ASCII or of two-byte units up to eight at a
 * time, then of ASCII four at a time, the rest one by one: ASCII, then
 * two-byte UTF-8 (Cyrillic) come first.
 */
static void
decode_ucs2_roomy(const uint8_t *in, size_t n, struct sink *s)
{
	unsigned char *o = (unsigned char *)s->o;
	uint32_t u;

	for (size_t i = 0; i < n;) {
#if TEXT_SIMD
		unsigned k, nout;

		if (n - i >= 16 &&
		    (k = ucs2_run8(in + i, n - i >= 32, o, &nout)) != 0) {
			o += nout;
			i += 2 * k;
			continue;
		}
		if (n - i < 16 && n >= 16 &&
		    ucs2_ascii_tail(in + n - 16, o - (8 - (n - i) / 2))) {
			o += (n - i) / 2;
			break;
		}
#endif
		if (TEXT_SWAR && n - i >= 8 && ucs2_ascii4(in + i, o)) {
			o += 4;
			i += 8;
			continue;
		}
		u = (uint32_t)in[i] << 8 | in[i + 1];
		i += 2;
		if (u - 1 < 0x7F) {
			*o++ = (unsigned char)u;
		} else if (u - 1 < 0x7FF) {
			o[0] = (unsigned char)(0xC0 | u >> 6);
			o[1] = (unsigned char)(0x80 | (u & 0x3F));
			o += 2;
		} else if (u == 0) {
			s->flags |= TEXT_F_NUL_DROPPED;
		} else {
			if (u - 0xD800 < 0x800)
				u = ucs2_surrogate(u, in, n, &i, s);
			s->o = (char *)o;
			(void)sink_put_wide(s, u);
			o = (unsigned char *)s->o;
		}
	}
	s->o = (char *)o;
}

/* UTF-16BE into a buffer that may be too small: checked per character. */
static void
decode_ucs2_tight(const uint8_t *in, size_t n, struct sink *s)
{
	for (size_t i = 0; i < n;) {
		uint32_t u = (uint32_t)in[i] << 8 | in[i + 1];

		i += 2;
		if (u - 0xD800 < 0x800)
			u = ucs2_surrogate(u, in, n, &i, s);
		if (!sink_put(s, u))
			return;
	}
}

/* UTF-16BE; an odd trailing octet becomes U+FFFD. */
static void
decode_ucs2(const uint8_t *in, size_t len, struct sink *s)
{
	size_t n = len & ~(size_t)1;

	if ((size_t)(s->lim - s->o) / 3 >= n / 2)
		decode_ucs2_roomy(in, n, s);
	else
		decode_ucs2_tight(in, n, s);
	if ((len & 1) && !(s->flags & TEXT_F_TRUNCATED))
		sink_put_bad(s);
}

size_t
text_decode(uint8_t dcs, const uint8_t *in, size_t len, char *out,
    size_t outcap, unsigned *flags)
{
	struct sink s = { out, out, 0 };
	enum text_charset cs = dcs == TEXT_DCS_UCS2
	    ? TEXT_CS_UCS2 /* most SMS: no look at the other codings */
	    : text_dcs_charset(dcs, &s.flags);

	if (outcap == 0) {
		if (len > 0)
			s.flags |= TEXT_F_TRUNCATED;
		if (flags != NULL)
			*flags = s.flags;
		return 0;
	}
	s.lim = out + outcap - 1;
	switch (cs) {
	case TEXT_CS_GSM7: decode_gsm7(in, len, &s); break;
	case TEXT_CS_IA5: decode_ia5(in, len, &s); break;
	case TEXT_CS_LATIN1: decode_latin1(in, len, &s); break;
	case TEXT_CS_CYRILLIC: decode_cyrillic(in, len, &s); break;
	case TEXT_CS_UCS2: decode_ucs2(in, len, &s); break;
	}
	*s.o = '\0';
	if (flags != NULL)
		*flags = s.flags;
	return (size_t)(s.o - out);
}

size_t
text_gsm7_unpack(const uint8_t *packed, size_t nbytes, unsigned fill_bits,
    size_t nseptets, uint8_t *septets, size_t septcap)
{
	size_t bits = nbytes > SIZE_MAX / 8 ? SIZE_MAX : nbytes * 8;
	size_t n;

	if (fill_bits >= bits)
		return 0;
	/* Septets are packed least significant bit first (03.38 6.1.2.1.1). */
	n = (bits - fill_bits) / 7;
	if (n > nseptets)
		n = nseptets;
	if (n > septcap)
		n = septcap;
	for (size_t k = 0; k < n; k++) {
		size_t pos = fill_bits + 7 * k;
		size_t b = pos >> 3;
		unsigned shift = pos & 7;
		unsigned v = packed[b] >> shift;

		/* A septet crossing into the next octet: that octet exists. */
		if (shift > 1)
			v |= (unsigned)packed[b + 1] << (8 - shift);
		septets[k] = (uint8_t)(v & 0x7F);
	}
	return n;
}
