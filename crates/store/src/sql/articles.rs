//! Knowledge articles, on either backend: the current version with its full-text row, every
//! version as written, lists and searches, and the candidates for a case's suggestions. Who
//! may read or write one is decided by the caller (the engine asks `core::access`); the store
//! filters by the status it is given.

use jiff::Timestamp;
use jiff::civil::Date;
use ladder_core::articles::{Article, ArticleStatus, CategoryDay};
use uuid::Uuid;

use super::cases::{fts_terms, ts_terms};
use super::directory::{get_doc, list_docs};
use super::{Store, ts_to_us};
use crate::db::{Arg, Db, args};
use crate::{StoreError, StoreResult};

/// The longest page of a list or search; and how far into a list one may page.
const MAX_PAGE: u32 = 100;
const MAX_OFFSET: u32 = 10_000;

/// What a list of articles asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArticleQuery {
    /// Words every article found must contain (as case search: stemmed, `word*` a prefix);
    /// the best matches first. Without: the most recently changed first.
    pub q: Option<String>,
    /// Only articles of this status (`None`: both).
    pub status: Option<ArticleStatus>,
    pub limit: u32,
    pub offset: u32,
}

/// One page of articles, and the offset of the next when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticlePage {
    pub articles: Vec<Article>,
    pub next_offset: Option<u32>,
}

/// Writes `a` as the article's current version (a new article when `previous` is `None`, else
/// the one at version `previous`), its full-text row, and appends it to the versions.
fn put_article(db: &mut Db, a: &Article, previous: Option<u32>) -> StoreResult<()> {
    let id = a.id.to_string();
    let doc = serde_json::to_string(a)?;
    let status = a.fields.status.as_str();
    let published = a.published_at.map(ts_to_us);
    match previous {
        None => {
            db.exec(
                "INSERT INTO articles (id, version, status, doc, updated_at_us, published_at_us) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![&id, i64::from(a.version), status, &doc, ts_to_us(a.updated_at), published],
            )
            .map_err(|e| super::directory::unique(e, |_| format!("article {id} exists already")))?;
        }
        Some(previous) => {
            let n = db.exec(
                "UPDATE articles SET version = ?2, status = ?3, doc = ?4, updated_at_us = ?5, published_at_us = ?6 \
                 WHERE id = ?1 AND version = ?7",
                args![&id, i64::from(a.version), status, &doc, ts_to_us(a.updated_at), published, i64::from(previous)],
            )?;
            if n == 0 {
                let now: Option<i64> = db.value_opt("SELECT version FROM articles WHERE id = ?1", args![&id])?;
                return Err(match now {
                    None => StoreError::NotFound(format!("article {id}")),
                    Some(v) => StoreError::Duplicate(format!(
                        "article {id} was changed meanwhile (it is at version {v}, not {previous}); read it again"
                    )),
                });
            }
        }
    }
    let n: i64 = db.value("SELECT n FROM articles WHERE id = ?1", args![&id])?;
    let (title, body) = a.search_text();
    db.exec("DELETE FROM article_text WHERE rowid = ?1", args![n])?;
    db.exec("INSERT INTO article_text (rowid, title, body) VALUES (?1, ?2, ?3)", args![n, &title, &body])?;
    db.exec(
        "INSERT INTO article_versions (article_id, version, author_id, at_us, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![&id, i64::from(a.version), a.author.to_string(), ts_to_us(a.updated_at), &doc],
    )?;
    Ok(())
}

/// The full-text condition on `article_text` (aliased `t`) for `terms` joined by `op` (`AND` or
/// `OR`) as the `n`th argument, and the relevance expression (higher better).
fn text_match(db: &Db, terms: &[String], all: bool, n: usize, args: &mut Vec<Arg<'static>>) -> (String, String) {
    if db.is_postgres() {
        args.push(Arg::from(terms.join(if all { " & " } else { " | " })));
        let query = format!("to_tsquery('english', CAST(?{n} AS TEXT))");
        (format!("t.tsv @@ {query}"), format!("CAST(ts_rank(t.tsv, {query}) AS DOUBLE PRECISION)"))
    } else {
        args.push(Arg::from(terms.join(if all { " " } else { " OR " })));
        // The title counts three times the body.
        (format!("article_text MATCH ?{n}"), "-bm25(article_text, 3.0, 1.0)".to_string())
    }
}

/// The full-text rows joined to their articles (`a`); SQLite's FTS5 functions need the
/// table's own name.
fn text_join(db: &Db) -> &'static str {
    if db.is_postgres() {
        "article_text t JOIN articles a ON a.n = t.rowid"
    } else {
        "article_text JOIN articles a ON a.n = article_text.rowid"
    }
}

/// The full-text terms of `q` on this backend; `None` when no word is searchable.
fn terms(db: &mut Db, q: &str) -> StoreResult<Option<Vec<String>>> {
    if db.is_postgres() { ts_terms(db, q) } else { Ok(fts_terms(q)?) }
}

fn list_articles(db: &mut Db, query: &ArticleQuery) -> StoreResult<ArticlePage> {
    let limit = query.limit.clamp(1, MAX_PAGE);
    let offset = query.offset.min(MAX_OFFSET);
    let mut args: Vec<Arg<'static>> = Vec::new();
    let mut sql = match query.q.as_deref() {
        Some(q) => {
            let Some(terms) = terms(db, q)? else { return Ok(ArticlePage { articles: Vec::new(), next_offset: None }) };
            let (matches, relevance) = text_match(db, &terms, true, 1, &mut args);
            format!("SELECT a.doc, {relevance} AS relevance FROM {} WHERE {matches}", text_join(db))
        }
        None => String::from("SELECT a.doc, 0.0 AS relevance FROM articles a WHERE 1=1"),
    };
    if let Some(status) = query.status {
        args.push(Arg::from(status.as_str()));
        sql.push_str(&format!(" AND a.status = ?{}", args.len()));
    }
    let order = if query.q.is_some() { "relevance DESC, a.n" } else { "a.updated_at_us DESC, a.n DESC" };
    args.push(Arg::from(i64::from(limit) + 1));
    args.push(Arg::from(i64::from(offset)));
    sql.push_str(&format!(" ORDER BY {order} LIMIT ?{} OFFSET ?{}", args.len() - 1, args.len()));
    let mut articles: Vec<Article> = list_docs(db, &sql, &args)?;
    let next_offset = (articles.len() > limit as usize).then_some(offset + limit).filter(|o| *o <= MAX_OFFSET);
    articles.truncate(limit as usize);
    Ok(ArticlePage { articles, next_offset })
}

/// The published articles whose text matches any of `words` best, each with its relevance
/// (higher better), at most `limit`.
fn candidates(db: &mut Db, words: &[String], limit: usize) -> StoreResult<Vec<(Article, f64)>> {
    // As many words as a search takes (the case's first: the most telling).
    let q = words.iter().take(crate::MAX_SEARCH_WORDS).cloned().collect::<Vec<_>>().join(" ");
    let Some(terms) = terms(db, &q)? else { return Ok(Vec::new()) };
    let mut args: Vec<Arg<'static>> = Vec::new();
    let (matches, relevance) = text_match(db, &terms, false, 1, &mut args);
    args.push(Arg::from(limit as i64));
    let sql = format!(
        "SELECT a.doc, {relevance} AS relevance FROM {} WHERE {matches} AND a.status = 'published' \
         ORDER BY relevance DESC, a.n LIMIT ?2",
        text_join(db)
    );
    db.rows(&sql, &args, |r| Ok((serde_json::from_str(&r.get::<String>(0)?)?, r.get::<f64>(1)?)))
}

impl Store {
    pub async fn create_article(&self, a: Article) -> StoreResult<Article> {
        self.write(move |db| put_article(db, &a, None).map(|()| a)).await
    }

    /// Replaces the article at version `a.version - 1` with `a`; a `Duplicate` error when it
    /// changed meanwhile.
    pub async fn update_article(&self, a: Article) -> StoreResult<Article> {
        self.write(move |db| put_article(db, &a, Some(a.version - 1)).map(|()| a)).await
    }

    /// Deletes an article, its text and its versions (the audit history keeps the deletion).
    pub async fn delete_article(&self, id: Uuid) -> StoreResult<()> {
        self.write(move |db| {
            let id = id.to_string();
            let Some(n) = db.value_opt::<i64>("SELECT n FROM articles WHERE id = ?1", args![&id])? else {
                return Err(StoreError::NotFound(format!("article {id}")));
            };
            db.exec("DELETE FROM article_text WHERE rowid = ?1", args![n])?;
            db.exec("DELETE FROM article_versions WHERE article_id = ?1", args![&id])?;
            db.exec("DELETE FROM articles WHERE id = ?1", args![&id])?;
            Ok(())
        })
        .await
    }

    pub async fn article(&self, id: Uuid) -> StoreResult<Option<Article>> {
        self.read(move |db| get_doc(db, "SELECT doc FROM articles WHERE id = ?1", &id.to_string())).await
    }

    /// Every version of an article, the newest first.
    pub async fn article_versions(&self, id: Uuid) -> StoreResult<Vec<Article>> {
        self.read(move |db| {
            let id = id.to_string();
            list_docs(db, "SELECT doc FROM article_versions WHERE article_id = ?1 ORDER BY version DESC", args![&id])
        })
        .await
    }

    /// A page of articles: searched, or the most recently changed first.
    pub async fn articles(&self, query: ArticleQuery) -> StoreResult<ArticlePage> {
        self.read(move |db| list_articles(db, &query)).await
    }

    /// The published articles that best match any of `words`, with their relevance.
    pub async fn article_candidates(&self, words: Vec<String>, limit: usize) -> StoreResult<Vec<(Article, f64)>> {
        self.read(move |db| candidates(db, &words, limit)).await
    }

    /// Every published article (their categories and first publication, for insights).
    pub async fn published_articles(&self) -> StoreResult<Vec<Article>> {
        self.read(move |db| {
            list_docs(db, "SELECT doc FROM articles WHERE status = 'published' ORDER BY published_at_us, n", &[])
        })
        .await
    }

    /// The cases and escalations of each category on each UTC day from `since`.
    pub async fn category_days(&self, since: Date) -> StoreResult<Vec<CategoryDay>> {
        self.read(move |db| {
            db.rows(
                "SELECT day, category, cases, escalated FROM insight_categories WHERE day >= ?1 ORDER BY day, category",
                args![since.to_string()],
                |r| {
                    let day: String = r.get(0)?;
                    Ok(CategoryDay {
                        day: day.parse().map_err(|e| StoreError::Internal(format!("insight day {day}: {e}")))?,
                        category: r.get(1)?,
                        cases: u64::try_from(r.get::<i64>(2)?).unwrap_or(0),
                        escalated: u64::try_from(r.get::<i64>(3)?).unwrap_or(0),
                    })
                },
            )
        })
        .await
    }

    /// The articles named as "solved by" in the resolutions from `from` to `to` of cases now
    /// at `level`, one entry per resolution.
    pub async fn solved_by_articles(&self, from: Timestamp, to: Timestamp, level: String) -> StoreResult<Vec<Uuid>> {
        self.read(move |db| {
            let data: Vec<String> = db.rows(
                "SELECT e.data FROM events e JOIN cases c ON c.id = e.case_id \
                 WHERE e.type = 'resolved' AND e.at_us >= ?1 AND e.at_us < ?2 AND c.level = ?3 \
                 AND e.data LIKE '%article_id%'",
                args![ts_to_us(from), ts_to_us(to), &level],
                |r| Ok(r.get::<String>(0)?),
            )?;
            Ok(data
                .iter()
                .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .filter_map(|v| v.get("article_id")?.as_str()?.parse().ok())
                .collect())
        })
        .await
    }
}
