/*
 * The stable id of a message that came without one. See msg_id.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "meterline/msg_id.h"

/*
 * The time comes first, in hex with the sign bit flipped so that ids sort
 * by time: a replay runs in time order, so its ids land at the right end
 * of message_ids' index (appended, pages filled) instead of at random
 * places across it (a page split every few rows, every probe a cache
 * miss). The hash only has to tell apart messages of the same
 * microsecond.
 */
void
msg_id_stable(int64_t time_us, const char *channel, const char *from,
    const char *to, const char *text, size_t text_len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t t = (uint64_t)time_us ^ (UINT64_C(1) << 63);
	char ts[24];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	/* Every field followed by a NUL: no two messages share the input. */
	snprintf(ts, sizeof(ts), "%" PRId64, time_us);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, ts, strlen(ts) + 1);
	EVP_DigestUpdate(ctx, channel, strlen(channel) + 1);
	EVP_DigestUpdate(ctx, from, strlen(from) + 1);
	EVP_DigestUpdate(ctx, to, strlen(to) + 1);
	EVP_DigestUpdate(ctx, text, text_len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	memcpy(out, MSG_ID_STABLE_PREFIX, sizeof(MSG_ID_STABLE_PREFIX) - 1);
	out += sizeof(MSG_ID_STABLE_PREFIX) - 1;
	for (int i = 60; i >= 0; i -= 4)
		*out++ = hex[(t >> i) & 15];
	for (int i = 0; i < 8; i++) {
		*out++ = hex[md[i] >> 4];
		*out++ = hex[md[i] & 15];
	}
	*out = '\0';
}
