//! The JSON payload POSTed on every state change, wire-compatible with the Go `Event`.

use core::fmt;
use core::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Event {
    /// The job's id.
    pub job_id: String,
    /// The state entered.
    pub state: String,
    /// The state left (empty for the first event).
    pub previous_state: String,
    /// When the transition happened.
    pub timestamp: Timestamp,
    /// The model the job runs.
    pub model: String,
    /// The job's attempt number.
    pub attempt: i64,
    /// The job's result, raw JSON, or `null`.
    pub result: Option<RawJson>,
    /// Artifact metadata (see [`format_artifacts`](crate::format_artifacts)), or `null`.
    pub artifacts: Option<RawJson>,
    /// The error message of a failed job, or `null`.
    pub error: Option<String>,
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
    ///
    /// This is the same JSON *value* Go's `json.Marshal` writes for the same event, and
    /// byte for byte the same except in two places: Go escapes `<`, `>`, `&`, U+2028 and
    /// U+2029 inside strings (`\u003c`…) where this writes them as they are, and Go
    /// strips the whitespace inside `result`/`artifacts` where this keeps the raw JSON
    /// verbatim. Receivers are unaffected (the value is the same and the signature
    /// covers whichever bytes were sent); [`Event::to_go_json`] writes Go's exact bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_len_hint());
        self.write_json(&mut out);
        out
    }

    /// Appends [`Event::to_json`]'s bytes to `out` (the same serializer, so the same
    /// bytes): the dispatcher writes bodies into buffers it prepared ahead.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        if serde_json::to_writer(out, self).is_err() {
            // Unreachable: strings, integers and validated RawValues always serialize.
            unreachable!("Event serialization is infallible");
        }
    }

    /// About how many bytes [`Event::to_json`] writes (a capacity to start from).
    pub(crate) fn json_len_hint(&self) -> usize {
        160 + self.job_id.len() + self.raw_len()
    }

    /// The bytes Go's `json.Marshal` writes for this event: [`Event::to_json`] with
    /// `<`, `>`, `&`, U+2028 and U+2029 escaped inside strings and the raw `result` and
    /// `artifacts` compacted, as Go does. Checked byte for byte against Go's own output
    /// (tests/vectors/go_events.json).
    ///
    /// One version note: Go 1.22 and later write backspace and form feed as `\b` and
    /// `\f`, as this does; Go 1.21 and earlier wrote `\u0008` and `\u000c`.
    ///
    /// ```
    /// use foreman_webhook::{Event, RawJson, Timestamp};
    /// let mut event = Event::new("a<b>&c", "succeeded", Timestamp::GO_ZERO);
    /// event.result = Some(RawJson::new(r#"{ "html": "<p>" }"#)?);
    /// let go = String::from_utf8(event.to_go_json())?;
    /// assert!(go.starts_with(r#"{"job_id":"a\u003cb\u003e\u0026c","#));
    /// assert!(go.contains(r#""result":{"html":"\u003cp\u003e"},"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_go_json(&self) -> Vec<u8> {
        let plain = self.to_json();
        let mut out = Vec::with_capacity(plain.len() + 16);
        go_compact(&plain, &mut out);
        out
    }

    fn raw_len(&self) -> usize {
        self.result.as_ref().map_or(0, |r| r.get().len())
            + self.artifacts.as_ref().map_or(0, |r| r.get().len())
    }

    /// Decodes a body as Go's `json.Unmarshal` decodes it into the seed's `Event`:
    ///
    /// - unknown keys are ignored, missing keys leave the zero value;
    /// - `null` leaves a string, integer or the timestamp unchanged (zero unless an
    ///   earlier duplicate key set it) and sets `result`, `artifacts` and `error` to `None`;
    /// - keys match case-insensitively (`"JOB_ID"`, and `"ſtate"` with U+017F, as Go's
    ///   Unicode case folding does); a duplicate key overwrites: the last one wins;
    /// - a top-level `null` is the zero event ([`Event::default`]); a top-level array,
    ///   string, number or boolean is an error;
    /// - invalid UTF-8 becomes U+FFFD, one per invalid byte, and a lone UTF-16
    ///   surrogate escape (`"\ud800"`) inside a string field becomes one U+FFFD.
    ///
    /// - the timestamp is parsed as Go parses it (see [`Timestamp`]'s `FromStr`), from the
    ///   raw JSON text: a string with an escape in it is an error, as in Go.
    ///
    /// Each rule is checked against Go's own decoder (tests/vectors/go_events.json).
    /// Two differences remain: invalid UTF-8 inside the raw `result` or `artifacts` is
    /// kept byte for byte by Go (and written back out, invalid); here it becomes U+FFFD
    /// like everywhere else, because [`RawJson`] is always valid UTF-8. And a UTC offset
    /// beyond ±25:59 (`+26:00`), which Go keeps, is an error here.
    ///
    /// # Errors
    /// [`EventError`] with the `serde_json` error as its source when the body is not
    /// JSON, not an object (or `null`), or a field has the wrong type.
    pub fn from_json(body: &[u8]) -> Result<Self, EventError> {
        serde_json::from_str(&go_lossy_utf8(body)).map_err(EventError::json)
    }
}

/// Go's `json.Marshal` rewrite of already-compact or raw JSON: whitespace outside
/// strings removed, `<`, `>`, `&`, U+2028 and U+2029 inside strings escaped, everything
/// else (escapes, number text) copied. Hand-written because serde_json has no
/// byte-preserving compactor and re-serializing a `Value` would change number text.
fn go_compact(json: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while let Some(&c) = json.get(i) {
        if !in_string {
            in_string = c == b'"';
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                out.push(c);
            }
        } else if escaped {
            escaped = false;
            out.push(c);
        } else if matches!(c, b'<' | b'>' | b'&') {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xF)]);
        } else if c == 0xE2
            && json.get(i + 1) == Some(&0x80)
            && matches!(json.get(i + 2), Some(0xA8 | 0xA9))
        {
            out.extend_from_slice(if json.get(i + 2) == Some(&0xA8) {
                b"\\u2028"
            } else {
                b"\\u2029"
            });
            i += 2;
        } else {
            escaped = c == b'\\';
            in_string = c != b'"';
            out.push(c);
        }
        i += 1;
    }
}

/// Invalid UTF-8 replaced as Go's decoder replaces it: one U+FFFD per invalid byte
/// (`String::from_utf8_lossy` writes one per maximal invalid sequence instead).
fn go_lossy_utf8(body: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(body) {
        Ok(s) => s.into(),
        Err(_) => {
            let mut out = String::with_capacity(body.len() + 16);
            for chunk in body.utf8_chunks() {
                out.push_str(chunk.valid());
                out.extend(chunk.invalid().iter().map(|_| char::REPLACEMENT_CHARACTER));
            }
            out.into()
        }
    }
}

/// A string field decoded as Go decodes it: serde_json hands over lone surrogate
/// escapes as WTF-8 (`ED A0..BF xx`) when asked for bytes; each becomes one U+FFFD.
struct GoString(String);

impl<'de> Deserialize<'de> for GoString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = GoString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoString, E> {
                Ok(GoString(v.to_owned()))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<GoString, E> {
                let mut out = Vec::with_capacity(v.len());
                let mut i = 0;
                while let Some(&b) = v.get(i) {
                    if b == 0xED && v.get(i + 1).is_some_and(|&n| n >= 0xA0) {
                        out.extend_from_slice("\u{FFFD}".as_bytes());
                        i += 3;
                    } else {
                        out.push(b);
                        i += 1;
                    }
                }
                Ok(GoString(match String::from_utf8(out) {
                    Ok(s) => s,
                    Err(e) => go_lossy_utf8(e.as_bytes()).into_owned(),
                }))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// The Go struct's fields, by JSON key.
#[derive(Clone, Copy)]
enum Field {
    JobId,
    State,
    PreviousState,
    Timestamp,
    Model,
    Attempt,
    Result,
    Artifacts,
    Error,
}

impl Field {
    const ALL: [(&'static str, Field); 9] = [
        ("job_id", Field::JobId),
        ("state", Field::State),
        ("previous_state", Field::PreviousState),
        ("timestamp", Field::Timestamp),
        ("model", Field::Model),
        ("attempt", Field::Attempt),
        ("result", Field::Result),
        ("artifacts", Field::Artifacts),
        ("error", Field::Error),
    ];

    /// Go's rule: an exact match, else a match under Unicode simple case folding. The
    /// names are lower-case ASCII, so a key matches when each character is the name's,
    /// its ASCII upper case, or one of the two non-ASCII runes that fold into ASCII
    /// letters (U+017F long s, U+212A Kelvin sign).
    fn find(key: &str) -> Option<Field> {
        Self::ALL
            .iter()
            .find(|(name, _)| fold_eq(key, name))
            .map(|&(_, f)| f)
    }
}

fn fold_eq(key: &str, name: &str) -> bool {
    let mut k = key.chars();
    name.chars().all(|n| {
        k.next().is_some_and(|c| {
            c.to_ascii_lowercase() == n
                || (n == 's' && c == '\u{17F}')
                || (n == 'k' && c == '\u{212A}')
        })
    }) && k.next().is_none()
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (or null)")
    }

    /// Go: `null` into a struct leaves it zero.
    fn visit_unit<E: de::Error>(self) -> Result<Event, E> {
        Ok(Event::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut e = Event::default();
        fn keep<T>(slot: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *slot = v;
            }
        }
        while let Some(GoString(key)) = map.next_key()? {
            match Field::find(&key) {
                Some(Field::JobId) => keep(
                    &mut e.job_id,
                    map.next_value::<Option<GoString>>()?.map(|s| s.0),
                ),
                Some(Field::State) => keep(
                    &mut e.state,
                    map.next_value::<Option<GoString>>()?.map(|s| s.0),
                ),
                Some(Field::PreviousState) => keep(
                    &mut e.previous_state,
                    map.next_value::<Option<GoString>>()?.map(|s| s.0),
                ),
                Some(Field::Model) => keep(
                    &mut e.model,
                    map.next_value::<Option<GoString>>()?.map(|s| s.0),
                ),
                Some(Field::Timestamp) => {
                    // Go hands time.Time the raw JSON text: a string with an escape in
                    // it does not parse there, so it does not here either.
                    if let Some(raw) = map.next_value::<Option<Box<RawValue>>>()? {
                        let text = raw.get();
                        let inner = text
                            .strip_prefix('"')
                            .and_then(|t| t.strip_suffix('"'))
                            .filter(|t| !t.contains('\\'))
                            .ok_or_else(|| {
                                de::Error::custom("timestamp must be an RFC 3339 string")
                            })?;
                        e.timestamp = inner.parse().map_err(de::Error::custom)?;
                    }
                }
                Some(Field::Attempt) => {
                    // Go parses the number's text with strconv.ParseInt: `-0` is 0, while
                    // `1.0` and `1e2` are errors (serde_json reads `-0` as a float).
                    if let Some(raw) = map.next_value::<Option<Box<RawValue>>>()? {
                        e.attempt = raw.get().parse().map_err(|_| {
                            de::Error::custom("attempt must be an integer in the i64 range")
                        })?;
                    }
                }
                Some(Field::Result) => e.result = map.next_value()?,
                Some(Field::Artifacts) => e.artifacts = map.next_value()?,
                Some(Field::Error) => e.error = map.next_value::<Option<GoString>>()?.map(|s| s.0),
                None => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(e)
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

    /// Go's `time.Parse(time.RFC3339, s)`, which `time.Time`'s JSON decoding uses (checked
    /// against Go in tests/vectors/go_events.json): `YYYY-MM-DDTHH:MM:SS`, then an optional
    /// fraction after `.` or `,` of any length (digits past nanoseconds are dropped), then
    /// `Z` or `±HH:MM`. Upper-case `T` and `Z` only; the hour may be one digit; no leap
    /// second; the date must exist.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_go_rfc3339(s.as_bytes())
            .map(Self)
            .ok_or_else(|| EventError::msg("timestamp must be RFC 3339, e.g. 2026-11-28T14:00:00Z"))
    }
}

/// Hand-written because no crate parses Go's `RFC3339` layout (time's `Rfc3339` also
/// accepts `t`/`z` and leap seconds, and rejects `,` fractions, which Go does not).
fn parse_go_rfc3339(s: &[u8]) -> Option<OffsetDateTime> {
    struct Cursor<'a>(&'a [u8]);
    impl Cursor<'_> {
        fn lit(&mut self, c: u8) -> Option<()> {
            let (&first, rest) = self.0.split_first()?;
            (first == c).then(|| self.0 = rest)
        }
        /// `min..=max` ASCII digits as a number.
        fn num(&mut self, min: usize, max: usize) -> Option<u32> {
            let n = self
                .0
                .iter()
                .take(max)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if n < min {
                return None;
            }
            let (digits, rest) = self.0.split_at(n);
            self.0 = rest;
            Some(
                digits
                    .iter()
                    .fold(0, |acc, d| acc * 10 + u32::from(d - b'0')),
            )
        }
    }
    let mut c = Cursor(s);
    let year = c.num(4, 4)?;
    c.lit(b'-')?;
    let month = c.num(2, 2)?;
    c.lit(b'-')?;
    let day = c.num(2, 2)?;
    c.lit(b'T')?;
    let hour = c.num(1, 2)?;
    c.lit(b':')?;
    let minute = c.num(2, 2)?;
    c.lit(b':')?;
    let second = c.num(2, 2)?;
    let mut nanos = 0;
    if let [b'.' | b',', d, ..] = c.0 {
        if d.is_ascii_digit() {
            c.0 = &c.0[1..];
            let n = c.0.iter().take_while(|b| b.is_ascii_digit()).count();
            let (digits, rest) = c.0.split_at(n);
            c.0 = rest;
            nanos = digits
                .iter()
                .chain(core::iter::repeat(&b'0'))
                .take(9)
                .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
        }
    }
    let offset_secs = if c.lit(b'Z').is_some() {
        0
    } else {
        let sign = match c.0.first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        c.0 = &c.0[1..];
        let hh = c.num(2, 2)?;
        c.lit(b':')?;
        let mm = c.num(2, 2)?;
        sign * i32::try_from(hh * 3600 + mm * 60).ok()?
    };
    if !c.0.is_empty() {
        return None;
    }
    let date = time::Date::from_calendar_date(
        i32::try_from(year).ok()?,
        time::Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let clock = time::Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    let offset = UtcOffset::from_whole_seconds(offset_secs).ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_offset(offset))
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
