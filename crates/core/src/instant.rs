//! The instants Ladder accepts and keeps: microseconds from 1970-01-01T00:00:00Z to
//! 9999-12-30T22:00:00.999999Z.
//!
//! The store keeps instants as whole microseconds since the Unix epoch (an `i64` of them
//! spans ±292,000 years), so every instant in this range is kept exactly and sorts in
//! order. The upper end is the latest instant `jiff` can show as a local date and time in
//! every time zone (`Timestamp::MAX`), to the microsecond. Every input that is an instant
//! — an API parameter, a body field, a call-back window once converted from the customer's
//! local time — goes through [`check`], and the clock the engine reads goes through
//! [`truncate`], so nothing finer than a microsecond reaches the store.

use jiff::Timestamp;

use crate::error::DomainError;

/// The earliest instant accepted: the Unix epoch.
pub const MIN: Timestamp = Timestamp::UNIX_EPOCH;

/// The latest instant accepted: `9999-12-30T22:00:00.999999Z`.
pub fn max() -> Timestamp {
    truncate(Timestamp::MAX)
}

/// `t` to the microsecond, rounded down (towards the past, also before the epoch).
pub fn truncate(t: Timestamp) -> Timestamp {
    let micros = t.as_nanosecond().div_euclid(1_000);
    Timestamp::from_nanosecond(micros * 1_000).unwrap_or(t)
}

/// `t` if it is an instant Ladder keeps: within [`MIN`]..=[`max`] and a whole number of
/// microseconds. Otherwise a validation error naming `field`.
pub fn check(field: &str, t: Timestamp) -> Result<Timestamp, DomainError> {
    if t < MIN || t > max() {
        return Err(DomainError::invalid(field, format!("{t} is out of range; instants run from {MIN} to {}", max())));
    }
    if t.subsec_nanosecond() % 1_000 != 0 {
        return Err(DomainError::invalid(
            field,
            format!("{t} has more than 6 fractional digits; instants are kept to the microsecond"),
        ));
    }
    Ok(t)
}

/// Parses an RFC 3339 instant (`2026-12-01T09:00:00Z`, an offset, up to 6 fractional
/// digits) and [`check`]s it.
pub fn parse(field: &str, raw: &str) -> Result<Timestamp, DomainError> {
    let t: Timestamp = raw.trim().parse().map_err(|_| {
        DomainError::invalid(field, format!("'{raw}' is not an RFC 3339 instant, e.g. 2026-12-01T09:00:00Z"))
    })?;
    check(field, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_runs_from_the_epoch_to_the_last_microsecond_jiff_can_show_in_every_zone() {
        assert_eq!(parse("at", "1970-01-01T00:00:00Z").unwrap(), MIN);
        assert_eq!(max().to_string(), "9999-12-30T22:00:00.999999Z");
        assert_eq!(parse("at", "9999-12-30T22:00:00.999999Z").unwrap(), max());
        assert_eq!(parse("at", "3000-01-01T00:00:00+02:00").unwrap().to_string(), "2999-12-31T22:00:00Z");
    }

    #[test]
    fn out_of_range_too_precise_and_malformed_instants_are_refused_naming_the_field() {
        for (raw, says) in [
            ("1969-12-31T23:59:59.999999Z", "out of range"),
            ("2026-01-01T00:00:00.0000001Z", "6 fractional digits"),
            ("2026-13-01T00:00:00Z", "not an RFC 3339 instant"),
            ("tomorrow", "not an RFC 3339 instant"),
        ] {
            let e = parse("window_start", raw).unwrap_err().to_string();
            assert!(e.starts_with("window_start: ") && e.contains(says), "{raw}: {e}");
        }
    }

    #[test]
    fn truncation_rounds_down_to_the_microsecond() {
        let t: Timestamp = "2026-01-01T00:00:00.123456789Z".parse().unwrap();
        assert_eq!(truncate(t).to_string(), "2026-01-01T00:00:00.123456Z");
        let before: Timestamp = "1969-12-31T23:59:59.9999995Z".parse().unwrap();
        assert_eq!(truncate(before).to_string(), "1969-12-31T23:59:59.999999Z");
        assert_eq!(truncate(max()), max());
    }
}
