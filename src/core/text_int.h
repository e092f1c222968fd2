/* Shared between the text decoders and encoder; not a public interface. */
#ifndef METERLINE_TEXT_INT_H
#define METERLINE_TEXT_INT_H

#include <stdint.h>

#define GSM7_ESC 0x1B /* escape to the extension table */
#define UCS_REPLACEMENT 0xFFFD

/*
 * GSM 03.38 default alphabet and extension table as Unicode code points.
 * gsm7_ext[c] is 0 where 03.38 defines no character for ESC c.
 * gsm7_basic[GSM7_ESC] is a space: what 03.38 says to show for an escape
 * that cannot be resolved.
 */
extern const uint16_t gsm7_basic[128];
extern const uint16_t gsm7_ext[128];

/*
 * The GSM-7 encoding of code point cp: a septet 0..0x7F, or 0x100 | code
 * for ESC code from the extension table, or -1 if cp has none.
 */
int gsm7_from_ucs(uint32_t cp);

#define GSM7_IS_EXT(g) ((g)&0x100)

/* -DTEXT_SWAR=0 forces the unit-by-unit UCS-2 loop (to test it on x86). */
#ifndef TEXT_SWAR
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TEXT_SWAR 1
#else
#define TEXT_SWAR 0
#endif
#endif

/* SSE2 blocks of eight UCS-2 units; -DTEXT_SIMD=0 (or TEXT_SWAR=0)
   leaves them out. */
#ifndef TEXT_SIMD
#if defined(__SSE2__) && TEXT_SWAR
#define TEXT_SIMD 1
#else
#define TEXT_SIMD 0
#endif
#endif

#endif
