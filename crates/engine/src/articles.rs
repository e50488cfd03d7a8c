//! Knowledge articles: reading, searching and writing them, each checked against
//! `core::access` (agents read published articles; supervisors, managers and admins also read
//! drafts and write), every change recorded in the audit history; and the suggestions for a
//! case (`core::articles::rank` over the store's full-text candidates).

use jiff::Timestamp;
use ladder_core::Case;
use ladder_core::DomainError;
use ladder_core::access::{Action, Principal};
use ladder_core::articles::{
    Article, ArticleFields, ArticleStatus, Author, CaseProfile, KnowledgeInsights, SUGGESTION_CANDIDATES, Suggestion,
    knowledge_insights, rank,
};
use ladder_store::{ArticlePage, ArticleQuery, StoreError};
use serde_json::json;
use uuid::Uuid;

use crate::Engine;

fn author(principal: &Principal) -> Author<'_> {
    Author { id: principal.user_id, name: &principal.name }
}

fn detail(a: &Article) -> serde_json::Value {
    json!({ "title": a.fields.title, "version": a.version, "status": a.fields.status.as_str() })
}

impl Engine {
    /// One article, if the principal may read it; one they may not (a draft, for an agent)
    /// is answered as one that does not exist.
    pub async fn article(&self, principal: &Principal, id: Uuid) -> Result<Article, StoreError> {
        self.store
            .article(id)
            .await?
            .filter(|a| principal.allows(&Action::ReadArticle { status: a.fields.status }).is_ok())
            .ok_or_else(|| StoreError::NotFound(format!("article {id}")))
    }

    /// Every version of an article the principal may read, the newest first.
    pub async fn article_versions(&self, principal: &Principal, id: Uuid) -> Result<Vec<Article>, StoreError> {
        self.article(principal, id).await?;
        self.store.article_versions(id).await
    }

    /// A page of articles: those of `query.status` the principal may read (an agent asking
    /// for drafts is refused; asking for no status gets them the published ones).
    pub async fn articles(&self, principal: &Principal, mut query: ArticleQuery) -> Result<ArticlePage, StoreError> {
        match query.status {
            Some(status) => self.check(principal, &Action::ReadArticle { status })?,
            None if principal.allows(&Action::ReadArticle { status: ArticleStatus::Draft }).is_err() => {
                query.status = Some(ArticleStatus::Published);
            }
            None => {}
        }
        self.store.articles(query).await
    }

    /// Writes a new article, its first version by the principal.
    pub async fn create_article(
        &self,
        principal: &Principal,
        fields: ArticleFields,
        now: Timestamp,
    ) -> Result<Article, StoreError> {
        let a = Article::new(Uuid::now_v7(), fields, author(principal), now)?;
        self.permitted(principal, &Action::WriteArticle, "article.create", a.id, detail(&a), now)?
            .create_article(a)
            .await
    }

    /// Writes the next version of an article. With `expected_version`, refuses when the
    /// article is no longer at that version (someone else changed it meanwhile).
    pub async fn update_article(
        &self,
        principal: &Principal,
        id: Uuid,
        fields: ArticleFields,
        expected_version: Option<u32>,
        now: Timestamp,
    ) -> Result<Article, StoreError> {
        self.check(principal, &Action::WriteArticle)?;
        let before = self.article(principal, id).await?;
        if let Some(expected) = expected_version.filter(|v| *v != before.version) {
            return Err(StoreError::Duplicate(format!(
                "article {id} is at version {}, not {expected}; read it again",
                before.version
            )));
        }
        let a = before.revised(fields, author(principal), now)?;
        self.permitted(principal, &Action::WriteArticle, "article.update", id, detail(&a), now)?.update_article(a).await
    }

    /// Deletes an article and its versions.
    pub async fn delete_article(&self, principal: &Principal, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
        self.check(principal, &Action::WriteArticle)?;
        let a = self.article(principal, id).await?;
        self.permitted(principal, &Action::WriteArticle, "article.delete", id, detail(&a), now)?
            .delete_article(id)
            .await
    }

    /// The published articles most similar to a case the principal may read, best first,
    /// each with why: the case's words (subject, description, messages) in the article's
    /// text, and its category and resolution code among the article's.
    pub async fn suggestions(
        &self,
        principal: &Principal,
        case: &Case,
        limit: usize,
    ) -> Result<Vec<Suggestion>, StoreError> {
        self.check(principal, &Action::ReadCase(case))?;
        self.check(principal, &Action::ReadArticle { status: ArticleStatus::Published })?;
        let messages = self.store.messages(case.id).await?;
        let texts: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
        let profile = CaseProfile::of(case, &texts);
        let candidates = self.store.article_candidates(profile.search_words(), SUGGESTION_CANDIDATES).await?;
        Ok(rank(&profile, candidates, limit))
    }

    /// What knowledge articles changed and where one is missing, over the cases of the
    /// period (`from`..=`to`, UTC days): escalations per category in the 30 days before and
    /// after each publication, the articles that solved cases at the first level, and the
    /// categories that escalate with no article. Managers and admins, as the other insights.
    pub async fn knowledge_insights(
        &self,
        principal: &Principal,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<KnowledgeInsights, StoreError> {
        self.check(principal, &Action::ReadAllMetrics)?;
        let published = self.store.published_articles().await?;
        let window = jiff::Span::new().days(ladder_core::articles::EFFECT_WINDOW_DAYS);
        let first_publication = published
            .iter()
            .filter_map(|a| a.published_at)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
            .min()
            .unwrap_or(from);
        let since = first_publication.min(from).checked_sub(window).unwrap_or(from);
        let days = self.store.category_days(since).await?;
        let utc = |d: jiff::civil::Date| d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp());
        let (Ok(start), Ok(end)) = (utc(from), utc(to.tomorrow().unwrap_or(to))) else {
            return Err(DomainError::invalid("to", "is outside the instants Ladder keeps").into());
        };
        let first_level = self.ladder().levels.first().map_or_else(|| "L1".to_string(), |l| l.0.clone());
        let solved = self.store.solved_by_articles(start, end, first_level).await?;
        Ok(knowledge_insights(&published, &days, &solved, (from, to)))
    }
}
