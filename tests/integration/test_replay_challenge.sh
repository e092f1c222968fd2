#!/bin/sh
# Replay of a log with bindings, a challenge and queries (issue 17,
# [verify] mode = challenge from the config): a bound phone's ПС and
# values alone and ИНФО, a phone bound to two asked which, a stranger
# asked the serial's last digits, wrong once, right (bound, its held
# reading stored, then ИНФО alone), another locked out after three wrong
# answers; the bound phone's values alone with no dialog open (a
# correction of its contract); the same file again changes nothing.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
M() { "$MLINE_BIN" "$@"; }

db_create itest_replay_challenge
M migrate --db "$DB" >/dev/null
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null
printf '%s\n' 'contract,resource,position,register,digits,last_value,last_date,serial' \
	'123859,electricity,1,день,5,44800,2026-10-20,ЦЭ6803 № 01234567' \
	'123859,electricity,2,ночь,5,23010,2026-10-20,ЦЭ6803 № 01234567' |
	M import contracts --db "$DB" - >/dev/null
printf 'contract,phone\n102057522,79000000101\n102057522,79000000102\n123859,79000000102\n' |
	M import phones --db "$DB" - >/dev/null
printf '[database]\nconninfo = unused\n[verify]\nmode = challenge\n' >"$tmp/t.conf"

L() { printf '{"time":"2026-11-20T12:%s:00+03:00","channel":"sms","from":"%s","to":"7377","text":"%s"}\n' "$1" "$2" "$3"; }
{
	L 00 79000000101 "ПС"
	L 01 79000000101 "11700"
	L 02 79000000101 "ИНФО"
	L 03 79000000102 "45000 23100"
	L 04 79000000102 "ИНФО 123859"
	L 05 79000000199 "ПС 123859 44900 23100"
	L 06 79000000199 "1111"
	L 07 79000000199 "4567"
	L 08 79000000199 "ИНФО"
	L 09 79000000198 "ИНФО 123859"
	L 10 79000000198 "1111"
	L 11 79000000198 "2222"
	L 12 79000000198 "3333"
	L 13 79000000198 "ПС 123859 44900 23100"
	L 14 79000000197 "ПС 102057522 11800"
	L 15 79000000101 "11750"
} >"$tmp/log.jsonl"
M replay --config "$tmp/t.conf" --db "$DB" --max-age 0 -q "$tmp/log.jsonl" >/dev/null 2>"$tmp/err" ||
	fail "replay: $(cat "$tmp/err")"
expect_eq "outcomes" "$(sql "SELECT string_agg(outcome || '/' || coalesce(reason, '-'), ' ' ORDER BY received_at) FROM messages")" \
	"prompt/- accepted/- info/- rejected/which_contract info/- prompt/challenge rejected/wrong_answer accepted/- info/- prompt/challenge rejected/wrong_answer rejected/wrong_answer rejected/locked_out rejected/locked_out rejected/cannot_verify accepted/-"
expect_eq "readings" "$(sql "SELECT string_agg(sender || '=' || value, ' ' ORDER BY s.sender, s.submitted_at, position) FROM readings JOIN submissions s ON s.id = submission_id")" \
	"79000000101=11700 79000000101=11750 79000000199=44900 79000000199=23100"
expect_eq "answer" "$(sql "SELECT reply FROM messages WHERE sender = '79000000199' AND text = '4567'")" \
	"Номер привязан к договору 123859. Показания приняты. Спасибо."
expect_eq "locked" "$(sql "SELECT reply FROM messages WHERE sender = '79000000198' AND text = '3333'")" \
	"Слишком много неверных ответов. Повторите после 13:12 20.11"
expect_eq "bindings" "$(sql "SELECT string_agg(phone || '=' || contract || '/' || source, ' ' ORDER BY phone, contract) FROM bindings")" \
	"79000000101=102057522/import 79000000102=102057522/import 79000000102=123859/import 79000000199=123859/challenge"
expect_eq "challenges" "$(sql "SELECT string_agg(sender || ' ' || contract || ' ' || attempts, ',') FROM challenges")" \
	"79000000198 123859 3"
if sql "SELECT reply FROM messages" | grep -q 4567; then fail "a reply shows the serial"; fi

# The same file again: every message a duplicate, nothing changes.
before=$(sql "SELECT count(*) || ' ' || (SELECT count(*) FROM bindings) || ' ' || (SELECT string_agg(attempts || '/' || locked_until_us, ',') FROM challenges) FROM messages")
M replay --config "$tmp/t.conf" --db "$DB" --max-age 0 -q "$tmp/log.jsonl" >/dev/null 2>&1 || true
expect_eq "again" "$(sql "SELECT count(*) || ' ' || (SELECT count(*) FROM bindings) || ' ' || (SELECT string_agg(attempts || '/' || locked_until_us, ',') FROM challenges) FROM messages")" "$before"
echo ok
