#!/bin/sh
# Replay applies messages in time order per contract as well as per sender,
# and refuses lines dated outside [intake] bounds.
#
# Live, A's "ПС 102057522" (10:00:00) and "11600" (10:00:30) came before
# B's "ПС 102057522 11700" (10:05): all three accepted. A replay that only
# kept each sender's order handed B's message to the store together with
# A's first (different senders), so A's 11600 was then rejected as lower
# than B's 11700. The dry run and the real replay must both give the live
# outcomes.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
M() { "$MLINE_BIN" "$@"; }
printf '[database]\nconninfo = unused\n[intake]\nmax_age = 0\n' >"$tmp/t.conf"

db_create itest_replay_order
M migrate --db "$DB" >/dev/null
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null

# Many other senders between them, so that the three land in big batches.
{
	echo "time,channel,from,to,text"
	echo "2026-11-20T10:00:00+03:00,sms,79000000301,7377,ПС 102057522"
	echo "2026-11-20T10:00:30+03:00,sms,79000000301,7377,11600"
	echo "2026-11-20T10:05:00+03:00,sms,79000000302,7377,ПС 102057522 11700"
	i=0
	while [ $i -lt 200 ]; do
		echo "2026-11-20T10:0$((i % 6)):1$((i % 10))+03:00,sms,7900001$(printf %04d $i),7377,помогите"
		i=$((i + 1))
	done
} >"$tmp/day.csv"

want='1 2026-11-20T10:00:00+03:00 sms 79000000301 "ПС 102057522" -> prompt
2 2026-11-20T10:00:30+03:00 sms 79000000301 "11600" -> accepted
3 2026-11-20T10:05:00+03:00 sms 79000000302 "ПС 102057522 11700" -> accepted'
pick() { grep -E '"(ПС 102057522|11600|ПС 102057522 11700)"' "$1" |
	sed -e 's/^[0-9]* //' -e 's/: ".*//' | awk '{ print NR " " $0 }'; }

M replay --config "$tmp/t.conf" --db "$DB" --dry-run "$tmp/day.csv" >"$tmp/dry" 2>/dev/null
expect_eq "dry run" "$(pick "$tmp/dry")" "$want"
M replay --config "$tmp/t.conf" --db "$DB" "$tmp/day.csv" >"$tmp/real" 2>/dev/null
expect_eq "real" "$(pick "$tmp/real")" "$want"
expect_eq "last value" "$(sql "SELECT last_value FROM registers WHERE contract = '102057522'")" 11700

# ---- time bounds: relative to now --------------------------------------
printf '[database]\nconninfo = unused\n[window]\ndays = 1-31\n[intake]\nmax_future_skew = 5m\nmax_age = 7d\n' >"$tmp/b.conf"
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
cat >"$tmp/bounds.csv" <<CSV
time,channel,from,to,text
$(at '+2 hours'),sms,79000000303,7377,ПС 123859 45100 23100
$(at '-30 days'),sms,79000000303,7377,ПС 123859 45200 23200
$(at '-1 day'),sms,79000000304,7377,ПС 345678 10300 8200 5500
$(at '+1 minute'),sms,79000000305,7377,ПС 176354 40 36
CSV
set +e
M replay --config "$tmp/b.conf" --db "$DB" -q "$tmp/bounds.csv" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
expect_eq "exit with refused lines" "$rc" 1
expect_eq "refused lines" "$(grep 'not replayed' "$tmp/err")" "$tmp/bounds.csv:2: the message time is 2 hours ahead of the server's clock (at most 5 minutes allowed); not replayed
$tmp/bounds.csv:3: the message time is 30 days behind the server's clock (at most 7 days allowed); not replayed"
expect_match "summary" "$(cat "$tmp/err")" 'lines refused for their time: 2'
expect_eq "applied" "$(sql "SELECT string_agg(contract, ' ' ORDER BY contract) FROM submissions
  WHERE sender IN ('79000000303', '79000000304', '79000000305')")" "176354 345678"
# --max-age overrides the config: the 30-day-old line goes in
set +e
M replay --config "$tmp/b.conf" --db "$DB" -q --max-age 31d "$tmp/bounds.csv" >/dev/null 2>"$tmp/err"
set -e
expect_eq "--max-age 31d" "$(grep -c 'not replayed' "$tmp/err")" 1
expect_eq "--max-age: the old line" "$(sql "SELECT count(*) FROM submissions WHERE sender = '79000000303'")" 1
set +e
M replay --config "$tmp/b.conf" --db "$DB" --max-age soon "$tmp/bounds.csv" >/dev/null 2>&1; rc=$?
set -e
expect_eq "--max-age soon" "$rc" 2
echo "test_replay_order: ok"
