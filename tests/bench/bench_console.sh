#!/bin/sh
# bench_console: the console's search latency and the billing API's rate
# on a generated database (docs/console.md, "Speed").
#
#   bench_console.sh [--messages N] [--readings N] [--queries N] [--api-runs N]
#                    [--keep] [--smoke]
#
# Generates N messages (default 10,000,000) from N/10 senders about N/10
# contracts over the last six months, and N readings (default 1,000,000)
# with their submissions, straight with SQL; then starts `meterline serve`
# with [console], logs in, and measures
#   - searches by phone and by contract: --queries each (default 1,000),
#     random existing values, one keep-alive connection, p50/p99/max;
#   - GET /api/v1/readings from the start in pages of 100,000: rows/s,
#     --api-runs times (default 1), with the load average, and the median.
# --smoke: 20,000 messages, 5,000 readings, 50 queries; checks the answers.
#
# The database: the ctest fixture's cluster (MLINE_TEST_PGHOST/PGPORT), else
# a throw-away cluster of its own, stopped at exit (--keep leaves it, and
# prints its directory, for another run with MLINE_BENCH_PGDIR=DIR).
# MLINE_BIN is the meterline binary (default: build/meterline).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$src/tests/integration/lib.sh"
MLINE_BIN=${MLINE_BIN:-$src/build/meterline}

messages=10000000
readings=1000000
queries=1000
api_runs=1
smoke=false
keep=false
while [ $# -gt 0 ]; do
	case $1 in
	--messages) messages=$2; shift ;;
	--readings) readings=$2; shift ;;
	--queries) queries=$2; shift ;;
	--api-runs) api_runs=$2; shift ;;
	--keep) keep=true ;;
	--smoke) smoke=true; messages=20000; readings=5000; queries=50 ;;
	*) echo "usage: bench_console.sh [--messages N] [--readings N] [--queries N] [--api-runs N] [--keep] [--smoke]" >&2; exit 2 ;;
	esac
	shift
done
command -v curl >/dev/null || { echo "SKIP: no curl" >&2; exit 77; }
command -v jq >/dev/null || { echo "SKIP: no jq" >&2; exit 77; }

tmp=$(mktemp -d)
pid=
own=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -f "$tmp/serve.log" ] && cp "$tmp/serve.log" "${TMPDIR:-/tmp}/bench_console.serve.log"
	[ -n "$own" ] && [ "$keep" = false ] && sh "$src/tests/integration/pg_cluster.sh" stop "$own" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -z "${MLINE_TEST_PGHOST:-}" ]; then
	MLINE_TEST_PGPORT=5432
	if [ -n "${MLINE_BENCH_PGDIR:-}" ]; then
		MLINE_TEST_PGHOST=$MLINE_BENCH_PGDIR
	else
		own=/tmp/mline-bench-console-$$
		sh "$src/tests/integration/pg_cluster.sh" start "$own" "$MLINE_TEST_PGPORT" >/dev/null
		MLINE_TEST_PGHOST=$own
	fi
	export MLINE_TEST_PGHOST MLINE_TEST_PGPORT
fi

now_ms() { date +%s%3N; }
senders=$((messages / 10))
[ "$senders" -ge 1 ] || senders=1

if [ -z "${MLINE_BENCH_PGDIR:-}" ]; then
	db_create mline_bench_console
	"$MLINE_BIN" migrate --db "$DB" >/dev/null 2>&1
	t0=$(now_ms)
	# partitions of the last six months (migrate made this month's and later)
	sql "DO \$\$ DECLARE m timestamp; p text; t text; BEGIN
	  FOREACH t IN ARRAY ARRAY['messages','submissions','readings','outbox'] LOOP
	  FOR i IN 1..5 LOOP
	    m := date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => i);
	    p := format('%s_%s', t, to_char(m, 'YYYYMM'));
	    CONTINUE WHEN to_regclass(p) IS NOT NULL;
	    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
	      p, t, m AT TIME ZONE 'UTC', (m + interval '1 month') AT TIME ZONE 'UTC');
	  END LOOP; END LOOP; END \$\$" >/dev/null
	sql "INSERT INTO contracts (contract, resource)
	     SELECT (1000000000 + g)::text, 'electricity' FROM generate_series(1, $senders) g;
	     INSERT INTO registers (contract, position, name, digits, last_value, last_date)
	     SELECT (1000000000 + g)::text, 1, 'показания', 6, 1000, date '2026-01-01'
	     FROM generate_series(1, $senders) g" >/dev/null
	# messages in chunks of at most 1M: sender g % senders, about its contract
	done_m=0
	while [ "$done_m" -lt "$messages" ]; do
		n=$((messages - done_m)); [ "$n" -gt 1000000 ] && n=1000000
		sql "INSERT INTO messages (id, logged_at, received_at, channel, sender, recipient,
		       text, contract, outcome, reason, reply, dedupe_key, advanced)
		     SELECT g, t, t, CASE WHEN g % 10 = 0 THEN 'viber' ELSE 'sms' END,
		       (79000000000 + g % $senders)::text, '7377',
		       'ПС ' || (1000000000 + g % $senders) || ' ' || (1000 + g % 97),
		       (1000000000 + g % $senders)::text,
		       CASE WHEN g % 13 = 0 THEN 'rejected' ELSE 'accepted' END,
		       CASE WHEN g % 13 = 0 THEN 'bad_format' END,
		       'Показания приняты. Спасибо.', g, g % 3 = 0
		     FROM (SELECT g, now() - (g % 15552000) * interval '1 second' AS t
		           FROM generate_series($done_m + 1, $done_m + $n) g) x" >/dev/null
		done_m=$((done_m + n))
		echo "messages: $done_m" >&2
	done
	sql "SELECT setval('messages_id_seq', $messages)" >/dev/null
	# readings, one per submission, as the store writes them
	sql "WITH s AS (INSERT INTO submissions (id, message_id, contract, resource, channel,
	       sender, submitted_at, started_at, local_date, status)
	     SELECT g, g, (1000000000 + g % $senders)::text, 'electricity', 'sms',
	       (79000000000 + g % $senders)::text, now(), now(), current_date, 'accepted'
	     FROM generate_series(1, $readings) g RETURNING id, created_at, contract)
	     INSERT INTO readings (submission_id, created_at, contract, position, value,
	       previous, consumption, status)
	     SELECT id, created_at, contract, 1, 2000, 1000, 1000, 'accepted' FROM s" >/dev/null
	sql "ANALYZE" >/dev/null
	echo "generated $messages messages, $readings readings in $(( ($(now_ms) - t0) / 1000 )) s;" \
		"database $(sql "SELECT pg_size_pretty(pg_database_size(current_database()))")" >&2
else
	DB="host=$MLINE_TEST_PGHOST port=$MLINE_TEST_PGPORT user=postgres dbname=mline_bench_console"
fi
[ "$keep" = true ] && [ -n "$own" ] && echo "cluster kept: MLINE_BENCH_PGDIR=$own" >&2

cat >"$tmp/t.conf" <<CONF
[database]
conninfo = $DB
[console]
listen = 127.0.0.1:0
CONF
printf 'bench-password-1\n' | "$MLINE_BIN" user add bench --role support --update --config "$tmp/t.conf" >/dev/null
tok=$("$MLINE_BIN" token add "bench-$$" --config "$tmp/t.conf")
# The log exists before the loop below reads it: the shell opens it in
# the background child, which may not have run yet.
: >"$tmp/serve.log"
"$MLINE_BIN" serve --config "$tmp/t.conf" >"$tmp/serve.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 100); do
	port=$(sed -n 's/.*console: listening on .* (port \([0-9]*\)).*/\1/p' "$tmp/serve.log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || fail "no console port"
U=http://127.0.0.1:$port
sleep 0.5
pre=$(curl -s -c "$tmp/jar" "$U/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
cookie=$(curl -s -D - -o /dev/null -b "ml_login=$pre" \
	--data "csrf=$pre&user=bench&password=bench-password-1" "$U/login" |
	sed -n 's/^Set-Cookie: \(ml_session=[0-9a-f]*\);.*/\1/p')
[ -n "$cookie" ] || fail "login"

# latency KIND PARAM: --queries searches with random existing values
latency() {
	: >"$tmp/urls"
	for i in $(seq 1 "$queries"); do
		r=$(( ($(od -An -N4 -tu4 /dev/urandom) % senders) ))
		if [ "$1" = phone ]; then v=$((79000000000 + r)); else v=$((1000000000 + r)); fi
		printf 'url = "%s/?%s=%s"\noutput = /dev/null\n' "$U" "$1" "$v" >>"$tmp/urls"
	done
	# one process, one keep-alive connection; time_total per request
	curl -s -b "$cookie" -w '%{http_code} %{time_total}\n' -K "$tmp/urls" >"$tmp/times"
	bad=$(grep -vc '^200 ' "$tmp/times" || true)
	[ "$bad" = 0 ] || fail "$1: $bad answers not 200"
	sort -n -k2 "$tmp/times" | awk -v kind="$1" '{ t[NR] = $2 * 1000 }
	  END { printf "search by %-8s %d queries: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	    kind, NR, t[int(NR * 0.5) + 1], t[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))], t[NR] }'
}
if [ "$smoke" = true ]; then
	n=$(curl -s -b "$cookie" "$U/?phone=79000000007" | grep -c '<tr><td class="nowrap">')
	expect_eq "smoke: messages of one phone" "$n" 10
	n=$(curl -s -b "$cookie" "$U/?contract=1000000007" | grep -c '<tr><td class="nowrap">')
	expect_eq "smoke: messages of one contract" "$n" 10
fi
latency phone
latency contract

# the API from the start, pages of 100,000, as a billing client would
# read it (curl to a file; the cursor and "more" from the last line);
# --api-runs times, each rate with the load average beside, then the median
api_read() {
	t0=$(now_ms)
	cur=0.0
	rows=0
	while :; do
		curl -s -o "$tmp/page" -H "Authorization: Bearer $tok" \
			"$U/api/v1/readings?since=$cur&limit=100000"
		n=$(grep -c '^{"cursor"' "$tmp/page" || true)
		rows=$((rows + n))
		last=$(tail -n 1 "$tmp/page")
		cur=$(printf '%s' "$last" | sed -n 's/.*"next":"\([0-9.]*\)".*/\1/p')
		[ -n "$cur" ] || fail "API: no next cursor in '$last'"
		case $last in *'"more":true'*) ;; *) break ;; esac
	done
	ms=$(( $(now_ms) - t0 ))
	[ "$ms" -gt 0 ] || ms=1
	expect_eq "API rows" "$rows" "$readings"
	echo "API: $rows readings in $ms ms: $((rows * 1000 / ms)) readings/s (pages of 100,000; load average $(cut -d' ' -f1-3 /proc/loadavg))"
	echo "$((rows * 1000 / ms))" >>"$tmp/rates"
}
: >"$tmp/rates"
for _ in $(seq 1 "$api_runs"); do api_read; done
[ "$smoke" = false ] || jq -e '.readings | length > 0' "$tmp/page" >/dev/null ||
	fail "smoke: the last page is not JSON"
if [ "$api_runs" -gt 1 ]; then
	echo "API median of $api_runs: $(sort -n "$tmp/rates" | sed -n "$(( (api_runs + 1) / 2 ))p") readings/s"
fi
echo "serve: $(ps -o rss= -p "$pid") kB RSS"
echo "PASS bench_console"
