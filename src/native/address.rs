//! The address policy (pure): which destination IPs deliveries may reach (the SSRF
//! rules) and the CIDR allowlist. Tested without sockets or tokio.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

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

impl CidrError {
    /// The stable reason code: `invalid_allowlist` (see [`crate::reason`]).
    pub fn code(self) -> &'static str {
        crate::reason::INVALID_ALLOWLIST
    }
}

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
///   `fec0::/10`, `ff00::/8`, and IPv4-mapped/-compatible forms of the IPv4 ranges;
/// - IPv6 transition and protocol ranges, refused whole whatever IPv4 address they embed
///   (a relay or translator would carry the request to that IPv4 host, and for Teredo the
///   embedded address is obfuscated): `2002::/16` (6to4), `::ffff:0:0:0/96` (SIIT
///   IPv4-translated), `2001::/23` (IETF protocol assignments, which holds Teredo
///   `2001::/32`, benchmarking `2001:2::/48` and ORCHID `2001:10::/28`) except the blocks
///   the IANA special-purpose registry marks globally reachable (`2001:1::1`–`2001:1::3`
///   anycast, `2001:3::/32` AMT, `2001:4:112::/48` AS112, `2001:20::/28` ORCHIDv2,
///   `2001:30::/28` DRIP), and `5f00::/16` (SRv6 SIDs).
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
        || (s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0)
        || (s[0] == 0x2001 && s[1] < 0x200 && !is_global_protocol_assignment(ip))
        || s[0] == 0x2002
        || s[0] == 0x5f00
        || (s[0] == 0x2001 && s[1] == 0xdb8)
        || (s[0] & 0xfff0) == 0x3ff0
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] & 0xff00) == 0xff00)
}

/// The blocks inside `2001::/23` that the IANA IPv6 special-purpose registry marks
/// globally reachable.
fn is_global_protocol_assignment(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // 2001:1::1, 2001:1::2, 2001:1::3 (PCP, TURN and DNS-SD SRP anycast).
    (s[1] == 1 && s[2..7] == [0; 5] && (1..=3).contains(&s[7]))
        // 2001:3::/32 (AMT).
        || s[1] == 3
        // 2001:4:112::/48 (AS112-v6).
        || (s[1] == 4 && s[2] == 0x112)
        // 2001:20::/28 (ORCHIDv2) and 2001:30::/28 (DRIP entity tags).
        || (s[1] & 0xfff0) == 0x20
        || (s[1] & 0xfff0) == 0x30
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
            "2002:7f00:1::",
            "2002:a9fe:a9fe::",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "::ffff:0:7f00:1",
            "2001:2::1",
            "2001:1ff::1",
            "5f00::1",
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
            "2001:1::1",
            "2001:3::1",
            "2001:4:112::1",
            "2001:20::1",
            "2001:30::1",
            "2001:200::1",
            "2003::1",
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
