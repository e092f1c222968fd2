#!/usr/bin/env bash
# The meterline demo: a throwaway PostgreSQL under ./var/, the schema, the
# sample contracts, the SMSC simulator and `meterline serve`; then a
# conversation over SMPP that shows every kind of reply, one message over
# the messenger bridge (HTTP), and what ended up in PostgreSQL. Everything
# it starts is stopped when it ends, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
deps_install

root=$(pwd)
var=$root/var/demo
bin=$root/build/meterline
sim=$root/build/meterline-smsc-sim
pgport=55499

echo "== building =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target meterline meterline-smsc-sim >/dev/null

serve_pid=""
cleanup() {
	[ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
	bash tests/integration/pg_cluster.sh stop "$var/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

# A free TCP port on 127.0.0.1.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

mkdir -p "$var"
rm -rf "$var/pg"
echo "== PostgreSQL in $var/pg =="
bash tests/integration/pg_cluster.sh start "$var/pg" "$pgport"
conninfo="host=$var/pg port=$pgport user=postgres dbname=postgres"
"$bin" migrate --db "$conninfo"
"$bin" import contracts --db "$conninfo" tests/data/contracts-sample.csv

smpp_port=$(free_port)
http_port=$(free_port)
sed -e "s|@CONNINFO@|$conninfo|" -e "s|@SMPP_PORT@|$smpp_port|" \
	-e "s|@HTTP_PORT@|$http_port|" scripts/demo/meterline.conf >"$var/meterline.conf"

echo "== meterline serve (log: $var/serve.log) =="
"$bin" serve --config "$var/meterline.conf" >"$var/serve.log" 2>&1 &
serve_pid=$!

echo "== the conversation, over SMPP (simulator on 127.0.0.1:$smpp_port) =="
"$sim" --port "$smpp_port" --system-id meterline --password demo \
	--scenario scripts/demo/conversation.tsv --timeout 60 2>"$var/sim.log"

echo
echo "== one message from the messenger bridge (HTTP POST /v1/messages) =="
body='{"id":"viber-0001","channel":"viber","from":"viber:5f1c","to":"7377","text":"ПС 102057522 11700","timestamp":"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'"}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac demo-secret | sed 's/^.* //')
echo "> $body"
printf '< '
curl -sS -H 'Content-Type: application/json' -H "X-Meterline-Signature: sha256=$sig" \
	--data-binary "$body" "http://127.0.0.1:$http_port/v1/messages"
echo

echo
echo "== what PostgreSQL holds =="
psql -X -q "$conninfo" <<'SQL'
\pset footer off
SELECT id, channel, sender, text, outcome, reason FROM messages ORDER BY id;
SELECT r.contract, r.position, r.value, r.previous, r.consumption, s.status
  FROM readings r JOIN submissions s ON s.id = r.submission_id
 ORDER BY r.submission_id, r.position;
SELECT id, recipient, state, left(text, 40) AS reply FROM outbox ORDER BY id;
SQL

kill -TERM "$serve_pid"
wait "$serve_pid" && echo "meterline serve stopped cleanly (exit 0)"
serve_pid=""
