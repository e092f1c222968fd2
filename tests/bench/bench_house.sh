#!/bin/sh
# bench_house: the house manager's page with a big house (docs/house-entry.md,
# "Speed"): how long a house of N apartments takes to open (GET
# /house?id=) and to submit whole (POST /house/submit: N readings through
# the intake, the store, one transaction), measured with curl against a
# real `meterline serve`.
#
#   bench_house.sh [--apartments N] [--runs R] [--smoke]
#
# Defaults: 500 apartments, 10 runs (each submit sends values above the
# previous run's). Targets: open <= 300 ms, submit <= 1 s; the figures are
# printed with "met" or "NOT met". --smoke: 500 apartments, 2 runs; checks
# the answers (500 apartments shown, 500 accepted), not the targets.
#
# The database: the ctest fixture's cluster (MLINE_TEST_PGHOST/PGPORT),
# else a throw-away cluster of its own. MLINE_BIN: the meterline binary
# (default build/meterline).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$src/tests/integration/lib.sh"
MLINE_BIN=${MLINE_BIN:-$src/build/meterline}

apts=500
runs=10
smoke=false
while [ $# -gt 0 ]; do
	case $1 in
	--apartments) apts=$2; shift ;;
	--runs) runs=$2; shift ;;
	--smoke) smoke=true; runs=2 ;;
	*) echo "usage: bench_house.sh [--apartments N] [--runs R] [--smoke]" >&2; exit 2 ;;
	esac
	shift
done
command -v curl >/dev/null || { echo "SKIP: no curl" >&2; exit 77; }

tmp=$(mktemp -d)
pid=
own=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && { wait "$pid" 2>/dev/null || true; }
	[ -f "$tmp/serve.log" ] && cp "$tmp/serve.log" "${TMPDIR:-/tmp}/bench_house.serve.log"
	[ -n "$own" ] && sh "$src/tests/integration/pg_cluster.sh" stop "$own" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -z "${MLINE_TEST_PGHOST:-}" ]; then
	MLINE_TEST_PGPORT=5432
	own=/tmp/mline-bench-house-$$
	sh "$src/tests/integration/pg_cluster.sh" start "$own" "$MLINE_TEST_PGPORT" >/dev/null
	MLINE_TEST_PGHOST=$own
	export MLINE_TEST_PGHOST MLINE_TEST_PGPORT
fi

db_create mline_bench_house
M() { "$MLINE_BIN" "$@"; }
# every command names this config (never /etc/meterline's)
cat >"$tmp/t.conf" <<CONF
[database]
conninfo = $DB
[console]
listen = 127.0.0.1:0
[window]
days = 1-31
[log]
level = info
CONF
M migrate --config "$tmp/t.conf" >/dev/null 2>&1
awk -v n="$apts" 'BEGIN {
	print "contract,resource,position,register,digits,last_value,last_date"
	for (i = 1; i <= n; i++)
		printf "%d,electricity,1,T1,7,100000,2026-11-01\n", 60000000 + i
}' >"$tmp/contracts.csv"
awk -v n="$apts" 'BEGIN {
	print "contract,city,street,number,apartment,serials"
	for (i = 1; i <= n; i++)
		printf "%d,Новосибирск,Большая ул.,1,%d,%d\n", 60000000 + i, i, 7000000 + i
}' >"$tmp/houses.csv"
M import contracts --config "$tmp/t.conf" "$tmp/contracts.csv" >/dev/null
M import houses --config "$tmp/t.conf" "$tmp/houses.csv" >/dev/null
house=$(sql "SELECT id FROM houses")
printf 'bench-password-1\n' | M user add bench --role manager --houses "$house" \
	--config "$tmp/t.conf" >/dev/null
# not through M: a function in the background is a subshell, whose pid
# is not serve's
# The log exists before the loop below reads it: the shell opens it in
# the background child, which may not have run yet.
: >"$tmp/serve.log"
"$MLINE_BIN" serve --config "$tmp/t.conf" >"$tmp/serve.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 100); do
	port=$(sed -n 's/.*console: listening on .* (port \([0-9]*\)).*/\1/p' "$tmp/serve.log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || fail "no console port"
U=http://127.0.0.1:$port
sleep 0.3
pre=$(curl -s "$U/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
cookie=$(curl -s -D - -o /dev/null -b "ml_login=$pre" \
	--data "csrf=$pre&user=bench&password=bench-password-1" "$U/login" |
	sed -n 's/^Set-Cookie: \(ml_session=[0-9a-f]*\);.*/\1/p')
[ -n "$cookie" ] || fail "login"

: >"$tmp/open" ; : >"$tmp/submit"
for r in $(seq 1 "$runs"); do
	curl -s -b "$cookie" -o "$tmp/page" -w '%{time_total}\n' \
		"$U/house?id=$house" >>"$tmp/open"
	n=$(grep -o '<li class="flat"' "$tmp/page" | wc -l)
	expect_eq "apartments shown" "$n" "$apts"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$tmp/page" | head -1)
	awk -v n="$apts" -v r="$r" -v csrf="$csrf" -v h="$house" 'BEGIN {
		printf "csrf=%s&house=%s&batch=%08x%08x", csrf, h, r, srand()
		for (i = 1; i <= n; i++)
			printf "&v.%d.1=%d", 60000000 + i, 100000 + r * 100 + i % 50
	}' >"$tmp/body"
	curl -s -b "$cookie" -o "$tmp/answer" -w '%{time_total}\n' \
		--data-binary "@$tmp/body" "$U/house/submit" >>"$tmp/submit"
	n=$(grep -o '"status":"accepted"' "$tmp/answer" | wc -l)
	expect_eq "run $r: accepted" "$n" "$apts"
done
expect_eq "readings stored" "$(sql "SELECT count(*) FROM readings")" "$((apts * runs))"

# median and max in ms of a file of seconds
stats() { sort -n "$1" | awk '{ v[NR] = $1 * 1000 } END {
	printf "median %.1f ms, max %.1f ms (%d runs)", v[int((NR + 1) / 2)], v[NR], NR }'; }
verdict() { sort -n "$1" | awk -v t="$2" '{ v[NR] = $1 * 1000 } END {
	print (v[int((NR + 1) / 2)] <= t ? "met" : "NOT met") }'; }
echo "house of $apts apartments, open:   $(stats "$tmp/open"); target 300 ms: $(verdict "$tmp/open" 300)"
echo "house of $apts apartments, submit: $(stats "$tmp/submit"); target 1000 ms: $(verdict "$tmp/submit" 1000)"
