#!/usr/bin/env bash
# Proves: serve works through Debian's PgBouncer in transaction pooling
# with [database] pooler = transaction (docs/store.md, "PgBouncer").
# PgBouncer (pool_mode = transaction, 2 server connections for the
# database) listens on a free 127.0.0.1 port; serve's store, outbox and
# console connections (4 clients) all go through it, so consecutive
# transactions of one client run on different server connections. 3,000
# Cyrillic MO are offered at 600/s (window 100): every acknowledged MO is
# stored exactly once, every MO has its reply at the simulator, every
# outbox row is sent, and PostgreSQL saw at most the 2 pooled backends.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

PGBOUNCER=${MLINE_PGBOUNCER:-/usr/sbin/pgbouncer}
[ -x "$PGBOUNCER" ] || e2e_skip "no $PGBOUNCER (apt-get install pgbouncer)"

e2e_init e2e_pgbouncer
sh "$here/gen_load.sh" 3000 "$W/load" 20
import "$W/load/contracts.csv"

# ---- PgBouncer on a free port, as postgres when we are root --------------
PGB=$W/pgbouncer
mkdir -p "$PGB"
PGB_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo '"postgres" ""' >"$PGB/userlist.txt"
printf '%s\n' "[databases]" \
	"e2e_pgbouncer = host=$PGHOST_ port=$PGPORT_ dbname=e2e_pgbouncer pool_size=2" \
	"[pgbouncer]" \
	"listen_addr = 127.0.0.1" \
	"listen_port = $PGB_PORT" \
	"unix_socket_dir =" \
	"auth_type = trust" \
	"auth_file = $PGB/userlist.txt" \
	"admin_users = postgres" \
	"pool_mode = transaction" \
	"max_client_conn = 50" \
	"server_reset_query =" \
	"logfile = $PGB/pgbouncer.log" \
	"pidfile = $PGB/pgbouncer.pid" >"$PGB/pgbouncer.ini"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres: "$PGB"
	as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$PGBOUNCER" -d "$PGB/pgbouncer.ini" || fail "pgbouncer did not start (see $PGB/pgbouncer.log)"
pgb_up() { [ -s "$PGB/pgbouncer.pid" ]; }
wait_until 10 "pgbouncer's pid file" pgb_up
track "$(cat "$PGB/pgbouncer.pid")"
PGB_DB="host=127.0.0.1 port=$PGB_PORT user=postgres dbname=e2e_pgbouncer"
pgb_ready() { "$PSQL" -qXAt "$PGB_DB" -c "SELECT 1" >/dev/null 2>&1; }
wait_until 10 "pgbouncer accepting" pgb_ready

# ---- the flood, through the pooler ---------------------------------------
sim_start --flood-file "$W/load/messages.tsv" --window 100 --rate 600 \
	--redeliver-ms 300 --results "$W/results" --timeout 150
direct=$DB
DB=$PGB_DB
serve_conf "[console]
listen = 127.0.0.1:0"
sed -i 's/^conninfo = .*/&\npooler = transaction/' "$W/serve.conf"
DB=$direct
serve_start

# the most backends PostgreSQL gives the database while the flood runs;
# not this loop's own psql, nor the one it ran 0.2 s ago, whose backend
# may still be exiting on a loaded machine (CI's ASan run counted 3), nor
# an autovacuum worker on the database (a full run counted 3: client
# backends only)
max_backends=0
while ! pid_ended "$SIM_PID"; do
	pid_ended "$SERVE_PID" && fail "meterline serve ended during the flood"
	n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'e2e_pgbouncer' AND application_name <> 'psql' AND backend_type = 'client backend'")
	[ "$n" -le "$max_backends" ] || max_backends=$n
	[ "$n" -le 2 ] || sql "SELECT pid, backend_type, application_name, state, left(query, 60)
		FROM pg_stat_activity WHERE datname = 'e2e_pgbouncer'" >>"$W/backends.txt"
	sleep 0.2
done
clients=$("$PSQL" -qXAt "host=127.0.0.1 port=$PGB_PORT user=postgres dbname=pgbouncer" -c "SHOW CLIENTS" |
	awk -F'|' '$3 == "e2e_pgbouncer"' | wc -l)
sim_wait
expect_eq "simulator exit status (every MO acknowledged and answered)" "$SIM_RC" 0
serve_stop

check_exactly_once "$W/results"
check_load "$W/load/expected"
expect_eq "outbox rows not sent" "$(sql "SELECT count(*) FROM outbox WHERE state <> 'sent'")" 0
expect_ge "serve's connections to PgBouncer" "$clients" 4
expect_ge "PostgreSQL backends seen through the pooler" "$max_backends" 1
[ "$max_backends" -le 2 ] || fail "PostgreSQL backends for the database: $max_backends, more than PgBouncer's pool of 2: $(cat "$W/backends.txt")"
if grep -Eq 'prepared statement|unexpected result|preparing statements' "$W/serve.log"; then
	grep -E 'prepared statement|unexpected result|preparing statements' "$W/serve.log" | head -5 >&2
	fail "statement errors through the pooler"
fi
echo "ok: $ACKED MO exactly once through PgBouncer (transaction pooling, $clients clients on at most $max_backends backends)"
