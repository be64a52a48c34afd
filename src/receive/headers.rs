//! Reading signature headers from any header map, and the rule for joining several lines
//! of one header.

use crate::standard;

/// Any map of request headers: how the [`Receiver`](crate::Receiver) reads them.
///
/// Implemented for slices, arrays and `Vec`s of `(name, value)` pairs and, with the `http`
/// feature, for `http::HeaderMap` (what axum, hyper, reqwest and tonic use). Names are
/// matched ASCII case-insensitively, as HTTP requires.
///
/// ```
/// use foreman_webhook::receive::{header_value, HeaderSource};
/// let headers = [("Webhook-Signature", "v1,a"), ("webhook-signature", "v1,b")];
/// assert_eq!(header_value(&headers[..], "webhook-signature").as_deref(), Some("v1,a v1,b"));
/// ```
pub trait HeaderSource {
    /// Calls `f` with each value of the header `name`, in the order received.
    fn each_value(&self, name: &str, f: &mut dyn FnMut(&[u8]));
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for [(K, V)] {
    fn each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for (k, v) in self {
            if k.as_ref().eq_ignore_ascii_case(name) {
                f(v.as_ref());
            }
        }
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> HeaderSource for [(K, V); N] {
    fn each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        self[..].each_value(name, f);
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> HeaderSource for Vec<(K, V)> {
    fn each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        self[..].each_value(name, f);
    }
}

impl<T: HeaderSource + ?Sized> HeaderSource for &T {
    fn each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        (**self).each_value(name, f);
    }
}

#[cfg(feature = "http")]
impl HeaderSource for http::HeaderMap {
    fn each_value(&self, name: &str, f: &mut dyn FnMut(&[u8])) {
        for v in self.get_all(name) {
            f(v.as_bytes());
        }
    }
}

/// The separator between several lines of header `name` once joined: a space for
/// `webhook-signature` (its value is a space-separated list of entries, so each line adds
/// entries), `", "` for every other header (RFC 9110 §5.3). A signature header that must
/// hold one value (`X-Foreman-Signature`, `webhook-id`, `webhook-timestamp`) sent twice
/// therefore fails to parse or to match, instead of one of the lines being picked.
pub fn line_separator(name: &str) -> &'static str {
    if name.eq_ignore_ascii_case(standard::SIGNATURE_HEADER) {
        " "
    } else {
        ", "
    }
}

/// Joins several received lines of header `name` under [`line_separator`]'s rule; `None`
/// when there is none. The JS bindings use this for array-valued headers too.
pub fn join_lines<S: AsRef<str>>(name: &str, lines: impl IntoIterator<Item = S>) -> Option<String> {
    let sep = line_separator(name);
    let mut out: Option<String> = None;
    for line in lines {
        match &mut out {
            None => out = Some(line.as_ref().to_owned()),
            Some(s) => {
                s.push_str(sep);
                s.push_str(line.as_ref());
            }
        }
    }
    out
}

/// The value of header `name` in `headers`, its lines joined by [`join_lines`]' rule.
/// Bytes that are not UTF-8 (HTTP's obs-text) become U+FFFD: such a value never
/// verifies, and it is refused with the same reason as other junk.
pub fn header_value<H: HeaderSource + ?Sized>(headers: &H, name: &str) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    headers.each_value(name, &mut |v| {
        lines.push(String::from_utf8_lossy(v).into_owned());
    });
    join_lines(name, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_join_per_header() {
        let h = vec![
            ("X-Foreman-Signature", "sha256=aa"),
            ("x-foreman-signature", "sha256=bb"),
            ("WEBHOOK-SIGNATURE", "v1,a"),
            ("webhook-signature", "v1,b"),
            ("webhook-id", "msg_1"),
        ];
        assert_eq!(
            header_value(&h, "x-foreman-signature").as_deref(),
            Some("sha256=aa, sha256=bb")
        );
        assert_eq!(
            header_value(&h, "webhook-signature").as_deref(),
            Some("v1,a v1,b")
        );
        assert_eq!(header_value(&h, "Webhook-Id").as_deref(), Some("msg_1"));
        assert_eq!(header_value(&h, "webhook-timestamp"), None);
        assert_eq!(join_lines::<&str>("webhook-id", []), None);
    }
}
