//! How the benchmarks sum latencies up and print them: percentiles, the one-line latency
//! report, and durations in milliseconds or microseconds.

use std::time::Duration;

/// The `p` quantile (0 to 1) of `sorted`; zero when there are no samples.
pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Prints `label: n=… throughput=…/s p50=… p95=… p99=… max=…` of `samples` over `elapsed`.
pub(super) fn report(label: &str, mut samples: Vec<Duration>, elapsed: Duration) {
    samples.sort();
    println!(
        "{label}: n={} throughput={:.0}/s p50={:.2}ms p95={:.2}ms p99={:.2}ms max={:.2}ms",
        samples.len(),
        samples.len() as f64 / elapsed.as_secs_f64(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.95)),
        ms(percentile(&samples, 0.99)),
        ms(slowest(&samples)),
    );
}

/// The last of `sorted`; zero when there are no samples.
pub(super) fn slowest(sorted: &[Duration]) -> Duration {
    *sorted.last().unwrap_or(&Duration::ZERO)
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(super) fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
