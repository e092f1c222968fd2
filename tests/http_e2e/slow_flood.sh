#!/bin/bash
# The slow-connection flood of issue 14, by hand (not run by ctest; the
# ctest version is test_http_intake's test_flood_at_descriptor_limit):
# bench_http --serve (the HTTP layer, fake store) under ulimit -n 1024,
# 1,100 connections each sending one more byte of a request every 2 s, for
# 12 s, and a curl of /healthz started at 2 s. Prints the server's CPU
# time, the latency of the curl and the bytes the server logged.
#
#   tests/http_e2e/slow_flood.sh build/bench/bench_http
set -euo pipefail
bin=${1:?usage: slow_flood.sh path/to/bench_http}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( ulimit -n 1024; exec "$bin" --serve ) >"$work/out" \
    2> >(wc -c >"$work/logbytes") &
pid=$!
sleep 1
port=$(grep -o '127.0.0.1:[0-9]*' "$work/out" | head -1 | cut -d: -f2)
( ulimit -n 20000; python3 - "$port" "$pid" 12 <<'PY'
import socket, subprocess, sys, threading, time
port, pid, dur = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / 100.0
req = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
c0, t0, socks, result = cpu(), time.time(), [], {}
for i in range(1100):
    s = socket.socket(); s.setblocking(False)
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    socks.append(s)
def legit():
    t = time.time()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "--max-time", "20", f"http://127.0.0.1:{port}/healthz"],
                       capture_output=True, text=True)
    result["code"], result["secs"] = r.stdout, round(time.time() - t, 2)
th, b = None, 0
while time.time() - t0 < dur:
    if th is None and time.time() - t0 > 2:
        th = threading.Thread(target=legit); th.start()
    for s in socks:
        try: s.send(req[b % len(req):b % len(req) + 1])
        except OSError: pass
    b += 1
    time.sleep(2)
c1, wall = cpu(), time.time() - t0
th.join()
print(f"server CPU {c1 - c0:.2f} s in {wall:.1f} s ({100 * (c1 - c0) / wall:.0f}% of a core); "
      f"GET /healthz: {result['code']} after {result['secs']} s")
PY
)
kill "$pid"; wait "$pid" 2>/dev/null || true; sleep 1
echo "server log: $(cat "$work/logbytes") bytes"
