/*
 * Short-message text: decoding every SMPP data_coding to UTF-8, and encoding
 * replies (GSM 03.38 7-bit or UCS-2) split into concatenated parts.
 * Pure functions over caller-owned buffers; nothing here allocates.
 * docs/encodings.md describes each data_coding and the splitting rules.
 */
#ifndef METERLINE_TEXT_H
#define METERLINE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* SMPP data_coding values we decode. */
#define TEXT_DCS_GSM7 0x00 /* default alphabet, one septet per octet */
#define TEXT_DCS_IA5 0x01 /* IA5 / ASCII */
#define TEXT_DCS_OCTET 0x02 /* 8-bit binary (0x04 too): Latin-1, flagged */
#define TEXT_DCS_LATIN1 0x03 /* ISO-8859-1 */
#define TEXT_DCS_CYRILLIC 0x06 /* ISO-8859-5 */
#define TEXT_DCS_UCS2 0x08 /* UTF-16BE in practice */

/* Flags reported by the decoders. */
#define TEXT_F_UNKNOWN_DCS 0x1 /* unknown or binary dcs, read as Latin-1 */
/*
 * Some input was invalid in its encoding and was replaced: by U+FFFD, or
 * for GSM-7 by what 03.38 says to display (a space for a dangling escape,
 * the base character for an escape to an undefined extension code).
 */
#define TEXT_F_REPLACED 0x2
#define TEXT_F_TRUNCATED 0x4 /* output buffer too small, output cut */
#define TEXT_F_NUL_DROPPED 0x8 /* U+0000 dropped: strlen(out) is the length */

/*
 * Output of a decoder never exceeds TEXT_UTF8_MAX(inlen) bytes plus a NUL:
 * an outcap of TEXT_UTF8_MAX(len) + 1 never truncates.
 */
#define TEXT_UTF8_MAX(inlen) (3 * (size_t)(inlen))

/* The character set a data_coding selects. */
enum text_charset {
	TEXT_CS_GSM7, /* GSM 03.38, one septet per octet */
	TEXT_CS_IA5, /* ASCII; octets >= 0x80 are invalid */
	TEXT_CS_LATIN1, /* ISO-8859-1 */
	TEXT_CS_CYRILLIC, /* ISO-8859-5 */
	TEXT_CS_UCS2, /* UTF-16BE, surrogate pairs accepted */
};

/*
 * The character set for data_coding dcs. Covers the SMPP 3.4 values and
 * the GSM 03.38 coding groups (0x10-0x7F uncompressed, 0xC0-0xFF);
 * anything else, binary data included, is Latin-1 and ORs
 * TEXT_F_UNKNOWN_DCS into *flags (may be NULL).
 */
enum text_charset text_dcs_charset(uint8_t dcs, unsigned *flags);

/*
 * Decode len octets of the given data_coding into NUL-terminated UTF-8 in
 * out (outcap bytes, including the NUL; out may be NULL when outcap is 0).
 * Returns the UTF-8 length, which equals strlen(out): U+0000 is dropped.
 * The output is always valid UTF-8, cut at a character boundary when it
 * does not fit. *flags (may be NULL) gets TEXT_F_* bits. Never reads past
 * in[len-1]; in may be NULL when len is 0.
 */
size_t text_decode(uint8_t dcs, const uint8_t *in, size_t len, char *out,
    size_t outcap, unsigned *flags);

/*
 * Unpack GSM 7-bit packed septets (as in a UDH-bearing message): skip
 * fill_bits leading bits, then extract up to nseptets septets into one
 * septet per octet. Returns the number written: at most septcap, and no
 * more than the bits of the nbytes input hold.
 */
size_t text_gsm7_unpack(const uint8_t *packed, size_t nbytes,
    unsigned fill_bits, size_t nseptets, uint8_t *septets, size_t septcap);

/* Encodings of a reply. */
enum text_encoding { TEXT_ENC_GSM7, TEXT_ENC_UCS2 };

#define TEXT_MAX_PARTS 255
#define TEXT_UDH_LEN 6 /* 05 00 03 ref total seq */
#define TEXT_GSM7_SINGLE 160 /* septets in one SMS */
#define TEXT_GSM7_PART 153 /* septets per concatenated part */
#define TEXT_UCS2_SINGLE 70 /* UTF-16 code units in one SMS */
#define TEXT_UCS2_PART 67 /* code units per concatenated part */
/*
 * Octets of short_message per part, UDH included. GSM-7 travels unpacked
 * (one septet per octet, the SMSC packs it), so a single 160-septet SMS is
 * 160 octets and a concatenated part is 6 + 153 = 159; UCS-2 is 140.
 */
#define TEXT_PART_BYTES 160

struct text_part {
	uint8_t len; /* octets used in data */
	uint8_t data[TEXT_PART_BYTES]; /* UDH (when split) + payload */
};

/*
 * A reply ready for submit_sm. GSM-7 parts hold one septet per octet
 * (unpacked, as SMPP carries data_coding 0); UCS-2 parts hold UTF-16BE.
 * When nparts > 1 each part starts with a 6-byte concatenation UDH
 * (05 00 03 ref total seq) and esm_class needs UDHI.
 */
struct text_sms {
	enum text_encoding enc;
	uint8_t dcs; /* 0x00 or 0x08 */
	unsigned nparts; /* >= 1 on success, 0 on error */
	struct text_part parts[TEXT_MAX_PARTS];
};

/*
 * Encode UTF-8 text of len bytes for sending, splitting when needed with
 * concatenation reference ref. GSM-7 when every character is in the
 * default alphabet or its extension table, else UCS-2. A part never ends
 * inside an escape sequence or a surrogate pair. Returns 0, or -1 with a
 * reason in err (invalid UTF-8, more than TEXT_MAX_PARTS parts) and
 * out->nparts 0. An empty text is one empty GSM-7 part.
 */
int text_encode(const char *utf8, size_t len, uint8_t ref, struct text_sms *out,
    char *err, size_t errlen);

#endif
