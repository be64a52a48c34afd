//! Name resolution with the SSRF guard applied to its answers.
//!
//! Every hostname a delivery connects to goes through [`GuardedResolver`]: the pluggable
//! [`NameResolver`] answers, the [`AddressPolicy`] filters, and the HTTP connector connects to
//! exactly the addresses that remain (the vetted addresses are pinned: there is no
//! second lookup a rebinding DNS server could answer differently). IP-literal hosts never
//! reach a resolver; the dispatcher checks them before sending.

use core::fmt;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

use super::address::{is_localhost_name, AddressPolicy};

/// The future a [`NameResolver`] returns.
pub type Resolving = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a hostname into addresses. The default is the system resolver
/// ([`SystemResolver`]); tests plug in a [`StaticResolver`].
pub trait NameResolver: Send + Sync + 'static {
    /// The addresses of `host` (a DNS name, never an IP literal).
    fn resolve(&self, host: &str) -> Resolving;
}

/// The operating system's resolver (`getaddrinfo` on a blocking thread, via tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl NameResolver for SystemResolver {
    fn resolve(&self, host: &str) -> Resolving {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A fixed name → addresses table; unknown names fail with `NotFound`. For tests (map
/// `hooks.example.test` to `127.0.0.1`) and pinned deployments.
///
/// ```
/// use foreman_webhook::native::StaticResolver;
/// let r = StaticResolver::new().with("hooks.example.test", ["127.0.0.1".parse()?]);
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    table: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `host` (case-insensitive) to `addrs`.
    #[must_use]
    pub fn with(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.table
            .insert(host.to_ascii_lowercase(), addrs.into_iter().collect());
        self
    }
}

impl NameResolver for StaticResolver {
    fn resolve(&self, host: &str) -> Resolving {
        let found = self.table.get(&host.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "name not in table"))
        })
    }
}

/// A destination refused by the [`AddressPolicy`]: it resolved only to (or is)
/// addresses that are not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenDestination {
    pub(crate) host: String,
    pub(crate) addrs: Vec<IpAddr>,
}

impl ForbiddenDestination {
    /// The host as written in the URL.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The refused addresses.
    pub fn addrs(&self) -> &[IpAddr] {
        &self.addrs
    }
}

impl fmt::Display for ForbiddenDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "destination `{}` resolves only to non-global addresses {:?}; allowlist them to permit",
            self.host, self.addrs
        )
    }
}

impl std::error::Error for ForbiddenDestination {}

/// The connector's resolver (hyper-util's `HttpConnector` hook): asks the
/// [`NameResolver`], keeps only permitted addresses. Its refusal is a boxed
/// [`ForbiddenDestination`], the source of the connect error (see `http::is_forbidden`).
#[derive(Clone)]
pub(crate) struct GuardedResolver {
    pub(crate) inner: Arc<dyn NameResolver>,
    pub(crate) policy: Arc<AddressPolicy>,
}

/// What the connector's resolver returns.
type Guarded =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, BoxError>> + Send>>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Guarded;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let host = name.as_str().to_owned();
        let policy = Arc::clone(&self.policy);
        // RFC 6761: localhost is loopback, whatever a resolver says.
        let lookup = if is_localhost_name(&host) {
            None
        } else {
            Some(self.inner.resolve(&host))
        };
        Box::pin(async move {
            let ips = match lookup {
                Some(fut) => fut.await?,
                None => vec![
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(Ipv6Addr::LOCALHOST),
                ],
            };
            let (ok, refused): (Vec<IpAddr>, Vec<IpAddr>) =
                ips.into_iter().partition(|ip| policy.permits(*ip));
            if ok.is_empty() && refused.is_empty() {
                return Err(io::Error::new(io::ErrorKind::NotFound, "no addresses").into());
            }
            if ok.is_empty() {
                let err: BoxError = Box::new(ForbiddenDestination {
                    host,
                    addrs: refused,
                });
                return Err(err);
            }
            // Port 0: the connector puts the URL's port (or the scheme's) in.
            let addrs: Vec<SocketAddr> = ok.into_iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            Ok(addrs.into_iter())
        })
    }
}
