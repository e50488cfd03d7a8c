//! How instants are stored: whole microseconds since the Unix epoch.
//!
//! An `i64` of microseconds spans ±292,000 years, so every instant the API accepts
//! (`ladder_core::instant`, 1970 to 9999) is kept exactly and columns sort in time order.
//! (Nanoseconds, before migration 12, wrapped after 2262: a call-back due in 3000 was
//! stored as a date in 1830.) Instants reach the store already to the microsecond — the
//! engine's clock and every API input are — and anything finer is rounded down here.

/// Microseconds since the epoch, rounded down.
pub(crate) fn ts_to_us(t: jiff::Timestamp) -> i64 {
    // Exact for every `Timestamp` (at most ±3.2e17 µs).
    t.as_nanosecond().div_euclid(1_000) as i64
}

pub(crate) fn us_to_ts(us: i64) -> jiff::Timestamp {
    // Through nanoseconds: `Timestamp::from_microsecond` stops at the last whole second.
    // Saturates rather than failing: a value past jiff's range can only have been written
    // by hand, and reading it must not fail the whole query.
    jiff::Timestamp::from_nanosecond(i128::from(us) * 1_000).unwrap_or(if us < 0 {
        jiff::Timestamp::MIN
    } else {
        ladder_core::instant::max()
    })
}

/// A duration as whole microseconds (saturating past ±292,000 years).
pub(crate) fn duration_to_us(d: jiff::SignedDuration) -> i64 {
    (d.as_nanos().div_euclid(1_000)).clamp(i64::MIN.into(), i64::MAX.into()) as i64
}

pub(crate) fn us_to_duration(us: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_micros(us)
}
