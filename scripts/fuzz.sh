#!/usr/bin/env bash
# Fuzz every parser with libFuzzer (docs/fuzzing.md):
#   scripts/fuzz.sh [--time S | --runs N] [TARGET...]
# --time S: S seconds per target (default 60); --runs N: N executions per
# target. TARGET: names such as smpp_pdu (default: every target).
# Builds build-fuzz/ with clang and -DMLINE_FUZZ=ON, fuzzes one target at a
# time on a working copy of its seeds (build-fuzz/fuzz-corpus/NAME, kept
# between runs), prints executions and findings per target and a total,
# and exits non-zero on any finding (crash, leak, timeout, broken CHECK);
# the input is saved in build-fuzz/fuzz-artifacts/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/fuzz.sh [--time S | --runs N] [TARGET...]" >&2; exit 2; }
limit=(-max_total_time=60)
targets=()
while [ $# -gt 0 ]; do
	case $1 in
	--time | --runs)
		[ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || usage
		if [ "$1" = --time ]; then limit=(-max_total_time="$2"); else limit=(-runs="$2"); fi
		shift 2 ;;
	[0-9]*) [[ $1 =~ ^[0-9]+$ ]] || usage; limit=(-max_total_time="$1"); shift ;; # old form
	-*) usage ;;
	*) targets+=("$1"); shift ;;
	esac
done
# The targets are listed once, in tests/fuzz/CMakeLists.txt (FUZZ_TARGETS).
all=$(sed -n '/^set(FUZZ_TARGETS/,/)/p' tests/fuzz/CMakeLists.txt |
	grep -o '[a-z_0-9]*=[a-z]*' | cut -d= -f1)
[ ${#targets[@]} -gt 0 ] || mapfile -t targets <<<"$all"

build=build-fuzz
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DMLINE_FUZZ=ON >/dev/null
cmake --build "$build" -j 2 --target "${targets[@]/#/fuzz_}" >/dev/null

total=0 findings=0
printf '%-14s %14s %8s %s\n' target executions corpus result
for t in "${targets[@]}"; do
	corpus=$build/fuzz-corpus/$t artifacts=$build/fuzz-artifacts/$t log=$build/fuzz-$t.log
	mkdir -p "$corpus" "$artifacts"
	cp tests/fuzz/corpus/"$t"/* "$corpus"/ # seeds are small; refreshing them is harmless
	[ -d tests/fuzz/regress/"$t" ] && cp tests/fuzz/regress/"$t"/* "$corpus"/
	dict=()
	[ -f tests/fuzz/fuzz_"$t".dict ] && dict=(-dict=tests/fuzz/fuzz_"$t".dict)
	set +e
	"$build/tests/fuzz/fuzz_$t" "${limit[@]}" -max_len=8192 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
	rc=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	execs=${execs:-0}
	total=$((total + execs))
	result="no findings"
	if [ $rc -ne 0 ]; then
		findings=$((findings + 1))
		result="FINDING (exit $rc): $log, $artifacts/"
	fi
	printf '%-14s %14s %8s %s\n' "$t" "$execs" "$(ls "$corpus" | wc -l)" "$result"
	if [ $rc -ne 0 ]; then
		grep -E -A30 'ERROR|check failed|runtime error|deadly signal' "$log" | head -40 >&2
	fi
done
printf '%-14s %14s %8s %s\n' total "$total" "" "$findings finding(s)"
[ "$findings" -eq 0 ]
