#!/usr/bin/env bash
# Proves: meterline-smsc-sim exits 1 when a message went unanswered, as its
# --help says. A scenario gives up on a reply after --reply-timeout and
# goes on; here the SMSC answers every submit_sm ESME_RTHROTTLED, so no
# reply ever arrives: the run finishes, reports the unanswered message and
# exits 1. With replies it exits 0.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_sim_unanswered
import "$here/contracts-latin.csv"
printf '447700900011\t7377\tPS 123859 11638 5100\n' >"$W/one.tsv"

sim_start --scenario "$W/one.tsv" --reply-timeout 3 --timeout 30 --throttle 1000000
serve_conf
serve_start
sim_wait
expect_eq "simulator exit status, no reply" "$SIM_RC" 1
grep -q '^smsc-sim: 1 message got no reply$' "$W/sim.err" ||
	fail "no 'got no reply' line in sim.err: $(cat "$W/sim.err")"
serve_stop

printf '447700900012\t7377\tPS 123859 11700 5200\n' >"$W/two.tsv"
sim_start --scenario "$W/two.tsv" --reply-timeout 15 --timeout 30
serve_conf
serve_start
sim_wait
expect_eq "simulator exit status, answered" "$SIM_RC" 0
serve_stop
echo "ok: exit 1 with an unanswered message, 0 when every one is answered"
