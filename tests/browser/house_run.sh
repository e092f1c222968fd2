#!/bin/sh
# One browser scenario of the house manager's page (house.test.js) against
# a fresh database: the sample contracts, a house of 40 apartments (one
# per contract, one register each, 5 digits, last value 10000), a second
# house of 2, a third of 500 for the speed check; managers petrov (house
# 1) and sidorov (house 2). house.test.js starts, kills and restarts
# `meterline serve` itself (the retry scenario stops it mid-send).
#
#   house_run.sh SCENARIO
#
# Environment as run.sh (tests/browser/CMakeLists.txt).
set -eu
scenario=${1:?usage: house_run.sh SCENARIO}
here=$(cd "$(dirname "$0")" && pwd)
. "$MLINE_SOURCE_DIR/tests/integration/lib.sh"

skip() {
	if [ "${CI:-}" = true ]; then fail "$1 and CI=true"; fi
	echo "SKIP: $1" >&2
	exit 77
}
command -v node >/dev/null || skip "no node"
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || skip "no chromium"
[ -d "$here/node_modules/puppeteer-core" ] ||
	skip "no tests/browser/node_modules (npm ci --prefix tests/browser)"

work=$MLINE_WORK/house_$scenario
rm -rf "$work"
mkdir -p "$work" "$MLINE_SHOTS"
db_create "browser_house_$scenario"
M() { "$MLINE_BIN" "$@"; }
# every day is in the window: the tests must not depend on the date;
# every command names this config (never /etc/meterline's, which a
# package installed on the machine may hold)
cat >"$work/serve.conf" <<CONF
[database]
conninfo = $DB
[console]
listen = 127.0.0.1:0
[window]
days = 1-31
[log]
level = info
CONF
M migrate --config "$work/serve.conf" >/dev/null 2>&1
# houses.csv: house 1 = 40 apartments (contracts 50000001..50000040),
# house 2 = 2 apartments (50000101, 50000102), house 3 = 500 apartments
awk 'BEGIN {
	print "contract,resource,position,register,digits,last_value,last_date"
	for (i = 1; i <= 40; i++)
		printf "%d,electricity,1,T1,5,10000,2026-11-01\n", 50000000 + i
	for (i = 1; i <= 2; i++)
		printf "%d,cold_water,1,ХВС,5,200,2026-11-01\n", 50000100 + i
	for (i = 1; i <= 500; i++)
		printf "%d,electricity,1,T1,6,1000,2026-11-01\n", 51000000 + i
}' >"$work/contracts.csv"
awk 'BEGIN {
	print "contract,city,street,number,apartment,serials"
	for (i = 1; i <= 40; i++)
		printf "%d,Новосибирск,Авиастроителей ул.,5,%d,%d\n", 50000000 + i, i, 880000 + i
	for (i = 1; i <= 2; i++)
		printf "%d,Новосибирск,Ленина ул.,12,%d,%d\n", 50000100 + i, i, 990000 + i
	for (i = 1; i <= 500; i++)
		printf "%d,Новосибирск,Большая ул.,250,%d,%d\n", 51000000 + i, i, 770000 + i
}' >"$work/houses.csv"
M import contracts --config "$work/serve.conf" "$work/contracts.csv" >"$work/import.out"
M import houses --config "$work/serve.conf" "$work/houses.csv" >>"$work/import.out"
h1=$(sql "SELECT id FROM houses WHERE street = 'Авиастроителей ул.'")
h2=$(sql "SELECT id FROM houses WHERE street = 'Ленина ул.'")
h3=$(sql "SELECT id FROM houses WHERE street = 'Большая ул.'")
add_user() {
	printf "%s\n" "$2" | M user add "$1" --role manager --houses "$3" \
		--config "$work/serve.conf" >"$work/user-$1.out" 2>&1 ||
		{ cat "$work/user-$1.out" >&2; fail "user add $1"; }
}
add_user petrov manager-password-3 "$h1,$h3"
add_user sidorov manager-password-4 "$h2"

URL= DB="$DB" SHOTS="$MLINE_SHOTS" PSQL="$PSQL" CHROMIUM="$CHROMIUM" \
	MLINE_BIN="$MLINE_BIN" CONF="$work/serve.conf" WORK="$work" \
	H1="$h1" H2="$h2" H3="$h3" \
	node "$here/house.test.js" "$scenario"

# Nothing secret in the service's log.
! grep -E 'password-[0-9]' "$work"/serve*.log ||
	fail "the log holds a password"
