//! Customer messages scored by VADER: the mood scale, the bound on what is scored, and the
//! score carried by events so a fold never depends on scoring again.

use ladder_core::sentiment::{MAX_SCORED_CHARS, mood, score, score_opening};

/// One message and the mood it should read as.
fn check(text: &str, expected_mood: i8) {
    let s = score(text);
    assert_eq!(mood(s), expected_mood, "{text:?} scored {s}");
}

#[test]
fn moods_of_customer_messages() {
    check("Hi, could you check my order status?", 0);
    check("Thanks, that works great, I really appreciate it!", 2);
    check("I am disappointed, the router is still broken", -2);
    check("This is unacceptable and terrible, I am furious and will sue", -2);
    check("The service is not good", -1);
    check("The replacement is good", 1);
}

#[test]
fn negation_and_emphasis_are_read_by_the_lexicon_rules() {
    // VADER's rules, not a bag of words: "not" flips, capitals and "!!!" strengthen.
    assert!(score("The fix is good") > 0);
    assert!(score("The fix is not good") < 0);
    assert!(score("This is TERRIBLE!!!") < score("This is terrible"));
}

#[test]
fn scores_are_thousandths_of_the_compound_value() {
    for text in ["", "   ", "ok", "I hate this, it is the worst", "Lovely, wonderful, brilliant"] {
        let s = score(text);
        assert!((-1000..=1000).contains(&s), "{text:?} scored {s}");
    }
    assert_eq!(score(""), 0);
}

#[test]
fn only_the_opening_of_a_long_message_is_scored() {
    let opening = "This is awful and I am angry. ";
    let long = format!("{opening}{}", "word ".repeat(MAX_SCORED_CHARS));
    let cut: String = long.chars().take(MAX_SCORED_CHARS).collect();
    assert_eq!(score(&long), score(&cut));
    // Multi-byte characters are cut on a character boundary.
    let wide = "é".repeat(MAX_SCORED_CHARS * 2);
    assert_eq!(score(&wide), score(&"é".repeat(MAX_SCORED_CHARS)));
}

#[test]
fn an_opening_reads_subject_and_description_together() {
    assert!(score_opening("Broken again", "I am furious, this is unacceptable") < -600);
    assert_eq!(score_opening("Order status", ""), score("Order status"));
}
