#!/usr/bin/env bash
# Proves (issue 13 item 1, against the npm-smpp peer SMSC, docs/peers.md):
# a repeated text is suppressed only when it is a redelivery, i.e. when
# the earlier copy's deliver_sm_resp may have been lost (docs/store.md,
# "Duplicates"); a person repeating a text gets an answer every time.
#
#  1. Two meters with equal readings: `ПС 176355`, `25`, `25` from one
#     sender (window 1, one connection): three replies, both readings
#     stored. A repeat of `ПС 345683` (its prompt "did not arrive") is
#     answered again, and the dialog then completes.
#  2. The peer drops the connection right after it receives our ESME_ROK
#     for `ПС 102057522 11638` (the answer counts as lost), rebinds and
#     redelivers the same deliver_sm: applied once (one accepted row, the
#     other `duplicate`), exactly one submit_sm for that sender.
#     With `[smpp] ack_lost = 500ms` and the drop 1.5 s after the answer
#     the repeat is a new message (the SMSC had our answer): two replies;
#     with the default (5 s) the same drop is a redelivery again.
#  3. The peer drops the connection right after sending `ПС 123861` (a
#     dialog's first message), before any answer can arrive; the customer
#     goes on (`12000`, `5800`), then the redelivery arrives: the dialog
#     completes once, three replies, no second prompt.
#  4. export-log of all that, replayed with --dry-run into a database
#     with the same contracts: every line has its live outcome (the
#     redeliveries are duplicates again, through duplicate_of).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/peer_lib.sh"

peer_require
e2e_init e2e_peer_redelivery
d=$(date -u -d '30 days ago' +%F)
cat >"$W/contracts.csv" <<CSV
contract,resource,position,register,digits,last_value,last_date,status
176355,hot_water,1,кухня,5,18,$d,active
176355,hot_water,2,ванная,5,15,$d,active
345683,electricity,1,день,6,1000,$d,active
345683,electricity,2,ночь,6,500,$d,active
102057522,electricity,1,показания,6,11500,$d,active
102057523,electricity,1,показания,6,11500,$d,active
102057524,electricity,1,показания,6,11500,$d,active
123861,electricity,1,день,6,11000,$d,active
123861,electricity,2,ночь,6,5000,$d,active
CSV
import "$W/contracts.csv"
ok='Показания приняты. Спасибо.'

# run_only NAME MESSAGES ARGS...: one peer run against a fresh serve.
run_only() {
	local name=$1 msgs=$2
	shift 2
	printf '%b' "$msgs" >"$W/$name.tsv"
	peer_start "$name" --messages "$W/$name.tsv" --window 1 --timeout 60 \
		--linger-ms 2000 "$@"
	serve_conf
	serve_start
	peer_wait
	serve_stop
}
# run NAME MESSAGES ARGS...: the same; every MO acknowledged, answered once.
run() {
	local name=$1
	run_only "$@"
	[ "$PEER_RC" = 0 ] || { cat "$W/peer-$name.err" >&2; fail "$name: the peer SMSC exit status $PEER_RC"; }
	expect_eq "$name: MO acknowledged ESME_ROK" "$(peer_sum acked_rok)" "$(peer_sum mo)"
	expect_eq "$name: MO with exactly one reply" "$(peer_sum mo_with_one_reply)" "$(peer_sum mo)"
	expect_eq "$name: extra replies" "$(peer_sum extra_replies)" 0
}
outcomes() { # SENDER: outcomes in order
	sql "SELECT string_agg(outcome, ' ' ORDER BY id) FROM messages WHERE sender = '$1'"
}

# 1. Repeats by a person: each is a new message.
A=79600000001 B=79600000002
run repeats "$A\tПС 176355\n$A\t25\n$A\t25\n$B\tПС 345683\n$B\tПС 345683\n$B\t2000\n$B\t900\n"
expect_eq "two meters: outcomes" "$(outcomes $A)" "prompt prompt accepted"
expect_eq "two meters: readings" "$(sql "SELECT string_agg(position || '=' || value, ' ' ORDER BY position)
	FROM readings WHERE contract = '176355'")" "1=25 2=25"
expect_eq "two meters: replies" "$(peer_submits $A)" 3
expect_eq "two meters: the last reply" "$(peer_replies $A | tail -n 1)" "$ok"
expect_eq "repeated ПС: outcomes" "$(outcomes $B)" "prompt prompt prompt accepted"
expect_eq "repeated ПС: the two first replies are the same prompt" \
	"$(peer_replies $B | head -n 2 | uniq | wc -l)" 1
expect_match "repeated ПС: the prompt" "$(peer_replies $B | head -n 1)" 'день'
expect_eq "repeated ПС: replies" "$(peer_submits $B)" 4
expect_eq "repeated ПС: readings" "$(sql "SELECT string_agg(position || '=' || value, ' ' ORDER BY position)
	FROM readings WHERE contract = '345683'")" "1=2000 2=900"
expect_eq "no duplicates without a drop" "$(sql "SELECT count(*) FROM messages WHERE outcome = 'duplicate'")" 0

# 2. The answer lost with the connection: the redelivery is suppressed.
C=79600000003 D=79600000004
run drop-resp "$C\tПС 102057522 11638\n$D\tПС 345683\n" --drop-mo 0 --drop-when resp
grep -q '^dropping session' "$W/peer-drop-resp.err" || fail "drop-resp: the peer did not drop"
expect_eq "drop-resp: binds" "$(peer_sum binds)" 2
expect_eq "drop-resp: deliver_sm of the dropped MO" "$(peer_deliver_sm 'ПС 102057522 11638')" 2
expect_eq "drop-resp: outcomes" "$(outcomes $C)" "accepted duplicate"
expect_eq "drop-resp: the duplicate's reason and original" \
	"$(sql "SELECT d.reason || ' ' || (d.duplicate_of = o.id) FROM messages d JOIN messages o
	ON o.sender = d.sender AND o.outcome = 'accepted' WHERE d.sender = '$C' AND d.outcome = 'duplicate'")" \
	"redelivery true"
expect_eq "drop-resp: submit_sm for the sender" "$(peer_submits $C)" 1
expect_eq "drop-resp: readings" "$(sql "SELECT count(*) FROM readings WHERE contract = '102057522'")" 1
expect_eq "drop-resp: outbox rows" "$(sql "SELECT count(*) FROM outbox WHERE recipient = '$C'")" 1

# 2b. The same, but the peer drops 1.5 s after our answer with [smpp]
#     ack_lost = 500ms: the SMSC had our answer, so the repeat is a new
#     message (docs/store.md, "Not caught"), applied and answered again.
C2=79600000006
SMPP_EXTRA="ack_lost = 500ms"
run_only drop-late "$C2\tПС 102057523 11700\n" --drop-mo 0 --drop-when resp --drop-delay-ms 1500
SMPP_EXTRA=""
expect_eq "drop-late: the peer's end" "$(peer_sum end)" done
expect_eq "drop-late: replies (the peer counts the second as extra)" \
	"$(peer_sum replies) $(peer_sum extra_replies)" "2 1"
expect_eq "drop-late: deliver_sm of the dropped MO" "$(peer_deliver_sm 'ПС 102057523 11700')" 2
expect_eq "drop-late: no duplicate" "$(sql "SELECT count(*) FROM messages WHERE sender = '$C2' AND outcome = 'duplicate'")" 0
expect_eq "drop-late: messages" "$(sql "SELECT count(*) FROM messages WHERE sender = '$C2'")" 2
expect_eq "drop-late: submit_sm for the sender" "$(peer_submits $C2)" 2
# Control: the same drop 1.5 s after the answer is within the default
# ack_lost (5 s), so there the repeat is taken for a redelivery.
C3=79600000007
run drop-late5s "$C3\tПС 102057524 11800\n" --drop-mo 0 --drop-when resp --drop-delay-ms 1500
expect_eq "drop-late5s: outcomes" "$(outcomes $C3)" "accepted duplicate"
expect_eq "drop-late5s: submit_sm for the sender" "$(peer_submits $C3)" 1

# 3. Dropped before the answer, in a dialog, redelivered after it ended.
E=79600000005
run drop-sent "$E\tПС 123861\n$E\t12000\n$E\t5800\n" --drop-mo 0 --drop-when sent
grep -q '^dropping session' "$W/peer-drop-sent.err" || fail "drop-sent: the peer did not drop"
expect_eq "drop-sent: deliver_sm of the dropped MO" "$(peer_deliver_sm 'ПС 123861')" 2
# serve may or may not have read the first copy before the close; either
# way exactly one copy is applied and answered.
expect_eq "drop-sent: applied" "$(sql "SELECT string_agg(outcome, ' ' ORDER BY id) FROM messages
	WHERE sender = '$E' AND outcome <> 'duplicate'")" "prompt prompt accepted"
dups=$(sql "SELECT count(*) FROM messages WHERE sender = '$E' AND outcome = 'duplicate'")
expect_ge "drop-sent: at most one duplicate" 1 "$dups"
echo "drop-sent: serve got the first copy before the drop and took the redelivery for one: $dups" >&2
expect_eq "drop-sent: submit_sm for the sender" "$(peer_submits $E)" 3
expect_eq "drop-sent: the last reply" "$(peer_replies $E | tail -n 1)" "$ok"
expect_eq "drop-sent: readings" "$(sql "SELECT string_agg(position || '=' || value, ' ' ORDER BY position)
	FROM readings WHERE contract = '123861'")" "1=12000 2=5800"

# 4. A dry run of the export reproduces what happened live (issue 13
#    item 5): the suppressed redeliveries are exported with duplicate_of,
#    so replay takes them for duplicates of their originals, as live.
"$BIN" export-log --db "$DB" >"$W/export.jsonl"
expect_eq "export: duplicates naming their original" \
	"$(grep -c '"outcome":"duplicate".*"duplicate_of":"stable:' "$W/export.jsonl")" \
	"$(sql "SELECT count(*) FROM messages WHERE outcome = 'duplicate'")"
live_db=$DB
db_new e2e_peer_redelivery_replay
import "$W/contracts.csv"
printf '[database]\nconninfo = unused\n\n[window]\ndays = 1-31\n' >"$W/replay.conf"
outcomes_of() { # JSONL: "from text -> outcome", sorted
	node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n"))
		if (l) { const o = JSON.parse(l); console.log(`${o.from} ${o.text} -> ${o.outcome}`); }' "$1" | sort
}
dry_run() { # EXPORT OUT
	"$BIN" replay --config "$W/replay.conf" --db "$DB" --dry-run --json "$1" >"$2" 2>"$2.err" ||
		{ cat "$2.err" >&2; fail "replay --dry-run $1"; }
}
dry_run "$W/export.jsonl" "$W/dry.jsonl"
outcomes_of "$W/export.jsonl" >"$W/live.outcomes"
outcomes_of "$W/dry.jsonl" >"$W/dry.outcomes"
diff -u "$W/live.outcomes" "$W/dry.outcomes" >&2 || fail "the dry run of the export differs from what happened live"
# Control: without duplicate_of the redeliveries are new messages again.
sed 's/,"duplicate_of":"[^"]*"//' "$W/export.jsonl" >"$W/export-nodup.jsonl"
dry_run "$W/export-nodup.jsonl" "$W/dry-nodup.jsonl"
outcomes_of "$W/dry-nodup.jsonl" >"$W/dry-nodup.outcomes"
! diff -q "$W/live.outcomes" "$W/dry-nodup.outcomes" >/dev/null ||
	fail "control: the export without duplicate_of replayed the same (the check proves nothing)"
DB=$live_db
echo "ok: repeats answered every time; redeliveries after a drop applied and answered once; the export's dry run reproduces it"
