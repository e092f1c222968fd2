#!/usr/bin/env bash
# Proves (issue 19 item 2): `meterline serve` with a multi-host conninfo
# follows a failover to a streaming replica by itself, and no
# acknowledged message is lost or applied twice. docs/ha.md.
#
# A primary and a hot standby of our own on 127.0.0.1 (TCP, two free
# ports): the standby made with pg_basebackup -R, synchronous replication
# (synchronous_standby_names = 'standby1', synchronous_commit = on), so a
# COMMIT returns only once the standby has the WAL on disk. serve connects
# with
#   host=127.0.0.1,127.0.0.1 port=P1,P2 target_session_attrs=read-write
# The npm peer SMSC (tests/peers/smsc) floods 3,000 Cyrillic MO of
# gen_load.sh at window 20 (a sender's next message waits for the previous
# one's reply); once 800 are stored the primary is stopped with `pg_ctl
# stop -m immediate` (a crash: connections cut) and the standby promoted.
# Meanwhile serve answers deliver_sm ESME_RX_T_APPN and the peer delivers
# them again. In the end every MO is acknowledged and answered, every
# acknowledged MO is on the new primary exactly once, each contract has
# one submission, every outbox row is sent. The peer lingers 15 s after
# the last reply, past the outbox lease (10 s), so that a reply whose
# `sent` mark the crash lost (the outbox commits those asynchronously,
# docs/outbox.md) is sent again and counted. Printed: the outage (the
# crash to the first message committed on the new primary) and the
# replies sent twice.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/peer_lib.sh"

N=${FAILOVER_N:-3000}
KILL_AT=${FAILOVER_KILL_AT:-800}
# Seconds between the crash and the promotion: what a failover manager
# (Patroni, repmgr, pg_auto_failover) takes to decide the primary is dead.
DETECT_S=${FAILOVER_DETECT_S:-8}
FOUND_MAX_S=${FAILOVER_FOUND_MAX_S:-5}
peer_require
[ -x "$PGBIN/pg_basebackup" ] || e2e_skip "no PostgreSQL server binaries in $PGBIN"
W=${E2E_WORK:-${TMPDIR:-/tmp}/mline-e2e-work}/e2e_failover
rm -rf "$W"
mkdir -p "$W"
D=/tmp/mline-failover-$$ # both clusters; short: the sockets live here
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_ctl_() { as_pg "$PGBIN/pg_ctl" "$@"; }

fo_cleanup() {
	local rc=$? c
	set +e
	for c in primary standby; do
		[ -f "$D/$c/postmaster.pid" ] && pg_ctl_ -D "$D/$c" -m immediate -w -t 30 stop >/dev/null 2>&1
		[ -f "$D/$c.log" ] && cp "$D/$c.log" "$W/pg-$c.log"
	done
	rm -rf "$D"
	(exit $rc)
	e2e_cleanup
}
trap fo_cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	if command -v node >/dev/null; then
		node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
			() => { console.log(s.address().port); s.close(); })'
	else
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	fi
}

# ---- the primary
P1=$(free_port)
P2=$(free_port)
[ "$P1" != "$P2" ] || P2=$((P1 + 1))
mkdir -m 700 "$D"
[ "$(id -u)" -ne 0 ] || chown postgres: "$D"
as_pg "$PGBIN/initdb" -D "$D/primary" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
	>"$W/initdb.log" 2>&1 || { cat "$W/initdb.log" >&2; fail "initdb"; }
as_pg sh -c "cat >>'$D/primary/postgresql.conf'" <<CONF
# meterline failover test: the primary
listen_addresses = '127.0.0.1'
unix_socket_directories = '$D'
port = $P1
fsync = on
synchronous_commit = on
wal_level = replica
max_wal_senders = 4
max_connections = 40
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
CONF
pg_ctl_ -D "$D/primary" -l "$D/primary.log" -w -t 60 start >/dev/null ||
	{ cat "$D/primary.log" >&2; fail "the primary did not start"; }

# ---- the standby: a base backup streaming from it, then replication made synchronous
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P1" -U postgres -D "$D/standby" -R \
	-X stream -c fast >"$W/basebackup.log" 2>&1 || { cat "$W/basebackup.log" >&2; fail "pg_basebackup"; }
as_pg sh -c "cat >>'$D/standby/postgresql.conf'" <<CONF
# the standby: its own port; cluster_name is the application_name it
# streams under, the name synchronous_standby_names gives
port = $P2
cluster_name = 'standby1'
hot_standby = on
CONF
pg_ctl_ -D "$D/standby" -l "$D/standby.log" -w -t 60 start >/dev/null ||
	{ cat "$D/standby.log" >&2; fail "the standby did not start"; }
as_pg sh -c "cat >>'$D/primary/postgresql.conf'" <<CONF
synchronous_standby_names = 'standby1'
CONF
pg_ctl_ -D "$D/primary" reload >/dev/null
ADMIN1="host=127.0.0.1 port=$P1 user=postgres dbname=postgres"
sync_state() { "$PSQL" -qXAt "$ADMIN1" -c "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'"; }
# a function, so the state is asked again at every try (an argument
# "$(sync_state)" would be read once, before the reload took)
is_sync() { [ "$(sync_state)" = sync ]; }
wait_until 30 "the standby to stream synchronously" is_sync

# ---- the database (created on the primary, replicated), the load
"$PSQL" -qX -v ON_ERROR_STOP=1 "$ADMIN1" -c "CREATE DATABASE failover" >/dev/null
DB="host=127.0.0.1,127.0.0.1 port=$P1,$P2 user=postgres dbname=failover target_session_attrs=read-write connect_timeout=3"
"$BIN" migrate --db "$DB" >"$W/migrate.log" 2>&1 || { cat "$W/migrate.log" >&2; fail "migrate"; }
sh "$here/gen_load.sh" "$N" "$W/load" 20
import "$W/load/contracts.csv"

cut -f1,3 "$W/load/messages.tsv" >"$W/load/peer.tsv"
peer_start fo --messages "$W/load/peer.tsv" --window 20 --coding ucs2 --hold-sender \
	--redeliver-ms 300 --timeout 150 --linger-ms 15000
serve_conf
serve_start

stored() { [ "$(sql "SELECT count(*) FROM messages")" -ge "$1" ]; }
wait_until 60 "$KILL_AT messages stored" stored "$KILL_AT"
pg_ctl_ -D "$D/primary" -m immediate -w -t 30 stop >/dev/null
t_crash=$(date +%s.%N) # once it is down: what committed before is on the standby
sleep "$DETECT_S"
pg_ctl_ -D "$D/standby" -w -t 60 promote >/dev/null
t_promoted=$(date +%s.%N)
before=$(sql "SELECT count(*) FROM messages")
echo "primary stopped (-m immediate), standby promoted $(echo "$t_promoted - $t_crash" | bc) s later; $before messages on it" >&2

peer_wait
serve_stop
expect_eq "MO acknowledged ESME_ROK" "$(peer_sum acked_rok)" "$(wc -l <"$W/load/peer.tsv")"
expect_eq "MO without a reply" \
	"$(awk -F'\t' '$1 == "mo" && $3 < 1' "$W/peer-fo.results" | wc -l)" 0

# The outage: from the crash to the first message the new primary committed.
first_after=$(sql "SELECT extract(epoch FROM min(logged_at)) FROM messages WHERE logged_at > to_timestamp($t_crash)")
[ -n "$first_after" ] || fail "nothing was stored after the failover"
outage=$(echo "$first_after - $t_crash" | bc)
# serve's own part: from the promotion to its first commit there
found=$(echo "$first_after - $t_promoted" | bc)
expect_eq "the new primary is read-write" "$(sql "SELECT pg_is_in_recovery()")" f
tempfails=$(peer_sum resp_other)
expect_ge "deliver_sm answered with a temporary error" "$tempfails" 1
check_exactly_once "$W/peer-fo.results"
check_load "$W/load/expected"
expect_eq "outbox rows not sent" "$(sql "SELECT count(*) FROM outbox WHERE state <> 'sent'")" 0
# Replies sent twice: the outbox commits its `sent` marks asynchronously
# (docs/outbox.md), so a mark the primary had not flushed at the crash is
# gone and that reply goes out again after its lease: counted, not failed.
dups=$(peer_sum extra_replies)
echo "outage: ${outage} s from the crash of the primary to the first message committed on the new one (promoted after ${DETECT_S} s; serve there ${found} s after the promotion); $dups replies sent twice" >&2
[ "$(echo "$found < $FOUND_MAX_S" | bc)" = 1 ] ||
	fail "serve took ${found} s after the promotion to commit there, expected under $FOUND_MAX_S s"
expect_eq "replies to strangers" "$(peer_sum stranger_replies)" 0
echo "ok: $ACKED MO exactly once across a failover to the standby (outage $(printf '%.1f' "$outage") s, $tempfails temporary errors, $dups replies twice)"
