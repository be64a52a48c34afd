//! Chaos soak: the dispatcher against a misbehaving receiver on 127.0.0.1; every event is accounted for, every delivery verified, nothing secret in the logs.
//!
//! A raw-socket HTTP/1.1 receiver picks a fault for every request from a fixed-seed
//! generator (keyed by the request's `webhook-id` and how often that id arrived, so the
//! mix does not depend on scheduling): 2xx, 500/502/503 (503 also with `Retry-After`),
//! 429 without `Retry-After`, with seconds and with an HTTP date, 400/404/410, a 200 sent
//! after the dispatcher's timeout, connections reset before and after the request body
//! was read, a response head that never finishes, a body that never finishes (200 and
//! 500), a 64 MiB 200 body, an endless chunked 500 body, and 301/302/303/307/308 to
//! loopback canaries that must never be connected to. The receiver goes down twice
//! (listener closed, every connection reset, the same port re-bound later: once longer
//! than the whole retry schedule, once shorter), a burst overruns `max_pending`, a few
//! events go to forbidden or invalid URLs, and the dispatcher is shut down with a short
//! deadline while events are still being fired.
//!
//! The books: one outcome per `DeliveryId` and
//! `fired = delivered + exhausted + rejected + dropped + abandoned`; every received request
//! carries valid `X-Foreman-Signature` and Standard Webhooks signatures over exactly the
//! fired bytes; every delivered event was accepted by the receiver; an event accepted more than once (a duplicate) is legitimate
//! only after an ambiguous failure — an attempt the receiver accepted but the dispatcher
//! saw fail with a transport error or timeout (counted from its `webhook delivery failed`
//! log lines) — and duplicates are counted and printed. The captured `tracing` output
//! (every level down to DEBUG: all of the dispatcher's lines) must contain no secret and no
//! signature value, nor may the `Debug` output of the dispatcher and its report.
//!
//! Short variant (CI, debug build): 10 000 events with a compressed backoff (2 ms base,
//! 250 ms timeout). Long variant, with its numbers in TESTING.md ("Chaos soak"):
//!
//! ```sh
//! CHAOS_EVENTS=100000 cargo test --release --all-features --test chaos -- --nocapture
//! ```
//!
//! `CHAOS_SEED=<u64>` changes the fault mix (default 0x5EED_C4A0_5000_0001);
//! `CHAOS_VERBOSE=1` prints progress every 500 events; `CHAOS_LOG=<file>` saves the first
//! 4 MiB of the captured logs.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use foreman_webhook::native::{OutcomeKind, RejectReason, RetryPolicy, StaticResolver};
use foreman_webhook::standard::{Headers, StandardWebhook};
use foreman_webhook::{
    format_artifacts, verify, Artifact, Dispatcher, Event, Secret, Signer, Timestamp,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

const SECRET: &str = "chaos-foreman-secret-7f3a91";
const STD_SECRET: &str = "whsec_Q2hhb3NTb2FrU3RhbmRhcmRTZWNyZXQ0Mg==";
const DEFAULT_SEED: u64 = 0x5EED_C4A0_5000_0001;
/// The dispatcher's per-request timeout (compressed, as the backoff).
const TIMEOUT: Duration = Duration::from_millis(250);
const BASE_DELAY: Duration = Duration::from_millis(2);
const RETRY_AFTER_CAP: Duration = Duration::from_millis(100);
const MAX_PENDING: usize = 1_500;
const SHUTDOWN_DEADLINE: Duration = Duration::from_millis(200);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Event `i`, deterministic (the receiver rebuilds it to compare bytes): varied states,
/// unicode, errors, inline artifacts from empty to 60 KiB.
fn make_event(i: u64) -> Event {
    const STATES: [&str; 5] = ["queued", "running", "succeeded", "failed", "cancelled"];
    let mut e = Event::new(
        format!("job-{i:07}"),
        STATES[(i % 5) as usize],
        Timestamp::from_unix_seconds(1_764_338_400 + i as i64).unwrap(),
    );
    e.previous_state = STATES[((i + 4) % 5) as usize].into();
    e.model = if i.is_multiple_of(3) {
        "llama-3-8b"
    } else {
        "mistral-7b-ü"
    }
    .into();
    e.attempt = (i % 4) as i64;
    if i % 7 == 3 {
        e.error = Some(format!("exit \"{i}\" — ошибка\n\t<end>"));
    }
    let size = match i {
        _ if i.is_multiple_of(97) => 60 * 1024,
        _ if i.is_multiple_of(11) => (i % 9000) as usize,
        _ => 0,
    };
    if size > 0 || i.is_multiple_of(13) {
        let text = "abcdefghijklmnopqrstuvwxyz".repeat(size / 26 + 1)[..size].to_owned();
        e.artifacts = format_artifacts(
            &e.job_id,
            &[
                Artifact::inline("log.txt", "text/plain", text.as_bytes()),
                Artifact::reference("weights.bin", "application/octet-stream", 5 << 30),
            ],
        );
    }
    e
}

// ---------------------------------------------------------------------------------------
// The misbehaving receiver.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    /// 200/201/202/204.
    Ok,
    /// 500/502/503, and 503 with `Retry-After: 0`.
    ServerError,
    /// 429 without `Retry-After`.
    TooMany,
    /// 429 with `Retry-After: 1` (seconds; capped by the policy).
    TooManySeconds,
    /// 429 with an HTTP-date `Retry-After` (2 s ahead, or in the past).
    TooManyDate,
    /// 400/404/410.
    ClientError,
    /// Reads the body, answers 200 after the dispatcher's timeout. Ambiguous.
    Slow,
    /// Reads the head only, then resets the connection.
    ResetBeforeBody,
    /// Reads the whole request, then resets the connection. Ambiguous.
    ResetAfterBody,
    /// Reads the body, sends part of a 200 head, then nothing. Ambiguous.
    StallHead,
    /// A 200 head with Content-Length 1000, 10 bytes of body, then nothing.
    StallBody,
    /// The same with 500.
    StallBody500,
    /// 200 with a 64 MiB body.
    Huge200,
    /// 500 with an endless chunked body.
    Endless500,
    /// 301/302/303/307/308 to a loopback canary.
    Redirect,
}

impl Fault {
    /// The receiver processed the event (and meant to acknowledge it).
    fn accepted(self) -> bool {
        matches!(
            self,
            Fault::Ok
                | Fault::Slow
                | Fault::ResetAfterBody
                | Fault::StallHead
                | Fault::StallBody
                | Fault::Huge200
        )
    }

    /// Accepted, but the dispatcher cannot see the acknowledgement.
    fn ambiguous(self) -> bool {
        matches!(self, Fault::Slow | Fault::ResetAfterBody | Fault::StallHead)
    }

    /// Per-mille weights of the mix.
    const WEIGHTS: [(Fault, u64); 15] = [
        (Fault::Ok, 590),
        (Fault::ServerError, 100),
        (Fault::TooMany, 25),
        (Fault::TooManySeconds, 25),
        (Fault::TooManyDate, 25),
        (Fault::ClientError, 20),
        (Fault::Slow, 25),
        (Fault::ResetBeforeBody, 40),
        (Fault::ResetAfterBody, 40),
        (Fault::StallHead, 15),
        (Fault::StallBody, 15),
        (Fault::StallBody500, 10),
        (Fault::Huge200, 15),
        (Fault::Endless500, 15),
        (Fault::Redirect, 40),
    ];

    fn pick(roll: u64) -> Fault {
        let mut r = roll % 1000;
        for (f, w) in Self::WEIGHTS {
            if r < w {
                return f;
            }
            r -= w;
        }
        Fault::Ok
    }
}

#[derive(Default)]
struct Rec {
    receipts: u32,
    accepted: u32,
    ambiguous: u32,
    faults: Vec<Fault>,
}

/// When a `Retry-After` was sent (monotonic, and wall-clock to compare with the logs).
type Sent = (Instant, SystemTime);

/// What the receiver saw.
struct Books {
    seed: u64,
    secret: Secret,
    standard: StandardWebhook,
    redirect_targets: Vec<String>,
    /// SHA-256 of each fired body, by event index (recorded before `fire`).
    fired: Mutex<Vec<[u8; 32]>>,
    /// Per `webhook-id`: arrivals so far, and when the last `Retry-After` (as capped by
    /// the policy) was sent.
    arrivals: Mutex<HashMap<String, (u32, Option<Sent>)>>,
    /// Arrivals sooner than a `Retry-After` sent for that event allowed: (event index,
    /// when the `Retry-After` was sent, when the next attempt arrived). Judged against the
    /// dispatcher's logs at the end: a violation only if it saw that 429.
    early_retries: Mutex<Vec<(usize, SystemTime, SystemTime)>>,
    /// Arrivals after a `Retry-After`, and the shortest gap seen.
    after_retry_after: AtomicU64,
    min_retry_after_gap_us: AtomicU64,
    /// The most response-body bytes written before the dispatcher hung up.
    max_body_written: AtomicU64,
    /// When a stalled-body head was written, by `webhook-id`.
    stall_written: Mutex<HashMap<String, Instant>>,
    events: Mutex<Vec<Rec>>,
    faults: Mutex<BTreeMap<Fault, u64>>,
    connections: AtomicU64,
    requests: AtomicU64,
    bad_foreman_sig: AtomicU64,
    bad_standard_sig: AtomicU64,
    missing_sig: AtomicU64,
    body_mismatch: AtomicU64,
    unparsable: AtomicU64,
    /// A sample of the signature header values seen (checked against the logs).
    sig_sample: Mutex<Vec<String>>,
    max_ok_latency_us: AtomicU64,
}

struct Head {
    content_length: usize,
    headers: HashMap<String, String>,
}

fn parse_head(raw: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(raw).ok()?;
    let mut lines = text.split("\r\n");
    let request_line = lines.next()?;
    if !request_line.starts_with("POST ") {
        return None;
    }
    let mut headers = HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let content_length = headers.get("content-length")?.parse().ok()?;
    Some(Head {
        content_length,
        headers,
    })
}

impl Books {
    fn decide(&self, head: &Head) -> (Fault, u64) {
        let Some(id) = head.headers.get("webhook-id") else {
            return (Fault::Ok, 0);
        };
        let n = {
            let mut arrivals = lock(&self.arrivals);
            let (n, retry_after) = arrivals.entry(id.clone()).or_insert((0, None));
            *n += 1;
            if let Some((sent, sent_wall)) = retry_after.take() {
                let gap = sent.elapsed();
                self.after_retry_after.fetch_add(1, Ordering::Relaxed);
                self.min_retry_after_gap_us
                    .fetch_min(gap.as_micros() as u64, Ordering::Relaxed);
                // The timer wheel has millisecond resolution.
                if gap + Duration::from_millis(2) < RETRY_AFTER_CAP {
                    // `msg_` + 16 hex digits of the dispatcher + 16 of the delivery id (i + 1).
                    let index = id
                        .get(20..)
                        .and_then(|h| u64::from_str_radix(h, 16).ok())
                        .map_or(usize::MAX, |delivery| delivery as usize - 1);
                    lock(&self.early_retries).push((index, sent_wall, SystemTime::now()));
                }
            }
            *n
        };
        // The id's first 20 characters are random per dispatcher: key on the event number.
        let key = id.get(20..).unwrap_or(id);
        let mut state = self.seed ^ fnv1a(key.as_bytes()) ^ u64::from(n).rotate_left(32);
        let roll = splitmix64(&mut state);
        let fault = Fault::pick(roll);
        *lock(&self.faults).entry(fault).or_insert(0) += 1;
        (fault, splitmix64(&mut state))
    }

    /// Notes that a `Retry-After` at least as long as the policy's cap was just sent.
    fn retry_after_sent(&self, head: &Head) {
        if let Some(id) = head.headers.get("webhook-id") {
            if let Some(entry) = lock(&self.arrivals).get_mut(id) {
                entry.1 = Some((Instant::now(), SystemTime::now()));
            }
        }
    }

    fn receipt(&self, head: &Head, body: &[u8], fault: Fault) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        // `make_event` puts `job_id` first: `{"job_id":"job-0001234",...`.
        let Some(index) = body
            .get(br#"{"job_id":"job-"#.len()..)
            .and_then(|rest| rest.get(..7))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<usize>().ok())
        else {
            self.unparsable.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let fired = lock(&self.fired).get(index).copied();
        if fired != Some(digest(body)) {
            self.body_mismatch.fetch_add(1, Ordering::Relaxed);
        }
        let h = |name: &str| head.headers.get(name).map(String::as_str);
        match h("x-foreman-signature") {
            Some(sig) => {
                if verify(body, sig, &self.secret).is_err() {
                    self.bad_foreman_sig.fetch_add(1, Ordering::Relaxed);
                }
                let mut sample = lock(&self.sig_sample);
                if sample.len() < 64 {
                    sample.push(sig.to_owned());
                    if let Some(s) = h("webhook-signature") {
                        sample.push(s.to_owned());
                    }
                }
            }
            None => {
                self.missing_sig.fetch_add(1, Ordering::Relaxed);
            }
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let std_headers = Headers::from_fn(h);
        if self.standard.verify(&std_headers, body, now).is_err() {
            self.bad_standard_sig.fetch_add(1, Ordering::Relaxed);
        }
        let mut events = lock(&self.events);
        if events.len() <= index {
            events.resize_with(index + 1, Rec::default);
        }
        let rec = &mut events[index];
        rec.receipts += 1;
        rec.faults.push(fault);
        if fault.accepted() {
            rec.accepted += 1;
            if fault.ambiguous() {
                rec.ambiguous += 1;
            }
        }
    }
}

fn digest(body: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    let mut out = [0; 32];
    out.copy_from_slice(&sha2::Sha256::digest(body));
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.reserve(16 * 1024);
    s.read_buf(buf).await
}

/// Reads until the peer closes (or 30 s pass).
async fn wait_for_close(s: &mut TcpStream) {
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(n) = s.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

async fn write_forever(s: &mut TcpStream, chunked: bool, limit: usize, books: &Books) {
    let chunk = vec![b'z'; 16 * 1024];
    let mut sent = 0;
    while sent < limit {
        let r = if chunked {
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            s.write_all(&framed).await
        } else {
            s.write_all(&chunk).await
        };
        if r.is_err() {
            break;
        }
        sent += chunk.len();
    }
    books
        .max_body_written
        .fetch_max(sent as u64, Ordering::Relaxed);
}

fn response(status: u16, extra: &str, body: &str) -> Vec<u8> {
    let (length, body) = if status == 204 {
        (String::new(), "") // no body, no length
    } else {
        (format!("content-length: {}\r\n", body.len()), body)
    };
    format!("HTTP/1.1 {status} chaos\r\n{length}{extra}\r\n{body}").into_bytes()
}

enum After {
    KeepAlive,
    Close,
    Reset,
}

/// Serves one request on a kept-alive connection.
async fn handle_one(s: &mut TcpStream, buf: &mut Vec<u8>, books: &Books) -> io::Result<After> {
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 64 * 1024 || read_more(s, buf).await? == 0 {
            return Ok(After::Close);
        }
    };
    let Some(head) = parse_head(&buf[..head_end]) else {
        s.write_all(&response(400, "connection: close\r\n", ""))
            .await?;
        return Ok(After::Close);
    };
    buf.drain(..head_end);
    let started = Instant::now();
    let (fault, roll) = books.decide(&head);
    if fault == Fault::ResetBeforeBody {
        return Ok(After::Reset);
    }
    while buf.len() < head.content_length {
        if read_more(s, buf).await? == 0 {
            return Ok(After::Close);
        }
    }
    let body: Vec<u8> = buf.drain(..head.content_length).collect();
    books.receipt(&head, &body, fault);
    let head_id = head.headers.get("webhook-id").cloned();
    let pick = |options: &[u16]| options[(roll % options.len() as u64) as usize];
    match fault {
        Fault::Ok => {
            s.write_all(&response(pick(&[200, 201, 202, 204]), "", "ok"))
                .await?;
            let us = started.elapsed().as_micros() as u64;
            books.max_ok_latency_us.fetch_max(us, Ordering::Relaxed);
        }
        Fault::ServerError => {
            let status = pick(&[500, 502, 503, 503]);
            let extra = if status == 503 && roll % 8 < 4 {
                "retry-after: 0\r\n"
            } else {
                ""
            };
            s.write_all(&response(status, extra, "unavailable")).await?;
        }
        Fault::TooMany => s.write_all(&response(429, "", "slow down")).await?,
        Fault::TooManySeconds => {
            s.write_all(&response(429, "retry-after: 1\r\n", ""))
                .await?;
            books.retry_after_sent(&head);
        }
        Fault::TooManyDate => {
            let at = if roll.is_multiple_of(2) {
                SystemTime::now() + Duration::from_secs(2)
            } else {
                SystemTime::now() - Duration::from_secs(3600)
            };
            let extra = format!("retry-after: {}\r\n", httpdate::fmt_http_date(at));
            s.write_all(&response(429, &extra, "")).await?;
            if roll.is_multiple_of(2) {
                books.retry_after_sent(&head);
            }
        }
        Fault::ClientError => {
            s.write_all(&response(pick(&[400, 404, 410]), "", "no"))
                .await?;
        }
        Fault::Slow => {
            tokio::time::sleep(TIMEOUT + Duration::from_millis(150)).await;
            let _ = s.write_all(&response(200, "", "late")).await;
            return Ok(After::Close);
        }
        Fault::ResetBeforeBody => unreachable!(),
        Fault::ResetAfterBody => return Ok(After::Reset),
        Fault::StallHead => {
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-le").await?;
            wait_for_close(s).await;
            return Ok(After::Close);
        }
        Fault::StallBody | Fault::StallBody500 => {
            let status = if fault == Fault::StallBody { 200 } else { 500 };
            let head = format!("HTTP/1.1 {status} stall\r\ncontent-length: 1000\r\n\r\n0123456789");
            s.write_all(head.as_bytes()).await?;
            if let Some(id) = head_id {
                lock(&books.stall_written).insert(id, Instant::now());
            }
            wait_for_close(s).await;
            return Ok(After::Close);
        }
        Fault::Huge200 => {
            let size = 64 << 20;
            let head = format!("HTTP/1.1 200 huge\r\ncontent-length: {size}\r\n\r\n");
            s.write_all(head.as_bytes()).await?;
            write_forever(s, false, size, books).await;
            return Ok(After::Close);
        }
        Fault::Endless500 => {
            s.write_all(b"HTTP/1.1 500 endless\r\ntransfer-encoding: chunked\r\n\r\n")
                .await?;
            write_forever(s, true, 1 << 30, books).await;
            return Ok(After::Close);
        }
        Fault::Redirect => {
            let status = pick(&[301, 302, 303, 307, 308]);
            let targets = &books.redirect_targets;
            let to = &targets[(roll >> 8) as usize % targets.len()];
            s.write_all(&response(status, &format!("location: {to}\r\n"), ""))
                .await?;
        }
    }
    Ok(After::KeepAlive)
}

async fn serve(mut s: TcpStream, books: Arc<Books>, mut down: watch::Receiver<bool>) {
    let mut buf = Vec::new();
    loop {
        let next = tokio::select! {
            r = handle_one(&mut s, &mut buf, &books) => r.unwrap_or(After::Close),
            _ = down.wait_for(|d| *d) => After::Reset,
        };
        match next {
            After::KeepAlive => continue,
            After::Close => return,
            After::Reset => {
                let _ = s.set_zero_linger(); // close sends RST
                return;
            }
        }
    }
}

/// A socket bound to `addr` (address reuse on) and not listening: the port stays ours,
/// and connection attempts are refused.
fn bind_reserved(addr: SocketAddr) -> TcpSocket {
    for _ in 0..200 {
        let s = TcpSocket::new_v4().unwrap();
        s.set_reuseaddr(true).unwrap();
        if s.bind(addr).is_ok() {
            return s;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("could not re-bind {addr}");
}

async fn run_listener(addr: SocketAddr, books: Arc<Books>, mut ctl: watch::Receiver<bool>) {
    let mut socket = bind_reserved(addr);
    loop {
        let _ = ctl.wait_for(|down| !*down).await;
        let listener = socket.listen(1024).unwrap();
        let conn_ctl = ctl.clone();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((s, _)) = accepted {
                        books.connections.fetch_add(1, Ordering::Relaxed);
                        tokio::spawn(serve(s, Arc::clone(&books), conn_ctl.clone()));
                    }
                }
                _ = ctl.wait_for(|down| *down) => break,
            }
        }
        drop(listener); // closed: connections are refused until the port listens again
        socket = bind_reserved(addr);
    }
}

struct ChaosReceiver {
    addr: SocketAddr,
    books: Arc<Books>,
    ctl: watch::Sender<bool>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ChaosReceiver {
    fn start(books: Books) -> Self {
        let books = Arc::new(books);
        let probe = StdListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        let (ctl, ctl_rx) = watch::channel(false);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let b = Arc::clone(&books);
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("chaos-receiver".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listen = tokio::spawn(run_listener(addr, b, ctl_rx));
                    ready_tx.send(()).unwrap();
                    let _ = stopped.await;
                    listen.abort();
                });
            })
            .unwrap();
        ready.recv().unwrap();
        // Wait until the port accepts connections.
        for _ in 0..500 {
            if std::net::TcpStream::connect(addr).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        books.connections.store(0, Ordering::Relaxed);
        Self {
            addr,
            books,
            ctl,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn set_down(&self, down: bool) {
        self.ctl.send_replace(down);
    }
}

impl Drop for ChaosReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback listener nothing should ever connect to; counts what reached its backlog.
struct Canary(StdListener);

impl Canary {
    fn bind(addr: &str) -> Option<Self> {
        let l = StdListener::bind(addr).ok()?;
        l.set_nonblocking(true).unwrap();
        Some(Self(l))
    }
    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }
    fn connections(&self) -> usize {
        std::iter::from_fn(|| self.0.accept().ok()).count()
    }
}

// ---------------------------------------------------------------------------------------
// Log capture: scanned line by line (not kept whole, so the long run measures the
// dispatcher's memory, not the logs').

#[derive(Default)]
struct LogBooks {
    partial: Vec<u8>,
    lines: u64,
    bytes: u64,
    /// `webhook delivery failed` (transport error or timeout) lines per job id.
    transport_failures: HashMap<String, u32>,
    /// When the dispatcher logged a transport failure (`true`) or a 429 (`false`), by job.
    failure_times: HashMap<String, Vec<(SystemTime, bool)>>,
    /// By message.
    messages: BTreeMap<String, u64>,
    /// Lines with a secret, a 64-hex-digit run or a Standard signature shape.
    leaks: Vec<String>,
    /// The first 4 MiB, for the exact check against sampled signature values.
    head: String,
}

const MESSAGES: [&str; 8] = [
    "webhook delivery failed",
    "webhook non-2xx response",
    "webhook delivered",
    "webhook delivery exhausted retries",
    "webhook destination refused",
    "webhook request creation failed",
    "webhook dropped: pending deliveries at capacity",
    "webhook abandoned at shutdown",
];

fn secret_needles() -> Vec<String> {
    use base64::Engine as _;
    let std_b64 = STD_SECRET.trim_start_matches("whsec_").to_owned();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&std_b64)
        .unwrap();
    vec![
        SECRET.to_owned(),
        hex::encode(SECRET),
        base64::engine::general_purpose::STANDARD.encode(SECRET),
        std_b64,
        String::from_utf8_lossy(&raw).into_owned(),
        hex::encode(&raw),
    ]
}

/// A run of 64+ hex digits (a `sha256=` signature) or a 43-character base64 run followed
/// by `=` (a `v1,` signature).
fn looks_like_signature(line: &str) -> bool {
    let b = line.as_bytes();
    let mut hex_run = 0;
    for &c in b {
        hex_run = if c.is_ascii_hexdigit() {
            hex_run + 1
        } else {
            0
        };
        if hex_run >= 64 {
            return true;
        }
    }
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let mut run = 0;
    for &c in b {
        if c == b'=' && run >= 43 {
            return true;
        }
        run = if is_b64(c) { run + 1 } else { 0 };
    }
    line.contains("sha256=") || line.contains("v1,")
}

impl LogBooks {
    fn line(&mut self, line: &str, needles: &[String]) {
        self.lines += 1;
        self.bytes += line.len() as u64 + 1;
        if self.head.len() < 4 << 20 {
            self.head.push_str(line);
            self.head.push('\n');
        }
        if needles.iter().any(|n| line.contains(n.as_str())) || looks_like_signature(line) {
            self.leaks.push(line.to_owned());
        }
        if let Some(m) = MESSAGES.iter().find(|m| line.contains(*m)) {
            *self.messages.entry((*m).to_owned()).or_insert(0) += 1;
            let transport = *m == "webhook delivery failed";
            let throttled = *m == "webhook non-2xx response" && line.contains(" status=429 ");
            let job = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("job_id="));
            if let (Some(job), true) = (job, transport || throttled) {
                if transport {
                    *self.transport_failures.entry(job.to_owned()).or_insert(0) += 1;
                }
                let at = line.split_whitespace().next().and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                });
                if let Some(at) = at {
                    self.failure_times
                        .entry(job.to_owned())
                        .or_default()
                        .push((SystemTime::from(at), transport));
                }
            }
        }
    }
}

#[derive(Clone)]
struct Capture {
    books: Arc<Mutex<LogBooks>>,
    needles: Arc<Vec<String>>,
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut books = lock(&self.books);
        books.partial.extend_from_slice(buf);
        while let Some(p) = books.partial.iter().position(|&c| c == b'\n') {
            let line: Vec<u8> = books.partial.drain(..=p).collect();
            let line = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            books.line(&line, &self.needles);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Seen {
    kind: OutcomeKind,
    attempts: u32,
}

#[test]
fn chaos_soak_books_balance_deliveries_verify_logs_stay_clean() {
    let n: u64 = std::env::var("CHAOS_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SEED);

    let logs = Capture {
        books: Arc::default(),
        needles: Arc::new(secret_needles()),
    };
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG) // every line of ours; hyper's TRACE is noise
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    // Canaries: redirect targets and forbidden destinations, all on loopback.
    let canary = Canary::bind("127.0.0.2:0").expect("127.0.0.2 is loopback on Linux");
    let canary_local = Canary::bind("127.0.0.1:0").unwrap();
    let canary6 = Canary::bind("[::1]:0");
    let mut redirect_targets = vec![
        format!("http://127.0.0.2:{}/redirected", canary.port()),
        format!("http://forbidden.chaos.test:{}/redirected", canary.port()),
        format!("http://127.0.0.1:{}/redirected", canary_local.port()),
        format!("http://localhost:{}/redirected", canary_local.port()),
    ];
    if let Some(c6) = &canary6 {
        redirect_targets.push(format!("http://[::1]:{}/redirected", c6.port()));
    }

    let secret = Secret::new(SECRET).unwrap();
    let std_secret = Secret::from_standard(STD_SECRET).unwrap();
    let rx = ChaosReceiver::start(Books {
        seed,
        secret: secret.clone(),
        standard: StandardWebhook::new(std::slice::from_ref(&std_secret)).unwrap(),
        redirect_targets,
        fired: Mutex::new(Vec::with_capacity(n as usize)),
        arrivals: Mutex::default(),
        early_retries: Mutex::default(),
        after_retry_after: AtomicU64::new(0),
        min_retry_after_gap_us: AtomicU64::new(u64::MAX),
        max_body_written: AtomicU64::new(0),
        stall_written: Mutex::default(),
        events: Mutex::new(Vec::with_capacity(n as usize)),
        faults: Mutex::default(),
        connections: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        bad_foreman_sig: AtomicU64::new(0),
        bad_standard_sig: AtomicU64::new(0),
        missing_sig: AtomicU64::new(0),
        body_mismatch: AtomicU64::new(0),
        unparsable: AtomicU64::new(0),
        sig_sample: Mutex::default(),
        max_ok_latency_us: AtomicU64::new(0),
    });

    let seen: Arc<Mutex<Vec<Option<Seen>>>> = Arc::new(Mutex::new(vec![None; n as usize + 1]));
    let second_outcomes = Arc::new(AtomicU64::new(0));
    let outcome_count = Arc::new(AtomicU64::new(0));
    let (s2, d2, c2) = (seen.clone(), second_outcomes.clone(), outcome_count.clone());
    let resolver = StaticResolver::new()
        .with("hooks.chaos.test", ["127.0.0.1".parse().unwrap()])
        .with("forbidden.chaos.test", ["127.0.0.2".parse().unwrap()]);
    let builder = Dispatcher::builder()
        .secret(secret.clone())
        .standard_webhooks(std::slice::from_ref(&std_secret))
        .allow_cidr("127.0.0.1/32")
        .resolver(resolver)
        .retry_policy(
            RetryPolicy::default()
                .with_base_delay(BASE_DELAY)
                .with_retry_after_cap(RETRY_AFTER_CAP),
        )
        .timeout(TIMEOUT)
        .max_pending(MAX_PENDING)
        .max_concurrency(128)
        .max_per_host(64)
        .on_outcome(move |o| {
            c2.fetch_add(1, Ordering::Relaxed);
            let mut seen = lock(&s2);
            match seen.get_mut(o.id.get() as usize) {
                Some(slot @ None) => {
                    *slot = Some(Seen {
                        kind: o.kind,
                        attempts: o.attempts,
                    })
                }
                _ => {
                    d2.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    let builder_debug = format!("{builder:?}");
    let d = builder.build().unwrap();

    // The script, by event index.
    let down_long = (n / 4, Duration::from_millis(300)); // longer than the 62 ms schedule
    let down_short = (n * 3 / 5, Duration::from_millis(30));
    let burst_at = n * 9 / 20; // fire MAX_PENDING + 300 back to back
    let shutdown_at = n * 97 / 100;
    let by_name = format!("http://hooks.chaos.test:{}", rx.addr.port());
    let by_literal = format!("http://{}", rx.addr);
    let mut forbidden = vec![
        format!("http://127.0.0.2:{}/x", canary.port()),
        format!("http://2130706434:{}/x", canary.port()), // 127.0.0.2
        format!("http://forbidden.chaos.test:{}/x", canary.port()),
        "ftp://127.0.0.1/x".to_owned(),
        "not a url".to_owned(),
    ];
    if let Some(c6) = &canary6 {
        forbidden.push(format!("http://[::1]:{}/x", c6.port()));
    }
    let verbose = std::env::var_os("CHAOS_VERBOSE").is_some();
    let mut rng = seed ^ 0xF1_4E;
    let mut down_until: Option<Instant> = None;
    let mut fired_forbidden = 0u64;
    let mut forbidden_ids = vec![false; n as usize + 1];
    let mut shutdown = None;
    let mut shutdown_started = None;
    let mut bodies_bytes = 0u64;
    let t0 = Instant::now();
    let mut fire_time = Duration::ZERO;
    for i in 0..n {
        if i == down_long.0 || i == down_short.0 {
            let dur = if i == down_long.0 {
                down_long.1
            } else {
                down_short.1
            };
            rx.set_down(true);
            down_until = Some(Instant::now() + dur);
        }
        if verbose && i % 500 == 0 {
            let s = d.stats();
            eprintln!(
                "{:>6.2} s  i={i} pending={} in_flight={} attempts={} delivered={}",
                t0.elapsed().as_secs_f64(),
                s.pending,
                s.in_flight,
                s.attempts,
                s.delivered
            );
        }
        let in_burst = (burst_at..burst_at + MAX_PENDING as u64 + 300).contains(&i);
        // Pace by backlog (not during the burst), and bring the receiver back on time.
        loop {
            if down_until.is_some_and(|t| Instant::now() >= t) {
                rx.set_down(false);
                down_until = None;
            }
            if in_burst || shutdown.is_some() || d.stats().pending < MAX_PENDING as u64 * 3 / 4 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if i == shutdown_at {
            shutdown_started = Some(Instant::now());
            let d2 = d.clone();
            shutdown = Some(std::thread::spawn(move || {
                d2.shutdown_blocking(SHUTDOWN_DEADLINE)
            }));
        }
        let roll = splitmix64(&mut rng);
        let event = make_event(i);
        let body = event.to_json();
        bodies_bytes += body.len() as u64;
        lock(&rx.books.fired).push(digest(&body));
        let url = if roll.is_multiple_of(200) {
            fired_forbidden += 1;
            forbidden_ids[i as usize + 1] = true;
            forbidden[(roll >> 8) as usize % forbidden.len()].clone()
        } else if roll.is_multiple_of(2) {
            format!("{by_name}/hook/{i}")
        } else {
            format!("{by_literal}/hook/{i}")
        };
        let t = Instant::now();
        let id = d.fire(&url, &event);
        fire_time += t.elapsed();
        assert_eq!(id.get(), i + 1, "ids are handed out in order");
    }
    rx.set_down(false);
    let report = shutdown
        .expect("shutdown began")
        .join()
        .expect("shutdown thread");
    // Every outcome has been emitted once the report is back and every fire returned;
    // allow the callback a moment anyway.
    let wait = Instant::now();
    while outcome_count.load(Ordering::Relaxed) < n && wait.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = t0.elapsed();
    let stats = d.stats();
    let dispatcher_debug = format!("{builder_debug} {d:?} {report:?}");
    drop(d);
    let books = Arc::clone(&rx.books);
    drop(rx);

    // ---- The books.
    let seen = lock(&seen);
    let mut tally: BTreeMap<&str, u64> = BTreeMap::new();
    let mut missing = vec![];
    for (id, s) in seen.iter().enumerate().skip(1) {
        match s {
            None => missing.push(id),
            Some(s) => {
                let k = match s.kind {
                    OutcomeKind::Delivered { .. } => "delivered",
                    OutcomeKind::Exhausted => "exhausted",
                    OutcomeKind::Rejected(_) => "rejected",
                    OutcomeKind::DroppedAtCapacity => "dropped_at_capacity",
                    OutcomeKind::AbandonedAtShutdown => "abandoned_at_shutdown",
                    _ => "other",
                };
                *tally.entry(k).or_insert(0) += 1;
            }
        }
    }
    let t = |k: &str| tally.get(k).copied().unwrap_or(0);
    let events = lock(&books.events);
    let log = lock(&logs.books);
    let rec = |i: usize| events.get(i);

    // Duplicates: an event the receiver accepted more than once.
    let mut duplicates = vec![];
    let mut unexplained = vec![];
    let mut delivered_unreceived = vec![];
    let mut ambiguous_events = 0u64;
    let mut abandoned_after_2xx = 0u64;
    for i in 0..n as usize {
        let Some(s) = seen[i + 1] else { continue };
        let accepted = rec(i).map_or(0, |r| r.accepted);
        let job = format!("job-{i:07}");
        let transport = log.transport_failures.get(&job).copied().unwrap_or(0);
        let delivered = matches!(s.kind, OutcomeKind::Delivered { .. });
        let abandoned = s.kind == OutcomeKind::AbandonedAtShutdown;
        if abandoned
            && rec(i)
                .and_then(|r| r.faults.last())
                .is_some_and(|f| *f == Fault::StallBody)
        {
            // A 2xx head was sent; the dispatcher abandoned the event anyway: legitimate
            // only when the head lost a race with the deadline (it was written after it).
            abandoned_after_2xx += 1;
            if verbose {
                let suffix = format!("{:016x}", i + 1);
                let arrivals = lock(&books.arrivals)
                    .iter()
                    .find(|(k, _)| k.ends_with(&suffix))
                    .map(|(_, v)| v.0);
                let written = lock(&books.stall_written)
                    .iter()
                    .find(|(k, _)| k.ends_with(&suffix))
                    .map(|(_, at)| *at);
                let before_deadline = shutdown_started
                    .zip(written)
                    .map(|(s, w)| (s + SHUTDOWN_DEADLINE).checked_duration_since(w));
                eprintln!(
                    "  abandoned after a stalled 2xx: {job}: {} attempts, {arrivals:?} arrivals, faults {:?}, head written {before_deadline:?} before the deadline",
                    s.attempts,
                    rec(i).map(|r| r.faults.clone())
                );
            }
        }
        if delivered && accepted == 0 {
            delivered_unreceived.push(job.clone());
        }
        if rec(i).is_some_and(|r| r.ambiguous > 0) {
            ambiguous_events += 1;
        }
        // Each accepted receipt is one attempt that either the dispatcher saw succeed (at
        // most one, the delivery), saw fail with a transport error or timeout (ambiguous),
        // or cut short at the shutdown deadline.
        if accepted > transport + u32::from(delivered) + u32::from(abandoned) {
            unexplained.push(format!(
                "{job}: accepted {accepted}, transport failures {transport}, {:?}, faults {:?}",
                s.kind,
                rec(i).map(|r| r.faults.clone())
            ));
        }
        if accepted > 1 {
            duplicates.push(format!(
                "{job}: received {accepted}x (faults {:?}; {} attempts, {:?}; {transport} transport failures seen by the dispatcher)",
                rec(i).map(|r| r.faults.clone()).unwrap_or_default(),
                s.attempts,
                s.kind
            ));
        }
    }
    let duplicate_receipts: u64 = events
        .iter()
        .map(|r| u64::from(r.accepted.saturating_sub(1)))
        .sum();

    // ---- Print.
    let rss = peak_rss_kib();
    let faults = lock(&books.faults);
    eprintln!(
        "chaos soak: {n} events (seed {seed:#x}) in {:.2} s: {:.0} events/s; fire {:.1} µs each; {:.1} MB of bodies; peak RSS (VmHWM) {} KiB",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        fire_time.as_secs_f64() * 1e6 / n as f64,
        bodies_bytes as f64 / 1e6,
        rss.map_or("?".into(), |k| k.to_string()),
    );
    eprintln!("| outcome | events |\n|---|---|");
    for k in [
        "delivered",
        "exhausted",
        "rejected",
        "dropped_at_capacity",
        "abandoned_at_shutdown",
    ] {
        eprintln!("| {k} | {} |", t(k));
    }
    eprintln!(
        "| **fired** | **{}** |\n| attempts | {} |\n| retries scheduled | {} |\n| duplicates at the receiver | {duplicate_receipts} ({} events; {ambiguous_events} events had an ambiguous-by-design failure) |",
        stats.fired,
        stats.attempts,
        stats.retries_scheduled,
        duplicates.len()
    );
    eprintln!(
        "receiver: {} connections, {} requests read to the end (2xx answered within {} µs of the head); faults {:?}",
        books.connections.load(Ordering::Relaxed),
        books.requests.load(Ordering::Relaxed),
        books.max_ok_latency_us.load(Ordering::Relaxed),
        *faults
    );
    eprintln!(
        "shutdown: deadline reached {}, {} delivered / {} exhausted / {} rejected / {} abandoned during the drain; {} forbidden or invalid URLs fired",
        report.deadline_reached,
        report.delivered.len(),
        report.exhausted.len(),
        report.rejected.len(),
        report.abandoned.len(),
        fired_forbidden
    );
    eprintln!(
        "logs: {} lines, {} bytes; {:?}",
        log.lines, log.bytes, log.messages
    );
    eprintln!(
        "Retry-After: {} retries came after one, the soonest {} µs later (cap {:?}); at most {} KiB of a huge/endless body written before the hang-up",
        books.after_retry_after.load(Ordering::Relaxed),
        books.min_retry_after_gap_us.load(Ordering::Relaxed),
        RETRY_AFTER_CAP,
        books.max_body_written.load(Ordering::Relaxed) / 1024,
    );
    eprintln!(
        "abandoned at the deadline after a stalled-body 2xx was sent: {abandoned_after_2xx} (heads that lost the race with the deadline; CHAOS_VERBOSE=1 shows when each was written; tests/dispatcher.rs pins the rule)"
    );
    if let Ok(path) = std::env::var("CHAOS_LOG") {
        std::fs::write(path, &log.head).unwrap();
    }
    for d in duplicates.iter().take(30) {
        eprintln!("  duplicate: {d}");
    }
    if duplicates.len() > 30 {
        eprintln!("  ... and {} more duplicated events", duplicates.len() - 30);
    }

    // ---- Assertions.
    assert_eq!(
        second_outcomes.load(Ordering::Relaxed),
        0,
        "an event had two outcomes"
    );
    assert!(missing.is_empty(), "no outcome for ids {missing:?}");
    assert_eq!(stats.fired, n);
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert_eq!(stats.terminal(), n, "{stats:?}");
    assert_eq!(
        [
            stats.delivered,
            stats.exhausted,
            stats.rejected,
            stats.dropped_at_capacity,
            stats.abandoned_at_shutdown
        ],
        [
            t("delivered"),
            t("exhausted"),
            t("rejected"),
            t("dropped_at_capacity"),
            t("abandoned_at_shutdown")
        ],
        "the counters agree with the outcomes"
    );
    assert_eq!(
        t("delivered")
            + t("exhausted")
            + t("rejected")
            + t("dropped_at_capacity")
            + t("abandoned_at_shutdown"),
        n,
        "fired = delivered + exhausted + rejected + dropped + abandoned"
    );
    assert_eq!(t("other"), 0);
    for (id, s) in seen.iter().enumerate().skip(1) {
        let Some(s) = s else { continue };
        let rejected = matches!(s.kind, OutcomeKind::Rejected(_));
        if forbidden_ids[id] {
            // Refused in `fire` (literals, bad URLs) or after resolution (names), unless
            // the pending cap or the shutdown got to it first.
            assert!(
                rejected
                    || matches!(
                        s.kind,
                        OutcomeKind::DroppedAtCapacity | OutcomeKind::AbandonedAtShutdown
                    ),
                "forbidden id {id}: {:?}",
                s.kind
            );
            assert!(s.attempts <= 1, "forbidden id {id} retried");
        } else {
            assert!(!rejected, "id {id} rejected");
        }
    }
    assert!(
        t("dropped_at_capacity") > 0,
        "the burst overran max_pending"
    );
    assert!(t("abandoned_at_shutdown") > 0, "fires after shutdown began");
    assert!(t("exhausted") > 0, "the long outage exhausted some events");
    assert!(report.stats.fired <= n);
    // The report names, by outcome, events that ended after shutdown began.
    let kind_of = |job: &str| {
        let i: usize = job.strip_prefix("job-").unwrap().parse().unwrap();
        seen[i + 1].map(|s| s.kind)
    };
    for job in &report.delivered {
        assert!(
            matches!(kind_of(job), Some(OutcomeKind::Delivered { .. })),
            "{job}"
        );
    }
    for job in &report.exhausted {
        assert_eq!(kind_of(job), Some(OutcomeKind::Exhausted), "{job}");
    }
    for job in &report.abandoned {
        assert!(
            matches!(
                kind_of(job),
                Some(OutcomeKind::AbandonedAtShutdown | OutcomeKind::DroppedAtCapacity)
            ),
            "{job}"
        );
    }
    assert!(
        report.deadline_reached,
        "the deadline cut the backlog short"
    );
    for kind in [
        OutcomeKind::Rejected(RejectReason::ForbiddenAddress),
        OutcomeKind::Rejected(RejectReason::InvalidUrl),
    ] {
        assert!(
            seen.iter().flatten().any(|s| s.kind == kind),
            "{kind:?} seen"
        );
    }
    assert_eq!(books.unparsable.load(Ordering::Relaxed), 0);
    assert!(books.after_retry_after.load(Ordering::Relaxed) > 0);
    // A retry sooner than a Retry-After allowed is legitimate only if the dispatcher did
    // not see that 429 (its attempt had already timed out: a transport failure logged
    // between the request and the retry).
    let early = lock(&books.early_retries);
    let mut excused = 0;
    for &(index, sent, arrived) in early.iter() {
        let job = format!("job-{index:07}");
        let times = log
            .failure_times
            .get(&job)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let near = |t: &SystemTime| *t + TIMEOUT >= sent && *t <= arrived;
        let saw_429 = times
            .iter()
            .any(|(t, transport)| !transport && near(t) && *t >= sent);
        let lost = times.iter().any(|(t, transport)| *transport && near(t));
        assert!(
            lost && !saw_429,
            "{job}: retried {:?} after a Retry-After the dispatcher saw ({times:?})",
            arrived.duration_since(sent).unwrap_or_default()
        );
        excused += 1;
    }
    eprintln!("retries sooner than a Retry-After: {excused}, each after a 429 lost to a timeout");
    assert!(
        books.max_body_written.load(Ordering::Relaxed) < 32 << 20,
        "the dispatcher read far more than its 4 KiB response cap"
    );
    assert_eq!(
        books.body_mismatch.load(Ordering::Relaxed),
        0,
        "bytes as fired"
    );
    assert_eq!(books.missing_sig.load(Ordering::Relaxed), 0);
    assert_eq!(books.bad_foreman_sig.load(Ordering::Relaxed), 0);
    assert_eq!(books.bad_standard_sig.load(Ordering::Relaxed), 0);
    assert!(
        delivered_unreceived.is_empty(),
        "delivered but never accepted by the receiver: {delivered_unreceived:?}"
    );
    assert!(
        unexplained.is_empty(),
        "duplicates without an ambiguous failure: {unexplained:#?}"
    );
    assert_eq!(canary.connections(), 0, "127.0.0.2 was connected to");
    assert_eq!(canary_local.connections(), 0, "a redirect was followed");
    if let Some(c6) = &canary6 {
        assert_eq!(c6.connections(), 0, "[::1] was connected to");
    }
    for f in [
        Fault::Ok,
        Fault::ServerError,
        Fault::TooManyDate,
        Fault::ResetBeforeBody,
        Fault::ResetAfterBody,
        Fault::Slow,
        Fault::StallHead,
        Fault::Huge200,
        Fault::Endless500,
        Fault::Redirect,
    ] {
        assert!(faults.get(&f).copied().unwrap_or(0) > 0, "{f:?} exercised");
    }

    // ---- Secrets: nothing in the logs or in Debug output.
    assert!(log.lines > 0);
    assert!(
        log.leaks.is_empty(),
        "secret or signature in the logs: {:#?}",
        &log.leaks[..log.leaks.len().min(5)]
    );
    let sample = lock(&books.sig_sample);
    assert!(!sample.is_empty());
    for sig in sample.iter() {
        let value = sig.trim_start_matches("sha256=").trim_start_matches("v1,");
        assert!(!log.head.contains(value), "signature {sig} logged");
        assert!(!dispatcher_debug.contains(value));
    }
    for needle in logs.needles.iter() {
        assert!(!dispatcher_debug.contains(needle.as_str()));
    }
    let signer = Signer::new(&secret);
    let sig = signer.sign(&make_event(0).to_json()).to_string();
    assert!(!log.head.contains(sig.trim_start_matches("sha256=")));
}
