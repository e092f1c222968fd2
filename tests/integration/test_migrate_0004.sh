#!/bin/sh
# Migration 0004 on a database with history (each submission of a
# contract in a window of its own: none is a correction): registers' prev_value and
# prev_date are backfilled from the readings (the reading that set the
# last value carries the value before it; that value's date is found when
# a submission of ours holds it, else it came from billing: NULL).
set -eu
. "$(dirname "$0")/lib.sh"
: "${MLINE_BIN:?}" "${MLINE_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
M() { "$MLINE_BIN" "$@"; }

db_create itest_migrate_0004
M migrate --db "$DB" >/dev/null
M import contracts --db "$DB" "$MLINE_SOURCE_DIR/tests/data/contracts-sample.csv" >/dev/null
cat >"$tmp/h.csv" <<'CSV'
time,channel,from,to,text
2026-10-22T12:00:00+03:00,sms,79000000201,7377,ПС 102057522 11638
2026-11-20T12:00:00+03:00,sms,79000000201,7377,ПС 102057522 11700
2026-11-20T12:00:00+03:00,sms,79000000202,7377,ПС 123859 45000 23100
CSV
M replay -q --max-age 0 --db "$DB" "$tmp/h.csv" 2>/dev/null
want=$(sql "SELECT string_agg(concat_ws(' ', contract, position, prev_value, prev_date), ', '
  ORDER BY contract, position) FROM registers WHERE prev_value IS NOT NULL")
expect_eq "prev values written by the store" "$want" \
	"102057522 1 11638 2026-10-22, 123859 1 44800 2026-10-20, 123859 2 23010 2026-10-20"

# Undo 0004 as an older binary's schema had it, then apply 0004 again. The
# later migrations (0005, 0006) stay: 0004's file is applied by itself,
# in one transaction, as `migrate` would apply it after 0003.
sql "ALTER TABLE registers DROP COLUMN prev_value, DROP COLUMN prev_date;
ALTER TABLE dialogs DROP COLUMN pending;
DROP INDEX submissions_contract; DROP INDEX readings_submission;
ALTER TABLE submissions DROP CONSTRAINT submissions_status_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_status_check CHECK (status IN ('accepted', 'review'));
ALTER TABLE readings DROP CONSTRAINT readings_status_check;
ALTER TABLE readings ADD CONSTRAINT readings_status_check CHECK (status IN ('accepted', 'review'))" >/dev/null
"$PSQL" -qXAt -1 -v ON_ERROR_STOP=1 "$DB" -f "$MLINE_SOURCE_DIR/schema/0004_corrections.sql" >/dev/null ||
	fail "0004 did not apply on the older schema"
got=$(sql "SELECT string_agg(concat_ws(' ', contract, position, prev_value, prev_date), ', '
  ORDER BY contract, position) FROM registers WHERE prev_value IS NOT NULL")
# billing's 2026-10-20 values are not in our history: their dates are unknown
expect_eq "backfilled" "$got" \
	"102057522 1 11638 2026-10-22, 123859 1 44800, 123859 2 23010"
expect_eq "pending default" "$(sql "SELECT column_default FROM information_schema.columns
  WHERE table_name = 'dialogs' AND column_name = 'pending'")" "'{}'::integer[]"
echo "test_migrate_0004: ok"
