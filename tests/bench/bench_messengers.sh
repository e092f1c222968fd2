#!/usr/bin/env bash
# The messenger benchmark: Telegram (or MAX) updates from many chats posted
# at the real `meterline serve` webhook, replies taken by the fake Bot API
# (tests/msgr/msgr_fake, which also posts the updates, so "update in ->
# reply received" is timed in one process).
#
#   tests/bench/bench_messengers.sh [--count N] [--runs R] [--conns C]
#                                   [--kind telegram|max|viber|whatsapp|vk]
#                                   [--smoke]
#
# Each run: a fresh database with N one-register contracts, serve with
# [http], [telegram] and [max] (send_rate 100000: the fake has no flood
# control), N updates "ПС <contract> 2000", one per chat, over C keep-alive
# connections (default 64). It prints updates/s from the first post to the
# last reply, p50/p99 update -> reply, serve's peak RSS, and CPU µs per
# update of serve and of its PostgreSQL backends; then checks the database
# exactly (N accepted, N outbox rows sent). --smoke: 2,000 updates, one
# run (ctest). Needs a RelWithDebInfo build for figures (MLINE_BIN).
# MLINE_BENCH_CONF: lines added to serve's config, sections included
# (A/B runs of a setting: MLINE_BENCH_CONF=$'[store]\ngather = 0').
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
export MLINE_SOURCE_DIR=${MLINE_SOURCE_DIR:-$src}
export MLINE_BIN=${MLINE_BIN:-$src/build/meterline}
. "$src/tests/msgr/lib.sh"

count=100000
runs=3
conns=64
kind=telegram
smoke=0
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift ;;
	--runs) runs=$2; shift ;;
	--conns) conns=$2; shift ;;
	--kind) kind=$2; shift ;;
	--smoke) smoke=1 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_messengers: unknown $1" >&2; exit 2 ;;
	esac
	shift
done
[ $smoke = 1 ] && { count=2000; runs=1; }
[ -x "$BIN" ] || { echo "bench_messengers: no binary $BIN" >&2; exit 1; }
[ -x "$FAKE_BIN" ] || { echo "bench_messengers: no $FAKE_BIN" >&2; exit 1; }
command -v python3 >/dev/null || { echo "no python3: skipped" >&2; exit 77; }

[ -n "${MLINE_TEST_PGHOST:-}" ] || E2E_PRIVATE_PG=1
top=${E2E_WORK:-${TMPDIR:-/tmp}/mline-bench-msgr}
e2e_setup "$top/bench_messengers"
top=$W
echo "bench_messengers: $count $kind updates over $conns connections, $runs run(s); binary $BIN"
echo "machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
awk -v n="$count" 'BEGIN { print "contract,resource,position,register,digits,last_value,last_date,status";
	for (i = 0; i < n; i++) printf "%d,electricity,1,value,6,1000,2026-01-01,active\n", 100000 + i }' >"$top/contracts.csv"

one_run() {
	local n=$1 line rate rss cpu pgcpu pid
	W=$top/run-$n
	mkdir -p "$W"
	db_new "bench_msgr_$n"
	import "$top/contracts.csv"
	sql "ANALYZE" >/dev/null
	FAKE_PORT=$(free_port)
	HTTP_PORT=$(free_port)
	SEND_RATE=100000 msgr_conf "[log]
level = warn

[viber]
token = $MAX_SECRET
api_base = http://127.0.0.1:$FAKE_PORT
send_rate = 100000

[whatsapp]
token = wa-bench-token
app_secret = $MAX_SECRET
verify_token = wa-bench-verify
phone_number_id = 106540352242922
api_base = http://127.0.0.1:$FAKE_PORT
send_rate = 100000

[vk]
token = vk-bench-token
secret = $MAX_SECRET
group_id = 214752
confirmation = bench
api_base = http://127.0.0.1:$FAKE_PORT
send_rate = 100000
${MLINE_BENCH_CONF:-}"
	serve_up
	local sec=$TG_SECRET
	# viber: the token is the signature's key (the fake signs with it);
	# whatsapp: the app secret; vk: the secret in the body
	[ "$kind" = telegram ] || sec=$MAX_SECRET
	line=$("$FAKE_BIN" --port "$FAKE_PORT" --log /dev/null --token "$TG_TOKEN" \
		--max-token "$MAX_TOKEN" --kind "$kind" --chats "$count" --conns "$conns" \
		--secret "$sec" --load "http://127.0.0.1:$HTTP_PORT/v1/$kind" --timeout 600 2>"$W/fake.err") ||
		fail "run $n: the load did not finish: $line $(cat "$W/fake.err")"
	rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVE_PID/status")
	cpu=$(cpu_s "$SERVE_PID")
	pgcpu=0
	for pid in $(sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"); do
		pgcpu=$(awk -v a="$pgcpu" -v b="$(cpu_s "$pid" 2>/dev/null || echo 0)" 'BEGIN { print a + b }')
	done
	serve_stop
	expect_eq "accepted" "$(sql "SELECT count(*) FROM messages WHERE outcome = 'accepted' AND channel = '$kind'")" "$count"
	expect_eq "messages" "$(sql "SELECT count(*) FROM messages")" "$count"
	expect_eq "outbox rows sent" "$(sql "SELECT count(*) FROM outbox WHERE state = 'sent'")" "$count"
	expect_eq "outbox rows" "$(sql "SELECT count(*) FROM outbox")" "$count"
	rate=$(echo "$line" | sed -n 's/.* rate \([0-9]*\) .*/\1/p')
	us() { awk -v s="$1" -v n="$count" 'BEGIN { printf "%.0f", s * 1e6 / n }'; }
	echo "  load: $line"
	printf 'run %d: %6s updates/s  p50 %s ms  p99 %s ms  peak RSS %5.1f MB  CPU us/update: serve %s, postgres %s  (db ok)\n' \
		"$n" "$rate" "$(echo "$line" | sed -n 's/.*p50_ms \([0-9.]*\).*/\1/p')" \
		"$(echo "$line" | sed -n 's/.*p99_ms \([0-9.]*\).*/\1/p')" \
		"$(echo "$rss" | awk '{ print $1 / 1024 }')" "$(us "$cpu")" "$(us "$pgcpu")"
	echo "$rate $rss $(us "$cpu") $(us "$pgcpu")" >>"$top/runs.txt"
	"$PSQL" -qX "host=$PGHOST_ port=$PGPORT_ user=postgres dbname=postgres" \
		-c "DROP DATABASE bench_msgr_$n WITH (FORCE)" >/dev/null
}

for n in $(seq "$runs"); do one_run "$n"; done
median() { awk -v c="$1" '{ print $c }' "$top/runs.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
printf 'median of %d run(s): %s updates/s, peak RSS %.1f MB, CPU us/update: serve %s, postgres %s\n' \
	"$runs" "$(median 1)" "$(median 2 | awk '{ print $1 / 1024 }')" "$(median 3)" "$(median 4)"
if [ $smoke = 0 ]; then
	verdict() { if [ "$1" = 1 ]; then echo met; else echo MISSED; fi; }
	echo "target >= 10000 updates/s: $(verdict "$(awk -v x="$(median 1)" 'BEGIN { print (x >= 10000) }')")"
	echo "target serve RSS < 50 MB: $(verdict "$(awk -v x="$(median 2)" 'BEGIN { print (x < 50 * 1024) }')")"
fi
echo "bench_messengers: every run's database held exactly what it should"
