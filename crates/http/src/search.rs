//! `/api/v1/search`: the console's search over the API — a case by its number, words of its
//! subject or messages, or its customer's name, email address or phone number, only among
//! the cases the caller may read ([`ladder_engine::Engine::search_cases`], the same scope
//! rules as `GET /api/v1/cases`).

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::dto::CaseDto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Auth;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// The longest query, in characters (the console's search box has the same bound).
pub const MAX_QUERY_CHARS: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// A case number (`994` or `#994`), words of the case's text, or its customer's name,
    /// email address or phone number; 1–200 characters.
    #[param(required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    q: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// The cases that match, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResultsDto {
    pub items: Vec<CaseDto>,
    /// More cases matched than `limit`: narrow the query to see them.
    pub more: bool,
}

/// Find cases by number, words, or their customer's name, email or phone; only cases the
/// caller may read.
#[utoipa::path(get, path = "/api/v1/search", tag = "cases", params(SearchQuery),
    responses((status = 200, body = SearchResultsDto), (status = 400, body = Problem), (status = 422, body = Problem)))]
async fn search(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<SearchResultsDto>> {
    let limit = crate::extract::limit_param("limit", q.limit, 50, 200)?;
    let query = q.q.as_deref().map(str::trim).unwrap_or_default();
    if query.is_empty() {
        return Err(ApiError::validation(
            "q",
            "give what to search for: a case number, words, or a customer's name, email or phone",
        ));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::validation("q", format!("is longer than {MAX_QUERY_CHARS} characters")));
    }
    let results = state.engine.search_cases(&auth.0, query, limit).await?;
    Ok(Json(SearchResultsDto { items: results.cases.iter().map(|c| state.case_dto(c)).collect(), more: results.more }))
}
