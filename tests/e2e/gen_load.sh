#!/bin/sh
# Generate an MO load for the end-to-end tests and bench_e2e.
#
#   gen_load.sh N DIR [GAP]
#
# writes, for N messages (rounded up to a multiple of 10):
#   DIR/contracts.csv   the contracts the messages talk about (meterline import)
#   DIR/messages.tsv    sender<TAB>recipient<TAB>text (meterline-smsc-sim --flood-file)
#   DIR/expected        what the database must hold afterwards (NAME=COUNT)
#
# The mix, per 10 messages: 7 complete single-register submissions
# ("ПС <contract> <value>"), one two-message day/night dialog
# ("ПС <contract> <day>", then "<night>" from the same sender about GAP
# blocks of 10 later, default 100), and one invalid text. Every customer
# has a number of their own, every contract is used once, and all texts are
# Cyrillic (UCS-2 over SMPP). Values are a little above the last ones, so
# every complete submission is accepted and none is flagged.
set -eu

n=${1:?usage: gen_load.sh N DIR [GAP]}
dir=${2:?usage: gen_load.sh N DIR [GAP]}
gap=${3:-100}
mkdir -p "$dir"
last_date=$(date -u -d '30 days ago' +%F)

awk -v n="$n" -v gap="$gap" -v dir="$dir" -v last_date="$last_date" '
BEGIN {
	blocks = int((n + 9) / 10)
	csv = dir "/contracts.csv"; tsv = dir "/messages.tsv"
	print "contract,resource,position,register,digits,last_value,last_date,status" > csv
	split("Здравствуйте|ПС|показания|абырвалг!|Привет как дела", junk, "|")
	sender = 0; singles = 0; dialogs = 0; invalid = 0
	for (b = 0; b < blocks + gap; b++) {
		if (b < blocks) {
			for (k = 0; k < 7; k++) {
				c = 10000000 + singles++
				printf "%d,electricity,1,показания,6,100000,%s,active\n", c, last_date > csv
				printf "79%09d\t7377\tПС %d %d\n", sender++, c, 100001 + singles % 97 > tsv
			}
			c = 20000000 + dialogs++
			printf "%d,electricity,1,день,5,40000,%s,active\n", c, last_date > csv
			printf "%d,electricity,2,ночь,5,20000,%s,active\n", c, last_date > csv
			dsender[b] = sender; dcontract[b] = c
			printf "79%09d\t7377\tПС %d %d\n", sender++, c, 40001 + dialogs % 89 > tsv
			printf "79%09d\t7377\t%s\n", sender++, junk[1 + invalid++ % 5] > tsv
		}
		if (b >= gap)
			printf "79%09d\t7377\t%d\n", dsender[b - gap], 20001 + (b - gap + 1) % 83 > tsv
	}
	e = dir "/expected"
	printf "messages=%d\n", 7 * blocks + 2 * blocks + blocks > e
	printf "accepted=%d\n", singles + dialogs > e
	printf "prompt=%d\n", dialogs > e
	printf "rejected=%d\n", invalid > e
	printf "submissions=%d\n", singles + dialogs > e
	printf "readings=%d\n", singles + 2 * dialogs > e
	printf "outbox_sent=%d\n", 10 * blocks > e
	printf "contracts=%d\n", singles + dialogs > e
}'
