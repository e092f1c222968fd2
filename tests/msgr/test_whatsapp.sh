#!/usr/bin/env bash
# Proves, for the WhatsApp Cloud API (docs/channels.md): the GET
# verification echoes hub.challenge for the right verify_token and is 403
# otherwise; a missing, wrong, unprefixed or re-serialised-body
# X-Hub-Signature-256 is 401 and stores nothing; a two-tariff dialog is
# answered once per message by POST /{phone_number_id}/messages (Bearer,
# the cancel button); the sender's wa_id is bound as its phone; a retried
# notification (same wamid) is applied once; statuses set the reply's
# row; 429 and 500 are retried and the reply goes once; free text refused
# for the closed 24-hour window fails its row with the reason.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/bots_lib.sh"
for t in python3 curl openssl; do
	command -v $t >/dev/null || { echo "no $t: skipped" >&2; exit 77; }
done
e2e_init msgr_whatsapp
import "$SRC/tests/data/contracts-sample.csv"
bots_start
bots_conf whatsapp
serve_up

hv() { curl -s -o "$W/get.out" -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/v1/whatsapp?hub.mode=$1&hub.verify_token=$2&hub.challenge=1158201444"; }
expect_eq "verification" "$(hv subscribe "$WA_VERIFY")" 200
expect_eq "the challenge echoed" "$(cat "$W/get.out")" 1158201444
expect_eq "wrong verify_token" "$(hv subscribe "x$WA_VERIFY")" 403
expect_eq "wrong mode" "$(hv unsubscribe "$WA_VERIFY")" 403

N=79129671520
b=$(wa_msg wamid.HBgLNzkxMjk2NzE1MjAVAgASGBQzQUE1 "$N" 'ПС 123859')
expect_eq "no signature" "$(post_raw /v1/whatsapp "$b")" 401
expect_eq "wrong secret" "$(wa_post "$b" "sha256=$(hmac wrong "$b")")" 401
expect_eq "no sha256= prefix" "$(wa_post "$b" "$(hmac "$WA_SECRET" "$b")")" 401
reser=$(printf '%s' "$b" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), ensure_ascii=False))')
expect_eq "re-serialised by a proxy" "$(wa_post "$reser" "sha256=$(hmac "$WA_SECRET" "$b")")" 401
expect_eq "nothing stored" "$(sql "SELECT count(*) FROM messages")" 0

expect_eq "message 1" "$(wa_post "$b")" 200
wait_reply whatsapp "$N" 1
expect_eq "message 2" "$(wa_post "$(wa_msg wamid.HBgLNzkxMjk2NzE1MjAVAgASGBQzQUE2 "$N" 45055)")" 200
wait_reply whatsapp "$N" 2
m3=$(wa_msg wamid.HBgLNzkxMjk2NzE1MjAVAgASGBQzQUE3 "$N" 23186)
expect_eq "message 3" "$(wa_post "$m3")" 200
wait_reply whatsapp "$N" 3
expect_eq "the dialog's replies" "$(sent whatsapp "$N")" "Договор 123859. Введите показания: день
Договор 123859. Введите показания: ночь
Показания приняты. Спасибо."
expect_eq "the cancel button while the dialog is open" "$(buttons whatsapp "$N")" "Отмена
Отмена
-"
expect_eq "the same wamid again" "$(wa_post "$m3")" 200
sleep 1.5
expect_eq "no reply to it" "$(nsent whatsapp "$N")" 3
expect_eq "one submission" "$(sql "SELECT count(*) FROM submissions WHERE contract = '123859'")" 1
expect_eq "the wa_id bound as the chat's phone" \
	"$(sql "SELECT count(*) FROM channel_phones WHERE channel = 'whatsapp' AND sender = '$N' AND phone = '+$N'")" 1

# Statuses: the rows of the replies, by the id exactly as the API gave it
# (case-sensitive base64: the same letters in another case are another id).
wait_until 10 "the replies settled" sh -c "[ \$($PSQL -qXAt '$DB' -c \"SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND state = 'sent'\") -eq 3 ]"
w1=$(sql "SELECT smsc_message_id FROM outbox WHERE channel = 'whatsapp' ORDER BY id LIMIT 1")
w2=$(sql "SELECT smsc_message_id FROM outbox WHERE channel = 'whatsapp' ORDER BY id OFFSET 1 LIMIT 1")
low=$(printf '%s' "$w1" | tr 'A-Z' 'a-z')
expect_eq "a status, the id in lower case" "$(wa_post "$(wa_status "$low" delivered)")" 200
expect_eq "it matches no row" "$(sql "SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND dlr_state IS NOT NULL")" 0
expect_eq "delivered" "$(wa_post "$(wa_status "$w1" delivered)")" 200
expect_eq "read" "$(wa_post "$(wa_status "$w2" read)")" 200
expect_eq "unsigned status refused" "$(post_raw /v1/whatsapp "$(wa_status "$w2" failed)")" 401
expect_eq "the rows' states" "$(sql "SELECT state || ' ' || coalesce(dlr_state, '') FROM outbox WHERE channel = 'whatsapp' ORDER BY id LIMIT 2")" "delivered DELIVRD
sent READ"

# 429, then 500, then OK: the reply goes once.
N2=79120000001
bots_mode 429 1
expect_eq "message during a 429" "$(wa_post "$(wa_msg wamid.B1 "$N2" 'ПС 176354 40 36')")" 200
wait_reply whatsapp "$N2" 1
bots_mode 500 1
expect_eq "message during a 500" "$(wa_post "$(wa_msg wamid.B2 "$N2" '?')")" 200
wait_reply whatsapp "$N2" 2
sleep 1
expect_eq "a 429 and a 500 were answered" "$(grep -c -E $'^CALL\t(429|500)\t/'"$WA_PHONE"'/messages' "$W/fake.log")" 2
expect_eq "one reply each" "$(nsent whatsapp "$N2")" 2

# The closed 24-hour window (the fake's numbers ending in 00): free text
# refused, the row failed with the reason, not retried.
N3=79120000100
expect_eq "message, window closed" "$(wa_post "$(wa_msg wamid.C1 "$N3" '?')")" 200
wait_until 10 "the row failed" sh -c "[ \$($PSQL -qXAt '$DB' -c \"SELECT count(*) FROM outbox WHERE recipient = '$N3' AND state = 'failed' AND smsc_message_id = 'outside_24h_window'\") -eq 1 ]"
expect_eq "tried once" "$(sql "SELECT attempts FROM outbox WHERE recipient = '$N3'")" 1
expect_eq "no token or secret in the log" "$(grep -c -e "$WA_TOKEN" -e "$WA_SECRET" -e "$WA_VERIFY" "$W/serve.log" || true)" 0
expect_eq "no full number in the log" "$(grep -c -e "$N" "$W/serve.log" || true)" 0
serve_stop
# [whatsapp] without phone_number_id, verify_token or app_secret: refused.
printf '[database]\nconninfo = dbname=none\n[http]\nlisten = 127.0.0.1:1\nsecret = bridge-secret-0123456789\n[whatsapp]\ntoken = x\n' >"$W/bad.conf"
if "$BIN" serve --config "$W/bad.conf" >"$W/bad.out" 2>&1; then fail "serve ran with a bad [whatsapp]"; fi
expect_match "phone_number_id required" "$(cat "$W/bad.out")" 'whatsapp.phone_number_id: required'
expect_match "verify_token required" "$(cat "$W/bad.out")" 'whatsapp.verify_token: required'
expect_match "app_secret required" "$(cat "$W/bad.out")" 'whatsapp.app_secret: set the webhook secret'
echo "ok: whatsapp: verification, signatures, dialog, same wamid once, phone bound, statuses, 429/500, 24-hour window"
