//! The one duration parser of the CLI's flags; each flag chooses its units
//! (`--retry-schedule` takes `500ms`, `outbox prune --older-than` takes `7d`).

use std::time::Duration;

/// The units a duration flag accepts: each spelling and its length in seconds.
pub type Units = &'static [(&'static str, f64)];

/// `--retry-schedule` waits: `500ms`, `5s`, `5m`, `2h`.
pub const WAIT_UNITS: Units = &[("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];

/// `outbox prune --older-than` ages: `90s`, `15m`, `12h`, `7d`.
pub const AGE_UNITS: Units = &[("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86_400.0)];

/// Parses a number (fractions allowed; a bare number is seconds) followed by one of
/// `units`; the one duration parser of every CLI flag, each flag choosing its units.
pub fn parse_duration(s: &str, units: Units) -> Result<Duration, String> {
    let s = s.trim();
    let names = units.iter().map(|(u, _)| *u).collect::<Vec<_>>();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let examples = units
        .iter()
        .map(|(u, _)| format!("{}{u}", if *u == "ms" { 500 } else { 5 }))
        .collect::<Vec<_>>()
        .join(", ");
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like {examples}"))?;
    let scale = units
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(|| format!("`{s}`: the unit must be one of {}", names.join(", ")))?;
    Duration::try_from_secs_f64(n * scale).map_err(|_| format!("`{s}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flag_parses_its_own_units() {
        assert_eq!(
            parse_duration("500ms", WAIT_UNITS),
            Ok(Duration::from_millis(500))
        );
        assert_eq!(parse_duration("5", WAIT_UNITS), Ok(Duration::from_secs(5)));
        assert_eq!(
            parse_duration("5m", WAIT_UNITS),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            parse_duration(" 2h", WAIT_UNITS),
            Ok(Duration::from_secs(7200))
        );
        assert_eq!(
            parse_duration("1.5s", WAIT_UNITS),
            Ok(Duration::from_millis(1500))
        );
        assert!(parse_duration("5d", WAIT_UNITS).is_err());
        assert!(parse_duration("x", WAIT_UNITS).is_err());
        assert_eq!(
            parse_duration("7d", AGE_UNITS),
            Ok(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(parse_duration("90", AGE_UNITS), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0s", AGE_UNITS), Ok(Duration::ZERO));
        assert!(parse_duration("500ms", AGE_UNITS).is_err());
        assert!(parse_duration("-1s", AGE_UNITS).is_err());
        assert!(parse_duration("1e400s", AGE_UNITS).is_err());
        let err = parse_duration("5w", AGE_UNITS).unwrap_err();
        assert!(err.contains("s, m, h, d"), "{err}");
    }
}
