# Sourced by tests/e2e/test_*.sh and tests/bench/bench_e2e.sh (bash, set -eu).
#
# The real binaries, real TCP on 127.0.0.1 and a real PostgreSQL:
#   e2e_init NAME        a work dir ($W) and a fresh database NAME ($DB) on the
#                        cluster (ctest's e2e fixture, MLINE_TEST_PGHOST/PORT),
#                        or on a private cluster with E2E_PRIVATE_PG=1;
#                        migrated (e2e_setup DIR and db_new NAME, apart)
#   sim_start ARGS...    `meterline-smsc-sim --port 0 ...` in the background
#                        (SIM_PID, SIM_PORT); stdout/stderr in $W/sim.out|err
#   serve_conf [EXTRA]   write $W/serve.conf for SIM_PORT and DB, then EXTRA
#   serve_start          `meterline serve` in the background (SERVE_PID)
#   serve_stop           SIGTERM, wait, require exit 0
#   sim_wait             wait for the simulator to end (SIM_RC)
# Everything started here is stopped by PID when the test ends, on failure
# too; nothing is ever killed by name.

BIN=${MLINE_BIN:?MLINE_BIN: the meterline binary}
# The SMSC simulator is its own binary, built beside meterline.
SIM_BIN=${MLINE_SIM_BIN:-$(dirname "$BIN")/meterline-smsc-sim}
SRC=${MLINE_SOURCE_DIR:?MLINE_SOURCE_DIR: the source tree}
PGBIN=${MLINE_PGBIN:-/usr/lib/postgresql/15/bin}
PSQL=$PGBIN/psql
[ -x "$PSQL" ] || PSQL=psql
PG_CLUSTER=${MLINE_PG_CLUSTER:-$SRC/tests/integration/pg_cluster.sh}

E2E_PIDS=""
E2E_CLUSTER=""
SIM_PID=""
SERVE_PID=""
W=""

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# No cluster: skip (77), except in CI where it is a failure.
e2e_skip() {
	if [ "${CI:-}" = true ]; then fail "$1 (CI=true: not skipping)"; fi
	echo "SKIP: $1" >&2
	exit 77
}

# Whether PID is gone or a zombie (exited, not yet reaped).
pid_ended() {
	local st
	st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# Stop PID (one we started): SIGTERM, then SIGKILL after SECS (10).
stop_pid() {
	local pid=$1 secs=${2:-10} i=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	while ! pid_ended "$pid" && [ $i -lt $((secs * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	pid_ended "$pid" || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

e2e_cleanup() {
	local rc=$? pid
	set +e
	for pid in $E2E_PIDS; do
		stop_pid "$pid" 10
	done
	if [ -n "$E2E_CLUSTER" ]; then
		sh "$PG_CLUSTER" stop "$E2E_CLUSTER" "$W/pg_server.log" >/dev/null 2>&1
	fi
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "$W" ]; then
		echo "---- test failed (exit $rc); logs in $W ----" >&2
		for f in sim.err serve.log; do
			[ -f "$W/$f" ] && { echo "---- tail $f" >&2; tail -n 25 "$W/$f" >&2; }
		done
	fi
	exit $rc
}

# Remember a PID to stop at the end.
track() { E2E_PIDS="$1 $E2E_PIDS"; }
untrack() { E2E_PIDS=$(echo " $E2E_PIDS " | sed "s/ $1 / /"); }

# wait_until SECS WHAT CMD...: poll CMD every 0.1 s until it succeeds.
wait_until() {
	local secs=$1 what=$2 i=0
	shift 2
	until "$@"; do
		i=$((i + 1))
		[ $i -lt $((secs * 10)) ] || fail "timed out after ${secs}s waiting for $what"
		sleep 0.1
	done
}

sql() { "$PSQL" -qXAt -v ON_ERROR_STOP=1 "$DB" -c "$1"; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }
expect_ge() { [ "$2" -ge "$3" ] || fail "$1: got $2, expected at least $3"; }
expect_match() { printf '%s\n' "$2" | grep -Eq -- "$3" || fail "$1: '$2' does not match /$3/"; }

# e2e_setup DIR: traps, work dir $W, the cluster (PGHOST_, PGPORT_): ctest's
# e2e fixture, or a private one with E2E_PRIVATE_PG=1 (E2E_CLUSTER).
e2e_setup() {
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	W=$1
	rm -rf "$W"
	mkdir -p "$W"
	if [ "${E2E_PRIVATE_PG:-0}" = 1 ]; then
		# A cluster of our own (stopped mid-test, or a benchmark's): the
		# socket lives in a short private dir, so its port only names
		# the socket file and cannot collide.
		E2E_CLUSTER=/tmp/mline-e2e-$(basename "$W")-$$
		PGHOST_=$E2E_CLUSTER
		PGPORT_=5432
		sh "$PG_CLUSTER" start "$E2E_CLUSTER" "$PGPORT_" >"$W/pg_start.log" 2>&1 || {
			local rc=$?
			cat "$W/pg_start.log" >&2
			[ $rc -eq 77 ] && e2e_skip "no PostgreSQL server binaries"
			fail "cannot start a private cluster"
		}
	else
		[ -n "${MLINE_TEST_PGHOST:-}" ] || e2e_skip "no test cluster (MLINE_TEST_PGHOST not set)"
		PGHOST_=$MLINE_TEST_PGHOST
		PGPORT_=$MLINE_TEST_PGPORT
	fi
	[ -S "$PGHOST_/.s.PGSQL.$PGPORT_" ] || e2e_skip "no socket in $PGHOST_"
}

# db_new NAME: a fresh database NAME ($DB), schema migrated.
db_new() {
	local admin="host=$PGHOST_ port=$PGPORT_ user=postgres dbname=postgres"
	"$PSQL" -qX -v ON_ERROR_STOP=1 "$admin" -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
	DB="host=$PGHOST_ port=$PGPORT_ user=postgres dbname=$1"
	"$BIN" migrate --db "$DB" >"$W/migrate.log" 2>&1 || { cat "$W/migrate.log" >&2; fail "migrate"; }
}

# e2e_init NAME: both, for a test called NAME.
e2e_init() {
	e2e_setup "${E2E_WORK:-${TMPDIR:-/tmp}/mline-e2e-work}/$1"
	db_new "$1"
}

# import CSV: load contracts.
import() {
	"$BIN" import contracts --db "$DB" "$1" >"$W/import.log" 2>&1 ||
		{ cat "$W/import.log" >&2; fail "import $1"; }
}

SIM_SYSID=e2e
SIM_PASSWORD=e2e-pw

# sim_start ARGS...: the simulator on a free port (SIM_PORT), credentials
# fixed, our enquire_link off unless ARGS say otherwise.
sim_start() {
	: >"$W/sim.err"
	"$SIM_BIN" --port 0 --system-id "$SIM_SYSID" --password "$SIM_PASSWORD" \
		--enquire-link 0 "$@" >"$W/sim.out" 2>"$W/sim.err" &
	SIM_PID=$!
	track "$SIM_PID"
	wait_until 10 "the simulator to listen" grep -q 'listening on 127.0.0.1:' "$W/sim.err"
	SIM_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/sim.err" | head -n 1)
}

# cpu_s PID: user+system CPU seconds of PID so far (also of a zombie).
cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
		"/proc/$1/stat"
}

# sim_wait: wait for the simulator to end by itself; SIM_RC is its status,
# SIM_CPU its CPU seconds (from its report).
sim_wait() {
	SIM_RC=0
	wait "$SIM_PID" || SIM_RC=$?
	SIM_CPU=$(sed -n 's/^cpu: user \([0-9.]*\) s, system \([0-9.]*\) s$/\1 \2/p' "$W/sim.err" |
		awk '{ print $1 + $2 }')
	untrack "$SIM_PID"
	SIM_PID=""
}

# sim_stat PATTERN: the first number after PATTERN in the simulator's report.
sim_stat() {
	sed -n "s/.*$1 \([0-9][0-9]*\).*/\1/p" "$W/sim.err" | head -n 1
}

# serve_conf [EXTRA]: the config for SIM_PORT and DB. EXTRA is appended
# (more sections; [smpp] keys go in SMPP_EXTRA).
serve_conf() {
	cat >"$W/serve.conf" <<EOF
[database]
conninfo = $DB

[smpp]
host = 127.0.0.1
port = $SIM_PORT
system_id = $SIM_SYSID
password = $SIM_PASSWORD
${SMPP_EXTRA:-}

[window]
; readings any day of the month, so the tests pass whatever the date
days = 1-31

${1:-}
EOF
}

# serve_start: run the gateway in the background (log appended to serve.log).
serve_start() {
	"$BIN" serve --config "$W/serve.conf" >>"$W/serve.log" 2>&1 &
	SERVE_PID=$!
	track "$SERVE_PID"
}

# serve_stop: the graceful stop must end with exit 0.
serve_stop() {
	local rc=0 i=0
	kill -TERM "$SERVE_PID"
	while ! pid_ended "$SERVE_PID" && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	pid_ended "$SERVE_PID" || fail "meterline serve did not stop within 30 s of SIGTERM"
	wait "$SERVE_PID" || rc=$?
	untrack "$SERVE_PID"
	SERVE_PID=""
	expect_eq "meterline serve exit status after SIGTERM" "$rc" 0
}

# serve_kill9: the crash.
serve_kill9() {
	kill -KILL "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null || true
	untrack "$SERVE_PID"
	SERVE_PID=""
}

# Lines of the simulator's --results file: MOs as sender<TAB>recipient<TAB>text.
results_mo() {  # FILE ACKED(0|1)
	awk -F'\t' -v a="$2" '$1 == "mo" && $2 == a { print $4 "\t" $5 "\t" $6 }' "$1"
}

# check_exactly_once RESULTS: every MO the simulator got ESME_ROK for is in
# `messages` exactly once, not counting the rows marked duplicate (the
# redeliveries the store recognised): one applied row when the message
# advanced something (a dialog step, a submission); other channels' rows
# are not looked at. A text that advanced
# nothing (junk) is not checked against redeliveries by design
# (docs/architecture.md): a repeat of it is logged again, so it must be
# there at least once. Nothing the simulator did not deliver is there.
check_exactly_once() {
	results_mo "$1" 1 >"$W/acked.tsv"
	results_mo "$1" 0 >"$W/unacked.tsv"
	"$PSQL" -qXAt -v ON_ERROR_STOP=1 "$DB" >"$W/exactly_once.txt" <<SQL
CREATE TEMP TABLE acked (sender text, recipient text, text text);
\\copy acked FROM '$W/acked.tsv'
CREATE TEMP TABLE unacked (sender text, recipient text, text text);
\\copy unacked FROM '$W/unacked.tsv'
CREATE TEMP TABLE per_mo AS
SELECT a.sender, a.text,
       count(m.id) FILTER (WHERE m.outcome <> 'duplicate') AS n,
       count(m.id) FILTER (WHERE m.outcome <> 'duplicate' AND m.advanced) AS n_adv
  FROM acked a LEFT JOIN messages m
    ON m.channel = 'sms' AND m.sender = a.sender AND m.recipient = a.recipient
   AND m.text = a.text
 GROUP BY a.sender, a.recipient, a.text;
SELECT 'acked ' || count(*) FROM acked;
SELECT 'bad ' || count(*) FROM per_mo
 WHERE NOT ((n = 1 AND n_adv = 1) OR (n >= 1 AND n_adv = 0));
SELECT 'example ' || sender || ' ' || text || ' n=' || n || ' advanced=' || n_adv
  FROM per_mo WHERE NOT ((n = 1 AND n_adv = 1) OR (n >= 1 AND n_adv = 0)) LIMIT 5;
SELECT 'strangers ' || count(*) FROM messages m
 WHERE m.channel = 'sms' AND NOT EXISTS (SELECT 1 FROM acked a WHERE a.sender = m.sender
                   AND a.recipient = m.recipient AND a.text = m.text)
   AND NOT EXISTS (SELECT 1 FROM unacked a WHERE a.sender = m.sender
                   AND a.recipient = m.recipient AND a.text = m.text);
SQL
	grep '^example' "$W/exactly_once.txt" >&2 || true
	expect_eq "acked MOs not in messages exactly once" \
		"$(sed -n 's/^bad //p' "$W/exactly_once.txt")" 0
	expect_eq "messages the simulator never sent" \
		"$(sed -n 's/^strangers //p' "$W/exactly_once.txt")" 0
	ACKED=$(sed -n 's/^acked //p' "$W/exactly_once.txt")
}

# check_load EXPECTED: the database holds exactly what gen_load.sh said
# (redeliveries recognised as duplicates aside).
check_load() {
	local f=$1 got
	got=$(sql "SELECT count(*) FROM messages WHERE outcome <> 'duplicate' AND advanced")
	expect_eq "messages that advanced something" "$got" \
		$(($(sed -n 's/^accepted=//p' "$f") + $(sed -n 's/^prompt=//p' "$f")))
	for o in accepted prompt; do
		got=$(sql "SELECT count(*) FROM messages WHERE outcome = '$o'")
		expect_eq "messages $o" "$got" "$(sed -n "s/^$o=//p" "$f")"
	done
	got=$(sql "SELECT count(*) FROM messages WHERE outcome = 'rejected'")
	expect_ge "messages rejected" "$got" "$(sed -n 's/^rejected=//p' "$f")"
	got=$(sql "SELECT count(*) FROM messages WHERE outcome = 'rejected' AND reason <> 'bad_format'")
	expect_eq "messages rejected for another reason than bad_format" "$got" 0
	got=$(sql "SELECT count(*) FROM submissions WHERE status = 'accepted'")
	expect_eq "submissions" "$got" "$(sed -n 's/^submissions=//p' "$f")"
	got=$(sql "SELECT count(DISTINCT contract) FROM submissions")
	expect_eq "contracts with a submission (each once)" "$got" "$(sed -n 's/^submissions=//p' "$f")"
	got=$(sql "SELECT count(*) FROM readings")
	expect_eq "readings" "$got" "$(sed -n 's/^readings=//p' "$f")"
	got=$(sql "SELECT count(*) FROM dialogs")
	expect_eq "dialogs left open" "$got" 0
}
