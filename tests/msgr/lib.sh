# Sourced by tests/msgr/test_*.sh and tests/bench/bench_messengers.sh (bash,
# set -eu), after tests/e2e/lib.sh's variables are known. The fake
# platform (msgr_fake), the config of a serve with [http], [telegram] and
# [max] and no SMPP, and helpers to post updates the way the platforms do.
here_msgr=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here_msgr/../e2e/lib.sh"
FAKE_BIN=${MLINE_FAKE_BIN:-$(dirname "$BIN")/tests/msgr/msgr_fake}
TG_TOKEN=123456:TEST-token
MAX_TOKEN=max-test-token
TG_SECRET=tg-secret-0123456789
MAX_SECRET=max-secret-0123456789
FAKE_PID=""

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# fake_start: the fake API on FAKE_PORT (chosen once, kept across restarts).
fake_start() {
	: "${FAKE_PORT:=$(free_port)}"
	"$FAKE_BIN" --port "$FAKE_PORT" --log "$W/fake.log" --token "$TG_TOKEN" \
		--max-token "$MAX_TOKEN" 2>>"$W/fake.err" &
	FAKE_PID=$!
	track "$FAKE_PID"
	wait_until 10 "the fake API to listen" curl -s -o /dev/null "http://127.0.0.1:$FAKE_PORT/_mode"
}

fake_stop() {
	stop_pid "$FAKE_PID"
	untrack "$FAKE_PID"
	FAKE_PID=""
}

# fake_mode STATUS COUNT: the next COUNT sends answer STATUS (429, 500, hang).
fake_mode() {
	curl -sf -o /dev/null "http://127.0.0.1:$FAKE_PORT/_mode?status=$1&count=$2"
}

# msgr_conf [EXTRA]: serve.conf with the bridge listener and both bots.
msgr_conf() {
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

[telegram]
token = $TG_TOKEN
secret_token = $TG_SECRET
api_base = http://127.0.0.1:$FAKE_PORT
send_rate = ${SEND_RATE:-1000}

[max]
token = $MAX_TOKEN
secret = $MAX_SECRET
api_base = http://127.0.0.1:$FAKE_PORT
send_rate = ${SEND_RATE:-1000}

${1:-}
CONF
}

# serve_up: serve_start and wait for /healthz.
serve_up() {
	serve_start
	wait_until 20 "serve's /healthz" sh -c \
		"curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$HTTP_PORT/healthz | grep -q 200"
}

# post PATH SECRET_HEADER SECRET BODY: the HTTP status of the webhook call.
post() {
	curl -s -o "$W/post.out" -w '%{http_code}' --max-time 20 \
		-H 'Content-Type: application/json' -H "$2: $3" \
		--data-binary "$4" "http://127.0.0.1:$HTTP_PORT$1"
}

# tg_update UPDATE_ID CHAT TEXT: a Telegram Update with a text message.
tg_update() {
	printf '{"update_id":%s,"message":{"message_id":%s,"from":{"id":%s,"is_bot":false,"first_name":"Ivan","language_code":"ru"},"chat":{"id":%s,"first_name":"Ivan","type":"private"},"date":%s,"text":"%s"}}' \
		"$1" "$1" "$2" "$2" "$(date +%s)" "$3"
}

# tg_post UPDATE_ID CHAT TEXT [SECRET]
tg_post() {
	post /v1/telegram X-Telegram-Bot-Api-Secret-Token "${4:-$TG_SECRET}" "$(tg_update "$1" "$2" "$3")"
}

# max_update MID USER TEXT: a MAX message_created Update.
max_update() {
	printf '{"update_type":"message_created","timestamp":%s000,"message":{"sender":{"user_id":%s,"first_name":"Ivan","name":"Ivan","is_bot":false,"last_activity_time":%s000},"recipient":{"chat_id":%s,"chat_type":"dialog","user_id":777},"timestamp":%s000,"body":{"mid":"%s","seq":1,"text":"%s"}},"user_locale":"ru"}' \
		"$(date +%s)" "$2" "$(date +%s)" "$2" "$(date +%s)" "$1" "$3"
}

max_post() {
	post /v1/max X-Max-Bot-Api-Secret "${4:-$MAX_SECRET}" "$(max_update "$1" "$2" "$3")"
}

# sent CHANNEL CHAT: the replies the fake took for that chat, one a line.
sent() {
	awk -F '\t' -v c="$1" -v id="$2" '$1 == "SENT" && $2 == c && $3 == id { print $4 }' "$W/fake.log" 2>/dev/null || true
}
nsent() { sent "$1" "$2" | wc -l | tr -d ' '; }
# buttons CHANNEL CHAT: the button of each reply ("-" for none), one a line.
buttons() {
	awk -F '\t' -v c="$1" -v id="$2" '$1 == "SENT" && $2 == c && $3 == id { print ($5 == "" ? "-" : $5) }' "$W/fake.log"
}

# wait_reply CHANNEL CHAT N: until the chat has N replies.
wait_reply() {
	wait_until 20 "$1 chat $2 to get $3 replies" sh -c "[ \$(awk -F '\t' -v c=$1 -v id=$2 '\$1 == \"SENT\" && \$2 == c && \$3 == id' '$W/fake.log' 2>/dev/null | wc -l) -ge $3 ]"
}
