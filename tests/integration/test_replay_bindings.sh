#!/bin/sh
# Replay of a log with bound senders and their queries (issue 17): the
# phones imported, [verify] mode = bound from the config; ПС and values
# alone, ИНФО, a stranger refused, ОТВЯЗАТЬ and НЕ НАПОМИНАТЬ stored; the
# same file again changes nothing.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
M() { "$MLINE_BIN" "$@"; }

db_create itest_replay_bindings
M migrate --db "$DB" >/dev/null
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null
printf 'contract,phone\n102057522,79000000101\n102057522,79000000102\n123859,79000000102\n' |
	M import phones --db "$DB" - >/dev/null
printf '[database]\nconninfo = unused\n[verify]\nmode = bound\n' >"$tmp/t.conf"

cat >"$tmp/log.jsonl" <<'JSON'
{"time":"2026-11-20T12:00:00+03:00","channel":"sms","from":"79000000101","to":"7377","text":"ПС"}
{"time":"2026-11-20T12:01:00+03:00","channel":"sms","from":"79000000101","to":"7377","text":"11700"}
{"time":"2026-11-20T12:02:00+03:00","channel":"sms","from":"79000000101","to":"7377","text":"ИНФО"}
{"time":"2026-11-20T12:03:00+03:00","channel":"sms","from":"79000000199","to":"7377","text":"ПС 102057522 11800"}
{"time":"2026-11-20T12:04:00+03:00","channel":"sms","from":"79000000102","to":"7377","text":"ПС"}
{"time":"2026-11-20T12:05:00+03:00","channel":"sms","from":"79000000102","to":"7377","text":"ОТВЯЗАТЬ 123859"}
{"time":"2026-11-20T12:06:00+03:00","channel":"sms","from":"79000000102","to":"7377","text":"НЕ НАПОМИНАТЬ"}
{"time":"2026-11-20T12:07:00+03:00","channel":"sms","from":"79000000102","to":"7377","text":"ИНФО 123859"}
JSON
M replay --config "$tmp/t.conf" --db "$DB" --max-age 0 -q "$tmp/log.jsonl" >/dev/null 2>"$tmp/err" ||
	fail "replay: $(cat "$tmp/err")"
expect_eq "outcomes" "$(sql "SELECT string_agg(outcome || '/' || coalesce(reason, '-'), ' ' ORDER BY received_at) FROM messages")" \
	"prompt/- accepted/- info/- rejected/not_bound rejected/which_contract setting/- setting/- rejected/not_bound"
expect_eq "reading" "$(sql "SELECT sender || ' ' || value FROM readings JOIN submissions s ON s.id = submission_id")" "79000000101 11700"
expect_eq "info" "$(sql "SELECT reply FROM messages WHERE text = 'ИНФО'")" \
	"Договор 102057522: показания 11700 (20.11). За этот месяц приняты"
expect_eq "bindings" "$(sql "SELECT string_agg(phone || '=' || contract, ' ' ORDER BY phone, contract) FROM bindings")" \
	"79000000101=102057522 79000000102=102057522"
expect_eq "opt-out" "$(sql "SELECT channel || ' ' || sender FROM reminder_optout")" "sms 79000000102"

# The same file again: every message a duplicate, nothing changes.
before=$(sql "SELECT count(*) FROM messages")
M replay --config "$tmp/t.conf" --db "$DB" --max-age 0 -q "$tmp/log.jsonl" >/dev/null 2>&1 || true
expect_eq "again" "$(sql "SELECT count(*) FROM messages")" "$before"
expect_eq "bindings again" "$(sql "SELECT count(*) FROM bindings")" 2
echo ok
