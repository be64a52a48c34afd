#!/usr/bin/env bash
# Issue 9, section 4: 100 000 pending 1 KiB deliveries waiting on retry (receiver down).
#   1. RSS per pending delivery: examples/pending_memory.rs (no tracing subscriber, nothing
#      preallocated: the clean memory figure);
#   2. lateness of each retry against its schedule: benches/retry_timers.rs.
# Usage: perf/memory-and-timers.sh   (N=100000 RETRY_DELAY_SECS=30 by default)
# Uses CARGO_TARGET_DIR if set (e.g. /work/target-bench). Only 127.0.0.1 is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-100000}
echo "== uptime: $(uptime)"
echo "== RSS per pending delivery: cargo run --release --features native --example pending_memory -- $n"
cargo run --quiet --release --features native --example pending_memory -- "$n"
echo
echo "== retry lateness: cargo bench --features native --bench retry_timers"
N=$n cargo bench --quiet --features native --bench retry_timers
echo "== uptime: $(uptime)"
