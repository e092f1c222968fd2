#!/usr/bin/env bash
# Proves: no DNS lookup blocks the event loop (issue 19 item 4, docs/dns.md).
# The SMSC is configured by name, smsc.test, and [dns] points at a local
# resolver (tests/peers/slow_dns.py) that answers every query 2 s late.
# While the gateway's lookup of smsc.test is pending, /healthz on the admin
# listener answers within 100 ms, every time it is asked; then the answer
# comes, the link connects to the simulator and binds. A second gateway
# whose resolver never answers (a silent UDP port, [dns] timeout 300ms,
# attempts 1) keeps answering too and logs "cannot resolve db.test",
# then retries: a lookup that fails is a connect that failed. PostgreSQL
# is reached by name too (db.test, through a TCP proxy to the cluster's
# socket): the store and the console connect once db.test has resolved. libcurl's
# lookups (the messenger APIs) run in a thread: test_webc_dns with the
# system resolver 2 s late, in namespaces of its own.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

command -v python3 >/dev/null || { echo "no python3: skipped" >&2; exit 77; }
command -v curl >/dev/null || { echo "no curl: skipped" >&2; exit 77; }
e2e_init e2e_slow_dns
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

python3 "$MLINE_SOURCE_DIR/tests/peers/slow_dns.py" --delay 2 --log "$W/dns.log" \
	2>"$W/dns.err" &
DNS_PID=$!
track "$DNS_PID"
wait_until 10 "the slow resolver to listen" grep -q 'listening on 127.0.0.1:' "$W/dns.err"
dns_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$W/dns.err")

# PostgreSQL by name too: db.test resolves (slowly) to 127.0.0.1, where a
# small proxy passes TCP on to the test cluster's socket.
pg_tcp=$(free_port)
python3 - "$pg_tcp" "$PGHOST_/.s.PGSQL.$PGPORT_" 2>"$W/pgproxy.err" <<'PY' &
import asyncio, sys
async def pipe(r, w):
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    finally:
        w.close()
async def client(r, w):
    ur, uw = await asyncio.open_unix_connection(sys.argv[2])
    await asyncio.gather(pipe(r, uw), pipe(ur, w), return_exceptions=True)
async def main():
    srv = await asyncio.start_server(client, "127.0.0.1", int(sys.argv[1]))
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
PY
PROXY_PID=$!
track "$PROXY_PID"
DB_BY_SOCKET=$DB
DB="host=db.test port=$pg_tcp user=postgres dbname=e2e_slow_dns sslmode=disable"

sim_start --timeout 30
admin=$(free_port)
serve_conf "[http]
listen = 127.0.0.1:$(free_port)
admin_listen = 127.0.0.1:$admin
secret = slow-dns-secret-0123456789

[console]
listen = 127.0.0.1:0

[dns]
nameserver = 127.0.0.1:$dns_port
timeout = 5s"
sed -i 's/^host = 127\.0\.0\.1$/host = smsc.test/' "$W/serve.conf"
grep -q '^host = smsc.test$' "$W/serve.conf" || fail "the config does not name smsc.test"
serve_start

# /healthz on the admin listener: status and seconds.
health() {
	curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}\n' \
		"http://127.0.0.1:$admin/healthz"
}
# Each name takes 2 s: db.test first (the link waits for the store), then
# smsc.test. /healthz is asked every 0.1 s from the first query to the
# last answer, and each answer comes within 100 ms.
wait_until 10 "the lookup of db.test" grep -q ' query db.test 1$' "$W/dns.log"
# 200, or 503 while the database is not connected yet: an answer, at once
up() { health | grep -Eq '^(200|503) '; }
wait_until 2 "/healthz on the admin listener" up
n=0 worst=0
: >"$W/probes"
until grep -q ' answer smsc.test 1$' "$W/dns.log"; do
	date +%s.%N >>"$W/probes"
	read -r code secs < <(health)
	expect_match "/healthz while db.test or smsc.test is resolving" "$code" '^(200|503)$'
	awk -v s="$secs" 'BEGIN { exit !(s < 0.1) }' ||
		fail "/healthz took $secs s while a name was resolving"
	worst=$(awk -v s="$secs" -v w="$worst" 'BEGIN { print (s > w) ? s : w }')
	n=$((n + 1))
	[ $n -lt 150 ] || fail "smsc.test was never answered"
	sleep 0.1
done
first=$(sed -n 's/^\([0-9.]*\) query db.test 1$/\1/p' "$W/dns.log" | head -n 1)
last=$(sed -n 's/^\([0-9.]*\) answer smsc.test 1$/\1/p' "$W/dns.log" | head -n 1)
span=$(awk -v f="$first" -v l="$last" 'BEGIN { printf "%.1f", l - f }')
awk -v s="$span" 'BEGIN { exit !(s >= 3.5) }' || fail "the two lookups took $span s, not 2 + 2"
# probes asked while each lookup was pending (a loaded machine runs the
# loop above slowly: a few each is enough, every one was fast)
during() { # NAME: probes between its query and its answer
	local q a
	q=$(sed -n "s/^\([0-9.]*\) query $1 1\$/\1/p" "$W/dns.log" | head -n 1)
	a=$(sed -n "s/^\([0-9.]*\) answer $1 1\$/\1/p" "$W/dns.log" | head -n 1)
	awk -v q="$q" -v a="$a" '$1 > q && $1 < a - 0.1 { n++ } END { print n + 0 }' "$W/probes"
}
expect_ge "/healthz answers while db.test was resolving" "$(during db.test)" 2
expect_ge "/healthz answers while smsc.test was resolving" "$(during smsc.test)" 2

# Then the answers: the link connects to 127.0.0.1 and binds, the store
# connects through the proxy, and /healthz says 200.
bound() { grep -q 'bound to smsc.test:' "$W/serve.log"; }
wait_until 10 "the link to bind to smsc.test" bound
grep -q ' answer smsc.test 1$' "$W/dns.log" || fail "bound without the resolver's answer"
stored() { grep -q 'db store#0: connected' "$W/serve.log"; }
wait_until 10 "the store to connect to db.test" stored
grep -q ' answer db.test 1$' "$W/dns.log" || fail "connected without the resolver's answer"
# the console's own connection is looked up on the loop too
console_db() { grep -q 'db console: connected' "$W/serve.log"; }
wait_until 10 "the console to connect to db.test" console_db
healthy() { health | grep -q '^200 '; }
wait_until 5 "/healthz 200 once all is up" healthy
serve_stop
kill "$SIM_PID" 2>/dev/null || true
sim_wait
expect_eq "binds at the simulator" "$(sim_stat 'binds ok')" 1

# A resolver that never answers: the lookup fails after timeout x attempts,
# the link says why and tries again; the loop serves all along.
silent=$(free_port)
python3 -c "import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',$silent)); time.sleep(60)" &
SILENT_PID=$!
track "$SILENT_PID"
sed -i "s/^nameserver = .*/nameserver = 127.0.0.1:$silent/; s/^timeout = 5s$/timeout = 300ms\nattempts = 1/" "$W/serve.conf"
: >"$W/serve.log"
serve_start
wait_until 10 "/healthz with a silent resolver" up
# (the database first: the link waits for the store)
failed() { grep -q 'db store#0: cannot resolve db.test' "$W/serve.log"; }
wait_until 10 "the failed lookup to be logged" failed
read -r code secs < <(health)
expect_match "/healthz with a silent resolver" "$code" '^(200|503)$'
awk -v s="$secs" 'BEGIN { exit !(s < 0.1) }' || fail "/healthz took $secs s with a silent resolver"
serve_stop

# libcurl (the messenger APIs) resolves with getaddrinfo in a thread of its
# own: test_webc_dns's request to api.test with the system resolver 2 s
# late (namespaces: tests/peers/slow_dns_netns.sh) while a 10 ms timer on
# its loop keeps firing. Where namespaces are not allowed, say so.
webc="not run (no unprivileged namespaces here)"
if unshare -r -n -m true 2>/dev/null && command -v ip >/dev/null; then
	unshare -r -n -m bash "$MLINE_SOURCE_DIR/tests/peers/slow_dns_netns.sh" "$W" \
		"$MLINE_WEBC_DNS_BIN" >"$W/webc_dns.log" 2>&1 ||
		{ cat "$W/webc_dns.log" >&2; fail "test_webc_dns with a slow system resolver"; }
	grep -q 'OK \] test_slow_lookup' "$W/webc_dns.log" ||
		{ cat "$W/webc_dns.log" >&2; fail "test_slow_lookup did not run"; }
	webc=$(sed -n 's/^api.test answered //p' "$W/webc_dns.log")
fi
echo "libcurl: $webc"
echo "ok: $n /healthz answers (worst ${worst} s) in the ${span} s db.test and smsc.test took to resolve; connected and bound after the answers; a silent resolver fails the lookups, not the loop"
