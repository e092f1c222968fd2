#!/bin/sh
# `meterline import houses` and `meterline user add --houses` (issue 18,
# docs/house-entry.md): counts, bad lines with their reasons and the exit
# status, re-import (no new houses), a manager's set of houses replaced,
# refusals (unknown house, not a manager, malformed list).
set -eu
. "$MLINE_SOURCE_DIR/tests/integration/lib.sh"
work=$MLINE_WORK/house_cli
rm -rf "$work"
mkdir -p "$work"
db_create browser_house_cli
M() { "$MLINE_BIN" "$@"; }
# every command names this config (never /etc/meterline's)
printf '[database]\nconninfo = %s\n' "$DB" >"$work/t.conf"
M migrate --config "$work/t.conf" >/dev/null 2>&1
cat >"$work/contracts.csv" <<CSV
contract,resource,position,register,digits,last_value,last_date
70000001,electricity,1,день,6,100,2026-11-01
70000001,electricity,2,ночь,6,50,2026-11-01
70000002,cold_water,1,ХВС,5,10,2026-11-01
70000003,hot_water,1,ГВС,5,10,2026-11-01
CSV
M import contracts --config "$work/t.conf" "$work/contracts.csv" >/dev/null
cat >"$work/houses.csv" <<CSV
Contract, City, Street, Number, Apartment, Serials
70000001,Новосибирск,Ленина ул.,12,1,AB-123;456
70000002,Новосибирск,Ленина ул.,12,2,777
70000003,Новосибирск,Мира ул.,3а,,
70000009,Новосибирск,Мира ул.,3а,5,1
12x,Новосибирск,Мира ул.,3а,5,1
70000002,Новосибирск,Мира ул.,3а,6,1
70000003,Новосибирск,,3а,6,1
70000003,Новосибирск,Мира ул.,3а,6,1 2 3 4 5 6 7
70000003,Новосибирск,Мира "ул.",3а,6,1
70000003,Новосибирск,Мира ул.,3а
CSV
# two more: a byte that is no UTF-8 (PostgreSQL would refuse the whole
# COPY for it) and a right-to-left override
printf '70000003,\320,x,1,,\n70000003,Нск,Мира\342\200\256,1,,\n' >>"$work/houses.csv"
rc=0
M import houses --config "$work/t.conf" "$work/houses.csv" >"$work/out" 2>"$work/err" || rc=$?
expect_eq "exit status with bad lines" "$rc" 3
expect_match "summary" "$(cat "$work/out")" \
	'12 lines: 2 houses \(2 new\), 3 contracts placed, 3 serials; 9 bad lines'
expect_match "unknown contract" "$(cat "$work/err")" ':5: contract 70000009 is not imported'
expect_match "not digits" "$(cat "$work/err")" ':6: contract is not 4..12 digits'
expect_match "twice" "$(cat "$work/err")" ':7: contract 70000002 is on an earlier line'
expect_match "empty street" "$(cat "$work/err")" ':8: city, street and number must not be empty'
expect_match "too many serials" "$(cat "$work/err")" ':9: more serials than a contract has registers'
expect_match "quotes" "$(cat "$work/err")" ':10: quotes, tabs and backslashes'
expect_match "fields" "$(cat "$work/err")" ':11: want 6 fields'
expect_match "not UTF-8" "$(cat "$work/err")" ':12: a field is not valid UTF-8'
expect_match "bidi" "$(cat "$work/err")" ':13: a field has a control, bidi'
expect_eq "house and apartment" \
	"$(sql "SELECT h.street || ' ' || h.number || '/' || c.apartment FROM contracts c JOIN houses h ON h.id = c.house_id WHERE contract = '70000002'")" \
	"Ленина ул. 12/2"
expect_eq "serials by position" \
	"$(sql "SELECT string_agg(serial, ',' ORDER BY position) FROM registers WHERE contract = '70000001'")" \
	"AB-123,456"
expect_eq "no apartment: NULL" "$(sql "SELECT apartment IS NULL FROM contracts WHERE contract = '70000003'")" t
rc=0
M import houses --config "$work/t.conf" - <<CSV >"$work/out2" 2>&1 || rc=$?
contract,city,street,number,apartment,serials
70000003,Новосибирск,Ленина ул.,12,3,999
CSV
expect_eq "re-import exit" "$rc" 0
expect_match "re-import: no new house" "$(cat "$work/out2")" '1 houses \(0 new\), 1 contracts placed, 1 serials'
rc=0
printf 'x,y\n' | M import houses --config "$work/t.conf" - >/dev/null 2>"$work/err3" || rc=$?
expect_eq "bad header" "$rc" 1
expect_match "bad header says" "$(cat "$work/err3")" 'want the header'

lenina=$(sql "SELECT id FROM houses WHERE street = 'Ленина ул.'")
mira=$(sql "SELECT id FROM houses WHERE street = 'Мира ул.'")
printf 'manager-password-9\n' | M user add kozlov --role manager --houses "$lenina,$mira" --config "$work/t.conf" >/dev/null
expect_eq "two houses" "$(sql "SELECT count(*) FROM manager_houses WHERE username = 'kozlov'")" 2
printf 'manager-password-9\n' | M user add kozlov --role manager --update --houses "$mira" --config "$work/t.conf" >/dev/null
expect_eq "replaced by one" "$(sql "SELECT string_agg(house_id::text, ',') FROM manager_houses WHERE username = 'kozlov'")" "$mira"
expect_eq "audited" "$(sql "SELECT count(*) FROM console_audit WHERE action = 'user.houses'")" 2
rc=0
printf 'manager-password-9\n' | M user add kozlov --role manager --update --houses "$mira,999" --config "$work/t.conf" >/dev/null 2>"$work/err4" || rc=$?
expect_eq "unknown house refused" "$rc" 1
expect_match "unknown house says" "$(cat "$work/err4")" 'no manager or a house id is unknown'
expect_eq "unknown house: set unchanged" "$(sql "SELECT string_agg(house_id::text, ',') FROM manager_houses WHERE username = 'kozlov'")" "$mira"
rc=0
printf 'support-password-9\n' | M user add ivanova --role support --houses "$mira" --config "$work/t.conf" >/dev/null 2>&1 || rc=$?
expect_eq "support gets no houses" "$rc" 1
expect_eq "support: none" "$(sql "SELECT count(*) FROM manager_houses WHERE username = 'ivanova'")" 0
rc=0
printf 'manager-password-9\n' | M user add kozlov --role manager --update --houses "1,,2" --config "$work/t.conf" >/dev/null 2>&1 || rc=$?
expect_eq "malformed list" "$rc" 1
echo "ok: import houses and user add --houses"
