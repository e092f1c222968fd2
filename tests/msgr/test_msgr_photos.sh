#!/usr/bin/env bash
# Proves (docs/channels.md): a Telegram photo with the reading as its
# caption is answered and its largest size fetched (getFile, then the file)
# and stored; `meterline photo get` writes the same bytes; a photo without
# a caption inside an open dialog is kept and linked to the submission the
# dialog produces (submission_photos), outside a dialog it gets the help;
# a photo over photo_max is marked too_large; a contact the sender shares
# of themselves binds the phone to the chat, someone else's does not; a
# MAX image is fetched from its URL.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v python3 >/dev/null || { echo "no python3: skipped" >&2; exit 77; }
command -v curl >/dev/null || { echo "no curl: skipped" >&2; exit 77; }
e2e_init msgr_photos
import "$SRC/tests/data/contracts-sample.csv"
fake_start
msgr_conf
serve_up

# tg_photo UPDATE_ID CHAT FILE_ID [CAPTION]
tg_photo() {
	local cap=""
	[ -n "${4:-}" ] && cap=",\"caption\":\"$4\""
	post /v1/telegram X-Telegram-Bot-Api-Secret-Token "$TG_SECRET" \
		"$(printf '{"update_id":%s,"message":{"message_id":%s,"from":{"id":%s,"is_bot":false,"first_name":"A"},"chat":{"id":%s,"first_name":"A","type":"private"},"date":%s,"photo":[{"file_id":"%s-s","file_unique_id":"a","file_size":900,"width":90,"height":90},{"file_id":"%s","file_unique_id":"b","file_size":1000,"width":800,"height":800}]%s}}' \
			"$1" "$1" "$2" "$2" "$(date +%s)" "$3" "$3" "$cap")"
}
photo_state() { sql "SELECT p.state FROM message_photos p JOIN messages m ON m.id = p.message_id WHERE m.external_id = '$1' AND m.channel = '$2'"; }
wait_photo() { wait_until 20 "photo $1 to be $3" sh -c "[ \"\$($PSQL -qXAt '$DB' -c \"SELECT p.state FROM message_photos p JOIN messages m ON m.id = p.message_id WHERE m.external_id = '$1' AND m.channel = '$2'\")\" = $3 ]"; }

# With a caption: answered, fetched, stored; photo get writes it.
expect_eq "photo with caption" "$(tg_photo 9001 801 meter801 'ПС 102057522 11638')" 200
wait_reply telegram 801 1
expect_eq "its reply" "$(sent telegram 801)" "Показания приняты. Спасибо."
wait_photo 9001 telegram stored
expect_eq "the largest size was fetched" "$(grep -c $'^FILE\tphotos/meter801.jpg' "$W/fake.log")" 1
id=$(sql "SELECT id FROM messages WHERE external_id = '9001' AND channel = 'telegram'")
"$BIN" photo get "$id" "$W/p.jpg" --db "$DB" 2>"$W/photo.err" || fail "photo get: $(cat "$W/photo.err")"
expect_eq "photo size" "$(wc -c <"$W/p.jpg" | tr -d ' ')" 1000
expect_eq "photo bytes" "$(head -c 4 "$W/p.jpg" | od -An -tx1 | tr -d ' \n')" ffd8ffe0
"$BIN" photo get 999999 "$W/none.jpg" --db "$DB" 2>/dev/null && fail "photo get of no photo succeeded"

# Without a caption, inside a dialog: kept, and linked to its submission.
expect_eq "start" "$(tg_post 9101 802 'ПС 123859')" 200
wait_reply telegram 802 1
expect_eq "bare photo in the dialog" "$(tg_photo 9102 802 meter802)" 200
wait_reply telegram 802 2
expect_match "asked for the values again" "$(sent telegram 802 | tail -n 1)" "день|показания"
expect_eq "day" "$(tg_post 9103 802 '45055')" 200
wait_reply telegram 802 3
expect_eq "night" "$(tg_post 9104 802 '23186')" 200
wait_reply telegram 802 4
expect_eq "accepted" "$(sent telegram 802 | tail -n 1)" "Показания приняты. Спасибо."
wait_photo 9102 telegram stored
expect_eq "the photo is the submission's" \
	"$(sql "SELECT count(*) FROM submission_photos sp JOIN submissions s ON s.id = sp.submission_id WHERE s.contract = '123859'")" 1

# A bare photo outside a dialog: the help.
expect_eq "bare photo" "$(tg_photo 9201 803 meter803)" 200
wait_reply telegram 803 1
expect_match "the help" "$(sent telegram 803)" "Пришлите: ПС [0-9]+ [0-9]+"

# Over photo_max (the fake's "huge" file is 11 MiB, the cap 10 MiB).
expect_eq "huge photo" "$(tg_photo 9301 804 meterhuge 'ПС 345678')" 200
wait_photo 9301 telegram too_large

# Contacts: the sender's own binds; someone else's does not.
own=$(printf '{"update_id":9401,"message":{"message_id":1,"from":{"id":805,"is_bot":false,"first_name":"B"},"chat":{"id":805,"first_name":"B","type":"private"},"date":%s,"contact":{"phone_number":"79120000805","first_name":"B","user_id":805}}}' "$(date +%s)")
other=$(printf '{"update_id":9402,"message":{"message_id":2,"from":{"id":806,"is_bot":false,"first_name":"C"},"chat":{"id":806,"first_name":"C","type":"private"},"date":%s,"contact":{"phone_number":"79120000999","first_name":"D","user_id":999}}}' "$(date +%s)")
expect_eq "own contact" "$(post /v1/telegram X-Telegram-Bot-Api-Secret-Token "$TG_SECRET" "$own")" 200
expect_eq "someone else's contact" "$(post /v1/telegram X-Telegram-Bot-Api-Secret-Token "$TG_SECRET" "$other")" 200
expect_eq "the binding" "$(sql "SELECT channel || ' ' || sender || ' ' || phone FROM channel_phones")" "telegram 805 79120000805"
expect_eq "the same contact again" "$(post /v1/telegram X-Telegram-Bot-Api-Secret-Token "$TG_SECRET" "$own")" 200
expect_eq "still one binding" "$(sql "SELECT count(*) FROM channel_phones")" 1

# MAX: an image without text gets the help; its URL is fetched.
img=$(printf '{"update_type":"message_created","timestamp":%s000,"message":{"sender":{"user_id":901,"name":"E","is_bot":false},"recipient":{"chat_id":901,"chat_type":"dialog","user_id":777},"timestamp":%s000,"body":{"mid":"mid.p1","seq":1,"text":"","attachments":[{"type":"image","payload":{"photo_id":1,"token":"t","url":"http://127.0.0.1:%s/images/max901.jpg"}}]}}}' "$(date +%s)" "$(date +%s)" "$FAKE_PORT")
expect_eq "max image" "$(post /v1/max X-Max-Bot-Api-Secret "$MAX_SECRET" "$img")" 200
wait_reply max 901 1
expect_match "the help" "$(sent max 901)" "Пришлите: ПС [0-9]+ [0-9]+"
wait_photo mid.p1 max stored
serve_stop
echo "ok: photos fetched, stored, linked, capped; contact bound; MAX image"
