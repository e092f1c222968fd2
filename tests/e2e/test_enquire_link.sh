#!/usr/bin/env bash
# Proves: enquire_link works both ways on an idle link. The gateway
# (enquire_link_interval = 5s) sends enquire_link after 5 s without
# traffic and the simulator answers it; the simulator sends its own
# (every 6 s) and the gateway answers it; the link stays bound throughout
# (one bind, no drop, no reconnect), and the simulator's unbind at the end
# is answered.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_enquire_link
sim_start --enquire-link 6 --timeout 14
SMPP_EXTRA="enquire_link_interval = 5s" serve_conf
serve_start
sim_wait
expect_eq "simulator exit status" "$SIM_RC" 0

sent=$(sim_stat 'enquire_link sent')
received=$(sim_stat 'received')
expect_ge "simulator's enquire_link sent" "$sent" 1
expect_ge "simulator's enquire_link answered by the gateway" \
	"$(sed -n 's/.*enquire_link sent [0-9]* answered \([0-9]*\).*/\1/p' "$W/sim.err")" 1
expect_ge "gateway's enquire_link received (and answered) by the simulator" "$received" 1
expect_eq "binds" "$(sim_stat 'binds ok')" 1
expect_eq "drops" "$(sim_stat 'drops')" 0
if grep -q 'reconnecting' <(sed '/unbound by the SMSC/d' "$W/serve.log"); then
	fail "the gateway reconnected while idle"
fi
grep -q 'unbound by the SMSC' "$W/serve.log" || fail "the simulator's unbind was not seen"
serve_stop
echo "ok: enquire_link both ways ($sent from the simulator, $received from the gateway), link kept"
