//! The JSON payload POSTed on every state change, wire-compatible with the Go `Event`.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// The event a job's webhook URL receives, with the Go struct's keys and null semantics:
///
/// ```json
/// {"job_id":"j1","state":"running","previous_state":"queued",
///  "timestamp":"2026-11-28T14:00:00.5Z","model":"m","attempt":1,
///  "result":null,"artifacts":null,"error":null}
/// ```
///
/// `result` and `artifacts` are raw JSON embedded verbatim (`null` when `None`), `error`
/// is a string or `null`. Encode once with [`Event::to_json`]: those bytes are the ones
/// signed and sent.
///
/// ```
/// use foreman_webhook::{Event, RawJson, Timestamp};
/// let ts: Timestamp = "2026-11-28T14:00:00.5Z".parse()?;
/// let mut event = Event::new("job-1", "succeeded", ts);
/// event.previous_state = "running".into();
/// event.result = Some(RawJson::new(r#"{"tokens":42}"#)?);
/// let body = event.to_json();
/// assert_eq!(
///     std::str::from_utf8(&body)?,
///     r#"{"job_id":"job-1","state":"succeeded","previous_state":"running","timestamp":"2026-11-28T14:00:00.5Z","model":"","attempt":0,"result":{"tokens":42},"artifacts":null,"error":null}"#
/// );
/// assert_eq!(Event::from_json(&body)?, event);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    /// The job's id.
    #[serde(deserialize_with = "null_as_default")]
    pub job_id: String,
    /// The state entered.
    #[serde(deserialize_with = "null_as_default")]
    pub state: String,
    /// The state left (empty for the first event).
    #[serde(deserialize_with = "null_as_default")]
    pub previous_state: String,
    /// When the transition happened.
    pub timestamp: Timestamp,
    /// The model the job runs.
    #[serde(deserialize_with = "null_as_default")]
    pub model: String,
    /// The job's attempt number.
    #[serde(deserialize_with = "null_as_default")]
    pub attempt: i64,
    /// The job's result, raw JSON, or `null`.
    pub result: Option<RawJson>,
    /// Artifact metadata (see [`format_artifacts`](crate::format_artifacts)), or `null`.
    pub artifacts: Option<RawJson>,
    /// The error message of a failed job, or `null`.
    pub error: Option<String>,
}

/// Go decodes `null` into a string or int as "leave the zero value"; do the same.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Event {
    /// An event with the given id, state and time; every other field empty/zero/`null`.
    pub fn new(job_id: impl Into<String>, state: impl Into<String>, timestamp: Timestamp) -> Self {
        Self {
            job_id: job_id.into(),
            state: state.into(),
            previous_state: String::new(),
            timestamp,
            model: String::new(),
            attempt: 0,
            result: None,
            artifacts: None,
            error: None,
        }
    }

    /// The JSON body, compact, keys in the Go struct's order. Infallible: every field is
    /// a string, an integer or already-validated JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.job_id.len() + self.raw_len());
        if serde_json::to_writer(&mut out, self).is_err() {
            // Unreachable: strings, integers and validated RawValues always serialize.
            unreachable!("Event serialization is infallible");
        }
        out
    }

    fn raw_len(&self) -> usize {
        self.result.as_ref().map_or(0, |r| r.get().len())
            + self.artifacts.as_ref().map_or(0, |r| r.get().len())
    }

    /// Decodes a body as Go's `json.Unmarshal` would (unknown keys ignored, missing keys
    /// zero, `null` strings/ints left zero).
    ///
    /// # Errors
    /// [`EventError`] with the `serde_json` error as its source.
    pub fn from_json(body: &[u8]) -> Result<Self, EventError> {
        serde_json::from_slice(body).map_err(EventError::json)
    }
}

/// Raw, validated JSON text embedded verbatim in an [`Event`] (Go's `json.RawMessage`).
#[derive(Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Validates `json` and keeps it verbatim.
    ///
    /// # Errors
    /// [`EventError`] when `json` is not one valid JSON value.
    pub fn new(json: impl Into<String>) -> Result<Self, EventError> {
        RawValue::from_string(json.into())
            .map(Self)
            .map_err(EventError::json)
    }

    /// Serializes any `Serialize` value.
    ///
    /// # Errors
    /// [`EventError`] when `value` cannot be serialized (e.g. a map with non-string keys).
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self, EventError> {
        serde_json::value::to_raw_value(value)
            .map(Self)
            .map_err(EventError::json)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.get())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(d).map(Self)
    }
}

impl FromStr for RawJson {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A point in time with its UTC offset, written as Go's `time.Time` writes JSON:
/// RFC 3339 with the fraction's trailing zeros removed (`2026-11-28T14:00:00.5Z`,
/// `...:00Z` when whole), `Z` for UTC, `+02:00` otherwise.
///
/// Parsing accepts what Go emits and accepts: any offset, fractions of any length
/// (digits past nanoseconds are truncated, as Go does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The Unix epoch, `1970-01-01T00:00:00Z`.
    pub const UNIX_EPOCH: Self = Self(OffsetDateTime::UNIX_EPOCH);

    /// Go's zero `time.Time`, `0001-01-01T00:00:00Z`: what a missing timestamp decodes to
    /// (and the [`Default`]).
    pub const GO_ZERO: Self = Self(time::macros::datetime!(0001-01-01 00:00:00 UTC));

    /// From nanoseconds since the Unix epoch, in UTC.
    ///
    /// # Errors
    /// [`EventError`] when out of the representable range (years 1..=9999 are safe).
    pub fn from_unix_nanos(nanos: i128) -> Result<Self, EventError> {
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map(Self)
            .map_err(|_| EventError::msg("timestamp out of range"))
    }

    /// From whole seconds since the Unix epoch, in UTC.
    ///
    /// # Errors
    /// [`EventError`] when out of range.
    pub fn from_unix_seconds(secs: i64) -> Result<Self, EventError> {
        Self::from_unix_nanos(i128::from(secs) * 1_000_000_000)
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        self.0.unix_timestamp_nanos()
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The same instant shown with a UTC offset of `seconds` east of UTC (whole minutes
    /// are what RFC 3339 can write).
    ///
    /// # Errors
    /// [`EventError`] when the offset is not a whole number of minutes within ±23:59.
    pub fn with_offset_seconds(self, seconds: i32) -> Result<Self, EventError> {
        if seconds % 60 != 0 {
            return Err(EventError::msg("offset must be whole minutes"));
        }
        let off = UtcOffset::from_whole_seconds(seconds)
            .map_err(|_| EventError::msg("offset out of range"))?;
        Ok(Self(self.0.to_offset(off)))
    }

    /// The offset east of UTC in seconds.
    pub fn offset_seconds(&self) -> i32 {
        self.0.offset().whole_seconds()
    }

    /// RFC 3339 as Go writes it.
    pub fn to_rfc3339(&self) -> String {
        // Formatting only fails for years outside 0..=9999 or sub-minute offsets, which
        // no constructor produces; fall back to the UTC rendering to stay infallible.
        self.0
            .format(&Rfc3339)
            .or_else(|_| self.0.to_offset(UtcOffset::UTC).format(&Rfc3339))
            .unwrap_or_else(|_| String::from("0001-01-01T00:00:00Z"))
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Self::GO_ZERO
    }
}

impl From<std::time::SystemTime> for Timestamp {
    fn from(t: std::time::SystemTime) -> Self {
        Self(OffsetDateTime::from(t))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = EventError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || EventError::msg("timestamp must be RFC 3339, e.g. 2026-11-28T14:00:00Z");
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(Self(t));
        }
        // Go accepts fractions longer than nanoseconds and truncates them.
        let (head, frac_and_rest) = s.split_once('.').ok_or_else(bad)?;
        let digits = frac_and_rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits <= 9 {
            return Err(bad());
        }
        let truncated = format!("{head}.{}{}", &frac_and_rest[..9], &frac_and_rest[digits..]);
        OffsetDateTime::parse(&truncated, &Rfc3339)
            .map(Self)
            .map_err(|_| bad())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An [`Event`], [`RawJson`] or [`Timestamp`] could not be built or decoded.
#[derive(Debug)]
pub struct EventError {
    msg: &'static str,
    source: Option<serde_json::Error>,
}

impl EventError {
    fn json(e: serde_json::Error) -> Self {
        Self {
            msg: "invalid JSON",
            source: Some(e),
        }
    }

    fn msg(msg: &'static str) -> Self {
        Self { msg, source: None }
    }

    /// The stable reason code: always `malformed_event` (see [`crate::reason`]).
    pub fn code(&self) -> &'static str {
        crate::reason::MALFORMED_EVENT
    }

    /// Line of the JSON error, when there is one (1-based).
    pub fn line(&self) -> Option<usize> {
        self.source.as_ref().map(serde_json::Error::line)
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{}: {e}", self.msg),
            None => f.write_str(self.msg),
        }
    }
}

impl std::error::Error for EventError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}
