//! Knowledge articles and suggestions on the wire.

use jiff::Timestamp;
use ladder_core::articles::{Article, ArticleStatus, Audience, Escalations, KnowledgeInsights, Suggestion};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A knowledge article at one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleDto {
    pub id: Uuid,
    /// 1 for the first version, one more at each change (pass it as `If-Match` to replace).
    pub version: u32,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    pub resolution_codes: Vec<String>,
    pub audience: Audience,
    pub status: ArticleStatus,
    /// Who wrote this version (their id and name).
    pub author: Uuid,
    pub author_name: String,
    pub created_at: Timestamp,
    /// When this version was written.
    pub updated_at: Timestamp,
    /// When the article was first published.
    pub published_at: Option<Timestamp>,
}

impl From<&Article> for ArticleDto {
    fn from(a: &Article) -> ArticleDto {
        let f = &a.fields;
        ArticleDto {
            id: a.id,
            version: a.version,
            title: f.title.clone(),
            body: f.body.clone(),
            tags: f.tags.clone(),
            categories: f.categories.clone(),
            resolution_codes: f.resolution_codes.clone(),
            audience: f.audience,
            status: f.status,
            author: a.author.0,
            author_name: a.author_name.clone(),
            created_at: a.created_at,
            updated_at: a.updated_at,
            published_at: a.published_at,
        }
    }
}

/// A page of articles.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticlePageDto {
    pub articles: Vec<ArticleDto>,
    /// Pass as `offset` for the next page; `null` on the last page.
    pub next_offset: Option<u32>,
}

/// A published article suggested for a case, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionDto {
    pub article: ArticleDto,
    /// Higher is more similar; comparable within one answer only.
    pub score: f64,
    /// e.g. "same category billing; words: refund, card".
    pub reason: String,
}

impl From<&Suggestion> for SuggestionDto {
    fn from(s: &Suggestion) -> SuggestionDto {
        SuggestionDto { article: ArticleDto::from(&s.article), score: s.score, reason: s.reason.clone() }
    }
}

/// Cases of a category and how many were escalated.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationsDto {
    pub cases: u64,
    pub escalated: u64,
}

impl From<Escalations> for EscalationsDto {
    fn from(e: Escalations) -> EscalationsDto {
        EscalationsDto { cases: e.cases, escalated: e.escalated }
    }
}

/// A published article's category: escalations in the 30 days before and after its publication.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleEffectDto {
    pub article_id: Uuid,
    pub title: String,
    pub category: String,
    /// The UTC day it was first published.
    pub published: String,
    pub before: EscalationsDto,
    pub after: EscalationsDto,
}

/// An article named as "solved by" in resolutions at the first level, in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct SolvedByArticleDto {
    pub article_id: Uuid,
    pub title: String,
    pub cases: u64,
}

/// A category escalated at least 5 times in the period with no published article: write one.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteOneDto {
    pub category: String,
    pub cases: u64,
    pub escalated: u64,
}

/// The knowledge insights of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct KnowledgeDto {
    pub article_effects: Vec<ArticleEffectDto>,
    pub solved_at_first_level: Vec<SolvedByArticleDto>,
    pub categories_without_article: Vec<WriteOneDto>,
}

impl From<&KnowledgeInsights> for KnowledgeDto {
    fn from(k: &KnowledgeInsights) -> KnowledgeDto {
        KnowledgeDto {
            article_effects: k
                .effects
                .iter()
                .map(|e| ArticleEffectDto {
                    article_id: e.article,
                    title: e.title.clone(),
                    category: e.category.clone(),
                    published: e.published.to_string(),
                    before: e.before.into(),
                    after: e.after.into(),
                })
                .collect(),
            solved_at_first_level: k
                .solved_at_first_level
                .iter()
                .map(|s| SolvedByArticleDto { article_id: s.article, title: s.title.clone(), cases: s.cases })
                .collect(),
            categories_without_article: k
                .write_one
                .iter()
                .map(|w| WriteOneDto { category: w.category.clone(), cases: w.cases, escalated: w.escalated })
                .collect(),
        }
    }
}
