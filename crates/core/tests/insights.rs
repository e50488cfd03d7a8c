//! "Revise the rules" insights as data: each detector's inputs and exactly the suggestion
//! expected, and no suggestion just under each threshold.

use jiff::{SignedDuration, Timestamp};
use ladder_core::LevelId;
use ladder_core::Role;
use ladder_core::insights::{
    self, ApprovalRequest, Breach, CaseOutcome, CategoryCounts, Kind, PeerFigures, PeerGroup, ResolvedAbove,
    RuleActivity, Suggestion,
};
use ladder_core::matrix;
use ladder_core::sla::BusinessCalendar;

/// Compares suggestions exactly, figures within floating-point rounding.
fn check(actual: Vec<Suggestion>, expected: Vec<Suggestion>) {
    assert_eq!(actual.len(), expected.len(), "{actual:#?}");
    for (a, e) in actual.iter().zip(&expected) {
        assert_eq!((a.kind, &a.title, &a.examples, &a.suggestion), (e.kind, &e.title, &e.examples, &e.suggestion));
        let names = |s: &Suggestion| s.figures.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        assert_eq!(names(a), names(e));
        for ((name, x), (_, y)) in a.figures.iter().zip(&e.figures) {
            assert!((x - y).abs() < 1e-9, "{name}: {x} != {y}");
        }
    }
}

// ---- move_down ----

fn outcome(number: u64, resolved_above: Option<(&str, i64)>) -> CaseOutcome {
    CaseOutcome {
        number,
        category: Some("billing".into()),
        escalated: resolved_above.is_some(),
        resolved_above: resolved_above.map(|(code, minutes)| ResolvedAbove {
            code: code.into(),
            after_escalation: SignedDuration::from_mins(minutes),
        }),
    }
}

/// `n_plain` cases never escalated, then one escalated and resolved above per `(code, minutes)`.
fn billing(n_plain: u64, above: &[(&str, i64)]) -> Vec<CaseOutcome> {
    let mut cases: Vec<CaseOutcome> = (0..n_plain).map(|i| outcome(100 + i, None)).collect();
    cases.extend(above.iter().enumerate().map(|(i, a)| outcome(i as u64 + 1, Some(*a))));
    cases
}

#[test]
fn move_down_suggests_a_category_resolved_quickly_above_with_one_code() {
    let cases = billing(5, &[("refund", 10), ("refund", 20), ("refund", 30), ("refund", 40), ("refund", 50)]);
    check(
        insights::move_down(&cases),
        vec![Suggestion {
            kind: Kind::MoveDown,
            title: "50 % of 'billing' cases are escalated, and the higher level resolves them in a median of 30 min, \
                    100 % with the code 'refund'."
                .into(),
            figures: vec![
                ("cases", 10.0),
                ("escalated", 5.0),
                ("escalation_share", 0.5),
                ("resolved_above_first_level", 5.0),
                ("median_resolution_after_escalation_s", 1800.0),
                ("top_code_share", 1.0),
            ],
            examples: vec![1, 2, 3, 4, 5],
            suggestion: "Let Tier 1 resolve 'billing' cases with 'refund': train the agents, write an article or \
                         raise their authority limit."
                .into(),
        }],
    );
}

#[test]
fn move_down_thresholds() {
    let five = |minutes: i64| vec![("refund", minutes); 5];
    // At each threshold: suggested.
    assert_eq!(insights::move_down(&billing(11, &five(60))).len(), 1, "31 % escalated, median 1 h");
    let mixed = [("refund", 5), ("refund", 5), ("refund", 5), ("other", 5), ("else", 5)];
    assert_eq!(insights::move_down(&billing(0, &mixed)).len(), 1, "60 % one code");
    // Just under each: nothing.
    assert_eq!(insights::move_down(&billing(0, &five(5)[..4])), vec![], "4 cases");
    assert_eq!(insights::move_down(&billing(12, &five(5))), vec![], "29 % escalated");
    let mut slow = billing(0, &five(60));
    slow[4].resolved_above.as_mut().unwrap().after_escalation = SignedDuration::from_secs(3601);
    slow[3].resolved_above.as_mut().unwrap().after_escalation = SignedDuration::from_secs(3601);
    slow[2].resolved_above.as_mut().unwrap().after_escalation = SignedDuration::from_secs(3601);
    assert_eq!(insights::move_down(&slow), vec![], "median 1 h 1 s");
    let spread = [("a", 5), ("a", 5), ("a", 5), ("a", 5), ("b", 5), ("c", 5), ("d", 5)];
    assert_eq!(insights::move_down(&billing(0, &spread)), vec![], "57 % one code");
    let mut uncategorised = billing(0, &five(5));
    uncategorised.iter_mut().for_each(|c| c.category = None);
    assert_eq!(insights::move_down(&uncategorised), vec![], "no category");
}

/// The counts of a category are a necessary condition for its suggestion, and a sufficient
/// one unless exactly half of an even number of durations are within the median's limit.
fn check_counts(cases: &[CaseOutcome], counts_decide: bool) {
    let mut counts = CategoryCounts::default();
    cases.iter().filter(|c| c.category.as_deref() == Some("billing")).for_each(|c| counts.add(c));
    let suggested = !insights::move_down(cases).is_empty();
    if suggested {
        assert!(counts.may_move_down(), "a suggestion the counts would hide: {counts:?}");
    }
    if counts_decide {
        assert_eq!(counts.may_move_down(), suggested, "{counts:?}");
    } else {
        assert!(counts.may_move_down(), "{counts:?}");
    }
}

#[test]
fn move_down_counts_tell_which_categories_need_their_cases_read() {
    let five = |minutes: i64| vec![("refund", minutes); 5];
    check_counts(&billing(5, &five(30)), true);
    check_counts(&billing(11, &five(60)), true);
    check_counts(&billing(12, &five(5)), true);
    check_counts(&billing(0, &five(5)[..4]), true);
    check_counts(&billing(0, &five(61)), true);
    check_counts(&billing(0, &[("refund", 5), ("refund", 5), ("refund", 5), ("other", 5), ("else", 5)]), true);
    check_counts(&billing(0, &[("a", 5), ("a", 5), ("a", 5), ("a", 5), ("b", 5), ("c", 5), ("d", 5)]), true);
    // Five durations, two within the hour: the median (the third) is over it.
    check_counts(&billing(0, &[("refund", 5), ("refund", 5), ("refund", 61), ("refund", 61), ("refund", 61)]), true);
    // Three of six within: the median is the mean of 30 min and the fourth, so only the
    // durations say whether it is within the hour (90 min: exactly 1 h; 91 min: over).
    let tie = |fourth: i64| {
        [("refund", 30), ("refund", 30), ("refund", 30), ("refund", fourth), ("refund", 95), ("refund", 95)]
    };
    check_counts(&billing(0, &tie(90)), false);
    check_counts(&billing(0, &tie(91)), false);
    assert_eq!(insights::move_down(&billing(0, &tie(90))).len(), 1);
    assert_eq!(insights::move_down(&billing(0, &tie(91))), vec![]);
    // Four of six within: the median is within whatever the others are.
    check_counts(
        &billing(
            0,
            &[("refund", 30), ("refund", 30), ("refund", 30), ("refund", 60), ("refund", 500), ("refund", 900)],
        ),
        true,
    );
}

// ---- limit_margin ----

fn request(case_number: u64, amount: f64) -> ApprovalRequest {
    ApprovalRequest { case_number, action: "refund".into(), role: Role::Agent, amount, limit: Some(100.0) }
}

#[test]
fn limit_margin_suggests_raising_a_limit_often_just_exceeded() {
    let requests = vec![request(7, 105.0), request(3, 110.0), request(9, 101.0), request(4, 110.5), request(5, 300.0)];
    check(
        insights::limit_margin(&requests),
        vec![Suggestion {
            kind: Kind::LimitMargin,
            title: "3 approval requests for 'refund' by agents exceeded their limit of 100 by 10 % or less.".into(),
            figures: vec![
                ("requests_within_margin", 3.0),
                ("requests", 5.0),
                ("limit", 100.0),
                ("highest_amount", 110.0),
            ],
            examples: vec![3, 7, 9],
            suggestion: "Raise the agent limit for 'refund' from 100 to 110 in the matrix's [[authority]] rules, so \
                         these requests need no approval."
                .into(),
        }],
    );
}

#[test]
fn limit_margin_thresholds() {
    assert_eq!(insights::limit_margin(&[request(1, 105.0), request(2, 110.0)]), vec![], "2 requests");
    let far = [request(1, 105.0), request(2, 110.0), request(3, 110.01)];
    assert_eq!(insights::limit_margin(&far), vec![], "one 10.01 % above");
    let mut supervisors = [request(1, 105.0), request(2, 110.0), request(3, 101.0)];
    supervisors[2].role = Role::Supervisor;
    assert_eq!(insights::limit_margin(&supervisors), vec![], "two roles");
    let mut no_limit = [request(1, 105.0), request(2, 110.0), request(3, 101.0)];
    no_limit[0].limit = None;
    assert_eq!(insights::limit_margin(&no_limit), vec![], "no limit");
}

// ---- outliers ----

fn peer(label: &str, cases: i64, escalated: i64) -> PeerFigures {
    PeerFigures { label: label.into(), cases, escalated }
}

fn team(own_escalated: i64, own_cases: i64) -> Vec<PeerFigures> {
    vec![peer("a", 10, 2), peer("b", 10, 2), peer("c", 10, 3), peer("d", 10, 3), peer("ana", own_cases, own_escalated)]
}

#[test]
fn outliers_flag_an_escalation_rate_far_above_the_peers() {
    check(
        insights::outliers(PeerGroup::Agent, &team(4, 10)),
        vec![Suggestion {
            kind: Kind::Outlier,
            title: "Agent ana escalates 40 % of their cases, against 25 % on average for their peers.".into(),
            figures: vec![
                ("cases", 10.0),
                ("escalated", 4.0),
                ("escalation_rate", 0.4),
                ("peers", 4.0),
                ("peers_mean_rate", 0.25),
                ("peers_standard_deviation", 0.05),
                ("standard_deviations_above", 3.0),
            ],
            examples: vec![],
            suggestion: "Review a sample of these escalations with the agent: coaching, a missing skill or a routing \
                         that sends them harder cases."
                .into(),
        }],
    );
    assert_eq!(insights::outliers(PeerGroup::Team, &team(4, 10))[0].title[..9], *"Team ana ");
}

#[test]
fn outliers_thresholds() {
    // 0.34 is 1.8 deviations above the mean; 0.36 is 2.2.
    assert_eq!(insights::outliers(PeerGroup::Agent, &team(34, 100)), vec![], "1.8 deviations");
    assert_eq!(insights::outliers(PeerGroup::Agent, &team(36, 100)).len(), 1, "2.2 deviations");
    assert_eq!(insights::outliers(PeerGroup::Agent, &team(9, 9)), vec![], "9 cases");
    let three = &team(4, 10)[2..];
    assert_eq!(insights::outliers(PeerGroup::Agent, three), vec![], "2 peers");
    // Identical peers: the deviation counts as 5 points, so 29 % against 25 % is not flagged.
    let same = [peer("a", 20, 5), peer("b", 20, 5), peer("c", 20, 5), peer("ana", 100, 29)];
    assert_eq!(insights::outliers(PeerGroup::Agent, &same), vec![], "within the minimum deviation");
}

// ---- rule_activity ----

fn rule(trigger: &str, triggered: u64, fired: u64, examples: Vec<u64>) -> RuleActivity {
    RuleActivity { name: "vip".into(), trigger: trigger.into(), triggered, fired, examples }
}

#[test]
fn rules_that_never_or_always_fire() {
    check(
        insights::rule_activity(&[rule("case_opened", 20, 0, vec![9, 8])]),
        vec![Suggestion {
            kind: Kind::RuleNeverFires,
            title: "Rule 'vip' never fired in the 20 times its trigger 'case_opened' happened.".into(),
            figures: vec![("triggered", 20.0), ("fired", 0.0)],
            examples: vec![8, 9],
            suggestion: "Check the condition of rule 'vip', or remove the rule if it is no longer needed.".into(),
        }],
    );
    check(
        insights::rule_activity(&[rule("message_received", 20, 19, (1..=7).rev().collect())]),
        vec![Suggestion {
            kind: Kind::RuleAlwaysFires,
            title: "Rule 'vip' fired on 95 % of the 20 times its trigger 'message_received' happened.".into(),
            figures: vec![("triggered", 20.0), ("fired", 19.0), ("fired_share", 0.95)],
            examples: vec![1, 2, 3, 4, 5],
            suggestion: "Narrow the condition of rule 'vip', or make what it does the default for every case.".into(),
        }],
    );
    // Every trigger is judged the same way.
    for trigger in ["status_changed", "clock_at_risk", "clock_breached", "reopened", "repeat_contact"] {
        let found = insights::rule_activity(&[rule(trigger, 400, 0, vec![])]);
        assert_eq!(found.iter().map(|s| s.kind).collect::<Vec<_>>(), [Kind::RuleNeverFires], "{trigger}");
        assert!(found[0].title.contains(&format!("'{trigger}'")), "{trigger}: {}", found[0].title);
    }
}

#[test]
fn rule_activity_thresholds() {
    assert_eq!(insights::rule_activity(&[rule("reopened", 19, 0, vec![])]), vec![], "19 times, never");
    assert_eq!(insights::rule_activity(&[rule("reopened", 19, 19, vec![1])]), vec![], "19 times, always");
    assert_eq!(insights::rule_activity(&[rule("reopened", 20, 18, vec![1])]), vec![], "90 %");
    assert_eq!(insights::rule_activity(&[rule("reopened", 20, 1, vec![1])]), vec![], "once");
    assert_eq!(insights::rule_activity(&[rule("reopened", 200, 189, vec![1])]), vec![], "94.5 %");
    assert_eq!(insights::rule_activity(&[rule("reopened", 200, 190, vec![1])]).len(), 1, "95 %");
}

// ---- breached_out_of_hours ----

fn weekdays() -> BusinessCalendar {
    let source = "[calendars.support]\ntimezone = \"America/New_York\"\nhours = { \"mon-fri\" = \"08:00-20:00\" }\n";
    let (m, _) = matrix::parse(source, "test.toml").unwrap_or_else(|d| panic!("{d:?}"));
    BusinessCalendar::new(&m.calendars["support"]).unwrap()
}

fn breach(case_number: u64, due_at: &str) -> Breach {
    Breach { case_number, level: LevelId::new("L2"), due_at: due_at.parse::<Timestamp>().unwrap() }
}

/// Friday 20 November 2026 at noon and 22:00, Saturday the 21st, Monday the 23rd at 03:00
/// (New York).
const IN_HOURS: &str = "2026-11-20T12:00:00-05:00";
const NIGHT: &str = "2026-11-20T22:00:00-05:00";
const WEEKEND: &str = "2026-11-21T12:00:00-05:00";
const EARLY: &str = "2026-11-23T03:00:00-05:00";

#[test]
fn breaches_mostly_out_of_hours() {
    let breaches = [breach(1, IN_HOURS), breach(2, NIGHT), breach(3, WEEKEND), breach(4, EARLY), breach(5, IN_HOURS)];
    check(
        insights::breached_out_of_hours(&breaches, &weekdays(), "support"),
        vec![Suggestion {
            kind: Kind::BreachedOutOfHours,
            title: "60 % of the SLA breaches at L2 fell due at night or at the weekend (outside 'support' hours)."
                .into(),
            figures: vec![("breaches", 5.0), ("out_of_hours", 3.0), ("out_of_hours_share", 0.6)],
            examples: vec![2, 3, 4],
            suggestion:
                "Staff L2 out of hours (an on-call rota), or have its clocks count in the 'support' calendar's \
                         business time."
                    .into(),
        }],
    );
}

#[test]
fn breaches_out_of_hours_thresholds() {
    let calendar = weekdays();
    let four = [breach(1, NIGHT), breach(2, WEEKEND), breach(3, EARLY), breach(4, NIGHT)];
    assert_eq!(insights::breached_out_of_hours(&four, &calendar, "support"), vec![], "4 breaches");
    let fewer = [breach(1, IN_HOURS), breach(2, NIGHT), breach(3, WEEKEND), breach(4, IN_HOURS), breach(5, IN_HOURS)];
    assert_eq!(insights::breached_out_of_hours(&fewer, &calendar, "support"), vec![], "40 %");
}

#[test]
fn the_demos_escalation_rate_and_csat_gap_stand_out_and_figures_just_under_do_not() {
    use insights::PeriodFigures;
    let demo = PeriodFigures {
        cases: 1993,
        escalated: 658,
        csat_answers: 600,
        csat_escalated: Some(3.58),
        csat_not_escalated: Some(4.32),
    };
    let found = insights::overall(&demo);
    let kinds: Vec<Kind> = found.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, vec![Kind::HighEscalationRate, Kind::CsatGap], "{found:#?}");
    assert_eq!(found[0].title, "33 % of the cases were escalated (658 of 1993).");
    assert_eq!(found[1].title, "Customers rate escalated cases 3.58 against 4.32 for the others (600 answers).");

    // Just under each threshold: nothing.
    for quiet in [
        PeriodFigures { escalated: 24, cases: 100, ..Default::default() },
        PeriodFigures { escalated: 29, cases: 29, ..Default::default() },
        PeriodFigures { csat_answers: 600, csat_escalated: Some(3.9), csat_not_escalated: Some(4.39), ..demo },
        PeriodFigures { csat_answers: 19, ..demo },
    ] {
        let kinds: Vec<Kind> = insights::overall(&quiet).iter().map(|s| s.kind).collect();
        let expected: Vec<Kind> = if quiet.cases >= 30 && quiet.escalated * 4 >= quiet.cases {
            vec![Kind::HighEscalationRate]
        } else {
            vec![]
        };
        assert_eq!(kinds, expected, "{quiet:?}");
    }
}
