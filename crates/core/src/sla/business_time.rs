//! Business-time arithmetic: adding a target to an instant, and measuring the business time
//! between two instants, counting only the open windows of a [`Calendar`].
//!
//! # How open time is laid out
//!
//! Every calendar date `D` (in the calendar's time zone) contributes the windows that *start*
//! on `D`: the date's override if it has one (`closed` = none), else nothing on a holiday,
//! else its weekday's hours ([`Calendar::windows_on`]). A window `start + length` opens at
//! the local time `D start` and closes at the local civil time `D start + length`, so an
//! overnight window `22:00-06:00` of a Friday closes at 06:00 on Saturday even if Saturday is
//! a holiday, and `00:00-24:00` closes at midnight of the next date. Both local times are
//! turned into instants in the calendar's time zone with jiff's `compatible` rule (a local
//! time in a spring-forward gap is read with the offset before the gap, i.e. one hour later
//! in wall-clock terms; a repeated local time in a fall-back fold is the first of the two).
//! The open time of a window is therefore the *real* elapsed time between its local opening
//! and closing: `08:00-20:00` on a spring-forward Sunday is 12 hours, a `00:00-24:00` day is
//! 23 or 25 hours on a DST-change day, and a 24x7 calendar counts exactly the real elapsed
//! time. A window that turns out empty in instants (it lies inside a DST gap) is skipped.
//!
//! The windows of all dates, taken in order, are made disjoint: a window that overlaps one
//! before it (the linter only warns about overlaps) counts the shared time once.
//!
//! # Deadlines
//!
//! [`BusinessCalendar::add`] returns the first instant at which `duration` of open time has
//! elapsed since `from`. A deadline that uses a window up to its last second is that
//! window's *closing* instant (not the next opening). A zero duration returns `from` when
//! `from` is inside an open window (windows are half-open: open at their opening instant,
//! closed at their closing instant), else the next opening — the same as
//! [`BusinessCalendar::next_open`]. A negative duration is an error.
//!
//! The search walks whole days, never minutes, and gives up after [`SEARCH_LIMIT_DAYS`]
//! consecutive dates without any open time: a calendar that is never open is an error
//! ([`SlaError::NoOpenTime`]), not an endless loop.
//!
//! # Which API to use
//!
//! [`BusinessCalendar::new`] looks the time zone up once and copies the calendar into a
//! form made for lookups (sorted holidays, sorted windows); hold one per calendar where
//! deadlines are computed often. The free functions ([`add_business_time`] …) are thin
//! wrappers that build a `BusinessCalendar` for one call.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::matrix::{Calendar, Window};

/// How many consecutive dates without open time a search walks before it decides the
/// calendar has none (three years).
pub const SEARCH_LIMIT_DAYS: u32 = 3 * 366;

/// How far [`BusinessCalendar::open_until`] follows an unbroken run of open time.
pub const OPEN_RUN_LIMIT_DAYS: u32 = 8;

/// Why a deadline could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error("unknown time zone '{0}'")]
    UnknownTimeZone(String),
    #[error("a business-time duration cannot be negative ({0:?})")]
    NegativeDuration(SignedDuration),
    #[error("the calendar has no open time in the {SEARCH_LIMIT_DAYS} days after {0}")]
    NoOpenTime(Timestamp),
    #[error("the deadline lies beyond the dates jiff can represent")]
    OutOfRange,
}

/// One stretch of open time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpenInterval {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl OpenInterval {
    pub fn duration(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// A [`Calendar`] ready for arithmetic: its time zone resolved and its dates sorted.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: TimeZone,
    /// Monday first; each day's windows sorted by opening time.
    weekly: [Vec<Window>; 7],
    /// Sorted, without duplicates.
    holidays: Vec<Date>,
    /// Each date's windows sorted by opening time.
    overrides: BTreeMap<Date, Vec<Window>>,
    /// Whether any window exists at all (weekly or in an override).
    any_window: bool,
}

impl BusinessCalendar {
    /// Resolves the calendar's time zone (the only fallible step).
    pub fn new(calendar: &Calendar) -> Result<Self, SlaError> {
        let tz = TimeZone::get(&calendar.timezone).map_err(|_| SlaError::UnknownTimeZone(calendar.timezone.clone()))?;
        Ok(Self::with_time_zone(calendar, tz))
    }

    /// The calendar with a time zone the caller resolved (e.g. cached elsewhere).
    pub fn with_time_zone(calendar: &Calendar, tz: TimeZone) -> Self {
        let clean = |windows: &[Window]| {
            let mut w: Vec<Window> = windows.iter().copied().filter(|w| w.length.is_positive()).collect();
            w.sort();
            w
        };
        let weekly = std::array::from_fn(|i| clean(&calendar.hours.days[i]));
        let mut holidays = calendar.holidays.clone();
        holidays.sort_unstable();
        holidays.dedup();
        let overrides: BTreeMap<Date, Vec<Window>> = calendar.overrides.iter().map(|(d, w)| (*d, clean(w))).collect();
        let any_window =
            weekly.iter().any(|d: &Vec<Window>| !d.is_empty()) || overrides.values().any(|w| !w.is_empty());
        BusinessCalendar { tz, weekly, holidays, overrides, any_window }
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The windows that start on `date`: its override, else none on a holiday, else the
    /// weekday's.
    pub fn windows_on(&self, date: Date) -> &[Window] {
        if !self.overrides.is_empty()
            && let Some(w) = self.overrides.get(&date)
        {
            return w;
        }
        if self.holidays.binary_search(&date).is_ok() {
            return &[];
        }
        &self.weekly[date.weekday().to_monday_zero_offset() as usize]
    }

    /// The open intervals that end after `from`'s previous date began, in order and disjoint
    /// (callers skip those that end at or before `from`). The iterator ends after
    /// [`SEARCH_LIMIT_DAYS`] dates in a row without open time, or at the end of jiff's dates.
    pub fn intervals_from(&self, from: Timestamp) -> OpenIntervals<'_> {
        let date = self.tz.to_datetime(from).date();
        let first = date.yesterday().unwrap_or(date);
        OpenIntervals {
            calendar: self,
            next_date: self.any_window.then_some(first),
            pending: Vec::new(),
            last_end: None,
            empty_days: 0,
            out_of_dates: false,
        }
    }

    /// The instant at which `duration` of open time has elapsed since `from`.
    pub fn add(&self, from: Timestamp, duration: SignedDuration) -> Result<Timestamp, SlaError> {
        if duration.is_negative() {
            return Err(SlaError::NegativeDuration(duration));
        }
        let mut remaining = duration;
        let mut intervals = self.intervals_from(from);
        for iv in intervals.by_ref() {
            if iv.end <= from {
                continue;
            }
            let start = iv.start.max(from);
            let available = iv.end.duration_since(start);
            if remaining <= available {
                return start.checked_add(remaining).map_err(|_| SlaError::OutOfRange);
            }
            remaining -= available;
        }
        if intervals.ran_out_of_dates() { Err(SlaError::OutOfRange) } else { Err(SlaError::NoOpenTime(from)) }
    }

    /// The open time in `[a, b)`; zero when `b <= a`.
    pub fn between(&self, a: Timestamp, b: Timestamp) -> SignedDuration {
        let mut total = SignedDuration::ZERO;
        if b <= a {
            return total;
        }
        for iv in self.intervals_from(a) {
            if iv.start >= b {
                break;
            }
            if iv.end <= a {
                continue;
            }
            total += iv.end.min(b).duration_since(iv.start.max(a));
        }
        total
    }

    /// Whether `at` is inside an open window (opening instant included, closing excluded).
    pub fn is_open(&self, at: Timestamp) -> bool {
        self.next_open(at) == Some(at)
    }

    /// When the open time around `at` ends: the closing instant of the window `at` is in,
    /// run on through windows that follow without a gap (a 24x7 calendar's days, a
    /// `00:00-24:00` day before an open Tuesday). `None` when the calendar is closed at `at`,
    /// or when the open run goes on for more than [`OPEN_RUN_LIMIT_DAYS`] (a page that
    /// shows the countdown is not open that long).
    pub fn open_until(&self, at: Timestamp) -> Option<Timestamp> {
        let mut end: Option<Timestamp> = None;
        let horizon = at.checked_add(SignedDuration::from_hours(24 * i64::from(OPEN_RUN_LIMIT_DAYS))).ok();
        for iv in self.intervals_from(at) {
            if iv.end <= at {
                continue;
            }
            match end {
                None if iv.start > at => return None,
                Some(e) if iv.start > e => return Some(e),
                _ => end = Some(iv.end),
            }
            if horizon.is_some_and(|h| iv.end > h) {
                return None;
            }
        }
        end
    }

    /// `at` if the calendar is open then, else the next opening; `None` when there is none
    /// within the search limit.
    pub fn next_open(&self, at: Timestamp) -> Option<Timestamp> {
        self.intervals_from(at).find(|iv| iv.end > at).map(|iv| iv.start.max(at))
    }
}

/// The open intervals of a [`BusinessCalendar`], date after date: see
/// [`BusinessCalendar::intervals_from`].
#[derive(Debug)]
pub struct OpenIntervals<'a> {
    calendar: &'a BusinessCalendar,
    /// The next date whose windows to lay out; `None` when done.
    next_date: Option<Date>,
    /// The current date's intervals, latest first (popped from the end).
    pending: Vec<OpenInterval>,
    last_end: Option<Timestamp>,
    empty_days: u32,
    out_of_dates: bool,
}

impl OpenIntervals<'_> {
    /// Whether the walk stopped at the end of the representable dates (rather than after a
    /// long stretch without open time).
    pub fn ran_out_of_dates(&self) -> bool {
        self.out_of_dates
    }

    fn lay_out(&mut self, date: Date) {
        let tz = &self.calendar.tz;
        for w in self.calendar.windows_on(date) {
            let open = date.to_datetime(w.start);
            let Ok(close) = open.checked_add(w.length) else {
                self.out_of_dates = true;
                continue;
            };
            let (Ok(start), Ok(end)) =
                (tz.to_ambiguous_timestamp(open).compatible(), tz.to_ambiguous_timestamp(close).compatible())
            else {
                self.out_of_dates = true;
                continue;
            };
            if end > start {
                self.pending.push(OpenInterval { start, end });
            }
        }
        if self.pending.len() > 1 {
            self.pending.sort_unstable_by_key(|iv| std::cmp::Reverse(iv.start));
        }
    }
}

impl Iterator for OpenIntervals<'_> {
    type Item = OpenInterval;

    fn next(&mut self) -> Option<OpenInterval> {
        loop {
            if let Some(mut iv) = self.pending.pop() {
                if let Some(end) = self.last_end
                    && iv.start < end
                {
                    iv.start = end;
                }
                if iv.end <= iv.start {
                    continue;
                }
                self.last_end = Some(iv.end);
                return Some(iv);
            }
            if self.empty_days > SEARCH_LIMIT_DAYS || self.out_of_dates {
                return None;
            }
            let date = self.next_date?;
            match date.tomorrow() {
                Ok(next) => self.next_date = Some(next),
                Err(_) => {
                    self.next_date = None;
                    self.out_of_dates = true;
                }
            }
            self.lay_out(date);
            if self.pending.is_empty() {
                self.empty_days += 1;
            } else {
                self.empty_days = 0;
            }
        }
    }
}

/// [`BusinessCalendar::add`] for one call.
pub fn add_business_time(
    calendar: &Calendar,
    from: Timestamp,
    duration: SignedDuration,
) -> Result<Timestamp, SlaError> {
    BusinessCalendar::new(calendar)?.add(from, duration)
}

/// [`BusinessCalendar::between`] for one call; zero for a calendar whose time zone is
/// unknown (the matrix parser refuses those).
pub fn business_time_between(calendar: &Calendar, a: Timestamp, b: Timestamp) -> SignedDuration {
    BusinessCalendar::new(calendar).map(|c| c.between(a, b)).unwrap_or(SignedDuration::ZERO)
}

/// [`BusinessCalendar::is_open`] for one call; `false` for an unknown time zone.
pub fn is_open(calendar: &Calendar, at: Timestamp) -> bool {
    BusinessCalendar::new(calendar).is_ok_and(|c| c.is_open(at))
}

/// [`BusinessCalendar::next_open`] for one call; `None` for an unknown time zone.
pub fn next_open(calendar: &Calendar, at: Timestamp) -> Option<Timestamp> {
    BusinessCalendar::new(calendar).ok().and_then(|c| c.next_open(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::WeeklyHours;
    use crate::matrix::model::parse_window;

    fn cal(tz: &str, weekdays: &str) -> Calendar {
        let mut hours = WeeklyHours::default();
        for d in 0..5 {
            hours.days[d].push(parse_window(weekdays).unwrap());
        }
        Calendar { timezone: tz.into(), hours, holidays: vec![], overrides: BTreeMap::new() }
    }

    #[test]
    fn intervals_are_ordered_and_disjoint_with_overlapping_windows() {
        let mut c = cal("UTC", "08:00-12:00");
        c.hours.days[0].push(parse_window("10:00-14:00").unwrap());
        c.hours.days[0].push(parse_window("22:00-09:00").unwrap());
        let b = BusinessCalendar::new(&c).unwrap();
        let from: Timestamp = "2026-11-23T00:00:00Z".parse().unwrap(); // a Monday
        let ivs: Vec<_> = b.intervals_from(from).take(4).collect();
        for pair in ivs.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{ivs:?}");
        }
        assert_eq!(b.between(from, "2026-11-24T00:00:00Z".parse().unwrap()), SignedDuration::from_hours(8));
        // Tuesday 08:00-09:00 is covered by Monday's overnight window: counted once.
        assert_eq!(
            b.between("2026-11-23T22:00:00Z".parse().unwrap(), "2026-11-24T12:00:00Z".parse().unwrap()),
            SignedDuration::from_hours(14)
        );
    }

    #[test]
    fn unknown_time_zone_and_negative_duration() {
        let c = cal("Mars/Olympus", "08:00-20:00");
        let at: Timestamp = "2026-11-23T00:00:00Z".parse().unwrap();
        assert_eq!(
            add_business_time(&c, at, SignedDuration::ZERO),
            Err(SlaError::UnknownTimeZone("Mars/Olympus".into()))
        );
        assert!(!is_open(&c, at));
        let c = cal("UTC", "08:00-20:00");
        assert!(matches!(add_business_time(&c, at, SignedDuration::from_secs(-1)), Err(SlaError::NegativeDuration(_))));
    }
}
