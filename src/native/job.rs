//! One pending delivery, packed small: the body and the strings the logs need share one
//! buffer, the destination URL is shared between the jobs fired to it (56 bytes of `Job`
//! and the bytes themselves). A scheduled retry is this plus an 8-byte deadline in the
//! scheduler's timers: no task, no timer object per retry.
//!
//! `fire` writes the buffer into a chunk shared with other bodies (`chunks.rs`: no page
//! fault on the firing thread), and attempts send it from there without a copy. A
//! delivery that has to wait (a retry, a host or ordering queue:
//! [`Schedulable::park`](super::schedule::Schedulable::park)) moves it to an exact-size
//! buffer of its own (from `prefault.rs`), so a chunk is not kept alive by a delivery
//! that waits. A body in its own buffer is copied into a fresh `Bytes` for each attempt
//! instead of being kept as a shared `Bytes` (measured, `examples/pending_memory.rs`): a
//! shared `Bytes` costs a 32-byte shared header allocated at the first attempt per
//! waiting delivery, while the copy costs ≈ 50 ns per KiB per attempt.

use std::sync::Arc;

use bytes::Bytes;

use super::chunks::{Body, Chunks};

/// A vetted destination: the normalized (parsed and re-serialized) URL and the span of
/// `host[:port]` in it, the per-destination key. Shared by every job `fire` makes for
/// the same URL from the same thread (see `dispatcher::vetted_dest`), so a burst to one
/// endpoint stores the URL once instead of once per event.
pub(crate) struct Dest {
    /// Parsed once (the URL as logged and stored; its host span is the key).
    url: url::Url,
    /// The request URI, made once per destination (parsing it per attempt cost ≈ 1 µs,
    /// measured with perf in the delivery bench); without the URL's user and password,
    /// which go in [`auth`](Self::auth).
    pub(crate) uri: http::Uri,
    /// `Authorization: Basic …` from a URL's `user:password@` (as reqwest sent it),
    /// marked sensitive.
    pub(crate) auth: Option<http::HeaderValue>,
    host_start: u16,
    host_end: u16,
    /// The span attributes and metric labels of this destination, made at first use
    /// (`otel` feature). A `Dest` belongs to one dispatcher (its cache is keyed by the
    /// dispatcher's address policy), so one `Otel` and one redaction setting apply.
    #[cfg(feature = "otel")]
    pub(crate) otel: std::sync::OnceLock<Arc<super::otel::DestTrace>>,
}

impl Dest {
    /// `None` when the URL is too long to index (over 64 KiB; the dispatcher refuses
    /// URLs over 8 KiB before this).
    pub(crate) fn new(url: url::Url, host: (usize, usize)) -> Option<Arc<Self>> {
        u16::try_from(url.as_str().len()).ok()?;
        let (uri, auth) = super::http::request_uri(&url)?;
        Some(Arc::new(Self {
            url,
            uri,
            auth,
            host_start: u16::try_from(host.0).ok()?,
            host_end: u16::try_from(host.1).ok()?,
            #[cfg(feature = "otel")]
            otel: std::sync::OnceLock::new(),
        }))
    }

    /// The normalized URL (as stored and logged).
    pub(crate) fn as_str(&self) -> &str {
        self.url.as_str()
    }
}

/// `buf` = body ‖ job_id ‖ state (see the module docs); `dest` is shared.
pub(crate) struct Job {
    pub(crate) id: u64,
    buf: Body,
    dest: Arc<Dest>,
    body_len: u32,
    job_id_len: u16,
    pub(crate) attempts: u16,
    /// What the attempts so far left for the outcome (none before the first attempt,
    /// unless the `otel` feature opened a delivery span at `fire`).
    pub(crate) trail: Option<Box<super::telemetry::Trail>>,
}

impl Job {
    /// The job for `event`: its body (`event.to_json()`'s bytes) written with the job id
    /// and state into one buffer, cut from a chunk of `bodies` when it has one at hand
    /// (see [`Chunks`]), else exact-size. `None` when a part is too long to index (a body
    /// over 4 GiB, a URL over 64 KiB; the dispatcher refuses URLs over 8 KiB before this).
    pub(crate) fn new(
        id: u64,
        event: &crate::Event,
        dest: Arc<Dest>,
        bodies: Option<&Chunks>,
    ) -> Option<Self> {
        // Keep only a bounded prefix of absurdly long ids/states: they are for logs.
        let job_id = clip(&event.job_id, 1024);
        let state = clip(&event.state, 256);
        let mut body_len = 0;
        let mut write = |buf: &mut Vec<u8>| {
            event.write_json(buf);
            body_len = buf.len();
            buf.extend_from_slice(job_id.as_bytes());
            buf.extend_from_slice(state.as_bytes());
        };
        let hint = event.json_len_hint() + job_id.len() + state.len();
        let buf = match bodies {
            Some(bodies) => bodies.write(hint, write),
            None => {
                let mut buf = Vec::with_capacity(hint);
                write(&mut buf);
                Body::Own(buf.into_boxed_slice())
            }
        };
        Some(Self {
            id,
            body_len: u32::try_from(body_len).ok()?,
            job_id_len: u16::try_from(job_id.len()).ok()?,
            buf,
            dest,
            attempts: 0,
            trail: None,
        })
    }

    /// The job for a body read back from a durable store (with its job id and state).
    /// `None` when a part is too long to index (a body over 4 GiB).
    pub(crate) fn from_body(
        id: u64,
        mut body: Vec<u8>,
        dest: Arc<Dest>,
        job_id: &str,
        state: &str,
    ) -> Option<Self> {
        let body_len = u32::try_from(body.len()).ok()?;
        let job_id = clip(job_id, 1024);
        let state = clip(state, 256);
        let job_id_len = u16::try_from(job_id.len()).ok()?;
        body.reserve_exact(job_id.len() + state.len());
        body.extend_from_slice(job_id.as_bytes());
        body.extend_from_slice(state.as_bytes());
        Some(Self {
            id,
            buf: Body::Own(body.into_boxed_slice()),
            dest,
            body_len,
            job_id_len,
            attempts: 0,
            trail: None,
        })
    }

    /// The exact bytes to sign and send.
    #[cfg(test)]
    pub(crate) fn body(&self) -> &[u8] {
        self.buf
            .as_slice()
            .get(..self.body_len as usize)
            .unwrap_or_default()
    }

    /// The body as an owned `Bytes` for one request: from its chunk without a copy, or a
    /// copy of its own buffer (see the module docs).
    pub(crate) fn request_body(&self) -> Bytes {
        self.buf.request_bytes(self.body_len as usize)
    }

    /// Moves the buffer out of a shared chunk (see the module docs).
    pub(crate) fn unshare(&mut self) {
        self.buf.unshare();
    }

    fn part(&self, from: usize, len: usize) -> &str {
        self.buf
            .as_slice()
            .get(from..from + len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    pub(crate) fn url(&self) -> &str {
        self.dest.url.as_str()
    }

    /// The shared destination.
    pub(crate) fn dest(&self) -> &Dest {
        &self.dest
    }

    pub(crate) fn host_key(&self) -> &str {
        let url = self.url();
        url.get(self.dest.host_start as usize..self.dest.host_end as usize)
            .unwrap_or(url)
    }

    pub(crate) fn job_id(&self) -> &str {
        self.part(self.body_len as usize, self.job_id_len as usize)
    }

    /// The trail, allocated on first use.
    pub(crate) fn trail_mut(&mut self) -> &mut super::telemetry::Trail {
        self.trail.get_or_insert_with(Box::default)
    }

    pub(crate) fn state(&self) -> &str {
        let from = self.body_len as usize + self.job_id_len as usize;
        self.part(from, self.buf.as_slice().len().saturating_sub(from))
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl super::schedule::Schedulable for Job {
    fn host_key(&self) -> &str {
        Job::host_key(self)
    }
    fn order(&self) -> u64 {
        self.id
    }
    fn park(&mut self) {
        self.unshare();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_round_trip() {
        let url = "http://127.0.0.1:8080/hook";
        let dest = Dest::new(url::Url::parse(url).unwrap(), (7, 21)).unwrap();
        let event = crate::Event::new("job-1", "done", crate::Timestamp::UNIX_EPOCH);
        let job = Job::new(7, &event, dest, None).unwrap();
        assert_eq!(job.body(), &event.to_json()[..]);
        assert_eq!(&job.request_body()[..], &event.to_json()[..]);
        assert_eq!(&job.request_body()[..], &event.to_json()[..]);
        assert_eq!(job.url(), url);
        assert_eq!(job.host_key(), "127.0.0.1:8080");
        assert_eq!(job.job_id(), "job-1");
        assert_eq!(job.state(), "done");
        assert!(
            std::mem::size_of::<Job>() <= 56,
            "{}",
            std::mem::size_of::<Job>()
        );
    }

    #[test]
    fn bodies_written_through_the_pool_are_the_events_json() {
        let url = "http://127.0.0.1:8080/hook";
        let dest = Dest::new(url::Url::parse(url).unwrap(), (7, 21)).unwrap();
        let pool = Chunks::start();
        let mut e = crate::Event::new("job-1", "running", crate::Timestamp::UNIX_EPOCH);
        for i in 0..2_000 {
            e.job_id = format!("job-{i}");
            e.state = "é".repeat(i % 300);
            e.result =
                Some(crate::RawJson::new(format!(r#"{{"log":"{}"}}"#, "x".repeat(i))).unwrap());
            for bodies in [Some(&pool), None] {
                let job = Job::new(i as u64, &e, Arc::clone(&dest), bodies).unwrap();
                assert_eq!(job.body(), &e.to_json()[..]);
                assert_eq!(job.job_id(), e.job_id);
                assert_eq!(job.state(), clip(&e.state, 256));
            }
        }
    }
}
