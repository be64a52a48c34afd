//! format_artifacts on arbitrary artifacts: valid JSON, budget kept, data round-trips.
#![no_main]
use foreman_webhook::{format_artifacts_with, Artifact, InlineLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let limits = InlineLimits { per_artifact: u64::from(data[0]) * 4, budget: u64::from(data[1]) * 8 };
    let rest = &data[2..];
    let mut arts = Vec::new();
    for chunk in rest.split(|&b| b == 0xFE).take(16) {
        let (name, payload) = chunk.split_at(chunk.len().min(6));
        let name = std::str::from_utf8(name).unwrap_or("bin");
        let has_data = payload.first().is_some_and(|b| b & 1 == 1);
        arts.push(Artifact {
            name,
            content_type: "application/octet-stream",
            size: payload.len() as u64,
            data: has_data.then_some(payload),
        });
    }
    let Some(out) = format_artifacts_with(std::str::from_utf8(&data[..2]).unwrap_or("job"), &arts, &limits) else {
        assert!(arts.is_empty());
        return;
    };
    let v: serde_json_check::Value = serde_json_check::from_str(out.get()).expect("valid JSON");
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), arts.len());
    let inlined: usize = arts.iter().zip(list).filter(|(_, o)| o.get("data").is_some()).map(|(a, _)| a.data.unwrap().len()).sum();
    assert!(inlined as u64 <= limits.budget);
});
