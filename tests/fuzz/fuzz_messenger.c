/*
 * libFuzzer target: the messenger adapters' parsers of what the platforms
 * send us: webhook bodies and the answers to our send requests
 * (src/telegram, src/max, src/viber, src/whatsapp, src/vk;
 * docs/channels.md).
 *
 * Input: the first octet picks the adapter (bit 0 and bits 5-6: 0
 * Telegram, 1 MAX, 2 Viber, 3 WhatsApp, 4 VK, 5-7 Viber, WhatsApp, VK
 * again; bit 7 is unused), what is parsed (bit 1: a webhook body, or a
 * platform answer) and, for an answer, its HTTP status (bits 2-4: 200,
 * 400, 403, 404, 429, 500, none, 502). The rest is the body: an
 * exact-size buffer for a webhook (the HTTP layer does not terminate it),
 * NUL-terminated for an answer (as webc promises). Seeds of the first
 * two adapters (bits 5-6 clear) mean what they meant before the others
 * joined.
 *
 * Promises checked: a parsed update is refused with a reason, ignored, a
 * status report (DELIVRD, READ or UNDELIV of a terminated, non-empty id),
 * or a message whose text is terminated UTF-8 of at most CHAN_TEXT_MAX
 * octets and whose sender, recipient, ids, photo and phone are
 * terminated; the message points at the update's own strings under the
 * adapter's channel name; an answer for the 200 (VK's "ok", Viber's
 * welcome) is a terminated string. VK's body check (vk_authentic) takes
 * any body and only accepts one with our secret or our group's
 * confirmation. An answer gets a verdict and a terminated id, set only
 * when sent (or WhatsApp's closed-window mark on a refusal; retry_after
 * may be anything: channel.c clamps it to 1..CHAN_PAUSE_MAX).
 */
#include <string.h>

#include "fuzz_check.h"
#include "meterline/max.h"
#include "meterline/telegram.h"
#include "meterline/viber.h"
#include "meterline/vk.h"
#include "meterline/whatsapp.h"

/* VK checks group_id and secret against these (make_seeds.py uses them) */
static struct config_messenger cfg = { .enabled = true,
	.token = "123456:ABC-def",
	.secret = "vk-secret",
	.api_base = "http://127.0.0.1:1",
	.verify_token = "confirm-me",
	.account_id = "12345",
	.api_version = "5.199" };

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
	if (u.answer != NULL)
		CHECK(strlen(u.answer) < (size_t)1 << 20);
	if (u.kind == CHAN_IN_MESSAGE) {
		CHECK(u.text != NULL && u.msg.text == u.text);
		CHECK(strlen(u.text) == u.msg.text_len);
		CHECK(u.msg.text_len <= CHAN_TEXT_MAX);
		CHECK(
		    u.msg.sender == u.sender && u.msg.recipient == u.recipient);
		CHECK(u.msg.channel != NULL &&
		    strcmp(u.msg.channel, api->name) == 0);
	} else if (u.kind == CHAN_IN_STATUS) {
		CHECK(u.external_id[0] != '\0');
		CHECK(strcmp(u.status, "DELIVRD") == 0 ||
		    strcmp(u.status, "READ") == 0 ||
		    strcmp(u.status, "UNDELIV") == 0 ||
		    strcmp(u.status, "REJECTD") == 0);
	} else {
		CHECK(u.kind == CHAN_IN_IGNORE);
	}
	free(u.text);
	free(u.answer);
}

/* Whether len octets at s contain the string w (memmem is a GNU extension). */
static bool
contains(const uint8_t *s, size_t len, const char *w)
{
	size_t n = strlen(w);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(s + i, w, n) == 0)
			return true;
	return false;
}

/* VK authenticates by the body: only our secret or our confirmation. */
static void
check_vk_auth(const uint8_t *body, size_t len)
{
	if (vk_authentic(&cfg, (const char *)body, len))
		CHECK(contains(body, len, "vk-secret") ||
		    contains(body, len, "confirmation"));
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
	CHECK(v == CHAN_SENT || id[0] == '\0' ||
	    (api == &whatsapp_api && v == CHAN_REJECTED &&
	        strcmp(id, WHATSAPP_WINDOW_CLOSED) == 0));
	free(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[8] = { 200, 400, 403, 404, 429, 500, 0, 502 };
	static const struct chan_api *const apis[8] = { &telegram_api, &max_api,
		&viber_api, &whatsapp_api, &vk_api, &viber_api, &whatsapp_api,
		&vk_api };
	const struct chan_api *api;
	uint8_t *body;

	if (size < 1)
		return 0;
	api = apis[(data[0] & 1) | ((data[0] >> 4) & 6)];
	if (data[0] & 2) {
		check_answer(
		    api, statuses[(data[0] >> 2) & 7], data + 1, size - 1);
		return 0;
	}
	body = malloc(size - 1 ? size - 1 : 1);
	CHECK(body != NULL);
	memcpy(body, data + 1, size - 1);
	check_update(api, body, size - 1);
	if (api == &vk_api)
		check_vk_auth(body, size - 1);
	free(body);
	return 0;
}
