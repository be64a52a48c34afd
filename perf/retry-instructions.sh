#!/usr/bin/env bash
# Instructions per first attempt and per retry attempt in the retry bench
# (benches/retry_timers.rs), counted by valgrind's callgrind: the counters are dumped once
# when every first attempt has failed and waits on its retry (the bench prints "waiting on
# retry"), and again at the end, so the first file is the burst (fire() + first
# attempts, both threads) and the second the replay of the retries (+ the bench's own
# summary). Unlike the bench's CPU times, the counts do not move with the machine's load
# (valgrind runs the threads one at a time; kernel time is not counted, and SHA-256 runs
# its portable code under valgrind, ~60,000 instructions per attempt). N (default 20000)
# and RETRY_DELAY_SECS (default 30: valgrind is ~50x slower, the burst must end before
# the first retry is due). Needs valgrind (Debian `valgrind`). Prints the ten functions
# whose cost per attempt differs most between the phases.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cargo bench --features native --bench retry_timers --no-run 2>&1 \
  | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
[ -x "$bin" ] || { echo "bench executable not found" >&2; exit 1; }
n=${N:-20000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
N=$n RETRY_DELAY_SECS=${RETRY_DELAY_SECS:-30} valgrind --tool=callgrind \
  --callgrind-out-file="$out/cg.%p" "$bin" >"$out/stdout" 2>"$out/stderr" &
pid=$!
until grep -q "waiting on retry" "$out/stdout" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$out/stderr" >&2; exit 1; }
  sleep 0.5
done
callgrind_control -d burst "$pid" >/dev/null 2>&1
wait "$pid"
grep -E "waiting on retry|process CPU" "$out/stdout" | cut -c1-160
burst=$(ls "$out"/cg.*.1)
replay=${burst%.1}
python3 - "$burst" "$replay" "$n" <<'PY'
import re, subprocess, sys
burst, replay, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(path):
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", path],
                         capture_output=True, text=True, check=True).stdout
    total, funcs = 0, {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(\S.*)$", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in line:
            total = ir
        else:
            name = re.sub(r" \[.*\]$", "", m.group(2)).split(":", 1)[-1]
            funcs[name] = funcs.get(name, 0) + ir
    return total, funcs
(tb, fb), (tr, fr) = load(burst), load(replay)
print(f"instructions per delivery: fire() + first attempt {tb / n:,.0f}; "
      f"retry attempt {tr / n:,.0f} ({tr / tb - 1:+.1%})")
skip = ("thread_start", "start_thread", "clone", "call_once", "block_on", "enter_runtime",
        "__rust_begin_short_backtrace", "(below main)", "main", "lang_start", "0x0")
keys = [k for k in set(fb) | set(fr) if not any(s in k for s in skip)]
keys.sort(key=lambda k: -abs(fr.get(k, 0) - fb.get(k, 0)))
print("per delivery: burst / retry / difference, function")
for k in keys[:10]:
    b, r = fb.get(k, 0) / n, fr.get(k, 0) / n
    print(f"  {b:8,.0f} {r:8,.0f} {r - b:+8,.0f}  {k[:110]}")
PY
