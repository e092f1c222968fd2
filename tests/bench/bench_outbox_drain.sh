#!/usr/bin/env bash
# bench_outbox_drain: the outbox draining a backlog (issue 20 item 1).
#
#   tests/bench/bench_outbox_drain.sh [--count N] [--smoke]
#
# N (default 200,000) SMS replies are committed pending while the link is
# down, as the store writes them then (unleased, due at once: one INSERT
# per 10,000, one transaction each), then `meterline serve` starts and
# binds to `meterline-smsc-sim`, which answers every submit_sm at once.
# The outbox's keyset claim and its batched write-backs drain the table.
# Once every row is `sent` it prints:
#   - the drain rate per 10,000 replies, first to last (from the rows'
#     updated_at, the commit of their `sent` write-back), and overall
#     (from the first claim to the last write-back);
#   - PostgreSQL CPU per reply: the backends of the benchmark's database
#     (serve's connections, as bench_e2e counts them) and the whole
#     cluster's processes that are alive at the end (postmaster children:
#     WAL writer, checkpointer, autovacuum launcher; a worker that ended
#     meanwhile is not counted), both as deltas over the drain;
#   - the load average, since the machine is shared.
# Targets: >= 5,000 replies/s and <= 50 us PostgreSQL CPU per reply, flat
# (the median rate of the last quarter of the blocks at least 80% of the
# first quarter's). A miss is reported, not failed. --smoke (ctest): 20,000 replies; fails when a row is not sent
# exactly once (the simulator's count of submit_sm) or the drain stalls.
# MLINE_BENCH_SQL: SQL run on the fresh database before the backlog is
# written (A/B runs of a storage setting, as in bench_e2e.sh).
#
# The binary is $MLINE_BIN, else build-e2e/meterline; PostgreSQL is ctest's
# e2e cluster when MLINE_TEST_PGHOST is set, else a private one.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
export MLINE_SOURCE_DIR=${MLINE_SOURCE_DIR:-$src}
export MLINE_BIN=${MLINE_BIN:-$src/build-e2e/meterline}
. "$src/tests/e2e/lib.sh"

count=200000
smoke=0
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=$2; shift ;;
	--smoke) smoke=1 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_outbox_drain: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ $smoke = 1 ] && count=20000
[ -x "$BIN" ] || { echo "bench_outbox_drain: no binary $BIN (build it first)" >&2; exit 1; }

[ -n "${MLINE_TEST_PGHOST:-}" ] || E2E_PRIVATE_PG=1
top=${E2E_WORK:-${TMPDIR:-/tmp}/mline-bench-outbox}
e2e_setup "$top/bench_outbox_drain"
db_new bench_outbox_drain
echo "bench_outbox_drain: $count replies; binary $BIN"
echo "machine: $(nproc) CPU(s); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

[ -z "${MLINE_BENCH_SQL:-}" ] || sql "$MLINE_BENCH_SQL" >/dev/null
# The backlog: what the store commits while the link is down.
for first in $(seq 0 10000 $((count - 1))); do
	n=$((count - first < 10000 ? count - first : 10000))
	sql "INSERT INTO outbox (message_id, channel, sender, recipient, text)
	     SELECT $first + i, 'sms', '7377', (79000000000 + $first + i)::text,
	            'Показания приняты. Спасибо.'
	       FROM generate_series(1, $n) i" >/dev/null
done
expect_eq "pending replies" "$(sql "SELECT count(*) FROM outbox WHERE state = 'pending'")" "$count"

# cpu_sum PIDS...: their CPU seconds together (0 for one gone).
cpu_sum() {
	local s=0 p
	for p in "$@"; do
		s=$(awk -v a="$s" -v b="$(cpu_s "$p" 2>/dev/null || echo 0)" 'BEGIN { print a + b }')
	done
	echo "$s"
}
pgdata=$(sql "SHOW data_directory")
postmaster=$(head -n 1 "$pgdata/postmaster.pid")
cluster_pids() { echo "$postmaster" $(pgrep -P "$postmaster"); }
db_pids() {
	sql "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
	     AND pid <> pg_backend_pid()"
}

sim_start --quiet --window 100
serve_conf
cl0=$(cpu_sum $(cluster_pids))
serve_start
# serve's connections are new: their CPU counts from zero.
left() { [ "$(sql "SELECT count(*) FROM outbox WHERE state = 'pending'")" = 0 ]; }
wait_until $((count / 500 + 60)) "the backlog to drain" left
sleep 0.5 # the last write-back's own CPU
dbcpu=$(cpu_sum $(db_pids))
cl1=$(cpu_sum $(cluster_pids))
load=$(cut -d' ' -f1-3 /proc/loadavg)
serve_stop
kill -TERM "$SIM_PID" 2>/dev/null || true
wait "$SIM_PID" 2>/dev/null || true
untrack "$SIM_PID"
SIM_PID=""

expect_eq "rows sent" "$(sql "SELECT count(*) FROM outbox WHERE state = 'sent'")" "$count"
submits=$(sed -n 's/.*submit_sm[^0-9]*\([0-9][0-9]*\).*/\1/p' "$W/sim.err" | tail -n 1)
taken=$(sed -n 's/.*outbox: \([0-9]*\) replies taken.*/\1/p' "$W/serve.log" | tail -n 1)
expect_eq "replies taken by the outbox (each row once)" "$taken" "$count"

# The rate per 10,000, from the write-backs' commit times.
sql "SELECT n, round(10000 / greatest(extract(epoch FROM t - lag(t) OVER (ORDER BY n)), 1e-6))
       FROM (SELECT n, max(updated_at) t FROM (SELECT updated_at,
               (row_number() OVER (ORDER BY updated_at, id) - 1) / 10000 n
               FROM outbox) x GROUP BY n) y ORDER BY n" |
	awk -F'|' 'NR > 1 { printf "  replies %7d-%7d: %6d replies/s\n", ($1) * 10000 + 1, ($1 + 1) * 10000, $2 }' >"$W/rates.txt"
first_block=$(sql "SELECT round(10000 / greatest(extract(epoch FROM max(updated_at) - min(updated_at)), 1e-6))
	FROM (SELECT updated_at FROM outbox ORDER BY updated_at, id LIMIT 10000) x")
span=$(sql "SELECT extract(epoch FROM max(updated_at) - min(updated_at)) FROM outbox WHERE state = 'sent'")
echo "drain rate per 10,000 replies (write-back commit times):"
printf '  replies %7d-%7d: %6d replies/s (within the block)\n' 1 10000 "$first_block"
cat "$W/rates.txt"
overall=$(awk -v n="$count" -v s="$span" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')
us_db=$(awk -v c="$dbcpu" -v n="$count" 'BEGIN { printf "%.1f", c * 1e6 / n }')
us_cl=$(awk -v a="$cl0" -v b="$cl1" -v n="$count" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
slow=$( (echo "$first_block"; awk '{ print $(NF - 1) }' "$W/rates.txt") | sort -g | head -n 1)
fast=$( (echo "$first_block"; awk '{ print $(NF - 1) }' "$W/rates.txt") | sort -g | tail -n 1)
echo "overall: $count replies in ${span} s: $overall replies/s; slowest 10,000 $slow/s, fastest $fast/s"
echo "PostgreSQL CPU per reply: ${us_db} us (serve's backends), ${us_cl} us (the whole cluster's live processes)"
echo "load average at the end: $load (submit_sm at the simulator: ${submits:-?})"
verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "MISSED"; fi; }
echo "target >= 5000 replies/s: $(verdict "$(awk -v x="$overall" 'BEGIN { print (x >= 5000) }')")"
echo "target <= 50 us PostgreSQL CPU per reply: $(verdict "$(awk -v x="$us_cl" 'BEGIN { print (x <= 50) }')")"
# Flat: no trend from the first to the last blocks (the median of the
# last quarter at least 80% of the first quarter's); one block may be
# quicker or slower than the rest on a shared machine, so the min/max
# ratio is printed as well.
(echo "$first_block"; awk '{ print $(NF - 1) }' "$W/rates.txt") >"$W/blocks.txt"
quarter_median() { # FIRST|LAST
	nb=$(wc -l <"$W/blocks.txt")
	q=$(( (nb + 3) / 4 ))
	if [ "$1" = first ]; then head -n "$q" "$W/blocks.txt"; else tail -n "$q" "$W/blocks.txt"; fi |
		sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
q1=$(quarter_median first)
q4=$(quarter_median last)
echo "flat: median of the first quarter $q1/s, of the last $q4/s; slowest/fastest block $(awk -v s="$slow" -v f="$fast" 'BEGIN { printf "%.2f", s / f }')"
echo "target flat (last quarter >= 80% of the first): $(verdict "$(awk -v a="$q1" -v b="$q4" 'BEGIN { print (b >= 0.8 * a) }')")"
