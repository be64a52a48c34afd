//! Native sign/verify throughput against `ring` and OpenSSL, in one run.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-bench cargo bench --bench native_sign_verify`
//! (`QUICK=1` for a short smoke run; see BENCHMARKS.md). Prints a Markdown table of
//! medians over interleaved rounds, ratios to ring and to OpenSSL's HMAC, and the targets
//! of issue 9 marked met or not. Not a test: nothing here asserts a time.
//!
//! Times are CPU time of the benchmarking thread (`CLOCK_THREAD_CPUTIME_ID`), because
//! `openssl speed` reports bytes per second of *user CPU time* too: on a loaded machine a
//! wall-clock time would count the waits for a CPU on our side only.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(unsafe_code)] // clock_gettime for CPU-time clocks
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use foreman_webhook::{sign, verify, Secret, Signature, Signer};

    use crate::common::{fmt_ns, machine, median, thread_cpu_ns, verdict};

    const SIZES: [usize; 4] = [256, 4096, 64 * 1024, 1024 * 1024];
    const NAMES: [&str; 5] = [
        "our sign",
        "our verify",
        "our sign, reused key",
        "our verify, reused key",
        "ring verify, reused key",
    ];

    /// Appends to `samples` the CPU nanoseconds per call of `f`, over a round of about
    /// `budget` (iteration count calibrated on wall time, then measured on CPU time).
    fn per_call(samples: &mut Vec<f64>, budget: Duration, mut f: impl FnMut()) {
        let mut iters = 1u64;
        loop {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            let el = t.elapsed();
            if el >= budget / 8 {
                let per = el.as_nanos() as f64 / iters as f64;
                let n = ((budget.as_nanos() as f64 / per) as u64).max(1);
                let cpu = thread_cpu_ns();
                for _ in 0..n {
                    f();
                }
                samples.push((thread_cpu_ns() - cpu) as f64 / n as f64);
                return;
            }
            iters *= 2;
        }
    }

    /// OpenSSL's HMAC-SHA256 (key set once, as `openssl speed` does) for `size`-byte
    /// messages: ns of user CPU time per call.
    fn openssl_hmac_ns(size: usize) -> Option<f64> {
        let out = Command::new("openssl")
            .args(["speed", "-hmac", "sha256", "-seconds", "1", "-mr", "-bytes"])
            .arg(size.to_string())
            .output()
            .ok()?;
        // `+F:<n>:hmac(sha256):<bytes per second>`
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("+F:"))?;
        let bps: f64 = line.rsplit(':').next()?.trim().parse().ok()?;
        Some(size as f64 / bps * 1e9)
    }

    fn size_name(size: usize) -> String {
        if size >= 1024 * 1024 {
            format!("{} MiB", size / (1024 * 1024))
        } else if size >= 1024 {
            format!("{} KiB", size / 1024)
        } else {
            format!("{size} B")
        }
    }

    pub fn main() {
        let quick = std::env::var_os("QUICK").is_some();
        let rounds = if quick { 5 } else { 21 };
        let budget = Duration::from_millis(if quick { 20 } else { 60 });
        let key = b"benchmark-secret-0123456789abcdef";
        let secret = Secret::new(key).unwrap();
        let signer = Signer::new(&secret);
        let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);

        // Profiling aid: `PROFILE=<size>` runs only the reused-key verify of a body of that
        // size for about 5 s (e.g. under `perf record`), no table.
        if let Some(size) = std::env::var("PROFILE")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            let body: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
            let parsed = signer.sign(&body);
            let (t, cpu, mut n) = (Instant::now(), thread_cpu_ns(), 0u64);
            while t.elapsed() < Duration::from_secs(5) {
                for _ in 0..1000 {
                    black_box(signer.verify_parsed(black_box(&body), &parsed).is_ok());
                }
                n += 1000;
            }
            println!(
                "reused-key verify of {size} B: {} CPU per call over {n} calls",
                fmt_ns((thread_cpu_ns() - cpu) as f64 / n as f64)
            );
            return;
        }
        println!("machine: {}", machine());
        println!();
        println!("| body | our sign | our verify | our verify, reused key | ring verify, reused key | OpenSSL HMAC, reused key | reused-key verify vs ring | reused-key verify vs OpenSSL | MB/s (reused-key verify) |");
        println!("|---|---|---|---|---|---|---|---|---|");
        let mut results = Vec::new();
        for size in SIZES {
            let body: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
            let header = sign(&body, &secret).to_string();
            let parsed: Signature = header.parse().unwrap();
            let tag = ring::hmac::sign(&ring_key, &body);
            assert_eq!(tag.as_ref(), parsed.as_bytes(), "ring and we agree");
            assert!(signer.verify_parsed(&body, &parsed).is_ok());
            let mut samples = vec![Vec::new(); NAMES.len()];
            let mut ossl = Vec::new();
            for r in 0..rounds {
                // Interleave, rotating which goes first; OpenSSL three times per size.
                if r % (rounds / 2).max(1) == 0 {
                    ossl.extend(openssl_hmac_ns(size));
                }
                for k in 0..NAMES.len() {
                    let which = (k + r) % NAMES.len();
                    let s = &mut samples[which];
                    match which {
                        0 => per_call(s, budget, || {
                            black_box(sign(black_box(&body), &secret));
                        }),
                        1 => per_call(s, budget, || {
                            black_box(verify(black_box(&body), &header, &secret).is_ok());
                        }),
                        2 => per_call(s, budget, || {
                            black_box(signer.sign(black_box(&body)));
                        }),
                        3 => per_call(s, budget, || {
                            black_box(signer.verify_parsed(black_box(&body), &parsed).is_ok());
                        }),
                        _ => per_call(s, budget, || {
                            black_box(
                                ring::hmac::verify(&ring_key, black_box(&body), tag.as_ref())
                                    .is_ok(),
                            );
                        }),
                    }
                }
            }
            let m: Vec<f64> = samples.iter_mut().map(|v| median(v)).collect();
            let ossl = (!ossl.is_empty()).then(|| median(&mut ossl));
            println!(
                "| {} | {} | {} | {} | {} | {} | {:.2}× | {} | {:.0} |",
                size_name(size),
                fmt_ns(m[0]),
                fmt_ns(m[1]),
                fmt_ns(m[3]),
                fmt_ns(m[4]),
                ossl.map_or("n/a (openssl missing)".into(), fmt_ns),
                m[4] / m[3],
                ossl.map_or("n/a".into(), |o| format!("{:.2}×", o / m[3])),
                size as f64 / m[3] * 1e3,
            );
            results.push((size, m, ossl));
        }
        println!();
        println!(
            "CPU time per call (thread CPU time; OpenSSL: user CPU time), medians of {rounds} \
             interleaved rounds; OpenSSL: median of {} `openssl speed -hmac sha256 -seconds 1 \
             -bytes N` runs during the rounds. Ratios > 1: ours is faster (peer time / our time). \
             Reused-key sign: {}.",
            (0..rounds).filter(|r| r % (rounds / 2).max(1) == 0).count(),
            results
                .iter()
                .map(|(s, m, _)| format!("{} {}", size_name(*s), fmt_ns(m[2])))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!();
        println!("| target | measured | verdict |");
        println!("|---|---|---|");
        let (_, m256, _) = &results[0];
        println!(
            "| reused-key verify of 256 B ≤ 300 ns | {} ({:.2}× the budget) | {} |",
            fmt_ns(m256[3]),
            300.0 / m256[3],
            verdict(m256[3] <= 300.0)
        );
        for (size, m, _) in &results {
            println!(
                "| reused-key verify of {} not slower than ring | {:.2}× ring's rate | {} |",
                size_name(*size),
                m[4] / m[3],
                // Ratios are shown to two decimals: 1.00× (≥ 0.995) counts as not slower.
                verdict(m[4] / m[3] >= 0.995)
            );
        }
        for (size, m, ossl) in results.iter().filter(|(s, _, _)| *s >= 64 * 1024) {
            match ossl {
                Some(o) => println!(
                    "| {} ≥ 0.95× OpenSSL's HMAC throughput | {:.2}× | {} |",
                    size_name(*size),
                    o / m[3],
                    verdict(o / m[3] >= 0.95)
                ),
                None => println!(
                    "| {} ≥ 0.95× OpenSSL's HMAC throughput | openssl not found | not measured |",
                    size_name(*size)
                ),
            }
        }
        println!();
        println!("load average after the run: {}", crate::common::load());
    }
}
