//! The mood of a customer's message, scored by VADER (the `vader-sentimental` crate: the
//! published lexicon and rules — negation, boosters, "but", capitals, punctuation — of
//! Hutto and Gilbert's analyser), not by a word list of our own.
//!
//! A score is VADER's *compound* value, −1 (most negative) to +1 (most positive), kept in
//! events as thousandths ([`Sentiment`]) so an event stays `Eq` and a stored score reads back
//! exactly. It is computed once, when the message is decided, and stored with it: a rebuild
//! folds the stored score and never scores again (older events, written before scores were
//! stored, are scored when folded, with the same pinned lexicon).
//!
//! Scoring is bounded: only the first [`MAX_SCORED_CHARS`] characters of a message count, so
//! the writer's work per message has a ceiling (a 64 KiB message costs what 4 KiB does).

use std::sync::LazyLock;

use vader_sentimental::SentimentIntensityAnalyzer;

/// A message's compound score in thousandths: −1000 to +1000.
pub type Sentiment = i16;

/// How much of a message is scored: its opening says how the customer feels.
pub const MAX_SCORED_CHARS: usize = 4_096;

/// VADER's own thresholds: at or below −0.05 a text reads as negative.
const NEGATIVE: f64 = -0.05;

static ANALYZER: LazyLock<SentimentIntensityAnalyzer<'static>> = LazyLock::new(SentimentIntensityAnalyzer::new);

/// The compound score of `text`, in thousandths.
pub fn score(text: &str) -> Sentiment {
    let end = text.char_indices().nth(MAX_SCORED_CHARS).map_or(text.len(), |(i, _)| i);
    let scored = &text[..end];
    if scored.trim().is_empty() {
        return 0;
    }
    let compound = ANALYZER.polarity_scores(scored).compound;
    (compound.clamp(-1.0, 1.0) * 1000.0).round() as Sentiment
}

/// The score of a case's opening: its subject and description read as one message.
pub fn score_opening(subject: &str, description: &str) -> Sentiment {
    if description.trim().is_empty() { score(subject) } else { score(&format!("{subject}. {description}")) }
}

/// A score as VADER's compound value, −1.0 to +1.0.
pub fn compound(sentiment: Sentiment) -> f64 {
    f64::from(sentiment) / 1000.0
}

/// The mood on the five-step scale the queue and the console use: −2 angry (compound
/// ≤ −0.6), −1 unhappy (≤ −0.05, VADER's negative), 0 neutral, +1 pleased (≥ 0.05), +2
/// delighted (≥ 0.6).
pub fn mood(sentiment: Sentiment) -> i8 {
    let c = compound(sentiment);
    if c <= -0.6 {
        -2
    } else if c <= NEGATIVE {
        -1
    } else if c >= 0.6 {
        2
    } else if c >= -NEGATIVE {
        1
    } else {
        0
    }
}
