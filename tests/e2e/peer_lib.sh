# Sourced by the tests/e2e/test_peer_*.sh that script the npm-smpp peer
# SMSC (tests/peers/smsc, docs/peers.md) after lib.sh:
#   peer_require          skip (77) without node; fail without node_modules
#   peer_start NAME ARGS  the peer in the background on a free port
#                         (SIM_PID, SIM_PORT); its stderr, PDU log (JSON
#                         Lines), results and summary in $W/peer-NAME.*
#   peer_wait             wait for it to end (PEER_RC) and print its report
#   peer_sum KEY          a field of its --summary
#   peer_submits SENDER   submit_sm the peer received for SENDER
#   peer_deliver_sm TEXT  deliver_sm the peer sent whose text is TEXT
#   peer_replies SENDER   the replies SENDER got, in order
PEER=$SRC/tests/peers/smsc
PEER_NAME=""

peer_require() {
	command -v node >/dev/null || e2e_skip "no node (apt-get install nodejs npm, then scripts/deps.sh)"
	[ -d "$PEER/node_modules/smpp" ] ||
		fail "no $PEER/node_modules: run 'npm ci --prefix tests/peers/smsc' (scripts/deps.sh does)"
}

peer_start() {
	PEER_NAME=$1
	shift
	: >"$W/peer-$PEER_NAME.err"
	node "$PEER/smsc.js" --system-id "$SIM_SYSID" --password "$SIM_PASSWORD" \
		--recipient 7377 --log "$W/peer-$PEER_NAME.jsonl" \
		--results "$W/peer-$PEER_NAME.results" \
		--summary "$W/peer-$PEER_NAME.json" "$@" 2>"$W/peer-$PEER_NAME.err" &
	SIM_PID=$!
	track "$SIM_PID"
	wait_until 20 "the peer SMSC to listen" grep -q 'listening on 127.0.0.1:' "$W/peer-$PEER_NAME.err"
	SIM_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$W/peer-$PEER_NAME.err")
}

peer_wait() {
	PEER_RC=0
	wait "$SIM_PID" || PEER_RC=$?
	untrack "$SIM_PID"
	SIM_PID=""
	grep -E '^(end|MO|acked|replies|duration|dropping|reply text)' "$W/peer-$PEER_NAME.err" |
		sed "s/^/  $PEER_NAME: /" >&2
}

peer_sum() {
	node -e 'const s = require(process.argv[1]); console.log(s[process.argv[2]])' \
		"$W/peer-$PEER_NAME.json" "$1"
}

peer_submits() {
	grep '"dir":"in","command":"submit_sm",' "$W/peer-$PEER_NAME.jsonl" |
		grep -c "\"destination\":\"$1\"" || true
}

peer_deliver_sm() {
	grep '"dir":"out","command":"deliver_sm",' "$W/peer-$PEER_NAME.jsonl" |
		grep -cF "\"text\":\"$1\"" || true
}

# The replies SENDER got, in order, one a line (from the peer's results).
peer_replies() {
	awk -F'\t' -v to="$1" '$1 == "reply" && $3 == to { print $7 }' \
		"$W/peer-$PEER_NAME.results"
}
