#!/usr/bin/env python3
"""Groups `perf record -e cpu-clock` samples of chosen threads into cost categories, in µs
of CPU per unit of work (a delivery, an attempt), side by side.

Usage: perf/perf-categories.py UNITS FREQ LABEL=PERF_DATA:TID [LABEL=PERF_DATA:TID ...]
  UNITS  units of work done while recording (e.g. deliveries), FREQ the -F of perf record.
Example (section 3 of BENCHMARKS.md):
  ONLY=dispatcher C=64 N=100000 perf record -e cpu-clock -F 2999 -o d.data <delivery bench binary>
  perf report -i d.data --sort pid        # find the thread ids
  perf/perf-categories.py 100064 2999 "runtime thread=d.data:123" "firing thread=d.data:120"
"""
import re
import subprocess
import sys


def rows(data, tid):
    out = subprocess.run(
        ["perf", "report", "-i", data, "--stdio", "--no-children", "-n", "--tid", tid,
         "--sort", "dso,sym"],
        capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
        if m:
            yield int(m.group(1)), m.group(2), m.group(3), m.group(4).strip()


def category(dso, kind, sym):
    if kind == "k" or "kernel" in dso:
        if re.search(r"finish_task_switch|schedule|futex", sym):
            return "kernel: scheduler (context switches, futex)"
        return "kernel: sockets, TCP, syscalls, page faults"
    if "libc" in dso:
        if re.search(r"malloc|free|_int_|unlink_chunk|realloc|consolidate", sym):
            return "libc malloc/free"
        if "mem" in sym:
            return "libc memcpy/memmove/memset"
        return "libc other"
    if "sha2" in sym or "hmac" in sym:
        return "HMAC-SHA256 signing"
    if sym.startswith("foreman_webhook"):
        return "foreman_webhook (fire, scheduler, attempt)"
    if "tokio" in sym:
        return "tokio runtime"
    if re.search(r"hyper|reqwest|http::|tower|bytes::|url::|idna", sym):
        return "reqwest/hyper/http/bytes/url"
    if "serde" in sym:
        return "serde_json (to_json)"
    return "other user code"


def main():
    units, freq = float(sys.argv[1]), float(sys.argv[2])
    cols = []
    for arg in sys.argv[3:]:
        label, spec = arg.split("=", 1)
        data, tid = spec.rsplit(":", 1)
        sums = {}
        for n, dso, kind, sym in rows(data, tid):
            key = category(dso, kind, sym)
            sums[key] = sums.get(key, 0) + n
        cols.append((label, sums))
    us = lambda n: n / freq / units * 1e6
    keys = sorted({k for _, s in cols for k in s}, key=lambda k: -sum(s.get(k, 0) for _, s in cols))
    print("| µs of CPU per unit (perf, cpu-clock) | " + " | ".join(l for l, _ in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for k in keys:
        print(f"| {k} | " + " | ".join(f"{us(s.get(k, 0)):.2f}" for _, s in cols) + " |")
    print("| **total** | " + " | ".join(f"{us(sum(s.values())):.2f}" for _, s in cols) + " |")


main()
