//! What the server measures of itself, for `/metrics` beside the business gauges: the
//! writer (writes per batch, time from BEGIN to COMMIT, queue depth, failed batches), the SLA
//! timers (fired, stale, lag behind their due instant), the outbox (sent, failed attempts)
//! and every HTTP request (latency by method, route template and status class). The store and
//! the engine record through the `metrics` facade, which costs nothing until `serve` installs
//! the Prometheus recorder ([`install_recorder`]).
//!
//! Every request also carries a request id (`X-Request-Id`: the client's when it is a short
//! token, else a fresh UUID), echoed in the answer and a field of the request's log span, so a
//! JSON log line can be matched to the request that caused it.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The request id header.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-chosen request id kept.
const MAX_REQUEST_ID: usize = 64;

/// Installs the process-wide Prometheus recorder (once; later calls do nothing).
pub fn install_recorder() -> Result<(), String> {
    if RECORDER.get().is_some() {
        return Ok(());
    }
    let seconds = [0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
    let writes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];
    let handle = PrometheusBuilder::new()
        .set_buckets(&seconds)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full("ladder_writer_batch_writes".into()), &writes))
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| e.to_string())?;
    describe();
    let _ = RECORDER.set(handle);
    Ok(())
}

fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!("ladder_writer_batch_writes", "Writes committed together in one transaction (group commit).");
    describe_histogram!("ladder_writer_batch_seconds", Unit::Seconds, "One write batch, from BEGIN to COMMIT.");
    describe_gauge!("ladder_writer_queue_depth", "Writes waiting for the writer when a batch began.");
    describe_counter!("ladder_writer_batches_failed_total", "Write batches rolled back.");
    describe_counter!("ladder_timers_fired_total", "SLA timers fired.");
    describe_counter!("ladder_timers_stale_total", "Timers that found nothing to do (stale, already fired).");
    describe_histogram!("ladder_timer_lag_seconds", Unit::Seconds, "How late a timer fired after its due instant.");
    describe_counter!("ladder_deliveries_sent_total", "Notifications delivered.");
    describe_counter!("ladder_delivery_attempts_failed_total", "Delivery attempts that failed (retried or dead).");
    describe_histogram!(
        "ladder_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP requests until the answer's head, by method, route template and status class."
    );
}

/// The recorder's metrics in the Prometheus text format; empty when none is installed.
pub(crate) fn render() -> String {
    RECORDER.get().map_or_else(String::new, |h| {
        h.run_upkeep();
        h.render()
    })
}

/// Times a routed request under its route's template (`/api/v1/cases/{id}`, never the
/// concrete path, so the series stay few).
pub(crate) async fn track(route: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = route.map_or_else(|| "unmatched".to_owned(), |r| r.as_str().to_owned());
    let response = next.run(request).await;
    let class = match response.status().as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    ::metrics::histogram!("ladder_http_request_duration_seconds", "method" => method, "route" => route, "status" => class)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Gives the request an id (the client's `X-Request-Id` when it is 1 to 64 letters, digits,
/// `.`, `_` or `-`; otherwise a new UUID) and echoes it in the answer.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let id =
        request.headers().get(&REQUEST_ID).filter(|v| acceptable(v.as_bytes())).cloned().unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()).expect("a UUID is a header value")
        });
    request.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

fn acceptable(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len()) && id.iter().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}

/// The log span of a request: method, URI and id. A URI that is a credential (a portal link,
/// a calendar feed's token) is shown without its secret.
pub(crate) fn span(request: &Request) -> tracing::Span {
    let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
    let uri = loggable_uri(request.uri());
    tracing::info_span!("request", method = %request.method(), uri = %uri, request_id = %id)
}

/// The calendar feeds' path, whose last segment is the feed's secret.
const CALENDARS: &str = "/api/v1/calendars/";

fn loggable_uri(uri: &axum::http::Uri) -> String {
    if uri.path().starts_with(CALENDARS) { format!("{CALENDARS}…") } else { crate::web::portal::loggable_uri(uri) }
}

#[cfg(test)]
mod tests {
    use super::{acceptable, loggable_uri};

    #[test]
    fn a_credential_in_a_path_is_never_logged() {
        let feed: axum::http::Uri = "/api/v1/calendars/ldrcal_secretsecret?weeks=4".parse().unwrap();
        assert_eq!(loggable_uri(&feed), "/api/v1/calendars/…");
        let portal: axum::http::Uri = "/portal/0123456789abcdef0123/reply".parse().unwrap();
        assert!(!loggable_uri(&portal).contains("0123456789abcdef0123"), "{}", loggable_uri(&portal));
        let case: axum::http::Uri = "/api/v1/cases/42?x=1".parse().unwrap();
        assert_eq!(loggable_uri(&case), "/api/v1/cases/42?x=1");
    }

    #[test]
    fn a_client_request_id_is_kept_only_when_short_and_plain() {
        assert!(acceptable(b"abc-123_x.y"));
        assert!(acceptable(&[b'a'; 64]));
        assert!(!acceptable(&[b'a'; 65]));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"a b"));
        assert!(!acceptable(b"line\nbreak"));
        assert!(!acceptable("é".as_bytes()));
    }
}
