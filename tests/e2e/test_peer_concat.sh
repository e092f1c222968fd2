#!/usr/bin/env bash
# Proves (issue 20 item 2, against the npm-smpp peer SMSC, docs/peers.md):
# every part of a concatenated MO is answered ESME_ROK once it is durable,
# so an SMSC with window 1 (the next part only after the previous answer)
# completes any message with no timeout; a restart between parts loses
# nothing; a redelivered part is answered and never joined again; parts
# whose rest never comes are processed as they are (docs/store.md,
# "Concatenated SMS").
#
#  - window 1, UCS-2 and GSM-7, 2 and 3 parts: each MO accepted, one reply,
#    every deliver_sm_resp within 2 s (meterline's concat_timeout is 60 s);
#  - parts in reverse order (part 3 first);
#  - every MO's part 1 sent again after its reply: answered ESME_ROK, no
#    second message, no second reply;
#  - kill -9 of serve after parts 1 and 2 of 3 are kept, restart, part 3
#    comes: one message with the whole text, one reading, one reply;
#  - kill -9 after part 1 of 2, and part 2 never comes: after the restart
#    the sweep processes part 1 alone once [smpp] concat_timeout (2 s
#    here) plus its grace (5 s) passed, and the customer gets a reply.
# Each run checks PostgreSQL: messages (text whole), readings, kept parts
# all marked with their message.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/peer_lib.sh"

peer_require
e2e_init e2e_peer_concat
d=$(date -u -d '30 days ago' +%F)
{
	echo "contract,resource,position,register,digits,last_value,last_date,status"
	awk -v d="$d" 'BEGIN { for (i = 0; i < 20; i++)
		printf "%d,electricity,1,показания,6,100000,%s,active\n", 13000000 + i, d }'
} >"$W/contracts.csv"
import "$W/contracts.csv"
ok='Показания приняты. Спасибо.'
total=0

# phase NAME COUNT ARGS...: COUNT MO from as many senders, window 1,
# against a fresh serve; every MO acknowledged and answered once.
phase() {
	local name=$1 n=$2
	shift 2
	peer_start "$name" --count "$n" --window 1 --timeout 30 --linger-ms 1000 \
		--expect-reply "$ok" "$@"
	serve_conf
	serve_start
	peer_wait
	serve_stop
	phase_check "$name" "$n"
}
phase_check() { # NAME COUNT
	[ "$PEER_RC" = 0 ] || { cat "$W/peer-$1.err" >&2; fail "$1: the peer SMSC exit status $PEER_RC"; }
	expect_eq "$1: MO acknowledged ESME_ROK" "$(peer_sum acked_rok)" "$2"
	expect_eq "$1: MO with exactly one reply" "$(peer_sum mo_with_one_reply)" "$2"
	expect_eq "$1: extra replies" "$(peer_sum extra_replies)" 0
	expect_eq "$1: answers other than ESME_ROK" "$(peer_sum resp_other)" 0
	total=$((total + $2))
}
# check_stored NAME SENDER_BASE COUNT: each MO once, whole, accepted.
check_stored() {
	results_mo "$W/peer-$1.results" 1 >"$W/$1.mo"
	expect_eq "$1: MO in the results" "$(wc -l <"$W/$1.mo")" "$3"
	while IFS=$'\t' read -r s r t; do
		expect_eq "$1: messages of $s" "$(sql "SELECT count(*) || ' ' || string_agg(outcome, ',')
			|| ' ' || bool_and(text = '$t') FROM messages WHERE sender = '$s'")" "1 accepted true"
	done <"$W/$1.mo"
}
resp_p99_under() { # NAME MS
	node -e 'process.exit(require(process.argv[1]).resp_p99_ms < +process.argv[2] ? 0 : 1)' \
		"$W/peer-$1.json" "$2" || fail "$1: deliver_sm_resp p99 $(peer_sum resp_p99_ms) ms, not under $2 ms"
}

phase ucs2-2 2 --coding ucs2 --parts 2 --contract-base 13000000 --sender-base 79700000000
check_stored ucs2-2 79700000000 2
resp_p99_under ucs2-2 2000
phase ucs2-3 2 --coding ucs2 --parts 3 --contract-base 13000002 --sender-base 79700000010
check_stored ucs2-3 79700000010 2
resp_p99_under ucs2-3 2000
phase gsm7-2 2 --coding gsm7 --parts 2 --template 'PS {contract} {value}' \
	--contract-base 13000004 --sender-base 79700000020
check_stored gsm7-2 79700000020 2
resp_p99_under gsm7-2 2000
phase gsm7-3 2 --coding gsm7 --parts 3 --template 'PS {contract} {value}' \
	--contract-base 13000006 --sender-base 79700000030
check_stored gsm7-3 79700000030 2
resp_p99_under gsm7-3 2000
expect_eq "deliver_sm with a UDH, window-1 phases" \
	"$(cat "$W"/peer-ucs2-2.jsonl "$W"/peer-ucs2-3.jsonl "$W"/peer-gsm7-2.jsonl "$W"/peer-gsm7-3.jsonl |
		grep -c '"dir":"out","command":"deliver_sm".*"part":"[123]/[23]"')" 20

phase reverse 2 --coding ucs2 --parts 3 --part-order reverse --contract-base 13000008 \
	--sender-base 79700000040
check_stored reverse 79700000040 2
expect_eq "reverse: the first deliver_sm is part 3" \
	"$(grep -m1 '"dir":"out","command":"deliver_sm"' "$W/peer-reverse.jsonl" | sed -n 's/.*"part":"\([0-9]\/[0-9]\)".*/\1/p')" "3/3"

phase resend 2 --coding ucs2 --parts 2 --resend-part 1 --contract-base 13000010 \
	--sender-base 79700000050
check_stored resend 79700000050 2
expect_eq "resend: deliver_sm (2 x 2 parts + 2 parts again)" "$(peer_sum deliver_sm_sent)" 6
expect_eq "resend: all answered ESME_ROK" "$(peer_sum resp_rok)" 6
expect_eq "resend: submit_sm" "$(peer_sum submit_sm_received)" 2

# kill -9 between parts 2 and 3, then the rest arrives.
F=79700000060
peer_start kill9 --count 1 --window 1 --timeout 60 --linger-ms 1000 --expect-reply "$ok" \
	--coding ucs2 --parts 3 --part-gap-ms 3000 --contract-base 13000012 --sender-base $F
serve_conf
serve_start
kept() { [ "$(sql "SELECT count(*) FROM concat_parts WHERE sender = '$F'")" = "$1" ]; }
wait_until 20 "parts 1 and 2 kept" kept 2
serve_kill9
serve_start
peer_wait
serve_stop
phase_check kill9 1
check_stored kill9 $F 1
expect_eq "kill9: parts joined into the message" "$(sql "SELECT count(*) FROM concat_parts p
	JOIN messages m ON m.id = p.message_id WHERE p.sender = '$F'")" 3
expect_eq "kill9: readings" "$(sql "SELECT count(*) FROM readings WHERE contract = '13000012'")" 1

# kill -9 after part 1 of 2; part 2 never comes.
G=79700000070
SMPP_EXTRA="concat_timeout = 2s"
peer_start orphan --count 1 --window 1 --timeout 60 --linger-ms 1000 \
	--coding ucs2 --parts 2 --omit-part 2 --contract-base 13000013 --sender-base $G
serve_conf
serve_start
kept_g() { [ "$(sql "SELECT count(*) FROM concat_parts WHERE sender = '$G'")" = 1 ]; }
wait_until 20 "part 1 kept" kept_g
serve_kill9
t0=$(date +%s%N)
serve_start
peer_wait
t1=$(date +%s%N)
serve_stop
SMPP_EXTRA=""
[ "$PEER_RC" = 0 ] || { cat "$W/peer-orphan.err" >&2; fail "orphan: the peer SMSC exit status $PEER_RC"; }
expect_eq "orphan: replies" "$(peer_sum replies)" 1
full=$(results_mo "$W/peer-orphan.results" 1 | cut -f3)
expect_eq "orphan: one message, part 1's text" "$(sql "SELECT count(*) || ' ' ||
	bool_and(length(text) < length('$full') AND position(text IN '$full') = 1)
	FROM messages WHERE sender = '$G'")" "1 true"
expect_eq "orphan: the part marked with it" "$(sql "SELECT count(*) FROM concat_parts p
	JOIN messages m ON m.id = p.message_id WHERE p.sender = '$G'")" 1
grep -q 'store: concatenated message from .*: 1 of 2 parts kept, the rest never came' "$W/serve.log" ||
	fail "orphan: no sweep line in serve.log"
expect_eq "kept parts still waiting (a resent part kept again would be one)" \
	"$(sql "SELECT count(*) FROM concat_parts WHERE message_id IS NULL")" 0
# Kept: every part but the one completing its message (that one comes
# with the whole text), except after the kill, where part 3 came alone and
# was kept before the link got parts 1 and 2 back.
expect_eq "kept parts" "$(sql "SELECT count(*) FROM concat_parts")" $((2 * 1 + 2 * 2 + 2 * 1 + 2 * 2 + 2 * 2 + 2 * 1 + 3 + 1))
echo "orphan: the reply came $(((t1 - t0) / 1000000)) ms after the restart" >&2
echo "ok: $total concatenated MO at window 1 (UCS-2, GSM-7, 2 and 3 parts, reversed, parts resent, kill -9 between parts) and one whose rest never came"
