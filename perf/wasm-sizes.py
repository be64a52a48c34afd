#!/usr/bin/env python3
# Where the bytes of a .wasm go: section sizes, the largest functions by code size, and
# code size per crate/category (needs a name section: wasm-opt ... --debuginfo, no
# --strip-debug). Used for issue 14; see BENCHMARKS.md for the command.
#   python3 perf/wasm-sizes.py <file.wasm> [top N]
import sys, re, collections
def leb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return r, i
b = open(sys.argv[1], 'rb').read()
i = 8; secs = []; nimports = 0; names = {}; bodies = []
while i < len(b):
    sid = b[i]; i += 1; size, i = leb(b, i); start = i; end = i + size
    if sid == 0:
        nl, j = leb(b, i); nm = b[j:j+nl].decode(); j += nl
        secs.append(('custom:' + nm, size))
        if nm == 'name':
            while j < end:
                sub = b[j]; j += 1; sl, j = leb(b, j); se = j + sl
                if sub == 1:
                    n, j = leb(b, j)
                    for _ in range(n):
                        idx, j = leb(b, j); l, j = leb(b, j); names[idx] = b[j:j+l].decode('utf8', 'replace'); j += l
                j = se
    else:
        secs.append((sid, size))
    if sid == 2:
        n, j = leb(b, i)
        for _ in range(n):
            l, j = leb(b, j); j += l; l, j = leb(b, j); j += l
            k = b[j]; j += 1
            if k == 0: _, j = leb(b, j); nimports += 1
            elif k == 1: j += 1; f, j = leb(b, j); _, j = leb(b, j); j = (leb(b, j)[1] if f & 1 else j)
            elif k == 2: f, j = leb(b, j); _, j = leb(b, j); j = (leb(b, j)[1] if f & 1 else j)
            elif k == 3: j += 2
    if sid == 10:
        n, j = leb(b, i)
        for k in range(n):
            l, j = leb(b, j); bodies.append((nimports + k, l)); j += l
    i = end
print('sections:', secs)
tot = sum(l for _, l in bodies)
print('code total', tot, 'functions', len(bodies))
top = int(sys.argv[2]) if len(sys.argv) > 2 else 60
for idx, l in sorted(bodies, key=lambda x: -x[1])[:top]:
    print(f'{l:7d}  {names.get(idx, "?")[:150]}')

cats = collections.Counter()
def cat(n):
    rules = [('shim', 'shim'), ('wasm::standard', 'foreman_webhook::wasm::standard'), ('wasm::js', 'foreman_webhook::wasm::js'), ('wasm', 'foreman_webhook::wasm'),
             ('fw_', 'fw_'), ('base64', 'base64'), ('sha2', 'sha2'), ('digest/hmac', 'digest'), ('digest/hmac', 'hmac'), ('serde_json', 'serde_json'), ('serde', 'serde'),('time', 'time::'),
             ('fmt', 'fmt'), ('panic', 'panic'), ('std', 'std['), ('alloc', 'alloc'), ('lol', 'lol_alloc'), ('core', 'core'), ('wasm_bindgen', 'wasm_bindgen'), ('wbg', '__wbg'), ('wbg', '__wbindgen'), ('wbg', '__externref'),
             ('fwcore', 'foreman_webhook')]
    for c, p in rules:
        if p in n: return c
    return 'other'
other = []
for idx, l in bodies:
    n = names.get(idx, '?'); c = cat(n); cats[c] += l
    if c in ('other',): other.append((l, n))
for c, l in cats.most_common(): print(f'{l:7d} {c}')
for l, n in sorted(other, reverse=True)[:25]: print('  other', l, n[:120])
