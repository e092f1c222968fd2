#!/bin/sh
# export-log for operators: the messages' time order (not the order they
# were logged in), the filters --from/--to, --contract, --sender,
# --outcome (with --since/--until as synonyms), and in each line the
# contract, the stored values with their submission's status and the SMS
# reply's delivery state and receipt.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
M() { "$MLINE_BIN" "$@"; }
printf '[database]\nconninfo = unused\n[intake]\nmax_age = 0\n' >"$tmp/t.conf"

db_create itest_export_log
M migrate --db "$DB" >/dev/null
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null
# Logged in two runs, the later messages first: ids are not time order.
cat >"$tmp/late.csv" <<'CSV'
time,channel,from,to,text
2026-11-21T10:00:00+03:00,sms,79000000401,7377,ПС 123859 45100 23100
2026-11-21T10:01:00+03:00,sms,79000000402,7377,привет
CSV
cat >"$tmp/early.csv" <<'CSV'
time,channel,from,to,text,id
2026-11-20T10:00:00+03:00,viber,v-401,,ПС 176355,e-1
2026-11-20T10:01:00+03:00,viber,v-401,,20,e-2
2026-11-20T10:02:00+03:00,viber,v-401,,16,e-3
2026-11-20T10:03:00+03:00,sms,79000000401,7377,ПС 102057522 11600,
CSV
M replay --config "$tmp/t.conf" --db "$DB" -q --send-replies "$tmp/late.csv" 2>/dev/null
M replay --config "$tmp/t.conf" --db "$DB" -q --send-replies "$tmp/early.csv" 2>/dev/null
# The first SMS reply went out and was delivered.
sql "UPDATE outbox SET state = 'delivered', dlr_state = 'DELIVRD'
  WHERE text LIKE 'Показания приняты%' AND recipient = '79000000401'
  AND message_id = (SELECT min(id) FROM messages)" >/dev/null

X() { M export-log --config "$tmp/t.conf" --db "$DB" "$@"; }
# id, time, text and the new members of each line
brief() { sed -e 's/^{"id":"\([^"]*\)",/\1 /' -e 's/"channel".*"text":"\([^"]*\)".*"outcome":"\([a-z]*\)".*"contract":\([^,]*\),"values":\([^]]*]\|null\),"status":\([^,]*\),"delivery":\([^,]*\),"receipt":\([^}]*\)}$/\1 \2 \3 \4 \5 \6 \7/' -e 's/^stable:[0-9a-f]*/stable/'; }

X >"$tmp/all"
expect_eq "time order, stored values, delivery" "$(brief <"$tmp/all")" \
'e-1 "time":"2026-11-20T10:00:00+03:00",ПС 176355 prompt "176355" null null null null
e-2 "time":"2026-11-20T10:01:00+03:00",20 prompt "176355" null null null null
e-3 "time":"2026-11-20T10:02:00+03:00",16 accepted "176355" [20,16] "accepted" null null
stable "time":"2026-11-20T10:03:00+03:00",ПС 102057522 11600 accepted "102057522" [11600] "accepted" "pending" null
stable "time":"2026-11-21T10:00:00+03:00",ПС 123859 45100 23100 accepted "123859" [45100,23100] "accepted" "delivered" "DELIVRD"
stable "time":"2026-11-21T10:01:00+03:00",привет rejected null null null "pending" null'

n() { X "$@" | wc -l | tr -d ' '; }
expect_eq "--contract" "$(n --contract 176355)" 3
expect_eq "--sender" "$(n --sender 79000000401)" 2
expect_eq "--outcome" "$(n --outcome accepted)" 3
expect_eq "--outcome rejected --sender" "$(n --outcome rejected --sender 79000000402)" 1
expect_eq "--from/--to" "$(n --from 2026-11-20T10:01:00+03:00 --to 2026-11-21)" 3
expect_eq "--since/--until" "$(n --since 2026-11-21 --until 2026-11-22)" 2
expect_eq "--contract --from" "$(n --contract 123859 --from 2026-11-21)" 1
expect_eq "nothing" "$(n --contract 999999)" 0
set +e
X --from yesterday >/dev/null 2>&1; rc=$?
set -e
expect_eq "bad --from" "$rc" 2
# what it writes, replay reads back: into an empty database, same readings
db_create itest_export_log_rt
M migrate --db "$DB" >/dev/null
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null
M replay --config "$tmp/t.conf" --db "$DB" -q "$tmp/all" 2>/dev/null
expect_eq "round trip" "$(sql "SELECT count(*) FROM readings")" 5
echo "test_export_log: ok"
