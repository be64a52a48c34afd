#!/usr/bin/env python3
"""Groups the self time of a V8 .cpuprofile (node --cpu-prof) into buckets: the wasm
function that takes most time, other wasm functions, wasm-bindgen glue, GC, other JS.

Usage:
  node --cpu-prof --cpu-prof-dir=/tmp/prof perf/wasm-verify-loop.mjs   # SIZE=256 SECS=3
  python3 perf/cpuprofile-summary.py /tmp/prof/*.cpuprofile
"""
import collections
import json
import sys

GLUE_NAMES = {"encode", "encodeUtf8String", "get buffer", "decode"}

for path in sys.argv[1:]:
    profile = json.load(open(path))
    nodes = {n["id"]: n for n in profile["nodes"]}
    by_fn = collections.Counter()
    for node_id, count in collections.Counter(profile["samples"]).items():
        frame = nodes[node_id]["callFrame"]
        by_fn[(frame["functionName"] or "(anonymous)", frame["url"])] += count
    wasm = [(c, f) for (f, u), c in by_fn.items() if f.startswith("wasm-function")]
    top_wasm = max(wasm)[1] if wasm else None
    groups = collections.Counter()
    for (name, url), count in by_fn.items():
        if name == top_wasm:
            group = f"{name} (the hottest wasm function)"
        elif name.startswith("wasm-function"):
            group = "other wasm functions"
        elif name == "(garbage collector)":
            group = "GC"
        elif (
            url.endswith("foreman_webhook.js")
            or name in GLUE_NAMES
            or name.startswith(("wasm-to-js", "js-to-wasm"))
        ):
            group = "wasm-bindgen glue (argument conversion, string encoding, memory views)"
        elif name in ("(program)", "(idle)", "(root)"):
            group = name
        else:
            group = "other JS (the benchmark loop)"
        groups[group] += count
    total = sum(groups.values())
    print(path)
    for group, count in groups.most_common():
        print(f"  {100 * count / total:5.1f}%  {group}")
