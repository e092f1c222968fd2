#!/bin/sh
# bench_replay: messages per second of `meterline replay`, dry run and real.
#
#   bench_replay.sh MLINE_BIN [--lines N] [--runs N] [--smoke]
#
# Generates N contracts of one register and a log of N x 4 lines (default
# 1,000,000 lines: 250,000 senders, each "ПС <contract>" -> prompt, the
# value -> accepted, a second reading in one message -> accepted, "hello"
# -> rejected; senders interleaved in time, file not sorted), imports the
# contracts, then replays the log into a fresh database per run (--runs,
# default 3) and prints messages/s for each run and the median, for
# --dry-run and for the real replay. The database: the ctest fixture's
# cluster (MLINE_TEST_PGHOST/PGPORT) or a throw-away cluster of its own.
# --smoke: 5,000 lines, one run, and the counts are checked.
set -eu
BIN=${1:?usage: bench_replay.sh MLINE_BIN [--lines N] [--runs N] [--smoke]}
shift
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
lines=1000000 runs=3 smoke=false
while [ $# -gt 0 ]; do
	case $1 in
	--lines) lines=$2; shift ;;
	--runs) runs=$2; shift ;;
	--smoke) smoke=true; lines=5000; runs=1 ;;
	*) echo "bench_replay: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
senders=$((lines / 4))
PSQL=${MLINE_PGBIN:-/usr/lib/postgresql/15/bin}/psql
tmp=$(mktemp -d)
own=
cleanup() {
	[ -n "$own" ] && sh "$src/tests/integration/pg_cluster.sh" stop "$own" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ -n "${MLINE_TEST_PGHOST:-}" ]; then
	host=$MLINE_TEST_PGHOST port=$MLINE_TEST_PGPORT
else
	own=/tmp/mline-bench-replay-$$ port=$((26000 + $$ % 1000)) host=$own
	sh "$src/tests/integration/pg_cluster.sh" start "$own" "$port" >/dev/null ||
		exit $?
fi
admin="host=$host port=$port user=postgres dbname=postgres"
DB="host=$host port=$port user=postgres dbname=mline_bench_replay"

# Contracts 10000000+i, one 6-digit register, last value 1000.
awk -v n="$senders" 'BEGIN {
	print "contract,resource,position,register,digits,last_value,last_date"
	for (i = 0; i < n; i++)
		printf "%d,electricity,1,показания,6,1000,2026-10-20\n", 10000000 + i
}' >"$tmp/contracts.csv"
# Sender i writes at base + i * (14400 / n) s + k minutes (senders
# interleaved over 4 hours); the file is written message kind by message
# kind, so it is not in time order.
awk -v n="$senders" 'BEGIN {
	print "time,channel,from,to,text"
	base = 1795075200	# 2026-11-20T06:00:00Z
	for (k = 0; k < 4; k++)
		for (i = 0; i < n; i++) {
			t = base + k * 60 + int(i * 14400 / n)
			ch = i % 3 == 0 ? "viber" : "sms"
			c = 10000000 + i
			if (k == 0) txt = "ПС " c
			else if (k == 1) txt = "" (1100 + i % 50)
			else if (k == 2) txt = "ПС " c " " (1200 + i % 50)
			else txt = "hello"
			printf "%s,%s,79%09d,7377,%s\n", strftime("%Y-%m-%dT%H:%M:%SZ", t, 1), ch, i, txt
		}
}' >"$tmp/log.csv"

fresh() {
	"$PSQL" -qX -v ON_ERROR_STOP=1 "$admin" \
		-c "DROP DATABASE IF EXISTS mline_bench_replay WITH (FORCE)" \
		-c "CREATE DATABASE mline_bench_replay" >/dev/null
	"$BIN" migrate --db "$DB" >/dev/null 2>&1
	"$BIN" import contracts --db "$DB" "$tmp/contracts.csv" >/dev/null
	"$PSQL" -qX "$DB" -c "VACUUM ANALYZE" >/dev/null
}

# run MODE...: one replay; prints its messages/s.
run() {
	"$BIN" replay --db "$DB" -q --stats --max-age 0 ${BENCH_ARGS:-} "$@" "$tmp/log.csv" 2>"$tmp/summary" >/dev/null ||
		{ cat "$tmp/summary" >&2; exit 1; }
	sed -n 's/^summary: .*(\([0-9]*\) msg\/s).*/\1/p' "$tmp/summary"
}

median() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "bench_replay: $lines lines, $senders senders/contracts, $runs runs"
for mode in ${BENCH_MODES:-dry real}; do
	rates=
	for r in $(seq 1 "$runs"); do
		fresh
		if [ $mode = dry ]; then
			rate=$(run --dry-run)
		else
			rate=$(run)
		fi
		echo "  $mode run $r: $rate msg/s"
		grep -E "^  |^store:" "$tmp/summary" | sed 's/^/    /'
		rates="$rates $rate"
	done
	echo "$mode: median $(echo $rates | median) msg/s"
	if $smoke; then
		if [ $mode = dry ]; then
			want=0
		else
			want=$((senders * 2))
		fi
		got=$("$PSQL" -qXAt "$DB" -c "SELECT count(*) FROM submissions")
		[ "$got" = "$want" ] || { echo "FAIL: $mode: $got submissions, expected $want" >&2; exit 1; }
	fi
done
