//! Test support: an in-process HTTP receiver on 127.0.0.1:0 (hyper 1), scripted per
//! request, recording every request and every accepted connection.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use foreman_webhook::native::Outcome;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;

/// What the receiver answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub delay: Duration,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: vec![],
            delay: Duration::ZERO,
            body: vec![],
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
}

/// One received request.
#[derive(Clone, Debug)]
pub struct Hit {
    pub at: Instant,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Script = dyn Fn(usize, &Hit) -> Reply + Send + Sync;

pub struct Receiver {
    pub addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    connections: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    /// Starts a receiver on its own thread and runtime; `script(n, hit)` answers the
    /// n-th request (0-based).
    pub fn start(script: impl Fn(usize, &Hit) -> Reply + Send + Sync + 'static) -> Self {
        let script: Arc<Script> = Arc::new(script);
        let hits = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (h, c) = (hits.clone(), connections.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        c.fetch_add(1, Ordering::SeqCst);
                        let (script, hits) = (script.clone(), h.clone());
                        tokio::spawn(async move {
                            let svc = service_fn(move |req: Request<Incoming>| {
                                let (script, hits) = (script.clone(), hits.clone());
                                async move {
                                    let path = req.uri().path().to_owned();
                                    let headers = req.headers().clone();
                                    let body = req
                                        .into_body()
                                        .collect()
                                        .await
                                        .map(|b| b.to_bytes())
                                        .unwrap_or_default();
                                    let hit = Hit {
                                        at: Instant::now(),
                                        path,
                                        headers,
                                        body,
                                    };
                                    let n = {
                                        let mut hits = hits.lock().unwrap();
                                        hits.push(hit.clone());
                                        hits.len() - 1
                                    };
                                    let reply = script(n, &hit);
                                    if !reply.delay.is_zero() {
                                        tokio::time::sleep(reply.delay).await;
                                    }
                                    let mut resp = Response::builder().status(reply.status);
                                    for (k, v) in &reply.headers {
                                        resp = resp.header(k, v);
                                    }
                                    Ok::<_, Infallible>(
                                        resp.body(Full::new(Bytes::from(reply.body))).unwrap(),
                                    )
                                }
                            });
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        let addr = addr_rx.recv().unwrap();
        Self {
            addr,
            hits,
            connections,
            stop: Some(stop),
        }
    }

    /// Answers every request with `status`.
    pub fn always(status: u16) -> Self {
        Self::start(move |_, _| Reply::status(status))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A port on 127.0.0.1 nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Outcomes collected through `on_outcome`.
pub struct Outcomes(mpsc::Receiver<Outcome>);

pub fn outcomes() -> (impl Fn(&Outcome) + Send + Sync + 'static, Outcomes) {
    let (tx, rx) = mpsc::channel();
    (
        move |o: &Outcome| {
            let _ = tx.send(o.clone());
        },
        Outcomes(rx),
    )
}

impl Outcomes {
    /// The next outcome, or a panic after `secs` seconds.
    pub fn next(&self, secs: u64) -> Outcome {
        self.0
            .recv_timeout(Duration::from_secs(secs))
            .expect("no outcome in time")
    }

    /// The next `n` outcomes.
    pub fn take(&self, n: usize, secs: u64) -> Vec<Outcome> {
        (0..n).map(|_| self.next(secs)).collect()
    }

    pub fn none_within(&self, d: Duration) -> bool {
        self.0.recv_timeout(d).is_err()
    }
}

/// A fresh directory under the system temp dir for an outbox file, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// `foreman-test-<name>-<pid>-<nanos>` under the system temp dir.
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "foreman-test-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    /// The outbox file's path in it.
    pub fn db(&self) -> std::path::PathBuf {
        self.0.join("outbox.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
