#!/bin/sh
# meterline migrate: from empty, again (no-op), concurrent runs, and a
# database newer than the binary.
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"

db_create itest_migrate

out=$("$MLINE_BIN" migrate --db "$DB")
expect_match "first run" "$out" '^schema migrated from version 0 to [0-9]+ \([0-9]+ migrations?\), 16 partitions created$'
latest=$(sql "SELECT max(version) FROM meterline_schema")

out=$("$MLINE_BIN" migrate --db "$DB")
expect_eq "second run" "$out" "schema up to date at version $latest, 0 partitions created"
expect_eq "versions recorded once" "$(sql "SELECT count(*) = count(DISTINCT version) FROM meterline_schema")" t

for t in contracts registers messages message_ids dialogs submissions readings outbox; do
	expect_eq "table $t" "$(sql "SELECT to_regclass('$t') IS NOT NULL")" t
done
month=$(sql "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')")
for t in messages submissions readings outbox; do
	expect_eq "partition ${t}_$month" "$(sql "SELECT to_regclass('${t}_$month') IS NOT NULL")" t
done
expect_eq "partitions per table" \
	"$(sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'messages'::regclass")" 4

# Migration 0013: the outbox's partitions are filled to half (room for a
# claim's heap-only update), those made by meterline_ensure_partitions()
# and those that existed before it; the other tables' are not.
ff() { # the fillfactor of every partition of $1, distinct, comma-separated
	sql "SELECT coalesce(string_agg(DISTINCT coalesce(array_to_string(c.reloptions, ','), '-'), ','), 'none')
	     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	     WHERE i.inhparent = '$1'::regclass"
}
expect_eq "outbox partitions' fillfactor" "$(ff outbox)" "fillfactor=50"
expect_eq "messages partitions' storage options" "$(ff messages)" "-"
sql "CREATE TABLE outbox_200001 PARTITION OF outbox FOR VALUES FROM ('2000-01-01') TO ('2000-02-01')"
# 0013 itself, once more (not by deleting its version row: migrate would
# then run every later migration again too, idempotent or not)
sql "$(cat "$MLINE_SOURCE_DIR/schema/0013_outbox_fillfactor.sql")"
expect_eq "a partition made before 0013 gets it too" "$(ff outbox)" "fillfactor=50"
sql "DROP TABLE outbox_200001"

# Rows land in the current month's partition.
sql "INSERT INTO messages (id, received_at, channel, sender, recipient, text, outcome, dedupe_key)
     VALUES (1, now(), 'sms', '79000000001', '1234', 'x', 'help', 1)"
expect_eq "routed" "$(sql "SELECT count(*) FROM messages_$month")" 1

# Two concurrent runs on a fresh database: both succeed, applied once.
db_create itest_migrate_race
"$MLINE_BIN" migrate --db "$DB" >/dev/null & p1=$!
"$MLINE_BIN" migrate --db "$DB" >/dev/null & p2=$!
wait $p1 || fail "concurrent run 1"
wait $p2 || fail "concurrent run 2"
expect_eq "race: versions" "$(sql "SELECT count(*) FROM meterline_schema")" \
	"$(sql "SELECT count(DISTINCT version) FROM meterline_schema")"

# A database newer than this binary is refused and left alone.
sql "INSERT INTO meterline_schema (version, name) VALUES (9999, '9999_future')"
if out=$("$MLINE_BIN" migrate --db "$DB" 2>&1); then fail "newer database accepted"; fi
expect_match "refusal" "$out" 'version 9999, newer than this binary'

# --config: [database] conninfo is used; --db overrides it.
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
db_create itest_migrate_conf
printf '[database]\nconninfo = %s\n' "$DB" >"$conf"
out=$("$MLINE_BIN" migrate --config "$conf")
expect_match "--config" "$out" '^schema migrated from version 0'
printf '[database]\nconninfo = host=/nonexistent dbname=x\n' >"$conf"
out=$("$MLINE_BIN" migrate --config "$conf" --db "$DB")
expect_match "--db over --config" "$out" '^schema up to date'
printf '[database]\nbogus = 1\n' >"$conf"
if out=$("$MLINE_BIN" migrate --config "$conf" --db "$DB" 2>&1); then fail "broken config accepted"; fi
expect_match "broken config" "$out" 'bogus'

# Usage errors.
set +e
"$MLINE_BIN" migrate --bogus >/dev/null 2>&1; rc=$?
set -e
expect_eq "usage exit" "$rc" 2
echo "ok"
