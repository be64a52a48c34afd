//! `foreman-webhook`: demo, send, listen, sign and verify signed job-state webhooks.
//!
//! Argument parsing and printing only; every decision is the library's.

#[cfg(not(target_arch = "wasm32"))]
mod app;
#[cfg(not(target_arch = "wasm32"))]
mod demo;
#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "sqlite", feature = "postgres")
))]
mod outbox;
#[cfg(not(target_arch = "wasm32"))]
mod receiver;
#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "sqlite", feature = "postgres")
))]
mod relay;
#[cfg(not(target_arch = "wasm32"))]
mod send;
#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "sqlite", feature = "postgres")
))]
mod store;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    app::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
