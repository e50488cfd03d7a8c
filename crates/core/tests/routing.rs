//! Routing decisions and queue priority as data: a case's needs and the team's agents in,
//! the chosen agent and the reason out.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use ladder_core::case::{Case, Channel, Priority, Status};
use ladder_core::directory::{Customer, LevelId, Role};
use ladder_core::event::{CaseEvent, Opened, RecordedEvent};
use ladder_core::ids::{CaseId, CustomerId, UserId};
use ladder_core::routing::{Candidate, RouteNeeds, choose, is_queued, priority_factors, queue_rank};
use ladder_testkit::{directory, ts};

fn agent(n: u8, name: &str) -> Candidate {
    Candidate {
        user_id: UserId(uuid::Uuid::from_u128(u128::from(n))),
        name: name.into(),
        role: Role::Agent,
        available: true,
        presence_since: ts("2026-11-23T08:00:00Z"),
        skills: BTreeMap::new(),
        languages: vec![],
        capacity: 3,
        load: 0,
        handled_customer_before: false,
    }
}

fn with(mut c: Candidate, f: impl FnOnce(&mut Candidate)) -> Candidate {
    f(&mut c);
    c
}

fn skilled(c: Candidate, skill: &str, level: u8) -> Candidate {
    with(c, |c| {
        c.skills.insert(skill.into(), level);
    })
}

fn billing() -> RouteNeeds {
    RouteNeeds { skill: Some("billing".into()), ..Default::default() }
}

/// `(what the case needs, the agents, who should get it, a word the reason must contain)`.
type Scenario = (&'static str, RouteNeeds, Vec<Candidate>, Option<&'static str>, &'static str);

#[test]
fn routing_decisions() {
    let scenarios: Vec<Scenario> = vec![
        (
            "the only available agent",
            RouteNeeds::default(),
            vec![agent(1, "ana"), with(agent(2, "ben"), |c| c.available = false)],
            Some("ana"),
            "load 0/3",
        ),
        (
            "nobody available",
            RouteNeeds::default(),
            vec![with(agent(1, "ana"), |c| c.available = false)],
            None,
            "queue",
        ),
        ("no agents at all", RouteNeeds::default(), vec![], None, "no agents"),
        (
            "at capacity is passed over",
            RouteNeeds::default(),
            vec![with(agent(1, "ana"), |c| c.load = 3), agent(2, "ben")],
            Some("ben"),
            "ben",
        ),
        (
            "spare capacity wins",
            RouteNeeds::default(),
            vec![with(agent(1, "ana"), |c| c.load = 2), with(agent(2, "ben"), |c| c.load = 1)],
            Some("ben"),
            "load 1/3",
        ),
        (
            "higher proficiency wins",
            billing(),
            vec![skilled(agent(1, "ana"), "billing", 2), skilled(agent(2, "ben"), "billing", 5)],
            Some("ben"),
            "skill billing at 5",
        ),
        (
            "the skill is required when someone has it",
            billing(),
            vec![agent(1, "ana"), skilled(with(agent(2, "ben"), |c| c.load = 2), "billing", 1)],
            Some("ben"),
            "skill billing",
        ),
        (
            "without anyone skilled, anyone eligible",
            billing(),
            vec![with(agent(1, "ana"), |c| c.load = 1), agent(2, "ben")],
            Some("ben"),
            "ben",
        ),
        (
            "language must match",
            RouteNeeds { language: Some("es".into()), ..Default::default() },
            vec![
                with(agent(1, "ana"), |c| c.languages = vec!["en".into()]),
                with(agent(2, "ben"), |c| c.languages = vec!["es-MX".into()]),
            ],
            Some("ben"),
            "ben",
        ),
        (
            "an agent without recorded languages takes any",
            RouteNeeds { language: Some("fr".into()), ..Default::default() },
            vec![with(agent(1, "ana"), |c| c.languages = vec!["en".into()]), agent(2, "ben")],
            Some("ben"),
            "ben",
        ),
        (
            "continuity with the customer",
            RouteNeeds::default(),
            vec![agent(1, "ana"), with(agent(2, "ben"), |c| c.handled_customer_before = true)],
            Some("ben"),
            "handled this customer before",
        ),
        (
            "a customer's request for a supervisor",
            RouteNeeds { min_role: Some(Role::Supervisor), ..Default::default() },
            vec![agent(1, "ana"), with(agent(2, "sam"), |c| c.role = Role::Supervisor)],
            Some("sam"),
            "sam",
        ),
        (
            "no supervisor available",
            RouteNeeds { min_role: Some(Role::Supervisor), ..Default::default() },
            vec![agent(1, "ana")],
            None,
            "queue",
        ),
        (
            "a tie goes to the longest waiting",
            RouteNeeds::default(),
            vec![agent(1, "ana"), with(agent(2, "ben"), |c| c.presence_since = ts("2026-11-23T07:00:00Z"))],
            Some("ben"),
            "ben",
        ),
    ];
    for (name, needs, candidates, expected, reason) in scenarios {
        let decision = choose(&needs, &candidates);
        let chosen = decision.chosen.map(|id| candidates.iter().find(|c| c.user_id == id).unwrap().name.as_str());
        assert_eq!(chosen, expected, "{name}: {decision:#?}");
        assert!(decision.reason.contains(reason), "{name}: reason {:?} should mention {reason:?}", decision.reason);
        assert_eq!(decision.candidates.len(), candidates.len(), "{name}: every candidate is kept");
        assert!(
            decision.candidates.iter().all(|c| c.eligible || !c.reason.is_empty()),
            "{name}: every refusal says why"
        );
    }
}

#[test]
fn ineligible_candidates_say_why() {
    let decision = choose(
        &RouteNeeds { language: Some("es".into()), min_role: None, skill: None },
        &[
            with(agent(1, "ana"), |c| c.available = false),
            with(agent(2, "ben"), |c| c.load = 3),
            with(agent(3, "cleo"), |c| c.languages = vec!["de".into()]),
        ],
    );
    let why: Vec<&str> = decision.candidates.iter().map(|c| c.reason.as_str()).collect();
    assert!(why.contains(&"not available"), "{why:?}");
    assert!(why.contains(&"at capacity (3/3)"), "{why:?}");
    assert!(why.contains(&"does not speak es"), "{why:?}");
}

#[test]
fn assignments_spread_fairly_over_equal_agents() {
    let mut agents: Vec<Candidate> = (1..=4).map(|n| with(agent(n, &format!("a{n}")), |c| c.capacity = 5)).collect();
    let mut counts = [0u32; 4];
    let mut open: Vec<usize> = Vec::new();
    for i in 0..400 {
        let d = choose(&RouteNeeds::default(), &agents);
        let chosen = d.chosen.expect("someone has room");
        let k = agents.iter().position(|a| a.user_id == chosen).unwrap();
        agents[k].load += 1;
        counts[k] += 1;
        open.push(k);
        // Cases finish in the order of a fixed pseudo-random walk, so loads keep changing.
        if open.len() >= 8 {
            let done = open.remove((i * 7) % open.len());
            agents[done].load -= 1;
        }
    }
    for c in counts {
        assert!((85..=115).contains(&c), "each of 4 equal agents should get about 100 of 400: {counts:?}");
    }
}

fn case(priority: Priority, sentiment: Option<i8>) -> Case {
    let at = ts("2026-11-23T10:00:00Z");
    let opened = RecordedEvent {
        case_id: CaseId(uuid::Uuid::nil()),
        version: 1,
        at,
        actor: ladder_core::Actor::System { name: "test".into() },
        event: CaseEvent::Opened(Opened {
            number: 1,
            subject: "s".into(),
            description: String::new(),
            category: None,
            channel: Channel::Email,
            priority,
            level: LevelId::new("L1"),
            team: Some(ladder_core::ids::TeamId(uuid::Uuid::nil())),
            assignee: None,
            customer: None,
            tags: Default::default(),
            custom_fields: Default::default(),
            sentiment: None,
            risk: None,
        }),
        matrix_version: None,
    };
    let mut case = Case::replay([&opened]).unwrap();
    // A score of the mood asked for (−2 … +2), as the analyser would give it.
    case.sentiment = sentiment.map(|mood| i16::from(mood) * 400);
    case
}

fn customer(value: f64, segment: &str) -> Customer {
    Customer {
        value,
        segment: Some(segment.into()),
        ..directory::customer(CustomerId(uuid::Uuid::nil()), "c", ts("2026-01-01T00:00:00Z"))
    }
}

#[test]
fn priority_points_by_reason() {
    let plain = priority_factors(&case(Priority::Normal, None), None, 1);
    assert_eq!((plain.urgency, plain.value, plain.segment, plain.repeat, plain.sentiment), (10, 0, 0, 0, 0));
    let vip = priority_factors(&case(Priority::Urgent, Some(-2)), Some(&customer(25_000.0, "vip")), 3);
    assert_eq!((vip.urgency, vip.value, vip.segment, vip.repeat, vip.sentiment), (40, 17, 15, 10, 10));
    assert_eq!(vip.total(), 92);
    let repeat_cap = priority_factors(&case(Priority::Low, Some(-1)), Some(&customer(50.0, "consumer")), 9);
    assert_eq!((repeat_cap.repeat, repeat_cap.sentiment, repeat_cap.value), (15, 5, 6));
}

#[test]
fn the_queue_mixes_importance_with_time_left() {
    let c = case(Priority::Normal, None);
    let due = ts("2026-11-23T12:00:00Z");
    // 10 points bring the virtual deadline an hour forward.
    assert_eq!(queue_rank(&c, Some(due), 10), ts("2026-11-23T11:00:00Z"));
    // Without an SLA due instant, four hours after opening.
    assert_eq!(queue_rank(&c, None, 0), ts("2026-11-23T14:00:00Z"));
    // A VIP (90 points) passes a plain case (10 points) due up to 8 hours earlier...
    let vip = queue_rank(&c, Some(due), 90);
    let plain_earlier = queue_rank(&c, Some(due - SignedDuration::from_hours(7)), 10);
    assert!(vip < plain_earlier);
    // ...but not one due 9 hours earlier.
    let plain_much_earlier = queue_rank(&c, Some(due - SignedDuration::from_hours(9)), 10);
    assert!(plain_much_earlier < vip);
}

#[test]
fn only_workable_unowned_cases_are_queued() {
    let mut c = case(Priority::Normal, None);
    assert!(is_queued(&c));
    c.assignee = Some(UserId(uuid::Uuid::nil()));
    assert!(!is_queued(&c));
    c.assignee = None;
    c.status = Status::PendingCustomer;
    assert!(!is_queued(&c));
    c.status = Status::Open;
    c.team = None;
    assert!(!is_queued(&c));
}

#[test]
fn a_large_team_lists_the_best_and_counts_the_rest() {
    let candidates: Vec<Candidate> = (0..200u8)
        .map(|n| {
            with(agent(n, &format!("a{n}")), |c| {
                c.available = n % 4 != 0;
                c.load = u32::from(n % 4);
                if n % 5 == 0 {
                    c.skills.insert("billing".into(), n % 5 + 1 + n % 3);
                }
            })
        })
        .collect();
    let d = choose(&billing(), &candidates);
    assert_eq!(d.candidates.len(), ladder_core::routing::LISTED);
    assert_eq!(d.others.values().sum::<u32>() as usize, 200 - ladder_core::routing::LISTED, "{:?}", d.others);
    // The chosen one is the best by brute force: the highest score among the eligible.
    let best = d.candidates.iter().filter(|c| c.eligible).map(|c| c.score).fold(f64::MIN, f64::max);
    assert_eq!(d.candidates[0].score, best);
    assert_eq!(d.chosen, Some(d.candidates[0].user));
    assert!(d.candidates.windows(2).all(|w| w[0].eligible >= w[1].eligible));
    assert!(d.others.contains_key("not available"), "{:?}", d.others);
}
