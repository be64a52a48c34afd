#!/usr/bin/env python3
"""Writes tests/vectors/*.json: every expected value, computed independently of the crate.

Signatures use Python's `hmac`/`hashlib`; artifact JSON is an independent Python
implementation of the documented rules (json.dumps, urllib.parse.quote, base64); event
timestamps are computed with `datetime` plus integer nanoseconds. Run it with
`python3 tests/vectors/generate.py`; the files are committed, so tests never run it.

go_events.json and go_artifacts.json are not written here: Go itself writes them
(tests/vectors/go, the seed's struct and FormatArtifacts under encoding/json), for the
claims of byte-for-byte agreement with Go.
"""
import base64
import calendar
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))


def mac_hex(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def text_or_none(b: bytes):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


# ---------------------------------------------------------------- signatures
def sig_cases():
    cases = []

    def case(name, body: bytes, secrets, header, expect, note=None):
        c = {
            "name": name,
            "body_hex": body.hex(),
            "body_text": text_or_none(body),
            "secrets": [{"hex": s.hex(), "text": text_or_none(s)} for s in secrets],
            "header": header,
            "expect": expect,
        }
        if note:
            c["note"] = note
        cases.append(c)

    # RFC 4231, HMAC-SHA-256 column; the expected digests are the RFC's published ones,
    # cross-checked here against Python's hmac (assert below).
    rfc = [
        ("rfc4231 tc1", b"\x0b" * 20, b"Hi There",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        ("rfc4231 tc2", b"Jefe", b"what do ya want for nothing?",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ("rfc4231 tc3", b"\xaa" * 20, b"\xdd" * 50,
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        ("rfc4231 tc4", bytes(range(1, 26)), b"\xcd" * 50,
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        ("rfc4231 tc6", b"\xaa" * 131,
         b"Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ("rfc4231 tc7", b"\xaa" * 131,
         b"This is a test using a larger than block-size key and a larger than block-size"
         b" data. The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]
    for name, key, body, published in rfc:
        assert mac_hex(key, body) == published, name
        case(name, body, [key], "sha256=" + published, "ok")

    gh_secret = b"It's a Secret to Everybody"
    gh_body = b"Hello, World!"
    gh = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert mac_hex(gh_secret, gh_body) == gh
    case("github documented example", gh_body, [gh_secret], "sha256=" + gh, "ok")

    s = b"foreman-test-secret"
    body = json.dumps({"job_id": "j-1", "state": "running", "previous_state": "queued"},
                      separators=(",", ":")).encode()
    good = mac_hex(s, body)
    case("event body", body, [s], "sha256=" + good, "ok")
    case("empty body is valid input", b"", [s], "sha256=" + mac_hex(s, b""), "ok")
    uni = "état: réussi ✓ 🚀".encode()
    case("unicode body", uni, [s], "sha256=" + mac_hex(s, uni), "ok")
    big = bytes((i * 7 + 3) % 256 for i in range(4096))
    case("4 KiB binary body", big, [s], "sha256=" + mac_hex(s, big), "ok")
    case("unicode secret", body, ["clé secrète 🔑".encode()],
         "sha256=" + mac_hex("clé secrète 🔑".encode(), body), "ok")

    # Decisions beyond Go.
    case("uppercase hex accepted", body, [s], "sha256=" + good.upper(), "ok",
         "Go rejects; we compare decoded bytes")
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(good))
    case("mixed-case hex accepted", body, [s], "sha256=" + mixed, "ok")
    case("leading space trimmed", body, [s], " sha256=" + good, "ok")
    case("trailing space trimmed", body, [s], "sha256=" + good + " ", "ok")
    case("surrounding tabs trimmed", body, [s], "\tsha256=" + good + "\t", "ok")
    case("trailing newline not trimmed", body, [s], "sha256=" + good + "\n", "wrong_length")
    case("space after prefix", body, [s], "sha256= " + good, "wrong_length")

    # Malformed headers: attacker junk.
    case("empty header", body, [s], "", "missing_prefix")
    case("bare hex, no prefix", body, [s], good, "missing_prefix")
    case("uppercase prefix", body, [s], "SHA256=" + good, "missing_prefix")
    case("sha1 prefix", body, [s], "sha1=" + good[:40], "missing_prefix")
    case("prefix without equals", body, [s], "sha256" + good, "missing_prefix")
    case("v1 standard-webhooks entry", body, [s], "v1," + base64.b64encode(bytes.fromhex(good)).decode(), "missing_prefix")
    case("prefix only", body, [s], "sha256=", "wrong_length")
    case("one hex digit", body, [s], "sha256=a", "wrong_length")
    case("63 hex digits", body, [s], "sha256=" + good[:63], "wrong_length")
    case("65 hex digits", body, [s], "sha256=" + good + "0", "wrong_length")
    case("128 hex digits", body, [s], "sha256=" + good + good, "wrong_length")
    case("non-hex letter", body, [s], "sha256=" + good[:63] + "g", "malformed_hex")
    case("0x inside", body, [s], "sha256=0x" + good[:62], "malformed_hex")
    case("non-ascii making 64 bytes", body, [s], "sha256=" + good[:62] + "é", "malformed_hex")
    case("base64 of the right mac", body, [s], "sha256=" + base64.b64encode(bytes.fromhex(good)).decode(), "wrong_length")

    # Well-formed but wrong.
    case("wrong secret", body, [b"other-secret"], "sha256=" + good, "mismatch")
    case("tampered body", body.replace(b"running", b"runninG"), [s], "sha256=" + good, "mismatch")
    case("body with trailing newline", body + b"\n", [s], "sha256=" + good, "mismatch")
    case("secret with trailing space is another key", body, [s + b" "], "sha256=" + good, "mismatch")
    case("all zero signature", body, [s], "sha256=" + "0" * 64, "mismatch")
    case("signature of empty body", body, [s], "sha256=" + mac_hex(s, b""), "mismatch")

    # Secrets.
    case("empty secret refused", body, [b""], "sha256=" + mac_hex(b"", body), "empty_secret",
         "an empty key makes forgery trivial")
    case("no secrets refused", body, [], "sha256=" + good, "empty_secret")
    old, new = b"old-rotating-secret", b"new-rotating-secret"
    case("rotation: new key matches", body, [old, new], "sha256=" + mac_hex(new, body), "ok")
    case("rotation: old key matches", body, [old, new], "sha256=" + mac_hex(old, body), "ok")
    case("rotation: neither matches", body, [old, new], "sha256=" + good, "mismatch")
    case("rotation: junk header", body, [old, new], "sha256=zz", "wrong_length")
    return cases


# ---------------------------------------------------------------- artifacts
def spec_data(spec):
    if spec is None:
        return None
    if "text" in spec:
        return spec["text"].encode()
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if "repeat" in spec:
        unit = spec["repeat"].encode()
        n = spec["len"]
        return (unit * (n // len(unit) + 1))[:n]
    raise ValueError(spec)


def segment(s: str) -> str:
    if s == ".":
        return "%2E"
    if s == "..":
        return "%2E%2E"
    return urllib.parse.quote(s, safe="")  # leaves only A-Za-z0-9 _.-~


def py_format(job_id, arts, per=262144, budget=262144):
    if not arts:
        return None, []
    remaining = budget
    out, places = [], []
    for a in arts:
        data = spec_data(a["data"])
        o = {"name": a["name"], "content_type": a["content_type"], "size": a["size"]}
        if data is None:
            place = "url_no_data"
        elif a["size"] > per or len(data) > per:
            place = "url_too_large"
        elif len(data) > remaining:
            place = "url_over_budget"
        else:
            remaining -= len(data)
            t = text_or_none(data)
            if t is not None:
                o["data"] = t
                place = "inline_text"
            else:
                o["data"] = base64.b64encode(data).decode()
                o["encoding"] = "base64"
                place = "inline_base64"
        if not place.startswith("inline"):
            o["url"] = f"/jobs/{segment(job_id)}/artifacts/{segment(a['name'])}"
        out.append(o)
        places.append(place)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False), places


def art_cases():
    cases = []

    def case(name, job_id, arts, limits=None, note=None):
        kw = {}
        if limits:
            kw = {"per": limits["per_artifact"], "budget": limits["budget"]}
        expected, places = py_format(job_id, arts, **kw)
        c = {"name": name, "job_id": job_id, "limits": limits, "artifacts": arts,
             "placements": places}
        if expected is not None and len(expected) > 4096:
            c["expected_sha256"] = hashlib.sha256(expected.encode()).hexdigest()
            c["expected_len"] = len(expected.encode())
        else:
            c["expected"] = expected
        if note:
            c["note"] = note
        cases.append(c)

    def art(name, ct, size, data):
        return {"name": name, "content_type": ct, "size": size, "data": data}

    case("zero artifacts is null", "job-1", [])
    case("small text inlined", "job-1", [art("out.txt", "text/plain", 5, {"text": "hello"})])
    case("no data gives url", "job-1", [art("model.bin", "application/octet-stream", 1024, None)])
    case("json text with quotes and escapes", "job-1",
         [art("r.json", "application/json", 27, {"text": '{"a":"b\\n","c":[1,2]}\t\n\u0001<>&'})])
    case("unicode text", "job-1", [art("note.md", "text/markdown", 17, {"text": "état ✓ 🚀"})])
    case("binary data as base64", "job-1",
         [art("img.png", "image/png", 8, {"hex": "89504e470d0a1a0a"})],
         note="Go would corrupt this to U+FFFD")
    case("invalid utf-8 in the middle", "job-1",
         [art("log.txt", "text/plain", 7, {"hex": "6f6bff6f6bfe21"})])
    case("empty data kept as empty string", "job-1", [art("empty.txt", "text/plain", 0, {"text": ""})])
    case("at the threshold inlined", "job-big",
         [art("a.txt", "text/plain", 262144, {"repeat": "abcdefgh", "len": 262144})])
    case("one byte over the threshold", "job-big",
         [art("a.txt", "text/plain", 262145, {"repeat": "abcdefgh", "len": 262145})])
    case("declared size over, small data", "job-1",
         [art("lie.txt", "text/plain", 10_000_000, {"text": "tiny"})])
    case("declared size small, data over", "job-1",
         [art("lie.txt", "text/plain", 4, {"repeat": "x", "len": 262145})])
    case("odd job id and name are escaped", "a b/c?d#e",
         [art("dir/../x y%.txt", "text/plain", 1, None)])
    case("unicode name escaped as utf-8", "j\u00e9", [art("r\u00e9sum\u00e9 ✓.pdf", "application/pdf", 9, None)])
    case("dot names cannot climb", "..", [art(".", "text/plain", 1, None), art("..", "text/plain", 1, None)])
    case("unreserved characters kept", "Job-1_x.y~z", [art("A-b_c.d~e", "text/plain", 1, None)])
    case("empty names", "", [art("", "", 0, None)])
    case("mixed inline and url", "job-9", [
        art("small.txt", "text/plain", 3, {"text": "abc"}),
        art("big.bin", "application/octet-stream", 900_000_000, None),
        art("bin.dat", "application/octet-stream", 3, {"hex": "00ff10"}),
    ])
    lim = {"per_artifact": 10, "budget": 16}
    case("budget: first fit in order", "job-b", [
        art("a", "text/plain", 8, {"text": "aaaaaaaa"}),
        art("b", "text/plain", 9, {"text": "bbbbbbbbb"}),
        art("c", "text/plain", 8, {"text": "cccccccc"}),
        art("d", "text/plain", 1, {"text": "d"}),
    ], limits=lim)
    case("budget: per-artifact limit", "job-b", [
        art("a", "text/plain", 11, {"text": "aaaaaaaaaaa"}),
        art("b", "text/plain", 10, {"text": "bbbbbbbbbb"}),
    ], limits=lim)
    case("budget: zero budget means all urls", "job-b", [
        art("a", "text/plain", 1, {"text": "a"}),
        art("e", "text/plain", 0, {"text": ""}),
    ], limits={"per_artifact": 10, "budget": 0})
    many = [art(f"part-{i:02}.txt", "text/plain", 40_000, {"repeat": chr(97 + i % 26), "len": 40_000})
            for i in range(10)]
    case("many artifacts over the default budget", "job-many", many,
         note="Go would inline all ten (400 000 bytes); the budget inlines six")
    return cases


# ---------------------------------------------------------------- events
def parse_go_time(s):
    """Returns (unix_nanos, offset_seconds) for an RFC 3339 string, Go-style (fraction
    truncated to nanoseconds)."""
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})", s)
    assert m, s
    base = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = (m.group(2) or "")[:9].ljust(9, "0")
    off = 0
    if m.group(3) != "Z":
        sign = 1 if m.group(3)[0] == "+" else -1
        off = sign * (int(m.group(3)[1:3]) * 3600 + int(m.group(3)[4:6]) * 60)
    secs = calendar.timegm(base.timetuple()) - off
    return secs * 1_000_000_000 + int(frac), off


def go_time(nanos, off):
    """RFC 3339 as Go's time.Time MarshalJSON writes it (RFC3339Nano)."""
    secs, ns = divmod(nanos, 1_000_000_000)
    t = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=secs + off)
    out = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if ns:
        out += "." + f"{ns:09d}".rstrip("0")
    if off == 0:
        return out + "Z"
    sign = "+" if off > 0 else "-"
    return out + f"{sign}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"


def event_cases():
    cases = []
    keys = ["job_id", "state", "previous_state", "timestamp", "model", "attempt",
            "result", "artifacts", "error"]

    def case(name, wire, reencoded=None):
        obj = json.loads(wire)
        ts = obj.get("timestamp")
        nanos, off = parse_go_time(ts) if ts else (None, 0)
        fields = {
            "job_id": obj.get("job_id") or "",
            "state": obj.get("state") or "",
            "previous_state": obj.get("previous_state") or "",
            "model": obj.get("model") or "",
            "attempt": obj.get("attempt") or 0,
            "error": obj.get("error"),
            "unix_nanos": str(nanos) if nanos is not None else None,
            "offset_seconds": off,
        }
        if reencoded is None:
            # Build what Event::to_json writes: keys in the Go struct's order, raw messages
            # verbatim from the input text, time re-rendered as Go renders it. That is the
            # JSON value Go writes; Go's exact bytes (HTML escaping, compacted raw
            # messages) are checked against Go itself in go_events.json.
            raw = {}
            for k in ("result", "artifacts"):
                mm = re.search(r'"%s":(\s*)' % k, wire)
                raw[k] = extract_raw(wire, mm.end()) if mm else "null"
            parts = []
            for k in keys:
                if k in ("result", "artifacts"):
                    parts.append(f'"{k}":{raw[k]}')
                elif k == "timestamp":
                    parts.append(f'"timestamp":"{go_time(nanos, off)}"')
                else:
                    v = fields[k]
                    parts.append(f'"{k}":' + json.dumps(v, ensure_ascii=False, separators=(",", ":")))
            reencoded = "{" + ",".join(parts) + "}"
        cases.append({"name": name, "wire": wire, "fields": fields, "reencoded": reencoded})

    case("go output, nanoseconds, utc",
         '{"job_id":"job-1","state":"running","previous_state":"queued",'
         '"timestamp":"2026-11-28T14:00:00.123456789Z","model":"llama-3-8b","attempt":1,'
         '"result":null,"artifacts":null,"error":null}')
    case("go output, whole seconds",
         '{"job_id":"job-1","state":"queued","previous_state":"",'
         '"timestamp":"2026-11-28T14:00:00Z","model":"m","attempt":0,'
         '"result":null,"artifacts":null,"error":null}')
    case("go output, offset and short fraction",
         '{"job_id":"j","state":"succeeded","previous_state":"running",'
         '"timestamp":"2026-11-28T16:00:00.5+02:00","model":"m","attempt":2,'
         '"result":{"tokens":42,"text":"ok"},"artifacts":[{"name":"a","content_type":"text/plain","size":1,"data":"x"}],"error":null}')
    case("negative offset, millisecond fraction",
         '{"job_id":"j","state":"failed","previous_state":"running",'
         '"timestamp":"2026-01-02T03:04:05.120-07:30","model":"m","attempt":3,'
         '"result":null,"artifacts":null,"error":"CUDA out of memory: \\"gpu0\\" \u00e9\\n"}')
    case("fraction longer than nanoseconds is truncated",
         '{"job_id":"j","state":"running","previous_state":"queued",'
         '"timestamp":"2026-11-28T14:00:00.123456789987Z","model":"m","attempt":1,'
         '"result":null,"artifacts":null,"error":null}')
    case("raw result kept verbatim, whitespace included",
         '{"job_id":"j","state":"succeeded","previous_state":"running",'
         '"timestamp":"2026-11-28T14:00:00Z","model":"m","attempt":1,'
         '"result":[1, 2, {"k": "v"}],"artifacts":null,"error":null}')
    case("keys in another order, unknown keys ignored",
         '{"error":null,"extra":{"x":1},"attempt":4,"job_id":"j","state":"running",'
         '"timestamp":"2026-11-28T14:00:00.000000001Z","model":"m","previous_state":"queued",'
         '"result":"text","artifacts":null}')
    case("missing keys decode to zero values",
         '{"job_id":"j","state":"queued","timestamp":"2026-11-28T14:00:00Z"}')
    case("null strings and ints decode to zero values",
         '{"job_id":null,"state":"queued","previous_state":null,"timestamp":"2026-11-28T14:00:00Z",'
         '"model":null,"attempt":null,"result":null,"artifacts":null,"error":null}')
    case("go zero time",
         '{"job_id":"j","state":"queued","previous_state":"","timestamp":"0001-01-01T00:00:00Z",'
         '"model":"","attempt":0,"result":null,"artifacts":null,"error":null}')
    case("empty error string is not null",
         '{"job_id":"j","state":"failed","previous_state":"running","timestamp":"2026-11-28T14:00:00Z",'
         '"model":"","attempt":1,"result":null,"artifacts":null,"error":""}')
    return cases


def extract_raw(text, start):
    """The JSON value text starting at `start` (verbatim)."""
    dec = json.JSONDecoder()
    _, end = dec.raw_decode(text, start)
    return text[start:end]


# ---------------------------------------------------------------- standard webhooks
def std_sig(key: bytes, msg_id: str, ts: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def std_cases():
    cases = []
    off_secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
    off_key = base64.b64decode(off_secret[6:])
    off_id = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"
    off_ts = 1649367553
    off_body = b'{"email":"test@example.com","username":"test_user"}'
    published = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    assert std_sig(off_key, off_id, off_ts, off_body) == published

    def case(name, expect, secrets=(off_secret,), msg_id=off_id, ts=str(off_ts),
             sig=published, body=off_body, now=off_ts, tolerance=None, sign=None, note=None):
        c = {"name": name, "secrets": list(secrets), "id": msg_id, "timestamp": ts,
             "signature": sig, "body_hex": body.hex(), "body_text": text_or_none(body),
             "now": now, "tolerance": tolerance, "expect": expect}
        if sign is not None:
            c["sign"] = sign  # what signing with all `secrets` must produce
        if note:
            c["note"] = note
        cases.append(c)

    case("published vector", "ok", sign=published)
    case("published vector, 300 s later (inclusive)", "ok", now=off_ts + 300)
    case("published vector, 301 s later", "too_old", now=off_ts + 301)
    case("published vector, 300 s early (inclusive)", "ok", now=off_ts - 300)
    case("published vector, 301 s early", "too_new", now=off_ts - 301)
    case("custom tolerance 10 s, 11 s later", "too_old", now=off_ts + 11, tolerance=10)
    case("custom tolerance 10 s, 10 s later", "ok", now=off_ts + 10, tolerance=10)
    case("one year old replay", "too_old", now=off_ts + 365 * 86400)
    bogus = "v1," + base64.b64encode(b"\x00" * 32).decode()
    case("several entries, the last matches", "ok", sig=f"{bogus} {published}")
    case("several entries, the first matches", "ok", sig=f"{published} {bogus}")
    case("tab-separated entries", "ok", sig=f"{bogus}\t{published}")
    case("unpadded base64 accepted", "ok", sig=published.rstrip("="))
    old_key, new_key = b"old-key-bytes-0123456789", b"new-key-bytes-9876543210"
    old = "whsec_" + base64.b64encode(old_key).decode()
    new = "whsec_" + base64.b64encode(new_key).decode()
    both = std_sig(old_key, off_id, off_ts, off_body) + " " + std_sig(new_key, off_id, off_ts, off_body)
    case("rotation: signed by old, receiver has old+new", "ok", secrets=[old, new],
         sig=std_sig(old_key, off_id, off_ts, off_body), sign=both)
    case("rotation: signed by new, receiver has old+new", "ok", secrets=[old, new],
         sig=std_sig(new_key, off_id, off_ts, off_body))
    case("rotation: sender signs with both, receiver has only new", "ok", secrets=[new], sig=both)
    case("rotation: receiver has neither key", "no_matching_signature", secrets=[old], sig=published)
    case("secret without whsec_ prefix", "ok", secrets=[off_secret[6:]])
    case("tampered body", "no_matching_signature", body=off_body.replace(b"test_user", b"test_usEr"))
    case("different id", "no_matching_signature", msg_id="msg_other")
    case("timestamp changed, same signature", "no_matching_signature", ts=str(off_ts + 1), now=off_ts)
    case("leading zeros in timestamp", "ok", ts="0" + str(off_ts),
         note="the signed content uses the integer, as the official libraries do")
    case("spaces around timestamp", "ok", ts=f" {off_ts} ")
    case("unknown version v1a ignored", "no_matching_signature", sig="v1a," + published[3:])
    case("v2 ignored", "no_matching_signature", sig="v2," + published[3:])
    case("unknown version beside a match", "ok", sig=f"v1a,{published[3:]} {published}")
    case("missing webhook-id", "missing_header:webhook-id", msg_id=None)
    case("missing webhook-timestamp", "missing_header:webhook-timestamp", ts=None)
    case("missing webhook-signature", "missing_header:webhook-signature", sig=None)
    for bad in ["", "abc", "1649367553.5", "-1649367553", "+1649367553", "1e9", "0x62500181",
                "99999999999999999999999"]:
        case(f"malformed timestamp {bad!r}", "malformed_timestamp", ts=bad)
    case("entry without comma", "malformed_signature", sig="v1" + published[3:])
    case("empty signature header", "malformed_signature", sig="")
    case("non-base64 entry", "malformed_signature", sig="v1,!!!notbase64!!!")
    case("foreman scheme header in the standard slot", "malformed_signature",
         sig="sha256=" + hmac.new(off_key, off_body, hashlib.sha256).hexdigest())
    case("base64 of a short mac", "no_matching_signature", sig="v1," + base64.b64encode(b"\x01" * 16).decode())
    case("empty secret refused", "empty_secret", secrets=["whsec_"])
    case("no secrets refused", "empty_secret", secrets=[])
    case("undecodable secret refused", "malformed_secret", secrets=["whsec_!!!"])
    eb = b""
    case("empty body", "ok", body=eb, sig=std_sig(off_key, off_id, off_ts, eb),
         sign=std_sig(off_key, off_id, off_ts, eb))
    bin_body = bytes(range(256))
    case("binary body", "ok", body=bin_body, sig=std_sig(off_key, off_id, off_ts, bin_body))
    return cases


def write(name, cases):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"generator": "tests/vectors/generate.py", "count": len(cases), "cases": cases},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{name}: {len(cases)} cases")


if __name__ == "__main__":
    write("signatures.json", sig_cases())
    write("artifacts.json", art_cases())
    write("events.json", event_cases())
    write("standard.json", std_cases())
