#!/usr/bin/env bash
# bench_e2e: the whole gateway on one machine. `meterline-smsc-sim` floods
# `meterline serve` over SMPP on 127.0.0.1; serve stores into a throw-away
# PostgreSQL 15 (fsync and synchronous_commit on) and replies over SMPP.
#
#   tests/bench/bench_e2e.sh [--count N] [--runs R] [--windows "500 10"]
#                            [--rate-count N] [--rate MO_PER_S] [--smoke]
#                            [--statements]
#
# The load (tests/e2e/gen_load.sh): N Cyrillic (UCS-2) MO, per 10 messages
# 7 complete single-register submissions, one two-message day/night dialog
# and one invalid text; a contract each, imported from a generated CSV.
# Each run gets a fresh database. For each simulator window (default 500,
# then 10) and for an offered rate (--rate, default 1000 MO/s, window 500,
# --rate-count messages) it runs R times (default 3) and prints:
#   MO/s     sustained, first deliver_sm to the last deliver_sm_resp or
#            reply, whichever is later (every reply received)
#   p50/p99  MO -> reply latency (the MO's first deliver_sm to its reply)
#   RSS      the service's peak RSS (VmHWM)
#   CPU      user+system CPU microseconds per MO of the service, of the
#            simulator and of the service's PostgreSQL backends (WAL writer
#            and checkpointer not counted): on a shared machine the wall
#            figures move with the neighbours' load, these much less
# then the median of the runs. After every run it checks that PostgreSQL
# holds exactly what the load implies (messages by outcome, submissions,
# readings, outbox rows sent) and fails if not. Figures are compared with
# the targets (>= 15,000 MO/s at window 500, p99 < 50 ms at 1,000 MO/s
# offered, peak RSS < 50 MB) but a miss is only reported.
#
# The binary is $MLINE_BIN, else build-e2e/meterline (build it with
# -DCMAKE_BUILD_TYPE=RelWithDebInfo; not ASan). PostgreSQL is ctest's e2e
# cluster when MLINE_TEST_PGHOST is set, else a private one started here.
# --smoke: 2,000 MO, one run of each, checks only (ctest runs this).
# MLINE_BENCH_SQL: SQL run on every fresh database before its flood (A/B
# runs: the cost of an index is DROP INDEX in one of them).
# MLINE_BENCH_CONF: lines added to serve's config, sections included
# (A/B runs of a setting: MLINE_BENCH_CONF=$'[store]\ngather = 0').
# --statements: the private cluster loads pg_stat_statements (with
# track_planning); after every run the statements that cost the most
# server time are printed (calls, planning and execution ms per call, ms
# in all): where the backends' CPU goes; auto_explain writes the plan of
# every statement over MLINE_BENCH_EXPLAIN_MS (5) into the server log
# (pg_server.log in the work dir). Not with MLINE_TEST_PGHOST.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export MLINE_SOURCE_DIR=${MLINE_SOURCE_DIR:-$src}
export MLINE_BIN=${MLINE_BIN:-$src/build-e2e/meterline}
. "$src/tests/e2e/lib.sh"

count=200000
runs=3
windows="500 10"
rate=1000
rate_count=30000
smoke=0
statements=0
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift ;;
	--runs) runs=$2; shift ;;
	--windows) windows=$2; shift ;;
	--rate) rate=$2; shift ;;
	--rate-count) rate_count=$2; shift ;;
	--smoke) smoke=1 ;;
	--statements) statements=1 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_e2e: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ $smoke = 1 ]; then
	count=2000
	runs=1
	rate_count=1000
fi
[ -x "$BIN" ] || { echo "bench_e2e: no binary $BIN (build it first)" >&2; exit 1; }

# The build's type, from its CMakeCache (a benchmark of an ASan build means
# little).
cache=$(dirname "$BIN")/CMakeCache.txt
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache" 2>/dev/null || true)
sanit=$(sed -n 's/^MLINE_SANITIZE:[A-Z]*=//p' "$cache" 2>/dev/null || true)

[ -n "${MLINE_TEST_PGHOST:-}" ] || E2E_PRIVATE_PG=1
top=${E2E_WORK:-${TMPDIR:-/tmp}/mline-bench-e2e}
e2e_setup "$top/bench_e2e"
top=$W

# --statements: pg_stat_statements needs a restart to load.
if [ $statements = 1 ]; then
	[ -n "$E2E_CLUSTER" ] || fail "--statements needs the private cluster (unset MLINE_TEST_PGHOST)"
	"$PSQL" -qX -v ON_ERROR_STOP=1 "host=$PGHOST_ port=$PGPORT_ user=postgres dbname=postgres" \
		-c "ALTER SYSTEM SET shared_preload_libraries = pg_stat_statements, auto_explain" >/dev/null
	sh "$PG_CLUSTER" halt "$E2E_CLUSTER"
	sh "$PG_CLUSTER" resume "$E2E_CLUSTER"
	"$PSQL" -qX -v ON_ERROR_STOP=1 "host=$PGHOST_ port=$PGPORT_ user=postgres dbname=postgres" \
		-c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" \
		-c "ALTER SYSTEM SET auto_explain.log_min_duration = '${MLINE_BENCH_EXPLAIN_MS:-5}ms'" \
		-c "SELECT pg_reload_conf()" >/dev/null
fi

# statements_reset / statements_print: the run's statements by server time.
statements_reset() {
	[ $statements = 1 ] || return 0
	sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()" >/dev/null
}
statements_print() {
	[ $statements = 1 ] || return 0
	"$PSQL" -qX "$DB" -c "SELECT calls, plans, round((total_plan_time / greatest(plans, 1))::numeric, 3) AS plan_ms,
		round((total_exec_time / greatest(calls, 1))::numeric, 3) AS exec_ms,
		round((total_plan_time + total_exec_time)::numeric) AS total_ms,
		left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS query
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
			WHERE datname = current_database())
		ORDER BY total_plan_time + total_exec_time DESC LIMIT 16"
}

echo "bench_e2e: $count MO, $runs run(s) per case; binary $BIN (${btype:-?}${sanit:+, sanitize=$sanit})"
echo "machine: $(nproc) CPU(s), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); $(uname -r)"
sh "$src/tests/e2e/gen_load.sh" "$count" "$top/load" 100
sh "$src/tests/e2e/gen_load.sh" "$rate_count" "$top/load-rate" 100

# check_exact EXPECTED: no redelivery happened, so everything is exact.
check_exact() {
	local f=$1
	check_load "$f"
	expect_eq "messages" "$(sql "SELECT count(*) FROM messages")" "$(sed -n 's/^messages=//p' "$f")"
	expect_eq "messages rejected" "$(sql "SELECT count(*) FROM messages WHERE outcome = 'rejected'")" \
		"$(sed -n 's/^rejected=//p' "$f")"
	expect_eq "outbox rows sent" "$(sql "SELECT count(*) FROM outbox WHERE state = 'sent'")" \
		"$(sed -n 's/^outbox_sent=//p' "$f")"
	expect_eq "outbox rows" "$(sql "SELECT count(*) FROM outbox")" "$(sed -n 's/^outbox_sent=//p' "$f")"
}

# one_run CASE N LOAD SIMARGS...: one measured run; appends to $top/CASE.txt
# "MO/s p50 p99 rss_kB cpu_s".
one_run() {
	local case=$1 n=$2 load=$3 mos p50 p99 rss cpu pgcpu pid mo
	shift 3
	W=$top/$case-$n
	mkdir -p "$W"
	db_new "bench_e2e_$(echo "$case" | tr -c 'a-z0-9\n' _)_$n"
	import "$load/contracts.csv"
	# MLINE_BENCH_SQL: SQL run on each fresh database before the flood,
	# for A/B runs (e.g. the cost of an index: DROP INDEX ...)
	[ -z "${MLINE_BENCH_SQL:-}" ] || sql "$MLINE_BENCH_SQL" >/dev/null
	statements_reset
	sim_start --flood-file "$load/messages.tsv" --timeout 1200 "$@"
	serve_conf "${MLINE_BENCH_CONF:-}"
	serve_start
	sim_wait
	[ "$SIM_RC" = 0 ] || fail "$case run $n: the simulator did not finish (exit $SIM_RC)"
	rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVE_PID/status")
	cpu=$(cpu_s "$SERVE_PID")
	pgcpu=0
	for pid in $(sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid()"); do
		pgcpu=$(awk -v a="$pgcpu" -v b="$(cpu_s "$pid" 2>/dev/null || echo 0)" 'BEGIN { print a + b }')
	done
	serve_stop
	statements_print
	check_exact "$load/expected"
	mos=$(sed -n 's/^rate: \([0-9]*\) MO\/s.*/\1/p' "$W/sim.err")
	p50=$(sed -n 's/.*p50 \([0-9.]*\) ms.*/\1/p' "$W/sim.err")
	p99=$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' "$W/sim.err")
	mo=$(sed -n 's/^messages=//p' "$load/expected")
	us() { awk -v s="$1" -v n="$mo" 'BEGIN { printf "%.0f", s * 1e6 / n }'; }
	printf '%-14s run %d: %6s MO/s  p50 %7s ms  p99 %7s ms  peak RSS %5.1f MB  CPU us/MO: serve %s, sim %s, postgres %s  (db ok)\n' \
		"$case" "$n" "$mos" "$p50" "$p99" "$(echo "$rss" | awk '{ print $1 / 1024 }')" \
		"$(us "$cpu")" "$(us "$SIM_CPU")" "$(us "$pgcpu")"
	echo "$mos $p50 $p99 $rss $(us "$cpu") $(us "$SIM_CPU") $(us "$pgcpu")" >>"$top/$case.txt"
	# The databases are large: drop each once checked.
	"$PSQL" -qX "host=$PGHOST_ port=$PGPORT_ user=postgres dbname=postgres" \
		-c "DROP DATABASE $(echo "$DB" | sed 's/.*dbname=//') WITH (FORCE)" >/dev/null
}

# median CASE COLUMN
median() {
	awk -v c="$2" '{ print $c }' "$top/$1.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

cases=""
for w in $windows; do
	for n in $(seq "$runs"); do
		one_run "window-$w" "$n" "$top/load" --window "$w"
	done
	cases="$cases window-$w"
done
for n in $(seq "$runs"); do
	one_run "rate-$rate" "$n" "$top/load-rate" --window 500 --rate "$rate"
done
cases="$cases rate-$rate"

echo
echo "median of $runs run(s):"
for c in $cases; do
	printf '  %-14s %6s MO/s  p50 %7s ms  p99 %7s ms  peak RSS %5.1f MB  CPU us/MO: serve %s, sim %s, postgres %s\n' \
		"$c" "$(median "$c" 1)" "$(median "$c" 2)" "$(median "$c" 3)" \
		"$(median "$c" 4 | awk '{ print $1 / 1024 }')" "$(median "$c" 5)" \
		"$(median "$c" 6)" "$(median "$c" 7)"
done
if [ $smoke = 0 ]; then
	echo
	verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "MISSED"; fi; }
	case " $windows " in *" 500 "*)
		echo "target >= 15000 MO/s at window 500: $(verdict "$(awk -v x="$(median window-500 1)" 'BEGIN { print (x >= 15000) }')")" ;;
	esac
	echo "target p99 < 50 ms at $rate MO/s offered: $(verdict "$(awk -v x="$(median "rate-$rate" 3)" 'BEGIN { print (x < 50) }')")"
	peak=$(cat "$top"/*.txt | awk '$4 > m { m = $4 } END { print m }')
	echo "target peak RSS < 50 MB: $(verdict "$(awk -v x="$peak" 'BEGIN { print (x < 50 * 1024) }')") (highest $(awk -v x="$peak" 'BEGIN { printf "%.1f", x / 1024 }') MB)"
fi
echo "bench_e2e: every run's database held exactly what it should"
