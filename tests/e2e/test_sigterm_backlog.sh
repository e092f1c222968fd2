#!/usr/bin/env bash
# Proves: SIGTERM with a backlog of replies stops the gateway within its
# bound (10 s, src/serve/serve.c) with exit 0, loses no reply and leaves
# none leased to the stopped process: the next start sends them at once.
#
# 4,000 Cyrillic MO at 1,000/s (window 2,000) to an SMSC that throttles
# every 25th submit_sm (ESME_RTHROTTLED: the link pauses a second each
# time), so replies leave at about 25/s and pile up in the outbox. Once
# 1,000 messages are stored and 150 replies wait, SIGTERM. Afterwards every
# applied SMS has its reply row, each either sent or pending and due now;
# a new instance sends pending replies within seconds (not after the
# 120 s lease).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_sigterm_backlog
sh "$here/gen_load.sh" 4000 "$W/load" 23
import "$W/load/contracts.csv"
sim_start --flood-file "$W/load/messages.tsv" --window 2000 --rate 1000 \
	--throttle-every 25 --redeliver-ms 300 --timeout 120 --quiet
serve_conf
serve_start

backlog() {
	[ "$(sql "SELECT count(*) FROM messages")" -ge 1000 ] &&
		[ "$(sql "SELECT count(*) FROM outbox WHERE state = 'pending'")" -ge 150 ]
}
wait_until 60 "1,000 messages stored and 150 replies waiting" backlog

t0=$(date +%s%N)
kill -TERM "$SERVE_PID"
i=0
while ! pid_ended "$SERVE_PID" && [ $i -lt 300 ]; do
	sleep 0.05
	i=$((i + 1))
done
t1=$(date +%s%N)
pid_ended "$SERVE_PID" || fail "meterline serve did not stop within 15 s of SIGTERM"
rc=0
wait "$SERVE_PID" || rc=$?
untrack "$SERVE_PID"
SERVE_PID=""
ms=$(((t1 - t0) / 1000000))
echo "SIGTERM to exit: $ms ms" >&2
expect_eq "meterline serve exit status after SIGTERM" "$rc" 0
[ "$ms" -le 11000 ] || fail "SIGTERM to exit took $ms ms, the bound is 10 s"

# Every applied SMS has its reply; nothing is held by the stopped process.
applied=$(sql "SELECT count(*) FROM messages m WHERE m.channel = 'sms'
	AND EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id)")
rows=$(sql "SELECT count(*) FROM outbox")
expect_eq "outbox rows, one per answered message" "$rows" "$applied"
pending=$(sql "SELECT count(*) FROM outbox WHERE state = 'pending'")
leased=$(sql "SELECT count(*) FROM outbox WHERE state = 'pending'
	AND next_attempt_at > now() + interval '5 seconds'")
expect_ge "replies still pending after the stop" "$pending" 1
expect_eq "pending replies leased past the stop" "$leased" 0
sent0=$(sql "SELECT count(*) FROM outbox WHERE state = 'sent'")
grep -q 'stopped cleanly\|stop deadline passed' "$W/serve.log" ||
	fail "no end-of-stop line in serve.log"

# The next start takes the pending replies at once.
serve_start
sent_more() { [ "$(sql "SELECT count(*) FROM outbox WHERE state = 'sent'")" -gt "$sent0" ]; }
wait_until 10 "the restarted gateway to send a pending reply" sent_more
serve_stop
echo "ok: stopped in $ms ms with $pending replies pending (none leased); the next start sent them on"
