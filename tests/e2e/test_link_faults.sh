#!/usr/bin/env bash
# Proves: the gateway survives an SMSC that refuses its first binds and
# then drops the link twice in the middle of a flood, without losing or
# doubling anything. 1,000 Cyrillic MO (the bench_e2e mix: submissions,
# two-message dialogs, junk) at a window of 100: the first two binds are
# refused (the gateway retries with backoff and binds at the third), the
# simulator closes the TCP connection after 400 PDUs, twice; deliver_sm
# lost with the link are delivered again. In the end every MO is
# acknowledged and answered, every acknowledged MO is in `messages`
# exactly once (redeliveries of committed ones are logged as duplicates),
# each contract has exactly one submission, the readings are all there and
# every outbox row is sent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_link_faults
sh "$here/gen_load.sh" 1000 "$W/load" 10
import "$W/load/contracts.csv"
sim_start --flood-file "$W/load/messages.tsv" --window 100 --redeliver-ms 200 \
	--refuse-binds 2 --drop-after 400 --drop-times 2 --results "$W/results" \
	--timeout 120
serve_conf
serve_start
sim_wait
expect_eq "simulator exit status (every MO acknowledged and answered)" "$SIM_RC" 0
serve_stop

expect_eq "binds refused" "$(sim_stat 'refused')" 2
expect_eq "drops" "$(sim_stat 'drops')" 2
expect_eq "binds ok" "$(sim_stat 'binds ok')" 3
grep -q 'bound to .* (after 2 failed attempts)' "$W/serve.log" ||
	fail "the gateway did not log its bind after 2 refusals"
redelivered=$(sim_stat 'redelivered')
expect_ge "deliver_sm redelivered after the drops" "$redelivered" 1
check_exactly_once "$W/results"
check_load "$W/load/expected"
expect_eq "outbox rows not sent" "$(sql "SELECT count(*) FROM outbox WHERE state <> 'sent'")" 0
echo "ok: $ACKED MO exactly once through 2 refused binds and 2 drops ($redelivered redelivered)"
