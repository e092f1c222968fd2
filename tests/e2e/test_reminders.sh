#!/usr/bin/env bash
# Reminders end to end (issue 17 item 3): two `meterline serve` instances
# on one database with [reminders] due today queue them on their own
# timers, while two `meterline remind --queue` processes race them for the
# same date; both instances release (rate 2/s each) into the SMS outbox and
# send, and the simulator receives each reminder as an MT exactly once: to
# the ten phones bound to a contract without a reading, not to a contract
# that read today, a closed one or a phone that opted out. A restart
# queues nothing again. The dry run lists the target with its
# phone masked. docs/reminders.md.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_init test_reminders

sql "INSERT INTO contracts (contract, resource, status) VALUES
       ('200001', 'electricity', 'active'), ('200002', 'electricity', 'active'),
       ('200003', 'cold_water', 'active'), ('200004', 'electricity', 'closed');
     INSERT INTO bindings (phone, contract) VALUES
       ('79100000011', '200001'), ('79100000012', '200001'),
       ('79100000021', '200002'), ('79100000031', '200003'),
       ('79100000041', '200004');
     INSERT INTO bindings (phone, contract)
       SELECT (79100000100 + i)::text, '200001' FROM generate_series(0, 7) i;
     INSERT INTO submissions (message_id, contract, resource, channel, sender,
       submitted_at, started_at, local_date, status)
     VALUES (1, '200002', 'electricity', 'sms', '79100000021', now(), now(),
       (now() AT TIME ZONE 'Europe/Moscow')::date, 'accepted');
     INSERT INTO reminder_optout (channel, sender) VALUES ('sms', '79100000031')" >/dev/null

sim_start --results "$W/results"
today=$(TZ=Europe/Moscow date +%-d)
serve_conf "[reminders]
days = $today
time = 00:00
quiet_hours =
channels = sms
sms_from = 7377
rate = 2"
serve_start
SERVE2_PID=$SERVE_PID
serve_start
"$BIN" remind --queue --config "$W/serve.conf" >"$W/queue1.out" 2>&1 &
q1=$!
"$BIN" remind --queue --config "$W/serve.conf" >"$W/queue2.out" 2>&1 &
q2=$!
wait $q1 || fail "remind --queue (1): $(cat "$W/queue1.out")"
wait $q2 || fail "remind --queue (2): $(cat "$W/queue2.out")"
expect_eq "reminders queued" "$(sql "SELECT count(*) FROM reminders")" 10
expect_eq "runs" "$(sql "SELECT count(*) FROM reminder_runs")" 1

# two instances at 2/s each: all within a few seconds
wait_until 30 "the reminders' outbox rows sent" sh -c "[ \$(\"$PSQL\" -qXAt '$DB' -c \"SELECT count(*) FROM outbox WHERE state = 'sent' AND message_id IS NULL\") = 10 ]"
sleep 2 # anything sent twice would arrive meanwhile
serve_stop
SERVE_PID=$SERVE2_PID
serve_stop
serve_start # a restart: the date was queued, nothing again
wait_until 10 "the restarted serve to bind" grep -q "bound" "$W/serve.log"
sleep 3
serve_stop
stop_pid "$SIM_PID"
untrack "$SIM_PID"

expect_eq "reminder MTs" "$(grep -c '^reply' "$W/results")" 10
expect_eq "MT recipients" "$(grep '^reply' "$W/results" | cut -f 3 | sort -u | tr '\n' ' ')" \
	"79100000011 79100000012 79100000100 79100000101 79100000102 79100000103 79100000104 79100000105 79100000106 79100000107 "
expect_eq "MT sender" "$(grep '^reply' "$W/results" | cut -f 2 | sort -u)" "7377"
expect_match "MT text" "$(grep '^reply' "$W/results" | cut -f 7 | sort -u)" \
	"^Передайте показания по договору 200001 до [0-9]+ числа: ПС 200001 <показания>\. Не напоминать: НЕ НАПОМИНАТЬ$"
expect_eq "reminders sent" "$(sql "SELECT string_agg(DISTINCT state, ' ') FROM reminders")" "sent"
expect_eq "reminders' outbox rows sent once" "$(sql "SELECT count(*) FROM outbox o JOIN reminders r
	ON r.outbox_id = o.id WHERE o.state = 'sent' AND o.attempts = 1")" 10

"$BIN" remind --dry-run --config "$W/serve.conf" >"$W/dry.out" 2>&1 || fail "remind --dry-run: $(cat "$W/dry.out")"
expect_match "dry run" "$(cat "$W/dry.out")" "^200001 sms 7\*+0011: bound phone, no reading from [0-9.]+ \(deadline [0-9.]+\) \[queued already\]"
expect_match "dry run total" "$(tail -n 1 "$W/dry.out")" ": 10 reminders would be queued \(dry run"
grep -q '79100000011' "$W/dry.out" && fail "dry run shows a full phone number"
grep -q '79100000011' "$W/serve.log" && fail "serve's log shows a full phone number"
echo "ok"
