#!/usr/bin/env bash
# Proves, for Telegram (docs/channels.md): a wrong or missing secret is
# 401 and stores nothing; a bad update is 400; a two-tariff dialog gets
# each reply once, by sendMessage, in order; a retried update (same
# update_id) is answered 200 and not applied again; a photo's caption is
# read as the text; a 429 with parameters.retry_after is honoured and the
# reply goes once; with the API down the reply waits in the outbox and
# goes once when it is back; every outbox row ends `sent` with the
# platform's message id; serve stops with exit 0. It runs with [store]
# gather = 1s: updates posted one at a time (the platform's webhook
# concurrency is then 1) are each stored and answered at once, never
# after the gathering wait (docs/store.md, "Gathering").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v python3 >/dev/null || { echo "no python3: skipped" >&2; exit 77; }
command -v curl >/dev/null || { echo "no curl: skipped" >&2; exit 77; }
e2e_init msgr_telegram
import "$SRC/tests/data/contracts-sample.csv"
fake_start
msgr_conf '[store]
gather = 1s'
serve_up

# tg_post_timed UPDATE_ID CHAT TEXT: tg_post that fails when the answer
# took as long as the gathering wait (1 s).
tg_post_timed() {
	local t0 t1 code
	t0=$(date +%s%N)
	code=$(tg_post "$@")
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 800 ] ||
		fail "update $1 answered after $(((t1 - t0) / 1000000)) ms: it waited to be gathered"
	echo "$code"
}

# The secret: missing, wrong, one byte short; nothing stored.
expect_eq "no secret" "$(post /v1/telegram X-Other x "$(tg_update 1 111 'ПС 123859')")" 401
expect_eq "wrong secret" "$(tg_post 1 111 'ПС 123859' wrong-secret)" 401
expect_eq "secret one byte short" "$(tg_post 1 111 'ПС 123859' "${TG_SECRET%?}")" 401
expect_eq "bad JSON" "$(post /v1/telegram X-Telegram-Bot-Api-Secret-Token "$TG_SECRET" '{"update_id":')" 400
expect_eq "nothing stored" "$(sql "SELECT count(*) FROM messages")" 0

# The two-tariff dialog.
expect_eq "update 1" "$(tg_post_timed 1001 111 'ПС 123859')" 200
wait_reply telegram 111 1
expect_eq "update 2" "$(tg_post_timed 1002 111 '45055')" 200
wait_reply telegram 111 2
expect_eq "update 3" "$(tg_post_timed 1003 111 '23186')" 200
wait_reply telegram 111 3
expect_eq "the dialog's replies" "$(sent telegram 111)" "Договор 123859. Введите показания: день
Договор 123859. Введите показания: ночь
Показания приняты. Спасибо."
expect_eq "the cancel button while the dialog is open" "$(buttons telegram 111)" "Отмена
Отмена
-"

# The button's text cancels; the keyboard goes with the dialog.
expect_eq "start" "$(tg_post 1101 112 'ПС 345678')" 200
wait_reply telegram 112 1
expect_eq "cancel by the button" "$(tg_post 1102 112 'Отмена')" 200
wait_reply telegram 112 2
expect_eq "cancelled" "$(sql "SELECT outcome FROM messages WHERE external_id = '1102' AND channel = 'telegram'")" cancelled
expect_eq "buttons" "$(buttons telegram 112)" "Отмена
-"

# Telegram sends an update again until it gets a 2xx: applied once.
expect_eq "retried update" "$(tg_post 1003 111 '23186')" 200
expect_eq "retried update, again" "$(tg_post 1001 111 'ПС 123859')" 200
sleep 1.5
expect_eq "no reply to a retried update" "$(nsent telegram 111)" 3
expect_eq "one submission" "$(sql "SELECT count(*) FROM submissions WHERE contract = '123859'")" 1
expect_eq "each update applied once" \
	"$(sql "SELECT count(*) FROM messages WHERE channel = 'telegram' AND sender = '111' AND outcome <> 'duplicate'")" 3

# A photo of the meter with the reading as its caption.
photo=$(printf '{"update_id":2001,"message":{"message_id":7,"from":{"id":222,"is_bot":false,"first_name":"Olga"},"chat":{"id":222,"first_name":"Olga","type":"private"},"date":%s,"photo":[{"file_id":"AgAD-small","file_unique_id":"s1","file_size":1200,"width":90,"height":67},{"file_id":"AgAD-big","file_unique_id":"b1","file_size":51200,"width":1280,"height":960}],"caption":"ПС 102057522 11638"}}' "$(date +%s)")
expect_eq "photo with caption" "$(post /v1/telegram X-Telegram-Bot-Api-Secret-Token "$TG_SECRET" "$photo")" 200
wait_reply telegram 222 1
expect_eq "the caption was read" "$(sent telegram 222)" "Показания приняты. Спасибо."

# Flood control: one 429 with retry_after 1, then the reply goes once.
fake_mode 429 1
expect_eq "update during a 429" "$(tg_post 3001 333 'ПС 176354 40 36')" 200
wait_reply telegram 333 1
expect_eq "a 429 was answered" "$(grep -c $'^CALL\t429' "$W/fake.log")" 1
expect_eq "one reply after the 429" "$(nsent telegram 333)" 1

# The API down: the reply waits in the outbox, then goes once.
fake_stop
expect_eq "update while the API is down" "$(tg_post 4001 444 'ПС 345678')" 200
wait_until 20 "a failed attempt" sh -c "[ \$($PSQL -qXAt '$DB' -c \"SELECT attempts FROM outbox WHERE recipient = '444'\") -ge 1 ]"
expect_eq "still pending" "$(sql "SELECT state FROM outbox WHERE recipient = '444'")" pending
fake_start
wait_until 30 "the reply after the outage" sh -c "awk -F '\t' '\$1 == \"SENT\" && \$3 == \"444\"' '$W/fake.log' | grep -q ."
sleep 1
expect_eq "one reply after the outage" "$(nsent telegram 444)" 1
expect_eq "its text" "$(sent telegram 444)" "Договор 345678. Введите показания: пик"

wait_until 10 "every row settled" sh -c "[ \$($PSQL -qXAt '$DB' -c \"SELECT count(*) FROM outbox WHERE state <> 'sent'\") -eq 0 ]"
expect_eq "rows sent with the platform's id" \
	"$(sql "SELECT count(*) FROM outbox WHERE channel = 'telegram' AND state = 'sent' AND smsc_message_id ~ '^[0-9]+\$'")" 8
metrics=$(curl -s "http://127.0.0.1:$HTTP_PORT/metrics")
expect_match "unauthorized counted" "$metrics" 'meterline_channel_events_total\{channel="telegram",event="unauthorized"\} 3'
expect_match "429 counted" "$metrics" 'meterline_channel_events_total\{channel="telegram",event="throttled"\} 1'
expect_match "messages by channel" "$metrics" 'meterline_messages_total\{channel="telegram",outcome="accepted"'
expect_eq "no secret in the log" "$(grep -c -e "$TG_SECRET" -e "TEST-token" "$W/serve.log" || true)" 0
serve_stop
# Replies committed while the API was up went without a claim (docs/outbox.md).
expect_match "replies handed over at commit" "$(grep 'handed over at commit' "$W/serve.log")" '\([1-9][0-9]* handed over'

# Replay of an export holding these messages: into the same database all
# are duplicates and nothing changes; into a fresh one the same outcomes,
# and no reply is queued (replay sends nothing to messengers).
"$BIN" export-log --db "$DB" --channel telegram >"$W/export.jsonl" 2>"$W/export.err" || fail "export-log: $(cat "$W/export.err")"
expect_eq "exported" "$(wc -l <"$W/export.jsonl" | tr -d ' ')" "$(sql "SELECT count(*) FROM messages WHERE channel = 'telegram'")"
outbox0=$(sql "SELECT count(*) FROM outbox")
"$BIN" replay --config "$W/serve.conf" --db "$DB" -q "$W/export.jsonl" >"$W/replay1.out" 2>&1 || fail "replay: $(cat "$W/replay1.out")"
expect_eq "replay changes no outbox row" "$(sql "SELECT count(*) FROM outbox")" "$outbox0"
expect_eq "replay stores no second submission" "$(sql "SELECT count(*) FROM submissions WHERE contract = '123859'")" 1
outcomes=$(sql "SELECT outcome FROM messages WHERE channel = 'telegram' AND sender = '111' AND outcome <> 'duplicate' ORDER BY id")
db_new msgr_telegram_replay
import "$SRC/tests/data/contracts-sample.csv"
"$BIN" replay --config "$W/serve.conf" --db "$DB" -q "$W/export.jsonl" >"$W/replay2.out" 2>&1 || fail "replay: $(cat "$W/replay2.out")"
expect_eq "the same outcomes in a fresh database" \
	"$(sql "SELECT outcome FROM messages WHERE channel = 'telegram' AND sender = '111' ORDER BY id")" "$outcomes"
expect_eq "a fresh replay queues no reply" "$(sql "SELECT count(*) FROM outbox")" 0
echo "ok: telegram: 401/400, dialog, retried update once, caption, 429, API outage, replay"
