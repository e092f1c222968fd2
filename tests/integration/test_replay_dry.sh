#!/bin/sh
# meterline replay --dry-run: the same code in a transaction that is never
# committed. What each message would do is printed (later messages see what
# earlier ones did), and no table changes; afterwards the real replay does
# exactly what the dry run said. Also with more senders than the server's
# lock table would hold if each kept a lock to the end.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# fixed dates in the past: no [intake] max_age
printf '[database]\nconninfo = unused\n[intake]\nmax_age = 0\n' >"$tmp/t.conf"
M() { "$MLINE_BIN" "$@"; }

# Every table's contents (times of writing included: nothing may move).
snapshot() {
	sql "SELECT md5(string_agg(t, E'\n' ORDER BY t)) FROM (
	  SELECT 'm ' || m::text AS t FROM messages AS m
	  UNION ALL SELECT 'i ' || i::text FROM message_ids AS i
	  UNION ALL SELECT 'd ' || d::text FROM dialogs AS d
	  UNION ALL SELECT 's ' || s::text FROM submissions AS s
	  UNION ALL SELECT 'r ' || r::text FROM readings AS r
	  UNION ALL SELECT 'g ' || g::text FROM registers AS g
	  UNION ALL SELECT 'c ' || c::text FROM contracts AS c
	  UNION ALL SELECT 'o ' || o::text FROM outbox AS o) AS x"
}

db_create itest_replay_dry
M migrate --db "$DB" >/dev/null
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null

# Before: one dialog left open, one reading stored (applied for real).
cat >"$tmp/before.csv" <<'CSV'
time,channel,from,to,text,id
2026-11-20T10:00:00+03:00,sms,79000000002,7377,ПС 123859,a-1
2026-11-20T10:01:00+03:00,sms,79000000001,7377,ПС 102057522 11638,a-2
CSV
M replay --config "$tmp/t.conf" --db "$DB" -q "$tmp/before.csv" 2>/dev/null

# The dry run: the open dialog goes on, a new three-step dialog, a
# duplicate, a value outside the window, replies that would be sent.
cat >"$tmp/log.csv" <<'CSV'
time,channel,from,to,text,id
2026-11-20T10:02:00+03:00,sms,79000000002,7377,45055,b-1
2026-11-20T10:03:00+03:00,sms,79000000002,7377,23186,b-2
2026-11-20T10:01:00+03:00,sms,79000000001,7377,ПС 102057522 11638,a-2
2026-11-21T09:00:00+03:00,viber,v-9,,ПС 345678,b-3
2026-11-21T09:01:00+03:00,viber,v-9,,10300,b-4
2026-11-21T09:02:00+03:00,viber,v-9,,8200,b-5
2026-11-21T09:03:00+03:00,viber,v-9,,5500,b-6
2026-11-21T09:05:00+03:00,sms,79000000001,7377,ПС 102057522 11700,b-7
2026-11-27T09:00:00+03:00,sms,79000000003,7377,ПС 176355 20 17,b-8
CSV
before=$(snapshot)
M replay --config "$tmp/t.conf" --db "$DB" --dry-run --send-replies "$tmp/log.csv" >"$tmp/dry" 2>"$tmp/err" ||
	fail "dry run failed: $(cat "$tmp/err")"
expect_eq "dry run changes nothing" "$(snapshot)" "$before"
cat >"$tmp/want" <<'OUT'
1 2026-11-20T10:01:00+03:00 sms 79000000001 "ПС 102057522 11638" -> duplicate (accepted): "Показания приняты. Спасибо."
2 2026-11-20T10:02:00+03:00 sms 79000000002 "45055" -> prompt: "Договор 123859. Введите показания: ночь"
3 2026-11-20T10:03:00+03:00 sms 79000000002 "23186" -> accepted: "Показания приняты. Спасибо."
4 2026-11-21T09:00:00+03:00 viber v-9 "ПС 345678" -> prompt: "Договор 345678. Введите показания: пик"
5 2026-11-21T09:01:00+03:00 viber v-9 "10300" -> prompt: "Договор 345678. Введите показания: полупик"
6 2026-11-21T09:02:00+03:00 viber v-9 "8200" -> prompt: "Договор 345678. Введите показания: ночь"
7 2026-11-21T09:03:00+03:00 viber v-9 "5500" -> accepted: "Показания приняты. Спасибо."
8 2026-11-21T09:05:00+03:00 sms 79000000001 "ПС 102057522 11700" -> accepted: "Показания исправлены: 11700."
9 2026-11-27T09:00:00+03:00 sms 79000000003 "ПС 176355 20 17" -> rejected (outside_window): "Показания не приняты: приём с 18 по 25 число. Следующий — с 18.12"
summary: 9 messages; dry run: nothing was changed
  accepted            3
  duplicate           1  (accepted 1)
  prompt              4
  rejected            1  (outside_window 1)
OUT
sed 's/^summary: \([0-9]* messages\) in [^;]*/summary: \1/' "$tmp/dry" >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" || fail "dry run output differs"

# For real now: exactly what the dry run said, and the tables change.
M replay --config "$tmp/t.conf" --db "$DB" "$tmp/log.csv" >"$tmp/real" 2>/dev/null
diff -u "$tmp/want" "$(sed 's/^summary: \([0-9]* messages\) in .*/summary: \1; dry run: nothing was changed/' "$tmp/real" >"$tmp/got2"; echo "$tmp/got2")" ||
	fail "the real replay differs from the dry run"
expect_eq "real readings" "$(sql "SELECT string_agg(contract || ':' || position || ':' || value || ':' || previous, ' ' ORDER BY contract, position, value) FROM readings")" "102057522:1:11638:11500 102057522:1:11700:11638 123859:1:45055:44800 123859:2:23186:23010 345678:1:10300:10200 345678:2:8200:8100 345678:3:5500:5400"

# Many senders in one dry run: 20,000 contracts, a two-step dialog each.
awk 'BEGIN { print "contract,resource,position,register,digits,last_value,last_date"
	for (i = 0; i < 20000; i++) printf "%d,electricity,1,r,6,1000,2026-10-20\n", 20000000 + i }' >"$tmp/many.csv"
M import contracts --db "$DB" "$tmp/many.csv" >/dev/null
awk 'BEGIN { print "time,channel,from,to,text"
	for (k = 0; k < 2; k++) for (i = 0; i < 20000; i++)
		printf "2026-11-22T10:%02d:%02d+03:00,sms,795%08d,7377,%s\n", k * 2 + int(i / 1000) * 3, i % 60, i, k ? 1100 : "ПС " (20000000 + i) }' >"$tmp/many_log.csv"
before=$(snapshot)
M replay --config "$tmp/t.conf" --db "$DB" --dry-run -q "$tmp/many_log.csv" 2>"$tmp/err" ||
	fail "big dry run failed: $(cat "$tmp/err")"
expect_match "big dry run: every dialog completes" "$(cat "$tmp/err")" '  accepted +20000$'
expect_match "big dry run: prompts" "$(cat "$tmp/err")" '  prompt +20000$'
expect_eq "big dry run changes nothing" "$(snapshot)" "$before"
echo "test_replay_dry: ok"
