#!/usr/bin/env bash
# Proves: the real-world table (tests/data/realworld.tsv when present: what
# customers send, with the exact outcome and reply; and our own
# realworld-mini.tsv) played over SMPP by the simulator against the real
# `meterline serve`: every message is acknowledged and answered once, in
# order, with exactly the table's reply, and the message log holds the
# table's outcome and reason for each.
#
# Live messages carry the clock's time, not the table's, so: the contracts'
# last dates are moved by as many days as today is after 2026-11-20 (the
# table's day), so consumption per day is the table's; the window is
# 1-31 (any date), so replies that state the window say "с 1 по 31"
# instead of "с 18 по 25"; and the conversations whose outcome depends
# on the table's clock (reasons outside_window and expired) are left out.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_init e2e_realworld_smpp
data=$SRC/tests/data
shift_days=$(( ($(date -d "$(TZ=Europe/Moscow date +%F)" +%s) - $(date -d 2026-11-20 +%s)) / 86400 ))

# shifted CSV OUT: the contracts with every date moved by shift_days
shifted() {
	local d
	cp "$1" "$2"
	for d in $(grep -o '[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]' "$1" | sort -u); do
		sed -i "s/,$d/,$(date -d "$d + $shift_days days" +%F)/g" "$2"
	done
}

# play TABLE CONTRACTS: one table over SMPP, checked.
play() {
	local table=$data/$1 name=${1%.tsv}
	db_new "e2e_rw_$(echo "$name" | tr -c 'a-z0-9\n' _)"
	shifted "$data/$2" "$W/$name-contracts.csv"
	import "$W/$name-contracts.csv"
	# the rows to play: not comments, not the clock-bound conversations
	awk -F'\t' '!/^#/ && NF == 6 && ($5 == "outside_window" || $5 == "expired") { skip[$1] = 1 }
		!/^#/ && NF == 6 { row[++n] = $0; who[n] = $1 }
		END { for (i = 1; i <= n; i++) if (!(who[i] in skip)) print row[i] }' \
		"$table" >"$W/$name.rows"
	cut -f1,3 "$W/$name.rows" | awk -F'\t' '{ print $1 "\t7377\t" $2 }' >"$W/$name.scenario"
	awk -F'\t' '{ r = $6; gsub(/\\n|\\t/, " ", r); gsub(/\\\\/, "\\", r)
		gsub(/с 18 по 25 число/, "с 1 по 31 число", r); print $1 "\t" r }' \
		"$W/$name.rows" >"$W/$name.want_replies"
	awk -F'\t' '{ print $4 "\t" ($5 == "-" ? "" : $5) }' "$W/$name.rows" >"$W/$name.want_outcomes"
	sim_start --scenario "$W/$name.scenario" --results "$W/$name.results" \
		--reply-timeout 15 --timeout 900 --quiet
	serve_conf
	serve_start
	sim_wait
	serve_stop
	expect_eq "$1: simulator exit status" "$SIM_RC" 0
	awk -F'\t' '$1 == "reply" { print $3 "\t" $7 }' "$W/$name.results" >"$W/$name.got_replies"
	diff -u "$W/$name.want_replies" "$W/$name.got_replies" >&2 ||
		fail "$1: the replies differ from the table (- table, + got)"
	sql "SELECT outcome || E'\t' || coalesce(reason, '') FROM messages ORDER BY id" \
		>"$W/$name.got_outcomes"
	diff -u "$W/$name.want_outcomes" "$W/$name.got_outcomes" >&2 ||
		fail "$1: outcomes differ from the table (- table, + got)"
	echo "$1: $(wc -l <"$W/$name.rows") messages over SMPP, replies and outcomes as the table says" \
		"($(awk -F'\t' '$5 == "outside_window" || $5 == "expired" { print $1 }' "$table" | sort -u | wc -l) clock-bound conversations left out)"
}

play realworld-mini.tsv contracts-sample.csv
if [ -f "$data/realworld.tsv" ]; then
	play realworld.tsv realworld-contracts.csv
else
	echo "tests/data/realworld.tsv is not in this tree: only the small table ran"
fi
