#!/usr/bin/env bash
# Proves, for the WhatsApp Cloud API (docs/channels.md): one notification
# carrying several messages and statuses, of two entries and two changes,
# is taken whole (every message stored and answered, the status applied),
# answered 200 once all are committed; the same notification again stores
# and answers nothing new; a malformed message does not cost the sound
# ones of its notification; a failed status with error 131047 (free text
# after the 24-hour window, as the Cloud API reports it) marks its row
# REJECTD; an image message's media is fetched through
# the photo path: GET /{media-id}, then its url, both with the Bearer
# token, and its bytes are stored with the message.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/bots_lib.sh"
for t in curl openssl; do
	command -v $t >/dev/null || { echo "no $t: skipped" >&2; exit 77; }
done
e2e_init msgr_whatsapp_batch
import "$SRC/tests/data/contracts-sample.csv"
bots_start
bots_conf whatsapp
serve_up

N1=79129671521 N2=79129671522 N3=79129671523 MEDIA=2754859441498128
HEAD='{"object":"whatsapp_business_account","entry":['
META="\"messaging_product\":\"whatsapp\",\"metadata\":{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"$WA_PHONE\"}"
ts=$(date +%s)
# wa_text FROM WAMID TEXT: one messages[] item.
wa_text() { printf '{"from":"%s","id":"%s","timestamp":"%s","text":{"body":"%s"},"type":"text"}' "$1" "$2" "$ts" "$3"; }
img=$(printf '{"from":"%s","id":"wamid.IMG1","timestamp":"%s","type":"image","image":{"caption":"ПС 176354 40 36","mime_type":"image/jpeg","sha256":"81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3","id":"%s"}}' "$N2" "$ts" "$MEDIA")
st=$(printf '{"id":"wamid.UNKNOWN1","status":"delivered","timestamp":"%s","recipient_id":"%s"}' "$ts" "$N1")
body="$HEAD{\"id\":\"102290129340398\",\"changes\":[{\"value\":{$META,\"contacts\":[{\"profile\":{\"name\":\"A\"},\"wa_id\":\"$N1\"},{\"profile\":{\"name\":\"B\"},\"wa_id\":\"$N2\"}],\"messages\":[$(wa_text "$N1" wamid.T1 'ПС 123859'),$img]},\"field\":\"messages\"},{\"value\":{$META,\"statuses\":[$st]},\"field\":\"messages\"}]},{\"id\":\"102290129340399\",\"changes\":[{\"value\":{$META,\"messages\":[$(wa_text "$N3" wamid.T3 '?')]},\"field\":\"messages\"}]}]}"

expect_eq "the batch" "$(wa_post "$body")" 200
expect_eq "every message stored" "$(sql "SELECT count(*) FROM messages WHERE channel = 'whatsapp'")" 3
wait_reply whatsapp "$N1" 1
wait_reply whatsapp "$N2" 1
wait_reply whatsapp "$N3" 1
expect_eq "the first message's reply" "$(sent whatsapp "$N1")" "Договор 123859. Введите показания: день"
expect_match "the image's caption read" "$(sent whatsapp "$N2")" 'Показания приняты'
expect_eq "its submission" "$(sql "SELECT count(*) FROM submissions WHERE contract = '176354'")" 1

# The photo: both steps with the Bearer token, the bytes stored.
wait_until 20 "the photo fetched" sh -c "[ \"\$($PSQL -qXAt '$DB' -c \"SELECT p.state FROM message_photos p JOIN messages m ON m.id = p.message_id WHERE m.external_id = 'wamid.IMG1'\")\" = stored ]"
expect_eq "the media's url asked with the token" "$(grep -c -E $'^CALL\t200\t/'"$MEDIA"'$' "$W/fake.log")" 1
expect_eq "the file fetched once" "$(grep -c -E $'^MEDIA\t'"$MEDIA"'$' "$W/fake.log")" 1
expect_eq "no media call without the token" "$(grep -c -E $'^CALL\t401\t/(_media/)?[0-9]' "$W/fake.log" || true)" 0
expect_eq "its size" "$(sql "SELECT size FROM message_photos p JOIN messages m ON m.id = p.message_id WHERE m.external_id = 'wamid.IMG1'")" $((MEDIA % 3000 + 100))
expect_eq "its bytes" "$(sql "SELECT encode(substr(bytes, 1, 4), 'hex') FROM message_photos p JOIN messages m ON m.id = p.message_id WHERE m.external_id = 'wamid.IMG1'")" ffd8ffe0

# The Cloud API takes free text after the 24-hour window and fails it
# later, in a status with error 131047: the row says so (REJECTD).
wait_until 10 "N3's reply settled" sh -c "[ \"\$($PSQL -qXAt '$DB' -c \"SELECT state FROM outbox WHERE recipient = '$N3'\")\" = sent ]"
w3=$(sql "SELECT smsc_message_id FROM outbox WHERE recipient = '$N3'")
fst=$(printf '{"id":"%s","status":"failed","timestamp":"%s","recipient_id":"%s","errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]}' "$w3" "$ts" "$N3")
expect_eq "a failed status, window closed" "$(wa_post "$HEAD{\"id\":\"102290129340398\",\"changes\":[{\"value\":{$META,\"statuses\":[$fst]},\"field\":\"messages\"}]}]}")" 200
expect_eq "the row: undeliverable, REJECTD" "$(sql "SELECT state || ' ' || dlr_state FROM outbox WHERE recipient = '$N3'")" "undeliverable REJECTD"

# Meta's retry of the whole notification: nothing new.
expect_eq "the same batch again" "$(wa_post "$body")" 200
sleep 1.5
expect_eq "still three messages" "$(sql "SELECT count(*) FROM messages WHERE channel = 'whatsapp' AND duplicate_of IS NULL")" 3
expect_eq "no second reply" "$(( $(nsent whatsapp "$N1") + $(nsent whatsapp "$N2") + $(nsent whatsapp "$N3") ))" 3

# A malformed message (from is not a wa_id) beside a sound one.
bad=$(printf '{"from":"+7912","id":"wamid.BAD","timestamp":"%s","text":{"body":"x"},"type":"text"}' "$ts")
b2="$HEAD{\"id\":\"102290129340398\",\"changes\":[{\"value\":{$META,\"messages\":[$bad,$(wa_text "$N1" wamid.T4 45055)]},\"field\":\"messages\"}]}]}"
expect_eq "a batch with a malformed message" "$(wa_post "$b2")" 200
wait_reply whatsapp "$N1" 2
expect_eq "the sound one answered" "$(sent whatsapp "$N1" | tail -1)" "Договор 123859. Введите показания: ночь"
expect_eq "the malformed one not stored" "$(sql "SELECT count(*) FROM messages WHERE external_id = 'wamid.BAD'")" 0
expect_eq "no token in the log" "$(grep -c -e "$WA_TOKEN" "$W/serve.log" || true)" 0
serve_stop
echo "ok: whatsapp batch: every message and status of a notification, once; image media fetched with the token"
