#!/usr/bin/env bash
# Fuzz the text decoders, the grammar and the reply encoder with libFuzzer:
#   scripts/fuzz.sh [SECONDS]     (default 600)
# Builds build-fuzz/ with clang, runs on a working copy of the seed corpus
# (build-fuzz/fuzz-corpus, kept between runs), prints the executions and
# exits non-zero when the fuzzer finds a crash, leak or timeout; the input
# that triggered it is saved in build-fuzz/fuzz-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-600}
case $secs in
'' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac

build=build-fuzz
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DMLINE_FUZZ=ON >/dev/null
cmake --build "$build" -j 2 --target fuzz_text_parse >/dev/null

corpus=$build/fuzz-corpus
artifacts=$build/fuzz-artifacts
mkdir -p "$corpus" "$artifacts"
cp tests/fuzz/corpus/* "$corpus"/	# seeds are small; refreshing them is harmless
log=$build/fuzz.log

echo "fuzzing fuzz_text_parse for ${secs}s (log: $log)"
set +e
"$build/tests/fuzz/fuzz_text_parse" -max_total_time="$secs" -max_len=2048 \
	-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-dict=tests/fuzz/fuzz_text_parse.dict \
	-artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
rc=$?
set -e

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
echo "executions: ${execs:-unknown}, corpus: $(ls "$corpus" | wc -l) inputs"
if [ $rc -ne 0 ]; then
	echo "FINDING (exit $rc): see $log and $artifacts/" >&2
	grep -E -A30 'ERROR|check failed|runtime error|deadly signal' "$log" | head -60 >&2
	exit 1
fi
echo "no findings"
