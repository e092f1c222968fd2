#!/usr/bin/env bash
# Proves: serve killed (SIGKILL) after a messenger message committed and
# while its reply is on the wire (the fake API holds the sendMessage
# without answering) loses nothing and sends nothing twice: the next serve
# sends the reply once (the dead instance's lease ended by hand instead of
# waiting lease_s), and a retried update after the restart is a duplicate.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v python3 >/dev/null || { echo "no python3: skipped" >&2; exit 77; }
command -v curl >/dev/null || { echo "no curl: skipped" >&2; exit 77; }
e2e_init msgr_kill9
import "$SRC/tests/data/contracts-sample.csv"
fake_start
msgr_conf
serve_up

fake_mode hang 1
expect_eq "update" "$(tg_post 7001 701 'ПС 102057522 11638')" 200
wait_until 10 "the send to hang" grep -q $'^CALL\thang' "$W/fake.log"
expect_eq "committed, claimed, unsent" "$(sql "SELECT state || ' ' || attempts FROM outbox WHERE recipient = '701'")" "pending 1"
serve_kill9
fake_mode 0 0
expect_eq "no reply yet" "$(nsent telegram 701)" 0
# the dead instance's lease, ended by hand (lease_s is 120 s)
sql "UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'" >/dev/null
serve_up
wait_reply telegram 701 1
expect_eq "retried update after the restart" "$(tg_post 7001 701 'ПС 102057522 11638')" 200
sleep 1.5
expect_eq "the reply went once" "$(nsent telegram 701)" 1
expect_eq "applied once" "$(sql "SELECT count(*) FROM submissions")" 1
expect_eq "row sent" "$(sql "SELECT state FROM outbox WHERE recipient = '701'")" sent

# SIGTERM while a reply is on the wire: serve waits for its answer (here
# the 10 s send timeout) within its stop deadline, writes it back pending,
# exits 0; the next start sends it once.
fake_mode hang 1
expect_eq "update before the stop" "$(tg_post 7101 702 'ПС 123859')" 200
hangs_ge() { [ "$(awk -F '\t' '$1 == "CALL" && $2 == "hang"' "$W/fake.log" | wc -l)" -ge "$1" ]; }
wait_until 10 "the second send to hang" hangs_ge 2
t0=$(date +%s)
serve_stop
expect_eq "written back pending, not leased" \
	"$(sql "SELECT state || ' ' || (next_attempt_at < now() + interval '60 s') FROM outbox WHERE recipient = '702'")" "pending true"
echo "stopped in $(( $(date +%s) - t0 )) s with a reply on the wire" >&2
serve_up
wait_reply telegram 702 1
sleep 1
expect_eq "the reply went once" "$(nsent telegram 702)" 1
serve_stop
echo "ok: kill -9 between commit and send: the reply went once; SIGTERM with a reply on the wire too"
