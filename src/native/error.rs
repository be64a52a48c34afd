//! [`BuildError`]: why [`DispatcherBuilder::build`](super::DispatcherBuilder::build) failed.

use core::fmt;
use std::error::Error as StdError;

/// Why [`DispatcherBuilder::build`](super::DispatcherBuilder::build) failed; the cause is its `source()`.
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
    source: Box<dyn StdError + Send + Sync>,
}

/// What [`BuildError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// The HTTP client (TLS backend, user agent) could not be built.
    Client,
    /// The dispatcher's own runtime or its thread could not be started.
    Runtime,
    /// An allowlist entry is not a CIDR range or address.
    Allowlist,
    /// The Standard Webhooks secret list is invalid (empty).
    StandardWebhooks,
    /// The durable outbox could not be opened, migrated or checked (locked, corrupt or
    /// unreachable database); the database error is the `source()`.
    Store,
}

impl BuildError {
    pub(crate) fn new(
        kind: BuildErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }

    /// What failed.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }

    /// The stable reason code (one of [`crate::reason::ALL`]): `http_client`, `runtime`,
    /// `invalid_allowlist`, `empty_secret` (Standard Webhooks without a secret) or
    /// `database`.
    pub fn code(&self) -> &'static str {
        use crate::reason;
        match self.kind {
            BuildErrorKind::Client => reason::HTTP_CLIENT,
            BuildErrorKind::Runtime => reason::RUNTIME,
            BuildErrorKind::Allowlist => reason::INVALID_ALLOWLIST,
            BuildErrorKind::StandardWebhooks => reason::EMPTY_SECRET,
            BuildErrorKind::Store => reason::DATABASE,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            BuildErrorKind::Client => "webhook dispatcher: the HTTP client could not be built",
            BuildErrorKind::Runtime => "webhook dispatcher: its runtime thread could not start",
            BuildErrorKind::Allowlist => {
                "webhook dispatcher: allowlist entry must be a CIDR range like `127.0.0.1/32`"
            }
            BuildErrorKind::StandardWebhooks => {
                "webhook dispatcher: standard webhooks need at least one secret"
            }
            BuildErrorKind::Store => {
                "webhook dispatcher: the outbox database could not be opened or migrated"
            }
        })
    }
}

impl StdError for BuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}
