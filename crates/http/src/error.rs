//! One error type for the API, rendered as RFC 9457 `application/problem+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ladder_core::DomainError;
use ladder_engine::AuthError;
use ladder_engine::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A problem report (RFC 9457). `type` is stable per kind of error; extension members
/// say where the problem is (`field`) or what state blocked it (`current_state`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field that was wrong, as a JSON path (`to_level`, `identities[0].value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The case's status when a transition was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<String>,
    /// The case's version when an `If-Match` was stale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// Line and column of a JSON syntax error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// For server errors: quote this id to the operator; the log has the details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    /// For an invalid escalation matrix: every problem, with its line and column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<DiagnosticDto>>,
    /// For `429` and `503`: seconds to wait before retrying, as in the `Retry-After` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// For an escalation that would leave the case without a team (`field` is `to_team`):
    /// the teams of the target level to choose from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<CandidateTeam>>,
}

/// A team to choose from, when the server cannot tell which team should take a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CandidateTeam {
    /// The team's slug, as `to_team` takes it.
    pub team: String,
    pub name: String,
}

/// One problem in an escalation matrix file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiagnosticDto {
    /// `error` or `warning`.
    pub severity: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    /// Where in the matrix, e.g. `rules[3].when`.
    pub path: String,
}

impl From<&ladder_core::matrix::Diagnostic> for DiagnosticDto {
    fn from(d: &ladder_core::matrix::Diagnostic) -> Self {
        DiagnosticDto {
            severity: d.severity.as_str().to_string(),
            line: d.line,
            column: d.column,
            message: d.message.clone(),
            hint: d.hint.clone(),
            path: d.path.clone(),
        }
    }
}

#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        ApiError(Box::new(Problem {
            kind: format!("/problems/{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            current_state: None,
            current_version: None,
            line: None,
            column: None,
            error_id: None,
            errors: None,
            retry_after: None,
            candidates: None,
        }))
    }
    /// `429 Too Many Requests`: the caller should wait `wait` (rounded up to whole seconds).
    pub fn too_many_requests(detail: impl Into<String>, wait: std::time::Duration) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "Too many requests", detail);
        e.0.retry_after = Some(whole_seconds(wait));
        e
    }
    /// `503 Service Unavailable` for a while: the caller may retry after `wait`.
    pub fn unavailable(kind: &str, title: &str, detail: impl Into<String>, wait: std::time::Duration) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, kind, title, detail);
        e.0.retry_after = Some(whole_seconds(wait));
        e
    }
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        let detail = detail.into();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request field",
            format!("{field}: {detail}"),
        );
        e.0.field = Some(field);
        e
    }
    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.into();
        let mut e =
            Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", format!("{field}: {}", detail.into()));
        e.0.field = Some(field);
        e
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("{} does not exist", what.into()))
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required", detail)
    }
    /// An escalation matrix with errors: all of them, the first in `detail`.
    pub fn invalid_matrix(diagnostics: &[ladder_core::matrix::Diagnostic]) -> Self {
        let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
        let detail = match errors.first() {
            Some(first) => format!(
                "{} errors; the first: line {}, column {}: {}",
                errors.len(),
                first.line,
                first.column,
                first.message
            ),
            None => "the matrix is invalid".to_string(),
        };
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-matrix", "Invalid escalation matrix", detail);
        if let Some(first) = errors.first() {
            e.0.line = Some(first.line);
            e.0.column = Some(first.column);
            e.0.field = Some(first.path.clone());
        }
        e.0.errors = Some(diagnostics.iter().map(DiagnosticDto::from).collect());
        e
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        let id = uuid::Uuid::now_v7().to_string();
        tracing::error!(error_id = %id, error = %error, "internal error");
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server could not complete the request; quote error_id to the operator",
        );
        e.0.error_id = Some(id);
        e
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, message } => ApiError::validation(field, message),
            DomainError::InvalidTransition { current, .. } => {
                let mut p =
                    ApiError::new(StatusCode::CONFLICT, "invalid-transition", "Invalid transition", e.to_string());
                p.0.current_state = Some(current.as_str().to_string());
                p
            }
            DomainError::NoSuchCase(m) => ApiError::not_found(m),
            DomainError::NoOwner { message, candidates, .. } => {
                let mut p = ApiError::validation("to_team", message);
                p.0.candidates =
                    Some(candidates.into_iter().map(|c| CandidateTeam { team: c.team, name: c.name }).collect());
                p
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::Forbidden(m) => ApiError::forbidden(m),
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::VersionConflict { expected, actual } => {
                let mut p = ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "stale-version",
                    "Stale version",
                    format!(
                        "If-Match asked for version {expected} but the case is at version {actual}; reload and retry"
                    ),
                );
                p.0.current_version = Some(actual);
                p
            }
            StoreError::Duplicate(m) => ApiError::new(StatusCode::CONFLICT, "duplicate", "Already exists", m),
            StoreError::InUse(m) => ApiError::new(StatusCode::CONFLICT, "in-use", "Still in use", m),
            StoreError::IdempotencyMismatch => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "this Idempotency-Key was already used with a different request; use a new key for a new request",
            ),
            StoreError::Busy { what, retry_after } => {
                ApiError::unavailable("busy", "Server busy", format!("{what}; retry shortly"), retry_after)
            }
            StoreError::WritesUnavailable(m) => {
                tracing::error!(error = %m, "a write was refused by the database");
                ApiError::unavailable("writes-unavailable", "Writes unavailable", m, WRITES_RETRY_AFTER)
            }
            StoreError::Internal(m) => ApiError::internal(m),
        }
    }
}

impl From<ladder_engine::rules::MatrixError> for ApiError {
    fn from(e: ladder_engine::rules::MatrixError) -> Self {
        use ladder_engine::budget::Overloaded;
        use ladder_engine::rules::MatrixError;
        match e {
            MatrixError::Invalid(diagnostics) => ApiError::invalid_matrix(&diagnostics),
            MatrixError::Store(s) => s.into(),
            MatrixError::Overloaded(o @ Overloaded::Busy(_)) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "Busy", o.to_string())
            }
            MatrixError::Overloaded(o @ Overloaded::TooSlow(_)) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "matrix-too-slow",
                "Checking the matrix took too long",
                format!("{o}; simplify its rules (see the limits in the matrix reference)"),
            ),
            MatrixError::Overloaded(o @ Overloaded::Failed(_)) => ApiError::internal(o),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(s) => s.into(),
            AuthError::Throttled { retry_after } => ApiError::too_many_requests(
                format!(
                    "too many failed sign-ins for this account or from this address; try again in {} s",
                    whole_seconds(retry_after)
                ),
                retry_after,
            ),
            other => ApiError::unauthenticated(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"ladder\""));
        }
        if let Some(secs) = self.0.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// How long a client refused because the database takes no writes is told to wait.
const WRITES_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) use ladder_engine::credentials::whole_seconds;

/// Middleware: an error answered by the framework (405, 413, a rejected query string, a
/// timeout) gets a problem+json body like every other error.
///
/// A body refused for its size was not read to its end, so the connection cannot carry
/// another request: the answer says `Connection: close`, and a client that pools connections
/// opens a new one instead of sending its next request down a socket the server is closing.
pub async fn problem_for_bare_errors(response: Response) -> Response {
    let mut response = bare_error_as_problem(response).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    response
}

async fn bare_error_as_problem(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    // Console pages render their own errors as HTML.
    let is_page = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    // The Events API v2 answers its errors in PagerDuty's JSON, as its clients expect.
    let is_events_v2 = response.headers().contains_key(crate::alerts::EVENTS_V2_ANSWER);
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_page || is_events_v2 {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("Error");
    let kind = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        s if s.is_client_error() => "bad-request",
        _ => "internal",
    };
    let detail = if text.is_empty() { reason.to_lowercase() } else { text };
    let mut problem = ApiError::new(status, kind, reason, detail).into_response();
    // What the answer said besides its body stays: `Allow` on a 405 (RFC 9110, section
    // 15.5.6), `Retry-After`, `WWW-Authenticate`.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !problem.headers().contains_key(name) {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}
