#!/usr/bin/env bash
# Proves: a crash of the gateway (kill -9 in the middle of a flood) and a
# restart lose nothing and apply nothing twice. 3,000 Cyrillic MO offered
# at 600/s (window 100); once 800 are stored the service is killed with
# SIGKILL and started again. deliver_sm in flight are delivered again by
# the simulator: those whose batch had committed are recognised as
# duplicates, the others are applied once. Replies committed but not yet
# sent are still in the outbox: those the dead instance had claimed are
# leased to it for lease_s (120 s); the test ends the leases at once
# (UPDATE ... next_attempt_at = now(), what waiting 2 minutes would do) so
# that the new instance sends them. In the end every MO is acknowledged
# and has its reply at the simulator, every acknowledged MO is in
# `messages` exactly once, each contract has one submission and every
# outbox row is sent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_kill9
sh "$here/gen_load.sh" 3000 "$W/load" 20
import "$W/load/contracts.csv"
sim_start --flood-file "$W/load/messages.tsv" --window 100 --rate 600 \
	--redeliver-ms 300 --results "$W/results" --timeout 150
serve_conf
serve_start

stored() { [ "$(sql "SELECT count(*) FROM messages")" -ge "$1" ]; }
wait_until 60 "800 messages stored" stored 800
serve_kill9
echo "meterline serve killed (SIGKILL)" >&2
before=$(sql "SELECT count(*) FROM messages")
pending=$(sql "SELECT count(*) FROM outbox WHERE state = 'pending'")
leased=$(sql "SELECT count(*) FROM outbox WHERE state = 'pending' AND next_attempt_at > now()")
echo "at the crash: $before messages stored, $pending replies pending, $leased of them leased" >&2
sql "UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'" >/dev/null
serve_start

sim_wait
expect_eq "simulator exit status (every MO acknowledged and answered)" "$SIM_RC" 0
serve_stop

expect_ge "links the simulator saw drop" "$(sim_stat 'drops')" 1
check_exactly_once "$W/results"
check_load "$W/load/expected"
expect_eq "outbox rows not sent" "$(sql "SELECT count(*) FROM outbox WHERE state <> 'sent'")" 0
echo "ok: $ACKED MO exactly once across kill -9 ($before stored before it, $pending replies pending)"
