#!/bin/sh
# meterline import phones: bindings from billing, bad lines, normalised
# phones, repeat imports, standard input (issue 17).
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

db_create itest_import_phones
"$MLINE_BIN" migrate --db "$DB" >/dev/null
"$MLINE_BIN" import contracts --db "$DB" \
	"$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null

cat >"$tmp/phones.csv" <<'CSV'
Contract,Phone
102057522,79120000001
123859,+7 (912) 000-00-02
123859,89120000003
102057522,79120000001
CSV
out=$("$MLINE_BIN" import phones --db "$DB" "$tmp/phones.csv")
expect_match "summary" "$out" ': 4 lines: 3 bindings loaded \(3 new\); 0 bad lines'
expect_eq "normalised" "$(sql "SELECT string_agg(phone || '=' || contract, ' ' ORDER BY phone) FROM bindings")" \
	"79120000001=102057522 79120000002=123859 79120000003=123859"

# Bad lines: reported as FILE:LINE: why, the rest loaded; exit 3.
cat >"$tmp/bad.csv" <<'CSV'
contract,phone
12,79120000004
123859,7912abc
999999,79120000005
123859
123859,79120000006,x
345678,79120000007
CSV
set +e
"$MLINE_BIN" import phones --db "$DB" "$tmp/bad.csv" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
expect_eq "exit partial" "$rc" 3
expect_match "bad contract" "$(cat "$tmp/err")" "bad.csv:2: contract is not 4..12 digits"
expect_match "bad phone" "$(cat "$tmp/err")" "bad.csv:3: phone is not"
expect_match "unknown contract" "$(cat "$tmp/err")" "bad.csv:4: contract 999999 is not imported"
expect_match "one field" "$(cat "$tmp/err")" "bad.csv:5: want 2 fields"
expect_match "three fields" "$(cat "$tmp/err")" "bad.csv:6: want 2 fields"
expect_match "bad summary" "$(cat "$tmp/out")" ': 6 lines: 1 bindings loaded \(1 new\); 5 bad lines'
expect_eq "count" "$(sql "SELECT count(*) FROM bindings")" 4

# Again from stdin: nothing new; bindings not in the file stay.
out=$(printf 'contract,phone\n123859,79120000002\n' | "$MLINE_BIN" import phones --db "$DB" -)
expect_match "stdin" "$out" '<stdin>: 1 lines: 1 bindings loaded \(0 new\)'
expect_eq "kept" "$(sql "SELECT count(*) FROM bindings")" 4

# A bad header loads nothing.
printf 'phone,contract\n79120000009,123859\n' >"$tmp/hdr.csv"
if "$MLINE_BIN" import phones --db "$DB" "$tmp/hdr.csv" 2>"$tmp/err"; then
	fail "bad header accepted"
fi
expect_match "header" "$(cat "$tmp/err")" "want the header contract,phone"
expect_eq "nothing" "$(sql "SELECT count(*) FROM bindings")" 4
echo ok
