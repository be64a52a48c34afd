//! The Retry-After parser (seconds and HTTP dates) and the SSRF address policy on
//! arbitrary input: never panics; a parsed wait never precedes `now`; the policy judges
//! an IPv4-mapped IPv6 address exactly as the IPv4 address it embeds.
#![no_main]
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use foreman_webhook::native::{parse_retry_after, AddressPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_338_400);
    let _ = parse_retry_after(&text, now);
    if data.len() >= 4 {
        let v4 = Ipv4Addr::new(data[0], data[1], data[2], data[3]);
        let policy = AddressPolicy::default();
        let mapped = IpAddr::V6(v4.to_ipv6_mapped());
        assert_eq!(policy.permits(IpAddr::V4(v4)), policy.permits(mapped), "{v4}");
    }
    if data.len() >= 16 {
        let mut b = [0u8; 16];
        b.copy_from_slice(&data[..16]);
        let _ = AddressPolicy::default().permits(IpAddr::V6(Ipv6Addr::from(b)));
    }
    if let Ok(p) = AddressPolicy::default().allow(&text) {
        let _ = p.permits(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
});
