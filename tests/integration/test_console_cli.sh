#!/bin/sh
# The console's command-line tools against a real database: meterline user
# add (stdin, checks, --update, audit, argon2id only), token add (printed
# once, stored as SHA-256), export readings (CSV golden, JSON Lines with
# T1/T2/T3, --status, the period by local date, usage errors).
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
M() { "$MLINE_BIN" "$@"; }

db_create itest_console_cli
printf '[database]\nconninfo = %s\n' "$DB" >"$tmp/t.conf"
M migrate --db "$DB" >/dev/null 2>&1
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null
M replay --max-age 0 --config "$tmp/t.conf" "$MLINE_SOURCE_DIR/tests/browser/seed.jsonl" >/dev/null

# ---- user add -----------------------------------------------------------
out=$(printf 'a-long-password\n' | M user add ivanova --role support --config "$tmp/t.conf")
expect_eq "user add" "$out" "user ivanova (support) saved"
expect_match "argon2id hash" "$(sql "SELECT pwhash FROM console_users WHERE name = 'ivanova'")" '^\$argon2id\$v=19\$m=65536,t=2,p=1\$'
expect_eq "no password anywhere" "$(sql "SELECT count(*) FROM console_users WHERE pwhash LIKE '%a-long-password%'")" 0
set +e
printf 'a-long-password\n' | M user add ivanova --role support --config "$tmp/t.conf" 2>"$tmp/err"; rc=$?
set -e
expect_eq "existing user refused" "$rc" 1
expect_match "says so" "$(cat "$tmp/err")" "exists \(--update changes it\)"
printf 'another-password\n' | M user add ivanova --role manager --update --config "$tmp/t.conf" >/dev/null
expect_eq "--update changes the role" "$(sql "SELECT role FROM console_users WHERE name = 'ivanova'")" manager
expect_eq "audit" "$(sql "SELECT string_agg(action || ' ' || object || ' ' || (after->>'role'), ';' ORDER BY id) FROM console_audit")" \
	"user.add user ivanova support;user.update user ivanova manager"
expect_match "actor" "$(sql "SELECT DISTINCT actor FROM console_audit")" '^cli:'
for bad in "short|support|10 to 1024" "x|boss|role: admin" "Bad.Name|admin|name: 1-64"; do
	pw=${bad%%|*}; rest=${bad#*|}; role=${rest%%|*}; why=${rest#*|}
	[ "$pw" = x ] && pw=long-enough-password
	name=petrov; [ "$pw" = Bad.Name ] && { name=Bad.Name; pw=long-enough-password; }
	set +e
	printf '%s\n' "$pw" | M user add "$name" --role "$role" --config "$tmp/t.conf" 2>"$tmp/err"; rc=$?
	set -e
	expect_eq "refused: $why" "$rc" 1
	expect_match "message: $why" "$(cat "$tmp/err")" "$why"
done
set +e
M user add petrov --config "$tmp/t.conf" </dev/null 2>/dev/null; rc=$?
set -e
expect_eq "no --role: usage" "$rc" 2
set +e
M user add petrov --role admin --config "$tmp/t.conf" </dev/null 2>"$tmp/err"; rc=$?
set -e
expect_eq "no password on stdin" "$rc" 1

# ---- token add ------------------------------------------------------------
tok=$(M token add billing --config "$tmp/t.conf")
expect_match "64 hex digits" "$tok" '^[0-9a-f]{64}$'
expect_eq "stored as its SHA-256 only" \
	"$(sql "SELECT token_hash = sha256('$tok'::bytea) FROM api_tokens WHERE name = 'billing'")" t
set +e
M token add billing --config "$tmp/t.conf" >/dev/null 2>&1; rc=$?
set -e
expect_eq "a name twice" "$rc" 1

# ---- export readings --------------------------------------------------------
M export readings --period 2026-11 --config "$tmp/t.conf" >"$tmp/nov.csv" 2>"$tmp/err"
cat >"$tmp/want.csv" <<'CSV'
contract,resource,position,register,tariff,value,previous,consumption,date,time,channel,status,flags,id,submission
"102057522","electricity","1","показания","T1","11638","11500","138","2026-11-20","2026-11-20T12:00:00+03:00","sms","accepted","","1","1"
"176354","cold_water","1","кухня","T1","40","38","2","2026-11-23","2026-11-23T11:00:00+03:00","sms","accepted","","5","3"
"176354","cold_water","2","ванная","T1","37","35","2","2026-11-23","2026-11-23T11:00:00+03:00","sms","accepted","","6","3"
"345678","electricity","1","пик","T1","10300","10200","100","2026-11-22","2026-11-22T11:00:00+03:00","viber","accepted","","2","2"
"345678","electricity","2","полупик","T3","8200","8100","100","2026-11-22","2026-11-22T11:00:00+03:00","viber","accepted","","3","2"
"345678","electricity","3","ночь","T2","5500","5400","100","2026-11-22","2026-11-22T11:00:00+03:00","viber","accepted","","4","2"
CSV
tr -d '\r' <"$tmp/nov.csv" >"$tmp/got.csv"
cmp "$tmp/got.csv" "$tmp/want.csv" || { diff "$tmp/got.csv" "$tmp/want.csv" >&2; fail "CSV export"; }
expect_eq "CRLF lines" "$(grep -c "$(printf '\r')\$" "$tmp/nov.csv")" 7
expect_eq "count on stderr" "$(cat "$tmp/err")" "6 readings"

# a correction shows up as a corrected row; the superseded one is left out
sql "SELECT console_correct('102057522', 1, 11700, 'test', NULL, 'typo')" >/dev/null
M export readings --period 2026-11 --format json --config "$tmp/t.conf" 2>/dev/null >"$tmp/nov.json"
expect_eq "json rows" "$(wc -l <"$tmp/nov.json")" 6
expect_eq "corrected row" "$(jq -c 'select(.contract == "102057522") | [.status, .value, .consumption, .MeteringValueT1]' "$tmp/nov.json")" '["corrected",11700,200,"11700"]'
expect_eq "T3 of полупик" "$(jq -r 'select(.register == "полупик") | .MeteringValueT3' "$tmp/nov.json")" 8200
M export readings --period 2026-11 --format json --status review --config "$tmp/t.conf" 2>/dev/null >"$tmp/rev.json"
expect_eq "--status review" "$(jq -c '[.contract, .position, .flags]' "$tmp/rev.json" | tr '\n' ' ')" \
	'["123859",1,["high_consumption"]] ["123859",2,["high_consumption"]] '
M export readings --period 2026-10 --config "$tmp/t.conf" >"$tmp/oct.csv" 2>/dev/null
expect_eq "another month: header only" "$(wc -l <"$tmp/oct.csv")" 1
for args in "--period 2026-13" "--period 26-11" "" "--period 2026-11 --status accepted,bogus" "--period 2026-11 --format xml"; do
	set +e
	# shellcheck disable=SC2086
	M export readings $args --config "$tmp/t.conf" >/dev/null 2>&1; rc=$?
	set -e
	expect_eq "usage error: '$args'" "$rc" 2
done
echo "PASS test_console_cli"
