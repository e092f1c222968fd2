#!/usr/bin/env bash
# Proves: full dialogs in Latin over SMPP, GSM-7 both ways. `PS 123859
# 11638` starts a day/night dialog and the night value completes it;
# a one-message submission, an unknown contract, junk, a value lower than
# the last one (then corrected) and help are answered; with English templates every reply is GSM-7 (data_coding 0),
# including the help text of more than 160 characters with characters of
# the GSM-7 extension table ([ ] ~), which goes out as a concatenated MT of
# two parts; every message is stored as received in GSM-7 (dcs 0) and the
# readings are the values sent.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_dialogs_gsm7
import "$here/contracts-latin.csv"
sim_start --scenario "$here/dialogs_gsm7.tsv" --results "$W/results" \
	--reply-timeout 15 --timeout 120
serve_conf "[templates]
accepted = Readings accepted. Thank you.
prompt = Contract {contract}. Enter the reading: {register}
unknown_contract = No contract {contract}. Check the number. Example: PS 123859 11638 5100
bad_format = Sorry, not understood. Example: PS 123859 11638 5100. Help: ?
cancelled = Reading for contract {contract} cancelled.
lower_than_last = Reading {value} is lower than the last one, {last}. Enter: {register}
help = Send [PS contract readings], e.g. PS 123859 11638 5100. For a two-rate
  meter send PS 123859 and then each reading when asked, or both at once.
  Readings are taken from the 1st to the 31st ~ thank you!"
serve_start
sim_wait
expect_eq "simulator exit status" "$SIM_RC" 0
serve_stop

diff -u "$here/dialogs_gsm7.expected" "$W/sim.out" || fail "transcript differs"

nmo=$(grep -c '^[0-9]' "$here/dialogs_gsm7.tsv")
expect_eq "replies, all GSM-7" \
	"$(awk -F'\t' '$1 == "reply" && $5 == 0' "$W/results" | wc -l)" "$nmo"
expect_eq "parts of the help reply (concatenated MT)" \
	"$(awk -F'\t' '$1 == "reply" && $3 == "447700900006" { print $4 }' "$W/results")" 2
expect_eq "message rows received as GSM-7" \
	"$(sql "SELECT count(*) FROM messages WHERE dcs = 0")" "$nmo"
check_exactly_once "$W/results"
expect_eq "readings" "$(sql "SELECT string_agg(position || '=' || value || '/' || consumption,
	' ' ORDER BY submission_id, position) FROM readings")" \
	"1=11638/1638 2=5100/100 1=11700/1700 2=5200/200 1=11700/1700 2=5300/300"
expect_eq "outcomes" "$(sql "SELECT string_agg(outcome || '/' || coalesce(reason, '-') || '=' || n, ' '
	ORDER BY outcome, reason) FROM (SELECT outcome, reason, count(*) AS n FROM messages GROUP BY 1, 2) s")" \
	"accepted/-=3 help/-=1 prompt/-=1 rejected/bad_format=1 rejected/lower_than_last=1 rejected/unknown_contract=1"
expect_eq "open dialogs" "$(sql "SELECT count(*) FROM dialogs")" 0
expect_eq "outbox rows not sent" "$(sql "SELECT count(*) FROM outbox WHERE state <> 'sent'")" 0
echo "ok: $nmo Latin messages, every reply GSM-7 as expected"
