#!/bin/bash
# instr.sh NAME: callgrind with per-instruction counts of decide_loop wasm 100 and 2100, their
# perf maps and the compiled module, for annotate.py and epochs.py. NOEPOCH=1 as in cg.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf target/scopecheck-loop-cache
env ${NOEPOCH:+SC_NOEPOCH=1} valgrind --tool=none target/release/examples/decide_loop wasm 1 2>/dev/null
for N in 100 2100; do
  SC_PERFMAP=1 env ${NOEPOCH:+SC_NOEPOCH=1} valgrind --tool=callgrind --dump-instr=yes \
    --callgrind-out-file=/tmp/pi.$1.$N target/release/examples/decide_loop wasm $N 2>/tmp/pi.$1.$N.err >/dev/null
  pid=$(grep -o '==[0-9]*==' /tmp/pi.$1.$N.err | head -1 | tr -d =)
  cp /tmp/perf-$pid.map /tmp/pi.$1.$N.map
done
cp target/scopecheck-loop-cache/*.cwasm /tmp/pi.$1.cwasm
