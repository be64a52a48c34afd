//! A synchronous job worker that reports every state change through the dispatcher.
//!
//! No tokio in sight: built outside a runtime, the dispatcher runs its own on a background
//! thread, `fire` returns at once, and `shutdown_blocking` bounds the exit.
//!
//! Run: `cargo run --example worker --features native -- [URL]`. Without a URL it starts
//! a tiny receiver on 127.0.0.1 and allowlists it (deliveries to loopback are refused by
//! default).

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::time::{Duration, SystemTime};

    use foreman_webhook::native::OutcomeKind;
    use foreman_webhook::{Dispatcher, Event, Secret, Timestamp};

    let mut builder = Dispatcher::builder()
        .secret(Secret::new("whsec-demo-secret")?)
        .base_delay(Duration::from_millis(50)) // demo: 50, 100, 200, 400, 800 ms
        .on_outcome(|o| match o.kind {
            OutcomeKind::Delivered { status } => {
                println!("{} {} delivered ({status})", o.job_id, o.state)
            }
            other => println!("{} {} ended: {other:?}", o.job_id, o.state),
        });
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => {
            // A minimal HTTP receiver answering 204 to everything, for the demo only.
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            std::thread::spawn(move || {
                for conn in listener.incoming().flatten() {
                    std::thread::spawn(move || serve_204(conn));
                }
            });
            builder = builder.allow_cidr("127.0.0.1/32");
            format!("http://{addr}/foreman")
        }
    };
    let dispatcher = builder.build()?;

    // The worker loop: each job walks queued → running → succeeded.
    for n in 1..=3 {
        let job_id = format!("job-{n}");
        let mut previous = String::new();
        for state in ["queued", "running", "succeeded"] {
            let mut event = Event::new(&job_id, state, Timestamp::from(SystemTime::now()));
            event.previous_state = std::mem::replace(&mut previous, state.into());
            event.model = "llama-3-8b".into();
            event.attempt = 1;
            dispatcher.fire(&url, &event); // never blocks the job
            std::thread::sleep(Duration::from_millis(20)); // "work"
        }
    }

    let report = dispatcher.shutdown_blocking(Duration::from_secs(5));
    let s = report.stats;
    println!(
        "fired {} delivered {} exhausted {} rejected {} dropped {} abandoned {}",
        s.fired,
        s.delivered,
        s.exhausted,
        s.rejected,
        s.dropped_at_capacity,
        s.abandoned_at_shutdown
    );
    Ok(())
}

/// Answers each HTTP/1.1 request on `conn` with 204 (reads headers + content-length body).
#[cfg(not(target_arch = "wasm32"))]
fn serve_204(mut conn: std::net::TcpStream) {
    use std::io::{Read, Write};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + 4 + len {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + 4 + len);
        if conn
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
