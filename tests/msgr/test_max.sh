#!/usr/bin/env bash
# Proves, for MAX (docs/channels.md): a wrong or missing
# X-Max-Bot-Api-Secret is 401 and stores nothing; bot_started gets the
# help; a two-tariff dialog gets each reply once by POST /messages with the
# token in the Authorization header; a message created again (same mid) is
# applied once; an image with text is read; a 500 from the API is retried
# and the reply goes once; updates of other types are 200 and not stored.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v python3 >/dev/null || { echo "no python3: skipped" >&2; exit 77; }
command -v curl >/dev/null || { echo "no curl: skipped" >&2; exit 77; }
e2e_init msgr_max
import "$SRC/tests/data/contracts-sample.csv"
fake_start
msgr_conf
serve_up

expect_eq "no secret" "$(post /v1/max X-Other x "$(max_update mid.1 501 'ПС 123859')")" 401
expect_eq "wrong secret" "$(max_post mid.1 501 'ПС 123859' "x$MAX_SECRET")" 401
expect_eq "not JSON" "$(post /v1/max X-Max-Bot-Api-Secret "$MAX_SECRET" 'update_type=message_created')" 400
expect_eq "nothing stored" "$(sql "SELECT count(*) FROM messages")" 0

# The user pressed Start: the help.
started=$(printf '{"update_type":"bot_started","timestamp":%s000,"chat_id":501,"user":{"user_id":501,"first_name":"Ivan","name":"Ivan","is_bot":false,"last_activity_time":%s000},"payload":null,"user_locale":"ru"}' "$(date +%s)" "$(date +%s)")
expect_eq "bot_started" "$(post /v1/max X-Max-Bot-Api-Secret "$MAX_SECRET" "$started")" 200
wait_reply max 501 1
expect_match "the help" "$(sent max 501)" "ПС"

expect_eq "message 1" "$(max_post mid.a1 501 'ПС 123859')" 200
wait_reply max 501 2
expect_eq "message 2" "$(max_post mid.a2 501 '45055')" 200
wait_reply max 501 3
expect_eq "message 3" "$(max_post mid.a3 501 '23186')" 200
wait_reply max 501 4
expect_eq "the dialog's replies" "$(sent max 501 | tail -n 3)" "Договор 123859. Введите показания: день
Договор 123859. Введите показания: ночь
Показания приняты. Спасибо."
expect_eq "the cancel button while the dialog is open" "$(buttons max 501 | tail -n 3)" "Отмена
Отмена
-"
expect_eq "the same message again" "$(max_post mid.a3 501 '23186')" 200
sleep 1.5
expect_eq "no reply to it" "$(nsent max 501)" 4
expect_eq "one submission" "$(sql "SELECT count(*) FROM submissions WHERE contract = '123859'")" 1

# An image with the reading as its text.
img=$(printf '{"update_type":"message_created","timestamp":%s000,"message":{"sender":{"user_id":502,"name":"Olga","is_bot":false},"recipient":{"chat_id":502,"chat_type":"dialog","user_id":777},"timestamp":%s000,"body":{"mid":"mid.b1","seq":2,"text":"ПС 102057522 11638","attachments":[{"type":"image","payload":{"photo_id":42,"token":"tok","url":"http://127.0.0.1:9/i.jpg"}}]}}}' "$(date +%s)" "$(date +%s)")
expect_eq "image with text" "$(post /v1/max X-Max-Bot-Api-Secret "$MAX_SECRET" "$img")" 200
wait_reply max 502 1
expect_eq "its text was read" "$(sent max 502)" "Показания приняты. Спасибо."

# A 500 from the API: retried after the backoff, sent once.
fake_mode 500 1
expect_eq "message during a 500" "$(max_post mid.c1 503 'ПС 176354 40 36')" 200
wait_reply max 503 1
expect_eq "a 500 was answered" "$(grep -c $'^CALL\t500' "$W/fake.log")" 1
expect_eq "one reply after the 500" "$(nsent max 503)" 1

# Another update type: 200, nothing stored.
n0=$(sql "SELECT count(*) FROM messages")
expect_eq "message_removed" "$(post /v1/max X-Max-Bot-Api-Secret "$MAX_SECRET" '{"update_type":"message_removed","timestamp":1,"message_id":"mid.a1","chat_id":501,"user_id":501}')" 200
expect_eq "nothing more stored" "$(sql "SELECT count(*) FROM messages")" "$n0"

wait_until 10 "every row settled" sh -c "[ \$($PSQL -qXAt '$DB' -c \"SELECT count(*) FROM outbox WHERE state <> 'sent'\") -eq 0 ]"
expect_eq "rows sent with the platform's mid" \
	"$(sql "SELECT count(*) FROM outbox WHERE channel = 'max' AND smsc_message_id LIKE 'mid.%'")" 6
expect_eq "no token in the log" "$(grep -c -e "$MAX_TOKEN" -e "$MAX_SECRET" "$W/serve.log" || true)" 0
serve_stop

# The per-sender rate limit of [http] holds for webhooks too: 429.
sed -i 's/^rate_limit = 0/rate_limit = 2\nrate_burst = 2/' "$W/serve.conf"
serve_up
expect_eq "first" "$(max_post mid.r1 504 'ПС 176354 41 37')" 200
expect_eq "second" "$(max_post mid.r2 504 'ПС 176354 42 38')" 200
expect_eq "third, over the rate" "$(max_post mid.r3 504 'ПС 176354 43 39')" 429
expect_eq "another sender is not limited" "$(max_post mid.r4 505 '?')" 200
serve_stop
echo "ok: max: 401/400, bot_started help, dialog, same mid once, image text, 500 retried"
