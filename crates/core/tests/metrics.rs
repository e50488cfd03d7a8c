//! Escalation metrics: definitions as data (a small event history → the exact figures), and
//! the incremental aggregate (subtract the old contribution, add the new one after every
//! write) equal to a recomputation from scratch on random histories.

use std::collections::BTreeMap;

use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};
use ladder_core::LevelId;
use ladder_core::case::{Actor, Channel, Priority};
use ladder_core::event::*;
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::metrics::{CaseMetrics, Counters, Dimension, MetricsTable};
use ladder_core::sla::ClockKind;
use proptest::prelude::*;
use uuid::Uuid;

const FRONT: TeamId = TeamId(Uuid::from_u128(0x7E01));
const BACK: TeamId = TeamId(Uuid::from_u128(0x7E02));
const ANA: UserId = UserId(Uuid::from_u128(0xA1));

fn lvl(s: &str) -> LevelId {
    LevelId::new(s)
}

fn t0() -> Timestamp {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

fn minutes(n: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(n)
}

fn opened(channel: Channel, category: Option<&str>, priority: Priority) -> CaseEvent {
    CaseEvent::Opened(Opened {
        number: 1,
        subject: "s".into(),
        description: "d".into(),
        category: category.map(String::from),
        channel,
        priority,
        level: lvl("L1"),
        team: Some(FRONT),
        assignee: Some(ANA),
        customer: Some(CustomerId(Uuid::from_u128(0xC0570))),
        tags: Default::default(),
        custom_fields: Default::default(),
        sentiment: None,
        risk: None,
    })
}

fn escalated(kind: EscalationKind, initiator: Initiator, from: &str, to: &str) -> CaseEvent {
    CaseEvent::Escalated(Escalated {
        kind,
        initiator,
        from_level: lvl(from),
        to_level: lvl(to),
        from_team: Some(FRONT),
        to_team: Some(BACK),
        from_assignee: Some(ANA),
        to_user: None,
        reason: "r".into(),
        tried: None,
        team_choice: None,
    })
}

fn de_escalated(from: &str, to: &str) -> CaseEvent {
    CaseEvent::DeEscalated(DeEscalated {
        from_level: lvl(from),
        to_level: lvl(to),
        from_team: Some(BACK),
        to_team: Some(FRONT),
        to_user: None,
        guidance: "g".into(),
    })
}

fn resolved() -> CaseEvent {
    CaseEvent::Resolved(Resolved { code: "fixed".into(), note: None, article_id: None })
}

fn reopened() -> CaseEvent {
    CaseEvent::Reopened(Reopened { reason: "again".into() })
}

fn csat(score: u8) -> CaseEvent {
    CaseEvent::CsatRecorded(CsatRecorded { score, comment: None, by_customer: true })
}

fn clock_started(index: u32, level: &str) -> CaseEvent {
    CaseEvent::ClockStarted(ClockStarted {
        index,
        clock: ClockKind::Respond,
        level: lvl(level),
        target: SignedDuration::from_hours(1),
        calendar: None,
        due_at: minutes(60),
        next_fire: None,
        approval: None,
    })
}

fn clock_met(index: u32) -> CaseEvent {
    CaseEvent::ClockMet(ClockMet { index, clock: ClockKind::Respond })
}

fn clock_breached(index: u32) -> CaseEvent {
    CaseEvent::ClockBreached(ClockBreached { index, clock: ClockKind::Respond, due_at: minutes(60) })
}

fn transferred() -> CaseEvent {
    CaseEvent::Transferred(Transferred { from_team: Some(FRONT), to_team: BACK, to_user: None, reason: "r".into() })
}

/// A case's history: `(minutes after t0, event)`.
type History = Vec<(i64, CaseEvent)>;

fn record(case: u128, history: &History) -> Vec<RecordedEvent> {
    history
        .iter()
        .enumerate()
        .map(|(i, (m, event))| RecordedEvent {
            case_id: CaseId(Uuid::from_u128(case)),
            version: i as u64 + 1,
            at: minutes(*m),
            actor: Actor::User { id: ANA },
            event: event.clone(),
            matrix_version: None,
        })
        .collect()
}

/// Folds each history into the aggregate and sums `dimension` over the whole period.
fn figures(histories: &[History], dimension: Dimension) -> BTreeMap<String, Counters> {
    let mut table = MetricsTable::default();
    for (i, h) in histories.iter().enumerate() {
        let mut m = CaseMetrics::replay(&record(i as u128 + 1, h), Some("gold".into()));
        // The customer of case 2 has churned (the store keeps this flag from the directory).
        if let Some(m) = m.as_mut() {
            m.customer_churned = i == 1;
        }
        table.replace(None, m.as_ref());
    }
    table.query(date(2026, 1, 1), date(2026, 12, 31), dimension)
}

/// Four cases:
/// 1. phone, billing: resolved on the first contact after 30 min; CSAT 5; respond clock met.
/// 2. email, billing: escalated L1 → L2 by the customer (hierarchical) after 10 min,
///    de-escalated back after 40 more, resolved at 70, reopened at 80, resolved at 100;
///    CSAT 2; the L1 clock breached, the L2 clock met.
/// 3. chat, no category: transferred, resolved at 20 (not FCR: transferred); no CSAT.
/// 4. phone, billing, urgent: functionally escalated by an agent at 5 min, still open.
///
/// Every case has a customer; case 2's has churned.
fn sample() -> Vec<History> {
    vec![
        vec![
            (0, opened(Channel::Phone, Some("billing"), Priority::Normal)),
            (0, clock_started(0, "L1")),
            (5, clock_met(0)),
            (30, resolved()),
            (31, csat(5)),
        ],
        vec![
            (0, opened(Channel::Email, Some("billing"), Priority::Normal)),
            (0, clock_started(0, "L1")),
            (10, escalated(EscalationKind::Hierarchical, Initiator::Customer, "L1", "L2")),
            (10, clock_breached(0)),
            (10, clock_started(1, "L2")),
            (20, clock_met(1)),
            (50, de_escalated("L2", "L1")),
            (70, resolved()),
            (80, reopened()),
            (100, resolved()),
            (101, csat(3)),
            (102, csat(2)),
        ],
        vec![(0, opened(Channel::Chat, None, Priority::Low)), (2, transferred()), (20, resolved())],
        vec![
            (0, opened(Channel::Phone, Some("billing"), Priority::Urgent)),
            (5, escalated(EscalationKind::Functional, Initiator::Agent, "L1", "L2")),
        ],
    ]
}

#[track_caller]
fn check(dimension: Dimension, value: &str, want: Counters) {
    let all = figures(&sample(), dimension);
    let got = all.get(value).copied().unwrap_or_else(|| panic!("no row '{value}' in {all:?}"));
    assert_eq!(got, want, "{} = '{value}'", dimension.as_str());
}

#[test]
fn the_total_of_a_small_history() {
    let opened_sum = t0().as_second(); // only case 4 is still open
    check(
        Dimension::All,
        "",
        Counters {
            cases: 4,
            escalated: 2,
            n_escalations: 2,
            supervisor_escalated: 1,
            de_escalated: 1,
            transferred: 1,
            resolved: 3,
            fcr: 1,
            reopened: 1,
            open: 1,
            open_opened_at_sum_s: opened_sum,
            csat_sum: 5 + 2,
            csat_n: 2,
            csat_escalated_sum: 2,
            csat_escalated_n: 1,
            csat_not_escalated_sum: 5,
            csat_not_escalated_n: 1,
            first_escalation_sum_s: (10 + 5) * 60,
            first_escalation_n: 2,
            resolution_sum_s: (30 + 70 + 20) * 60,
            resolution_n: 3,
            // Case 1: 30 min at L1. Case 2: 10 at L1, 40 at L2, 20 at L1, then 20 after the
            // reopen. Case 3: 20. Case 4: 5 at L1 (the L2 stay is still running).
            level_time_sum_s: (30 + 10 + 40 + 20 + 20 + 20 + 5) * 60,
            sla_met: 2,
            sla_breached: 1,
            with_customer: 4,
            escalated_with_customer: 2,
            churned: 1,
            escalated_churned: 1,
        },
    );
}

#[test]
fn grouped_by_channel() {
    let email = Counters {
        cases: 1,
        escalated: 1,
        n_escalations: 1,
        supervisor_escalated: 1,
        de_escalated: 1,
        resolved: 1,
        reopened: 1,
        csat_sum: 2,
        csat_n: 1,
        csat_escalated_sum: 2,
        csat_escalated_n: 1,
        first_escalation_sum_s: 600,
        first_escalation_n: 1,
        resolution_sum_s: 70 * 60,
        resolution_n: 1,
        level_time_sum_s: 90 * 60,
        sla_met: 1,
        sla_breached: 1,
        with_customer: 1,
        escalated_with_customer: 1,
        churned: 1,
        escalated_churned: 1,
        ..Counters::default()
    };
    check(Dimension::Channel, "email", email);
    let chat = Counters {
        cases: 1,
        transferred: 1,
        resolved: 1,
        resolution_sum_s: 20 * 60,
        resolution_n: 1,
        level_time_sum_s: 20 * 60,
        with_customer: 1,
        ..Counters::default()
    };
    check(Dimension::Channel, "chat", chat);
    check(Dimension::Category, "", chat);
    assert_eq!(figures(&sample(), Dimension::Channel)["phone"].cases, 2);
    assert_eq!(figures(&sample(), Dimension::Category)["billing"].cases, 3);
}

#[test]
fn grouped_by_initiator_priority_team_agent_and_segment() {
    let initiators = figures(&sample(), Dimension::Initiator);
    assert_eq!(initiators.keys().collect::<Vec<_>>(), ["", "agent", "customer"]);
    assert_eq!((initiators[""].cases, initiators["agent"].cases, initiators["customer"].cases), (2, 1, 1));
    let priorities = figures(&sample(), Dimension::Priority);
    assert_eq!((priorities["low"].cases, priorities["normal"].cases, priorities["urgent"].cases), (1, 2, 1));
    assert_eq!(figures(&sample(), Dimension::Team)[&FRONT.to_string()].cases, 4);
    assert_eq!(figures(&sample(), Dimension::Agent)[&ANA.to_string()].cases, 4);
    assert_eq!(figures(&sample(), Dimension::Segment)["gold"].cases, 4);
}

#[test]
fn grouped_by_level() {
    // L1: every case; escalated from L1: cases 2 and 4; outcomes of the cases now at L1
    // (1, 2 and 3); the L1 clocks: one met, one breached.
    check(
        Dimension::Level,
        "L1",
        Counters {
            cases: 4,
            escalated: 2,
            n_escalations: 2,
            transferred: 0,
            resolved: 3,
            fcr: 1,
            reopened: 1,
            csat_sum: 7,
            csat_n: 2,
            csat_escalated_sum: 2,
            csat_escalated_n: 1,
            csat_not_escalated_sum: 5,
            csat_not_escalated_n: 1,
            first_escalation_sum_s: 600,
            first_escalation_n: 1,
            resolution_sum_s: 120 * 60,
            resolution_n: 3,
            level_time_sum_s: (30 + 10 + 20 + 20 + 20 + 5) * 60,
            sla_met: 1,
            sla_breached: 1,
            with_customer: 3,
            escalated_with_customer: 1,
            churned: 1,
            escalated_churned: 1,
            ..Counters::default()
        },
    );
    // L2: cases 2 and 4; case 2 de-escalated from it; case 4 is there now, still open.
    check(
        Dimension::Level,
        "L2",
        Counters {
            cases: 2,
            de_escalated: 1,
            open: 1,
            open_opened_at_sum_s: t0().as_second(),
            first_escalation_sum_s: 300,
            first_escalation_n: 1,
            level_time_sum_s: 40 * 60,
            sla_met: 1,
            with_customer: 1,
            escalated_with_customer: 1,
            ..Counters::default()
        },
    );
}

#[test]
fn rates_from_the_counters() {
    let total = figures(&sample(), Dimension::All)[""];
    let now = t0() + SignedDuration::from_hours(2);
    let r = total.rates(now);
    assert_eq!(r.escalation_rate, Some(0.5));
    assert_eq!(r.supervisor_escalation_rate, Some(0.25));
    assert_eq!(r.fcr_rate, Some(1.0 / 3.0));
    assert_eq!(r.de_escalation_rate, Some(0.5));
    assert_eq!(r.reopen_rate, Some(1.0 / 3.0));
    assert_eq!(r.transfer_rate, Some(0.25));
    assert_eq!(r.csat_avg, Some(3.5));
    assert_eq!(r.csat_escalated_avg, Some(2.0));
    assert_eq!(r.csat_not_escalated_avg, Some(5.0));
    assert_eq!(r.sla_compliance, Some(2.0 / 3.0));
    assert_eq!(r.avg_time_to_first_escalation_s, Some(450.0));
    assert_eq!(r.avg_time_to_resolution_s, Some(2400.0));
    assert_eq!(r.backlog_avg_age_s, Some(7200.0));
    assert_eq!(r.churn_rate_escalated, Some(0.5));
    assert_eq!(r.churn_rate_not_escalated, Some(0.0));
    assert_eq!(Counters::default().rates(now).escalation_rate, None);
}

#[test]
fn figures_count_on_the_utc_day_of_opening() {
    let mut table = MetricsTable::default();
    let m = CaseMetrics::replay(&record(1, &sample()[0]), None);
    table.replace(None, m.as_ref());
    assert_eq!(m.unwrap().day(), date(2026, 3, 2));
    assert!(table.query(date(2026, 3, 3), date(2026, 3, 31), Dimension::All).is_empty());
    assert_eq!(table.query(date(2026, 3, 2), date(2026, 3, 2), Dimension::All)[""].cases, 1);
}

// ---------------------------------------------------------------------------------------
// Incremental equals recomputed
// ---------------------------------------------------------------------------------------

fn any_event() -> impl Strategy<Value = CaseEvent> {
    let level = prop::sample::select(vec!["L1", "L2", "L3"]);
    prop_oneof![
        (level.clone(), level.clone(), any::<bool>(), 0..3u8).prop_map(|(from, to, hier, who)| {
            let kind = if hier { EscalationKind::Hierarchical } else { EscalationKind::Functional };
            let initiator = [Initiator::Agent, Initiator::Customer, Initiator::System][who as usize];
            escalated(kind, initiator, from, to)
        }),
        (level.clone(), level.clone()).prop_map(|(from, to)| de_escalated(from, to)),
        Just(transferred()),
        Just(resolved()),
        Just(reopened()),
        Just(CaseEvent::Closed(Closed {})),
        (1..=5u8).prop_map(csat),
        (0..4u32, level).prop_map(|(i, l)| clock_started(i, l)),
        (0..4u32).prop_map(clock_met),
        (0..4u32).prop_map(clock_breached),
        prop::sample::select(vec![Priority::Low, Priority::High])
            .prop_map(|p| CaseEvent::Updated(Updated { priority: Some(p), ..Default::default() })),
        prop::option::of(Just("refund".to_string()))
            .prop_map(|c| CaseEvent::Updated(Updated { category: Some(c), ..Default::default() })),
        Just(CaseEvent::Assigned(Assigned { assignee: UserId(Uuid::from_u128(0xA2)), previous: None })),
    ]
}

/// A case: its opening day offset, then events at increasing minutes, cut into writes.
fn any_case() -> impl Strategy<Value = (i64, Vec<(i64, CaseEvent)>, Vec<usize>)> {
    (
        0..3i64,
        prop::sample::select(vec![Channel::Phone, Channel::Email]),
        prop::collection::vec((0..2000i64, any_event()), 0..25),
        prop::collection::vec(1..5usize, 1..30),
    )
        .prop_map(|(day, channel, mut events, cuts)| {
            events.sort_by_key(|(m, _)| *m);
            let mut history = vec![(0, opened(channel, Some("billing"), Priority::Normal))];
            history.extend(events);
            for h in &mut history {
                h.0 += day * 24 * 60;
            }
            (day, history, cuts)
        })
}

proptest! {
    #[test]
    fn incremental_equals_recomputed(cases in prop::collection::vec(any_case(), 1..6), order in any::<u64>()) {
        // Writes of all cases interleave: each case's history is cut into batches, and the
        // batches are applied round-robin from a seed, as the writer would see them.
        let recorded: Vec<Vec<RecordedEvent>> =
            cases.iter().enumerate().map(|(i, (_, h, _))| record(i as u128 + 1, h)).collect();
        let mut batches: Vec<Vec<&[RecordedEvent]>> = Vec::new();
        for (events, (_, _, cuts)) in recorded.iter().zip(&cases) {
            let mut rest = events.as_slice();
            let mut out = Vec::new();
            for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (head, tail) = rest.split_at((*cut).min(rest.len()));
                out.push(head);
                rest = tail;
            }
            batches.push(out);
        }
        let mut incremental = MetricsTable::default();
        let mut states: Vec<Option<CaseMetrics>> = vec![None; cases.len()];
        let mut next = vec![0usize; cases.len()];
        let mut seed = order;
        // The customer (the same for every case) churns and comes back now and then; the
        // store re-counts the customer's cases each time, as here.
        let mut churned = false;
        while next.iter().zip(&batches).any(|(n, b)| *n < b.len()) {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pending: Vec<usize> = (0..cases.len()).filter(|i| next[*i] < batches[*i].len()).collect();
            if (seed >> 20) % 5 == 0 {
                churned = !churned;
                for state in states.iter_mut().flatten() {
                    let new = CaseMetrics { customer_churned: churned, ..state.clone() };
                    incremental.replace(Some(state), Some(&new));
                    *state = new;
                }
            }
            let i = pending[(seed >> 33) as usize % pending.len()];
            let old = states[i].clone();
            let mut state = old.clone();
            for e in batches[i][next[i]] {
                state = CaseMetrics::apply(state, e, || Some("gold".into()));
            }
            if old.is_none()
                && let Some(state) = state.as_mut()
            {
                state.customer_churned = churned;
            }
            incremental.replace(old.as_ref(), state.as_ref());
            states[i] = state;
            next[i] += 1;
        }
        let mut recomputed = MetricsTable::default();
        for events in &recorded {
            let mut m = CaseMetrics::replay(events, Some("gold".into()));
            if let Some(m) = m.as_mut() {
                m.customer_churned = churned;
            }
            recomputed.replace(None, m.as_ref());
        }
        prop_assert_eq!(&incremental, &recomputed);
        // And every dimension's rows add up to the total (except `level`, where a case
        // counts at every level it reached).
        let (from, to): (Date, Date) = (date(2026, 1, 1), date(2026, 12, 31));
        let total = recomputed.query(from, to, Dimension::All).remove("").unwrap_or_default();
        for dim in [Dimension::Channel, Dimension::Category, Dimension::Priority, Dimension::Initiator] {
            let mut sum = Counters::default();
            for c in recomputed.query(from, to, dim).values() {
                sum.add(c);
            }
            prop_assert_eq!(sum, total, "{}", dim.as_str());
        }
    }
}
