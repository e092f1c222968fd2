#!/usr/bin/env bash
# Proves, for the VK Callback API (docs/channels.md): the confirmation
# event is answered with the confirmation string (for our group only); an
# event without the secret or with a wrong one is 401 and stores nothing;
# every other event is answered "ok"; a two-tariff dialog is answered once
# per message by messages.send (form-encoded, token and v, the cancel
# keyboard); a retried event (same event_id, X-Retry-Counter) is applied
# once; 429 and 500 from the API are retried and the reply goes once (the
# random_id stays the row's: test_vk.c); `meterline webhook set vk` calls
# groups.addCallbackServer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/bots_lib.sh"
for t in python3 curl; do
	command -v $t >/dev/null || { echo "no $t: skipped" >&2; exit 77; }
done
e2e_init msgr_vk
import "$SRC/tests/data/contracts-sample.csv"
bots_start
bots_conf vk
serve_up

expect_eq "confirmation" "$(vk_post "{\"type\":\"confirmation\",\"group_id\":$VK_GROUP}")" 200
expect_eq "the confirmation string" "$(cat "$W/post.out")" "$VK_CONFIRM"
expect_eq "confirmation for another group" "$(vk_post '{"type":"confirmation","group_id":1}')" 401

U=1234567
b=$(vk_msg ev-a1 $U 'ПС 123859')
expect_eq "no secret" "$(vk_post "$(printf '%s' "$b" | sed 's/,"secret":"[^"]*"//')")" 401
expect_eq "wrong secret" "$(vk_post "$(vk_msg ev-a1 $U 'ПС 123859' "x$VK_SECRET")")" 401
expect_eq "one character short" "$(vk_post "$(vk_msg ev-a1 $U 'ПС 123859' "${VK_SECRET%?}")")" 401
expect_eq "nothing stored" "$(sql "SELECT count(*) FROM messages")" 0

expect_eq "message 1" "$(vk_post "$b")" 200
expect_eq "answered ok" "$(cat "$W/post.out")" ok
wait_reply vk $U 1
expect_eq "message 2" "$(vk_post "$(vk_msg ev-a2 $U 45055)")" 200
wait_reply vk $U 2
m3=$(vk_msg ev-a3 $U 23186)
expect_eq "message 3" "$(vk_post "$m3")" 200
wait_reply vk $U 3
expect_eq "the dialog's replies" "$(sent vk $U)" "Договор 123859. Введите показания: день
Договор 123859. Введите показания: ночь
Показания приняты. Спасибо."
expect_eq "the cancel button while the dialog is open" "$(buttons vk $U)" "Отмена
Отмена
-"
expect_eq "the same event again (VK's retry)" "$(vk_post "$m3" 1)" 200
expect_eq "answered ok again" "$(cat "$W/post.out")" ok
sleep 1.5
expect_eq "no reply to it" "$(nsent vk $U)" 3
expect_eq "one submission" "$(sql "SELECT count(*) FROM submissions WHERE contract = '123859'")" 1

n0=$(sql "SELECT count(*) FROM messages")
expect_eq "another event type" "$(vk_post "{\"group_id\":$VK_GROUP,\"type\":\"message_typing_state\",\"event_id\":\"ev-t\",\"object\":{\"state\":\"typing\",\"from_id\":$U,\"to_id\":-$VK_GROUP},\"secret\":\"$VK_SECRET\"}")" 200
expect_eq "ok to it" "$(cat "$W/post.out")" ok
expect_eq "nothing more stored" "$(sql "SELECT count(*) FROM messages")" "$n0"

# 429, then 500, then OK: one reply.
U2=7654321
bots_mode 429 1
expect_eq "message during a 429" "$(vk_post "$(vk_msg ev-b1 $U2 'ПС 176354 40 36')")" 200
wait_reply vk $U2 1
bots_mode 500 1
expect_eq "message during a 500" "$(vk_post "$(vk_msg ev-b2 $U2 '?')")" 200
wait_reply vk $U2 2
sleep 1
expect_eq "a 429 and a 500 were answered" "$(grep -c -E $'^CALL\t(429|500)\t/method/messages.send' "$W/fake.log")" 2
expect_eq "one reply each" "$(nsent vk $U2)" 2
wait_until 10 "every row sent" sh -c "[ \$($PSQL -qXAt '$DB' -c \"SELECT count(*) FROM outbox WHERE channel = 'vk' AND state <> 'sent'\") -eq 0 ]"
expect_eq "rows sent with VK's message ids" "$(sql "SELECT count(*) FROM outbox WHERE channel = 'vk' AND smsc_message_id ~ '^[0-9]+$'")" 5
expect_eq "no token or secret in the log" "$(grep -c -e "$VK_TOKEN" -e "$VK_SECRET" "$W/serve.log" || true)" 0
serve_stop

expect_eq "webhook set" "$("$BIN" webhook set vk https://m.example/v1/vk --config "$W/serve.conf" >/dev/null 2>&1; echo $?)" 0
expect_match "addCallbackServer called" "$(grep $'^API\tvk\tgroups.addCallbackServer' "$W/fake.log")" 'https://m.example/v1/vk'
# [vk] without group_id, confirmation or secret: refused; [viber] needs
# no secret (the token signs).
printf '[database]\nconninfo = dbname=none\n[http]\nlisten = 127.0.0.1:1\nsecret = bridge-secret-0123456789\n[vk]\ntoken = x\n[viber]\ntoken = y\n' >"$W/bad.conf"
if "$BIN" serve --config "$W/bad.conf" >"$W/bad.out" 2>&1; then fail "serve ran with a bad [vk]"; fi
expect_match "group_id required" "$(cat "$W/bad.out")" 'vk.group_id: required'
expect_match "confirmation required" "$(cat "$W/bad.out")" 'vk.confirmation: required'
expect_match "secret required" "$(cat "$W/bad.out")" 'vk.secret: set the webhook secret'
expect_eq "viber asks for no secret" "$(grep -c '^.*viber\.' "$W/bad.out" || true)" 0
echo "ok: vk: confirmation, secret, dialog, same event once, ok answers, 429/500 retried once, addCallbackServer"
