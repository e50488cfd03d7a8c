//! How instants are stored: nanoseconds since the Unix epoch.

/// Instants are stored as nanoseconds since the Unix epoch (an i64 covers 1677–2262),
/// so a stored event carries exactly the time the domain saw.
pub(crate) fn ts_to_ns(t: jiff::Timestamp) -> i64 {
    t.as_nanosecond() as i64
}

pub(crate) fn ns_to_ts(ns: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(ns as i128).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}
