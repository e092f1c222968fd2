#!/usr/bin/env bash
# bench_vs_kannel: meterline and Kannel side by side, both driven by the same
# independent SMSC (tests/peers/smsc, Node.js on the npm `smpp` package,
# docs/peers.md) over SMPP on 127.0.0.1.
#
#   tests/bench/bench_vs_kannel.sh [--runs R] [--smoke] [--only CASE]
#                                  [--count N] [--sides "kannel meterline"]
#
# Cases (each run alternates Kannel, then meterline; R rounds, default 3):
#   window-500  30,000 UCS-2 MO "ПС <contract> <value>" from 1,000 senders,
#               at most 500 deliver_sm without deliver_sm_resp
#   window-10   10,000 such MO from 1,000 senders, window 10
# Kannel 1.4.5 (Debian's `kannel`; /usr/sbin/bearerbox and smsbox), config
# generated per run: bearerbox with one `smsc = smpp` transceiver to the
# peer (max-pending-submits = 10), smsbox with `mo-recode = true` and
# sms-service `ПС` and `default` answering the static text
# "Показания приняты. Спасибо." No store, no DLR database, logs at warning.
# meterline: `meterline serve` ($MLINE_BIN, else build-bench/meterline;
# build it RelWithDebInfo) on a fresh database of a throw-away PostgreSQL 15
# (fsync and synchronous_commit on), the contracts imported first;
# MLINE_BENCH_CONF adds lines to its config (A/B runs of a setting).
#
# Per run and as medians it prints:
#   MO/s       end to end, the first deliver_sm to the last reply
#   resp p50/p99   deliver_sm -> deliver_sm_resp latency (ms)
#   reply p50/p99  MO (first deliver_sm) -> its reply submit_sm (ms)
#   CPU us/MO  user+system from the bind to the end (/proc/PID/stat):
#              meterline = serve + every process of the PostgreSQL cluster
#              (postmaster, its live children, and the children it reaped);
#              Kannel = bearerbox + smsbox; peer = the node SMSC (whole life)
# and the ratios meterline/Kannel. After each meterline run the database
# must hold every message, reading and sent reply exactly once. Kannel's
# replies are counted and their text is shown: Kannel 1.4.5 cannot send a
# static sms-service text as UCS-2, see docs/peers.md.
#
# --smoke: 300 MO per case, one round (ctest runs this when bearerbox is
# installed, else it exits 77). Installs nothing: scripts/deps.sh does.
# Smaller runs while profiling: --only window-500 (or window-10) runs one
# case, --count N sends N MO in it instead, --sides meterline leaves
# Kannel out (no ratios then).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export MLINE_SOURCE_DIR=${MLINE_SOURCE_DIR:-$src}
export MLINE_BIN=${MLINE_BIN:-$src/build-bench/meterline}
. "$src/tests/e2e/lib.sh"

runs=3
smoke=0
only=""
count=""
sides="kannel meterline"
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift ;;
	--smoke) smoke=1 ;;
	--only) only=$2; shift ;;
	--count) count=$2; shift ;;
	--sides) sides=$2; shift ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_vs_kannel: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
# case: name window count senders
cases="window-500:500:30000:1000 window-10:10:10000:1000"
if [ $smoke = 1 ]; then
	runs=1
	cases="window-500:500:300:100 window-10:10:300:100"
fi
if [ -n "$only" ]; then
	cases=$(for c in $cases; do case $c in "$only":*) echo "$c" ;; esac; done)
	[ -n "$cases" ] || { echo "bench_vs_kannel: no case $only" >&2; exit 2; }
fi
if [ -n "$count" ]; then
	cases=$(for c in $cases; do echo "$c" | awk -F: -v n="$count" '{ print $1 ":" $2 ":" n ":" $4 }'; done)
fi
BEARERBOX=${KANNEL_BEARERBOX:-/usr/sbin/bearerbox}
SMSBOX=${KANNEL_SMSBOX:-/usr/sbin/smsbox}
peer=$src/tests/peers/smsc
# Without Kannel or node: skip (77), in CI too (Kannel is an optional peer).
[ -x "$BEARERBOX" ] && [ -x "$SMSBOX" ] ||
	{ echo "SKIP: no Kannel ($BEARERBOX; apt-get install kannel, scripts/deps.sh does)" >&2; exit 77; }
command -v node >/dev/null || { echo "SKIP: no node" >&2; exit 77; }
[ -d "$peer/node_modules/smpp" ] || fail "no $peer/node_modules: run 'npm ci --prefix tests/peers/smsc'"
[ -x "$BIN" ] || fail "no binary $BIN (build it first)"

cache=$(dirname "$BIN")/CMakeCache.txt
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache" 2>/dev/null || true)

[ -n "${MLINE_TEST_PGHOST:-}" ] || E2E_PRIVATE_PG=1
top=${E2E_WORK:-${TMPDIR:-/tmp}/mline-bench-kannel}
e2e_setup "$top/bench_vs_kannel"
top=$W
REPLY='Показания приняты. Спасибо.'

echo "bench_vs_kannel: $runs round(s); meterline $BIN (${btype:-?}); Kannel $("$BEARERBOX" --version 2>&1 | sed -n 's/.*Kannel bearerbox version `\([^'\'']*\)'\''.*/\1/p' | head -n 1)"
echo "machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); load now $(cut -d' ' -f1-3 /proc/loadavg)"

# The contracts of the largest case, once: 10000000.. with last value 100000.
maxn=0
for c in $cases; do
	n=$(echo "$c" | cut -d: -f3)
	[ "$n" -gt $maxn ] && maxn=$n
done
awk -v n="$maxn" -v d="$(date -u -d '30 days ago' +%F)" 'BEGIN {
	print "contract,resource,position,register,digits,last_value,last_date,status"
	for (i = 0; i < n; i++)
		printf "%d,electricity,1,показания,6,100000,%s,active\n", 10000000 + i, d }' >"$top/contracts.csv"

HZ=$(getconf CLK_TCK)
# ticks PID...: utime+stime of each PID (0 when gone).
ticks() {
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $t
}
# pg_ticks: the whole cluster: the postmaster with the children it reaped,
# plus its live children.
pg_ticks() {
	local pm kids
	pm=$(head -n 1 "$PGHOST_/data/postmaster.pid")
	kids=$(cat /proc/"$pm"/task/*/children 2>/dev/null)
	echo $(($(awk '{ sub(/.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pm/stat") + $(ticks $kids)))
}
free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# peer_start W N SENDERS ARGS...: the node SMSC in the background.
peer_start() {
	local window=$1 n=$2 senders=$3
	shift 3
	: >"$W/peer.err"
	node "$peer/smsc.js" --system-id bench --password bench-pw --count "$n" \
		--senders "$senders" --window "$window" --coding ucs2 --recipient 7377 \
		--contract-base 10000000 --timeout 900 --bind-timeout 60 \
		--results "$W/results" --summary "$W/summary.json" "$@" 2>"$W/peer.err" &
	SIM_PID=$!
	track "$SIM_PID"
	wait_until 20 "the peer SMSC to listen" grep -q 'listening on 127.0.0.1:' "$W/peer.err"
	SIM_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/peer.err")
}
peer_wait() {
	SIM_RC=0
	wait "$SIM_PID" || SIM_RC=$?
	untrack "$SIM_PID"
}
js() { node -e "const s=require('$W/summary.json'); console.log($1)"; }

# one_line CASE SIDE N CPU_SIDE_TICKS: print and record a run.
one_line() {
	local case=$1 side=$2 n=$3 t=$4 line
	line=$(js "[s.mo_per_s, s.resp_p50_ms, s.resp_p99_ms, s.reply_p50_ms, s.reply_p99_ms,
		Math.round($t / $HZ * 1e6 / $n), Math.round((s.cpu_user_s + s.cpu_system_s) * 1e6 / $n)].join(' ')")
	echo "$line" >>"$top/$case-$side.txt"
	set -- $line
	printf '%-10s %-9s run %d: %6s MO/s  resp p50 %7s p99 %7s ms  reply p50 %8s p99 %8s ms  CPU us/MO %5s (peer %s)\n' \
		"$case" "$side" "$r" "$1" "$2" "$3" "$4" "$5" "$6" "$7"
}

kannel_run() { # CASE WINDOW N SENDERS
	local case=$1 window=$2 n=$3 senders=$4 t0 ap sp
	W=$top/$case-kannel-$r
	mkdir -p "$W"
	peer_start "$window" "$n" "$senders"
	ap=$(free_port)
	sp=$(free_port)
	cat >"$W/kannel.conf" <<EOF
group = core
admin-port = $ap
admin-password = bench
admin-interface = 127.0.0.1
smsbox-port = $sp
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "$W/bearerbox.log"
log-level = 2
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = peer
host = 127.0.0.1
port = $SIM_PORT
transceiver-mode = true
smsc-username = bench
smsc-password = bench-pw
system-type = ""
max-pending-submits = 10
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $sp
log-file = "$W/smsbox.log"
log-level = 2
mo-recode = true

group = sms-service
keyword = ПС
text = "$REPLY"
max-messages = 1

group = sms-service
keyword = default
text = "$REPLY"
max-messages = 1
EOF
	"$BEARERBOX" "$W/kannel.conf" >"$W/bearerbox.out" 2>&1 &
	BB_PID=$!
	track "$BB_PID"
	sleep 0.5
	"$SMSBOX" "$W/kannel.conf" >"$W/smsbox.out" 2>&1 &
	SB_PID=$!
	track "$SB_PID"
	wait_until 60 "Kannel to bind" grep -q '^bound:' "$W/peer.err"
	t0=$(ticks "$BB_PID" "$SB_PID")
	peer_wait
	t=$(($(ticks "$BB_PID" "$SB_PID") - t0))
	stop_pid "$SB_PID" 10
	untrack "$SB_PID"
	stop_pid "$BB_PID" 15
	untrack "$BB_PID"
	[ -s "$W/summary.json" ] || { cat "$W/peer.err" >&2; fail "$case Kannel run $r: no summary"; }
	expect_eq "$case Kannel run $r: MO acknowledged ESME_ROK" "$(js s.acked_rok)" "$n"
	expect_eq "$case Kannel run $r: MO with exactly one reply" "$(js s.mo_with_one_reply)" "$n"
	one_line "$case" kannel "$n" "$t"
	js 'Object.keys(s.reply_texts).join(" | ")' >"$top/kannel-reply-text"
}

meterline_run() { # CASE WINDOW N SENDERS
	local case=$1 window=$2 n=$3 senders=$4 t0 p0 got
	W=$top/$case-meterline-$r
	mkdir -p "$W"
	db_new "bvk_$(echo "$case" | tr -c 'a-z0-9\n' _)_$r"
	awk -v n="$n" 'NR <= n + 1' "$top/contracts.csv" >"$W/contracts.csv"
	import "$W/contracts.csv"
	peer_start "$window" "$n" "$senders" --expect-reply "$REPLY"
	SIM_SYSID=bench
	SIM_PASSWORD=bench-pw
	serve_conf "${MLINE_BENCH_CONF:-}"
	serve_start
	wait_until 60 "meterline to bind" grep -q '^bound:' "$W/peer.err"
	t0=$(ticks "$SERVE_PID")
	p0=$(pg_ticks)
	peer_wait
	t=$(($(ticks "$SERVE_PID") - t0 + $(pg_ticks) - p0))
	serve_stop
	[ "$SIM_RC" = 0 ] || { tail -n 12 "$W/peer.err" >&2; fail "$case meterline run $r: the peer SMSC exit status $SIM_RC"; }
	check_exactly_once "$W/results"
	expect_eq "$case run $r: messages" "$(sql "SELECT count(*) FROM messages")" "$n"
	expect_eq "$case run $r: messages accepted" "$(sql "SELECT count(*) FROM messages WHERE outcome = 'accepted'")" "$n"
	expect_eq "$case run $r: readings (one per contract)" \
		"$(sql "SELECT count(*) || '/' || count(DISTINCT contract) FROM readings")" "$n/$n"
	expect_eq "$case run $r: outbox rows sent" \
		"$(sql "SELECT count(*) FILTER (WHERE state = 'sent') || '/' || count(*) FROM outbox")" "$n/$n"
	one_line "$case" meterline "$n" "$t"
	"$PSQL" -qX "host=$PGHOST_ port=$PGPORT_ user=postgres dbname=postgres" \
		-c "DROP DATABASE $(echo "$DB" | sed 's/.*dbname=//') WITH (FORCE)" >/dev/null
}

for c in $cases; do
	IFS=: read -r name window n senders <<EOF
$c
EOF
	rm -f "$top/$name-kannel.txt" "$top/$name-meterline.txt"
	for r in $(seq "$runs"); do
		for side in $sides; do
			"${side}_run" "$name" "$window" "$n" "$senders"
		done
	done
done

median() { # FILE COLUMN
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "median of $runs run(s) (MO/s | resp p50 p99 ms | reply p50 p99 ms | CPU us/MO | peer CPU us/MO):"
for c in $cases; do
	name=${c%%:*}
	for side in $sides; do
		f=$top/$name-$side.txt
		printf '  %-10s %-9s %6s MO/s | resp %7s %7s | reply %8s %8s | CPU %5s | peer %5s\n' "$name" "$side" \
			"$(median "$f" 1)" "$(median "$f" 2)" "$(median "$f" 3)" "$(median "$f" 4)" \
			"$(median "$f" 5)" "$(median "$f" 6)" "$(median "$f" 7)"
	done
	k=$top/$name-kannel.txt
	m=$top/$name-meterline.txt
	[ -f "$k" ] && [ -f "$m" ] || continue
	printf '  %-10s meterline/Kannel: MO/s %s, resp p99 %s, reply p50 %s, reply p99 %s, CPU/MO %s\n' "$name" \
		"$(ratio "$(median "$m" 1)" "$(median "$k" 1)")" "$(ratio "$(median "$m" 3)" "$(median "$k" 3)")" \
		"$(ratio "$(median "$m" 4)" "$(median "$k" 4)")" "$(ratio "$(median "$m" 5)" "$(median "$k" 5)")" \
		"$(ratio "$(median "$m" 6)" "$(median "$k" 6)")"
done
[ ! -f "$top/kannel-reply-text" ] ||
	echo "Kannel's reply text as the peer decoded it: $(cat "$top/kannel-reply-text")"
echo "bench_vs_kannel: every MO acknowledged and answered once by both; every meterline database held each message, reading and sent reply exactly once"
