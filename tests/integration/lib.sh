# Sourced by the shell integration tests: the fixture's cluster, a database
# per test, and small assertions. Set -eu by the caller.
PGBIN=${MLINE_PGBIN:-/usr/lib/postgresql/15/bin}
PSQL=$PGBIN/psql
[ -x "$PSQL" ] || PSQL=psql

fail() { echo "FAIL: $*" >&2; exit 1; }

# No cluster: skip (77), except in CI where it is a failure.
no_cluster() {
	if [ "${CI:-}" = true ]; then fail "no test cluster ($1) and CI=true"; fi
	echo "SKIP: no test cluster ($1)" >&2
	exit 77
}

# db_create NAME: (re)create database NAME, set DB to its conninfo.
db_create() {
	[ -n "${MLINE_TEST_PGHOST:-}" ] || no_cluster "MLINE_TEST_PGHOST not set"
	[ -S "$MLINE_TEST_PGHOST/.s.PGSQL.$MLINE_TEST_PGPORT" ] ||
		no_cluster "no socket in $MLINE_TEST_PGHOST"
	ADMIN="host=$MLINE_TEST_PGHOST port=$MLINE_TEST_PGPORT user=postgres dbname=postgres"
	"$PSQL" -qX -v ON_ERROR_STOP=1 "$ADMIN" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
		-c "CREATE DATABASE $1" >/dev/null
	DB="host=$MLINE_TEST_PGHOST port=$MLINE_TEST_PGPORT user=postgres dbname=$1"
}

# sql QUERY: run it on $DB, print the result unaligned without headers.
sql() { "$PSQL" -qXAt -v ON_ERROR_STOP=1 "$DB" -c "$1"; }

# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }

# expect_match WHAT TEXT PATTERN (grep -E)
expect_match() { printf '%s\n' "$2" | grep -Eq -- "$3" || fail "$1: '$2' does not match /$3/"; }
