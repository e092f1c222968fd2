#!/usr/bin/env bash
# Proves (issue 14): the reassembly attack cannot fill `meterline serve`'s
# memory or its log. The simulator sends 200 concatenated messages of 100
# parts, each part 3,900 octets of message_payload with sar_* TLVs, part k
# of every message before part k+1 (before the fix: serve went from 12 MB
# to 92 MB held, 397 MB peak, and 200 texts of 390,000 characters were
# logged). Every part is answered, 200 messages are stored with at most
# max_message_length (4096) bytes of text, serve's peak RSS (VmHWM) stays
# under 64 MB, and no log line is longer than 1,000 characters.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_smpp_flood_memory

sim_start --concat-flood 200,100,3900 --timeout 240
serve_conf
serve_start
sim_wait
expect_eq "simulator exit status" "$SIM_RC" 0
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVE_PID/status")
serve_stop

expect_match "every part answered" "$(cat "$W/sim.err")" \
	'concat flood: 20000 parts sent, 20000 answered'
expect_eq "message rows" "$(sql "SELECT count(*) FROM messages")" 200
# expect_le WHAT VALUE MAX
expect_le() { [ "$2" -le "$3" ] || fail "$1: got $2, expected at most $3"; }
expect_le "longest text, bytes" \
	"$(sql "SELECT max(octet_length(text)) FROM messages")" 4096
# AddressSanitizer's quarantine and shadow are the peak there: the bound is
# checked on plain builds only (the counts and lengths everywhere).
if grep -qa __asan_init "$BIN"; then
	echo "AddressSanitizer build: serve's VmHWM ${hwm} kB not checked"
else
	expect_le "serve's VmHWM, kB" "$hwm" 65535
fi
longest=$(awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }' "$W/serve.log")
expect_le "longest log line, characters" "$longest" 1000
echo "ok: 20000 parts of 3900 octets; serve VmHWM ${hwm} kB; longest log line $longest"
