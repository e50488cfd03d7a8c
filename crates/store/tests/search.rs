//! Text search answers the same on SQLite and PostgreSQL (run it with
//! `LADDER_TEST_BACKEND=postgres` too): the same words, stems, prefixes and stop words find
//! the same cases, and the same over-long queries are refused naming `q`.

use ladder_core::DomainError;
use ladder_core::access::CaseScope;
use ladder_core::ids::CaseId;
use ladder_store::{CaseFilter, MAX_SEARCH_BYTES, MAX_SEARCH_WORDS, PageRequest, Store, StoreError};
use ladder_testkit::store::*;

async fn search(store: &Store, q: &str) -> Result<Vec<String>, StoreError> {
    let filter = CaseFilter { q: Some(q.to_string()), ..Default::default() };
    let page = store.list_cases(filter, CaseScope::All, PageRequest { before: None, limit: 50 }).await?;
    let mut subjects: Vec<String> = page.cases.into_iter().map(|c| c.subject).collect();
    subjects.sort();
    Ok(subjects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_query_finds_the_same_cases_on_both_backends_and_long_ones_are_refused() {
    let (_dir, store) = open_store();
    for (i, (subject, description, reply)) in [
        ("Refund for a duplicate charge", "Charged twice for the March invoice", "We refunded the second charge"),
        ("Router keeps rebooting", "The routers in the office restart hourly", "Replaced the power supply"),
        ("Invoice address is wrong", "Please change the street name", "Updated the address"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = CaseId::new_v7();
        run(&store, open(id, new_case(subject, description), at(i as i64 * 10))).await;
        run(&store, message(id, reply, at(i as i64 * 10 + 1))).await;
    }
    let (refund, router, address) =
        ("Refund for a duplicate charge", "Router keeps rebooting", "Invoice address is wrong");
    for (q, found) in [
        // A word, in any case and form: English stems on both ("refunds", "refunded").
        ("refund", vec![refund]),
        ("REFUNDS", vec![refund]),
        ("rebooted", vec![router]),
        // Stop words are left out on both (PostgreSQL's index does not keep them).
        ("the refund", vec![refund]),
        ("the", vec![]),
        // Every word is required, in any text of the case (subject, description, messages).
        ("invoice", vec![refund, address]),
        ("invoice charge", vec![refund]),
        ("invoice street updated", vec![address]),
        // A trailing `*` is a prefix.
        ("rout*", vec![router]),
        ("add*", vec![address]),
        // Punctuation is no syntax: nothing searchable is left.
        ("\"(*)\" OR NOT", vec![]),
        ("power-supply", vec![router]),
    ] {
        let mut found: Vec<String> = found.into_iter().map(String::from).collect();
        found.sort();
        assert_eq!(search(&store, q).await.unwrap(), found, "{q}");
    }

    // Limits: words (distinct, stop words not counted) and bytes.
    let words: Vec<String> = (0..=MAX_SEARCH_WORDS).map(|i| format!("w{i}")).collect();
    assert_eq!(search(&store, &words[..MAX_SEARCH_WORDS].join(" ")).await.unwrap(), Vec::<String>::new());
    assert_eq!(search(&store, &format!("the a an {}", words[..MAX_SEARCH_WORDS].join(" "))).await.unwrap().len(), 0);
    for q in [words.join(" "), (0..1000).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ")] {
        match search(&store, &q).await {
            Err(StoreError::Domain(DomainError::Invalid { field, message })) => {
                assert_eq!(field, "q");
                assert!(message.contains("a search takes at most"), "{message}");
            }
            other => panic!("{} words: {other:?}", q.split(' ').count()),
        }
    }
    assert!(search(&store, &"a".repeat(MAX_SEARCH_BYTES)).await.is_ok());
    match search(&store, &"a".repeat(MAX_SEARCH_BYTES + 1)).await {
        Err(StoreError::Domain(DomainError::Invalid { field, .. })) => assert_eq!(field, "q"),
        other => panic!("{other:?}"),
    }
}
