# Sourced by tests/msgr/test_viber.sh, test_whatsapp.sh, test_vk.sh after
# lib.sh: the fake Viber/WhatsApp/VK API (bots_fake), a serve config with
# those sections, and posting callbacks signed the way each platform signs.
BOTS_FAKE_BIN=${MLINE_BOTS_FAKE_BIN:-$(dirname "$BIN")/tests/msgr/bots_fake}
VIBER_TOKEN=4f8f0d7bd3d2e6c1-8f5c6e0b0a3d5e9f-viber
WA_TOKEN=EAAG-wa-test-token
WA_SECRET=wa-app-secret-0123456789
WA_VERIFY=wa-verify-0123456789
WA_PHONE=106540352242922
VK_TOKEN=vk1.a.test-token
VK_SECRET=vk-secret-0123456789
VK_GROUP=214752
VK_CONFIRM=1a2b3c4d

# bots_start: the fake APIs on FAKE_PORT (chosen once, kept across restarts).
bots_start() {
	: "${FAKE_PORT:=$(free_port)}"
	"$BOTS_FAKE_BIN" --port "$FAKE_PORT" --log "$W/fake.log" \
		--viber-token "$VIBER_TOKEN" --wa-token "$WA_TOKEN" \
		--wa-phone "$WA_PHONE" --vk-token "$VK_TOKEN" 2>>"$W/fake.err" &
	FAKE_PID=$!
	track "$FAKE_PID"
	wait_until 10 "the fake API to listen" curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/_mode"
}

# bots_conf SECTION...: serve.conf with [http] and the named bots.
bots_conf() {
	: "${HTTP_PORT:=$(free_port)}"
	cat >"$W/serve.conf" <<CONF
[database]
conninfo = $DB

[http]
listen = 127.0.0.1:$HTTP_PORT
secret = bridge-secret-0123456789
rate_limit = 0

[window]
days = 1-31
CONF
	for s in "$@"; do
		case $s in
		viber) printf '\n[viber]\ntoken = %s\nbot_name = Счётчик\napi_base = http://127.0.0.1:%s\nsend_rate = 1000\n' \
			"$VIBER_TOKEN" "$FAKE_PORT" ;;
		whatsapp) printf '\n[whatsapp]\ntoken = %s\napp_secret = %s\nverify_token = %s\nphone_number_id = %s\ntemplate = meter_reminder\napi_base = http://127.0.0.1:%s\nsend_rate = 1000\n' \
			"$WA_TOKEN" "$WA_SECRET" "$WA_VERIFY" "$WA_PHONE" "$FAKE_PORT" ;;
		vk) printf '\n[vk]\ntoken = %s\nsecret = %s\ngroup_id = %s\nconfirmation = %s\napi_base = http://127.0.0.1:%s\nsend_rate = 1000\n' \
			"$VK_TOKEN" "$VK_SECRET" "$VK_GROUP" "$VK_CONFIRM" "$FAKE_PORT" ;;
		esac >>"$W/serve.conf"
	done
}

# hmac KEY BODY: lowercase hex HMAC-SHA256.
hmac() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" -hex | sed 's/^.*= //'; }

# post_raw PATH BODY [HEADER...]: the HTTP status; the answer in $W/post.out.
post_raw() {
	local path=$1 body=$2
	shift 2
	local h=()
	for x in "$@"; do h+=(-H "$x"); done
	curl -s -o "$W/post.out" -w '%{http_code}' --max-time 20 \
		-H 'Content-Type: application/json' "${h[@]}" \
		--data-binary "$body" "http://127.0.0.1:$HTTP_PORT$path"
}

# viber_msg TOKEN SENDER TEXT: a Viber "message" callback.
viber_msg() {
	printf '{"event":"message","timestamp":%s000,"chat_hostname":"SN-376_","message_token":%s,"sender":{"id":"%s","name":"Ivan","avatar":"http://avatar.example.com","country":"RU","language":"ru","api_version":10},"message":{"type":"text","text":"%s"},"silent":false}' \
		"$(date +%s)" "$1" "$2" "$3"
}

# viber_post BODY [SIGNATURE]: signed with the token unless given.
viber_post() {
	post_raw /v1/viber "$1" "X-Viber-Content-Signature: ${2:-$(hmac "$VIBER_TOKEN" "$1")}"
}

# wa_msg WAMID FROM TEXT: a Cloud API notification with one text message.
wa_msg() {
	printf '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"%s"},"contacts":[{"profile":{"name":"Ivan"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"%s","timestamp":"%s","text":{"body":"%s"},"type":"text"}]},"field":"messages"}]}]}' \
		"$WA_PHONE" "$2" "$2" "$1" "$(date +%s)" "$3"
}

# wa_status WAMID STATUS: a notification with one status.
wa_status() {
	printf '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"%s"},"statuses":[{"id":"%s","status":"%s","timestamp":"%s","recipient_id":"79129671520"}]},"field":"messages"}]}]}' \
		"$WA_PHONE" "$1" "$2" "$(date +%s)"
}

# wa_post BODY [SIGNATURE]: signed with the app secret unless given.
wa_post() {
	post_raw /v1/whatsapp "$1" "X-Hub-Signature-256: ${2:-sha256=$(hmac "$WA_SECRET" "$1")}"
}

bots_mode() { curl -sf -o /dev/null "http://127.0.0.1:$FAKE_PORT/_mode?status=$1&count=$2"; }

# vk_msg EVENT_ID FROM TEXT [SECRET]: a Callback API message_new.
vk_msg() {
	printf '{"group_id":%s,"type":"message_new","event_id":"%s","v":"5.199","object":{"message":{"date":%s,"from_id":%s,"id":0,"out":0,"attachments":[],"conversation_message_id":1,"fwd_messages":[],"important":false,"is_hidden":false,"peer_id":%s,"random_id":0,"text":"%s"},"client_info":{"button_actions":["text"],"keyboard":true,"inline_keyboard":true,"carousel":true,"lang_id":0}},"secret":"%s"}' \
		"$VK_GROUP" "$1" "$(date +%s)" "$2" "$2" "$3" "${4:-$VK_SECRET}"
}

vk_post() { post_raw /v1/vk "$1" "X-Retry-Counter: ${2:-0}"; }
