//! Property tests of the core (proptest): round trips, single-bit changes, artifact
//! budgets, and parsers that never panic on arbitrary input.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine as _;
use foreman_webhook::standard::{Headers, StandardWebhook};
use foreman_webhook::{
    format_artifacts_with, plan_artifacts, sign, verify, Artifact, Event, InlineLimits, RawJson,
    Secret, Signature, Timestamp, VerifyError,
};
use proptest::prelude::*;

fn flip(bytes: &mut [u8], bit: usize) {
    let i = bit % (bytes.len() * 8);
    bytes[i / 8] ^= 1 << (i % 8);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn sign_then_verify(body in proptest::collection::vec(any::<u8>(), 0..2048),
                        key in proptest::collection::vec(any::<u8>(), 1..200)) {
        let secret = Secret::new(&key).unwrap();
        let header = sign(&body, &secret).to_string();
        prop_assert!(header.starts_with("sha256=") && header.len() == 71);
        prop_assert_eq!(verify(&body, &header, &secret), Ok(()));
        prop_assert_eq!(verify(&body, &header.to_ascii_uppercase().replace("SHA256=", "sha256="), &secret), Ok(()));
    }

    #[test]
    fn any_bit_flip_fails(body in proptest::collection::vec(any::<u8>(), 1..512),
                          key in proptest::collection::vec(any::<u8>(), 1..80),
                          bit in any::<usize>(), which in 0u8..3) {
        let secret = Secret::new(&key).unwrap();
        let sig = sign(&body, &secret);
        let (mut body2, mut key2, mut sig2) = (body.clone(), key.clone(), *sig.as_bytes());
        match which {
            0 => flip(&mut body2, bit),
            1 => flip(&mut key2, bit),
            _ => flip(&mut sig2, bit),
        }
        let header2 = format!("sha256={}", hex::encode(sig2));
        let secret2 = Secret::new(&key2).unwrap();
        prop_assert_eq!(verify(&body2, &header2, &secret2), Err(VerifyError::Mismatch));
    }

    #[test]
    fn standard_round_trip_and_flip(body in proptest::collection::vec(any::<u8>(), 0..1024),
                                    key in proptest::collection::vec(any::<u8>(), 1..64),
                                    id in "[a-zA-Z0-9_]{1,40}",
                                    ts in 0i64..4_000_000_000, skew in -300i64..=300,
                                    bit in any::<usize>()) {
        let wh = StandardWebhook::new(&[Secret::new(&key).unwrap()]).unwrap();
        let sig = wh.sign(&id, ts, &body);
        let ts_s = ts.to_string();
        let h = Headers { id: Some(&id), timestamp: Some(&ts_s), signature: Some(&sig) };
        prop_assert_eq!(wh.verify(&h, &body, ts + skew), Ok(()));
        if !body.is_empty() {
            let mut b2 = body.clone();
            flip(&mut b2, bit);
            prop_assert!(wh.verify(&h, &b2, ts).is_err());
        }
    }

    #[test]
    fn header_parsers_never_panic(s in ".{0,120}", b in proptest::collection::vec(any::<u8>(), 0..100)) {
        let _ = s.parse::<Signature>();
        let secret = Secret::new("k").unwrap();
        let _ = verify(&b, &s, &secret);
        let wh = StandardWebhook::new(&[secret]).unwrap();
        let h = Headers { id: Some(&s), timestamp: Some(&s), signature: Some(&s) };
        let _ = wh.verify(&h, &b, 0);
        let _ = Secret::from_standard(&s);
        let _ = s.parse::<Timestamp>();
        let _ = Event::from_json(&b);
        let _ = Event::from_json(s.as_bytes());
    }

    #[test]
    fn artifacts_parse_bound_and_round_trip(
        items in proptest::collection::vec(
            ("[a-z./ %é]{0,12}", proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)), 0u64..1000),
            0..12),
        job in ".{0,10}", per in 0u64..400, budget in 0u64..1500)
    {
        let arts: Vec<Artifact<'_>> = items.iter().map(|(n, d, size)| Artifact {
            name: n, content_type: "application/octet-stream", size: *size, data: d.as_deref(),
        }).collect();
        let limits = InlineLimits { per_artifact: per, budget };
        let out = format_artifacts_with(&job, &arts, &limits);
        if arts.is_empty() {
            prop_assert!(out.is_none());
            return Ok(());
        }
        let v: serde_json::Value = serde_json::from_str(out.unwrap().get()).unwrap();
        let list = v.as_array().unwrap();
        prop_assert_eq!(list.len(), arts.len());
        let mut inlined = 0u64;
        for ((a, o), place) in arts.iter().zip(list).zip(plan_artifacts(&arts, &limits)) {
            prop_assert_eq!(o["name"].as_str().unwrap(), a.name);
            prop_assert_eq!(o["size"].as_u64().unwrap(), a.size);
            if let Some(data) = o.get("data") {
                prop_assert!(place.is_inline());
                let data = data.as_str().unwrap();
                let bytes = if o.get("encoding").and_then(|e| e.as_str()) == Some("base64") {
                    base64::engine::general_purpose::STANDARD.decode(data).unwrap()
                } else {
                    data.as_bytes().to_vec()
                };
                prop_assert_eq!(Some(bytes.as_slice()), a.data);
                inlined += bytes.len() as u64;
                prop_assert!(bytes.len() as u64 <= per && a.size <= per);
            } else {
                prop_assert!(!place.is_inline());
                let url = o["url"].as_str().unwrap();
                prop_assert!(url.starts_with("/jobs/"));
                // Exactly four segments: the job id and name never add or remove one.
                prop_assert_eq!(url.split('/').count(), 5, "{}", url);
                prop_assert!(!url.contains("/../") && !url.ends_with("/..") && !url.contains(' '));
            }
        }
        prop_assert!(inlined <= budget);
    }

    #[test]
    fn event_round_trip(job in ".{0,30}", state in ".{0,10}", err in proptest::option::of(".{0,40}"),
                        nanos in -62_135_596_800_000_000_000i128..253_402_300_799_000_000_000,
                        offset_min in -1439i32..=1439, attempt in any::<i64>()) {
        let ts = Timestamp::from_unix_nanos(nanos).unwrap().with_offset_seconds(offset_min * 60).unwrap();
        let mut e = Event::new(job, state, ts);
        e.attempt = attempt;
        e.error = err;
        e.result = Some(RawJson::from_value(&serde_json::json!({"n": attempt})).unwrap());
        let body = e.to_json();
        let back = Event::from_json(&body).unwrap();
        prop_assert_eq!(back.timestamp.unix_nanos(), nanos);
        prop_assert_eq!(back, e);
    }
}

/// What the artifacts JSON writer must produce, built with serde_json (an independent
/// implementation of JSON string escaping and number formatting).
#[derive(serde::Serialize)]
struct SerdeOut<'a> {
    name: &'a str,
    content_type: &'a str,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn artifacts_json_is_byte_equal_to_serde_json(
        items in proptest::collection::vec(
            (any::<String>(), "[\\x00-\\x2f\\\\\"a-z\\x7f\\u{e9}\\u{2028}\\u{1f680}]{0,12}",
             proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)), any::<u64>()),
            1..8),
        job in any::<String>())
    {
        let arts: Vec<Artifact<'_>> = items.iter().map(|(n, ct, d, size)| Artifact {
            name: n, content_type: ct, size: *size % 128, data: d.as_deref(),
        }).collect();
        let limits = InlineLimits { per_artifact: 100, budget: 150 };
        let ours = foreman_webhook::artifacts_json(&job, &arts, &limits).unwrap();
        let plan = plan_artifacts(&arts, &limits);
        let expected: Vec<SerdeOut<'_>> = arts.iter().zip(&plan).map(|(a, p)| {
            let (data, encoding, url) = match a.data.filter(|_| p.is_inline()) {
                Some(d) => match std::str::from_utf8(d) {
                    Ok(t) => (Some(t.to_owned()), None, None),
                    Err(_) => (Some(base64::engine::general_purpose::STANDARD.encode(d)), Some("base64"), None),
                },
                None => (None, None, Some(format!(
                    "/jobs/{}/artifacts/{}",
                    seg(&job), seg(a.name)))),
            };
            SerdeOut { name: a.name, content_type: a.content_type, size: a.size, data, encoding, url }
        }).collect();
        prop_assert_eq!(ours, serde_json::to_string(&expected).unwrap());
    }
}

fn seg(s: &str) -> String {
    match s {
        "." => "%2E".into(),
        ".." => "%2E%2E".into(),
        _ => s
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect(),
    }
}

/// Issue 15: the retry policy under arbitrary (legal) durations and `Retry-After` values:
/// nothing panics or overflows, waits stay within the schedule's bounds, and every
/// delivery reaches `Exhausted` after exactly `max_retries + 1` failed attempts.
#[cfg(feature = "native")]
mod retry_policy {
    use std::time::{Duration, SystemTime};

    use foreman_webhook::native::{parse_retry_after, AttemptOutcome, Jitter, Next, RetryPolicy};
    use proptest::prelude::*;

    fn any_duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::MAX),
            Just(Duration::ZERO),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
            (0u64..100_000).prop_map(Duration::from_millis),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn arbitrary_durations_never_panic_and_stay_bounded(
            base in any_duration(),
            cap in any_duration(),
            retries in 0u32..100,
            jitter in any::<u8>(),
            seed in any::<u64>(),
            digits in "[0-9]{1,40}",
        ) {
            let p = RetryPolicy::default()
                .with_base_delay(base)
                .with_retry_after_cap(cap)
                .with_max_retries(retries)
                .with_jitter(Jitter::Percent(jitter));
            let asked = parse_retry_after(&digits, SystemTime::now());
            // Digits only: always parsed, saturating at u64::MAX seconds.
            prop_assert!(asked.is_some());
            let plain: Vec<Duration> = p.delays().collect();
            let jittered: Vec<Duration> = p.jittered_delays(seed).collect();
            prop_assert_eq!(plain.len(), retries as usize);
            prop_assert_eq!(jittered.len(), retries as usize);
            for (j, d) in jittered.iter().zip(&plain) {
                prop_assert!(j <= d);
                if jitter == 0 {
                    prop_assert_eq!(j, d);
                }
            }
            let busy = AttemptOutcome::Status { code: 503, retry_after: asked };
            let mut attempt = 1;
            loop {
                match p.classify(attempt, &busy, seed.rotate_left(attempt)) {
                    Next::RetryIn(wait) => {
                        let nominal = plain[attempt as usize - 1];
                        prop_assert!(wait >= asked.unwrap_or_default().min(cap));
                        prop_assert!(wait <= nominal.max(cap));
                    }
                    Next::Exhausted => break,
                    other => prop_assert!(false, "{:?}", other),
                }
                attempt += 1;
            }
            prop_assert_eq!(attempt, p.max_attempts());
        }
    }
}
