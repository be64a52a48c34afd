//! The shared vector files, run natively (`cargo test`) and under wasm-bindgen-test
//! (`wasm-pack test --node`, and in Chromium with `WASM_BINDGEN_USE_BROWSER=1`).
//! Expected values come from tests/vectors/generate.py (Python's hmac/json), never from
//! this crate.

use foreman_webhook::{
    format_artifacts_with, plan_artifacts, sign, verify, verify_any, verify_signature, Artifact,
    Event, InlineLimits, Secret, SecretError, Signature, Signer, Timestamp, VerifyError,
};
use serde::Deserialize;

mod cases;
use cases::{load, SigCase, StdCase, SIGNATURE_CASES, STANDARD_CASES};
use sha2::{Digest, Sha256};

const ARTIFACT_CASES: usize = 22;
const EVENT_CASES: usize = 11;

fn code(r: Result<(), VerifyError>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn signature_vectors() {
    let cases: Vec<SigCase> = load(include_str!("vectors/signatures.json"), SIGNATURE_CASES);
    let mut oks = 0;
    for c in &cases {
        let body = hex::decode(&c.body_hex).unwrap();
        let keys: Vec<Vec<u8>> = c
            .secrets
            .iter()
            .map(|s| hex::decode(&s.hex).unwrap())
            .collect();
        let secrets: Result<Vec<Secret>, SecretError> = keys.iter().map(Secret::new).collect();
        let got = match secrets {
            Err(SecretError::Empty) => "empty_secret",
            Err(e) => panic!("{}: unexpected {e}", c.name),
            Ok(secrets) if secrets.len() == 1 => {
                let one = code(verify(&body, &c.header, &secrets[0]));
                // The keyed form and the list form agree with the one-shot form.
                let signer = Signer::new(&secrets[0]);
                assert_eq!(code(signer.verify(&body, &c.header)), one, "{}", c.name);
                assert_eq!(
                    code(verify_any(&body, &c.header, &secrets)),
                    one,
                    "{}",
                    c.name
                );
                if let Ok(text) = std::str::from_utf8(&keys[0]) {
                    assert_eq!(
                        verify_signature(&body, &c.header, text),
                        one == "ok",
                        "{}",
                        c.name
                    );
                }
                one
            }
            Ok(secrets) => code(verify_any(&body, &c.header, &secrets)),
        };
        assert_eq!(got, c.expect, "case {:?}", c.name);
        // Every `ok` case whose header is canonical is also what `sign` produces.
        if c.expect == "ok" && c.secrets.len() == 1 {
            let canonical = c.header.trim().to_ascii_lowercase();
            if canonical == c.header {
                let s = Secret::new(&keys[0]).unwrap();
                assert_eq!(sign(&body, &s).to_string(), c.header, "sign: {}", c.name);
                assert_eq!(c.header.parse::<Signature>().unwrap().to_string(), c.header);
            }
            oks += 1;
        }
    }
    assert!(oks >= 10, "expected many positive cases, got {oks}");
}

#[derive(Deserialize)]
struct DataSpec {
    text: Option<String>,
    hex: Option<String>,
    repeat: Option<String>,
    len: Option<usize>,
}

impl DataSpec {
    fn bytes(&self) -> Vec<u8> {
        if let Some(t) = &self.text {
            t.as_bytes().to_vec()
        } else if let Some(h) = &self.hex {
            hex::decode(h).unwrap()
        } else {
            let unit = self.repeat.as_ref().unwrap().as_bytes();
            unit.iter()
                .copied()
                .cycle()
                .take(self.len.unwrap())
                .collect()
        }
    }
}

#[derive(Deserialize)]
struct ArtIn {
    name: String,
    content_type: String,
    size: u64,
    data: Option<DataSpec>,
}

#[derive(Deserialize)]
struct Limits {
    per_artifact: u64,
    budget: u64,
}

#[derive(Deserialize)]
struct ArtCase {
    name: String,
    job_id: String,
    limits: Option<Limits>,
    artifacts: Vec<ArtIn>,
    placements: Vec<String>,
    /// Absent: the digest form is used. Present: the JSON text, or `null`.
    #[serde(default, deserialize_with = "present")]
    expected: Option<Option<String>>,
    expected_sha256: Option<String>,
    expected_len: Option<usize>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn artifact_vectors() {
    let cases: Vec<ArtCase> = load(include_str!("vectors/artifacts.json"), ARTIFACT_CASES);
    for c in &cases {
        let datas: Vec<Option<Vec<u8>>> = c
            .artifacts
            .iter()
            .map(|a| a.data.as_ref().map(DataSpec::bytes))
            .collect();
        let arts: Vec<Artifact<'_>> = c
            .artifacts
            .iter()
            .zip(&datas)
            .map(|(a, d)| Artifact {
                name: &a.name,
                content_type: &a.content_type,
                size: a.size,
                data: d.as_deref(),
            })
            .collect();
        let limits = c
            .limits
            .as_ref()
            .map_or_else(InlineLimits::default, |l| InlineLimits {
                per_artifact: l.per_artifact,
                budget: l.budget,
            });
        let places: Vec<&str> = plan_artifacts(&arts, &limits)
            .iter()
            .map(|p| p.code())
            .collect();
        assert_eq!(places, c.placements, "placements: {}", c.name);
        let got = format_artifacts_with(&c.job_id, &arts, &limits).map(|j| j.get().to_owned());
        match (&c.expected, &c.expected_sha256) {
            (Some(expected), None) => {
                assert_eq!(&got, expected, "case {:?}", c.name);
                if let (Some(g), Some(e)) = (&got, expected) {
                    let gv: serde_json::Value = serde_json::from_str(g).unwrap();
                    let ev: serde_json::Value = serde_json::from_str(e).unwrap();
                    assert_eq!(gv, ev, "case {:?}", c.name);
                }
            }
            (None, Some(digest)) => {
                let got = got.expect("non-empty artifacts give JSON");
                assert_eq!(Some(got.len()), c.expected_len, "length: {}", c.name);
                assert_eq!(
                    &hex::encode(Sha256::digest(got.as_bytes())),
                    digest,
                    "case {:?}",
                    c.name
                );
            }
            _ => panic!("case {} has no expectation", c.name),
        }
    }
}

#[derive(Deserialize)]
struct Fields {
    job_id: String,
    state: String,
    previous_state: String,
    model: String,
    attempt: i64,
    error: Option<String>,
    unix_nanos: Option<String>,
    offset_seconds: i32,
}

#[derive(Deserialize)]
struct EventCase {
    name: String,
    wire: String,
    fields: Fields,
    reencoded: String,
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn event_vectors() {
    let cases: Vec<EventCase> = load(include_str!("vectors/events.json"), EVENT_CASES);
    for c in &cases {
        let e =
            Event::from_json(c.wire.as_bytes()).unwrap_or_else(|err| panic!("{}: {err}", c.name));
        let f = &c.fields;
        assert_eq!(e.job_id, f.job_id, "{}", c.name);
        assert_eq!(e.state, f.state, "{}", c.name);
        assert_eq!(e.previous_state, f.previous_state, "{}", c.name);
        assert_eq!(e.model, f.model, "{}", c.name);
        assert_eq!(e.attempt, f.attempt, "{}", c.name);
        assert_eq!(e.error, f.error, "{}", c.name);
        let nanos: i128 = f.unix_nanos.as_ref().unwrap().parse().unwrap();
        assert_eq!(e.timestamp.unix_nanos(), nanos, "{}", c.name);
        assert_eq!(e.timestamp.offset_seconds(), f.offset_seconds, "{}", c.name);
        let out = e.to_json();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            c.reencoded,
            "{}",
            c.name
        );
        // Re-decoding our own output gives the same event.
        assert_eq!(Event::from_json(&out).unwrap(), e, "{}", c.name);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn timestamp_constructors() {
    let t = Timestamp::from_unix_nanos(1_764_338_400_123_000_000).unwrap();
    assert_eq!(t.to_string(), "2025-11-28T14:00:00.123Z");
    let t = t.with_offset_seconds(-5 * 3600).unwrap();
    assert_eq!(t.to_string(), "2025-11-28T09:00:00.123-05:00");
    assert!(t.with_offset_seconds(30).is_err());
    assert_eq!(Timestamp::default().to_string(), "0001-01-01T00:00:00Z");
    for bad in [
        "",
        "2026-11-28",
        "2026-11-28T14:00:00",
        "2026-11-28T14:00:00.Z",
        "yesterday",
    ] {
        assert!(bad.parse::<Timestamp>().is_err(), "{bad:?} must not parse");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn standard_webhooks_vectors() {
    use foreman_webhook::standard::Headers;
    let cases: Vec<StdCase> = load(include_str!("vectors/standard.json"), STANDARD_CASES);
    let mut oks = 0;
    for c in &cases {
        let body = hex::decode(&c.body_hex).unwrap();
        let secrets: Result<Vec<Secret>, SecretError> =
            c.secrets.iter().map(|s| Secret::from_standard(s)).collect();
        let got = match secrets {
            Err(SecretError::Empty) => "empty_secret".to_owned(),
            Err(SecretError::MalformedStandard) => "malformed_secret".to_owned(),
            Err(e) => panic!("{}: {e}", c.name),
            Ok(secrets) => match foreman_webhook::StandardWebhook::new(&secrets) {
                Err(e) => e.code().to_owned(),
                Ok(mut wh) => {
                    if let Some(t) = c.tolerance {
                        wh = wh.with_tolerance_secs(t);
                    }
                    if let Some(expected) = &c.sign {
                        let ts: i64 = c.timestamp.as_deref().unwrap().trim().parse().unwrap();
                        assert_eq!(
                            &wh.sign(c.id.as_deref().unwrap(), ts, &body),
                            expected,
                            "sign: {}",
                            c.name
                        );
                    }
                    let headers = Headers {
                        id: c.id.as_deref(),
                        timestamp: c.timestamp.as_deref(),
                        signature: c.signature.as_deref(),
                    };
                    match wh.verify(&headers, &body, c.now) {
                        Ok(()) => {
                            oks += 1;
                            "ok".to_owned()
                        }
                        Err(foreman_webhook::StandardError::MissingHeader(h)) => {
                            format!("missing_header:{h}")
                        }
                        Err(e) => e.code().to_owned(),
                    }
                }
            },
        };
        assert_eq!(got, c.expect, "case {:?}", c.name);
    }
    assert!(oks >= 10, "expected many positive cases, got {oks}");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn standard_secret_round_trip() {
    let s = Secret::from_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    assert_eq!(s.to_standard(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
    assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
}

#[derive(Deserialize)]
struct GoFields {
    job_id: String,
    state: String,
    previous_state: String,
    model: String,
    attempt: i64,
    error: Option<String>,
    unix_nanos: String,
    offset_seconds: i32,
    result: Option<String>,
    result_hex: String,
    artifacts: Option<String>,
}

#[derive(Deserialize)]
struct GoCase {
    name: String,
    differs: Option<String>,
    wire_hex: String,
    ok: bool,
    fields: Option<GoFields>,
    go_json_hex: Option<String>,
}

const GO_EVENT_CASES: usize = 81;

/// `Event::from_json` and `Event::to_go_json` against Go's own encoding/json
/// (tests/vectors/go_events.json, written by tests/vectors/go with the seed's struct).
/// Each case that does not match Go byte for byte names the documented difference in
/// `differs`, and the test checks exactly that difference and nothing else.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn go_event_vectors() {
    let cases: Vec<GoCase> = load(include_str!("vectors/go_events.json"), GO_EVENT_CASES);
    let (mut oks, mut errs, mut differs) = (0, 0, 0);
    for c in &cases {
        let wire = hex::decode(&c.wire_hex).unwrap();
        let got = Event::from_json(&wire);
        if c.differs.as_deref() == Some("offset_range") {
            // Go keeps any offset; ours are those `time` represents, up to ±25:59:59.
            assert!(c.ok && got.is_err(), "{}", c.name);
            differs += 1;
            continue;
        }
        assert_eq!(
            got.is_ok(),
            c.ok,
            "{}: ok? ours {:?}",
            c.name,
            got.as_ref().err()
        );
        let Ok(e) = got else {
            errs += 1;
            continue;
        };
        oks += 1;
        let f = c.fields.as_ref().unwrap();
        assert_eq!(e.job_id, f.job_id, "{}", c.name);
        assert_eq!(e.state, f.state, "{}", c.name);
        assert_eq!(e.previous_state, f.previous_state, "{}", c.name);
        assert_eq!(e.model, f.model, "{}", c.name);
        assert_eq!(e.attempt, f.attempt, "{}", c.name);
        assert_eq!(e.error, f.error, "{}", c.name);
        assert_eq!(
            e.timestamp.unix_nanos().to_string(),
            f.unix_nanos,
            "{}",
            c.name
        );
        assert_eq!(e.timestamp.offset_seconds(), f.offset_seconds, "{}", c.name);
        // Go holds `null` as the raw text "null" (or nil); ours is `None`.
        let raw = |r: &Option<foreman_webhook::RawJson>| r.as_ref().map(|r| r.get().to_owned());
        let go_raw = |r: &Option<String>| r.clone().filter(|t| t != "null");
        assert_eq!(raw(&e.artifacts), go_raw(&f.artifacts), "{}", c.name);
        let go_bytes = hex::decode(c.go_json_hex.as_ref().unwrap()).unwrap();
        let ours = e.to_go_json();
        match c.differs.as_deref() {
            None => {
                assert_eq!(raw(&e.result), go_raw(&f.result), "{}", c.name);
                assert_eq!(
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&go_bytes),
                    "{}: to_go_json",
                    c.name
                );
                // to_json writes the same JSON value (a lone surrogate in a raw result is
                // no serde_json::Value for either).
                let a = serde_json::from_slice::<serde_json::Value>(&e.to_json()).ok();
                let b = serde_json::from_slice::<serde_json::Value>(&go_bytes).ok();
                assert_eq!(a, b, "{}: to_json value", c.name);
            }
            Some("raw_invalid_utf8") => {
                // Go keeps the invalid bytes of a raw result and writes them back out; ours
                // holds one U+FFFD per invalid byte.
                differs += 1;
                let go_result = hex::decode(&f.result_hex).unwrap();
                assert!(std::str::from_utf8(&go_result).is_err(), "{}", c.name);
                let fffd: String = go_result
                    .utf8_chunks()
                    .flat_map(|ch| {
                        ch.valid()
                            .chars()
                            .chain(ch.invalid().iter().map(|_| '\u{FFFD}'))
                    })
                    .collect();
                assert_eq!(raw(&e.result), Some(fffd), "{}", c.name);
            }
            Some("go_version_escapes") => {
                // Go 1.22+ writes \b and \f as we do; the oracle (Go 1.19) wrote \u0008, \u000c.
                differs += 1;
                let go = String::from_utf8(go_bytes).unwrap();
                let modern = go.replace("\\u0008", "\\b").replace("\\u000c", "\\f");
                assert_eq!(String::from_utf8(ours).unwrap(), modern, "{}", c.name);
            }
            Some(other) => panic!("{}: unknown difference {other}", c.name),
        }
    }
    assert!(oks >= 40 && errs >= 15, "oks {oks}, errs {errs}");
    assert_eq!(differs, 3, "documented differences");
}

#[derive(Deserialize)]
struct GoArtifact {
    name: String,
    content_type: String,
    size: u64,
    data: Option<String>,
}

#[derive(Deserialize)]
struct GoArtifactCase {
    name: String,
    job_id: String,
    artifacts: Vec<GoArtifact>,
    go_artifacts: String,
    go_event: String,
}

const GO_ARTIFACT_CASES: usize = 7;

/// `format_artifacts` against the seed's own `FormatArtifacts` for text artifacts: the
/// same JSON value, and Go's exact bytes once inside an event written by `to_go_json`.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn go_artifact_vectors() {
    let cases: Vec<GoArtifactCase> =
        load(include_str!("vectors/go_artifacts.json"), GO_ARTIFACT_CASES);
    let mut html = 0;
    for c in &cases {
        let arts: Vec<Artifact<'_>> = c
            .artifacts
            .iter()
            .map(|a| Artifact {
                name: &a.name,
                content_type: &a.content_type,
                size: a.size,
                data: a.data.as_deref().map(str::as_bytes),
            })
            .collect();
        let ours = foreman_webhook::format_artifacts(&c.job_id, &arts).unwrap();
        let a: serde_json::Value = serde_json::from_str(ours.get()).unwrap();
        let b: serde_json::Value = serde_json::from_str(&c.go_artifacts).unwrap();
        assert_eq!(a, b, "{}: the same JSON value", c.name);
        if ours.get() != c.go_artifacts {
            html += 1; // bytes differ only by Go's escaping, which to_go_json adds:
        }
        let mut event = Event::new(c.job_id.as_str(), "succeeded", Timestamp::GO_ZERO);
        event.artifacts = Some(ours);
        assert_eq!(
            String::from_utf8(event.to_go_json()).unwrap(),
            c.go_event,
            "{}: Go's bytes",
            c.name
        );
    }
    assert!(
        html >= 3,
        "the escaping cases must exercise a byte difference"
    );
}
