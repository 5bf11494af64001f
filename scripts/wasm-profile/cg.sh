#!/bin/bash
# cg.sh NAME MODE: callgrind totals of decide_loop MODE 100 and 2100, and instructions per
# decision (their difference over 2,000). MODE: native, wasm or wasm-invalid. NOEPOCH=1: without
# epoch checks (needs the local patch in README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
touch /tmp/empty.map
rm -rf target/scopecheck-loop-cache
case $2 in wasm*) env ${NOEPOCH:+SC_NOEPOCH=1} valgrind --tool=none target/release/examples/decide_loop "$2" 1 2>/dev/null ;; esac
for N in 100 2100; do
  SC_PERFMAP=1 env ${NOEPOCH:+SC_NOEPOCH=1} valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$1.$2.$N \
    target/release/examples/decide_loop "$2" $N 2>/tmp/cg.$1.$2.$N.err >/dev/null
  pid=$(grep -o '==[0-9]*==' /tmp/cg.$1.$2.$N.err | head -1 | tr -d =)
  cp /tmp/perf-$pid.map /tmp/cg.$1.$2.$N.map 2>/dev/null || cp /tmp/empty.map /tmp/cg.$1.$2.$N.map
done
total() { grep -o 'Collected : [0-9]*' "$1" | grep -o '[0-9]*'; }
echo "$1 $2 per decision: $(( ($(total /tmp/cg.$1.$2.2100.err) - $(total /tmp/cg.$1.$2.100.err)) / 2000 ))"
