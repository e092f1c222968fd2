#!/bin/sh
# meterline import contracts with the optional serial column (issue 17,
# [verify] mode = challenge): per register, in either order with status,
# left off at the end of a line, checked, cleared by an empty cell, kept
# by a file without the column.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

db_create itest_import_serial
"$MLINE_BIN" migrate --db "$DB" >/dev/null
serials() { sql "SELECT string_agg(contract || '/' || position || '=' || coalesce(serial, '-'), ' ' ORDER BY contract, position) FROM registers"; }

cat >"$tmp/a.csv" <<'CSV'
contract,resource,position,register,digits,last_value,last_date,serial,status
123859,electricity,1,день,5,45000,2026-10-20,CE6803 №01234567
123859,electricity,2,ночь,5,23000,2026-10-20,CE6803 №01234567,active
176354,cold_water,1,кухня,5,40,,"ВК-77,8899"
176354,cold_water,2,ванная,5,30,,
555001,electricity,1,Т1,6,,
CSV
out=$("$MLINE_BIN" import contracts --db "$DB" "$tmp/a.csv")
expect_match "summary" "$out" '3 contracts loaded \(3 new, 0 changed\), 5 registers'
expect_eq "stored" "$(serials)" "123859/1=CE6803 №01234567 123859/2=CE6803 №01234567 176354/1=ВК-77,8899 176354/2=- 555001/1=-"

# status first, then serial; an empty cell clears, a changed one replaces
cat >"$tmp/b.csv" <<'CSV'
contract,resource,position,register,digits,last_value,last_date,status,serial
123859,electricity,1,день,5,45000,2026-10-20,active,
123859,electricity,2,ночь,5,23000,2026-10-20,active,CE6803 №07654321
CSV
out=$("$MLINE_BIN" import contracts --db "$DB" "$tmp/b.csv")
expect_match "changed" "$out" '2 registers \(2 new or changed, 0 removed\)'
expect_eq "replaced" "$(serials)" "123859/1=- 123859/2=CE6803 №07654321 176354/1=ВК-77,8899 176354/2=- 555001/1=-"

# the same again changes nothing
out=$("$MLINE_BIN" import contracts --db "$DB" "$tmp/b.csv")
expect_match "unchanged" "$out" '2 registers \(0 new or changed, 0 removed\)'

# a file without the column keeps the serials
cat >"$tmp/c.csv" <<'CSV'
contract,resource,position,register,digits,last_value,last_date
176354,cold_water,1,кухня,5,41,2026-10-21
176354,cold_water,2,ванная,5,31,2026-10-21
CSV
"$MLINE_BIN" import contracts --db "$DB" "$tmp/c.csv" >/dev/null
expect_eq "kept" "$(serials)" "123859/1=- 123859/2=CE6803 №07654321 176354/1=ВК-77,8899 176354/2=- 555001/1=-"

# bad serials and headers
printf 'contract,resource,position,register,digits,last_value,last_date,serial\n700001,electricity,1,x,5,,,0123456789012345678901234567890123\n700002,electricity,1,x,5,,,"a\tb"\n700003,electricity,1,x,5,,,ok,extra\n' >"$tmp/bad.csv"
set +e
"$MLINE_BIN" import contracts --db "$DB" "$tmp/bad.csv" >/dev/null 2>"$tmp/err"
rc=$?
set -e
f=$tmp/bad.csv
expect_eq "partial exit" "$rc" 3
expect_eq "reports" "$(cat "$tmp/err")" "$f:2: serial longer than 32 bytes
$f:3: control character U+0009 in serial
$f:4: expected 7 or 8 fields"
for h in 'contract,resource,position,register,digits,last_value,last_date,serial,serial' \
	'contract,resource,position,register,digits,last_value,last_date,meter'; do
	printf '%s\n' "$h" >"$tmp/h.csv"
	set +e
	"$MLINE_BIN" import contracts --db "$DB" "$tmp/h.csv" >/dev/null 2>"$tmp/err"
	rc=$?
	set -e
	expect_eq "header $h" "$rc" 1
	expect_match "header why" "$(cat "$tmp/err")" 'header must be contract,resource,position,register,digits,last_value,last_date\[,status\]\[,serial\]'
done
echo "ok"
