/*
 * Short-message text: decoding every SMPP data_coding to UTF-8, and encoding
 * replies (GSM 03.38 7-bit or UCS-2) split into concatenated parts.
 * Pure functions over caller-owned buffers; nothing here allocates.
 */
#ifndef METERLINE_TEXT_H
#define METERLINE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* SMPP data_coding values we decode. */
#define TEXT_DCS_GSM7    0x00	/* SMSC default alphabet, one septet per octet */
#define TEXT_DCS_IA5     0x01	/* IA5 / ASCII */
#define TEXT_DCS_LATIN1  0x03	/* ISO-8859-1 */
#define TEXT_DCS_CYRILLIC 0x06	/* ISO-8859-5 */
#define TEXT_DCS_UCS2    0x08	/* UTF-16BE in practice */

/* Flags reported by the decoders. */
#define TEXT_F_UNKNOWN_DCS 0x1	/* unknown data_coding, decoded as Latin-1 */
#define TEXT_F_REPLACED    0x2	/* some input became U+FFFD */
#define TEXT_F_TRUNCATED   0x4	/* output buffer too small, output cut */

/* Output of a decoder never exceeds TEXT_UTF8_MAX(inlen) bytes plus a NUL. */
#define TEXT_UTF8_MAX(inlen) (3 * (size_t)(inlen))

/*
 * Decode len octets of the given data_coding into NUL-terminated UTF-8 in
 * out (outcap bytes, including the NUL). Returns the UTF-8 length; *flags
 * (may be NULL) gets TEXT_F_* bits. Never reads past in[len-1].
 */
size_t text_decode(uint8_t dcs, const uint8_t *in, size_t len, char *out,
                   size_t outcap, unsigned *flags);

/*
 * Unpack GSM 7-bit packed septets (as in a UDH-bearing message): skip
 * fill_bits leading bits, then extract up to nseptets septets into one
 * septet per octet. Returns the number written (at most septcap).
 */
size_t text_gsm7_unpack(const uint8_t *packed, size_t nbytes, unsigned fill_bits,
                        size_t nseptets, uint8_t *septets, size_t septcap);

/* Encodings of a reply. */
enum text_encoding { TEXT_ENC_GSM7, TEXT_ENC_UCS2 };

#define TEXT_MAX_PARTS  255
/*
 * Octets of short_message per part, UDH included. GSM-7 travels unpacked
 * (one septet per octet, the SMSC packs it), so a single 160-septet SMS is
 * 160 octets and a concatenated part is 6 + 153 = 159; UCS-2 is 140.
 */
#define TEXT_PART_BYTES 160

struct text_part {
	uint8_t  len;			/* octets used in data */
	uint8_t  data[TEXT_PART_BYTES];	/* UDH (when split) + payload */
};

/*
 * A reply ready for submit_sm. GSM-7 parts hold one septet per octet
 * (unpacked, as SMPP carries data_coding 0); UCS-2 parts hold UTF-16BE.
 * When nparts > 1 each part starts with a 6-byte concatenation UDH
 * (05 00 03 ref total seq) and esm_class needs UDHI.
 */
struct text_sms {
	enum text_encoding enc;
	uint8_t            dcs;		/* 0x00 or 0x08 */
	unsigned           nparts;
	struct text_part   parts[TEXT_MAX_PARTS];
};

/*
 * Encode UTF-8 text of len bytes for sending, splitting when needed with
 * concatenation reference ref. Returns 0, or -1 with a reason in err
 * (invalid UTF-8, more than TEXT_MAX_PARTS parts).
 */
int text_encode(const char *utf8, size_t len, uint8_t ref, struct text_sms *out,
                char *err, size_t errlen);

#endif
