#!/usr/bin/env bash
# Proves: replies survive an SMSC that throttles and fails submit_sm. The
# simulator answers the first 10 submit_sm with ESME_RTHROTTLED, the next
# 3 with ESME_RSYSERR (temporary), then every 100th with ESME_RTHROTTLED
# again; 400 Cyrillic MO. The gateway pauses sending on throttling (logged)
# and retries the temporary errors, so every MO still gets its reply, and
# every outbox row ends `sent` with the SMSC's message id, claimed once
# (the retries happen in the link, not by re-claiming rows); nothing is
# `failed`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_throttle
sh "$here/gen_load.sh" 400 "$W/load" 5
import "$W/load/contracts.csv"
sim_start --flood-file "$W/load/messages.tsv" --window 50 \
	--throttle 10 --tempfail 3 --tempfail-status 0x08 --throttle-every 100 \
	--results "$W/results" --timeout 120
serve_conf
serve_start
sim_wait
expect_eq "simulator exit status (every MO acknowledged and answered)" "$SIM_RC" 0
serve_stop

throttled=$(sim_stat 'throttled')
expect_ge "submit_sm throttled" "$throttled" 13
expect_eq "submit_sm temporarily failed" "$(sim_stat 'temporary errors')" 3
grep -q 'SMSC answered ESME_RTHROTTLED.*pausing submit_sm' "$W/serve.log" ||
	fail "the gateway did not pause on ESME_RTHROTTLED"
expect_eq "replies" "$(sim_stat 'replies:')" 400
check_exactly_once "$W/results"
check_load "$W/load/expected"
expect_eq "outbox rows" "$(sql "SELECT count(*) FROM outbox")" 400
expect_eq "outbox rows sent with an SMSC id, claimed once" \
	"$(sql "SELECT count(*) FROM outbox WHERE state = 'sent' AND smsc_message_id IS NOT NULL AND attempts = 1")" 400
echo "ok: 400 replies through $throttled throttled and 3 failed submit_sm"
