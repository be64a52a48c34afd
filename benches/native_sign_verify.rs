//! Native sign/verify throughput against `ring` and OpenSSL, in one run.
//!
//! Run: `cargo bench --bench native_sign_verify` (see BENCHMARKS.md). Prints a Markdown
//! table of medians over interleaved rounds and ratios to ring and to OpenSSL's HMAC.
//! Not a test: nothing here asserts a time.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use foreman_webhook::{sign, verify, Secret, Signer};

    const SIZES: [usize; 4] = [256, 4096, 64 * 1024, 1024 * 1024];
    const ROUNDS: usize = 21;

    /// Median nanoseconds per call of `f`, each round running for about `budget`.
    fn per_call(rounds: &mut [Vec<f64>], idx: usize, budget: Duration, mut f: impl FnMut()) {
        // Calibrate the iteration count once per round so each round takes ~budget.
        let mut iters = 1u64;
        loop {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            let el = t.elapsed();
            if el >= budget / 4 {
                let per = el.as_nanos() as f64 / iters as f64;
                let n = ((budget.as_nanos() as f64 / per) as u64).max(1);
                let t = Instant::now();
                for _ in 0..n {
                    f();
                }
                rounds[idx].push(t.elapsed().as_nanos() as f64 / n as f64);
                return;
            }
            iters *= 2;
        }
    }

    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// OpenSSL's HMAC-SHA256 rate for `size`-byte messages, ns per call.
    fn openssl_hmac_ns(size: usize) -> Option<f64> {
        let out = Command::new("openssl")
            .args(["speed", "-hmac", "sha256", "-seconds", "2", "-mr", "-bytes"])
            .arg(size.to_string())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        // `+F:<n>:<name>:<bytes per second>`
        let line = text.lines().find(|l| l.starts_with("+F:"))?;
        let bps: f64 = line.rsplit(':').next()?.trim().parse().ok()?;
        Some(size as f64 / bps * 1e9)
    }

    pub fn main() {
        let key = b"benchmark-secret-0123456789abcdef";
        let secret = Secret::new(key).unwrap();
        let signer = Signer::new(&secret);
        let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
        let budget = Duration::from_millis(if std::env::var_os("QUICK").is_some() {
            20
        } else {
            60
        });

        println!("| body | our sign | our verify | our verify, reused key | ring verify, reused key | OpenSSL HMAC | verify (reused) vs ring | sign vs OpenSSL | MB/s (reused verify) |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for size in SIZES {
            let body: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
            let header = sign(&body, &secret).to_string();
            let parsed: foreman_webhook::Signature = header.parse().unwrap();
            let tag = ring::hmac::sign(&ring_key, &body);
            assert_eq!(tag.as_ref(), parsed.as_bytes(), "ring and we agree");
            let mut rounds = vec![Vec::new(); 4];
            for r in 0..ROUNDS {
                // Interleave, rotating which goes first.
                for k in 0..4 {
                    match (k + r) % 4 {
                        0 => per_call(&mut rounds, 0, budget, || {
                            black_box(sign(black_box(&body), &secret));
                        }),
                        1 => per_call(&mut rounds, 1, budget, || {
                            black_box(verify(black_box(&body), &header, &secret).is_ok());
                        }),
                        2 => per_call(&mut rounds, 2, budget, || {
                            black_box(signer.verify_parsed(black_box(&body), &parsed).is_ok());
                        }),
                        _ => per_call(&mut rounds, 3, budget, || {
                            black_box(
                                ring::hmac::verify(&ring_key, black_box(&body), tag.as_ref())
                                    .is_ok(),
                            );
                        }),
                    }
                }
            }
            let m: Vec<f64> = rounds.iter_mut().map(|v| median(v)).collect();
            let ossl = openssl_hmac_ns(size);
            let fmt = |ns: f64| {
                if ns < 10_000.0 {
                    format!("{ns:.0} ns")
                } else {
                    format!("{:.1} µs", ns / 1000.0)
                }
            };
            println!(
                "| {} | {} | {} | {} | {} | {} | {:.2}× | {} | {:.0} |",
                if size >= 1024 {
                    format!("{} KiB", size / 1024)
                } else {
                    format!("{size} B")
                },
                fmt(m[0]),
                fmt(m[1]),
                fmt(m[2]),
                fmt(m[3]),
                ossl.map_or("n/a".into(), fmt),
                m[3] / m[2],
                ossl.map_or("n/a".into(), |o| format!("{:.2}×", o / m[0])),
                size as f64 / m[2] * 1e3,
            );
        }
        println!("\nRatios > 1 mean ours is faster (peer time / our time). Medians of {ROUNDS} interleaved rounds.");
    }
}
