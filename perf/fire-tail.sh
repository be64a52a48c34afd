#!/usr/bin/env bash
# `fire()` latency and page faults in every regime, for the memory store, SQLite FULL
# and SQLite NORMAL (and PostgreSQL, see below) (BENCHMARKS.md, "fire() without page faults"). A benchmark, not a
# test: nothing is asserted. Each line is one run of ≥ 200,000 calls, with the load
# average (`uptime`) printed before it.
#
#   perf/fire-tail.sh                      # this checkout's code
#   N=300000 RATE=20000 perf/fire-tail.sh  # more calls; the paced rate (events/s)
#   DELIVERY_BIN=… OUTBOX_BENCH_BIN=… perf/fire-tail.sh   # other builds (A/B runs):
#       the delivery bench binary (target/release/deps/delivery-*) and
#       examples/outbox_bench of another checkout
#
# Regimes: a burst (N fires as fast as one thread can, the queue far below its cap, so
# the queue grows: fresh memory), paced (RATE fires/s, below what the receiver takes:
# the queue stays short), at the cap (max_pending 1000: most calls take the drop path).
# Memory rows come from benches/delivery.rs (`ONLY=…`, its own receiver in a child
# process), SQLite rows from examples/outbox_bench.rs (`FOREMAN_BENCH_FIRE_ONLY=1`, its
# receiver in-process). Both print the firing thread's minor page faults per call.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-200000}
RATE=${RATE:-20000}
cd "$ROOT"
if [[ -z ${DELIVERY_BIN:-} ]]; then
    DELIVERY_BIN=$(cargo bench --features native --bench delivery --no-run 2>&1 \
        | sed -n 's/.*Executable .*(\(.*delivery-[^)]*\)).*/\1/p' | tail -1)
fi
# `FOREMAN_BENCH_POSTGRES_URL=postgres://…/db` adds PostgreSQL rows (one in-process
# dispatcher). The rows stay in that database, and the three SQL runs share it (a later
# run also delivers what an earlier one left pending): for the numbers in BENCHMARKS.md
# each run had a fresh database (`FOREMAN_BENCH_ROWS=pg`, one run per database).
ROWS=full,normal
FEATURES=cli,sqlite
if [[ -n ${FOREMAN_BENCH_POSTGRES_URL:-} ]]; then ROWS=full,normal,pg; FEATURES=cli,sqlite,postgres; fi
if [[ -z ${OUTBOX_BENCH_BIN:-} ]]; then
    cargo build --quiet --release --features "$FEATURES" --example outbox_bench
    OUTBOX_BENCH_BIN=${CARGO_TARGET_DIR:-target}/release/examples/outbox_bench
fi

load() { echo "## $1 — $(uptime | sed 's/.*load/load/'); $(date -u +%H:%M:%S) UTC"; }
mem() { "$DELIVERY_BIN" 2>&1 | grep -v '^machine\|^$'; }
sql() {
    FOREMAN_BENCH_ROWS=$ROWS FOREMAN_BENCH_FIRE_ONLY=1 "$OUTBOX_BENCH_BIN" "$N" 2>&1 \
        | grep -v '^|---\|^| store'
}

echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' (+ local changes)'); N=$N RATE=$RATE"
load "memory, burst (c=64, thread CPU time per call too)"
ONLY=dispatcher C=64 N=$N DIAG=1 mem
load "memory, burst (c=64, wall time only)"
ONLY=dispatcher C=64 N=$N mem
load "memory, paced at $RATE/s"
ONLY=dispatcher C=64 N=$N RATE=$RATE mem
load "memory, at the cap (max_pending 1000)"
ONLY=capacity N=$N mem
load "SQL stores, burst"
sql
load "SQL stores, paced at $RATE/s"
FOREMAN_BENCH_RATE=$RATE sql
load "SQL stores, at the cap (max_pending 1000)"
FOREMAN_BENCH_MAX_PENDING=1000 sql
echo "load after: $(uptime | sed 's/.*load/load/')"
