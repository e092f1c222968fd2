#!/bin/sh
# [retention] and `meterline maintain` with the clock moved forward
# (--ahead), docs/retention.md:
#  - nothing goes while the periods have not passed;
#  - ids and photos older than their period are deleted, the log stays;
#  - a month of the outbox goes as a whole partition once its end is a
#    period behind the clock; a month of the log likewise, and no id
#    outlives its log row (the store joins them);
#  - a partition left half-detached is finished; running it again changes
#    nothing; the store works again once migrate recreated the month;
#  - replay refuses lines older than the ids kept, whatever --max-age says;
#  - serve drops an old month on its own timer.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
serve_pid=""
trap '[ -z "$serve_pid" ] || kill "$serve_pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
M() { "$MLINE_BIN" "$@"; }
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
month() { date -u -d "$1" +%Y%m; }

db_create itest_retention
M migrate --db "$DB" >/dev/null
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null
base='[window]\ndays = 1-31\n[intake]\nmax_age = 0\n'
printf "$base" >"$tmp/keep.conf"
printf "$base[retention]\nmessages = 90d\noutbox = 30d\nphotos = 20d\nmessage_ids = 60d\n" >"$tmp/ret.conf"

cat >"$tmp/log.csv" <<CSV
time,channel,from,to,text,id
$(at '-2 hours'),sms,79000000401,7377,ПС 123859 45100 23100,
$(at '-1 hour'),sms,79000000402,7377,ПС 102057522 11600,
$(at '-1 hour'),viber,v-403,7377,ПС 345678 10300 8200 5500,vb-1
CSV
M replay --config "$tmp/keep.conf" --db "$DB" -q --send-replies "$tmp/log.csv" 2>/dev/null
sql "INSERT INTO message_photos (message_id, channel, sender, received_at, ref)
     SELECT id, channel, sender, received_at, 'file-1' FROM messages WHERE channel = 'viber'"
counts() { sql "SELECT (SELECT count(*) FROM messages) || ' ' || (SELECT count(*) FROM message_ids)
  || ' ' || (SELECT count(*) FROM outbox) || ' ' || (SELECT count(*) FROM message_photos)"; }
expect_eq "rows before (messages ids outbox photos)" "$(counts)" "3 3 2 1"
this=$(month now)

# ---- nothing has aged yet ------------------------------------------------
expect_eq "maintain now" "$(M maintain --config "$tmp/ret.conf" --db "$DB")" \
	"retention: 0 partitions dropped, 0 ids and 0 photos deleted"
expect_eq "rows after maintain now" "$(counts)" "3 3 2 1"
expect_eq "no periods: nothing to do" "$(M maintain --config "$tmp/keep.conf" --db "$DB" --ahead 1000d)" \
	"retention: no periods set in [retention]: nothing to do"
expect_eq "rows after no periods" "$(counts)" "3 3 2 1"

# ---- 21 days on: photos (20d) go -----------------------------------------
expect_eq "maintain +21d" "$(M maintain --config "$tmp/ret.conf" --db "$DB" --ahead 21d)" \
	"retention: 0 partitions dropped, 0 ids and 1 photos deleted"
expect_eq "rows after +21d" "$(counts)" "3 3 2 0"

# ---- 61 days on: ids (60d) and this month's outbox (30d) go --------------
# (outbox_<this month> ends at most 31 days from now, so at least 61 - 30 -
# 31 = 0 days before the moved clock's cutoff)
M maintain --config "$tmp/ret.conf" --db "$DB" --ahead 61d >"$tmp/out"
expect_match "maintain +61d" "$(cat "$tmp/out")" '^retention: [1-9][0-9]* partitions dropped, 3 ids and 0 photos deleted$'
expect_eq "rows after +61d" "$(counts)" "3 0 0 0"
expect_eq "outbox_$this dropped" "$(sql "SELECT to_regclass('outbox_$this') IS NULL")" t
expect_eq "messages_$this kept" "$(sql "SELECT to_regclass('messages_$this') IS NOT NULL")" t
expect_eq "submissions untouched" "$(sql "SELECT count(*) FROM submissions")" 3

# ---- a half-detached partition is finished -------------------------------
# (a run that died between the two transactions of DETACH CONCURRENTLY)
sql "ALTER TABLE messages DETACH PARTITION messages_$this CONCURRENTLY" >/dev/null
sql "ALTER TABLE messages ATTACH PARTITION messages_$this FOR VALUES FROM ('$(date -u +%Y-%m-01)') TO ('$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m-%d)')" >/dev/null
# a fresh id of this month's log, to see it go with its partition
sql "INSERT INTO message_ids SELECT 'viber', 'vb-2', id, logged_at FROM messages WHERE channel = 'viber'"

# ---- 122 days on: this month of the log (90d) goes, with its ids ---------
M maintain --config "$tmp/ret.conf" --db "$DB" --ahead 122d >"$tmp/out"
expect_match "maintain +122d" "$(cat "$tmp/out")" '^retention: [1-9][0-9]* partitions dropped, 1 ids and 0 photos deleted$'
expect_eq "rows after +122d" "$(counts)" "0 0 0 0"
expect_eq "messages_$this dropped" "$(sql "SELECT to_regclass('messages_$this') IS NULL")" t
expect_eq "no id without its log row" "$(sql "SELECT count(*) FROM message_ids i
  WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = i.message_id)")" 0
expect_eq "maintain +122d again" "$(M maintain --config "$tmp/ret.conf" --db "$DB" --ahead 122d)" \
	"retention: 0 partitions dropped, 0 ids and 0 photos deleted"

# ---- the month comes back with migrate; replay is bounded by the ids -----
M migrate --db "$DB" >/dev/null
cat >"$tmp/new.csv" <<CSV
time,channel,from,to,text,id
$(at '-30 minutes'),sms,79000000404,7377,ПС 176354 40 36,
$(at '-70 days'),sms,79000000405,7377,ПС 123859 45300 23300,
CSV
set +e
M replay --config "$tmp/ret.conf" --db "$DB" -q --max-age 0 "$tmp/new.csv" >/dev/null 2>"$tmp/err"
rc=$?
set -e
expect_eq "replay exit (a line refused)" "$rc" 1
expect_match "replay says why" "$(cat "$tmp/err")" 'keeps message ids for a limited time: lines older than 5183100 s'
expect_match "old line refused" "$(cat "$tmp/err")" 'new.csv:3: the message time is 70 days behind .*not replayed'
expect_eq "new line stored" "$(sql "SELECT count(*) FROM messages WHERE sender = '79000000404'")" 1

# ---- serve drops an old month on its timer -------------------------------
sql "CREATE TABLE messages_200001 PARTITION OF messages FOR VALUES FROM ('2000-01-01') TO ('2000-02-01')"
sql "UPDATE messages SET logged_at = '2000-01-15' WHERE sender = '79000000404'"
sql "UPDATE message_ids SET logged_at = '2000-01-15' WHERE message_id = (SELECT id FROM messages WHERE sender = '79000000404')"
expect_eq "old month filled" "$(sql "SELECT count(*) FROM messages_200001") $(sql "SELECT count(*) FROM message_ids WHERE logged_at < '2001-01-01'")" "1 1"
printf "[database]\nconninfo = $DB\n[console]\nlisten = 127.0.0.1:0\n[retention]\nmessages = 90d\ninterval = 1s\n" >"$tmp/serve.conf"
"$MLINE_BIN" serve --config "$tmp/serve.conf" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
i=0
until grep -q 'retention: dropped messages_200001' "$tmp/serve.log"; do
	i=$((i + 1))
	kill -0 "$serve_pid" 2>/dev/null && [ $i -lt 150 ] || { cat "$tmp/serve.log" >&2; fail "serve did not drop messages_200001"; }
	sleep 0.1
done
kill -TERM "$serve_pid"
wait "$serve_pid" || fail "serve exit status $?"
serve_pid=""
expect_eq "old month gone" "$(sql "SELECT to_regclass('messages_200001') IS NULL") $(sql "SELECT count(*) FROM message_ids")" "t 0"
echo "test_retention: ok"
