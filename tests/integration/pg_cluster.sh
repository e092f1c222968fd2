#!/bin/sh
# Throw-away PostgreSQL 15 cluster for the integration tests.
#
#   pg_cluster.sh start DIR PORT   initdb DIR/data and start a server that
#                                  listens only on the Unix socket DIR/.s.PGSQL.PORT
#   pg_cluster.sh stop DIR [LOG]   stop it (fast, then immediate), copy its
#                                  server log to LOG, remove DIR
#   pg_cluster.sh halt DIR         stop the server, keep the cluster
#   pg_cluster.sh resume DIR       start it again (tests of outages)
#
# initdb refuses to run as root, so as root everything runs as the `postgres`
# user and DIR is handed over to it. The superuser is always `postgres`, auth
# is trust (the socket is in a private directory). fsync and
# synchronous_commit stay on: the store benchmark must measure real commits.
#
# Exit 77 (skip) when the server binaries are missing, unless CI=true:
# in CI a missing PostgreSQL is a failure, never a skip.
set -eu

PGBIN=${MLINE_PGBIN:-/usr/lib/postgresql/15/bin}

die() { echo "pg_cluster: $*" >&2; exit 1; }

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

stop_cluster() {
	dir=$1
	[ -d "$dir/data" ] || return 0
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
			true
	fi
}

cmd=${1:-}
dir=${2:-}
usage="usage: pg_cluster.sh start DIR PORT | stop DIR [LOG] | halt DIR | resume DIR"
[ -n "$dir" ] || die "$usage"
case $dir in /*) ;; *) die "DIR must be absolute: $dir" ;; esac

case $cmd in
start)
	port=${3:?usage: pg_cluster.sh start DIR PORT}
	if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
		if [ "${CI:-}" = true ]; then
			die "no PostgreSQL server binaries in $PGBIN (CI: not skipping)"
		fi
		echo "pg_cluster: no PostgreSQL server binaries in $PGBIN: skipping" >&2
		exit 77
	fi
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		die "running as root but there is no postgres user to run initdb as"
	fi
	# A cluster left over by an interrupted run: stop it and start afresh.
	stop_cluster "$dir"
	rm -rf "$dir"
	mkdir -m 700 "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
		--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	as_owner sh -c "cat >>'$dir/data/postgresql.conf'" <<CONF
# meterline test cluster
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = on
synchronous_commit = on
max_connections = 60
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
CONF
	if ! as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
		cat "$dir/server.log" >&2 || true
		die "server did not start"
	fi
	echo "pg_cluster: started, socket $dir port $port"
	;;
stop)
	log=${3:-}
	stop_cluster "$dir"
	if [ -n "$log" ] && [ -f "$dir/server.log" ]; then
		cp "$dir/server.log" "$log" || true
	fi
	rm -rf "$dir"
	echo "pg_cluster: stopped $dir"
	;;
halt)
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
	;;
resume)
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
	;;
*)
	die "$usage"
	;;
esac
