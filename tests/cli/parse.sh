#!/usr/bin/env bash
# Drive the real `meterline parse`: golden output for the texts in
# parse.texts (one per line, read through '-'), the same texts as
# arguments, and the exit status of --help and of usage errors.
# usage: parse.sh path/to/meterline
set -u
M=$1
D=$(cd "$(dirname "$0")" && pwd)
fail=0

check() {	# check NAME EXPECTED-FILE COMMAND...
	local name=$1 want=$2
	shift 2
	if ! diff -u "$want" <("$@") >/dev/null; then
		echo "FAIL $name:"
		diff -u "$want" <("$@")
		fail=1
	fi
}

status() {	# status NAME WANT COMMAND...
	local name=$1 want=$2 got
	shift 2
	"$@" >/dev/null 2>&1
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL $name: exit $got, want $want"
		fail=1
	fi
}

check "json from stdin" "$D/parse.json.expected" "$M" parse --json - <"$D/parse.texts"
check "readable from stdin" "$D/parse.txt.expected" "$M" parse - <"$D/parse.texts"

# The same texts as arguments give the same lines.
mapfile -t texts <"$D/parse.texts"
check "json from arguments" "$D/parse.json.expected" "$M" parse --json -- "${texts[@]}"

# CRLF line ends (a file saved on Windows) change nothing.
check "json from CRLF stdin" "$D/parse.json.expected" \
	"$M" parse --json - < <(sed 's/$/\r/' "$D/parse.texts")

status "--help" 0 "$M" parse --help
status "-h" 0 "$M" parse -h
status "no text" 2 "$M" parse
status "only --json" 2 "$M" parse --json
status "unknown option" 2 "$M" parse --bogus 'ПС 1234 5'
status "text after --" 0 "$M" parse -- '-5'

# A usage error prints nothing on stdout.
if [ -n "$("$M" parse 'ПС 1234 5' --bogus 2>/dev/null)" ]; then
	echo "FAIL usage error wrote to stdout"
	fail=1
fi

[ $fail = 0 ] && echo "cli parse: ok"
exit $fail
