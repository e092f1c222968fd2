#!/usr/bin/env bash
# Proves (issue 20 item 1): after a kill -9 in the middle of a flood, the
# replies the dead process had taken go out within seconds of its restart
# (the outbox lease is 10 s, renewed while held; not 120 s), and a reply
# is sent twice only if its submit_sm was in flight when the process died.
#
# The npm peer SMSC (tests/peers/smsc, docs/peers.md) floods 12,000 UCS-2
# MO, one per customer, at window 200; once 3,000 are stored meterline is
# killed with SIGKILL and started again at once. The peer records every
# submit_sm; from its log:
# - duplicates: customers with more than one reply. Each one's first copy
#   must have reached the peer in the last OUTBOX_INFLIGHT_MS (300 ms)
#   before the crash, i.e. while its result was still on its way to the
#   database (the results are written back in batches every 10 ms); the
#   crash is the last submit_sm before the second bind;
# - the worst MO -> reply latency must stay under 25 s (lease 10 s, the
#   restart, the flood's own backlog), where it was 120 s.
# Every MO acknowledged, exactly once in `messages`, every outbox row sent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/peer_lib.sh"

N=${OUTBOX_KILL9_N:-12000}
inflight_ms=${OUTBOX_INFLIGHT_MS:-300}
peer_require
e2e_init e2e_outbox_kill9_peer

last_date=$(date -u -d '30 days ago' +%F)
{
	echo "contract,resource,position,register,digits,last_value,last_date,status"
	awk -v n="$N" -v d="$last_date" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "%d,electricity,1,показания,6,100000,%s,active\n", 20000000 + i, d }'
} >"$W/contracts.csv"
import "$W/contracts.csv"

peer_start kill9 --count "$N" --senders "$N" --window 200 --coding ucs2 \
	--contract-base 20000000 --sender-base 79600000000 --timeout 180 \
	--linger-ms 3000 --expect-reply 'Показания приняты. Спасибо.'
serve_conf
serve_start

stored() { [ "$(sql "SELECT count(*) FROM messages")" -ge "$1" ]; }
wait_until 60 "3000 messages stored" stored 3000
serve_kill9
before=$(sql "SELECT count(*) FROM messages")
leased=$(sql "SELECT count(*) FROM outbox WHERE state = 'pending' AND next_attempt_at > now()")
echo "killed (SIGKILL) with $before messages stored, $leased replies leased" >&2
serve_start
peer_wait
serve_stop

dups=$(peer_sum extra_replies)
expect_eq "MO acknowledged ESME_ROK" "$(peer_sum acked_rok)" "$N"
expect_eq "MO with at least one reply" \
	"$(awk -F'\t' '$1 == "mo" && $3 >= 1' "$W/peer-kill9.results" | wc -l)" "$N"
expect_eq "binds (one per life)" "$(peer_sum binds)" 2
# The crash in the peer's own clock: the last submit_sm before the second
# bind. Each duplicated customer's first reply must lie just before it.
node - "$W/peer-kill9.jsonl" "$inflight_ms" >"$W/dups.txt" <<'EOF'
const fs = require('fs');
const [file, ms] = [process.argv[2], Number(process.argv[3])];
const pdus = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l)
	.map((l) => JSON.parse(l)).filter((r) => r.dir === 'in');
const subs = pdus.filter((r) => r.command === 'submit_sm');
const rebind = pdus.filter((r) => r.command.startsWith('bind_'))[1].t;
const crash = Math.max(...subs.filter((s) => s.t < rebind).map((s) => s.t));
const gap = rebind - crash;
const first = new Map(), count = new Map();
for (const s of subs) {
	count.set(s.destination, (count.get(s.destination) || 0) + 1);
	if (!first.has(s.destination)) first.set(s.destination, s.t);
}
let dups = 0, early = 0;
for (const [to, n] of count) if (n > 1) {
	dups++;
	if (first.get(to) < crash - ms) early++;
}
console.log(`${dups} ${early} ${Math.round(gap)}`);
EOF
read -r logdups early gap <"$W/dups.txt"
worst=$(awk -F'\t' '$1 == "reply" && $6 > w { w = $6 } END { printf "%d", w / 1000 }' "$W/peer-kill9.results")
echo "duplicates $dups (PDU log: $logdups customers, $early sent earlier than ${inflight_ms} ms before the crash), crash to rebind $gap ms, worst MO->reply ${worst} ms" >&2
expect_eq "customers with two replies (summary vs PDU log)" "$logdups" "$dups"
expect_eq "duplicated replies whose first copy was not in flight at the crash" "$early" 0
[ "$worst" -le 25000 ] || fail "worst MO->reply latency ${worst} ms, expected at most 25000 ms"
check_exactly_once "$W/peer-kill9.results"
expect_eq "outbox rows not sent" "$(sql "SELECT count(*) FROM outbox WHERE state <> 'sent'")" 0
expect_eq "outbox rows" "$(sql "SELECT count(*) FROM outbox")" "$N"
# Replies went out without a claim, handed over by the store at commit,
# while the outbox had room (the second life's log line; the first died
# without one): not the 2,838 the dead process held, nor those committed
# while the link's queue was full (the flood outruns the replies here).
handed=$(sed -n 's/.*outbox: \([0-9]*\) replies taken (\([0-9]*\) handed over.*/\2/p' "$W/serve.log" | tail -n 1)
taken=$(sed -n 's/.*outbox: \([0-9]*\) replies taken.*/\1/p' "$W/serve.log" | tail -n 1)
echo "second life: $taken replies taken, $handed of them handed over at commit" >&2
expect_ge "replies handed over at commit (of $taken)" "$handed" $((taken / 4))
echo "ok: $N MO across kill -9, $dups replies twice (all in flight), worst MO->reply ${worst} ms"
