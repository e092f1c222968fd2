/*
 * A fake Telegram Bot API and MAX Bot API for the tests and the benchmark,
 * on libevent, speaking the platforms' documented JSON:
 *
 *   POST /bot<token>/sendMessage {chat_id,text}     -> {"ok":true,"result":Message}
 *   POST /bot<token>/setWebhook, getWebhookInfo      -> {"ok":true,...}
 *   POST /messages?user_id=<id> {text} (Authorization: <token>)
 *                                                    -> {"message":{...,"body":{"mid":..}}}
 *   POST /subscriptions, GET /subscriptions          -> {"success":true} / {"subscriptions":[]}
 *   POST /pa/send_message {receiver,text}            -> {"status":0,"message_token":N}
 *     (Viber, for the benchmark's --kind viber; tests/msgr/bots_fake is
 *     the full fake of Viber, WhatsApp and VK)
 *   POST /<phone_number_id>/messages {to,...}        -> {"messages":[{"id":..}]}
 *   POST /method/messages.send (form: user_id, ...)  -> {"response":N}
 *     (WhatsApp and VK, for --kind whatsapp and --kind vk)
 *
 * Faults, set at run time: GET /_mode?status=429|500|hang&count=N makes the
 * next N send calls answer 429 (Telegram: parameters.retry_after; MAX:
 * Retry-After), 500, or never (held until exit); status=0 clears.
 *
 * Every call is logged to --log: "CALL <status> <path>" and, for each send
 * answered 200, "SENT <channel> <chat> <text>" (newlines as \n). A wrong
 * token is answered 401 (Telegram) / 401 (MAX) and never SENT.
 *
 * --load URL runs the benchmark's client in the same process: N updates
 * (one per chat, "ПС <contract> <value>") posted at the webhook over C
 * keep-alive connections (--kind viber: signed with --secret as Viber's
 * X-Viber-Content-Signature; whatsapp: as X-Hub-Signature-256; vk: the
 * secret in the body, group_id 214752), and the time from each post to
 * its reply here;
 * it prints the rate and latencies once every reply came (or --timeout).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static struct {
	struct event_base *base;
	FILE *log;
	const char *tg_token, *max_token;
	int fault_status, fault_count; /* 0: none; -1: hang */
	long msg_id;
	/* load */
	const char *url, *secret, *kind, *contracts;
	int chats, conns, next, done_posts, replies, timeout_s, value;
	int64_t *posted_us, *reply_us, t0_us, t_end_us, t_posts_us;
	struct evhttp_connection **cs;
	char host[128], path[256];
	int port;
} F;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * One reply taken: channel, chat, text (newlines as \n) and, when the
 * message carried a cancel button (Telegram reply_markup.keyboard, MAX an
 * inline_keyboard attachment), its text.
 */
static void
log_text(const char *chan, const char *chat, const char *text, const char *kbd)
{
	fprintf(F.log, "SENT\t%s\t%s\t", chan, chat);
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			fputs("\\n", F.log);
		else
			fputc(*p, F.log);
	}
	fprintf(F.log, "\t%s\n", kbd ? kbd : "");
	fflush(F.log);
}

static void
reply(struct evhttp_request *req, int code, const char *body, int retry)
{
	struct evbuffer *b = evbuffer_new();
	char num[16];

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	if (retry > 0) {
		snprintf(num, sizeof(num), "%d", retry);
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), "Retry-After", num);
	}
	evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", b);
	evbuffer_free(b);
	fprintf(F.log, "CALL\t%d\t%s\n", code,
	    evhttp_request_get_uri(req) ? evhttp_request_get_uri(req) : "");
	fflush(F.log);
}

static json_t *
body_json(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);

	return json_loadb(
	    len ? (const char *)evbuffer_pullup(in, -1) : "", len, 0, NULL);
}

/* A fault for this send call, if one is set: answered (or held). */
static bool
fault(struct evhttp_request *req, bool tg)
{
	int st = F.fault_status;

	if (st == 0 || F.fault_count <= 0)
		return false;
	F.fault_count--;
	if (st == -1) {
		fprintf(F.log, "CALL\thang\t%s\n", evhttp_request_get_uri(req));
		fflush(F.log);
		return true; /* never answered */
	}
	if (st == 429)
		reply(req, 429,
		    tg ? "{\"ok\":false,\"error_code\":429,\"description\":"
		         "\"Too Many Requests: retry after 1\",\"parameters\":"
		         "{\"retry_after\":1}}"
		       : "{\"code\":\"too.many.requests\",\"message\":"
		         "\"Too many requests\"}",
		    1);
	else
		reply(req, st,
		    tg ? "{\"ok\":false,\"error_code\":500,\"description\":"
		         "\"Internal Server Error\"}"
		       : "{\"code\":\"internal\",\"message\":\"error\"}",
		    0);
	return true;
}

/* The load's clock: a reply for chat arrived. */
static void
load_reply(const char *chat)
{
	long i = strtol(chat, NULL, 10) - 1000000;

	if (F.reply_us == NULL || i < 0 || i >= F.chats || F.reply_us[i] != 0)
		return;
	F.reply_us[i] = now_us();
	if (++F.replies == F.chats) {
		F.t_end_us = F.reply_us[i];
		/* a moment more: the answers to the last sends must reach
		   serve, or it sends them again */
		event_base_loopexit(F.base, &(struct timeval){ 1, 0 });
	}
}

static void
tg_send(struct evhttp_request *req)
{
	json_t *b = body_json(req);
	json_t *chat = json_object_get(b, "chat_id");
	const char *text = json_string_value(json_object_get(b, "text"));
	char id[32], out[512];

	if (!json_is_integer(chat) || text == NULL) {
		reply(req, 400,
		    "{\"ok\":false,\"error_code\":400,\"description\":"
		    "\"Bad Request: message text is empty\"}",
		    0);
	} else if (!fault(req, true)) {
		snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(chat));
		log_text("telegram", id, text,
		    json_string_value(json_object_get(
		        json_array_get(
		            json_array_get(json_object_get(json_object_get(b,
		                                               "reply_markup"),
		                               "keyboard"),
		                0),
		            0),
		        "text")));
		snprintf(out, sizeof(out),
		    "{\"ok\":true,\"result\":{\"message_id\":%ld,\"from\":"
		    "{\"id\":1,\"is_bot\":true,\"first_name\":\"meter\"},"
		    "\"chat\":{\"id\":%s,\"type\":\"private\"},\"date\":%ld,"
		    "\"text\":\"...\"}}",
		    ++F.msg_id, id, (long)time(NULL));
		reply(req, 200, out, 0);
		load_reply(id);
	}
	json_decref(b);
}

/*
 * A photo's bytes: a JPEG start and the name repeated, 1,000 bytes, or
 * 11 MiB when the name holds "huge" (over the default cap).
 */
static void
file_cb(struct evhttp_request *req, const char *name)
{
	size_t n = strstr(name, "huge") ? 11u << 20 : 1000;
	struct evbuffer *b = evbuffer_new();
	size_t k = strlen(name);

	evbuffer_add(b, "\xff\xd8\xff\xe0", 4);
	for (size_t i = 4; i < n; i++)
		evbuffer_add(b, &name[i % k], 1);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "image/jpeg");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
	fprintf(F.log, "FILE\t%s\t%zu\n", name, n);
	fflush(F.log);
}

/* getFile?file_id=X: the File object, its path photos/X.jpg. */
static void
tg_getfile(struct evhttp_request *req)
{
	struct evkeyvalq q;
	const char *query =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	const char *id;
	char out[1024];

	TAILQ_INIT(&q);
	evhttp_parse_query_str(query ? query : "", &q);
	id = evhttp_find_header(&q, "file_id");
	if (id == NULL || strlen(id) > 200 || strchr(id, '"') != NULL) {
		reply(req, 400,
		    "{\"ok\":false,\"error_code\":400,\"description\":"
		    "\"Bad Request: invalid file_id\"}",
		    0);
	} else {
		snprintf(out, sizeof(out),
		    "{\"ok\":true,\"result\":{\"file_id\":\"%s\","
		    "\"file_unique_id\":\"u%s\",\"file_size\":1000,"
		    "\"file_path\":\"photos/%s.jpg\"}}",
		    id, id, id);
		reply(req, 200, out, 0);
	}
	evhttp_clear_headers(&q);
}

static void
tg_cb(struct evhttp_request *req, const char *rest)
{
	size_t n = strlen(F.tg_token);
	json_t *b;
	char *s;

	if (strncmp(rest, F.tg_token, n) != 0 || rest[n] != '/') {
		reply(req, 401,
		    "{\"ok\":false,\"error_code\":401,\"description\":"
		    "\"Unauthorized\"}",
		    0);
		return;
	}
	rest += n + 1;
	if (strcmp(rest, "sendMessage") == 0) {
		tg_send(req);
		return;
	}
	if (strcmp(rest, "getFile") == 0) {
		tg_getfile(req);
		return;
	}
	b = body_json(req);
	s = b ? json_dumps(b, JSON_COMPACT) : NULL;
	fprintf(F.log, "API\ttelegram\t%s\t%s\n", rest, s ? s : "");
	free(s);
	json_decref(b);
	if (strcmp(rest, "setWebhook") == 0)
		reply(req, 200,
		    "{\"ok\":true,\"result\":true,\"description\":\"Webhook "
		    "was set\"}",
		    0);
	else if (strcmp(rest, "getWebhookInfo") == 0)
		reply(req, 200,
		    "{\"ok\":true,\"result\":{\"url\":\"https://example.org/"
		    "v1/telegram\",\"has_custom_certificate\":false,"
		    "\"pending_update_count\":0,\"max_connections\":40,"
		    "\"allowed_updates\":[\"message\"]}}",
		    0);
	else
		reply(req, 404,
		    "{\"ok\":false,\"error_code\":404,\"description\":"
		    "\"Not Found\"}",
		    0);
}

static void
max_send(struct evhttp_request *req, const char *uid)
{
	json_t *b = body_json(req);
	const char *text = json_string_value(json_object_get(b, "text"));
	char out[512];

	if (uid == NULL || text == NULL) {
		reply(req, 400,
		    "{\"code\":\"proto.payload\",\"message\":\"bad request\"}",
		    0);
	} else if (!fault(req, false)) {
		log_text("max", uid, text,
		    json_string_value(json_object_get(
		        json_array_get(
		            json_array_get(
		                json_object_get(
		                    json_object_get(
		                        json_array_get(
		                            json_object_get(b, "attachments"),
		                            0),
		                        "payload"),
		                    "buttons"),
		                0),
		            0),
		        "text")));
		snprintf(out, sizeof(out),
		    "{\"message\":{\"sender\":{\"user_id\":1,\"name\":\"meter\","
		    "\"is_bot\":true},\"recipient\":{\"user_id\":%s,"
		    "\"chat_type\":\"dialog\"},\"timestamp\":%ld000,"
		    "\"body\":{\"mid\":\"mid.%ld\",\"seq\":%ld,\"text\":\"...\"}}}",
		    uid, (long)time(NULL), F.msg_id + 1, F.msg_id + 1);
		F.msg_id++;
		reply(req, 200, out, 0);
		load_reply(uid);
	}
	json_decref(b);
}

static void
max_cb(struct evhttp_request *req, const char *path)
{
	const char *auth = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");
	struct evkeyvalq q;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *query = evhttp_uri_get_query(u);

	if (auth == NULL || strcmp(auth, F.max_token) != 0) {
		reply(req, 401,
		    "{\"code\":\"verify.token\",\"message\":\"Invalid access_"
		    "token\"}",
		    0);
		return;
	}
	if (strcmp(path, "/messages") == 0) {
		TAILQ_INIT(&q);
		evhttp_parse_query_str(query ? query : "", &q);
		max_send(req, evhttp_find_header(&q, "user_id"));
		evhttp_clear_headers(&q);
	} else if (strcmp(path, "/subscriptions") == 0) {
		json_t *b = body_json(req);
		char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;

		fprintf(F.log, "API\tmax\tsubscriptions\t%s\n", s ? s : "");
		free(s);
		json_decref(b);
		reply(req, 200,
		    evhttp_request_get_command(req) == EVHTTP_REQ_GET
		        ? "{\"subscriptions\":[]}"
		        : "{\"success\":true}",
		    0);
	} else {
		reply(req, 404, "{\"code\":\"not.found\",\"message\":\"\"}", 0);
	}
}

/* Viber's send_message, for the load: taken, answered with a token. */
static void
viber_send(struct evhttp_request *req)
{
	json_t *b = body_json(req);
	const char *to = json_string_value(json_object_get(b, "receiver"));
	const char *text = json_string_value(json_object_get(b, "text"));
	char out[160];

	if (to == NULL || text == NULL) {
		reply(req, 200, "{\"status\":3,\"status_message\":\"badData\"}",
		    0);
	} else if (!fault(req, false)) {
		log_text("viber", to, text, NULL);
		snprintf(out, sizeof(out),
		    "{\"status\":0,\"status_message\":\"ok\",\"message_token\":"
		    "%ld}",
		    5000000000000000000L + ++F.msg_id);
		reply(req, 200, out, 0);
		load_reply(to);
	}
	json_decref(b);
}

/* WhatsApp's /{phone_number_id}/messages, for the load. */
static void
wa_send(struct evhttp_request *req)
{
	json_t *b = body_json(req);
	const char *to = json_string_value(json_object_get(b, "to"));
	char out[200];

	if (to == NULL) {
		reply(req, 400,
		    "{\"error\":{\"message\":\"(#100) Invalid parameter\","
		    "\"type\":\"OAuthException\",\"code\":100}}",
		    0);
	} else if (!fault(req, false)) {
		log_text("whatsapp", to, "", NULL);
		snprintf(out, sizeof(out),
		    "{\"messaging_product\":\"whatsapp\",\"contacts\":[{"
		    "\"input\":\"%s\",\"wa_id\":\"%s\"}],\"messages\":[{"
		    "\"id\":\"wamid.OUT%ld\"}]}",
		    to, to, ++F.msg_id);
		reply(req, 200, out, 0);
		load_reply(to);
	}
	json_decref(b);
}

/* VK's messages.send, for the load. */
static void
vk_send(struct evhttp_request *req)
{
	size_t n = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	char *form = calloc(1, n + 1), out[64];
	struct evkeyvalq q;
	const char *uid;

	evbuffer_copyout(evhttp_request_get_input_buffer(req), form, n);
	TAILQ_INIT(&q);
	evhttp_parse_query_str(form, &q);
	uid = evhttp_find_header(&q, "user_id");
	if (uid == NULL || evhttp_find_header(&q, "random_id") == NULL) {
		reply(req, 200,
		    "{\"error\":{\"error_code\":100,\"error_msg\":\"One of "
		    "the parameters specified was missing or invalid\"}}",
		    0);
	} else if (!fault(req, false)) {
		log_text("vk", uid, "", NULL);
		snprintf(out, sizeof(out), "{\"response\":%ld}", ++F.msg_id);
		reply(req, 200, out, 0);
		load_reply(uid);
	}
	evhttp_clear_headers(&q);
	free(form);
}

static void
mode_cb(struct evhttp_request *req)
{
	struct evkeyvalq q;
	const char *query =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	const char *st, *n;

	TAILQ_INIT(&q);
	evhttp_parse_query_str(query ? query : "", &q);
	st = evhttp_find_header(&q, "status");
	n = evhttp_find_header(&q, "count");
	F.fault_status = st == NULL   ? 0
	    : strcmp(st, "hang") == 0 ? -1
	                              : atoi(st);
	F.fault_count = n ? atoi(n) : 1000000000;
	evhttp_clear_headers(&q);
	reply(req, 200, "{\"ok\":true}", 0);
}

static void
api_cb(struct evhttp_request *req, void *arg)
{
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	(void)arg;
	if (path == NULL)
		reply(req, 404, "{}", 0);
	else if (strncmp(path, "/bot", 4) == 0)
		tg_cb(req, path + 4);
	else if (strncmp(path, "/file/bot", 9) == 0 &&
	    strncmp(path + 9, F.tg_token, strlen(F.tg_token)) == 0)
		file_cb(req, path + 10 + strlen(F.tg_token));
	else if (strncmp(path, "/images/", 8) == 0)
		file_cb(req, path + 8);
	else if (strcmp(path, "/_mode") == 0)
		mode_cb(req);
	else if (strcmp(path, "/pa/send_message") == 0)
		viber_send(req);
	else if (strcmp(path, "/method/messages.send") == 0)
		vk_send(req);
	else if (strlen(path) > 10 && path[1] >= '0' && path[1] <= '9' &&
	    strcmp(path + strlen(path) - 9, "/messages") == 0)
		wa_send(req);
	else
		max_cb(req, path);
}

/* ---- the load ------------------------------------------------------------ */

static void load_next(struct evhttp_connection *);

static void
load_done_cb(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection *c = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;

	if (code != 200) {
		fprintf(stderr, "msgr_fake: webhook answered %d\n", code);
		event_base_loopbreak(F.base);
		return;
	}
	if (++F.done_posts == F.chats)
		F.t_posts_us = now_us();
	load_next(c);
}

/* Viber's signature: hex HMAC-SHA256 of body keyed with --secret. */
static void
load_sign(const char *body, char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	HMAC(EVP_sha256(), F.secret, (int)strlen(F.secret),
	    (const unsigned char *)body, strlen(body), mac, &n);
	for (unsigned int k = 0; k < n && k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02x", mac[k]);
}

static void
load_next(struct evhttp_connection *c)
{
	struct evhttp_request *req;
	char body[1024], hdr[40], sig[65], wsig[80];
	int i = F.next;
	int64_t ts = (int64_t)time(NULL);

	if (i >= F.chats)
		return;
	F.next++;
	if (strcmp(F.kind, "whatsapp") == 0)
		snprintf(body, sizeof(body),
		    "{\"object\":\"whatsapp_business_account\",\"entry\":[{"
		    "\"id\":\"1\",\"changes\":[{\"value\":{"
		    "\"messaging_product\":\"whatsapp\",\"metadata\":{"
		    "\"display_phone_number\":\"15550783881\","
		    "\"phone_number_id\":\"106540352242922\"},\"contacts\":[{"
		    "\"profile\":{\"name\":\"u\"},\"wa_id\":\"%d\"}],"
		    "\"messages\":[{\"from\":\"%d\",\"id\":\"wamid.IN%d\","
		    "\"timestamp\":\"%" PRId64 "\",\"text\":{\"body\":"
		    "\"ПС %d %d\"},\"type\":\"text\"}]},\"field\":"
		    "\"messages\"}]}]}",
		    1000000 + i, 1000000 + i, i, ts, 100000 + i, F.value);
	else if (strcmp(F.kind, "vk") == 0)
		snprintf(body, sizeof(body),
		    "{\"group_id\":214752,\"type\":\"message_new\","
		    "\"event_id\":\"ev%d\",\"v\":\"5.199\",\"object\":{"
		    "\"message\":{\"date\":%" PRId64 ",\"from_id\":%d,\"id\":"
		    "0,\"out\":0,\"peer_id\":%d,\"text\":\"ПС %d %d\"}},"
		    "\"secret\":\"%s\"}",
		    i, ts, 1000000 + i, 1000000 + i, 100000 + i, F.value,
		    F.secret);
	else if (strcmp(F.kind, "viber") == 0)
		snprintf(body, sizeof(body),
		    "{\"event\":\"message\",\"timestamp\":%" PRId64 "000,"
		    "\"chat_hostname\":\"SN-1_\",\"message_token\":%d,"
		    "\"sender\":{\"id\":\"%d\",\"name\":\"u\"},\"message\":"
		    "{\"type\":\"text\",\"text\":\"ПС %d %d\"}}",
		    ts, 700000000 + i, 1000000 + i, 100000 + i, F.value);
	else if (strcmp(F.kind, "max") == 0)
		snprintf(body, sizeof(body),
		    "{\"update_type\":\"message_created\",\"timestamp\":"
		    "%" PRId64 "000,\"message\":{\"sender\":{\"user_id\":%d,"
		    "\"name\":\"u\",\"is_bot\":false},\"recipient\":{\"chat_id\""
		    ":%d,\"chat_type\":\"dialog\",\"user_id\":1},\"timestamp\":"
		    "%" PRId64 "000,\"body\":{\"mid\":\"mid.in.%d\",\"seq\":%d,"
		    "\"text\":\"ПС %d %d\"}},\"user_locale\":\"ru\"}",
		    ts, 1000000 + i, 1000000 + i, ts, i, i, 100000 + i,
		    F.value);
	else
		snprintf(body, sizeof(body),
		    "{\"update_id\":%d,\"message\":{\"message_id\":%d,\"from\":"
		    "{\"id\":%d,\"is_bot\":false,\"first_name\":\"u\"},\"chat\":"
		    "{\"id\":%d,\"first_name\":\"u\",\"type\":\"private\"},"
		    "\"date\":%" PRId64 ",\"text\":\"ПС %d %d\"}}",
		    500000000 + i, i, 1000000 + i, 1000000 + i, ts, 100000 + i,
		    F.value);
	req = evhttp_request_new(load_done_cb, c);
	evhttp_add_header(
	    evhttp_request_get_output_headers(req), "Host", F.host);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	if (strcmp(F.kind, "viber") == 0) {
		load_sign(body, sig);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "X-Viber-Content-Signature", sig);
	} else if (strcmp(F.kind, "whatsapp") == 0) {
		load_sign(body, sig);
		snprintf(wsig, sizeof(wsig), "sha256=%s", sig);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "X-Hub-Signature-256", wsig);
	} else if (strcmp(F.kind, "vk") == 0) {
		/* the secret is in the body */
	} else {
		snprintf(hdr, sizeof(hdr), "%s",
		    strcmp(F.kind, "max") == 0
		        ? "X-Max-Bot-Api-Secret"
		        : "X-Telegram-Bot-Api-Secret-Token");
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), hdr, F.secret);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	F.posted_us[i] = now_us();
	evhttp_make_request(c, req, EVHTTP_REQ_POST, F.path);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
load_report(void)
{
	int64_t *lat = calloc((size_t)F.chats, sizeof(*lat));
	int n = 0;
	double secs;

	for (int i = 0; i < F.chats; i++)
		if (F.reply_us[i] != 0)
			lat[n++] = F.reply_us[i] - F.posted_us[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp64);
	secs = (double)((F.t_end_us ? F.t_end_us : now_us()) - F.t0_us) / 1e6;
	printf("updates %d posted %d replies %d seconds %.3f rate %.0f "
	       "posts_s %.3f p50_ms %.1f p99_ms %.1f\n",
	    F.chats, F.done_posts, F.replies, secs, F.replies / secs,
	    F.t_posts_us ? (double)(F.t_posts_us - F.t0_us) / 1e6 : 0.0,
	    n ? lat[n / 2] / 1e3 : 0.0,
	    n ? lat[(size_t)((n - 1) * 0.99)] / 1e3 : 0.0);
	free(lat);
}

static void
load_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fprintf(stderr, "msgr_fake: load timed out\n");
	event_base_loopbreak(F.base);
}

static int
load_start(void)
{
	struct evhttp_uri *u = evhttp_uri_parse(F.url);
	struct timeval tv = { F.timeout_s, 0 };

	if (u == NULL || evhttp_uri_get_host(u) == NULL)
		return -1;
	snprintf(F.host, sizeof(F.host), "%s", evhttp_uri_get_host(u));
	snprintf(F.path, sizeof(F.path), "%s", evhttp_uri_get_path(u));
	F.port = evhttp_uri_get_port(u);
	evhttp_uri_free(u);
	F.posted_us = calloc((size_t)F.chats, sizeof(int64_t));
	F.reply_us = calloc((size_t)F.chats, sizeof(int64_t));
	F.t0_us = now_us();
	F.cs = calloc((size_t)F.conns, sizeof(*F.cs));
	for (int k = 0; k < F.conns; k++) {
		F.cs[k] = evhttp_connection_base_new(
		    F.base, NULL, F.host, (unsigned short)F.port);
		load_next(F.cs[k]);
	}
	event_base_once(F.base, -1, EV_TIMEOUT, load_timeout_cb, NULL, &tv);
	return 0;
}

int
main(int argc, char **argv)
{
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	const char *logpath = "/dev/null";
	int port = 0;

	signal(SIGPIPE, SIG_IGN);
	F.tg_token = "123456:TEST-token";
	F.max_token = "max-test-token";
	F.kind = "telegram";
	F.conns = 64;
	F.timeout_s = 120;
	F.value = 2000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL) {
			fprintf(stderr, "msgr_fake: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--log") == 0)
			logpath = v;
		else if (strcmp(a, "--token") == 0)
			F.tg_token = v;
		else if (strcmp(a, "--max-token") == 0)
			F.max_token = v;
		else if (strcmp(a, "--load") == 0)
			F.url = v;
		else if (strcmp(a, "--secret") == 0)
			F.secret = v;
		else if (strcmp(a, "--kind") == 0)
			F.kind = v;
		else if (strcmp(a, "--chats") == 0)
			F.chats = atoi(v);
		else if (strcmp(a, "--conns") == 0)
			F.conns = atoi(v);
		else if (strcmp(a, "--timeout") == 0)
			F.timeout_s = atoi(v);
		else {
			fprintf(stderr, "msgr_fake: unknown %s\n", a);
			return 2;
		}
	}
	if ((F.log = fopen(logpath, "a")) == NULL) {
		fprintf(
		    stderr, "msgr_fake: %s: %s\n", logpath, strerror(errno));
		return 1;
	}
	F.base = event_base_new();
	http = evhttp_new(F.base);
	evhttp_set_gencb(http, api_cb, NULL);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	sock = evhttp_bind_socket_with_handle(
	    http, "127.0.0.1", (unsigned short)port);
	if (sock == NULL) {
		fprintf(stderr, "msgr_fake: cannot listen on %d\n", port);
		return 1;
	}
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		getsockname(evhttp_bound_socket_get_fd(sock),
		    (struct sockaddr *)&ss, &sl);
		fprintf(stderr, "msgr_fake: listening on 127.0.0.1:%d\n",
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	if (F.url != NULL &&
	    (F.secret == NULL || F.chats <= 0 || load_start() != 0)) {
		fprintf(stderr, "msgr_fake: --load needs --secret, --chats\n");
		return 2;
	}
	event_base_dispatch(F.base);
	if (F.url != NULL) {
		load_report();
		for (int k = 0; k < F.conns; k++)
			evhttp_connection_free(F.cs[k]);
		free(F.cs);
		free(F.posted_us);
		free(F.reply_us);
	}
	evhttp_free(http);
	event_base_free(F.base);
	fclose(F.log);
	return F.url != NULL && F.replies != F.chats ? 1 : 0;
}
