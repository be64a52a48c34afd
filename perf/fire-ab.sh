#!/usr/bin/env bash
# `fire()` p99 of two builds, alternated round by round in one window (BENCHMARKS.md,
# "`fire()` ≤ 5 µs with every store"). A benchmark, not a test: nothing is asserted.
#
#   perf/fire-ab.sh A_DELIVERY A_OUTBOX B_DELIVERY B_OUTBOX
#   ROUNDS=2 RATE=20000 N=200000 perf/fire-ab.sh …
#
# A_DELIVERY / B_DELIVERY: a build's delivery bench binary
# (`cargo bench --features native --bench delivery --no-run` prints it); A_OUTBOX /
# B_OUTBOX: its `examples/outbox_bench` (`cargo build --release --features
# cli,sqlite,postgres --example outbox_bench`). Each round runs, per build: the memory
# store in a burst, paced at RATE/s and at the cap (the delivery bench, receiver in a
# child process), then SQLite FULL, SQLite NORMAL and PostgreSQL in a burst and paced
# (outbox_bench). PostgreSQL: `FOREMAN_BENCH_POSTGRES_URL=postgres://user@127.0.0.1:PORT`
# (a server of yours; every run gets a database of its own, created with `psql`); without
# it the SQL rows are SQLite only. Talks only to 127.0.0.1.
set -euo pipefail

[[ $# == 4 ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
A_D=$1 A_O=$2 B_D=$3 B_O=$4
ROUNDS=${ROUNDS:-2}
RATE=${RATE:-20000}
N=${N:-200000}
PG=${FOREMAN_BENCH_POSTGRES_URL:-}

# A database of its own for one run (the URL of it), or nothing without PostgreSQL.
fresh_db() {
    [[ -n $PG ]] || return 0
    local name="fire_ab_$(date +%s%N)"
    psql "$PG/postgres" -qAt -c "CREATE DATABASE $name" >/dev/null
    echo "$PG/$name"
}

sql() {
    local bin=$1 rate=$2 url rows=full,normal
    url=$(fresh_db)
    [[ -n $url ]] && rows=full,normal,pg
    FOREMAN_BENCH_RATE=$rate FOREMAN_BENCH_POSTGRES_URL=$url FOREMAN_BENCH_ROWS=$rows \
        FOREMAN_BENCH_FIRE_ONLY=1 "$bin" "$N" 2>&1 | grep -v '^|---\|^| store'
}

for round in $(seq "$ROUNDS"); do
    for build in A B; do
        if [[ $build == A ]]; then d=$A_D o=$A_O; else d=$B_D o=$B_O; fi
        echo "### round $round, build $build — load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S) UTC"
        echo "memory, burst:"
        ONLY=dispatcher C=64 N=$N "$d" 2>&1 | grep -E 'fire\(\) over|faults|ev/s'
        echo "memory, paced at $RATE/s:"
        ONLY=dispatcher C=64 N=$N RATE=$RATE "$d" 2>&1 | grep -E 'fire\(\) over|faults'
        echo "memory, at the cap:"
        ONLY=capacity N=$N "$d" 2>&1 | grep -E 'at capacity'
        echo "SQL stores, burst:"
        sql "$o" ""
        echo "SQL stores, paced at $RATE/s:"
        sql "$o" "$RATE"
    done
done
