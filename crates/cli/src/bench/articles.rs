//! `ladder bench articles`: the suggestions for a case (`Engine::suggestions`: the case's
//! messages read, the full-text candidates found, ranked) with many published articles, on
//! SQLite or a PostgreSQL schema of the run's own; latency per suggestion.

use std::time::Instant;

use jiff::Timestamp;
use ladder_core::articles::{ArticleFields, ArticleStatus, Audience};
use ladder_core::ids::CaseId;
use ladder_engine::CaseRequest;
use ladder_engine::credentials::principal_of;

use super::measure::report;
use super::pg_schema;
use super::world::{BenchWorld, bench_world_at};
use crate::requests;

const CATEGORIES: [&str; 20] = [
    "billing", "account", "network", "shipping", "returns", "app", "hardware", "security", "email", "mobile", "tv",
    "voice", "contract", "moving", "outage", "invoice", "payments", "login", "delivery", "wifi",
];

/// A deterministic pseudo-random sequence (a linear congruential generator), so every run
/// writes the same articles and cases.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

/// A vocabulary of `n` made-up words (syllables combined), so texts share some words and not others.
fn vocabulary(n: usize) -> Vec<String> {
    const SYLLABLES: [&str; 24] = [
        "ro", "ter", "fa", "bil", "mo", "dem", "char", "ge", "re", "fund", "lo", "gin", "pa", "ket", "sto", "ra", "ne",
        "work", "de", "lay", "ca", "ble", "si", "gnal",
    ];
    (0..n).map(|i| format!("{}{}{}", SYLLABLES[i % 24], SYLLABLES[i / 24 % 24], SYLLABLES[i / 576 % 24])).collect()
}

fn text(rng: &mut Lcg, words: &[String], n: usize) -> String {
    (0..n).map(|_| words[rng.next(words.len())].as_str()).collect::<Vec<_>>().join(" ")
}

pub(super) async fn bench_articles(
    n_articles: usize,
    n_cases: usize,
    rounds: usize,
    database: Option<String>,
) -> anyhow::Result<()> {
    // On PostgreSQL, a schema of this run's own; both it and the directory go when it is dropped.
    let storage = pg_schema::BenchStorage::new("articles", database.as_deref())?;
    let location = &storage.location;
    let BenchWorld { engine, admin, .. } = bench_world_at(location).await?;
    let principal = principal_of(&admin);
    let words = vocabulary(5_000);
    println!(
        "articles bench: {n_articles} published articles (title 6 words, body 120 words of a 5,000-word vocabulary, 1 of 20 categories), {n_cases} cases × {rounds} suggestions each, data in {}",
        location.redacted()
    );
    let seeding = Instant::now();
    let mut tasks = Vec::new();
    let writers = 32;
    for w in 0..writers {
        let (engine, principal, words) = (engine.clone(), principal.clone(), words.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Lcg(w as u64 + 1);
            for _ in (w..n_articles).step_by(writers) {
                let fields = ArticleFields {
                    title: text(&mut rng, &words, 6),
                    body: text(&mut rng, &words, 120),
                    tags: Vec::new(),
                    categories: vec![CATEGORIES[rng.next(CATEGORIES.len())].to_string()],
                    resolution_codes: vec!["fixed".into()],
                    audience: Audience::L1,
                    status: ArticleStatus::Published,
                };
                engine.create_article(&principal, fields, Timestamp::now()).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!("seeded {n_articles} articles in {:.1}s", seeding.elapsed().as_secs_f64());
    let mut rng = Lcg(99);
    let mut cases = Vec::with_capacity(n_cases);
    for _ in 0..n_cases {
        let open = requests::open(
            text(&mut rng, &words, 6),
            &text(&mut rng, &words, 40),
            CATEGORIES[rng.next(CATEGORIES.len())],
            None,
            ladder_core::Priority::Normal,
            ladder_core::Channel::Email,
        );
        let outcome =
            engine.run(&principal, CaseId::new_v7(), CaseRequest::Open(open), None, None, Timestamp::now()).await?;
        cases.push(outcome.case);
    }
    let mut samples = Vec::with_capacity(n_cases * rounds);
    let mut found = 0;
    let started = Instant::now();
    for _ in 0..rounds {
        for case in &cases {
            let t = Instant::now();
            found += engine.suggestions(&principal, case, 5).await?.len();
            samples.push(t.elapsed());
        }
    }
    report("suggestions for a case (one at a time)", samples, started.elapsed());
    println!("suggestions returned: {:.1} per case on average", found as f64 / (n_cases * rounds) as f64);
    Ok(())
}
