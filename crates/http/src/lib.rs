//! Ladder's HTTP API: axum handlers under `/api/v1`, problem+json errors, bearer-token
//! authentication, an OpenAPI 3.1 document generated from the handlers, health probes and
//! a Server-Sent-Events stream of case changes.
//!
//! # Layout
//! - [`cases`], [`directory`]: one module per resource, each with a `router()`.
//! - [`dto`]: the wire types; they convert to and from domain types explicitly.
//! - [`error`]: [`error::ApiError`] → RFC 9457 problem+json.
//! - [`extract`]: `Auth` (bearer token) and `Write<T>` (JSON body, `Idempotency-Key`, `If-Match`).
//! - [`web`]: the web console (server-rendered pages, session cookie, CSRF), mounted at `/`.

pub mod agents;
pub mod alerts;
mod articles;
mod audit;
pub mod cases;
pub mod contacts;
mod deliveries;
pub mod directory;
pub mod dto;
pub mod error;
pub mod extract;
mod ical;
pub mod inbound;
mod incidents;
mod insights;
pub mod limits;
mod live;
mod macros;
pub mod matrix;
mod metrics;
mod models;
pub mod observe;
pub mod openapi;
mod queues;
mod schedules;
mod search;
mod services;
mod simulations;
mod sla;
pub mod smtp;
pub mod web;

use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use ladder_core::Case;
use ladder_engine::Engine;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Shared state of every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    /// What-if simulations started on this server.
    pub(crate) simulations: std::sync::Arc<simulations::Simulations>,
    /// Becomes `true` when the server shuts down, so long-lived streams end.
    shutting_down: watch::Receiver<bool>,
    /// How the console is reached (its cookies are `Secure` over HTTPS).
    pub(crate) web: std::sync::Arc<web::WebConfig>,
    /// Request rates per address and per credential.
    pub(crate) limits: std::sync::Arc<limits::RateLimiter>,
    /// How long a request may take to be answered (a stream's body is not limited).
    request_timeout: Duration,
    /// How inbound email is taken in (the HTTP route and the SMTP listener).
    pub(crate) mail: std::sync::Arc<ladder_engine::MailIntake>,
    /// How SMS, chat, social and voice contacts are taken in (their webhooks' secrets).
    pub(crate) contacts: std::sync::Arc<ladder_engine::ContactIntake>,
    /// The customer portal's posts per link and per address.
    pub(crate) portal: std::sync::Arc<web::portal::PortalLimits>,
}

/// How a server protects itself from load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServeConfig {
    pub rate_limits: limits::RateLimits,
    /// How long a request may take before it is answered `503` (a stream, once answered,
    /// runs on).
    pub request_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig { rate_limits: limits::RateLimits::default(), request_timeout: Duration::from_secs(30) }
    }
}

impl AppState {
    pub fn new(engine: Engine) -> Self {
        Self::with_config(engine, ServeConfig::default())
    }

    /// The state of a server that protects itself from load as `config` says.
    pub fn with_config(engine: Engine, config: ServeConfig) -> Self {
        Self::with_shutdown(engine, watch::channel(false).1, config)
    }

    fn with_shutdown(engine: Engine, shutting_down: watch::Receiver<bool>, config: ServeConfig) -> Self {
        AppState {
            engine,
            simulations: Default::default(),
            shutting_down,
            web: Default::default(),
            limits: std::sync::Arc::new(limits::RateLimiter::new(config.rate_limits)),
            request_timeout: config.request_timeout,
            mail: Default::default(),
            contacts: Default::default(),
            portal: Default::default(),
        }
    }

    /// A case as the API shows it now, its clocks measured in the active matrix's calendars.
    pub(crate) fn case_dto(&self, case: &Case) -> dto::CaseDto {
        let active = self.engine.active_matrix();
        dto::CaseDto::new(case, active.as_ref().map(|a| &a.sla), self.engine.now())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Ladder API", description = "Escalation management: cases, levels, teams, escalations."),
    components(schemas(error::Problem)),
    tags(
        (name = "cases", description = "Cases and their commands"),
        (name = "agents", description = "Agents' presence, skills, languages, capacity and load"),
        (name = "sla", description = "SLA clocks at risk"),
        (name = "queues", description = "Team queues in priority order"),
        (name = "metrics", description = "Escalation metrics (JSON, CSV) and Prometheus gauges"),
        (name = "customers"), (name = "teams"), (name = "users"), (name = "tokens"), (name = "auth"),
        (name = "audit", description = "Who changed the directory, and when"),
        (name = "macros", description = "Canned replies of a team or of one user"),
        (name = "articles", description = "Knowledge articles and the suggestions for a case"),
        (name = "schedules", description = "On-call schedules: who is on call, shifts, gaps, overrides and calendar feeds"),
        (name = "matrix", description = "The escalation matrix: drafts, versions, activation, rollback"),
        (name = "inbound", description = "Email taken in as raw RFC 5322 messages; SMS, chat, social and voice contacts through signed webhooks"),
        (name = "incidents", description = "IT incidents: services, integration keys, alert intake"),
        (name = "live", description = "Server-Sent Events"), (name = "operations", description = "Health probes"),
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("ldr_…").build()),
        );
    }
}

/// The API router and its OpenAPI document.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(agents::router())
        .merge(audit::router())
        .merge(cases::router())
        .merge(directory::router())
        .merge(matrix::router())
        .merge(sla::router())
        .merge(queues::router())
        .merge(search::router())
        .merge(metrics::router())
        .merge(insights::router())
        .merge(macros::router())
        .merge(services::router())
        .merge(alerts::router())
        .merge(incidents::router())
        .merge(models::router())
        .merge(deliveries::router())
        .merge(articles::router())
        .merge(schedules::router())
        .merge(simulations::router())
        .merge(inbound::router())
        .merge(contacts::router())
        .routes(utoipa_axum::routes!(healthz))
        .routes(utoipa_axum::routes!(readyz))
        .routes(utoipa_axum::routes!(live::stream))
        .split_for_parts();
    // After the merge, so every route's operation gets the shared problem answers and the
    // load-protection ones.
    let mut openapi = openapi;
    openapi::complete(&mut openapi);
    utoipa::Modify::modify(&limits::LimitResponses, &mut openapi);
    let openapi_json = serde_json::to_value(&openapi).unwrap_or_default();
    let app = api
        .route("/openapi.json", get(move || async move { Json(openapi_json.clone()) }))
        .merge(web::router(state.clone()))
        .route_layer(axum::middleware::from_fn(observe::track))
        .fallback(web::deep_links::not_found)
        .with_state(state.clone());
    // 1 MiB for every body but a raw email's, which has the intake's limit.
    let small = app.clone().layer(RequestBodyLimitLayer::new(1024 * 1024));
    // (Wrapped, so axum takes it as a service of its own rather than a router to nest.)
    let mail = tower::ServiceExt::map_request(
        app.layer(RequestBodyLimitLayer::new(inbound::BODY_LIMIT)),
        |request: axum::extract::Request| request,
    );
    Router::new()
        .route_service(inbound::PATH, mail)
        .fallback_service(small)
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.request_timeout))
        .layer(CatchPanicLayer::custom(|_| error::ApiError::internal("a handler panicked").into_response()))
        // Outside the timeout: a request over its rate costs no handler anything.
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::rate_limit))
        // Outside the limit and timeout layers, so their answers become problem+json too.
        .layer(axum::middleware::map_response(error::problem_for_bare_errors))
        .layer(TraceLayer::new_for_http().make_span_with(observe::span))
        // Outermost: every answer, even a refusal by the layers above, carries the id.
        .layer(axum::middleware::from_fn(observe::request_id))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()), responses((status = 200, body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses((status = 200, body = String), (status = 503, body = error::Problem)))]
async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    match state.engine.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// How long a remembered `Idempotency-Key` answer is kept.
const IDEMPOTENCY_TTL: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Serves until `shutdown` completes, then ends live streams and drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    engine: Engine,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, engine, ServeConfig::default(), web::WebConfig::default(), shutdown).await
}

/// [`serve`] with the given rate limits and request timeout, and the console reached as
/// `web` says (HTTPS, trusted proxies).
pub async fn serve_with(
    listener: TcpListener,
    engine: Engine,
    config: ServeConfig,
    web: web::WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_channels(listener, engine, config, web, Channels::default(), shutdown).await
}

/// Where contacts come in besides the API: how email is taken in, and the SMTP listener.
#[derive(Debug, Default)]
pub struct Channels {
    pub mail: ladder_engine::MailIntake,
    /// `ladder serve --smtp-listen`: the bound socket, and the listener's limits.
    pub smtp: Option<(TcpListener, smtp::SmtpLimits)>,
    /// The SMS and contact webhooks' secrets (each webhook refuses every request without).
    pub contacts: ladder_engine::ContactIntake,
}

/// [`serve_with`], taking in email as `channels` says (and over SMTP when it names a listener).
pub async fn serve_channels(
    listener: TcpListener,
    engine: Engine,
    config: ServeConfig,
    web: web::WebConfig,
    channels: Channels,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tell, shutting_down) = watch::channel(false);
    let mail = std::sync::Arc::new(channels.mail);
    let smtp = channels.smtp.map(|(listener, limits)| {
        tokio::spawn(smtp::serve(listener, engine.clone(), mail.clone(), limits, shutting_down.clone()))
    });
    let housekeeper = engine.clone();
    let housekeeping = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            // The engine's clock, so a server run on a shifted clock keeps its own time.
            housekeeper.housekeep(housekeeper.now(), IDEMPOTENCY_TTL).await;
        }
    });
    // The SLA timer engine: catches up on what fell due while the server was down, then
    // fires warnings and breaches as they fall due.
    let timers = tokio::spawn(engine.clone().run_timers(shutting_down.clone()));
    // The notification outbox: delivers what case writes queued, retries what failed.
    let deliveries = tokio::spawn(engine.clone().run_deliveries(shutting_down.clone()));
    // Other servers on the same PostgreSQL database: their changes reach the live views.
    let others = tokio::spawn(engine.clone().follow_other_servers(shutting_down.clone()));
    // Queue overflow (the matrix's [[queues]]) is checked every 15 seconds.
    let overflow_engine = engine.clone();
    let overflow = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(15));
        loop {
            every.tick().await;
            match overflow_engine.overflow_queues(overflow_engine.now()).await {
                Ok(n) if n > 0 => tracing::info!(cases = n, "queue overflow moved cases"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not check queue overflow"),
            }
        }
    });
    let mut state = AppState::with_shutdown(engine, shutting_down, config);
    state.web = std::sync::Arc::new(web);
    state.mail = mail;
    state.contacts = std::sync::Arc::new(channels.contacts);
    let app = router(state);
    // The peer's address reaches the rate limits, the login throttle and the console's
    // trusted-proxy check.
    let result = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = tell.send(true);
        })
        .await;
    housekeeping.abort();
    overflow.abort();
    if let Some(smtp) = smtp {
        smtp.abort();
    }
    others.abort();
    // Both loops stop at the shutdown signal once what is in flight is written.
    let stop_deliveries = deliveries.abort_handle();
    if tokio::time::timeout(Duration::from_secs(5), deliveries).await.is_err() {
        stop_deliveries.abort();
    }
    let stop = timers.abort_handle();
    if tokio::time::timeout(Duration::from_secs(5), timers).await.is_err() {
        stop.abort();
    }
    result
}
