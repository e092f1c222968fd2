#!/usr/bin/env bash
# Proves: a submit_sm_resp ESME_ROK whose message_id is unusable (over 65
# octets, or unterminated) does not lose the reply silently: the row is
# `sent` with smsc_message_id '' (not NULL, which means "no answer yet"),
# so staff can see that its delivery receipts cannot be matched, and the
# link logs and counts it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_bad_message_id
import "$here/contracts-latin.csv"
printf '447700900001\t7377\tPS 123859 11638 5100\n' >"$W/one-1.tsv"
printf '447700900002\t7377\tPS 123859 11700 5200\n' >"$W/one-2.tsv"
for mode in 1 2; do
	sim_start --scenario "$W/one-$mode.tsv" --results "$W/results" \
		--reply-timeout 15 --timeout 60 --bad-message-id "$mode"
	serve_conf
	serve_start
	sim_wait
	expect_eq "simulator exit status (mode $mode)" "$SIM_RC" 0
	serve_stop
	expect_eq "replies sent with an unusable SMSC id (mode $mode)" \
		"$(sql "SELECT count(*) FROM outbox WHERE state = 'sent' AND smsc_message_id = ''")" "$mode"
	grep -qi 'message_id' "$W/serve.log" || fail "no warning about the message_id in serve.log"
done
expect_eq "replies without any answer recorded" \
	"$(sql "SELECT count(*) FROM outbox WHERE smsc_message_id IS NULL")" 0
echo "ok: both kinds of bad message_id leave the reply sent and marked ''"
