//! Pure delivery policy: the retry schedule, classification of an attempt's outcome,
//! `Retry-After` parsing and the SSRF address rules. No I/O, no clock, no sleeping:
//! everything here is a function of its arguments and is tested without sockets.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;

/// Retries after the first attempt (Go: `maxRetries: 5`), so 6 attempts in all.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// Wait before the first retry; doubled for each further one (Go: `baseDelay: 1s`).
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_secs(1);
/// Whole-request timeout, connect to last byte read (Go: `http.Client{Timeout: 10s}`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait a `Retry-After` header can impose (not in Go, which ignores it).
pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// When to retry and how long to wait: the Go schedule by default (1 attempt + 5
/// retries, waits of 1, 2, 4, 8, 16 s), optionally jittered, lengthened by `Retry-After`.
///
/// ```
/// use std::time::Duration;
/// use foreman_webhook::native::RetryPolicy;
/// let waits: Vec<u64> = RetryPolicy::default().delays().map(|d| d.as_secs()).collect();
/// assert_eq!(waits, [1, 2, 4, 8, 16]);
/// let fast = RetryPolicy::default().with_base_delay(Duration::from_millis(50));
/// assert_eq!(fast.delays().last(), Some(Duration::from_millis(800)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    jitter: Jitter,
    retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: DEFAULT_MAX_RETRIES,
            base_delay: DEFAULT_BASE_DELAY,
            jitter: Jitter::None,
            retry_after_cap: DEFAULT_RETRY_AFTER_CAP,
        }
    }
}

/// Randomisation of the retry waits, off by default (the Go schedule is exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// Waits are exactly the schedule.
    #[default]
    None,
    /// Each wait is drawn uniformly from `[(100 − p) %, 100 %]` of the scheduled wait
    /// (values above 100 are treated as 100). Never longer than the schedule.
    Percent(u8),
}

impl RetryPolicy {
    /// The Go policy; same as `default()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of retries after the first attempt (0 = a single attempt).
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the wait before the first retry; retry `n` waits `base × 2^(n−1)`.
    #[must_use]
    pub fn with_base_delay(mut self, base: Duration) -> Self {
        self.base_delay = base;
        self
    }

    /// Sets the jitter.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the longest wait a `Retry-After` header may impose.
    #[must_use]
    pub fn with_retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = cap;
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Attempts in all: `max_retries + 1`.
    pub fn max_attempts(&self) -> u32 {
        self.max_retries.saturating_add(1)
    }

    /// The wait before the first retry.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The jitter setting.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The longest wait a `Retry-After` header may impose.
    pub fn retry_after_cap(&self) -> Duration {
        self.retry_after_cap
    }

    /// The scheduled (unjittered) wait before retry `retry` (1-based), or `None` past
    /// `max_retries`. Saturates instead of overflowing.
    pub fn delay(&self, retry: u32) -> Option<Duration> {
        if retry == 0 || retry > self.max_retries {
            return None;
        }
        let factor = 1u32.checked_shl(retry - 1).unwrap_or(u32::MAX);
        Some(self.base_delay.saturating_mul(factor))
    }

    /// The scheduled waits before retries `1..=max_retries`: 1, 2, 4, 8, 16 s by default.
    pub fn delays(&self) -> Delays {
        Delays {
            policy: *self,
            next: 1,
            rng: None,
        }
    }

    /// The waits with this policy's jitter applied, drawn from a generator seeded with
    /// `seed` (the same seed gives the same waits).
    pub fn jittered_delays(&self, seed: u64) -> Delays {
        Delays {
            policy: *self,
            next: 1,
            rng: Some(seed),
        }
    }

    /// Applies the jitter to a scheduled wait, using `sample` (any 64 random bits).
    pub fn apply_jitter(&self, wait: Duration, sample: u64) -> Duration {
        match self.jitter {
            Jitter::None | Jitter::Percent(0) => wait,
            Jitter::Percent(p) => {
                let p = u64::from(p.min(100));
                // Fraction in [0, 1) with 24 bits of resolution.
                let frac = (sample >> 40) as f64 / (1u64 << 24) as f64;
                let cut = wait.as_secs_f64() * (p as f64 / 100.0) * frac;
                wait.saturating_sub(Duration::from_secs_f64(cut))
            }
        }
    }

    /// What to do after attempt number `attempt` (1-based) ended with `outcome`.
    /// `sample` feeds the jitter (ignored without jitter).
    ///
    /// - any 2xx → [`Next::Delivered`];
    /// - a refused destination → [`Next::Rejected`] (never retried);
    /// - anything else → [`Next::RetryIn`] the scheduled wait, lengthened (never
    ///   shortened) by a `Retry-After` on 429/503 capped at [`Self::retry_after_cap`],
    ///   or [`Next::Exhausted`] after the last attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use foreman_webhook::native::{AttemptOutcome, Next, RetryPolicy};
    /// let p = RetryPolicy::default();
    /// let ok = AttemptOutcome::Status { code: 204, retry_after: None };
    /// assert_eq!(p.classify(1, &ok, 0), Next::Delivered);
    /// let busy = AttemptOutcome::Status { code: 503, retry_after: Some(Duration::from_secs(30)) };
    /// assert_eq!(p.classify(1, &busy, 0), Next::RetryIn(Duration::from_secs(30)));
    /// assert_eq!(p.classify(6, &AttemptOutcome::Transport, 0), Next::Exhausted);
    /// ```
    pub fn classify(&self, attempt: u32, outcome: &AttemptOutcome, sample: u64) -> Next {
        let retry_after = match *outcome {
            AttemptOutcome::Status { code, .. } if (200..300).contains(&code) => {
                return Next::Delivered
            }
            AttemptOutcome::Refused => return Next::Rejected,
            AttemptOutcome::Status {
                code: 429 | 503,
                retry_after,
            } => retry_after,
            _ => None,
        };
        let Some(wait) = self.delay(attempt) else {
            return Next::Exhausted;
        };
        let wait = self.apply_jitter(wait, sample);
        match retry_after {
            Some(asked) => Next::RetryIn(wait.max(asked.min(self.retry_after_cap))),
            None => Next::RetryIn(wait),
        }
    }
}

/// The waits of a [`RetryPolicy`], one per retry (an `Iterator<Item = Duration>`).
#[derive(Debug, Clone)]
pub struct Delays {
    policy: RetryPolicy,
    next: u32,
    rng: Option<u64>,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let wait = self.policy.delay(self.next)?;
        self.next += 1;
        Some(match &mut self.rng {
            Some(state) => self.policy.apply_jitter(wait, splitmix64(state)),
            None => wait,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.policy.max_retries + 1).saturating_sub(self.next) as usize;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Delays {}

/// SplitMix64: a tiny seedable generator for jitter (not for anything secret).
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How one attempt ended, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// A response arrived (any status, including 3xx: redirects are never followed).
    Status {
        /// The HTTP status code.
        code: u16,
        /// The parsed `Retry-After` header, if any (see [`parse_retry_after`]).
        retry_after: Option<Duration>,
    },
    /// No response within the request timeout.
    Timeout,
    /// Connection refused or reset, DNS failure, TLS failure, ...
    Transport,
    /// The destination is forbidden by the [`AddressPolicy`] (found after resolution).
    Refused,
}

/// The decision after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Next {
    /// A 2xx arrived: done.
    Delivered,
    /// Try again after this wait.
    RetryIn(Duration),
    /// That was the last attempt: log and drop.
    Exhausted,
    /// The destination is forbidden: drop without retrying.
    Rejected,
}

/// Parses a `Retry-After` value: delay-seconds (`"120"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, relative to `now`; a past date is zero).
/// Anything else is `None` (ignored).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use foreman_webhook::native::parse_retry_after;
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400);
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(80)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is "very long": the cap applies anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Which destination addresses deliveries may reach. By default every non-global
/// address is refused (see [`is_global`]); [`AddressPolicy::allow`] opens CIDR ranges.
///
/// IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) IPv6 addresses are
/// judged, and matched against the allowlist, as the IPv4 address they embed.
///
/// ```
/// use foreman_webhook::native::AddressPolicy;
/// let strict = AddressPolicy::default();
/// assert!(!strict.permits("127.0.0.1".parse()?));
/// assert!(!strict.permits("::ffff:10.0.0.1".parse()?));
/// assert!(strict.permits("93.184.215.14".parse()?));
/// let local = AddressPolicy::default().allow("127.0.0.1/32")?;
/// assert!(local.permits("127.0.0.1".parse()?));
/// assert!(!local.permits("127.0.0.2".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allow: Vec<IpNet>,
}

impl AddressPolicy {
    /// Refuses every non-global address; same as `default()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a CIDR range (`"127.0.0.1/32"`, `"10.0.0.0/8"`, `"::1/128"`) or a single
    /// address (`"127.0.0.1"`). A range written in IPv4-mapped or -compatible form
    /// (`"::ffff:10.0.0.0/104"`) opens the IPv4 range it embeds.
    ///
    /// # Errors
    /// [`CidrError`] when `cidr` is neither.
    pub fn allow(mut self, cidr: &str) -> Result<Self, CidrError> {
        let cidr = cidr.trim();
        let net = IpNet::from_str(cidr)
            .or_else(|_| IpAddr::from_str(cidr).map(IpNet::from))
            .map_err(|_| CidrError)?;
        self.allow.push(embedded_v4(net.trunc()));
        Ok(self)
    }

    /// `true` if the address is allowlisted or global.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allow.iter().any(|net| net.contains(&ip)) || is_global(ip)
    }
}

/// An IPv6 range inside the IPv4-mapped or -compatible space (`::ffff:10.0.0.0/104`), as
/// the IPv4 range it embeds: addresses are matched in their [`canonical`] form, so an entry
/// kept as IPv6 would match nothing.
fn embedded_v4(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match canonical(IpAddr::V6(v6.network())) {
            IpAddr::V4(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            IpAddr::V6(_) => net,
        },
        _ => net,
    }
}

/// A CIDR allowlist entry did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CidrError;

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("allowlist entry must be a CIDR range like `127.0.0.1/32` or an IP address")
    }
}

impl std::error::Error for CidrError {}

/// The IPv4 address embedded in an IPv4-mapped (`::ffff:0:0/96`) or IPv4-compatible
/// (`::/96`, except `::` and `::1`) IPv6 address; any other address unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[..6] == [0; 6] && v6 != Ipv6Addr::UNSPECIFIED && v6 != Ipv6Addr::LOCALHOST {
                return IpAddr::V4(Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    s[6] as u8,
                    (s[7] >> 8) as u8,
                    s[7] as u8,
                ));
            }
            ip
        }
        IpAddr::V4(_) => ip,
    }
}

/// `false` for every special-purpose range a webhook must not reach by default:
///
/// - IPv4: `0/8`, `10/8`, `100.64/10` (CGNAT), `127/8`, `169.254/16` (link-local, incl.
///   the `169.254.169.254` metadata service), `172.16/12`, `192.0.0/24`, `192.0.2/24`,
///   `192.88.99/24`, `192.168/16`, `198.18/15`, `198.51.100/24`, `203.0.113/24`,
///   `224/4` (multicast), `240/4` (incl. `255.255.255.255`);
/// - IPv6: `::`, `::1`, `64:ff9b::/96` and `64:ff9b:1::/48` (NAT64), `100::/64`,
///   `2001:db8::/32` and `3fff::/20` (documentation), `fc00::/7` (ULA), `fe80::/10`,
///   `fec0::/10`, `ff00::/8`, and IPv4-mapped/-compatible forms of the IPv4 ranges.
pub fn is_global(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || a == 10
        || (a == 100 && (64..128).contains(&b))
        || a == 127
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1))
        || (s[0] == 0x100 && s[1..4] == [0; 3])
        || (s[0] == 0x2001 && s[1] == 0xdb8)
        || (s[0] & 0xfff0) == 0x3ff0
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] & 0xff00) == 0xff00)
}

/// `true` for `localhost` and names under `.localhost` (RFC 6761: always loopback,
/// answered without asking DNS).
pub fn is_localhost_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host.len() > 10
            && host.is_char_boundary(host.len() - 10)
            && host[host.len() - 10..].eq_ignore_ascii_case(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn go_schedule() {
        let p = RetryPolicy::default();
        let waits: Vec<_> = p.delays().collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16].map(Duration::from_secs),
            "1 attempt + 5 retries"
        );
        assert_eq!(p.max_attempts(), 6);
        assert_eq!(p.delays().len(), 5);
        assert_eq!(p.delay(0), None);
        assert_eq!(p.delay(6), None);
        let big = p.with_max_retries(80);
        assert_eq!(
            big.delay(80),
            Some(Duration::from_secs(u64::from(u32::MAX)))
        );
        assert!(big.delays().all(|d| d >= Duration::from_secs(1)));
    }

    #[test]
    fn classify_walks_the_schedule_to_exhaustion() {
        let p = RetryPolicy::default();
        let fail = AttemptOutcome::Status {
            code: 500,
            retry_after: None,
        };
        let mut waits = vec![];
        let mut attempt = 1;
        loop {
            match p.classify(attempt, &fail, 7) {
                Next::RetryIn(d) => waits.push(d.as_secs()),
                Next::Exhausted => break,
                other => panic!("{other:?}"),
            }
            attempt += 1;
        }
        assert_eq!(attempt, 6, "exhausted after exactly 6 attempts");
        assert_eq!(waits, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn classify_statuses() {
        let p = RetryPolicy::default();
        for code in [200, 201, 204, 299] {
            let o = AttemptOutcome::Status {
                code,
                retry_after: None,
            };
            assert_eq!(p.classify(1, &o, 0), Next::Delivered, "{code}");
        }
        for code in [100, 301, 302, 307, 308, 400, 404, 410, 500, 599] {
            let o = AttemptOutcome::Status {
                code,
                retry_after: None,
            };
            assert_eq!(
                p.classify(1, &o, 0),
                Next::RetryIn(Duration::from_secs(1)),
                "{code}"
            );
        }
        assert_eq!(
            p.classify(2, &AttemptOutcome::Timeout, 0),
            Next::RetryIn(Duration::from_secs(2))
        );
        assert_eq!(p.classify(1, &AttemptOutcome::Refused, 0), Next::Rejected);
    }

    #[test]
    fn retry_after_lengthens_caps_and_never_shortens() {
        let p = RetryPolicy::default().with_retry_after_cap(Duration::from_secs(30));
        let ra = |code, secs| AttemptOutcome::Status {
            code,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            p.classify(1, &ra(429, 10), 0),
            Next::RetryIn(Duration::from_secs(10))
        );
        assert_eq!(
            p.classify(1, &ra(503, 3600), 0),
            Next::RetryIn(Duration::from_secs(30)),
            "capped"
        );
        assert_eq!(
            p.classify(5, &ra(503, 1), 0),
            Next::RetryIn(Duration::from_secs(16)),
            "never shorter than the schedule"
        );
        assert_eq!(
            p.classify(1, &ra(500, 10), 0),
            Next::RetryIn(Duration::from_secs(1)),
            "only 429 and 503"
        );
        assert_eq!(p.classify(6, &ra(503, 10), 0), Next::Exhausted);
    }

    #[test]
    fn retry_after_parsing() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400);
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(80))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "past date"
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "soon",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "1e3",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn jitter_is_seeded_bounded_and_off_by_default() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.jittered_delays(1).collect::<Vec<_>>(),
            p.delays().collect::<Vec<_>>()
        );
        let j = p.with_jitter(Jitter::Percent(50));
        let a: Vec<_> = j.jittered_delays(42).collect();
        assert_eq!(a, j.jittered_delays(42).collect::<Vec<_>>(), "seeded");
        assert_ne!(a, j.jittered_delays(43).collect::<Vec<_>>());
        for (got, nominal) in a.iter().zip(p.delays()) {
            assert!(
                *got <= nominal && *got >= nominal / 2,
                "{got:?} vs {nominal:?}"
            );
        }
    }

    #[test]
    fn ssrf_ranges() {
        let strict = AddressPolicy::default();
        for bad in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001:db8::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!strict.permits(ip(bad)), "{bad} must be refused");
            assert!(!is_global(ip(bad)), "{bad}");
        }
        for good in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(strict.permits(ip(good)), "{good} must be permitted");
        }
    }

    #[test]
    fn allowlist_opens_exactly_what_it_names() {
        let p = AddressPolicy::default().allow("127.0.0.1/32").unwrap();
        assert!(p.permits(ip("127.0.0.1")));
        assert!(p.permits(ip("::ffff:127.0.0.1")), "same address, mapped");
        assert!(!p.permits(ip("127.0.0.2")));
        assert!(!p.permits(ip("::1")));
        assert!(!p.permits(ip("10.0.0.1")));
        let p = AddressPolicy::default().allow("::1").unwrap();
        assert!(p.permits(ip("::1")) && !p.permits(ip("127.0.0.1")));
        let p = AddressPolicy::default()
            .allow("::ffff:10.0.0.0/104")
            .unwrap()
            .allow("::ffff:127.0.0.2")
            .unwrap()
            .allow("::192.168.0.0/120")
            .unwrap();
        for open in [
            "10.0.0.0",
            "10.255.255.255",
            "::ffff:10.1.2.3",
            "127.0.0.2",
            "192.168.0.9",
        ] {
            assert!(
                p.permits(ip(open)),
                "{open}: a mapped entry names the IPv4 range"
            );
        }
        for shut in [
            "172.16.0.1",
            "127.0.0.1",
            "127.0.0.3",
            "192.168.1.0",
            "::1",
            "::",
        ] {
            assert!(!p.permits(ip(shut)), "{shut}");
        }
        let p = AddressPolicy::default().allow("::/127").unwrap();
        assert!(p.permits(ip("::")) && p.permits(ip("::1")) && !p.permits(ip("0.0.0.0")));
        assert!(AddressPolicy::default().allow("10.0.0.0/33").is_err());
        assert!(AddressPolicy::default().allow("localhost").is_err());
    }

    #[test]
    fn localhost_names() {
        for n in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "a.localhost",
            "x.y.Localhost",
        ] {
            assert!(is_localhost_name(n), "{n}");
        }
        for n in [
            "localhost.example",
            "notlocalhost",
            "example.com",
            "ålocalhost",
        ] {
            assert!(!is_localhost_name(n), "{n}");
        }
    }
}
