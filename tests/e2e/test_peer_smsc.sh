#!/usr/bin/env bash
# Proves: the peer's wire octets are what its selftest expects, and
# meterline works against an SMSC that shares none of its SMPP code
# (tests/peers/smsc: Node.js on the npm `smpp` package, docs/peers.md).
# That SMSC floods 2,000 UCS-2 MO from 200 senders at window 50, then 50
# GSM-7 MO at window 1, then 50 two-part concatenated UCS-2 MO (UDH, 8-bit
# reference) at window 2, i.e. both parts of a message in flight together,
# then 100 UCS-2 MO at window 10 to meterline bound as a receiver +
# transmitter pair.
# Each phase requires every MO acknowledged ESME_ROK and exactly one reply
# "Показания приняты. Спасибо." per MO (the peer's own exit status); then
# PostgreSQL must hold every MO exactly once in messages, one reading and
# one submission per MO, and one sent outbox row per MO.
#
# Every phase runs with [store] gather = 1s; the window-1 phase must still
# take well under 50 x 1 s.
#
# Then one two-part MO at window 1 (each part waits for its deliver_sm_resp
# before the next is sent, as some SMSCs do): each part is answered once it
# is durable (docs/store.md, "Concatenated SMS"), so it completes well
# within the peer's 30 s timeout (84 ms measured). PEER_CONCAT_W1=0 skips it.
#
# Needs node (the peer's node_modules come from `npm ci`, which
# scripts/deps.sh runs): exits 77 when node is absent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

peer=$SRC/tests/peers/smsc
command -v node >/dev/null || e2e_skip "no node (apt-get install nodejs npm, then scripts/deps.sh)"
[ -d "$peer/node_modules/smpp" ] || fail "no $peer/node_modules: run 'npm ci --prefix tests/peers/smsc' (scripts/deps.sh does)"

e2e_init e2e_peer_smsc
# First: the octets the peer sends are what we think (selftest.js), and
# meterline's grammar reads the texts decoded back from them as meant.
MLINE_BIN=$BIN node "$peer/selftest.js" >"$W/selftest.log" 2>&1 ||
	{ cat "$W/selftest.log" >&2; fail "the peer's selftest"; }

# Contracts for every phase: BASE..BASE+N-1, last value 100000, so the
# peer's values (100001..100097) are accepted and none is flagged.
last_date=$(date -u -d '30 days ago' +%F)
contracts() { # BASE N
	awk -v b="$1" -v n="$2" -v d="$last_date" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "%d,electricity,1,показания,6,100000,%s,active\n", b + i, d }'
}
{
	echo "contract,resource,position,register,digits,last_value,last_date,status"
	contracts 10000000 2000
	contracts 11000000 50
	contracts 12000000 50
	contracts 13000000 2
	contracts 14000000 100
} >"$W/contracts.csv"
import "$W/contracts.csv"

: >"$W/results"
total=0
# phase NAME COUNT ARGS...: one peer run against a fresh `meterline serve`.
phase() {
	local name=$1 n=$2 rc=0
	shift 2
	: >"$W/peer-$name.err"
	node "$peer/smsc.js" --system-id "$SIM_SYSID" --password "$SIM_PASSWORD" \
		--count "$n" --recipient 7377 --expect-reply 'Показания приняты. Спасибо.' \
		--log "$W/peer-$name.jsonl" --results "$W/results-$name" \
		--summary "$W/summary-$name.json" "$@" 2>"$W/peer-$name.err" &
	SIM_PID=$!
	track "$SIM_PID"
	wait_until 20 "the peer SMSC to listen" grep -q 'listening on 127.0.0.1:' "$W/peer-$name.err"
	SIM_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/peer-$name.err")
	serve_conf "$STORE_CONF"
	serve_start
	t0=$(date +%s%N)
	wait "$SIM_PID" || rc=$?
	PHASE_MS=$((($(date +%s%N) - t0) / 1000000))
	untrack "$SIM_PID"
	serve_stop
	sed "s/^/  $name: /" "$W/peer-$name.err" | grep -E ': (end|MO|acked|replies|rate|reply latency|deliver_sm_resp)' >&2
	[ $rc = 0 ] || { cat "$W/peer-$name.err" >&2; fail "phase $name: the peer SMSC exit status $rc"; }
	expect_eq "$name: MO acknowledged ESME_ROK" "$(sed -n 's/^acked: ROK \([0-9]*\) MO.*/\1/p' "$W/peer-$name.err")" "$n"
	expect_eq "$name: MO with exactly one reply" \
		"$(sed -n 's/.*MO with exactly one \([0-9]*\),.*/\1/p' "$W/peer-$name.err")" "$n"
	cat "$W/results-$name" >>"$W/results"
	total=$((total + n))
}

# A batch waits up to [store] gather for more MO only while the peer's
# window is not full (docs/store.md, "Gathering"): with a wait of 1 s, a
# window of 1 (the peer sends the next MO only after our answer) would
# take 50 s here if the link ever let the store wait for more.
STORE_CONF='[store]
gather = 1s'
phase ucs2-w50 2000 --senders 200 --window 50 --coding ucs2 --contract-base 10000000 --timeout 120
phase gsm7-w1 50 --senders 50 --window 1 --coding gsm7 --template 'PS {contract} {value}' \
	--contract-base 11000000 --sender-base 79200000000 --timeout 60
echo "gsm7-w1: 50 MO at window 1 in $PHASE_MS ms with [store] gather = 1s" >&2
[ "$PHASE_MS" -lt 25000 ] || fail "window 1 took $PHASE_MS ms: the store waited for MO the peer could not send"
phase concat2-w2 50 --senders 50 --window 2 --coding ucs2 --parts 2 \
	--contract-base 12000000 --sender-base 79300000000 --timeout 60
# meterline's receiver + transmitter pair (bind = pair): MO on one
# connection, replies on the other.
SMPP_EXTRA="bind = pair"
phase pair-w10 100 --senders 100 --window 10 --coding ucs2 \
	--contract-base 14000000 --sender-base 79500000000 --timeout 60
expect_eq "binds of the pair" "$(grep -c '^bound: ' "$W/peer-pair-w10.err")" 2
SMPP_EXTRA=""
if [ "${PEER_CONCAT_W1:-1}" = 1 ]; then
	phase concat2-w1 1 --senders 1 --window 1 --coding ucs2 --parts 2 \
		--contract-base 13000000 --sender-base 79400000000 --timeout "${PEER_CONCAT_W1_TIMEOUT:-30}"
fi

# The PDU log: every concatenated MO went out as two deliver_sm with UDHI.
expect_eq "concatenated deliver_sm in the log" \
	"$(grep -c '"command":"deliver_sm".*"part":"[12]/2"' "$W/peer-concat2-w2.jsonl")" 100

check_exactly_once "$W/results"
expect_eq "acked MOs in the results" "$ACKED" "$total"
expect_eq "messages" "$(sql "SELECT count(*) FROM messages")" "$total"
expect_eq "messages accepted" "$(sql "SELECT count(*) FROM messages WHERE outcome = 'accepted'")" "$total"
expect_eq "messages by data_coding" \
	"$(sql "SELECT string_agg(dcs || ':' || n, ' ' ORDER BY dcs) FROM (SELECT dcs, count(*) n FROM messages GROUP BY dcs) x")" \
	"0:50 8:$((total - 50))"
expect_eq "readings" "$(sql "SELECT count(*) FROM readings")" "$total"
expect_eq "contracts with a reading (each once)" "$(sql "SELECT count(DISTINCT contract) FROM readings")" "$total"
expect_eq "submissions accepted" "$(sql "SELECT count(*) FROM submissions WHERE status = 'accepted'")" "$total"
expect_eq "outbox rows" "$(sql "SELECT count(*) FROM outbox")" "$total"
expect_eq "outbox rows sent" "$(sql "SELECT count(*) FROM outbox WHERE state = 'sent'")" "$total"
echo "ok: $total MO from the npm smpp peer SMSC, each acknowledged, answered once and stored once"
