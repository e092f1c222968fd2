#!/usr/bin/env bash
# Proves, for Viber (docs/channels.md): a missing, wrong, one-character-
# short or re-serialised-body X-Viber-Content-Signature is 401 and stores
# nothing; conversation_started is answered with the welcome in the
# response and stores nothing; a two-tariff dialog is answered once per
# message by /pa/send_message (X-Viber-Auth-Token, the cancel keyboard); a
# retried callback (same message_token) is applied once; 429 and 500 from
# the API are retried and the reply goes once; delivered/seen/failed set
# the reply's row; `meterline webhook set viber` calls /pa/set_webhook.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/bots_lib.sh"
for t in python3 curl openssl; do
	command -v $t >/dev/null || { echo "no $t: skipped" >&2; exit 77; }
done
e2e_init msgr_viber
import "$SRC/tests/data/contracts-sample.csv"
bots_start
bots_conf viber
serve_up

U='01234567890A=+/x'
b=$(viber_msg 4912661846655238001 "$U" 'ПС 123859')
expect_eq "no signature" "$(post_raw /v1/viber "$b")" 401
expect_eq "wrong signature" "$(viber_post "$b" "$(hmac wrong-token "$b")")" 401
sig=$(hmac "$VIBER_TOKEN" "$b")
expect_eq "one character short" "$(viber_post "$b" "${sig%?}")" 401
reser=$(printf '%s' "$b" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), ensure_ascii=False, indent=1))')
expect_eq "re-serialised by a proxy" "$(viber_post "$reser" "$sig")" 401
expect_eq "nothing stored" "$(sql "SELECT count(*) FROM messages")" 0

# conversation_started: the welcome (the help) in the callback's response.
cs=$(printf '{"event":"conversation_started","timestamp":%s000,"message_token":4912661846655238000,"type":"open","context":"","user":{"id":"%s","name":"Ivan","language":"ru","country":"RU","api_version":10},"subscribed":false}' "$(date +%s)" "$U")
expect_eq "conversation_started" "$(viber_post "$cs")" 200
expect_match "the welcome in the response" "$(cat "$W/post.out")" '"type":"text".*Пришлите'
expect_match "sent as the bot" "$(cat "$W/post.out")" '"name":"Счётчик"'
expect_eq "nothing stored for it" "$(sql "SELECT count(*) FROM messages")" 0

# The two-tariff dialog.
expect_eq "message 1" "$(viber_post "$b")" 200
wait_reply viber "$U" 1
expect_eq "message 2" "$(viber_post "$(viber_msg 4912661846655238002 "$U" 45055)")" 200
wait_reply viber "$U" 2
m3=$(viber_msg 4912661846655238003 "$U" 23186)
expect_eq "message 3" "$(viber_post "$m3")" 200
wait_reply viber "$U" 3
expect_eq "the dialog's replies" "$(sent viber "$U")" "Договор 123859. Введите показания: день
Договор 123859. Введите показания: ночь
Показания приняты. Спасибо."
expect_eq "the cancel button while the dialog is open" "$(buttons viber "$U")" "Отмена
Отмена
-"
expect_eq "the same message_token again" "$(viber_post "$m3")" 200
sleep 1.5
expect_eq "no reply to it" "$(nsent viber "$U")" 3
expect_eq "one submission" "$(sql "SELECT count(*) FROM submissions WHERE contract = '123859'")" 1
expect_eq "stored as viber, sender the Viber id" \
	"$(sql "SELECT count(*) FROM messages WHERE channel = 'viber' AND sender = '$U' AND duplicate_of IS NULL")" 3

# Delivery reports: the rows of the replies.
wait_until 10 "the replies settled" sh -c "[ \$($PSQL -qXAt '$DB' -c \"SELECT count(*) FROM outbox WHERE channel = 'viber' AND state = 'sent'\") -eq 3 ]"
ids=$(sql "SELECT smsc_message_id FROM outbox WHERE channel = 'viber' ORDER BY id")
t1=$(echo "$ids" | sed -n 1p); t2=$(echo "$ids" | sed -n 2p); t3=$(echo "$ids" | sed -n 3p)
ev() { printf '{"event":"%s","timestamp":%s000,"chat_hostname":"SN-1_","message_token":%s,"user_id":"%s"%s}' "$1" "$(date +%s)" "$2" "$U" "${3:-}"; }
expect_eq "delivered" "$(viber_post "$(ev delivered "$t1")")" 200
expect_eq "seen" "$(viber_post "$(ev seen "$t2")")" 200
expect_eq "failed" "$(viber_post "$(ev failed "$t3" ',"desc":"failure description"')")" 200
expect_eq "unsigned report refused" "$(post_raw /v1/viber "$(ev delivered "$t3")")" 401
expect_eq "the rows' states" "$(sql "SELECT state || ' ' || coalesce(dlr_state, '') FROM outbox WHERE channel = 'viber' ORDER BY id")" "delivered DELIVRD
sent READ
undeliverable UNDELIV"

# subscribed/unsubscribed/webhook: 200, not stored.
n0=$(sql "SELECT count(*) FROM messages")
expect_eq "unsubscribed" "$(viber_post "$(printf '{"event":"unsubscribed","timestamp":1,"user_id":"%s","message_token":1}' "$U")")" 200
expect_eq "webhook" "$(viber_post '{"event":"webhook","timestamp":1,"chat_hostname":"SN-1_","message_token":2}')" 200
expect_eq "nothing more stored" "$(sql "SELECT count(*) FROM messages")" "$n0"

# The API answering 429, then 500, then OK: the reply goes once.
U2='Zm9vYmFy99=='
bots_mode 429 1
expect_eq "message during a 429" "$(viber_post "$(viber_msg 4912661846655238010 "$U2" 'ПС 176354 40 36')")" 200
wait_reply viber "$U2" 1
bots_mode 500 1
expect_eq "message during a 500" "$(viber_post "$(viber_msg 4912661846655238011 "$U2" '?')")" 200
wait_reply viber "$U2" 2
sleep 1
expect_eq "a 429 and a 500 were answered" "$(grep -c -E $'^CALL\t(429|500)\t/pa/send_message' "$W/fake.log")" 2
expect_eq "one reply each" "$(nsent viber "$U2")" 2
expect_eq "no token in the log" "$(grep -c -e "$VIBER_TOKEN" "$W/serve.log" || true)" 0
serve_stop

# meterline webhook set viber URL: /pa/set_webhook with the event types.
expect_eq "webhook set" "$("$BIN" webhook set viber https://m.example/v1/viber --config "$W/serve.conf" >"$W/wh.out" 2>&1; echo $?)" 0
expect_match "set_webhook called" "$(grep $'^API\tviber\tset_webhook' "$W/fake.log")" '"url":"https://m.example/v1/viber".*"delivered"'
expect_eq "webhook info" "$("$BIN" webhook info viber --config "$W/serve.conf" >/dev/null 2>&1; echo $?)" 0
echo "ok: viber: signatures, welcome, dialog, same token once, receipts, 429/500 retried, set_webhook"
