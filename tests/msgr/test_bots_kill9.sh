#!/usr/bin/env bash
# Proves, for Viber, WhatsApp and VK (docs/channels.md "Crash between
# commit and send"): serve killed (SIGKILL) after a message committed and
# while its reply is on the wire loses nothing and stores nothing twice.
#   hang:  the platform never got the send (held unanswered, not taken):
#          after the restart the reply goes exactly once, on every channel.
#   taken: the platform took the send but its answer never came back (the
#          last instant before the crash): the restart sends the row again.
#          VK shows it once (random_id comes from the outbox row: VK answers
#          the resend with the first message's id and shows nothing new);
#          Viber and WhatsApp have no idempotency key in their send APIs,
#          so the user sees that one reply twice. The row ends sent either
#          way, and the retried webhook is a duplicate.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/bots_lib.sh"
for t in curl openssl; do
	command -v $t >/dev/null || { echo "no $t: skipped" >&2; exit 77; }
done
e2e_init msgr_bots_kill9
import "$SRC/tests/data/contracts-sample.csv"
bots_start
bots_conf viber whatsapp vk
serve_up

# post_msg CHANNEL N CHAT: the help request N of CHAT, as the platform posts it.
post_msg() {
	case $1 in
	viber) viber_post "$(viber_msg "$((9000 + $2))" "$3" '?')" ;;
	whatsapp) wa_post "$(wa_msg "wamid.K$2" "$3" '?')" ;;
	vk) vk_post "$(vk_msg "ev$2" "$3" '?')" ;;
	esac
}
held() { awk -F '\t' -v w="$1" '$1 == "CALL" && $2 == w' "$W/fake.log" | wc -l | tr -d ' '; }
row() { sql "SELECT state FROM outbox WHERE channel = '$1' AND recipient = '$2'"; }

# crash CHANNEL N CHAT MODE: the send held in MODE, kill -9, restart.
crash() {
	local c=$1 n=$2 chat=$3 mode=$4 before
	before=$(held "$mode")
	bots_mode "$mode" 1
	expect_eq "$c $mode: update" "$(post_msg "$c" "$n" "$chat")" 200
	wait_until 10 "$c $mode: the send held" sh -c "[ \$(awk -F '\t' '\$1 == \"CALL\" && \$2 == \"$mode\"' '$W/fake.log' | wc -l) -gt $before ]"
	expect_eq "$c $mode: committed, claimed, unanswered" \
		"$(sql "SELECT state || ' ' || attempts FROM outbox WHERE channel = '$c' AND recipient = '$chat'")" "pending 1"
	serve_kill9
	bots_mode 0 0
	# the dead instance's lease, ended by hand
	sql "UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'" >/dev/null
	serve_up
	wait_until 20 "$c $mode: the row sent after the restart" sh -c "[ \"\$($PSQL -qXAt '$DB' -c \"SELECT state FROM outbox WHERE channel = '$c' AND recipient = '$chat'\")\" = sent ]"
	expect_eq "$c $mode: the retried webhook" "$(post_msg "$c" "$n" "$chat")" 200
	sleep 1
	expect_eq "$c $mode: stored once" \
		"$(sql "SELECT count(*) FROM messages WHERE channel = '$c' AND sender = '$chat' AND duplicate_of IS NULL")" 1
	expect_eq "$c $mode: one reply row, sent twice" \
		"$(sql "SELECT count(*) || ' ' || max(attempts) FROM outbox WHERE channel = '$c' AND recipient = '$chat'")" "1 2"
}

crash viber 1 "kill9hang+AAAAAAAAAA==" hang
crash whatsapp 2 79120009001 hang
crash vk 3 700901 hang
expect_eq "viber hang: the reply went once" "$(nsent viber 'kill9hang+AAAAAAAAAA==')" 1
expect_eq "whatsapp hang: the reply went once" "$(nsent whatsapp 79120009001)" 1
expect_eq "vk hang: the reply went once" "$(nsent vk 700901)" 1

crash viber 4 "kill9taken+AAAAAAAAA==" taken
crash whatsapp 5 79120009002 taken
vk_ok() { grep -c -E $'^CALL\t200\t/method/messages.send' "$W/fake.log" || true; }
k0=$(vk_ok)
crash vk 6 700902 taken
expect_eq "vk taken: the resend reached VK and was answered" "$(vk_ok)" $((k0 + 1))
expect_eq "vk taken: shown once (random_id)" "$(nsent vk 700902)" 1
expect_eq "viber taken: no idempotency key, shown twice" "$(nsent viber 'kill9taken+AAAAAAAAA==')" 2
expect_eq "whatsapp taken: no idempotency key, shown twice" "$(nsent whatsapp 79120009002)" 2
serve_stop
echo "ok: kill -9 between commit and send: once everywhere when the platform never got it; VK once, Viber and WhatsApp twice when only its answer was lost"
