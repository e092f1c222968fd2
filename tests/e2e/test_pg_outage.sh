#!/usr/bin/env bash
# Proves: PostgreSQL stopped in the middle of a flood loses nothing and
# applies nothing twice. 3,000 Cyrillic MO offered at 600/s (window 100)
# to the gateway; once 600 are stored, PostgreSQL is stopped (pg_ctl -m
# fast: transactions in flight are cut) for 3 s. Meanwhile the gateway
# answers deliver_sm with the temporary status ESME_RX_T_APPN (0x64) and
# the simulator, like an SMSC, delivers them again later. After the
# restart the gateway reconnects by itself; in the end every MO is
# acknowledged and answered, every acknowledged MO is in `messages` exactly
# once, each contract has one submission and every outbox row is sent.
# Runs on a private cluster, since it stops it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

E2E_PRIVATE_PG=1 e2e_init e2e_pg_outage
sh "$here/gen_load.sh" 3000 "$W/load" 20
import "$W/load/contracts.csv"
sim_start --flood-file "$W/load/messages.tsv" --window 100 --rate 600 \
	--redeliver-ms 300 --results "$W/results" --timeout 150
serve_conf
serve_start

stored() { [ "$(sql "SELECT count(*) FROM messages")" -ge "$1" ]; }
wait_until 60 "600 messages stored" stored 600
sh "$PG_CLUSTER" halt "$E2E_CLUSTER"
echo "PostgreSQL stopped" >&2
sleep 3
sh "$PG_CLUSTER" resume "$E2E_CLUSTER"
echo "PostgreSQL started again" >&2

sim_wait
expect_eq "simulator exit status (every MO acknowledged and answered)" "$SIM_RC" 0
serve_stop

tempfails=$(sim_stat 'with errors')
expect_ge "deliver_sm answered with a temporary error" "$tempfails" 1
grep -q 'with errors [0-9]* (last 0x64)' "$W/sim.err" ||
	fail "the temporary status was not ESME_RX_T_APPN (0x64)"
check_exactly_once "$W/results"
check_load "$W/load/expected"
expect_eq "outbox rows not sent" "$(sql "SELECT count(*) FROM outbox WHERE state <> 'sent'")" 0
echo "ok: $ACKED MO exactly once across a PostgreSQL outage ($tempfails temporary errors)"
