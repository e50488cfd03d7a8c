//! `/articles`: the knowledge base — list and search, an article (its Markdown rendered
//! safely, its versions), and the forms to write, change and delete one (supervisors,
//! managers and admins); `/articles/new?case=N` starts an article from a resolved case's fix.
//! For the case page and the escalate panel: [`suggestions`], the articles most like a case.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use ladder_core::access::{Action, Principal};
use ladder_core::articles::{ArticleFields, ArticleStatus, Audience, MAX_SUGGESTIONS, Suggestion, draft_from_case};
use ladder_core::case::Case;
use ladder_core::event::CaseEvent;
use ladder_engine::ArticleQuery;
use maud::{Markup, PreEscaped, html};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
use serde::Deserialize;
use uuid::Uuid;

use super::forms::{FormState, Kept, refused, selected, text_area, text_input};
use super::session::{Flash, Posted, Session, redirect_with};
use super::{WebResult, layout};
use crate::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/articles", get(list_page).post(create))
        .route("/articles/new", get(new_page))
        .route("/articles/{id}", get(article_page).post(update))
        .route("/articles/{id}/delete", post(delete))
}

const PAGE: u32 = 20;

/// Markdown as HTML that runs nothing: raw HTML in the text is shown as text, and a link or
/// image whose address has a scheme other than http, https or mailto (`javascript:` …)
/// points nowhere. The page's Content-Security-Policy forbids inline script besides.
pub fn markdown(text: &str) -> Markup {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Image { link_type, dest_url: safe_url(dest_url), title, id })
        }
        other => other,
    });
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    PreEscaped(html)
}

/// The address if it is relative or of a harmless scheme, else `#`. Browsers ignore tabs,
/// newlines and leading control characters in a scheme, so the check does too.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let plain: String = url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control()).collect();
    let scheme = plain.split_once(':').map(|(s, _)| s).filter(|s| !s.contains(['/', '?', '#']));
    match scheme.map(str::to_ascii_lowercase).as_deref() {
        None | Some("http" | "https" | "mailto") => url,
        Some(_) => CowStr::Borrowed("#"),
    }
}

fn writes(p: &Principal) -> bool {
    p.allows(&Action::WriteArticle).is_ok()
}

fn chips(label: &str, values: &[String]) -> Markup {
    html! { @if !values.is_empty() { span.muted { (label) ": " (values.join(", ")) } " " } }
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    offset: u32,
}

async fn list_page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ListQuery>,
) -> WebResult<Markup> {
    let p = &session.principal;
    let q = query.q.trim();
    let search = ArticleQuery {
        q: (!q.is_empty()).then(|| q.to_string()),
        status: None,
        limit: PAGE,
        offset: query.offset.min(10_000),
    };
    let page = state.engine.articles(p, search).await?;
    let body = html! {
        h1 { "Knowledge articles" }
        p { "Fixes written down so the front line can solve the case without escalating it. "
            @if writes(p) { a href="/articles/new" { "Write an article" } } }
        form.search-page role="search" method="get" action="/articles" {
            label for="articles-q" { "Words from the title, text, tags, categories or resolution codes" }
            div.inline {
                input #articles-q type="search" name="q" value=(q) maxlength="200";
                button type="submit" { "Search" }
            }
        }
        @if page.articles.is_empty() {
            p.empty #articles-none { @if q.is_empty() { "No articles yet." } @else { "No article matches " strong { (q) } "." } }
        } @else {
            div.table-wrap { table #articles {
                caption.visually-hidden { "Articles" }
                thead { tr { th scope="col" { "Title" } th scope="col" { "For" } th scope="col" { "Status" } th scope="col" { "About" } th scope="col" { "Changed" } } }
                tbody {
                    @for a in &page.articles {
                        tr {
                            td { a href=(format!("/articles/{}", a.id)) { (a.fields.title) } }
                            td { (a.fields.audience.as_str()) }
                            td { (layout::badge("status", a.fields.status.as_str())) }
                            td { (chips("categories", &a.fields.categories)) (chips("codes", &a.fields.resolution_codes)) }
                            td { (layout::time(a.updated_at)) " · " (a.author_name) }
                        }
                    }
                }
            } }
            @if let Some(next) = page.next_offset {
                p { a href=(format!("/articles?q={}&offset={next}", encode(q))) { "More articles" } }
            }
        }
    };
    Ok(layout::page(&session, "Articles", "/articles", body))
}

/// `q` for a query string.
fn encode(q: &str) -> String {
    serde_urlencoded::to_string([("", q)]).map(|s| s.trim_start_matches('=').to_string()).unwrap_or_default()
}

/// An article form's fields, from a refused post or else from `start`.
fn article_fields(form: FormState, id: &str) -> Markup {
    html! {
        (text_input(form, &format!("{id}-title"), "title", "Title", true, None))
        (text_area(form, &format!("{id}-body"), "body", "Text (Markdown)", 14, true))
        (text_input(form, &format!("{id}-tags"), "tags", "Tags (comma-separated)", false, None))
        (text_input(form, &format!("{id}-categories"), "categories", "Case categories (comma-separated)", false, None))
        (text_input(form, &format!("{id}-codes"), "resolution_codes", "Resolution codes (comma-separated)", false, None))
        label for=(format!("{id}-audience")) { "Written for" }
        select id=(format!("{id}-audience")) name="audience" {
            @for level in [Audience::L1, Audience::L2, Audience::L3] {
                option value=(level.as_str()) selected[selected(form, "audience", level.as_str(), false)] { (level.as_str()) }
            }
        }
        label for=(format!("{id}-status")) { "Status" }
        select id=(format!("{id}-status")) name="status" {
            @for status in [ArticleStatus::Draft, ArticleStatus::Published] {
                option value=(status.as_str()) selected[selected(form, "status", status.as_str(), false)] { (status.as_str()) }
            }
        }
    }
}

/// A form's starting values: an article's fields, posting to `action`.
fn filled(action: &str, f: &ArticleFields) -> Kept {
    Kept {
        action: action.to_string(),
        values: vec![
            ("title".into(), f.title.clone()),
            ("body".into(), f.body.clone()),
            ("tags".into(), f.tags.join(", ")),
            ("categories".into(), f.categories.join(", ")),
            ("resolution_codes".into(), f.resolution_codes.join(", ")),
            ("audience".into(), f.audience.as_str().into()),
            ("status".into(), f.status.as_str().into()),
        ],
        field: None,
        error: String::new(),
    }
}

#[derive(Deserialize)]
struct NewQuery {
    /// A resolved case's number, whose fix the article starts from.
    case: Option<u64>,
}

/// What was tried on the way up: the `tried` of each of the case's escalations.
async fn tried(state: &AppState, p: &Principal, case: &Case) -> WebResult<Vec<String>> {
    let events = state.engine.case_events(p, case).await?;
    Ok(events
        .iter()
        .filter_map(|e| match &e.recorded.event {
            CaseEvent::Escalated(x) => x.tried.clone(),
            _ => None,
        })
        .collect())
}

async fn new_page(State(state): State<AppState>, session: Session, Query(query): Query<NewQuery>) -> WebResult<Markup> {
    let p = &session.principal;
    super::allow(&state, &session, &Action::WriteArticle)?;
    let start = match query.case {
        Some(number) => {
            let case = state.engine.case_by_number(p, number).await?;
            Some((number, draft_from_case(&case, &tried(&state, p, &case).await?)))
        }
        None => None,
    };
    let start = start.map(|(n, f)| (n, filled("/articles", &f)));
    let kept = session.kept.as_ref().or(start.as_ref().map(|(_, k)| k));
    let body = html! {
        h1 { "Write an article" }
        @if let Some((number, _)) = &start {
            p { "Started from the fix of " a href=(format!("/cases/{number}")) { "case #" (number) } ": check it, remove what is the customer's own, and publish." }
        }
        form method="post" action="/articles" {
            (layout::csrf_field(&session))
            (article_fields(FormState::of(kept, "/articles"), "new"))
            button type="submit" { "Save" }
        }
    };
    Ok(layout::page(&session, "Write an article", "/articles", body))
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(format!("article {raw}")))
}

async fn article_page(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> WebResult<Markup> {
    let p = &session.principal;
    let id = parse_id(&id)?;
    let a = state.engine.article(p, id).await?;
    let versions = state.engine.article_versions(p, id).await?;
    let action = format!("/articles/{id}");
    let own = filled(&action, &a.fields);
    let kept = session.kept.as_ref().filter(|k| k.action == action);
    let body = html! {
        h1 { (a.fields.title) }
        p.muted {
            (layout::badge("status", a.fields.status.as_str())) " for " (a.fields.audience.as_str())
            " · version " (a.version) " by " (a.author_name) ", " (layout::time(a.updated_at))
        }
        p { (chips("Tags", &a.fields.tags)) (chips("Categories", &a.fields.categories)) (chips("Resolution codes", &a.fields.resolution_codes)) }
        article.markdown #article-body { (markdown(&a.fields.body)) }
        @if writes(p) {
            details open[kept.is_some()] {
                summary { "Edit" }
                form method="post" action=(action) {
                    (layout::csrf_field(&session))
                    input type="hidden" name="version" value=(a.version);
                    (article_fields(FormState::of(Some(kept.unwrap_or(&own)), &action), "edit"))
                    button type="submit" { "Save a new version" }
                }
            }
            form method="post" action=(format!("/articles/{id}/delete")) {
                (layout::csrf_field(&session))
                button.secondary type="submit" { "Delete" }
            }
        }
        section aria-labelledby="versions" {
            h2 #versions { "Versions" }
            ol #article-versions reversed {
                @for v in &versions {
                    li { "Version " (v.version) ", " (v.fields.status.as_str()) ", by " (v.author_name) " " (layout::time(v.updated_at)) ": " (v.fields.title) }
                }
            }
        }
    };
    Ok(layout::page(&session, &a.fields.title, "/articles", body))
}

#[derive(Deserialize)]
struct ArticleForm {
    title: String,
    body: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    categories: String,
    #[serde(default)]
    resolution_codes: String,
    audience: String,
    status: String,
    version: Option<u32>,
}

fn list(raw: &str) -> Vec<String> {
    raw.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()
}

impl ArticleForm {
    fn fields(&self) -> Result<ArticleFields, ApiError> {
        let audience = match self.audience.as_str() {
            "L1" => Audience::L1,
            "L2" => Audience::L2,
            "L3" => Audience::L3,
            _ => return Err(ApiError::validation("audience", "is L1, L2 or L3")),
        };
        let status = match self.status.as_str() {
            "draft" => ArticleStatus::Draft,
            "published" => ArticleStatus::Published,
            _ => return Err(ApiError::validation("status", "is draft or published")),
        };
        Ok(ArticleFields {
            title: self.title.trim().to_string(),
            body: self.body.clone(),
            tags: list(&self.tags),
            categories: list(&self.categories),
            resolution_codes: list(&self.resolution_codes),
            audience,
            status,
        })
    }
}

/// Where a form lands: the article, or back with the form kept. One that may not be
/// written (403) or seen (404) is an error page.
fn outcome(
    result: Result<(String, String), ApiError>,
    back: &str,
    posted: &super::session::Sent,
) -> WebResult<Response> {
    match result {
        Ok((to, message)) => Ok(redirect_with(&to, Some(Flash { ok: true, message }))),
        Err(e) if matches!(e.0.status, 403 | 404) => Err(e.into()),
        Err(e) => Ok(refused(back, &posted.action, &posted.fields, e)),
    }
}

async fn create(State(state): State<AppState>, posted: Posted<ArticleForm>) -> WebResult<Response> {
    let p = &posted.session.principal;
    let result = async {
        let a = state.engine.create_article(p, posted.form.fields()?, state.engine.now()).await?;
        Ok((format!("/articles/{}", a.id), format!("Article \"{}\" saved.", a.fields.title)))
    }
    .await;
    outcome(result, "/articles/new", &posted.sent)
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<ArticleForm>,
) -> WebResult<Response> {
    let p = &posted.session.principal;
    let back = format!("/articles/{id}");
    let result = async {
        let fields = posted.form.fields()?;
        let a = state.engine.update_article(p, parse_id(&id)?, fields, posted.form.version, state.engine.now()).await?;
        Ok((back.clone(), format!("Version {} saved.", a.version)))
    }
    .await;
    outcome(result, &back, &posted.sent)
}

#[derive(Deserialize)]
struct Empty {}

async fn delete(State(state): State<AppState>, Path(id): Path<String>, posted: Posted<Empty>) -> WebResult<Response> {
    let p = &posted.session.principal;
    let result = async {
        state.engine.delete_article(p, parse_id(&id)?, state.engine.now()).await?;
        Ok(("/articles".to_string(), "Article deleted.".to_string()))
    }
    .await;
    outcome(result, "/articles", &posted.sent)
}

// ---- on the case page and the escalate panel ----

/// The published articles most like the case, each with why; and, on a resolved case that
/// was escalated, the way to turn its fix into an article.
/// Also answers the suggestions themselves, for the resolve form's "solved by article".
pub async fn suggestions(state: &AppState, session: &Session, case: &Case) -> WebResult<(Markup, Vec<Suggestion>)> {
    let p = &session.principal;
    let found: Vec<Suggestion> = state.engine.suggestions(p, case, MAX_SUGGESTIONS.min(5)).await?;
    let fix = case.resolution.is_some() && case.n_escalations > 0 && writes(p);
    let markup = html! {
        section.suggestions aria-labelledby="suggested-articles" {
            h2 #suggested-articles { "Articles that may solve it" }
            @if found.is_empty() {
                p.muted { "No published article matches this case." }
            } @else {
                ul #suggestions {
                    @for s in &found {
                        li {
                            a href=(format!("/articles/{}", s.article.id)) { (s.article.fields.title) }
                            " (" (s.article.fields.audience.as_str()) ") "
                            span.muted { (s.reason) }
                        }
                    }
                }
            }
            @if fix {
                p { a #turn-into-article href=(format!("/articles/new?case={}", case.number)) { "Turn this fix into an article" } }
            }
        }
    };
    Ok((markup, found))
}

/// The resolve form's "Solved by article" picker: the case's suggested articles (the
/// resolve command's `article_id`), or none; `chosen` is what a refused form sent.
pub fn solved_by_picker(found: &[Suggestion], chosen: Option<&str>) -> Markup {
    html! {
        label for="res-article" { "Solved by article (optional)" }
        select #res-article name="article_id" {
            option value="" selected[chosen.is_none_or(str::is_empty)] { "No article" }
            @for s in found {
                @let id = s.article.id.to_string();
                option value=(id) selected[chosen == Some(id.as_str())] title=(s.reason) {
                    (s.article.fields.title) " (" (s.article.fields.audience.as_str()) ")"
                }
            }
        }
    }
}

/// For the escalate panel: the best few articles, to try before escalating.
pub async fn before_escalating(state: &AppState, session: &Session, case: &Case) -> WebResult<Markup> {
    let found = state.engine.suggestions(&session.principal, case, 3).await?;
    Ok(html! {
        @if !found.is_empty() {
            p.hint #escalate-articles {
                "Before escalating, these articles may solve it: "
                @for (i, s) in found.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href=(format!("/articles/{}", s.article.id)) title=(s.reason) { (s.article.fields.title) }
                }
                "."
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::markdown;

    #[test]
    fn markdown_is_rendered_and_nothing_in_it_runs() {
        let html = markdown("# Fix\n\n**Restart** the [router](https://example.com/r) and `ping`.").into_string();
        assert!(html.contains("<h1>Fix</h1>"), "{html}");
        assert!(html.contains("<strong>Restart</strong>"), "{html}");
        assert!(html.contains(r#"<a href="https://example.com/r">router</a>"#), "{html}");
        for hostile in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "text <span onclick=\"alert(1)\">inline</span>",
            "[click](javascript:alert(1))",
            "[click](JaVa\tScRiPt:alert(1))",
            "![x](data:text/html;base64,PHNjcmlwdD4=)",
            "[ref]\n\n[ref]: vbscript:msgbox(1)",
            "<iframe src=\"https://evil.example\"></iframe>",
        ] {
            let html = markdown(hostile).into_string();
            let lower = html.to_ascii_lowercase();
            for bad in ["<script", "<img src=x", "<span", "<iframe", "javascript:", "vbscript:", "data:text"] {
                assert!(!lower.contains(bad), "{hostile:?} rendered {html:?}");
            }
        }
        assert!(markdown("<b>bold?</b>").into_string().contains("&lt;b&gt;bold?&lt;/b&gt;"));
    }
}
