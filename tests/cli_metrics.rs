//! `relay --metrics-addr`: the built binary serves the delivery metrics in Prometheus text
//! format on 127.0.0.1; scraped and parsed here (a small independent parser of the text
//! exposition format), with no secret or signature in it.
#![cfg(all(feature = "prometheus", feature = "sqlite", unix))]

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{closed_port, Receiver, Reply, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_foreman-webhook");
const SECRET: &str = "cli-metrics-secret";

/// `GET /metrics` over a plain TCP connection; the body, or `None` while not listening.
fn scrape(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: text/plain; version=0.0.4"));
    Some(body.to_owned())
}

/// Samples `name{k="v",...} value` (comments skipped).
fn parse(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let value: f64 = value.parse().expect("number");
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}').expect("closing brace")),
            None => (series, ""),
        };
        let mut map = BTreeMap::new();
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once("=\"").expect("k=\"v\"");
            map.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
        }
        out.push((name.to_owned(), map, value));
    }
    out
}

fn value(
    samples: &[(String, BTreeMap<String, String>, f64)],
    name: &str,
    with: &[(&str, &str)],
) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[test]
fn relay_serves_prometheus_metrics() {
    let dir = TempDir::new("cli-metrics");
    let store = format!("sqlite:{}", dir.db().display());
    let rx = Receiver::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    let dead_url = format!("http://127.0.0.1:{}/gone", closed_port());
    for (url, job) in [(rx.url("/hook"), "job-ok"), (dead_url.clone(), "job-dead")] {
        let mut child = Command::new(BIN)
            .args(["send", "--store", &store, "--url", &url, "--secret", SECRET])
            .env_remove("FOREMAN_WEBHOOK_SECRET")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let body = format!("{{\"job_id\":\"{job}\",\"state\":\"failed\"}}");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
    let port = closed_port();
    let relay = Command::new(BIN)
        .args([
            "relay",
            "--store",
            &store,
            "--secret",
            SECRET,
            "--allow-private",
            "--base-delay-ms",
            "20",
            "--poll-ms",
            "50",
            "--max-retries",
            "1",
            "--json",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(40);
    let (text, samples) = loop {
        assert!(Instant::now() < deadline, "no complete metrics in time");
        std::thread::sleep(Duration::from_millis(200));
        let Some(text) = scrape(port) else { continue };
        let samples = parse(&text);
        let done = value(&samples, "webhook_deliveries_total", &[]) == 2.0
            && value(&samples, "webhook_dead_letters", &[]) == 1.0;
        if done {
            break (text, samples);
        }
    };
    let _ = Command::new("kill")
        .args(["-TERM", &relay.id().to_string()])
        .status();
    let out = relay.wait_with_output().unwrap();
    // The --json lines carry what each outcome carries: URL, last status or error, timings.
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ok = lines.iter().find(|l| l["job_id"] == "job-ok").unwrap();
    assert_eq!(ok["url"], rx.url("/hook"));
    assert_eq!(ok["last_status"], 200);
    assert!(ok["last_error"].is_null());
    assert_eq!(ok["durations_ms"].as_array().unwrap().len(), 2);
    let gone = lines.iter().find(|l| l["job_id"] == "job-dead").unwrap();
    assert_eq!(gone["url"], dead_url);
    assert!(gone["last_status"].is_null());
    assert_eq!(gone["last_error"], "transport");

    assert_eq!(
        value(
            &samples,
            "webhook_deliveries_total",
            &[("outcome", "delivered")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "webhook_deliveries_total",
            &[("outcome", "exhausted")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "webhook_attempts_total",
            &[("status_class", "5xx")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "webhook_attempts_total",
            &[("status_class", "2xx")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "webhook_attempts_total",
            &[("status_class", "error")]
        ),
        2.0
    );
    assert_eq!(value(&samples, "webhook_retries_total", &[]), 2.0);
    let port_label = rx.port().to_string();
    assert_eq!(
        value(
            &samples,
            "http_client_request_duration_seconds_count",
            &[
                ("server_port", port_label.as_str()),
                ("http_response_status_code", "200")
            ]
        ),
        1.0
    );
    assert_eq!(
        value(&samples, "http_client_request_duration_seconds_count", &[]),
        4.0
    );
    assert_eq!(value(&samples, "webhook_pending", &[]), 0.0);
    assert!(!text.contains(SECRET), "secret in metrics");
    for hit in rx.hits() {
        let sig = hit.header("x-foreman-signature").unwrap();
        assert!(
            !text.contains(sig.trim_start_matches("sha256=")),
            "signature in metrics"
        );
    }
    if std::env::var_os("SHOW_METRICS").is_some() {
        eprintln!("{text}");
    }
}
