#!/usr/bin/env bash
# Instructions per delivery with OpenTelemetry off, on (SDK spans + metrics) and metrics
# only, counted by valgrind (cachegrind, no cache simulation) over the otel_overhead
# bench's QUICK run of one variant at a time (ONLY=off|on|metrics: a warm-up of 300
# deliveries + 3 rounds of 3,000). Unlike the bench's rates and CPU times, the counts do
# not move with the machine's load (valgrind runs the threads one at a time; kernel time
# is not counted); they still vary by about 1 % from run to run (how the threads
# interleave), so each variant runs REPEAT times (default 3) and the median counts.
# EXPORTER=discard|memory|otlp picks the span exporter as in the bench (otlp needs
# FEATURES=otel,otlp). Needs valgrind (Debian `valgrind`).
set -euo pipefail
cd "$(dirname "$0")/.."
features=${FEATURES:-otel}
repeat=${REPEAT:-3}
bin=$(cargo bench --features "$features" --bench otel_overhead --no-run 2>&1 \
  | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
[ -x "$bin" ] || { echo "bench executable not found" >&2; exit 1; }
deliveries=9300
echo "span exporter: ${EXPORTER:-discard}; $repeat runs per variant, median"
declare -A ir
for v in off on metrics; do
  runs=()
  for _ in $(seq "$repeat"); do
    runs+=("$(QUICK=1 ONLY=$v valgrind --tool=cachegrind --cache-sim=no \
      --cachegrind-out-file=/dev/null "$bin" 2>&1 | sed -n 's/.*I *refs: *//p' | tr -d ,)")
  done
  ir[$v]=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(( (repeat + 1) / 2 ))p")
  per=()
  for r in "${runs[@]}"; do per+=("$((r / deliveries))"); done
  echo "$v: ${ir[$v]} instructions, $((ir[$v] / deliveries)) per delivery (runs: ${per[*]})"
done
python3 - "${ir[off]}" "${ir[on]}" "${ir[metrics]}" <<'PY'
import sys
off, on, met = map(int, sys.argv[1:])
print(f"on: {on / off - 1:+.1%} instructions ({(on - off) / 9300:.0f} per delivery); "
      f"metrics only: {met / off - 1:+.1%} ({(met - off) / 9300:.0f} per delivery)")
PY
