//! SSRF suite: every non-global range, in every spelling, as literals and as resolved names, refused before any connection; redirects not followed; the allowlist opens exactly what it names.
//!
//! Safety first: this file never lets the dispatcher send a packet to a non-loopback
//! address, even if the guard were broken.
//!
//! - URL literals are checked inside `fire` (synchronously). Every literal of the matrix
//!   is fired at a dispatcher whose runtime is never driven: a literal that slipped
//!   through would sit in the queue forever (no task runs, no socket is opened) and the
//!   test fails because no synchronous `Rejected` outcome came back.
//! - Loopback literals and names are also fired at a live dispatcher with listeners on
//!   the target addresses and port: zero connections may arrive.
//! - Names resolving to non-loopback addresses run on a live dispatcher only after two
//!   gates passed: the pure policy refuses each of those exact addresses, and names
//!   resolving to loopback addresses (same code path, with listeners) were refused with
//!   no connection. Only then could a remaining bug reach the network, and each such
//!   event gets a single attempt.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use foreman_webhook::native::{
    is_global, AddressPolicy, Outcome, OutcomeKind, RejectReason, StaticResolver,
};
use foreman_webhook::{Dispatcher, DispatcherBuilder, Event, Timestamp};
use support::{outcomes, Receiver, Reply};

const FORBIDDEN: OutcomeKind = OutcomeKind::Rejected(RejectReason::ForbiddenAddress);

/// The non-global IPv4 ranges of issue 8 (Svix's list).
const V4_RANGES: [&str; 15] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
];

/// The non-global IPv6 ranges of issue 8, then the transition and protocol ranges of
/// issue 15 (IANA IPv6 special-purpose registry, "Globally Reachable" False or N/A):
/// 6to4, SIIT (IPv4-translated), IETF protocol assignments (whose first, middle and last
/// addresses are in no globally reachable sub-block), Teredo, benchmarking, ORCHID
/// (deprecated) and SRv6 SIDs.
const V6_RANGES: [&str; 15] = [
    "::/128",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
    "2001:db8::/32",
    "64:ff9b::/96",
    "100::/64",
    "2002::/16",
    "::ffff:0:0:0/96",
    "2001::/23",
    "2001::/32",
    "2001:2::/48",
    "2001:10::/28",
    "5f00::/16",
];

/// Just outside each range: must stay global (the guard must not over-block). Checked
/// with the pure policy only: nothing is ever sent to them.
const GLOBAL_NEIGHBOURS: [&str; 38] = [
    "1.0.0.0",
    "9.255.255.255",
    "11.0.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "126.255.255.255",
    "128.0.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.0",
    "192.0.3.0",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "198.51.99.255",
    "198.51.101.0",
    "203.0.112.255",
    "203.0.114.0",
    "223.255.255.255",
    "::1:0:0:0",
    "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe00::",
    "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:db9::",
    "64:ff9b::1:0:0",
    "100:0:0:1::",
    "::ffff:8.8.8.8",
    "2001:200::",
    "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "::fffe:ffff:ffff:ffff",
    "2003::",
    "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "5f01::",
    "::ffff:1:0:0",
];

/// First, middle and last address of a CIDR range (computed here, not by the crate).
fn samples(cidr: &str) -> Vec<IpAddr> {
    let (addr, len) = cidr.split_once('/').unwrap();
    let len: u32 = len.parse().unwrap();
    let mut out: Vec<IpAddr> = match addr.parse::<IpAddr>().unwrap() {
        IpAddr::V4(a) => {
            let host_bits = 32 - len;
            let first = u32::from(a);
            let last = first | ((1u64 << host_bits) - 1) as u32;
            let middle = first + ((1u64 << host_bits) / 2) as u32 + 3 * u32::from(host_bits > 2);
            [first, middle, last]
                .map(|x| IpAddr::V4(Ipv4Addr::from(x)))
                .to_vec()
        }
        IpAddr::V6(a) => {
            let host_bits = 128 - len;
            let first = u128::from(a);
            let span = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            let last = first | span;
            let middle = first + span / 2 + 0x1234 * u128::from(host_bits > 16);
            [first, middle, last]
                .map(|x| IpAddr::V6(Ipv6Addr::from(x)))
                .to_vec()
        }
    };
    out.dedup();
    out
}

fn v4_addresses() -> Vec<Ipv4Addr> {
    V4_RANGES
        .iter()
        .flat_map(|r| samples(r))
        .map(|ip| match ip {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(_) => unreachable!(),
        })
        .collect()
}

fn v6_addresses() -> Vec<Ipv6Addr> {
    V6_RANGES
        .iter()
        .flat_map(|r| samples(r))
        .map(|ip| match ip {
            IpAddr::V6(v6) => v6,
            IpAddr::V4(_) => unreachable!(),
        })
        .collect()
}

/// Every address of the matrix: the IPv4 and IPv6 samples, and the IPv4 samples in
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) and NAT64 forms.
fn all_addresses() -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = vec![];
    for v4 in v4_addresses() {
        out.push(v4.into());
        out.push(v4.to_ipv6_mapped().into());
        out.push(Ipv6Addr::from(u128::from(u32::from(v4))).into());
        out.push(Ipv6Addr::from((0x64_ff9b_u128 << 96) | u128::from(u32::from(v4))).into());
    }
    out.extend(v6_addresses().into_iter().map(IpAddr::from));
    out
}

/// Addresses a connection attempt would deliver to this machine (Linux): IPv4 loopback
/// and `0.0.0.0`, `::1` and `::`, and their IPv4-mapped forms. Not the IPv4-compatible or
/// NAT64 forms: the kernel routes those as IPv6.
fn is_loopbackish(ip: IpAddr) -> bool {
    let v4 = match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) if v6.is_loopback() || v6.is_unspecified() => return true,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4,
            None => return false,
        },
    };
    v4.is_loopback() || v4.is_unspecified()
}

/// The spellings of a loopback address the kernel delivers locally (no IPv4-compatible
/// or NAT64 forms: those would be routed as IPv6).
fn local_spellings(v4: &str) -> Vec<String> {
    v4_spellings(v4.parse().unwrap())
        .into_iter()
        .filter(|h| !h.starts_with("[::") || h.starts_with("[::ffff:"))
        .filter(|h| !h.starts_with("[64:ff9b"))
        .collect()
}

/// Hosts (as written in a URL) spelling `v4`: every form the URL standard parses as that
/// IPv4 address, and the IPv6 forms embedding it.
fn v4_spellings(v4: Ipv4Addr) -> Vec<String> {
    let [a, b, c, d] = v4.octets();
    let x = u32::from(v4);
    let dotted = v4.to_string();
    let mut out = vec![
        dotted.clone(),
        format!("{dotted}."),                       // trailing dot
        format!("{x}"),                             // one decimal number
        format!("0x{x:x}"),                         // one hex number
        format!("0X{x:08X}"),                       // zero-padded, upper case
        format!("0{x:o}"),                          // one octal number
        format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}"),     // octal parts
        format!("0x{a:x}.0x{b:x}.0x{c:x}.0x{d:x}"), // hex parts
        format!("{a}.{b}.{}", (u32::from(c) << 8) | u32::from(d)), // a.b.c16
        format!("{a}.{}", x & 0x00ff_ffff),         // a.b24
        format!("0x{a:x}.{b}.0{c:o}.{d}"),          // mixed bases
        dotted
            .bytes()
            .map(|ch| format!("%{ch:02X}"))
            .collect::<String>(), // percent-encoded
        dotted
            .chars()
            .map(|ch| match ch {
                '.' => '\u{FF0E}',
                digit => char::from_u32(0xFF10 + digit.to_digit(10).unwrap()).unwrap(),
            })
            .collect(), // fullwidth digits and full stops (IDNA maps them)
        format!("[::ffff:{dotted}]"),
        format!("[::ffff:{:x}:{:x}]", x >> 16, x & 0xffff),
        format!("[0:0:0:0:0:FFFF:{dotted}]"),
        format!("[::{dotted}]"),        // IPv4-compatible
        format!("[64:ff9b::{dotted}]"), // NAT64
    ];
    out.dedup();
    out
}

fn v6_spellings(v6: Ipv6Addr) -> Vec<String> {
    let full = v6
        .segments()
        .iter()
        .map(|s| format!("{s:04x}"))
        .collect::<Vec<_>>()
        .join(":");
    let mut out = vec![
        format!("[{v6}]"),
        format!("[{full}]"),
        format!("[{}]", v6.to_string().to_uppercase()),
    ];
    out.dedup();
    out
}

/// A loopback listener in plain threads: counts connections, answers 204 to each request.
struct Spot {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Spot {
    fn bind(addr: &str) -> Option<Self> {
        let listener = TcpListener::bind(addr).ok()?;
        let port = listener.local_addr().ok()?.port();
        let connections = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while let Ok(n) = s.read(&mut chunk) {
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                            let len: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse().ok())
                                .unwrap_or(0);
                            if buf.len() >= p + 4 + len {
                                let _ = s.write_all(
                                    b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n",
                                );
                                return;
                            }
                        }
                    }
                });
            }
        });
        Some(Self { port, connections })
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn event(job: &str) -> Event {
    Event::new(job, "running", Timestamp::UNIX_EPOCH)
}

fn collect(outcomes: &support::Outcomes, n: usize, secs: u64) -> Vec<Outcome> {
    let mut got = outcomes.take(n, secs);
    got.sort_by_key(|o| o.id);
    got
}

#[test]
fn pure_policy_refuses_every_sample_and_keeps_the_neighbours() {
    let strict = AddressPolicy::default();
    let all = all_addresses();
    assert_eq!(all.len(), 43 * 4 + 41, "matrix truncated?");
    for ip in &all {
        assert!(!is_global(*ip), "{ip} must not be global");
        assert!(!strict.permits(*ip), "{ip} must be refused by default");
    }
    for n in GLOBAL_NEIGHBOURS {
        let ip: IpAddr = n.parse().unwrap();
        assert!(is_global(ip) && strict.permits(ip), "{n} must stay global");
    }
}

/// The dispatcher on a runtime that never runs: `fire` works (it only queues), nothing
/// it queues is ever attempted.
fn undriven(b: DispatcherBuilder) -> (Dispatcher, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d = b.runtime(rt.handle().clone()).build().unwrap();
    (d, rt)
}

#[test]
fn every_literal_spelling_is_refused_inside_fire() {
    let seen: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let s2 = Arc::clone(&seen);
    let (d, rt) = undriven(
        Dispatcher::builder()
            .max_retries(0)
            .on_outcome(move |o| s2.lock().unwrap().push(o.clone())),
    );
    let mut urls = vec![];
    for v4 in v4_addresses() {
        urls.extend(v4_spellings(v4).into_iter().map(|h| (h, IpAddr::V4(v4))));
    }
    for v6 in v6_addresses() {
        urls.extend(v6_spellings(v6).into_iter().map(|h| (h, IpAddr::V6(v6))));
    }
    let mut failures = vec![];
    for (n, (host, ip)) in urls.iter().enumerate() {
        for url in [
            format!("http://{host}:8080/hook"),
            format!("https://{host}/hook?x=1"),
        ] {
            let id = d.fire(&url, &event(&format!("lit-{n}")));
            let got = seen.lock().unwrap().last().cloned();
            match got {
                Some(o) if o.id == id && o.kind == FORBIDDEN && o.attempts == 0 => {}
                other => failures.push(format!("{url} ({ip}): {other:?}")),
            }
        }
    }
    let stats = d.stats();
    drop(d);
    drop(rt); // never driven: whatever was queued is dropped unsent
    assert!(
        failures.is_empty(),
        "{} of {} literal URLs not refused inside fire:\n{}",
        failures.len(),
        urls.len() * 2,
        failures.join("\n")
    );
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.attempts, 0);
    assert_eq!(stats.rejected, urls.len() as u64 * 2);
    // 43 IPv4 samples × 18 spellings (a few coincide) + 41 IPv6 samples × 3.
    assert!(urls.len() >= 43 * 17 + 41 * 2, "{} spellings", urls.len());
    eprintln!(
        "literal matrix: {} hosts, {} URLs, all refused in fire",
        urls.len(),
        urls.len() * 2
    );
}

/// A live dispatcher that allows nothing; loopback literals at the port of live listeners.
#[test]
fn loopback_literals_never_reach_a_live_listener() {
    let main = Spot::bind("127.0.0.1:0").unwrap();
    let port = main.port;
    let others: Vec<Spot> = ["127.0.0.2", "127.128.0.3", "127.255.255.254", "[::1]"]
        .iter()
        .filter_map(|a| Spot::bind(&format!("{a}:{port}")))
        .collect();
    assert!(others.len() >= 3, "loopback aliases bindable");
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .max_retries(0)
        .timeout(Duration::from_secs(2))
        .on_outcome(cb)
        .build()
        .unwrap();
    let mut hosts: Vec<String> = vec![];
    for v4 in [
        "127.0.0.1",
        "127.0.0.2",
        "127.128.0.3",
        "127.255.255.254",
        "0.0.0.0",
    ] {
        hosts.extend(local_spellings(v4));
    }
    assert!(hosts
        .iter()
        .all(|h| !h.contains("64:ff9b") && !h.starts_with("[::1")));
    hosts.extend(v6_spellings(Ipv6Addr::LOCALHOST));
    hosts.extend(v6_spellings(Ipv6Addr::UNSPECIFIED));
    let t0 = Instant::now();
    for (n, h) in hosts.iter().enumerate() {
        d.fire(
            &format!("http://{h}:{port}/x"),
            &event(&format!("loop-{n}")),
        );
    }
    let got = collect(&out, hosts.len(), 10);
    for (o, h) in got.iter().zip(&hosts) {
        assert_eq!((o.kind, o.attempts), (FORBIDDEN, 0), "{h}");
    }
    // `localhost` names are loopback whatever a resolver says: refused after "resolution".
    let names = [
        "localhost",
        "LOCALHOST.",
        "hooks.localhost",
        "a.b.Localhost",
    ];
    for (n, name) in names.iter().enumerate() {
        d.fire(
            &format!("http://{name}:{port}/x"),
            &event(&format!("lh-{n}")),
        );
    }
    for o in out.take(names.len(), 10) {
        assert_eq!((o.kind, o.attempts), (FORBIDDEN, 1), "{}", o.job_id);
    }
    let took = t0.elapsed();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(main.connections(), 0, "127.0.0.1:{port} was connected to");
    for s in &others {
        assert_eq!(s.connections(), 0, "a loopback alias was connected to");
    }
    assert!(
        took < Duration::from_secs(2),
        "refused without waiting: {took:?}"
    );
    assert_eq!(
        d.stats().attempts,
        names.len() as u64,
        "no literal was attempted"
    );
}

#[test]
fn names_resolving_to_forbidden_addresses_are_refused_before_connecting() {
    let main = Spot::bind("127.0.0.1:0").unwrap();
    let port = main.port;
    let alias = Spot::bind(&format!("127.0.0.2:{port}")).unwrap();
    let v6 = Spot::bind(&format!("[::1]:{port}"));

    let all = all_addresses();
    let (looped, remote): (Vec<IpAddr>, Vec<IpAddr>) =
        all.iter().partition(|ip| is_loopbackish(**ip));
    // Gate 1: the pure policy refuses every address a name will resolve to.
    for ip in &all {
        assert!(!AddressPolicy::default().permits(*ip), "gate 1: {ip}");
    }
    let mut resolver = StaticResolver::new();
    for (n, ip) in all.iter().enumerate() {
        resolver = resolver.with(&format!("h{n}.ssrf.test"), [*ip]);
    }
    resolver = resolver
        .with(
            "two.ssrf.test",
            ["127.0.0.2".parse().unwrap(), "::1".parse().unwrap()],
        )
        .with("none.ssrf.test", []);
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .resolver(resolver)
        .max_retries(0)
        .timeout(Duration::from_secs(2))
        .on_outcome(cb)
        .build()
        .unwrap();
    let name = |ip: &IpAddr| {
        let n = all.iter().position(|a| a == ip).unwrap();
        format!("h{n}.ssrf.test")
    };

    // Gate 2: loopback answers (the same code path), with listeners on them.
    let t0 = Instant::now();
    for ip in &looped {
        d.fire(
            &format!("http://{}:{port}/x", name(ip)),
            &event(&ip.to_string()),
        );
    }
    d.fire(&format!("http://two.ssrf.test:{port}/x"), &event("two"));
    for o in out.take(looped.len() + 1, 10) {
        assert_eq!((o.kind, o.attempts), (FORBIDDEN, 1), "gate 2: {}", o.job_id);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        main.connections() + alias.connections(),
        0,
        "gate 2: connected"
    );
    if let Some(v6) = &v6 {
        assert_eq!(v6.connections(), 0, "gate 2: [::1] connected");
    }
    let gate2 = t0.elapsed();

    // Both gates passed: names resolving to the other ranges.
    let t1 = Instant::now();
    for ip in &remote {
        d.fire(
            &format!("http://{}:{port}/x", name(ip)),
            &event(&ip.to_string()),
        );
    }
    for o in out.take(remote.len(), 10) {
        assert_eq!((o.kind, o.attempts), (FORBIDDEN, 1), "{}", o.job_id);
    }
    let took = t1.elapsed();
    assert!(
        took < Duration::from_secs(2) && gate2 < Duration::from_secs(2),
        "refused at resolution, not after a connect timeout: {gate2:?} {took:?}"
    );
    // A name with no addresses is a transport failure, not a refusal.
    d.fire(&format!("http://none.ssrf.test:{port}/x"), &event("none"));
    assert_eq!(out.next(10).kind, OutcomeKind::Exhausted);
    assert_eq!(main.connections() + alias.connections(), 0);
    eprintln!(
        "name matrix: {} loopback + {} other addresses, all refused at resolution",
        looped.len(),
        remote.len()
    );
}

#[test]
fn redirects_to_private_addresses_are_not_followed() {
    let canary = Spot::bind("127.0.0.2:0").unwrap();
    let canary_local = Spot::bind("127.0.0.1:0").unwrap();
    let canary6 = Spot::bind("[::1]:0");
    let mut targets = vec![
        format!("http://127.0.0.2:{}/meta", canary.port),
        format!("http://2130706434:{}/meta", canary.port),
        format!("http://private.ssrf.test:{}/meta", canary.port),
        format!(
            "http://127.0.0.1:{}/allowed-but-never-followed",
            canary_local.port
        ),
        format!("http://localhost:{}/meta", canary_local.port),
        format!("/relative:{}", canary_local.port),
    ];
    if let Some(c6) = &canary6 {
        targets.push(format!("http://[::1]:{}/meta", c6.port));
    }
    let statuses = [301u16, 302, 303, 307, 308];
    let t2 = targets.clone();
    let rx = Receiver::start(move |n, _| {
        Reply::status(statuses[n % statuses.len()]).header("location", &t2[n % t2.len()])
    });
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .resolver(StaticResolver::new().with("private.ssrf.test", ["127.0.0.2".parse().unwrap()]))
        .base_delay(Duration::from_millis(5))
        .max_retries(2)
        .on_outcome(cb)
        .build()
        .unwrap();
    let events = targets.len() * statuses.len();
    for n in 0..events {
        d.fire(&rx.url(&format!("/r{n}")), &event(&format!("redir-{n}")));
    }
    for o in out.take(events, 20) {
        assert_eq!(
            (o.kind, o.attempts),
            (OutcomeKind::Exhausted, 3),
            "{}",
            o.job_id
        );
    }
    assert_eq!(
        rx.hits().len(),
        events * 3,
        "every attempt went to the receiver"
    );
    assert!(rx.hits().iter().all(|h| h.path.starts_with("/r")));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(canary.connections(), 0);
    assert_eq!(canary_local.connections(), 0);
    if let Some(c6) = &canary6 {
        assert_eq!(c6.connections(), 0);
    }
}

/// Fires one event per URL and returns the outcome kinds, in order.
fn fire_all(d: &Dispatcher, out: &support::Outcomes, urls: &[String]) -> Vec<OutcomeKind> {
    let ids: Vec<_> = urls
        .iter()
        .enumerate()
        .map(|(n, u)| d.fire(u, &event(&format!("allow-{n}"))))
        .collect();
    let got = collect(out, urls.len(), 10);
    assert_eq!(got.iter().map(|o| o.id).collect::<Vec<_>>(), ids);
    got.into_iter().map(|o| o.kind).collect()
}

const DELIVERED: OutcomeKind = OutcomeKind::Delivered { status: 204 };

#[test]
fn the_allowlist_opens_exactly_what_it_names() {
    let one = Spot::bind("127.0.0.1:0").unwrap();
    let port = one.port;
    let two = Spot::bind(&format!("127.0.0.2:{port}")).unwrap();
    let three = Spot::bind(&format!("127.0.0.3:{port}")).unwrap();
    let four = Spot::bind(&format!("127.0.0.4:{port}")).unwrap();
    let six = Spot::bind(&format!("[::1]:{port}"));
    let u = |host: &str| format!("http://{host}:{port}/hook");
    let resolver = || {
        StaticResolver::new()
            .with("one.test", ["127.0.0.1".parse().unwrap()])
            .with("two.test", ["127.0.0.2".parse().unwrap()])
            .with(
                "mixed.test",
                ["127.0.0.2".parse().unwrap(), "127.0.0.1".parse().unwrap()],
            )
    };
    let build = |allow: &[&str]| {
        let (cb, out) = outcomes();
        let mut b = Dispatcher::builder()
            .resolver(resolver())
            .max_retries(0)
            .on_outcome(cb);
        for a in allow {
            b = b.allow_cidr(a);
        }
        (b.build().unwrap(), out)
    };

    // 127.0.0.1/32: 127.0.0.1 (and its mapped form) only.
    let (d, out) = build(&["127.0.0.1/32"]);
    let urls = [
        u("127.0.0.1"),
        u("[::ffff:127.0.0.1]"),
        u("2130706433"),
        u("one.test"),
        u("mixed.test"),
        u("localhost"),
        u("127.0.0.2"),
        u("127.0.0.0"),
        u("[::1]"),
        u("two.test"),
    ];
    let kinds = fire_all(&d, &out, &urls);
    assert_eq!(kinds[..6], [DELIVERED; 6], "{urls:?}");
    assert_eq!(kinds[6..], [FORBIDDEN; 4], "{urls:?}");
    assert_eq!(two.connections(), 0, "mixed.test went to 127.0.0.2");
    let delivered_to_one = one.connections();
    assert_eq!(
        delivered_to_one, 6,
        "one connection per delivery (the spot closes each)"
    );

    // A bare address opens that address only.
    let (d, out) = build(&["127.0.0.2"]);
    let kinds = fire_all(
        &d,
        &out,
        &[
            u("127.0.0.2"),
            u("two.test"),
            u("127.0.0.1"),
            u("127.0.0.3"),
            u("one.test"),
        ],
    );
    assert_eq!(
        kinds,
        [DELIVERED, DELIVERED, FORBIDDEN, FORBIDDEN, FORBIDDEN]
    );
    assert_eq!(two.connections(), 2);

    // 127.0.0.0/30: .0 to .3, not .4.
    let (d, out) = build(&["127.0.0.0/30"]);
    let kinds = fire_all(&d, &out, &[u("127.0.0.3"), u("127.0.0.4"), u("127.0.0.1")]);
    assert_eq!(kinds, [DELIVERED, FORBIDDEN, DELIVERED]);
    assert_eq!((three.connections(), four.connections()), (1, 0));

    // An entry in IPv4-mapped form names the IPv4 addresses it embeds.
    let (d, out) = build(&["::ffff:127.0.0.2/128", "::ffff:127.0.0.4/127"]);
    let kinds = fire_all(
        &d,
        &out,
        &[
            u("127.0.0.2"),
            u("[::ffff:127.0.0.2]"),
            u("127.0.0.4"),
            u("127.0.0.1"),
            u("127.0.0.3"),
        ],
    );
    assert_eq!(
        kinds,
        [DELIVERED, DELIVERED, DELIVERED, FORBIDDEN, FORBIDDEN]
    );
    assert_eq!(
        (two.connections(), three.connections(), four.connections()),
        (4, 1, 1),
        "127.0.0.3 only from the /30 case above"
    );

    // Other ranges open nothing on loopback.
    let (d, out) = build(&["10.0.0.0/8", "192.168.0.0/16", "fc00::/7", "0.0.0.0/32"]);
    let kinds = fire_all(&d, &out, &[u("127.0.0.1"), u("[::1]"), u("localhost")]);
    assert_eq!(kinds, [FORBIDDEN; 3]);

    // ::1/128: IPv6 loopback only.
    if let Some(six) = &six {
        let (d, out) = build(&["::1/128"]);
        let kinds = fire_all(
            &d,
            &out,
            &[u("[::1]"), u("127.0.0.1"), u("[::ffff:127.0.0.1]")],
        );
        assert_eq!(kinds, [DELIVERED, FORBIDDEN, FORBIDDEN]);
        assert_eq!(six.connections(), 1);
    }
    assert_eq!(
        one.connections(),
        delivered_to_one + 1,
        "only the /30 case reached .1 after"
    );

    // The pure policy agrees at the edges of wider entries (nothing is sent there).
    let p = AddressPolicy::default()
        .allow("10.0.0.0/8")
        .unwrap()
        .allow("fd00::/8")
        .unwrap();
    for (ip, open) in [
        ("10.0.0.0", true),
        ("10.255.255.255", true),
        ("::ffff:10.1.2.3", true),
        ("172.16.0.1", false), // global neighbours stay open anyway: test private ones
        ("192.168.1.1", false),
        ("127.0.0.1", false),
        ("fd00::", true),
        ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
        ("fc00::", false),
        ("fe80::1", false),
    ] {
        assert_eq!(p.permits(ip.parse().unwrap()), open, "{ip}");
    }
}

/// Issue 15: IPv6 transition forms that embed a private IPv4 address, each in several
/// spellings (compressed, full, upper case, a dotted-quad tail), are refused inside `fire`
/// like the other special-purpose ranges; the sub-blocks of `2001::/23` that the IANA
/// special-purpose registry marks globally reachable stay open, and so do the neighbours.
#[test]
fn ipv6_transition_forms_embedding_private_ipv4_are_refused() {
    // (address, what it embeds), written out by hand from RFC 3056 (6to4: 2002:AABB:CCDD::),
    // RFC 4380 (Teredo: 2001:0:server:flags:port:~client), RFC 7915 (SIIT
    // ::ffff:0:a.b.c.d) and RFC 9602 (5f00::/16).
    let refused = [
        ("2002:7f00:1::", "6to4 of 127.0.0.1"),
        ("2002:a9fe:a9fe::", "6to4 of 169.254.169.254"),
        ("2002:a00:1::1", "6to4 of 10.0.0.1"),
        ("2002:c0a8:101:1::1", "6to4 of 192.168.1.1"),
        (
            "2002:808:808::",
            "6to4 of 8.8.8.8 (the whole range is refused)",
        ),
        ("2002::", "first of 2002::/16"),
        (
            "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "last of 2002::/16",
        ),
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "Teredo, client 127.0.0.1",
        ),
        (
            "2001:0:4136:e378:8000:63bf:5601:5601",
            "Teredo, client 169.254.169.254",
        ),
        ("2001::", "first of Teredo 2001::/32"),
        ("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "last of Teredo"),
        ("::ffff:0:7f00:1", "SIIT of 127.0.0.1"),
        ("::ffff:0:a9fe:a9fe", "SIIT of 169.254.169.254"),
        ("::ffff:0:0:0", "first of SIIT ::ffff:0:0:0/96"),
        ("::ffff:0:ffff:ffff", "last of SIIT"),
        ("2001:1::", "2001:1::/32 outside the anycast addresses"),
        ("2001:1::4", "next to the anycast addresses"),
        ("2001:2::1", "benchmarking 2001:2::/48"),
        ("2001:4:113::1", "next to AS112-v6"),
        ("2001:10::1", "ORCHID (deprecated) 2001:10::/28"),
        ("2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "last of ORCHID"),
        ("2001:40::", "after DRIP, still 2001::/23"),
        (
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
            "last of 2001::/23",
        ),
        ("5f00::", "first of SRv6 SIDs 5f00::/16"),
        ("5f00:1234::7f00:1", "SRv6 SIDs"),
        (
            "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "last of 5f00::/16",
        ),
    ];
    // Globally reachable per the registry: never sent to (pure policy only).
    let open = [
        "2001:1::1",
        "2001:1::2",
        "2001:1::3",
        "2001:3::",
        "2001:3:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:4:112::",
        "2001:4:112:ffff:ffff:ffff:ffff:ffff",
        "2001:20::",
        "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:30::",
        "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:200::",
        "2003::",
        "5f01::",
    ];
    let strict = AddressPolicy::default();
    for (a, what) in refused {
        let ip: IpAddr = a.parse().unwrap();
        assert!(!is_global(ip) && !strict.permits(ip), "{a} ({what})");
    }
    for a in open {
        let ip: IpAddr = a.parse().unwrap();
        assert!(is_global(ip) && strict.permits(ip), "{a} must stay open");
    }
    // An allowlist entry for the embedded IPv4 address does not open the IPv6 form.
    let local = AddressPolicy::default().allow("127.0.0.1/32").unwrap();
    assert!(!local.permits("2002:7f00:1::".parse().unwrap()));
    assert!(!local.permits("::ffff:0:7f00:1".parse().unwrap()));

    let seen: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let s2 = Arc::clone(&seen);
    let (d, rt) = undriven(
        Dispatcher::builder()
            .max_retries(0)
            .on_outcome(move |o| s2.lock().unwrap().push(o.clone())),
    );
    let mut hosts = vec![];
    for (a, _) in refused {
        let v6: Ipv6Addr = a.parse().unwrap();
        hosts.extend(v6_spellings(v6));
        let s = v6.segments();
        let tail = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
        let head: Vec<String> = s[..6].iter().map(|x| format!("{x:x}")).collect();
        hosts.push(format!("[{}:{tail}]", head.join(":")));
        hosts.push(format!("[{}:{tail}]", head.join(":").to_uppercase()));
    }
    hosts.push("[::FFFF:0:127.0.0.1]".into());
    hosts.push("[0:0:0:0:ffff:0:169.254.169.254]".into());
    hosts.push("[2002:7F00:0001:0000:0000:0000:0000:0000]".into());
    let mut failures = vec![];
    for (n, host) in hosts.iter().enumerate() {
        let url = format!("http://{host}:8080/hook");
        let id = d.fire(&url, &event(&format!("v6-{n}")));
        match seen.lock().unwrap().last().cloned() {
            Some(o) if o.id == id && o.kind == FORBIDDEN && o.attempts == 0 => {}
            other => failures.push(format!("{url}: {other:?}")),
        }
    }
    let stats = d.stats();
    drop(d);
    drop(rt);
    assert!(failures.is_empty(), "not refused:\n{}", failures.join("\n"));
    assert_eq!((stats.pending, stats.attempts), (0, 0));
    assert!(
        hosts.len() >= refused.len() * 4,
        "{} spellings",
        hosts.len()
    );
}
