#!/bin/sh
# meterline replay and export-log against a real database: interleaved
# dialogs of several senders and channels (file not in time order), the
# window by the message's own time, malformed lines, JSON Lines and CSV,
# the same file twice (nothing changes), replies only with --send-replies,
# and a round trip export-log -> replay into an empty database.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sample=$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv
# fixed dates in the past: no [intake] max_age
printf '[database]\nconninfo = unused\n[intake]\nmax_age = 0\n' >"$tmp/t.conf"
M() { "$MLINE_BIN" "$@"; }

# fresh NAME: a migrated database with the sample contracts, DB set.
fresh() {
	db_create "$1"
	M migrate --db "$DB" >/dev/null
	M import contracts --db "$DB" "$sample" >/dev/null
}

# Everything a replay may change, without times of writing and ids.
snapshot() {
	sql "SELECT md5(string_agg(t, E'\n' ORDER BY t)) FROM (
	  SELECT 'm ' || concat_ws('|', received_at, channel, sender, recipient, text,
	    external_id, contract, outcome, reason, flags, reply, advanced) AS t FROM messages
	  UNION ALL SELECT 'i ' || concat_ws('|', channel, external_id, message_id) FROM message_ids
	  UNION ALL SELECT 'd ' || concat_ws('|', channel, sender, contract, next, vals) FROM dialogs
	  UNION ALL SELECT 's ' || concat_ws('|', message_id, contract, submitted_at, status) FROM submissions
	  UNION ALL SELECT 'r ' || concat_ws('|', contract, position, value, previous, consumption, status) FROM readings
	  UNION ALL SELECT 'g ' || concat_ws('|', contract, position, last_value, last_date) FROM registers
	  UNION ALL SELECT 'o ' || concat_ws('|', message_id, recipient, text) FROM outbox) AS x"
}

readings() {
	sql "SELECT string_agg(concat_ws(':', contract, position, value, previous,
	  consumption, status), ' ' ORDER BY contract, position) FROM readings"
}

# ---- interleaved dialogs, JSON Lines, not in time order ----------------
cat >"$tmp/log.jsonl" <<'JSON'
{"time":"2026-11-20T12:02:00+03:00","channel":"sms","from":"79000000002","to":"7377","text":"45055"}
{"time":"2026-11-20T12:00:00+03:00","channel":"sms","from":"79000000002","to":"7377","text":"ПС 123859"}
{"time":"2026-11-20T09:01:00Z","channel":"viber","from":"v-2","to":"7377","text":"ПС 345678","id":"vb-1"}
{"time":"2026-11-20T12:04:00+03:00","channel":"sms","from":"79000000002","to":"7377","text":"23186"}
not json at all
{"time":"2026-11-20T12:03:00+03:00","channel":"viber","from":"v-2","to":"7377","text":"10300","id":"vb-2"}
{"time":"2026-11-20T12:05:00+03:00","channel":"viber","from":"v-2","to":"7377","text":"8200","id":"vb-3"}
{"channel":"sms","from":"79000000009","to":"7377","text":"x"}

{"time":"2026-11-20T12:06:00.250+03:00","channel":"viber","from":"v-2","to":"7377","text":"5500","id":"vb-4"}
{"time":"2026-11-20T12:01:00+03:00","channel":"sms","from":"79000000004","to":"7377","text":"ПС 102057522 11638"}
{"time":"2026-11-20T12:02:30+03:00","channel":"telegram","from":"t-4","text":"ПС 176355","id":7}
{"time":"2026-11-20T12:03:30+03:00","channel":"telegram","from":"t-4","text":"20","id":8}
{"time":"2026-11-20T12:07:00+03:00","channel":"telegram","from":"t-4","text":"17","id":9}
{"time":"2026-11-26T10:00:00+03:00","channel":"sms","from":"79000000005","to":"7377","text":"ПС 176354 40 37"}
{"time":"20 Nov 2026","channel":"sms","from":"79000000009","to":"7377","text":"x"}
{"time":"2026-11-20T12:00:00+03:00","channel":"sms","from":"79000000009","to":"7377","text":5}
JSON
fresh itest_replay
DB1=$DB
set +e
M replay --config "$tmp/t.conf" --db "$DB" "$tmp/log.jsonl" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
expect_eq "exit with malformed lines" "$rc" 1
f=$tmp/log.jsonl
expect_eq "malformed lines" "$(cat "$tmp/err")" "$f:5: not a JSON object: '[' or '{' expected near 'not'
$f:8: time is missing
$f:16: time must be RFC 3339 with an offset, e.g. 2026-11-24T12:30:00+03:00
$f:17: text must be a string"
cat >"$tmp/want" <<'OUT'
1 2026-11-20T12:00:00+03:00 sms 79000000002 "ПС 123859" -> prompt: "Договор 123859. Введите показания: день"
2 2026-11-20T12:01:00+03:00 viber v-2 "ПС 345678" -> prompt: "Договор 345678. Введите показания: пик"
3 2026-11-20T12:01:00+03:00 sms 79000000004 "ПС 102057522 11638" -> accepted: "Показания приняты. Спасибо."
4 2026-11-20T12:02:00+03:00 sms 79000000002 "45055" -> prompt: "Договор 123859. Введите показания: ночь"
5 2026-11-20T12:02:30+03:00 telegram t-4 "ПС 176355" -> prompt: "Договор 176355. Введите показания: кухня"
6 2026-11-20T12:03:00+03:00 viber v-2 "10300" -> prompt: "Договор 345678. Введите показания: полупик"
7 2026-11-20T12:03:30+03:00 telegram t-4 "20" -> prompt: "Договор 176355. Введите показания: ванная"
8 2026-11-20T12:04:00+03:00 sms 79000000002 "23186" -> accepted: "Показания приняты. Спасибо."
9 2026-11-20T12:05:00+03:00 viber v-2 "8200" -> prompt: "Договор 345678. Введите показания: ночь"
10 2026-11-20T12:06:00.250000+03:00 viber v-2 "5500" -> accepted: "Показания приняты. Спасибо."
11 2026-11-20T12:07:00+03:00 telegram t-4 "17" -> accepted: "Показания приняты. Спасибо."
12 2026-11-26T10:00:00+03:00 sms 79000000005 "ПС 176354 40 37" -> rejected (outside_window): "Показания не приняты: приём с 18 по 25 число. Следующий — с 18.12"
summary: 12 messages
  accepted            4
  prompt              7
  rejected            1  (outside_window 1)
  malformed lines skipped: 4
OUT
sed 's/^summary: \([0-9]* messages\) in .*/summary: \1/' "$tmp/out" >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" || fail "replay output differs"
want_readings="102057522:1:11638:11500:138:accepted 123859:1:45055:44800:255:accepted 123859:2:23186:23010:176:accepted 176355:1:20:18:2:accepted 176355:2:17:15:2:accepted 345678:1:10300:10200:100:accepted 345678:2:8200:8100:100:accepted 345678:3:5500:5400:100:accepted"
expect_eq "readings" "$(readings)" "$want_readings"
expect_eq "no dialog left" "$(sql "SELECT count(*) FROM dialogs")" 0
expect_eq "nothing sent" "$(sql "SELECT count(*) FROM outbox")" 0
expect_eq "original times" "$(sql "SELECT received_at AT TIME ZONE 'UTC' FROM messages WHERE external_id = 'vb-4'")" "2026-11-20 09:06:00.25"
expect_eq "ids: given and stable" "$(sql "SELECT count(*) FILTER (WHERE external_id LIKE 'stable:%') || ' ' || count(*) FROM message_ids")" "5 12"

M export-log --config "$tmp/t.conf" --db "$DB1" >"$tmp/export.jsonl"

# ---- the same file again: all duplicates, nothing changes ---------------
before=$(snapshot)
set +e
M replay --config "$tmp/t.conf" --db "$DB" --json "$tmp/log.jsonl" >"$tmp/out2" 2>"$tmp/err2"
rc=$?
set -e
expect_eq "second exit" "$rc" 1
expect_eq "second: all duplicates" "$(grep -c '"outcome":"duplicate"' "$tmp/out2")" 12
expect_match "json line" "$(sed -n 12p "$tmp/out2")" '^\{"n":12,"time":"2026-11-26T10:00:00\+03:00","channel":"sms","from":"79000000005","text":"ПС 176354 40 37","outcome":"duplicate","reason":"rejected","reply":"Показания не приняты: приём с 18 по 25 число. Следующий — с 18.12"\}$'
expect_match "summary on stderr with --json" "$(cat "$tmp/err2")" '  duplicate +12  \(accepted 4, prompt 7, rejected 1\)'
expect_eq "second: tables unchanged" "$(snapshot)" "$before"

# ---- CSV: quoting, an id column, standard input ------------------------
fresh itest_replay_csv
printf '%s\r\n' 'time,channel,from,to,text,id' \
  '2026-11-21T10:00:00+03:00,sms,79000000011,7377,"ПС 345678 10250 8150 5450",c-1' \
  '2026-11-21T10:00:30+03:00,sms,79000000017,7377,"a, b",c-0' \
  '2026-11-21T10:01:00+03:00,sms,79000000012,7377,"say ""hi""",c-2' \
  '2026-11-21T10:02:00+03:00,sms,79000000013,7377,"two' 'lines",c-3' \
  '2026-11-21T10:03:00+03:00,sms,79000000014,7377,x"y,c-4' \
  '2026-11-21T10:04:00+03:00,sms,79000000015,7377,only five' \
  '2026-11-21T10:05:00+03:00,sms,79000000016,7377,"ПС 102057522 11600",' >"$tmp/log.csv"
set +e
M replay --config "$tmp/t.conf" --db "$DB" --format csv --json - <"$tmp/log.csv" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
expect_eq "csv exit" "$rc" 1
expect_eq "csv malformed" "$(grep '^<stdin>' "$tmp/err")" "<stdin>:7: a quote inside an unquoted field
<stdin>:8: expected 6 fields"
expect_eq "csv results" "$(sed 's/.*"text":\("[^"]*\(\\"[^"]*\)*"\),"outcome":"\([a-z_]*\)","reason":"*\([a-z_]*\).*/\1 \3 \4/' "$tmp/out")" '"ПС 345678 10250 8150 5450" accepted null
"a, b" rejected bad_format
"say \"hi\"" rejected bad_format
"two\nlines" rejected bad_format
"ПС 102057522 11600" accepted null'
expect_eq "csv ids" "$(sql "SELECT string_agg(CASE WHEN external_id LIKE 'stable:%' THEN 'stable' ELSE external_id END, ' ' ORDER BY received_at) FROM messages")" "c-1 c-0 c-2 c-3 stable"
expect_eq "csv text kept" "$(sql "SELECT text FROM messages WHERE external_id = 'c-3'")" "two
lines"

# ---- replies only when asked --------------------------------------------
fresh itest_replay_send
M replay --config "$tmp/t.conf" --db "$DB" -q --send-replies "$tmp/log.csv" >/dev/null 2>&1 || true
expect_eq "replies queued" "$(sql "SELECT count(*) FROM outbox")" 5

# ---- round trip: export-log -> replay into an empty database ------------
expect_eq "export: every message" "$(wc -l <"$tmp/export.jsonl")" 12
expect_match "export line" "$(grep '"vb-4"' "$tmp/export.jsonl")" '^\{"id":"vb-4","time":"2026-11-20T12:06:00.250000\+03:00","channel":"viber","from":"v-2","to":"7377","text":"5500","outcome":"accepted","reason":null,"reply":"Показания приняты. Спасибо.","contract":"345678","values":\[10300,8200,5500\],"status":"accepted","delivery":null,"receipt":null\}$'
expect_eq "export --since/--until/--channel" "$(M export-log --config "$tmp/t.conf" --db "$DB1" --since 2026-11-20T12:02:00+03:00 --until 2026-11-21 --channel sms | grep -vc duplicate)" 2
fresh itest_replay_rt
M replay --config "$tmp/t.conf" --db "$DB" -q "$tmp/export.jsonl" 2>/dev/null
expect_eq "round trip readings" "$(readings)" "$want_readings"
M export-log --config "$tmp/t.conf" --db "$DB" | sed 's/,"outcome".*//' >"$tmp/export2"
sed 's/,"outcome".*//' "$tmp/export.jsonl" | sort >"$tmp/export1s"
sort "$tmp/export2" >"$tmp/export2s"
diff -u "$tmp/export1s" "$tmp/export2s" || fail "round trip: the logs differ"

# ---- usage and connection errors: 2 -------------------------------------
set +e
M replay --db "$DB" >/dev/null 2>&1; rc1=$?
M replay --config "$tmp/t.conf" --db "host=$tmp port=1 dbname=none" "$tmp/log.csv" >/dev/null 2>&1; rc2=$?
M replay --config "$tmp/t.conf" --db "$DB" "$tmp/missing.csv" >/dev/null 2>&1; rc3=$?
set -e
expect_eq "usage exits" "$rc1 $rc2 $rc3" "2 2 2"
echo "test_replay: ok"
