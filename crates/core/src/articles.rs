//! Knowledge articles: fixes written down so the front line can apply them without escalating.
//! An article has a Markdown body, tags, the categories and resolution codes it is about, the
//! level it is written for (`audience`), a status (`draft` or `published`) and a version per
//! change, each with its author and time. Who may read or write one is `access`'s rule
//! ([`crate::access::Action::ReadArticle`], [`crate::access::Action::WriteArticle`]).
//!
//! Suggestions: [`CaseProfile`] is what a case says about itself (its salient words, category
//! and resolution code); the store finds the published articles whose text matches those
//! words best, and [`rank`] orders them, adding what category and resolution codes share, and
//! says why each was suggested.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::case::Case;
use crate::error::DomainError;
use crate::ids::UserId;
use crate::validate::{handle, non_empty};
use crate::words::words;

/// The longest title, in characters.
pub const MAX_ARTICLE_TITLE: usize = 200;
/// The longest Markdown body, in characters (a long how-to, not a manual).
pub const MAX_ARTICLE_BODY: usize = 50_000;
/// At most this many tags, categories and resolution codes each.
pub const MAX_ARTICLE_TAGS: usize = 20;
pub const MAX_ARTICLE_CATEGORIES: usize = 10;
pub const MAX_ARTICLE_CODES: usize = 10;
/// At most this many suggestions for a case.
pub const MAX_SUGGESTIONS: usize = 10;
/// A case is matched on at most this many of its words.
pub const SUGGESTION_WORDS: usize = 12;
/// The full-text index yields at most this many candidates, which [`rank`] orders.
pub const SUGGESTION_CANDIDATES: usize = 40;
/// How much of a case's text (subject, description, messages) its words are taken from.
const MAX_CASE_TEXT: usize = 20_000;

/// The level an article is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub enum Audience {
    L1,
    L2,
    L3,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::L1 => "L1",
            Audience::L2 => "L2",
            Audience::L3 => "L3",
        }
    }
}

/// Whether agents see the article: a draft is its authors' until published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    Draft,
    Published,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ArticleStatus::Draft => "draft",
            ArticleStatus::Published => "published",
        }
    }
}

// Also the JSON API's body (`ArticleBody`): what an author writes.
/// An article's content, as an author writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = ArticleBody))]
#[serde(deny_unknown_fields)]
pub struct ArticleFields {
    #[cfg_attr(feature = "schema", schema(pattern = r"\S", max_length = 200))]
    pub title: String,
    /// Markdown; the console renders it with raw HTML escaped.
    #[cfg_attr(feature = "schema", schema(pattern = r"\S", max_length = 50000))]
    pub body: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The case categories the article is about (handles, e.g. `billing`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// The resolution codes the article leads to (handles, e.g. `refund_issued`).
    #[serde(default)]
    pub resolution_codes: Vec<String>,
    pub audience: Audience,
    pub status: ArticleStatus,
}

/// An article at one version. Each version is kept as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: Uuid,
    /// 1 for the first version, one more at each change.
    pub version: u32,
    #[serde(flatten)]
    pub fields: ArticleFields,
    /// Who wrote this version.
    pub author: UserId,
    pub author_name: String,
    pub created_at: Timestamp,
    /// When this version was written.
    pub updated_at: Timestamp,
    /// When the article was first published (kept through later drafts).
    #[serde(default)]
    pub published_at: Option<Timestamp>,
}

/// Who writes a version.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub id: UserId,
    pub name: &'a str,
}

impl Article {
    /// The first version of a new article.
    pub fn new(id: Uuid, fields: ArticleFields, author: Author, now: Timestamp) -> Result<Article, DomainError> {
        validate_article(&fields)?;
        let published_at = (fields.status == ArticleStatus::Published).then_some(now);
        Ok(Article {
            id,
            version: 1,
            fields,
            author: author.id,
            author_name: author.name.to_string(),
            created_at: now,
            updated_at: now,
            published_at,
        })
    }

    /// The next version: `fields` written by `author` at `now`.
    pub fn revised(&self, fields: ArticleFields, author: Author, now: Timestamp) -> Result<Article, DomainError> {
        validate_article(&fields)?;
        let published_at = self.published_at.or_else(|| (fields.status == ArticleStatus::Published).then_some(now));
        Ok(Article {
            id: self.id,
            version: self.version + 1,
            fields,
            author: author.id,
            author_name: author.name.to_string(),
            created_at: self.created_at,
            updated_at: now,
            published_at,
        })
    }

    pub fn is_published(&self) -> bool {
        self.fields.status == ArticleStatus::Published
    }

    /// What the full-text index holds: the title, and the body with the tags, categories
    /// and resolution codes (their `_`, `-` and `.` as spaces, so `refund_issued` is two words).
    pub fn search_text(&self) -> (String, String) {
        let f = &self.fields;
        let mut body = f.body.clone();
        for handle in f.tags.iter().chain(&f.categories).chain(&f.resolution_codes) {
            body.push('\n');
            body.push_str(&handle_words(handle));
        }
        (f.title.clone(), body)
    }
}

fn handle_words(handle: &str) -> String {
    handle.replace(['_', '-', '.'], " ")
}

/// Checks an article's fields; the error names the field.
pub fn validate_article(f: &ArticleFields) -> Result<(), DomainError> {
    non_empty("title", &f.title, MAX_ARTICLE_TITLE)?;
    non_empty("body", &f.body, MAX_ARTICLE_BODY)?;
    for (field, list, max) in [
        ("tags", &f.tags, MAX_ARTICLE_TAGS),
        ("categories", &f.categories, MAX_ARTICLE_CATEGORIES),
        ("resolution_codes", &f.resolution_codes, MAX_ARTICLE_CODES),
    ] {
        if list.len() > max {
            return Err(DomainError::invalid(field, format!("has {} entries; at most {max}", list.len())));
        }
        for value in list {
            handle(field, value)?;
        }
        if list.iter().collect::<BTreeSet<_>>().len() != list.len() {
            return Err(DomainError::invalid(field, "names an entry twice"));
        }
    }
    Ok(())
}

/// The draft of an article that turns a resolved case's fix into knowledge: its subject as
/// the title; the problem, what was tried on the way up (`tried`, from its escalations) and
/// the resolution as the body; its category and resolution code. For the front line.
pub fn draft_from_case(case: &Case, tried: &[String]) -> ArticleFields {
    let mut body = format!("## Problem\n\n{}\n", case.description.trim());
    if !tried.is_empty() {
        body.push_str("\n## What was tried\n\n");
        for t in tried {
            body.push_str(&format!("- {}\n", t.trim()));
        }
    }
    if let Some(r) = &case.resolution {
        body.push_str(&format!("\n## Resolution\n\n`{}`", r.code));
        if let Some(note) = &r.note {
            body.push_str(&format!(": {}", note.trim()));
        }
        body.push('\n');
    }
    ArticleFields {
        title: cut(case.subject.trim(), MAX_ARTICLE_TITLE).to_string(),
        body: cut(&body, MAX_ARTICLE_BODY).to_string(),
        tags: Vec::new(),
        categories: case.category.iter().filter(|c| handle("categories", c).is_ok()).cloned().collect(),
        resolution_codes: case.resolution.iter().map(|r| r.code.clone()).collect(),
        audience: Audience::L1,
        status: ArticleStatus::Draft,
    }
}

/// What a case says about itself, for finding the articles that may solve it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseProfile {
    /// Its most telling words, at most [`SUGGESTION_WORDS`]: lowercase, no stop words.
    pub words: Vec<String>,
    pub category: Option<String>,
    pub resolution_code: Option<String>,
}

impl CaseProfile {
    /// From the case and the texts of its messages. The subject counts double; words of
    /// three or more letters, the most frequent first (ties: the first seen).
    pub fn of(case: &Case, messages: &[&str]) -> CaseProfile {
        let mut counts: Vec<(String, usize)> = Vec::new();
        let mut budget = MAX_CASE_TEXT;
        let subject = [case.subject.as_str(), case.subject.as_str()];
        for text in subject.iter().chain([&case.description.as_str()]).chain(messages.iter()) {
            if budget == 0 {
                break;
            }
            let text = cut(text, budget);
            budget -= text.len();
            for word in words(text, 3).filter(|w| w.len() <= 40 && !w.chars().all(|c| c.is_ascii_digit())) {
                match counts.iter_mut().find(|(w, _)| *w == word) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((word, 1)),
                }
            }
        }
        // A stable sort keeps the first seen first among equals.
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        CaseProfile {
            words: counts.into_iter().take(SUGGESTION_WORDS).map(|(w, _)| w).collect(),
            category: case.category.clone(),
            resolution_code: case.resolution.as_ref().map(|r| r.code.clone()),
        }
    }

    /// The words the full-text index is asked for: the case's words, its category's and its
    /// resolution code's.
    pub fn search_words(&self) -> Vec<String> {
        let mut out = self.words.clone();
        for handle in self.category.iter().chain(&self.resolution_code) {
            for w in words(&handle_words(handle), 2) {
                if !out.contains(&w) {
                    out.push(w);
                }
            }
        }
        out
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An article suggested for a case, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub article: Article,
    /// Higher is more similar; comparable within one case's suggestions only.
    pub score: f64,
    /// e.g. "same category billing; words: refund, card".
    pub reason: String,
}

/// How much sharing the case's category and its resolution code add to a text match
/// (which is at most 1).
const CATEGORY_WEIGHT: f64 = 0.5;
const CODE_WEIGHT: f64 = 0.3;
/// Each of the case's words found in the article adds this.
const WORD_WEIGHT: f64 = 0.05;

/// Orders the candidates the full-text index found (each with its relevance there, higher
/// better) for a case: the text relevance relative to the best candidate's, plus the shared
/// category and resolution code and the case's words found; the best `limit`, each with its
/// reason. Candidates sharing nothing with the case are dropped.
pub fn rank(profile: &CaseProfile, candidates: Vec<(Article, f64)>, limit: usize) -> Vec<Suggestion> {
    let best = candidates.iter().map(|(_, r)| *r).fold(0.0_f64, f64::max);
    let case_stems: Vec<(String, String)> = profile.words.iter().map(|w| (w.clone(), stem(w))).collect();
    let mut out: Vec<Suggestion> = candidates
        .into_iter()
        .filter_map(|(article, relevance)| {
            let f = &article.fields;
            let same_category = profile.category.as_ref().filter(|c| f.categories.contains(c));
            let same_code = profile.resolution_code.as_ref().filter(|c| f.resolution_codes.contains(c));
            let (title, body) = article.search_text();
            let article_stems: BTreeSet<String> =
                words(&title, 2).chain(words(cut(&body, MAX_CASE_TEXT), 2)).map(|w| stem(&w)).collect();
            let found: Vec<&str> =
                case_stems.iter().filter(|(_, s)| article_stems.contains(s)).map(|(w, _)| w.as_str()).collect();
            if same_category.is_none() && same_code.is_none() && found.is_empty() {
                return None;
            }
            let text = if best > 0.0 { relevance.max(0.0) / best } else { 0.0 };
            let score = text
                + same_category.map_or(0.0, |_| CATEGORY_WEIGHT)
                + same_code.map_or(0.0, |_| CODE_WEIGHT)
                + WORD_WEIGHT * found.len() as f64;
            let mut reasons = Vec::new();
            if let Some(c) = same_category {
                reasons.push(format!("same category {c}"));
            }
            if let Some(c) = same_code {
                reasons.push(format!("same resolution code {c}"));
            }
            if !found.is_empty() {
                reasons.push(format!("words: {}", found.join(", ")));
            }
            Some(Suggestion { article, score, reason: reasons.join("; ") })
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.article.id.cmp(&b.article.id)));
    out.truncate(limit.min(MAX_SUGGESTIONS));
    out
}

/// A crude English stem, enough to say that "refunds" and "refunded" are the word "refund"
/// in a reason (the indexes stem properly for the matching itself).
fn stem(word: &str) -> String {
    for (suffix, keep) in [("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 3
            && !(suffix == "s" && base.ends_with('s'))
        {
            return format!("{base}{keep}");
        }
    }
    word.to_string()
}

// ---- insights ----

/// The days before and after an article's publication whose escalations are compared.
pub const EFFECT_WINDOW_DAYS: i32 = 30;
/// A category escalated at least this often in the period, with no published article about
/// it, is suggested to write one.
pub const WRITE_ONE_MIN_ESCALATIONS: u64 = 5;

/// Cases of a category opened on a day, and how many of them were escalated.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryDay {
    pub day: jiff::civil::Date,
    pub category: String,
    pub cases: u64,
    pub escalated: u64,
}

/// Cases and escalations of a category over some days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Escalations {
    pub cases: u64,
    pub escalated: u64,
}

/// A published article's category: its escalations in the days before and after it was
/// first published.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleEffect {
    pub article: Uuid,
    pub title: String,
    pub category: String,
    pub published: jiff::civil::Date,
    pub before: Escalations,
    pub after: Escalations,
}

/// An article named as "solved by" in resolutions at the first level.
#[derive(Debug, Clone, PartialEq)]
pub struct SolvedAtFirstLevel {
    pub article: Uuid,
    pub title: String,
    pub cases: u64,
}

/// A category that escalates and has no published article.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOne {
    pub category: String,
    pub cases: u64,
    pub escalated: u64,
}

/// What knowledge articles changed, and where one is missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnowledgeInsights {
    pub effects: Vec<ArticleEffect>,
    pub solved_at_first_level: Vec<SolvedAtFirstLevel>,
    pub write_one: Vec<WriteOne>,
}

/// From the published articles, the per-day category counts (covering the windows around
/// the publications and the period), the articles named by resolutions at the first level,
/// and the period (`from`..=`to`, UTC days).
pub fn knowledge_insights(
    published: &[Article],
    days: &[CategoryDay],
    solved_at_first_level: &[Uuid],
    period: (jiff::civil::Date, jiff::civil::Date),
) -> KnowledgeInsights {
    let sum = |category: &str, from: jiff::civil::Date, to: jiff::civil::Date| {
        days.iter().filter(|d| d.category == category && d.day >= from && d.day < to).fold(
            Escalations::default(),
            |acc, d| Escalations { cases: acc.cases + d.cases, escalated: acc.escalated + d.escalated },
        )
    };
    let window = jiff::Span::new().days(EFFECT_WINDOW_DAYS);
    let mut effects = Vec::new();
    for a in published {
        let Some(at) = a.published_at else { continue };
        let day = at.to_zoned(jiff::tz::TimeZone::UTC).date();
        let (Ok(start), Ok(end)) = (day.checked_sub(window), day.checked_add(window)) else { continue };
        for category in &a.fields.categories {
            effects.push(ArticleEffect {
                article: a.id,
                title: a.fields.title.clone(),
                category: category.clone(),
                published: day,
                before: sum(category, start, day),
                after: sum(category, day, end),
            });
        }
    }
    let mut solved: Vec<SolvedAtFirstLevel> = Vec::new();
    for id in solved_at_first_level {
        match solved.iter_mut().find(|s| s.article == *id) {
            Some(s) => s.cases += 1,
            None => {
                let title =
                    published.iter().find(|a| a.id == *id).map_or_else(|| id.to_string(), |a| a.fields.title.clone());
                solved.push(SolvedAtFirstLevel { article: *id, title, cases: 1 });
            }
        }
    }
    solved.sort_by(|a, b| b.cases.cmp(&a.cases).then_with(|| a.title.cmp(&b.title)));
    let covered: BTreeSet<&str> =
        published.iter().flat_map(|a| a.fields.categories.iter().map(String::as_str)).collect();
    let mut by_category: std::collections::BTreeMap<&str, Escalations> = std::collections::BTreeMap::new();
    for d in days.iter().filter(|d| d.day >= period.0 && d.day <= period.1 && !covered.contains(d.category.as_str())) {
        let e = by_category.entry(&d.category).or_default();
        e.cases += d.cases;
        e.escalated += d.escalated;
    }
    let mut write_one: Vec<WriteOne> = by_category
        .into_iter()
        .filter(|(_, e)| e.escalated >= WRITE_ONE_MIN_ESCALATIONS)
        .map(|(c, e)| WriteOne { category: c.to_string(), cases: e.cases, escalated: e.escalated })
        .collect();
    write_one.sort_by(|a, b| b.escalated.cmp(&a.escalated).then_with(|| a.category.cmp(&b.category)));
    KnowledgeInsights { effects, solved_at_first_level: solved, write_one }
}

#[cfg(test)]
mod tests {
    #[test]
    fn knowledge_insights_compare_before_and_after_and_name_categories_without_an_article() {
        let date = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        let day = |d: &str, category: &str, cases: u64, escalated: u64| CategoryDay {
            day: date(d),
            category: category.into(),
            cases,
            escalated,
        };
        let published_at = "2026-11-10T12:00:00Z".parse().unwrap();
        let a = Article {
            published_at: Some(published_at),
            fields: ArticleFields { status: ArticleStatus::Published, ..fields() },
            ..Article::new(Uuid::from_u128(7), fields(), author(), published_at).unwrap()
        };
        let days = [
            day("2026-10-01", "billing", 50, 50), // before the window: not counted
            day("2026-11-01", "billing", 10, 6),
            day("2026-11-09", "billing", 10, 4),
            day("2026-11-10", "billing", 10, 1),
            day("2026-11-20", "billing", 10, 1),
            day("2026-11-20", "network", 20, 9),
            day("2026-11-21", "email", 20, 4),
        ];
        let got = knowledge_insights(
            std::slice::from_ref(&a),
            &days,
            &[a.id, a.id, Uuid::from_u128(9)],
            (date("2026-11-01"), date("2026-11-30")),
        );
        assert_eq!(got.effects.len(), 1);
        let e = &got.effects[0];
        assert_eq!((e.category.as_str(), e.published), ("billing", date("2026-11-10")));
        assert_eq!(
            (e.before, e.after),
            (Escalations { cases: 20, escalated: 10 }, Escalations { cases: 20, escalated: 2 })
        );
        let solved: Vec<(u64, &str)> = got.solved_at_first_level.iter().map(|s| (s.cases, s.title.as_str())).collect();
        assert_eq!(solved[0], (2, "Refund a double card charge"));
        assert_eq!(solved.len(), 2, "an unknown (deleted) article is still counted, by id");
        let write: Vec<(&str, u64)> = got.write_one.iter().map(|w| (w.category.as_str(), w.escalated)).collect();
        assert_eq!(write, [("network", 9)], "email escalated 4 times: below the threshold; billing has an article");
    }

    use super::*;

    fn fields() -> ArticleFields {
        ArticleFields {
            title: "Refund a double card charge".into(),
            body: "Check the **payment log**, then refund the duplicate.".into(),
            tags: vec!["payments".into()],
            categories: vec!["billing".into()],
            resolution_codes: vec!["refund_issued".into()],
            audience: Audience::L1,
            status: ArticleStatus::Draft,
        }
    }

    fn author() -> Author<'static> {
        Author { id: UserId(Uuid::nil()), name: "Sam" }
    }

    #[test]
    fn an_article_is_checked_field_by_field() {
        assert_eq!(validate_article(&fields()), Ok(()));
        let field = |f: ArticleFields| match validate_article(&f) {
            Err(DomainError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(ArticleFields { title: " ".into(), ..fields() }), "title");
        assert_eq!(field(ArticleFields { title: "t".repeat(MAX_ARTICLE_TITLE + 1), ..fields() }), "title");
        assert_eq!(field(ArticleFields { body: "b".repeat(MAX_ARTICLE_BODY + 1), ..fields() }), "body");
        assert_eq!(field(ArticleFields { tags: vec!["Not A Tag".into()], ..fields() }), "tags");
        assert_eq!(field(ArticleFields { tags: vec!["t".into(); MAX_ARTICLE_TAGS + 1], ..fields() }), "tags");
        assert_eq!(field(ArticleFields { categories: vec!["a".into(), "a".into()], ..fields() }), "categories");
        assert_eq!(field(ArticleFields { resolution_codes: vec!["".into()], ..fields() }), "resolution_codes");
    }

    #[test]
    fn versions_count_up_and_keep_the_first_publication() {
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        let a = Article::new(Uuid::nil(), fields(), author(), t(10)).unwrap();
        assert_eq!((a.version, a.published_at), (1, None));
        let published = ArticleFields { status: ArticleStatus::Published, ..fields() };
        let b = a.revised(published.clone(), Author { name: "Tara", ..author() }, t(20)).unwrap();
        assert_eq!((b.version, b.published_at, b.author_name.as_str()), (2, Some(t(20)), "Tara"));
        let c = b.revised(published, author(), t(30)).unwrap();
        assert_eq!((c.version, c.published_at, c.created_at, c.updated_at), (3, Some(t(20)), t(10), t(30)));
    }

    #[test]
    fn the_json_fields_are_the_api_s() {
        let v = serde_json::to_value(fields()).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["audience", "body", "categories", "resolution_codes", "status", "tags", "title"]);
        assert_eq!((v["audience"].as_str(), v["status"].as_str()), (Some("L1"), Some("draft")));
        assert!(serde_json::from_value::<ArticleFields>(serde_json::json!({"title": "t"})).is_err());
    }

    #[test]
    fn the_indexed_text_splits_handles_into_words() {
        let a = Article::new(Uuid::nil(), fields(), author(), Timestamp::UNIX_EPOCH).unwrap();
        let (title, body) = a.search_text();
        assert_eq!(title, "Refund a double card charge");
        assert!(body.ends_with("payments\nbilling\nrefund issued"), "{body}");
    }

    #[test]
    fn a_suggestion_says_why() {
        let a = Article::new(Uuid::nil(), fields(), author(), Timestamp::UNIX_EPOCH).unwrap();
        let other = Article {
            id: Uuid::from_u128(1),
            fields: ArticleFields {
                title: "Reset a router".into(),
                body: "Unplug it.".into(),
                categories: vec!["network".into()],
                resolution_codes: vec![],
                tags: vec![],
                ..fields()
            },
            ..a.clone()
        };
        let profile = CaseProfile {
            words: vec!["refunded".into(), "cards".into(), "printer".into()],
            category: Some("billing".into()),
            resolution_code: None,
        };
        let got = rank(&profile, vec![(other, 2.0), (a.clone(), 1.0)], 5);
        assert_eq!(got.len(), 1, "the router article shares nothing: {got:?}");
        assert_eq!(got[0].article.id, a.id);
        assert_eq!(got[0].reason, "same category billing; words: refunded, cards");
    }
}
