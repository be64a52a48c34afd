#!/usr/bin/env bash
# The outbox benchmark (BENCHMARKS.md, section 6): every row in ONE run against ONE
# receiver — the Go seed's in-memory dispatcher, ours in memory, SQLite FULL, SQLite
# NORMAL, PostgreSQL with one in-process dispatcher, PostgreSQL with 1 and with 3 `relay`
# processes — and then the RSS of a relay on an SQLite outbox holding 1,000,000 pending
# retries. A benchmark, not a test: nothing is asserted.
#
#   perf/outbox-bench.sh                 # N=20000 events per row, RSS_N=1000000
#   N=5000 RSS_N=100000 perf/outbox-bench.sh
#   RELAYS=0 RSS_N=0 perf/outbox-bench.sh # the seed and the in-process rows only
#   OUTBOX_BENCH_BIN=/path/outbox_bench   # another build of examples/outbox_bench (A/B runs)
#
# Needs: Go ≥ 1.19 (Debian: apt-get install -y golang-go), cargo, Debian's postgresql
# (initdb/pg_ctl; a throwaway cluster on 127.0.0.1 at a free port, as the postgres user
# when root, removed at the end), python3. Talks only to 127.0.0.1.
#
# The receiver is benches/seed_vs_ours.rs --receiver (hyper, one thread; answers 200,
# records the wall-clock time of each job's first 2xx; GET /wait?n=N). Every row fires
# the same 1 KiB events (perf/seed/driver.go's body). Two rates per row:
# - "2xx received": N ÷ (first fire → the receiver's last first-time 2xx) — the Go
#   driver's measure, the only one the seed has (it records nothing);
# - "2xx recorded": N ÷ (first fire → every outcome delivered in this process / every
#   delivery row `delivered` in the store) — ours only.
# Relay rows: the N events are stored first (`send --store … --jsonl`, timed apart); the
# clock starts when the relays are started.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20000}
RSS_N=${RSS_N:-1000000}
RELAYS=${RELAYS:-1}
export PATH="$HOME/.cargo/bin:$PATH"

if [[ -z ${SEED_DIR:-} ]]; then
    for d in "$ROOT/../shared/seed" "$ROOT/../../shared/seed"; do
        if [[ -f $d/webhook.go ]]; then SEED_DIR=$(cd "$d" && pwd -P); break; fi
    done
fi
[[ -f ${SEED_DIR:-}/webhook.go ]] || { echo "the Go seed (webhook.go) was not found: set SEED_DIR" >&2; exit 1; }
command -v go >/dev/null || { echo "go not found: apt-get install -y golang-go" >&2; exit 1; }

TMP=$(mktemp -d)
PGD=$(mktemp -d) # the cluster's own directory (the postgres user must own it when root)
PIDS=()
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [[ -f $PGD/data/postmaster.pid ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$PGD/data" -m immediate stop >/dev/null </dev/null || true
    fi
    rm -rf "$TMP" "$PGD"
}
trap cleanup EXIT

# 1. The Go seed's driver, as perf/seed-vs-ours.sh builds it (only its log/slog import
#    changed, to perf/seed/slog.go, for Go 1.19).
mkdir -p "$TMP/go/webhook" "$TMP/go/slog"
printf 'module seedbench\n\ngo 1.19\n' > "$TMP/go/go.mod"
sed 's#^\t"log/slog"$#\t"seedbench/slog"#' "$SEED_DIR/webhook.go" > "$TMP/go/webhook/webhook.go"
[[ $(diff "$SEED_DIR/webhook.go" "$TMP/go/webhook/webhook.go" | grep -c '^>' || true) == 1 ]] \
    || { echo "expected to change exactly the seed's log/slog import line" >&2; exit 1; }
cp "$ROOT/perf/seed/slog.go" "$TMP/go/slog/"
cp "$ROOT/perf/seed/driver.go" "$TMP/go/"
(cd "$TMP/go" && GOFLAGS=-mod=mod go build -o "$TMP/seed-driver" .)

# 2. Ours (release).
cd "$ROOT"
RECV=$(cargo bench --features native --bench seed_vs_ours --no-run 2>&1 \
    | sed -n 's/.*Executable .*(\(.*seed_vs_ours-[^)]*\)).*/\1/p' | tail -1)
cargo build --quiet --release --features cli,sqlite,postgres --example outbox_bench
cargo build --quiet --release --features cli,sqlite,postgres --bin foreman-webhook
T=${CARGO_TARGET_DIR:-target}/release
BENCH=${OUTBOX_BENCH_BIN:-$T/examples/outbox_bench}
BIN=$T/foreman-webhook

# 3. A throwaway PostgreSQL (fsync on: the defaults).
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGD"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$PGD/data" -A trust -U postgres --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGD/data" -o "-p $PORT -k $PGD -h 127.0.0.1 -c max_connections=200" \
    -l "$PGD/log" -w start >/dev/null </dev/null
PSQL=("$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qAt)
"${PSQL[@]}" -c "CREATE DATABASE bench1" -c "CREATE DATABASE bench2" -c "CREATE DATABASE bench3"
STORE="postgres://postgres@127.0.0.1:$PORT"

# 4. One receiver for every row.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"$RECV" --receiver > "$TMP/receiver.out" 2> "$TMP/receiver.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^PORT ' "$TMP/receiver.out" 2>/dev/null && break; sleep 0.05; done
RPORT=$(sed -n 's/^PORT //p' "$TMP/receiver.out")
CTL="http://127.0.0.1:$RPORT"
ctl() { python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=400).read().decode().strip())" "$CTL$1"; }
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p"; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +'%Y-%m-%d %H:%M:%S UTC'); commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src examples perf || echo ' (+ local changes)'); N=$N"
echo
echo "| sender / store | events | deliveries/s (2xx recorded) | deliveries/s (2xx received) | fire() p50 µs | p99 µs | max µs |"
echo "|---|---|---|---|---|---|---|"

# 5a. The Go seed.
out=$("$TMP/seed-driver" -n "$N" -url "$CTL/hook" -ctl "$CTL" -fail 0)
t0=$(echo "$out" | field t0_ns); last=$(echo "$out" | field last_ns); fire=$(echo "$out" | field fire_ns)
python3 -c "n=$N; print(f'| Go seed (in memory, goroutine per event) | {n} | — | {n/(($last-$t0)/1e9):.0f} | (burst loop: {$fire/1e3/n:.1f} µs per Fire on average) | | |')"

# 5b. Ours in one process: memory, SQLite FULL, SQLite NORMAL, PostgreSQL.
FOREMAN_BENCH_RECEIVER=$CTL FOREMAN_BENCH_POSTGRES_URL=$STORE/bench1 "$BENCH" "$N" \
    | grep -v '^|---' | grep -v '^| store' \
    | awk -F'|' '{printf "|%s|%s|%s|%s|%s|%s|%s|\n", $2, $3, $4, $8, $5, $6, $7}'

# 5c. Relays on PostgreSQL.
python3 - "$N" > "$TMP/events.jsonl" <<'PY'
import json, sys
n = int(sys.argv[1])
e = {"job_id": "job-000000", "state": "running", "previous_state": "queued",
     "timestamp": "1970-01-01T00:00:00Z", "model": "llama-3-8b", "result": {"log": ""}}
pad = 1024 - len(json.dumps(e, separators=(",", ":")))
e["result"]["log"] = "x" * pad
for i in range(n):
    e["job_id"] = f"job-{i:06d}"
    print(json.dumps(e, separators=(",", ":")))
PY
db=2
for R in 1 3; do
    [[ $RELAYS == 0 ]] && break
    S="$STORE/bench$db"
    t=$(date +%s.%N)
    "$BIN" send --store "$S" --url "$CTL/hook" --secret s --jsonl --max-input-bytes 1000000000 --file "$TMP/events.jsonl" >/dev/null
    stored=$(python3 -c "import time; print(f'{time.time()-$t:.2f}')")
    ctl "/reset?fail=0" >/dev/null
    # One monitoring session (a fresh `outbox status` process per poll cost PostgreSQL
    # about 34 ms of CPU each, a third of a core at 10 polls/s).
    coproc MON { "${PSQL[@]}" -d "bench$db"; }
    t0=$(date +%s%N)
    rp=()
    for _ in $(seq "$R"); do
        "$BIN" relay --store "$S" --secret s --allow-private --quiet --concurrency 64 2>/dev/null &
        rp+=($!); PIDS+=($!)
    done
    while :; do
        echo "SELECT EXISTS (SELECT 1 FROM foreman_webhook.foreman_deliveries WHERE state IN ('pending', 'in_flight'));" >&"${MON[1]}"
        read -r busy <&"${MON[0]}"
        [[ $busy == f ]] && break
        sleep 0.02
    done
    t2=$(date +%s%N)
    echo '\q' >&"${MON[1]}"; wait "$MON_PID" 2>/dev/null || true
    last=$(ctl "/wait?n=$N" | field last_ns)
    kill -TERM "${rp[@]}"; wait "${rp[@]}" 2>/dev/null || true
    delivered=$("${PSQL[@]}" -d "bench$db" -c "SELECT count(*) FROM foreman_webhook.foreman_deliveries WHERE state = 'delivered'")
    python3 -c "n=$N; print(f'| PostgreSQL, $R relay(s) (stored first: {$stored} s; delivered {$delivered}) | {n} | {n/(($t2-$t0)/1e9):.0f} | {n/(($last-$t0)/1e9):.0f} | | | |')"
    db=$((db + 1))
done

# 6. RSS of a relay on an SQLite outbox with RSS_N pending retries (due in an hour).
echo
if [[ $RSS_N == 0 ]]; then
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi
"$BENCH" --fill "$TMP/rss.db" "$RSS_N" 2>&1
"$BIN" relay --store "sqlite:$TMP/rss.db" --secret s --allow-private --quiet 2>/dev/null &
RP=$!; PIDS+=($RP)
sleep 10
rss=$(sed -n 's/^VmRSS:\s*//p' /proc/$RP/status); hwm=$(sed -n 's/^VmHWM:\s*//p' /proc/$RP/status)
kill -TERM $RP; wait $RP 2>/dev/null || true
status=$("$BIN" outbox status --store "sqlite:$TMP/rss.db" --json)
echo "relay on an SQLite outbox with $RSS_N pending retries, after 10 s: VmRSS $rss, VmHWM $hwm; file $(du -h "$TMP/rss.db" | cut -f1); status $status"
echo "seed: $(sha256sum "$SEED_DIR/webhook.go" | cut -c1-16), $(go version | cut -d' ' -f3); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
