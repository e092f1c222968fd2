#!/bin/sh
# meterline replay while PostgreSQL goes away for a few seconds: the
# messages refused or failed meanwhile are retried, every line ends up
# applied exactly once, and the exit status is 0. Its own cluster (next to
# the fixture's, port + 2), halted and resumed under the running replay.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}" "${MLINE_PG_CLUSTER:?}"
[ -n "${MLINE_TEST_PGHOST:-}" ] || no_cluster "MLINE_TEST_PGHOST not set"
dir=$MLINE_TEST_PGHOST-replay
port=$((MLINE_TEST_PGPORT + 2))
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	sh "$MLINE_PG_CLUSTER" stop "$dir" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
sh "$MLINE_PG_CLUSTER" start "$dir" "$port" >/dev/null
DB="host=$dir port=$port user=postgres dbname=postgres"
printf '[database]\nconninfo = unused\n[intake]\nmax_age = 0\n' >"$tmp/t.conf"

# 6,000 contracts; each sender a two-step dialog: 12,000 messages.
awk 'BEGIN { print "contract,resource,position,register,digits,last_value,last_date"
	for (i = 0; i < 6000; i++) printf "%d,electricity,1,r,6,1000,2026-10-20\n", 30000000 + i }' >"$tmp/c.csv"
awk 'BEGIN { print "time,channel,from,to,text"
	for (k = 0; k < 2; k++) for (i = 0; i < 6000; i++)
		printf "2026-11-22T10:%02d:%02d+03:00,sms,7960%07d,7377,%s\n", k * 2 + int(i / 1000) * 3, i % 60, i, k ? 1100 + i % 7 : "ПС " (30000000 + i) }' >"$tmp/log.csv"
"$MLINE_BIN" migrate --db "$DB" >/dev/null 2>&1
"$MLINE_BIN" import contracts --db "$DB" "$tmp/c.csv" >/dev/null

# Batches of 5, a couple of thousand messages per second: the replay
# lasts long enough (about 5 s without the outage) for the outage to fall
# in the middle.
"$MLINE_BIN" replay --config "$tmp/t.conf" --db "$DB" --batch 5 --inflight 5 \
	-q "$tmp/log.csv" >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 1
sh "$MLINE_PG_CLUSTER" halt "$dir"
sleep 3
sh "$MLINE_PG_CLUSTER" resume "$dir"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "replay exited $rc: $(tail -5 "$tmp/err")"
expect_eq "every line applied once" "$(sql "SELECT count(*) || ' ' || count(DISTINCT external_id) FROM messages")" "12000 12000"
expect_eq "every dialog completed" "$(sql "SELECT count(*) FROM readings WHERE previous = 1000")" 6000
expect_eq "no dialog left" "$(sql "SELECT count(*) FROM dialogs")" 0
expect_match "summary" "$(cat "$tmp/err")" "summary: 12000 messages"
expect_match "the outage fell inside the replay" "$(cat "$tmp/err")" "connection lost"
echo "test_replay_outage: ok"
