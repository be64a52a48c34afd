//! Address presets shared by every sender (the dispatcher's allowlist, the CLI's
//! `--allow-private`).

/// The private-network preset: loopback and private ranges, what a sender opens to reach
/// a receiver on the developer's machine or a private network. Link-local (cloud metadata
/// at 169.254.169.254) is deliberately absent: name it explicitly if you must.
pub const PRIVATE_NETWORKS: [&str; 7] = [
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];
