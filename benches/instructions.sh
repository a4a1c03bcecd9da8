#!/usr/bin/env bash
# Instructions per record (callgrind), one line per case: deterministic, so a change to the
# encoder shows in the numbers whatever else the machine is doing.
#
#   bash benches/instructions.sh            # every case
#   bash benches/instructions.sh sync/4attr # one case
#
# Each case runs twice under callgrind, with FEW and MANY records; the difference divided by
# MANY - FEW is the cost of one record, setup excluded. Queued cases count the emitting
# (main) thread only: the flush thread is not the caller's cost. Needs valgrind (apt: valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
FEW=200
MANY=2200
cases=("$@")
((${#cases[@]})) || cases=(sync/4attr sync/4attr_trace sync/6attr sync/6attr_trace
    queued/4attr queued/6attr_trace span/5attr span/clone floor/4attr floor/6attr_trace
    peer/4attr peer/6attr_trace
    metrics/point)
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind" >&2; exit 1; }
bin=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[[ -x $bin ]] || { echo "instructions.sh: the bench did not build" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
total() { # CASE N: instructions of the whole run (queued cases: of the main thread only)
    rm -f "$out"/cg*
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg" \
        "$bin" "$1" "$2" 2>"$out/log" >/dev/null || { cat "$out/log" >&2; exit 1; }
    if [[ $1 == queued/* ]]; then
        sed -n 's/^summary: \([0-9]*\).*/\1/p' "$out"/cg-01
    else
        cat "$out"/cg* | sed -n 's/^summary: \([0-9]*\).*/\1/p' | awk '{s += $1} END {print s}'
    fi
}
printf '%-24s %s\n' case instructions/record
for c in "${cases[@]}"; do
    few=$(total "$c" $FEW)
    many=$(total "$c" $MANY)
    printf '%-24s %d\n' "$c" $(((many - few) / (MANY - FEW)))
done
