#!/bin/sh
# One browser scenario of the console (console.test.js) against a fresh
# database and a real `meterline serve` with [console] on a free port.
#
#   run.sh SCENARIO
#
# Environment (tests/browser/CMakeLists.txt sets it): MLINE_BIN,
# MLINE_SOURCE_DIR, MLINE_TEST_PGHOST/PGPORT (the fixture's cluster),
# MLINE_SHOTS (screenshots), MLINE_WORK (logs). Skips (77) without node,
# chromium, or tests/browser/node_modules (scripts/deps.sh installs it),
# except with CI=true.
set -eu
scenario=${1:?usage: run.sh SCENARIO}
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

work=$MLINE_WORK/$scenario
rm -rf "$work"
mkdir -p "$work" "$MLINE_SHOTS"
db_create "browser_$scenario"
M() { "$MLINE_BIN" "$@"; }
cat >"$work/serve.conf" <<CONF
[database]
conninfo = $DB
[console]
listen = 127.0.0.1:0
[intake]
; replay from the console (browser.replay): the seed's November lines
max_age = 0
[log]
level = info
CONF
M migrate --db "$DB" >/dev/null 2>&1
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null
M replay --max-age 0 --config "$work/serve.conf" "$here/seed.jsonl" >"$work/replay.out" 2>&1 ||
	{ cat "$work/replay.out" >&2; fail "replay of the seed"; }
# A setup step that fails says which and why (its output is in $work).
add_user() {
	printf '%s\n' "$3" | M user add "$1" --role "$2" --config "$work/serve.conf" \
		>"$work/user-$1.out" 2>&1 || { cat "$work/user-$1.out" >&2; fail "user add $1"; }
}
add_user admin admin admin-password-1
add_user ivanova support support-password-2
add_user petrov manager manager-password-3

# The log exists before the loop below reads it: the shell opens it in
# the background child, which may not have run yet.
: >"$work/serve.log"
"$MLINE_BIN" serve --config "$work/serve.conf" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
port=
for _ in $(seq 1 100); do
	port=$(sed -n 's/.*console: listening on .* (port \([0-9]*\)).*/\1/p' "$work/serve.log")
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "serve exited"; }
	sleep 0.1
done
[ -n "$port" ] || fail "serve did not say its console port"

WORK="$work" URL="http://127.0.0.1:$port" DB="$DB" SHOTS="$MLINE_SHOTS" PSQL="$PSQL" \
	CHROMIUM="$CHROMIUM" node "$here/console.test.js" "$scenario"

# Nothing secret or a whole phone number in the service's log.
! grep -E '79001112233|password-[0-9]' "$work/serve.log" ||
	fail "the log holds a phone number or a password"
kill "$pid"
rc=0
wait "$pid" || rc=$?
trap - EXIT
[ "$rc" = 0 ] || { tail -5 "$work/serve.log" >&2; fail "serve exit status $rc"; }
