#!/usr/bin/env bash
# Proves: full dialogs in Cyrillic over SMPP, UCS-2 both ways, through the
# real gateway and PostgreSQL. Every kind of reply (accepted, a day/night
# dialog, a three-zone meter, water, lower than last then corrected, too
# many digits, unknown and closed contract, cancel, no dialog, bad format,
# too many values, help) comes back as the transcript in
# dialogs_ucs2.expected says; each reply is UCS-2 (data_coding 8); the help
# text is a concatenated MT of two parts, reassembled by the simulator;
# PostgreSQL holds one message row per MO (stored as UCS-2, dcs 8), the
# readings with their consumption, the two dialogs left open; every reply's
# delivery receipt (esm_class 0x04, sent by the simulator after each
# accepted submit_sm) is matched to its outbox row, which ends `delivered`;
# and `meterline serve` stops with exit 0 on SIGTERM.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_dialogs_ucs2
import "$SRC/tests/data/contracts-sample.csv"
sim_start --scenario "$here/dialogs_ucs2.tsv" --results "$W/results" \
	--reply-timeout 15 --timeout 120 --receipts
serve_conf
serve_start
sim_wait
expect_eq "simulator exit status" "$SIM_RC" 0
serve_stop

diff -u "$here/dialogs_ucs2.expected" "$W/sim.out" || fail "transcript differs"

nmo=$(grep -c '^[0-9]' "$here/dialogs_ucs2.tsv")
expect_eq "replies, all UCS-2" \
	"$(awk -F'\t' '$1 == "reply" && $5 == 8' "$W/results" | wc -l)" "$nmo"
expect_eq "parts of the help reply (concatenated MT)" \
	"$(awk -F'\t' '$1 == "reply" && $3 == "79120000014" { print $4 }' "$W/results")" 2
expect_eq "message rows" "$(sql "SELECT count(*) FROM messages")" "$nmo"
expect_eq "Cyrillic message rows not received as UCS-2" \
	"$(sql "SELECT count(*) FROM messages WHERE dcs <> 8 AND text ~ '[А-яЁё]'")" 0
expect_eq "digits-only message rows not received as GSM-7" \
	"$(sql "SELECT count(*) FROM messages WHERE dcs <> 0 AND text ~ '^[0-9 ]+$'")" 0
check_exactly_once "$W/results"
expect_eq "readings" "$(sql "SELECT string_agg(contract || ':' || position || '=' || value
	|| '/' || consumption, ' ' ORDER BY contract, position) FROM readings")" \
	"102057522:1=11638/138 123859:1=45055/255 123859:2=23186/176 176354:1=39/1 176354:2=36/1 176355:1=20/2 176355:2=17/2 345678:1=10300/100 345678:2=8200/100 345678:3=5500/100"
expect_eq "outcomes" "$(sql "SELECT string_agg(outcome || '/' || coalesce(reason, '-') || '=' || n, ' '
	ORDER BY outcome, reason) FROM (SELECT outcome, reason, count(*) AS n FROM messages GROUP BY 1, 2) s")" \
	"accepted/-=5 cancelled/-=1 help/-=1 prompt/-=4 rejected/bad_format=1 rejected/closed_contract=1 rejected/lower_than_last=1 rejected/no_dialog=1 rejected/too_many_digits=1 rejected/too_many_values=1 rejected/unknown_contract=1"
# too_many_digits and too_many_values leave the dialog open for the values
expect_eq "open dialogs" "$(sql "SELECT string_agg(sender || ':' || contract || ':' || next,
	' ' ORDER BY sender) FROM dialogs")" "79120000007:102057522:0 79120000012:123859:0"
expect_eq "outbox rows not delivered (receipt DELIVRD matched)" \
	"$(sql "SELECT count(*) FROM outbox WHERE state <> 'delivered' OR dlr_state <> 'DELIVRD'")" 0
expect_eq "outbox rows" "$(sql "SELECT count(*) FROM outbox")" "$nmo"
echo "ok: $nmo Cyrillic messages, every reply as expected"
