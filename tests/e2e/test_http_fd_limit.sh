#!/usr/bin/env bash
# Proves: the real `meterline serve` (HTTP bridge, store, PostgreSQL) under
# a low descriptor limit (ulimit -n 256) does not spin, does not flood its
# log and keeps serving while 400 connections trickle one byte every 2 s
# for 8 s: its CPU stays low, its log small, /healthz answers on the admin
# listener and a signed message is stored (docs/security.md, HTTP).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

command -v python3 >/dev/null || { echo "no python3: skipped" >&2; exit 77; }
command -v curl >/dev/null || { echo "no curl: skipped" >&2; exit 77; }
e2e_init e2e_http_fd_limit
import "$here/contracts-latin.csv"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret=fd-limit-secret-0123456789
SIM_PORT=9 # no SMSC: the link just retries
serve_conf "[http]
listen = 127.0.0.1:$port
admin_listen = 127.0.0.1:$admin
secret = $secret
rate_limit = 0"
( ulimit -n 256; exec "$BIN" serve --config "$W/serve.conf" ) >>"$W/serve.log" 2>&1 &
SERVE_PID=$!
track "$SERVE_PID"
# /healthz is the bridge's readiness: 200 though no SMSC is there to bind
# to (/healthz/sms says 503).
up() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/healthz" | grep -q 200; }
wait_until 20 "/healthz on the admin listener" up

log0=$(wc -c <"$W/serve.log")
python3 - "$port" "$admin" "$SERVE_PID" 8 400 >"$W/flood.out" <<'PY'
import socket, subprocess, sys, time
port, admin, pid, dur, n = (int(a) for a in sys.argv[1:6])
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0
req = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
c0, t0, socks = cpu(), time.time(), []
for i in range(n):
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    socks.append(s)
b, health = 0, None
while time.time() - t0 < dur:
    if health is None and time.time() - t0 > 3:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                            "--max-time", "5", f"http://127.0.0.1:{admin}/healthz"],
                           capture_output=True, text=True)
        health = r.stdout
    for s in socks:
        try: s.send(req[b % len(req):b % len(req) + 1])
        except OSError: pass
    b += 1
    time.sleep(2)
print(f"cpu {cpu() - c0:.2f} wall {time.time() - t0:.1f} health {health}")
PY
read -r _ cpu _ wall _ code secs <"$W/flood.out"
log1=$(wc -c <"$W/serve.log")
echo "flood: serve CPU ${cpu} s in ${wall} s, log +$((log1 - log0)) bytes, /healthz $code in ${secs} s" >&2
python3 -c "import sys; sys.exit(0 if float('$cpu') < 0.25 * float('$wall') else 1)" ||
	fail "serve used ${cpu} s of CPU in ${wall} s: it spins"
[ $((log1 - log0)) -lt 20000 ] || fail "serve logged $((log1 - log0)) bytes during the flood"
expect_eq "/healthz on the admin listener during the flood" "$code" 200
expect_eq "/healthz/sms without an SMSC" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin/healthz/sms")" 503

# A real message still goes through.
body='{"id":"fd-1","channel":"viber","from":"447700900009","to":"7377","text":"PS 123859 11638 5100","timestamp":"'"$(date -u +%Y-%m-%dT%H:%M:%SZ)"'"}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= //')
got=$(curl -s -o "$W/resp" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
	-H "X-Meterline-Signature: sha256=$sig" --data-binary "$body" "http://127.0.0.1:$port/v1/messages")
expect_eq "signed POST after the flood" "$got" 200
expect_eq "the message stored" "$(sql "SELECT count(*) FROM messages WHERE external_id = 'fd-1'")" 1
serve_stop
echo "ok: serve under ulimit -n 256 and 400 trickling connections: CPU ${cpu} s / ${wall} s, /healthz answered, message stored"
