/*
 * libFuzzer target: the messenger adapters' parsers of what the platforms
 * send us: webhook Update bodies and the answers to our sendMessage
 * (src/telegram, src/max; docs/channels.md).
 *
 * Input: the first octet picks the adapter (bit 0: Telegram or MAX), what
 * is parsed (bit 1: a webhook body, or a platform answer) and, for an
 * answer, its HTTP status (bits 2-7: 200, 400, 403, 404, 429, 500...). The
 * rest is the body: an exact-size buffer for a webhook (the HTTP layer does
 * not terminate it), NUL-terminated for an answer (as webc promises).
 *
 * Promises checked: a parsed update is refused with a reason, ignored, or
 * a message whose text is terminated UTF-8 of at most CHAN_TEXT_MAX octets
 * and whose sender, recipient, ids, photo and phone are terminated; the
 * message points at the update's own strings under the adapter's channel
 * name. An answer gets a verdict and a terminated id, set only when sent
 * (retry_after may be anything: channel.c clamps it to 1..CHAN_PAUSE_MAX).
 */
#include <string.h>

#include "fuzz_check.h"
#include "meterline/max.h"
#include "meterline/telegram.h"

static struct config_messenger cfg = { .enabled = true,
	.token = "123456:ABC-def",
	.api_base = "http://127.0.0.1:1" };

static void
terminated(const char *s, size_t cap)
{
	CHECK(memchr(s, 0, cap) != NULL);
}

static void
check_update(const struct chan_api *api, const uint8_t *body, size_t len)
{
	struct chan_update u;
	char why[128];

	memset(&u, 0, sizeof(u));
	memset(why, 'x', sizeof(why));
	if (api->parse(&cfg, (const char *)body, len, &u, why, sizeof(why)) !=
	    0) {
		CHECK(memchr(why, 0, sizeof(why)) != NULL && why[0] != '\0');
		free(u.text);
		return;
	}
	terminated(u.sender, sizeof(u.sender));
	terminated(u.recipient, sizeof(u.recipient));
	terminated(u.external_id, sizeof(u.external_id));
	terminated(u.photo, sizeof(u.photo));
	terminated(u.phone, sizeof(u.phone));
	if (u.kind == CHAN_IN_MESSAGE) {
		CHECK(u.text != NULL && u.msg.text == u.text);
		CHECK(strlen(u.text) == u.msg.text_len);
		CHECK(u.msg.text_len <= CHAN_TEXT_MAX);
		CHECK(
		    u.msg.sender == u.sender && u.msg.recipient == u.recipient);
		CHECK(u.msg.channel != NULL &&
		    strcmp(u.msg.channel, api->name) == 0);
	} else {
		CHECK(u.kind == CHAN_IN_IGNORE);
	}
	free(u.text);
}

static void
check_answer(
    const struct chan_api *api, int status, const uint8_t *data, size_t len)
{
	char *body = malloc(len + 1), id[64];
	int retry_after = 0; /* any value: channel.c clamps it */
	enum chan_verdict v;

	CHECK(body != NULL);
	memcpy(body, data, len);
	body[len] = '\0';
	id[0] = '\0'; /* as channel.c: an answer without an id leaves it */
	v = api->verdict(&cfg,
	    &(struct webc_resp){ status, body, len, status == 429 ? 2 : -1,
	        status ? NULL : "timeout" },
	    id, sizeof(id), &retry_after);
	CHECK(v == CHAN_SENT || v == CHAN_REJECTED || v == CHAN_RETRY);
	terminated(id, sizeof(id));
	CHECK(v == CHAN_SENT || id[0] == '\0');
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[8] = { 200, 400, 403, 404, 429, 500, 0, 502 };
	const struct chan_api *api;
	uint8_t *body;

	if (size < 1)
		return 0;
	api = data[0] & 1 ? &max_api : &telegram_api;
	if (data[0] & 2) {
		check_answer(
		    api, statuses[(data[0] >> 2) & 7], data + 1, size - 1);
		return 0;
	}
	body = malloc(size - 1 ? size - 1 : 1);
	CHECK(body != NULL);
	memcpy(body, data + 1, size - 1);
	check_update(api, body, size - 1);
	free(body);
	return 0;
}
