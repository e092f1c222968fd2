#!/usr/bin/env bash
# Proves: concatenated MO messages (UDH, 8-bit reference, as the simulator
# splits long texts) are reassembled by the gateway before anything else:
# a two-part UCS-2 submission padded with the invisible characters phones
# insert (zero-width and no-break spaces) is accepted, a two-part GSM-7
# submission padded with spaces is accepted, and a three-part Cyrillic free
# text is rejected as one message. Each is acknowledged part by part,
# stored as ONE message row holding the whole text exactly as sent,
# answered with one reply, and the submissions carry the values of the
# last part.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_concat_mo
import "$SRC/tests/data/contracts-sample.csv"

zw=$(printf '\u200b%.0s' $(seq 80))
sp=$(printf ' %.0s' $(seq 170))
ucs2=$(printf 'ПС\u00a0102057522%s 11638' "$zw")
gsm7="PS${sp}123859 45055 23186"
free="Здравствуйте! Передаю показания счётчика электроэнергии по лицевому счёту, который указан в квитанции за прошлый месяц. Показания на сегодняшнее утро такие: день и ночь, как обычно. Спасибо!"
printf '79130000001\t7377\t%s\n79130000002\t7377\t%s\n79130000003\t7377\t%s\n' \
	"$ucs2" "$gsm7" "$free" >"$W/concat.tsv"

sim_start --scenario "$W/concat.tsv" --results "$W/results" --reply-timeout 15 \
	--timeout 120
serve_conf
serve_start
sim_wait
expect_eq "simulator exit status" "$SIM_RC" 0
serve_stop

expect_eq "deliver_sm sent (2 + 2 + 3 parts)" "$(sim_stat 'deliver_sm sent')" 7
expect_eq "deliver_sm answered ok" "$(sim_stat 'answered ok')" 7
expect_eq "replies" "$(sim_stat 'replies:')" 3
expect_eq "message rows" "$(sql "SELECT count(*) FROM messages")" 3
check_exactly_once "$W/results"
expect_eq "the UCS-2 text, whole" \
	"$(sql "SELECT text FROM messages WHERE sender = '79130000001'")" "$ucs2"
expect_eq "the GSM-7 text, whole" \
	"$(sql "SELECT text FROM messages WHERE sender = '79130000002'")" "$gsm7"
expect_eq "the free text, whole" \
	"$(sql "SELECT text FROM messages WHERE sender = '79130000003'")" "$free"
expect_eq "outcomes" "$(sql "SELECT string_agg(sender || ':' || outcome || '/' || dcs,
	' ' ORDER BY sender) FROM messages")" \
	"79130000001:accepted/8 79130000002:accepted/0 79130000003:rejected/8"
expect_eq "readings" "$(sql "SELECT string_agg(contract || ':' || position || '=' || value,
	' ' ORDER BY contract, position) FROM readings")" \
	"102057522:1=11638 123859:1=45055 123859:2=23186"
echo "ok: 3 concatenated MO (7 parts), each one message"
