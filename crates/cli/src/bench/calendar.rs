//! `ladder bench calendar`: business-time deadlines on the contact-center example's
//! `support` calendar from many starting instants.

use std::time::Instant;

use anyhow::Context;
use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::measure::{percentile, slowest, us};

pub(super) fn bench_calendar(n: usize) -> anyhow::Result<()> {
    use ladder_core::matrix;
    use ladder_core::sla::{BusinessCalendar, add_business_time};

    let source = include_str!("../../../../examples/contact-center.toml");
    let (m, _) = matrix::parse(source, "contact-center.toml").map_err(|e| anyhow::anyhow!("{}", e[0]))?;
    let calendar = m.calendars.get("support").context("the example has no 'support' calendar")?;
    let business = BusinessCalendar::new(calendar)?;
    let target = jiff::SignedDuration::from_hours(8);
    // Starting instants spread over 2026 (holidays, overrides, weekends, both DST changes).
    let mut rng = StdRng::seed_from_u64(5);
    let year_start = "2026-01-01T00:00:00Z".parse::<Timestamp>()?.as_second();
    let starts: Vec<Timestamp> = (0..n)
        .map(|_| Timestamp::from_second(year_start + rng.random_range(0..365 * 86_400)))
        .collect::<Result<_, _>>()?;
    let mut samples = Vec::with_capacity(n);
    let mut last = Timestamp::UNIX_EPOCH;
    for (i, from) in starts.iter().chain(starts.iter().take(n / 10)).enumerate() {
        let started = Instant::now();
        last = std::hint::black_box(business.add(std::hint::black_box(*from), target))?;
        let took = started.elapsed();
        // The first tenth warms caches up and is not counted.
        if i >= n / 10 {
            samples.push(took);
        }
    }
    samples.sort();
    println!(
        "add_business_time (BusinessCalendar, time zone resolved once): support calendar, 8h target, n={} p50={:.2}µs p99={:.2}µs max={:.2}µs (last deadline {last})",
        samples.len(),
        us(percentile(&samples, 0.50)),
        us(percentile(&samples, 0.99)),
        us(slowest(&samples)),
    );
    let started = Instant::now();
    for from in &starts {
        std::hint::black_box(business.add(std::hint::black_box(*from), target))?;
    }
    println!("  back to back: {:.2}µs per deadline on average", us(started.elapsed()) / n as f64);
    let mut oneshot = Vec::with_capacity(10_000);
    for from in starts.iter().take(10_000) {
        let started = Instant::now();
        std::hint::black_box(add_business_time(calendar, std::hint::black_box(*from), target))?;
        oneshot.push(started.elapsed());
    }
    oneshot.sort();
    println!(
        "  free function add_business_time (looks the time zone up and copies the calendar on every call): n={} p50={:.2}µs p99={:.2}µs",
        oneshot.len(),
        us(percentile(&oneshot, 0.50)),
        us(percentile(&oneshot, 0.99)),
    );
    Ok(())
}
