#!/usr/bin/env bash
# Run meterline on this machine. Until the service is wired together this
# builds the binary and shows what the ПС grammar makes of typical texts
# customers send (the same code the gateway runs on every message).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
deps_install

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target meterline >/dev/null

samples=(
	"ПС 102057522 11638"
	"пс 123859"
	"ПС: №123859 45055 23186"
	"PS 123859 45055,5 23186"
	"45055 23186"
	"ПС123859 45055;23186/1200"
	"отмена"
	"?"
	"ПС 123 11638"
	"ПС 102057522 １１６３８"
	"привет"
)
echo "== what meterline makes of customers' texts =="
for s in "${samples[@]}"; do
	printf '%-28s -> ' "$s"
	build/meterline parse --json "$s"
done
