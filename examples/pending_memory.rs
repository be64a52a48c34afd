//! Measures the memory a pending delivery costs: fires N signed 1 KiB events at a
//! receiver that is down (connection refused on 127.0.0.1), waits until every one has
//! failed its first attempt and sits in the retry queue, and reports the RSS growth per
//! pending delivery (from `/proc/self/statm`, Linux).
//!
//! Run: `cargo run --release --features native --example pending_memory [-- N]`
//! (N defaults to 100 000). The Go design costs about 3.8 KB per pending delivery (a
//! goroutine stack plus its copy of the body).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::time::{Duration, Instant};

    use foreman_webhook::{Dispatcher, Event, RawJson, Secret, Timestamp};

    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    // A port nothing listens on: every attempt is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");

    let dispatcher = Dispatcher::builder()
        .secret(Secret::new("whsec-memory-test")?)
        .allow_cidr("127.0.0.1/32")
        .max_pending(n + 1)
        .max_concurrency(64)
        .max_per_host(64)
        .base_delay(Duration::from_secs(600)); // everyone waits in the retry queue
                                               // `OUTCOME=1`: with an (empty) outcome callback, each job also keeps its attempt
                                               // trail (timings, last result) for the `Outcome`.
    let dispatcher = if std::env::var_os("OUTCOME").is_some() {
        dispatcher.on_outcome(|_| {})
    } else {
        dispatcher
    }
    .build()?;

    // A 1 KiB body (the exact length is printed below).
    let mut template = Event::new("job-000000", "running", Timestamp::UNIX_EPOCH);
    template.previous_state = "queued".into();
    template.model = "llama-3-8b".into();
    let pad = 1024 - template.to_json().len() - r#"{"log":""}"#.len() + "null".len();
    template.result = Some(RawJson::new(format!(r#"{{"log":"{}"}}"#, "x".repeat(pad)))?);
    let body_len = template.to_json().len();

    // Warm up: one event through the whole path, so the client, pool and runtime
    // allocations are in the baseline, as are the body buffers the dispatcher keeps ready
    // (made by its background thread after the first fire, see src/native/prefault.rs).
    dispatcher.fire(&url, &template);
    wait(|| dispatcher.stats().retries_scheduled >= 1);
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_bytes();

    let t0 = Instant::now();
    for i in 0..n {
        let mut event = template.clone();
        event.job_id = format!("job-{i:06}");
        dispatcher.fire(&url, &event);
    }
    let fire_time = t0.elapsed();
    wait(|| dispatcher.stats().retries_scheduled as usize > n);
    let settle_time = t0.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_bytes();
    let s = dispatcher.stats();

    println!("pending deliveries: {} (body {body_len} B each)", s.pending);
    println!(
        "fire: {:.2} µs per event; all first attempts failed and queued after {:.2} s",
        fire_time.as_secs_f64() * 1e6 / n as f64,
        settle_time.as_secs_f64()
    );
    println!(
        "RSS: {:.1} MiB -> {:.1} MiB; {:.0} bytes per pending delivery",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        (after.saturating_sub(before)) as f64 / n as f64
    );
    println!("stats: {s:?}");
    Ok(())
}

/// Resident set size from `/proc/self/statm` (pages of 4 KiB).
#[cfg(not(target_arch = "wasm32"))]
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[cfg(not(target_arch = "wasm32"))]
fn wait(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
