#!/usr/bin/env bash
# The Go seed's own Dispatcher against ours, side by side, in one run against the same
# receiver (issues 12 and 15; BENCHMARKS.md, section "5. Go seed vs ours").
#
#   perf/seed-vs-ours.sh            # 20,000-event burst, 3 interleaved rounds, + retry scenario
#   N=20000 ROUNDS=5 RETRY=0 perf/seed-vs-ours.sh
#   QUICK=1 perf/seed-vs-ours.sh    # smoke run: N=2000, 1 round
#
# Needs: Go (any version ≥ 1.19; Debian: apt-get install -y golang-go), cargo, GNU time
# (/usr/bin/time, Debian package `time`; optional). Talks only to 127.0.0.1.
#
# What it does:
# 1. copies the seed, unmodified but for its `log/slog` import (Go 1.21+), from
#    $SEED_DIR (default: ../shared/seed next to the repository, or next to its parent)
#    into a temporary Go module, with perf/seed/slog.go as that import (the same calls)
#    and perf/seed/driver.go as the program that fires the burst; builds it;
# 2. builds benches/seed_vs_ours.rs (release): the receiver, our sender and the report;
# 3. starts ONE receiver (127.0.0.1, one thread), then for each round runs the Go driver
#    and our sender twice (our dispatcher on the runtime it starts for itself, as in a
#    synchronous worker, then on a 2-worker tokio runtime handed to it, as in an async
#    service; the seed's goroutines use both cores), the order rotated every round, each
#    a fresh process under
#    /usr/bin/time: N signed 1 KiB events fired as fast as the caller can; deliveries/s
#    = N ÷ (first fire → the receiver's last first-time 2xx); peak RSS = the sender's
#    VmHWM read after the last 2xx (and GNU time's max RSS at exit); CPU time of the
#    sender (GNU time) and of the receiver during the run (/proc/PID/stat);
# 4. the same with the receiver failing half of the first attempts (RETRY=0 skips it;
#    both senders wait 1 s before a retry, so that scenario measures the schedule more
#    than the sender);
# 5. prints the tables (medians of the rounds and ours ÷ seed ratios).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20000}
ROUNDS=${ROUNDS:-3}
RETRY=${RETRY:-1}
if [[ -n ${QUICK:-} ]]; then N=2000; ROUNDS=1; fi

if [[ -z ${SEED_DIR:-} ]]; then
    for d in "$ROOT/../shared/seed" "$ROOT/../../shared/seed"; do
        if [[ -f $d/webhook.go ]]; then SEED_DIR=$(cd "$d" && pwd -P); break; fi
    done
fi
if [[ ! -f ${SEED_DIR:-}/webhook.go ]]; then
    echo "the Go seed (webhook.go) was not found in ../shared/seed: set SEED_DIR" >&2
    exit 1
fi
if ! command -v go >/dev/null; then
    echo "go not found: apt-get install -y golang-go (Debian's Go 1.19 is enough)" >&2
    exit 1
fi

TMP=$(mktemp -d)
RECEIVER_PID=
cleanup() {
    if [[ -n $RECEIVER_PID ]]; then kill "$RECEIVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# 1. The seed, its slog stand-in and the driver, in a throwaway module.
mkdir -p "$TMP/go/webhook" "$TMP/go/slog"
printf 'module seedbench\n\ngo 1.19\n' > "$TMP/go/go.mod"
sed 's#^\t"log/slog"$#\t"seedbench/slog"#' "$SEED_DIR/webhook.go" > "$TMP/go/webhook/webhook.go"
changed=$(diff "$SEED_DIR/webhook.go" "$TMP/go/webhook/webhook.go" | grep -c '^>' || true)
if [[ $changed != 1 ]]; then
    echo "expected to change exactly the log/slog import line of the seed, changed $changed" >&2
    exit 1
fi
cp "$ROOT/perf/seed/slog.go" "$TMP/go/slog/"
cp "$ROOT/perf/seed/driver.go" "$TMP/go/"
echo "building the Go seed's driver with $(go version)" >&2
(cd "$TMP/go" && GOFLAGS=-mod=mod go build -o "$TMP/seed-driver" .)

# 2. Our side.
echo "building benches/seed_vs_ours.rs (release)" >&2
OURS=$(cd "$ROOT" && cargo bench --features native --bench seed_vs_ours --no-run 2>&1 \
    | tee "$TMP/cargo.log" | sed -n 's/.*Executable .*(\(.*seed_vs_ours-[^)]*\)).*/\1/p' | tail -1)
if [[ ! -x $OURS ]]; then cat "$TMP/cargo.log" >&2; echo "build failed" >&2; exit 1; fi

# The seed may hold one connection per event open at once (so may the receiver).
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $((N + 1000)) ]]; then
    echo "warning: open-files limit $(ulimit -n) < N + 1000: the seed's run may fail to connect" >&2
fi

# 3. One receiver for every run.
"$OURS" --receiver > "$TMP/receiver.out" 2> "$TMP/receiver.err" &
RECEIVER_PID=$!
for _ in $(seq 100); do
    grep -q '^PORT ' "$TMP/receiver.out" 2>/dev/null && break
    sleep 0.05
done
PORT=$(sed -n 's/^PORT //p' "$TMP/receiver.out")
[[ -n $PORT ]] || { echo "the receiver did not start" >&2; cat "$TMP/receiver.err" >&2; exit 1; }
URL="http://127.0.0.1:$PORT/hook"
CTL="http://127.0.0.1:$PORT"

TIME=()
if [[ -x /usr/bin/time ]]; then
    TIME=(/usr/bin/time -f 'maxrss_kb=%M user_s=%U sys_s=%S' -o "$TMP/time")
else
    echo "GNU time not found (apt-get install -y time): no max-RSS cross-check, no CPU column" >&2
fi

run() { # impl fail round
    local impl=$1 fail=$2 round=$3
    rm -f "$TMP/time"
    local r0 r1
    r0=$(awk '{print $14 + $15}' "/proc/$RECEIVER_PID/stat")
    case $impl in
    seed) "${TIME[@]}" "$TMP/seed-driver" -n "$N" -url "$URL" -ctl "$CTL" -fail "$fail" > "$TMP/out" ;;
    ours) "${TIME[@]}" "$OURS" --ours "$N" "$URL" "$CTL" "$fail" > "$TMP/out" ;;
    ours-mt) "${TIME[@]}" "$OURS" --ours "$N" "$URL" "$CTL" "$fail" mt > "$TMP/out" ;;
    esac
    r1=$(awk '{print $14 + $15}' "/proc/$RECEIVER_PID/stat")
    local line
    line="$(grep '^RESULT ' "$TMP/out") run=$round recv_cpu_s=$(awk "BEGIN{print ($r1 - $r0) / 100}") $(tail -1 "$TMP/time" 2>/dev/null || true)"
    echo "$line" >> "$TMP/results"
    echo "  $line" >&2
    sleep 1 # let the closed connections settle before the next sender
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +'%Y-%m-%d %H:%M:%S UTC'); commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src benches perf || echo ' (+ local changes)')"
SCENARIOS=(0)
if [[ $RETRY != 0 ]]; then SCENARIOS+=(1); fi
for fail in "${SCENARIOS[@]}"; do
    for round in $(seq "$ROUNDS"); do
        echo "scenario fail=$fail round $round/$ROUNDS" >&2
        # Rotate the order every round, so load that comes and goes hits each alike.
        order=(seed ours ours-mt)
        for i in 0 1 2; do
            run "${order[$(((i + round - 1) % 3))]}" "$fail" "$round"
        done
    done
done
if [[ -s $TMP/receiver.err ]]; then
    echo "receiver stderr (first lines):" >&2
    head -5 "$TMP/receiver.err" >&2
fi
echo "seed: $SEED_DIR/webhook.go ($(sha256sum "$SEED_DIR/webhook.go" | cut -c1-16)), $(go version | cut -d' ' -f3); receiver 127.0.0.1:$PORT"
echo
"$OURS" --report "$TMP/results"
if [[ -n ${KEEP_RESULTS:-} ]]; then cp "$TMP/results" "$KEEP_RESULTS"; fi
