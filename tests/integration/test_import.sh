#!/bin/sh
# meterline import contracts: the sample file, bad lines, upsert rules,
# standard input.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

db_create itest_import
"$MLINE_BIN" migrate --db "$DB" >/dev/null

# The sample: every line good.
sample=$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv
out=$("$MLINE_BIN" import contracts --db "$DB" "$sample")
expect_match "sample summary" "$out" ': 12 lines: 7 contracts loaded \(7 new, 0 changed\), 12 registers \(12 new or changed, 0 removed\); 0 bad lines, 0 contracts skipped'
expect_eq "registers of 345678" "$(sql "SELECT string_agg(name, '/' ORDER BY position) FROM registers WHERE contract = '345678'")" "пик/полупик/ночь"
expect_eq "closed" "$(sql "SELECT status FROM contracts WHERE contract = '900100'")" closed
expect_eq "new meter" "$(sql "SELECT coalesce(last_value, -1) || ' ' || coalesce(last_date::text, '-') FROM registers WHERE contract = '555001'")" "-1 -"
expect_eq "water" "$(sql "SELECT resource || ' ' || count(*) FROM contracts JOIN registers USING (contract) WHERE contract = '176354' GROUP BY resource")" "cold_water 2"

# Bad lines: each reported as FILE:LINE: why, its contract skipped whole.
cat >"$tmp/bad.csv" <<'CSV'
Contract,Resource,Position,Register,Digits,Last_Value,Last_Date
700001,electricity,1,день,5,100,2026-10-01
700001,electricity,2,ночь,5,123456,2026-10-01
700002,gas,1,x,5,,
12,electricity,1,x,5,,
700003,electricity,7,x,5,,
700004,electricity,1,,5,,
700005,electricity,1,x,3,,
700006,electricity,1,x,5,,2026-02-30
700007,electricity,1,x,5,,2026-10-01
700008,electricity,1,"x,"y",5,,
700009,electricity,1,x,5,,
700009,electricity,1,y,5,,
700010,electricity,1,x,5,,
700010,hot_water,2,y,5,,
700011,electricity,1,x,5,,
700011,electricity,3,y,5,,
700012,electricity,1,x
700013,electricity,1,"quoted, name",5,42,
700014,electricity,1,x,5,,,closed

CSV
set +e
out=$("$MLINE_BIN" import contracts --db "$DB" "$tmp/bad.csv" 2>"$tmp/err")
rc=$?
set -e
expect_eq "partial exit" "$rc" 3
f=$tmp/bad.csv
expect_eq "reports" "$(cat "$tmp/err")" "$f:3: last_value must be a whole number within the digits
$f:4: resource must be electricity, hot_water or cold_water
$f:5: contract must be 4-12 digits
$f:6: position must be 1-6
$f:7: register name is empty
$f:8: digits must be 4-9
$f:9: last_date must be a date YYYY-MM-DD
$f:10: last_date without last_value
$f:11: text after a closing quote
$f:13: contract 700009: register position 1 again (first on line 12)
$f:15: contract 700010: resource hot_water differs from electricity on line 14
$f:16: contract 700011: register positions must be 1..2 without gaps
$f:18: expected 7 fields
$f:20: expected 7 fields"
expect_match "bad summary" "$out" ': 19 lines: 1 contracts loaded \(1 new, 0 changed\), 1 registers \(1 new or changed, 0 removed\); 14 bad lines, 13 contracts skipped'
expect_eq "only the good one" "$(sql "SELECT string_agg(contract, ',') FROM contracts WHERE contract LIKE '7%'")" 700013
expect_eq "quoted name" "$(sql "SELECT name FROM registers WHERE contract = '700013'")" "quoted, name"
expect_eq "700001 skipped whole" "$(sql "SELECT count(*) FROM registers WHERE contract = '700001'")" 0

# Upsert from stdin: 123859 loses its night register, 345678 closes, a
# newer accepted reading (ours) survives an older billing value.
sql "UPDATE registers SET last_value = 10300, last_date = '2026-11-20' WHERE contract = '345678' AND position = 1"
out=$(printf '%s\n' \
	'contract,resource,position,register,digits,last_value,last_date,status' \
	'123859,electricity,1,день,5,44900,2026-11-01,active' \
	'345678,electricity,1,пик,6,10250,2026-11-01,closed' \
	'345678,electricity,2,полупик,6,8200,2026-11-01,closed' \
	'345678,electricity,3,ночь,6,5500,2026-11-25,closed' |
	"$MLINE_BIN" import contracts --db "$DB" -)
expect_match "stdin summary" "$out" '^<stdin>: 4 lines: 2 contracts loaded \(0 new, 1 changed\), 4 registers \(3 new or changed, 1 removed\); 0 bad lines'
expect_eq "night removed" "$(sql "SELECT count(*) FROM registers WHERE contract = '123859'")" 1
expect_eq "billing newer" "$(sql "SELECT last_value FROM registers WHERE contract = '123859'")" 44900
expect_eq "ours newer kept" "$(sql "SELECT last_value || ' ' || last_date FROM registers WHERE contract = '345678' AND position = 1")" "10300 2026-11-20"
expect_eq "billing newer 2" "$(sql "SELECT last_value FROM registers WHERE contract = '345678' AND position = 3")" 5500
expect_eq "status updated" "$(sql "SELECT status FROM contracts WHERE contract = '345678'")" closed
expect_eq "untouched" "$(sql "SELECT count(*) FROM registers WHERE contract = '176354'")" 2

# Errors that load nothing.
printf 'a,b,c\n1,2,3\n' >"$tmp/hdr.csv"
set +e
"$MLINE_BIN" import contracts --db "$DB" "$tmp/hdr.csv" 2>"$tmp/err"; rc=$?
set -e
expect_eq "bad header exit" "$rc" 1
expect_match "bad header" "$(cat "$tmp/err")" 'hdr.csv:1: header must be'
set +e
"$MLINE_BIN" import contracts --db "$DB" "$tmp/missing.csv" 2>/dev/null; rc=$?
"$MLINE_BIN" import wrong "$sample" 2>/dev/null; rc2=$?
set -e
expect_eq "missing file" "$rc" 1
expect_eq "usage" "$rc2" 2

# Names shown to staff: no C1 control, bidi control or line separator.
{
	echo 'contract,resource,position,register,digits,last_value,last_date'
	printf '800001,electricity,1,\342\200\256night,5,,\n'
	printf '800002,electricity,1,a\302\205b,5,,\n'
	printf '800003,electricity,1,x\342\201\246y,5,,\n'
	printf '800004,electricity,1,p\342\200\250q,5,,\n'
	printf '800005,electricity,1,a\tb,5,,\n'
	printf '800006,electricity,1,ok \342\200\224 dash,5,,\n'
} >"$tmp/bidi.csv"
set +e
"$MLINE_BIN" import contracts --db "$DB" "$tmp/bidi.csv" >/dev/null 2>"$tmp/err"; rc=$?
set -e
f=$tmp/bidi.csv
expect_eq "bidi exit" "$rc" 3
expect_eq "bidi reports" "$(cat "$tmp/err")" "$f:2: bidi or line separator character U+202E in register name
$f:3: control character U+0085 in register name
$f:4: bidi or line separator character U+2066 in register name
$f:5: bidi or line separator character U+2028 in register name
$f:6: control character U+0009 in register name"
expect_eq "only the dash" "$(sql "SELECT string_agg(contract, ',') FROM contracts WHERE contract LIKE '8000%'")" 800006

# export-log escapes them in its JSON: the same text to a parser, inert on
# a terminal.
sql "INSERT INTO messages (id, received_at, channel, sender, recipient, text, outcome, dedupe_key)
     VALUES (1, now(), 'sms', '79000000001', '1234',
       E'ПС \\u202E1\\u0085\\u2066 \\\\x', 'help', 1)"
out=$("$MLINE_BIN" export-log --db "$DB")
expect_match "export escaped" "$out" '"text":"ПС \\u202e1\\u0085\\u2066 \\\\x"'
if printf '%s' "$out" | grep -q "$(printf '\342\200\256')"; then
	fail "export-log wrote a raw U+202E"
fi
echo ok
