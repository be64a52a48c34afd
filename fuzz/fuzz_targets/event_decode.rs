//! The event decoder (and timestamp parser) on arbitrary bytes; a decoded event re-encodes
//! and decodes to itself.
#![no_main]
use foreman_webhook::{Event, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(t) = s.parse::<Timestamp>() {
            let again: Timestamp = t.to_string().parse().unwrap();
            assert_eq!(again.unix_nanos(), t.unix_nanos());
        }
    }
    if let Ok(e) = Event::from_json(data) {
        let body = e.to_json();
        let back = Event::from_json(&body).expect("our own output decodes");
        assert_eq!(back, e);
    }
});
