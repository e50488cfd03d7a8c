//! `/api/v1/sla`: what is at risk now, for supervisors' boards.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::dto::CaseDto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Auth;

/// The SLA standings a case can be filtered on.
pub const STANDINGS: [&str; 4] = ["breached", "at_risk", "running", "paused"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(at_risk)).routes(routes!(timers))
}

/// `breached,at_risk` → the list; an unknown standing is a 400 naming the field.
pub(crate) fn parse_standings(raw: Option<&str>) -> ApiResult<Vec<String>> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    raw.split(',')
        .map(|s| s.trim_matches(' '))
        .filter(|s| !s.is_empty())
        .map(|s| {
            if STANDINGS.contains(&s) {
                Ok(s.to_string())
            } else {
                Err(ApiError::bad_request("sla", format!("'{s}' is not one of {}", STANDINGS.join(", "))))
            }
        })
        .collect()
}

/// The longest `within` of `/sla/at-risk`: a year.
const MAX_WITHIN: jiff::SignedDuration = jiff::SignedDuration::from_hours(366 * 24);

#[derive(Debug, Deserialize, IntoParams)]
pub struct AtRiskQuery {
    /// Also list cases whose earliest running clock falls due within this span, e.g. `1h`
    /// (at most `366d`).
    #[param(pattern = "^(0|(?=[0-9])([0-9]{1,9}d)?([0-9]{1,9}h)?([0-9]{1,9}m)?([0-9]{1,9}s)?)$")]
    within: Option<String>,
    /// 1–1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Cases at risk now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AtRiskDto {
    /// Breached and at-risk cases (and with `within`, cases due soon), the least time left
    /// first. Each case's `clocks` say which clock and how much business time is left.
    pub items: Vec<CaseDto>,
}

/// Cases the caller may see with a breached or at-risk SLA clock (a warning has fired),
/// ordered by time left: the most overdue first.
#[utoipa::path(get, path = "/api/v1/sla/at-risk", tag = "sla", params(AtRiskQuery),
    responses((status = 200, body = AtRiskDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 422, body = Problem)))]
async fn at_risk(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<AtRiskQuery>,
) -> ApiResult<Json<AtRiskDto>> {
    let limit = crate::extract::limit_param("limit", q.limit, 100, 1000)?;
    let now = state.engine.now();
    let due_before = match q.within.as_deref() {
        None => None,
        Some(w) => {
            let span = crate::extract::duration_param("within", w, MAX_WITHIN)?;
            Some(crate::extract::later("within", now, span)?)
        }
    };
    let standings = vec!["breached".to_string(), "at_risk".to_string()];
    let cases = state.engine.sla_cases(&auth.0, standings, due_before, limit).await?;
    Ok(Json(AtRiskDto { items: cases.iter().map(|c| state.case_dto(c)).collect() }))
}

/// The SLA timer engine's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimersDto {
    /// Clock timers armed in the store.
    pub armed: u64,
    /// The soonest armed timer, as the loop last saw it.
    pub next_fire_at: Option<jiff::Timestamp>,
    /// Sweeps since the server started; the first is the catch-up on what fell due while
    /// it was down.
    pub sweeps: u64,
    pub last_sweep_at: Option<jiff::Timestamp>,
    /// The server's clock.
    pub now: jiff::Timestamp,
}

/// The timer engine's state, for supervisors and operators.
#[utoipa::path(get, path = "/api/v1/sla/timers", tag = "sla",
    responses((status = 200, body = TimersDto), (status = 403, body = Problem), (status = 401, body = Problem)))]
async fn timers(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<TimersDto>> {
    let armed = state.engine.armed_timers(&auth.0).await?;
    let status = state.engine.timer_status();
    Ok(Json(TimersDto {
        armed,
        next_fire_at: status.next_fire_at,
        sweeps: status.sweeps,
        last_sweep_at: status.last_sweep_at,
        now: state.engine.now(),
    }))
}
