/*
 * A fake Viber, WhatsApp Cloud and VK API for the tests, on libevent,
 * speaking the platforms' documented JSON (msgr_fake is the Telegram and
 * MAX one):
 *
 *   Viber  POST /pa/send_message {receiver,text[,keyboard]}
 *            (X-Viber-Auth-Token)      -> {"status":0,"message_token":N}
 *          POST /pa/set_webhook, /pa/get_account_info -> {"status":0,...}
 *   WhatsApp POST /<phone_number_id>/messages {to,type:text|template}
 *            (Authorization: Bearer <token>) -> {"messages":[{"id":"wamid..."}]}
 *            free text to a number ending in 00: 400 code 131047 (the
 *            24-hour window is closed)
 *          GET /<media-id> (Bearer) -> {"url": "http://<us>/_media/<id>"}
 *          GET /_media/<id> (Bearer) -> <id mod 3000 + 100> bytes of a
 *            JPEG-looking file (logged "MEDIA <id>")
 *   VK     POST /method/messages.send (form: user_id, random_id, message,
 *            access_token, v)          -> {"response":N}; the same
 *            random_id again is answered with the same N and not sent
 *            again (VK's own dedupe)
 *
 * Faults: GET /_mode?status=429|500&count=N: the next N send calls answer
 * that status (429 with Retry-After: 1); status=0 clears. status=hang: the
 * next N sends are held unanswered and not taken (the platform never got
 * them; "CALL hang"); status=taken: taken (SENT logged, VK's random_id
 * remembered) and then held unanswered (the answer lost; "CALL taken").
 *
 * Every call is logged to --log: "CALL <status> <path>"; each reply taken
 * "SENT <channel> <to> <text> <button>"; registrations "API <channel> ...".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#define VK_SEEN_MAX 4096

static struct {
	struct event_base *base;
	FILE *log;
	const char *viber_token, *wa_token, *wa_phone, *vk_token;
	int fault_status, fault_count, port;
	long msg_id;
	long long vk_rid[VK_SEEN_MAX];
	long vk_mid[VK_SEEN_MAX];
	int vk_n;
} F;

static void
log_text(const char *chan, const char *to, const char *text, const char *kbd)
{
	fprintf(F.log, "SENT\t%s\t%s\t", chan, to);
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

static const char *
header(struct evhttp_request *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

static char *
body_text(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *s = malloc(len + 1);

	evbuffer_copyout(in, s, len);
	s[len] = '\0';
	return s;
}

static json_t *
body_json(struct evhttp_request *req)
{
	char *s = body_text(req);
	json_t *j = json_loads(s, 0, NULL);

	free(s);
	return j;
}

#define FAULT_HANG (-1)
#define FAULT_TAKEN (-2)

/* Hold req unanswered (a request the peer never sees answered). */
static void
hold(struct evhttp_request *req, const char *what)
{
	fprintf(F.log, "CALL\t%s\t%s\n", what,
	    evhttp_request_get_uri(req) ? evhttp_request_get_uri(req) : "");
	fflush(F.log);
}

/* A fault for this send call before it is taken, if one is set: answered
   (or held). */
static bool
fault(struct evhttp_request *req)
{
	if (F.fault_status == 0 || F.fault_status == FAULT_TAKEN ||
	    F.fault_count <= 0)
		return false;
	F.fault_count--;
	if (F.fault_status == FAULT_HANG)
		hold(req, "hang");
	else
		reply(req, F.fault_status, "{\"error\":\"fault\"}",
		    F.fault_status == 429 ? 1 : 0);
	return true;
}

/* After the send was taken: its answer lost, if that fault is set. */
static bool
answer_lost(struct evhttp_request *req)
{
	if (F.fault_status != FAULT_TAKEN || F.fault_count <= 0)
		return false;
	F.fault_count--;
	hold(req, "taken");
	return true;
}

/* ---- Viber --------------------------------------------------------------- */

static void
viber_send(struct evhttp_request *req)
{
	json_t *b = body_json(req);
	const char *to = json_string_value(json_object_get(b, "receiver"));
	const char *text = json_string_value(json_object_get(b, "text"));
	char out[256];

	if (to == NULL || text == NULL) {
		reply(req, 200, "{\"status\":3,\"status_message\":\"badData\"}",
		    0);
	} else if (!fault(req)) {
		log_text("viber", to, text,
		    json_string_value(json_object_get(
		        json_array_get(
		            json_object_get(
		                json_object_get(b, "keyboard"), "Buttons"),
		            0),
		        "ActionBody")));
		snprintf(out, sizeof(out),
		    "{\"status\":0,\"status_message\":\"ok\",\"message_token\":"
		    "%ld,\"chat_hostname\":\"SN-CHAT-05_\",\"billing_status\":"
		    "1}",
		    5741311803571721000L + ++F.msg_id);
		if (!answer_lost(req))
			reply(req, 200, out, 0);
	}
	json_decref(b);
}

static void
viber_cb(struct evhttp_request *req, const char *path)
{
	const char *tok = header(req, "X-Viber-Auth-Token");

	if (tok == NULL || strcmp(tok, F.viber_token) != 0) {
		reply(req, 200,
		    "{\"status\":2,\"status_message\":\"invalidAuthToken\"}",
		    0);
	} else if (strcmp(path, "/pa/send_message") == 0) {
		viber_send(req);
	} else {
		char *s = body_text(req);

		fprintf(F.log, "API\tviber\t%s\t%s\n", path + 4, s);
		free(s);
		reply(req, 200,
		    "{\"status\":0,\"status_message\":\"ok\",\"event_types\":"
		    "[\"delivered\",\"seen\"]}",
		    0);
	}
}

/* ---- WhatsApp ------------------------------------------------------------ */

static void
wa_send(struct evhttp_request *req)
{
	json_t *b = body_json(req);
	const char *to = json_string_value(json_object_get(b, "to"));
	const char *type = json_string_value(json_object_get(b, "type"));
	const char *text = json_string_value(
	    json_object_get(json_object_get(b, "text"), "body"));
	char out[256], tpl[160];

	if (text == NULL) /* an interactive message: its body */
		text = json_string_value(json_object_get(
		    json_object_get(json_object_get(b, "interactive"), "body"),
		    "text"));
	if (type != NULL && strcmp(type, "template") == 0) {
		snprintf(tpl, sizeof(tpl), "TEMPLATE %s",
		    json_string_value(json_object_get(
		        json_object_get(b, "template"), "name")));
		text = tpl;
	}
	if (to == NULL || text == NULL ||
	    strcmp(json_string_value(json_object_get(b, "messaging_product"))
	            ?: "",
	        "whatsapp") != 0) {
		reply(req, 400,
		    "{\"error\":{\"message\":\"(#100) Invalid parameter\","
		    "\"type\":\"OAuthException\",\"code\":100}}",
		    0);
	} else if (type != NULL && strcmp(type, "template") != 0 &&
	    strlen(to) > 2 && strcmp(to + strlen(to) - 2, "00") == 0) {
		/* the test's customers whose window is closed: numbers
		   ending in 00 take templates only */
		reply(req, 400,
		    "{\"error\":{\"message\":\"(#131047) Re-engagement "
		    "message\",\"type\":\"OAuthException\",\"code\":131047,"
		    "\"error_data\":{\"messaging_product\":\"whatsapp\","
		    "\"details\":\"Message failed to send because more than 24 "
		    "hours have passed since the customer last replied to this "
		    "number.\"}}}",
		    0);
	} else if (!fault(req)) {
		log_text("whatsapp", to, text,
		    json_string_value(json_object_get(
		        json_object_get(
		            json_array_get(
		                json_object_get(
		                    json_object_get(
		                        json_object_get(b, "interactive"),
		                        "action"),
		                    "buttons"),
		                0),
		            "reply"),
		        "title")));
		snprintf(out, sizeof(out),
		    "{\"messaging_product\":\"whatsapp\",\"contacts\":[{"
		    "\"input\":\"%s\",\"wa_id\":\"%s\"}],\"messages\":[{\"id\":"
		    "\"wamid.HBgLNzkxMjk2NzE1MjAVAgARGBI%06ldQA==\"}]}",
		    to, to, ++F.msg_id);
		if (!answer_lost(req))
			reply(req, 200, out, 0);
	}
	json_decref(b);
}

/* GET /<media-id>: where the file is, as the Graph API answers. */
static void
wa_media_url(struct evhttp_request *req, const char *id)
{
	char out[512];

	snprintf(out, sizeof(out),
	    "{\"messaging_product\":\"whatsapp\",\"url\":\"http://127.0.0.1:"
	    "%d/_media/%s\",\"mime_type\":\"image/jpeg\",\"sha256\":\"81d3\","
	    "\"file_size\":\"%ld\",\"id\":\"%s\"}",
	    F.port, id, atol(id) % 3000 + 100, id);
	reply(req, 200, out, 0);
}

/* GET /_media/<id>: the file (a JPEG's first bytes, then filler). */
static void
wa_media_file(struct evhttp_request *req, const char *id)
{
	struct evbuffer *b = evbuffer_new();
	size_t n = (size_t)(atol(id) % 3000 + 100);
	unsigned char *f = calloc(1, n);

	memcpy(f, "\xff\xd8\xff\xe0", 4);
	evbuffer_add(b, f, n);
	free(f);
	fprintf(F.log, "MEDIA\t%s\n", id);
	fflush(F.log);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "image/jpeg");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
wa_cb(struct evhttp_request *req, const char *path)
{
	const char *auth = header(req, "Authorization");
	char want[300];

	snprintf(want, sizeof(want), "Bearer %s", F.wa_token);
	if (auth == NULL || strcmp(auth, want) != 0) {
		reply(req, 401,
		    "{\"error\":{\"message\":\"Invalid OAuth access token.\","
		    "\"type\":\"OAuthException\",\"code\":190}}",
		    0);
		return;
	}
	if (strncmp(path, "/_media/", 8) == 0)
		wa_media_file(req, path + 8);
	else if (evhttp_request_get_command(req) == EVHTTP_REQ_GET)
		wa_media_url(req, path + 1);
	else
		wa_send(req);
}

/* ---- VK ------------------------------------------------------------------ */

static void
vk_send(struct evhttp_request *req, struct evkeyvalq *q)
{
	const char *uid = evhttp_find_header(q, "user_id");
	const char *rid = evhttp_find_header(q, "random_id");
	const char *text = evhttp_find_header(q, "message");
	const char *kbd = evhttp_find_header(q, "keyboard");
	long long r = rid ? atoll(rid) : 0;
	char out[128];
	json_t *k = kbd ? json_loads(kbd, 0, NULL) : NULL;

	if (uid == NULL || text == NULL || rid == NULL) {
		reply(req, 200,
		    "{\"error\":{\"error_code\":100,\"error_msg\":\"One of the "
		    "parameters specified was missing or invalid\"}}",
		    0);
		json_decref(k);
		return;
	}
	if (fault(req)) {
		json_decref(k);
		return;
	}
	for (int i = 0; i < F.vk_n; i++)
		if (F.vk_rid[i] == r) {
			snprintf(out, sizeof(out), "{\"response\":%ld}",
			    F.vk_mid[i]);
			reply(req, 200, out, 0);
			json_decref(k);
			return;
		}
	log_text("vk", uid, text,
	    json_string_value(json_object_get(
	        json_object_get(
	            json_array_get(
	                json_array_get(json_object_get(k, "buttons"), 0), 0),
	            "action"),
	        "label")));
	json_decref(k);
	if (F.vk_n < VK_SEEN_MAX) {
		F.vk_rid[F.vk_n] = r;
		F.vk_mid[F.vk_n++] = ++F.msg_id;
	}
	snprintf(out, sizeof(out), "{\"response\":%ld}", F.msg_id);
	if (!answer_lost(req))
		reply(req, 200, out, 0);
}

static void
vk_cb(struct evhttp_request *req, const char *method)
{
	char *s = body_text(req);
	const char *tok;
	struct evkeyvalq q;

	TAILQ_INIT(&q);
	evhttp_parse_query_str(s, &q);
	tok = evhttp_find_header(&q, "access_token");
	if (tok == NULL || strcmp(tok, F.vk_token) != 0 ||
	    evhttp_find_header(&q, "v") == NULL)
		reply(req, 200,
		    "{\"error\":{\"error_code\":5,\"error_msg\":\"User "
		    "authorization failed\"}}",
		    0);
	else if (strcmp(method, "messages.send") == 0)
		vk_send(req, &q);
	else {
		fprintf(F.log, "API\tvk\t%s\t%s\n", method,
		    evhttp_find_header(&q, "url") ?: "");
		reply(req, 200, "{\"response\":{\"server_id\":3}}", 0);
	}
	evhttp_clear_headers(&q);
	free(s);
}

/* ---- dispatch ------------------------------------------------------------ */

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
	F.fault_status = st == NULL    ? 0
	    : strcmp(st, "hang") == 0  ? FAULT_HANG
	    : strcmp(st, "taken") == 0 ? FAULT_TAKEN
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
	size_t pl = strlen(F.wa_phone);

	(void)arg;
	if (path == NULL)
		reply(req, 404, "{}", 0);
	else if (strcmp(path, "/_mode") == 0)
		mode_cb(req);
	else if (strncmp(path, "/pa/", 4) == 0)
		viber_cb(req, path);
	else if (strncmp(path, "/method/", 8) == 0)
		vk_cb(req, path + 8);
	else if (path[0] == '/' && strncmp(path + 1, F.wa_phone, pl) == 0 &&
	    strcmp(path + 1 + pl, "/messages") == 0)
		wa_cb(req, path);
	else if (strncmp(path, "/_media/", 8) == 0 ||
	    (path[0] == '/' && path[1] != '\0' &&
	        strspn(path + 1, "0123456789") == strlen(path + 1)))
		wa_cb(req, path); /* media: GET /<media-id>, then its url */
	else
		reply(req, 404, "{\"error\":\"not found\"}", 0);
}

int
main(int argc, char **argv)
{
	struct evhttp *http;
	const char *logpath = "/dev/null";
	int port = 0;

	signal(SIGPIPE, SIG_IGN);
	F.viber_token = "viber-test-token";
	F.wa_token = "wa-test-token";
	F.wa_phone = "106540352242922";
	F.vk_token = "vk-test-token";
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--port") == 0)
			port = F.port = atoi(v);
		else if (strcmp(a, "--log") == 0)
			logpath = v;
		else if (strcmp(a, "--viber-token") == 0)
			F.viber_token = v;
		else if (strcmp(a, "--wa-token") == 0)
			F.wa_token = v;
		else if (strcmp(a, "--wa-phone") == 0)
			F.wa_phone = v;
		else if (strcmp(a, "--vk-token") == 0)
			F.vk_token = v;
		else {
			fprintf(stderr, "bots_fake: unknown %s\n", a);
			return 2;
		}
	}
	if ((F.log = fopen(logpath, "a")) == NULL) {
		fprintf(
		    stderr, "bots_fake: %s: %s\n", logpath, strerror(errno));
		return 1;
	}
	F.base = event_base_new();
	http = evhttp_new(F.base);
	evhttp_set_gencb(http, api_cb, NULL);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	if (evhttp_bind_socket(http, "127.0.0.1", (unsigned short)port) != 0) {
		fprintf(stderr, "bots_fake: cannot listen on %d\n", port);
		return 1;
	}
	event_base_dispatch(F.base);
	evhttp_free(http);
	event_base_free(F.base);
	fclose(F.log);
	return 0;
}
