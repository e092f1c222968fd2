#!/usr/bin/env bash
# Proves: `meterline webhook set|info telegram|max` speak the platforms'
# registration calls: setWebhook with the url, secret_token and
# allowed_updates; getWebhookInfo printed; MAX POST /subscriptions with
# url, update_types and secret, GET /subscriptions, the token in the
# Authorization header; a wrong token exits 1; no [max] section exits 1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
command -v python3 >/dev/null || { echo "no python3: skipped" >&2; exit 77; }
command -v curl >/dev/null || { echo "no curl: skipped" >&2; exit 77; }
e2e_setup "${E2E_WORK:-/tmp/mline-e2e-work}/msgr_webhook"
DB="dbname=unused"
fake_start
msgr_conf

"$BIN" webhook set telegram https://meter.example.ru/v1/telegram --config "$W/serve.conf" >"$W/set.out" ||
	fail "webhook set telegram: $(cat "$W/set.out")"
expect_match "setWebhook answered" "$(cat "$W/set.out")" '^200 .*"Webhook was set"'
line=$(grep $'^API\ttelegram\tsetWebhook' "$W/fake.log")
expect_match "the url" "$line" '"url":"https://meter.example.ru/v1/telegram"'
expect_match "the secret_token" "$line" "\"secret_token\":\"$TG_SECRET\""
expect_match "allowed_updates" "$line" '"allowed_updates":\["message"\]'
"$BIN" webhook info telegram --config "$W/serve.conf" >"$W/info.out" || fail "webhook info telegram"
expect_match "getWebhookInfo" "$(cat "$W/info.out")" '"pending_update_count":0'

"$BIN" webhook set max https://meter.example.ru/v1/max --config "$W/serve.conf" >"$W/mset.out" ||
	fail "webhook set max: $(cat "$W/mset.out")"
line=$(grep $'^API\tmax\tsubscriptions\t{' "$W/fake.log")
expect_match "the url" "$line" '"url":"https://meter.example.ru/v1/max"'
expect_match "update_types" "$line" '"update_types":\["message_created","bot_started"\]'
expect_match "the secret" "$line" "\"secret\":\"$MAX_SECRET\""
"$BIN" webhook info max --config "$W/serve.conf" >"$W/minfo.out" || fail "webhook info max"
expect_match "GET /subscriptions" "$(cat "$W/minfo.out")" '"subscriptions"'

sed -i "s/^token = $MAX_TOKEN/token = wrong-token/" "$W/serve.conf"
if "$BIN" webhook info max --config "$W/serve.conf" >"$W/bad.out" 2>&1; then fail "a wrong token exited 0"; fi
expect_match "401 shown" "$(cat "$W/bad.out")" '^401 '
sed -i '/^\[max\]/,$d' "$W/serve.conf"
if "$BIN" webhook info max --config "$W/serve.conf" >"$W/none.out" 2>&1; then fail "no [max] exited 0"; fi
expect_match "said so" "$(cat "$W/none.out")" 'no \[max\]'

# [telegram] needs [http] (its webhook is served there) and its secrets.
cat >"$W/bad.conf" <<CONF
[database]
conninfo = dbname=none

[telegram]
token = $TG_TOKEN
CONF
if "$BIN" serve --config "$W/bad.conf" >"$W/bad-serve.out" 2>&1; then fail "serve ran without [http]"; fi
expect_match "needs [http]" "$(cat "$W/bad-serve.out")" 'telegram.webhook_path: needs \[http\]'
expect_match "needs the secret" "$(cat "$W/bad-serve.out")" 'telegram.secret_token: set the webhook secret'

# The database down: the webhook says 503 with Retry-After, so the
# platform sends the update again.
DB="host=127.0.0.1 port=9 dbname=none connect_timeout=1"
msgr_conf
serve_start
wait_until 20 "serve to listen" sh -c "curl -s -o /dev/null http://127.0.0.1:$HTTP_PORT/healthz"
code=$(curl -s -D "$W/h503" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-H "X-Telegram-Bot-Api-Secret-Token: $TG_SECRET" --data-binary "$(tg_update 1 1 'ПС 123859')" \
	"http://127.0.0.1:$HTTP_PORT/v1/telegram")
expect_eq "database down" "$code" 503
expect_match "Retry-After" "$(cat "$W/h503")" '^Retry-After: [0-9]'
expect_eq "the secret is still checked first" "$(tg_post 1 1 'ПС 123859' wrong)" 401
serve_stop
echo "ok: webhook set/info for telegram and max; 503 with the database down"
