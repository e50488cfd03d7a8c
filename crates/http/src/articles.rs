//! `/api/v1/articles`: knowledge articles (CRUD, `?q=` search, versions), and
//! `/api/v1/cases/{id}/suggestions`: the published articles most similar to a case. Everyone
//! reads published articles; supervisors, managers and admins also read drafts and write
//! (`core::access`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use ladder_core::articles::{ArticleFields, ArticleStatus, MAX_SUGGESTIONS};
use ladder_engine::ArticleQuery;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::dto::{ArticleDto, ArticlePageDto, SuggestionDto};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{Auth, Write, limit_param};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_articles, create_article))
        .routes(routes!(get_article, replace_article, delete_article))
        .routes(routes!(article_versions))
        .routes(routes!(case_suggestions))
}

fn article_id(raw: &str) -> ApiResult<Uuid> {
    raw.parse().map_err(|_| ApiError::bad_request("id", format!("'{raw}' is not an article id (a UUID)")))
}

/// Search and paging of the article list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArticleListQuery {
    /// Full-text search over titles, bodies, tags, categories and resolution codes, the best
    /// matches first: at most 1,000 bytes and 16 distinct words. Without it, the most
    /// recently changed first.
    #[param(max_length = 1000)]
    q: Option<String>,
    /// `draft` or `published`; agents see published articles only.
    #[param(pattern = "^(draft|published)$")]
    status: Option<String>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// From `next_offset` of the previous page; at most 10,000.
    #[param(minimum = 0, maximum = 10000)]
    offset: Option<u32>,
}

/// Knowledge articles the caller may read, searched with `q` or the most recently changed
/// first, a page at a time.
#[utoipa::path(get, path = "/api/v1/articles", tag = "articles", params(ArticleListQuery),
    responses((status = 200, body = ArticlePageDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn list_articles(
    State(s): State<AppState>,
    auth: Auth,
    Query(q): Query<ArticleListQuery>,
) -> ApiResult<Json<ArticlePageDto>> {
    let status = match q.status.as_deref() {
        None => None,
        Some("draft") => Some(ArticleStatus::Draft),
        Some("published") => Some(ArticleStatus::Published),
        Some(other) => return Err(ApiError::bad_request("status", format!("'{other}' is not draft or published"))),
    };
    let offset = q.offset.unwrap_or(0);
    if offset > 10_000 {
        return Err(ApiError::bad_request("offset", "is at most 10000; narrow the search instead"));
    }
    let query = ArticleQuery {
        q: q.q.filter(|q| !q.trim().is_empty()),
        status,
        limit: limit_param("limit", q.limit, 20, 100)?,
        offset,
    };
    let page = s.engine.articles(&auth.0, query).await?;
    Ok(Json(ArticlePageDto {
        articles: page.articles.iter().map(ArticleDto::from).collect(),
        next_offset: page.next_offset,
    }))
}

/// Write a new article (supervisors, managers and admins): its first version.
#[utoipa::path(post, path = "/api/v1/articles", tag = "articles", request_body = ArticleFields,
    responses((status = 201, body = ArticleDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn create_article(
    State(s): State<AppState>,
    auth: Auth,
    write: Write<ArticleFields>,
) -> ApiResult<(StatusCode, Json<ArticleDto>)> {
    let a = s.engine.create_article(&auth.0, write.body, s.engine.now()).await?;
    Ok((StatusCode::CREATED, Json(ArticleDto::from(&a))))
}

/// One article the caller may read, at its current version.
#[utoipa::path(get, path = "/api/v1/articles/{id}", tag = "articles",
    params(("id" = Uuid, Path, description = "Article id")),
    responses((status = 200, body = ArticleDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn get_article(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ArticleDto>> {
    let a = s.engine.article(&auth.0, article_id(&id)?).await?;
    Ok(Json(ArticleDto::from(&a)))
}

/// Write the next version of an article (supervisors, managers and admins). With
/// `If-Match: <version>`, a 409 when it changed meanwhile.
#[utoipa::path(put, path = "/api/v1/articles/{id}", tag = "articles", request_body = ArticleFields,
    params(("id" = Uuid, Path, description = "Article id"),
        ("If-Match" = Option<String>, Header, pattern = r#"^(\*|(W/)?"?[0-9]{1,19}"?)$"#, description = "The article's version")),
    responses((status = 200, body = ArticleDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_article(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    write: Write<ArticleFields>,
) -> ApiResult<Json<ArticleDto>> {
    let expected = write.if_match.map(|v| u32::try_from(v).unwrap_or(u32::MAX));
    let a = s.engine.update_article(&auth.0, article_id(&id)?, write.body, expected, s.engine.now()).await?;
    Ok(Json(ArticleDto::from(&a)))
}

/// Delete an article and its versions (supervisors, managers and admins).
#[utoipa::path(delete, path = "/api/v1/articles/{id}", tag = "articles",
    params(("id" = Uuid, Path, description = "Article id")),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_article(State(s): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_article(&auth.0, article_id(&id)?, s.engine.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of an article the caller may read, the newest first, each with its author.
#[utoipa::path(get, path = "/api/v1/articles/{id}/versions", tag = "articles",
    params(("id" = Uuid, Path, description = "Article id")),
    responses((status = 200, body = Vec<ArticleDto>), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn article_versions(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ArticleDto>>> {
    let versions = s.engine.article_versions(&auth.0, article_id(&id)?).await?;
    Ok(Json(versions.iter().map(ArticleDto::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestionQuery {
    /// 1–10, default 5.
    #[param(minimum = 1, maximum = 10)]
    limit: Option<u32>,
}

/// The published articles most similar to a case the caller may read, best first: its
/// words (subject, description, messages) in the article's text, its category and
/// resolution code among the article's; each with the reason.
#[utoipa::path(get, path = "/api/v1/cases/{id}/suggestions", tag = "articles",
    params(("id" = Uuid, Path, description = "Case id"), SuggestionQuery),
    responses((status = 200, body = Vec<SuggestionDto>), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn case_suggestions(
    State(s): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<SuggestionQuery>,
) -> ApiResult<Json<Vec<SuggestionDto>>> {
    let id = id.parse().map_err(|_| ApiError::bad_request("id", format!("'{id}' is not a case id (a UUID)")))?;
    let case = s.engine.case(&auth.0, id).await?;
    let limit = limit_param("limit", q.limit, 5, MAX_SUGGESTIONS as u32)?;
    let suggestions = s.engine.suggestions(&auth.0, &case, limit as usize).await?;
    Ok(Json(suggestions.iter().map(SuggestionDto::from).collect()))
}
