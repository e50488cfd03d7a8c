//! Actions with a value and their approvals, as data: who asks for how much, what it
//! becomes (applied at once, an approval for which role, or a refusal), and who may decide
//! an approval and how. Each case runs the whole path the engine runs: the authority the
//! matrix gives ([`ApplyAction::resolve`]), `Principal::may`, `decide`, `apply`, and the
//! SLA `reconcile` that keeps the approval's own clock. Simulated time only.

use jiff::{SignedDuration, Timestamp};
use ladder_core::access::Principal;
use ladder_core::case::{ApprovalState, apply};
use ladder_core::command::{ApplyAction, CaseCommand, DecideApproval, Decision, OpenCase};
use ladder_core::ids::{CaseId, TeamId, UserId};
use ladder_core::matrix::{self, Matrix};
use ladder_core::sla::{ClockKind, ClockState, SlaPolicy, reconcile};
use ladder_core::{Actor, Case, CaseEvent, Channel, Context, DomainError, Ladder, Priority, Role, decide, record};
use uuid::Uuid;

const CASE: CaseId = CaseId(Uuid::from_u128(0xCA5E));
const FRONT_LINE: TeamId = TeamId(Uuid::from_u128(0x7E01));
const BILLING: TeamId = TeamId(Uuid::from_u128(0x7E02));
const MANAGEMENT: TeamId = TeamId(Uuid::from_u128(0x7E03));

/// Agents ask up to 50, supervisors 500, managers 5000; admins have no limit of their own.
/// Ana's override raises hers; Sue (a supervisor) and Mo (a manager) have lower ones.
const MATRIX: &str = r#"
[[authority]]
action = "credit"
limits = { agent = 50, supervisor = 500, manager = 5000 }
users = { ana = 100, sue = 10, mo = 300 }
approve_within = "2h"

[[authority]]
action = "replacement"
limits = { agent = 20 }
"#;

fn matrix() -> Matrix {
    matrix::parse(MATRIX, "authority.toml").unwrap_or_else(|e| panic!("{e:#?}")).0
}

/// The staff: who they are, their role and their teams.
fn person(name: &str) -> Principal {
    let (n, role, teams) = match name {
        "ana" => (1, Role::Agent, vec![FRONT_LINE]),
        "bob" => (2, Role::Agent, vec![FRONT_LINE]),
        "erin" => (3, Role::Agent, vec![BILLING]),
        "sam" => (4, Role::Supervisor, vec![FRONT_LINE]),
        "sue" => (5, Role::Supervisor, vec![FRONT_LINE]),
        "tara" => (6, Role::Supervisor, vec![BILLING]),
        "maria" => (7, Role::Manager, vec![MANAGEMENT]),
        "mo" => (8, Role::Manager, vec![MANAGEMENT]),
        "root" => (9, Role::Admin, vec![]),
        other => panic!("no fixture user '{other}'"),
    };
    Principal { user_id: UserId(Uuid::from_u128(0xA0 + n)), name: name.into(), role, teams }
}

fn t0() -> Timestamp {
    Timestamp::from_second(1_750_000_000).unwrap()
}

/// A front-line case, and the write path of the engine around it.
struct World {
    matrix: Matrix,
    policy: SlaPolicy,
    ladder: Ladder,
    case: Case,
    step: i64,
}

impl World {
    fn new() -> World {
        let matrix = matrix();
        let policy = SlaPolicy::new(&matrix, Some(1)).unwrap();
        let ladder = Ladder::default();
        let open = CaseCommand::Open(OpenCase {
            subject: "Overcharged".into(),
            description: "Billed twice in March".into(),
            category: None,
            channel: Channel::Phone,
            priority: Priority::Normal,
            level: None,
            team: Some(ladder_core::command::TeamRef {
                id: FRONT_LINE,
                slug: "frontline".into(),
                level: ladder.bottom().clone(),
            }),
            assignee: None,
            customer: None,
            tags: Default::default(),
            custom_fields: Default::default(),
        });
        let actor = Actor::User { id: person("ana").user_id };
        let cx = context(&actor, &ladder, t0());
        let events = record(CASE, 0, &cx, decide(None, &open, &cx).unwrap());
        let case = ladder_core::Case::replay(&events).unwrap();
        World { matrix, policy, ladder, case, step: 0 }
    }

    /// Runs `command` for `who` as the engine does; answers the HTTP status a refusal gets.
    fn run(&mut self, who: &str, command: CaseCommand) -> Result<Vec<CaseEvent>, String> {
        self.step += 1;
        let now = t0() + SignedDuration::from_mins(self.step);
        let principal = person(who);
        principal.may(Some(&self.case), &command).map_err(|e| format!("403 {e}"))?;
        let actor = Actor::User { id: principal.user_id };
        let cx = context(&actor, &self.ladder, now);
        let events = decide(Some(&self.case), &command, &cx).map_err(|e| match e {
            DomainError::Invalid { field, message } => format!("422 {field}: {message}"),
            other @ DomainError::InvalidTransition { .. } => format!("409 {other}"),
            other => format!("404 {other}"),
        })?;
        let mut recorded = record(CASE, self.case.version, &cx, events);
        let before = self.case.clone();
        let mut after = recorded.iter().fold(before.clone(), |c, e| apply(Some(c), e));
        let clocks = reconcile(&self.policy, Some(&before), &recorded, &after, None, now);
        let clocks = record(CASE, after.version, &cx, clocks);
        after = clocks.iter().fold(after, |c, e| apply(Some(c), e));
        recorded.extend(clocks);
        self.case = after;
        Ok(recorded.into_iter().map(|r| r.event).collect())
    }

    fn ask(&mut self, who: &str, action: &str, amount: f64) -> Result<Vec<CaseEvent>, String> {
        let p = person(who);
        let command = ApplyAction::resolve(Some(&self.matrix), p.role, &p.name, action.into(), amount, None);
        self.run(who, CaseCommand::ApplyAction(command))
    }

    fn decide(
        &mut self,
        who: &str,
        approval: u32,
        decision: Decision,
        comment: Option<&str>,
    ) -> Result<String, String> {
        let p = person(who);
        let action = self.case.approvals.get(approval as usize).map(|a| a.action.clone()).unwrap_or_default();
        let approver_limit = self.matrix.authority_limit(&action, p.role, Some(&p.name));
        let command = DecideApproval { approval, decision, comment: comment.map(str::to_string), approver_limit };
        self.run(who, CaseCommand::DecideApproval(command)).map(|events| summary(&events))
    }
}

fn context<'a>(actor: &'a Actor, ladder: &'a Ladder, now: Timestamp) -> Context<'a> {
    Context { now, actor, ladder, next_number: 1, new_id: Uuid::from_u128(0x1D), matrix_version: Some(1) }
}

/// The case events in a line (clock events left out).
fn summary(events: &[CaseEvent]) -> String {
    events
        .iter()
        .filter(|e| !e.is_clock())
        .map(|e| match e {
            CaseEvent::ActionApplied(a) => match a.approval {
                Some(n) => format!("applied {} {} (approval {n})", a.action, a.amount),
                None => format!("applied {} {}", a.action, a.amount),
            },
            CaseEvent::ApprovalRequested(r) => {
                format!("approval {} of {} {} from {}", r.approval, r.action, r.amount, r.approver_role.as_str())
            }
            CaseEvent::ApprovalDecided(d) => match d.amount {
                Some(amount) => format!("{} {amount}", d.decision.as_str()),
                None => d.decision.as_str().to_string(),
            },
            other => other.kind().to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks an outcome, or a refusal that starts with `expected`.
fn check(got: Result<String, String>, expected: &str, what: &str) {
    match got {
        Ok(s) => assert_eq!(s, expected, "{what}"),
        Err(e) => assert!(e.starts_with(expected), "{what}: got\n  {e}\nexpected it to start with\n  {expected}"),
    }
}

#[test]
fn requests_go_to_the_lowest_role_with_enough_authority() {
    let cases: &[(&str, &str, f64, &str)] = &[
        // Agents: 50, exactly at the limit applies; one cent over asks a supervisor.
        ("bob", "credit", 50.0, "applied credit 50"),
        ("bob", "credit", 50.01, "approval 0 of credit 50.01 from supervisor"),
        ("bob", "credit", 500.0, "approval 0 of credit 500 from supervisor"),
        ("bob", "credit", 500.01, "approval 0 of credit 500.01 from manager"),
        ("bob", "credit", 5000.0, "approval 0 of credit 5000 from manager"),
        // A per-user override raises one user's limit, not their role's.
        ("ana", "credit", 100.0, "applied credit 100"),
        ("ana", "credit", 100.01, "approval 0 of credit 100.01 from supervisor"),
        // Supervisors: 500; a lowered override makes a supervisor ask another supervisor.
        ("sam", "credit", 500.0, "applied credit 500"),
        ("sam", "credit", 500.01, "approval 0 of credit 500.01 from manager"),
        ("sue", "credit", 10.0, "applied credit 10"),
        ("sue", "credit", 10.01, "approval 0 of credit 10.01 from supervisor"),
        // Managers: 5000.
        ("maria", "credit", 5000.0, "applied credit 5000"),
        ("mo", "credit", 300.01, "approval 0 of credit 300.01 from supervisor"),
        // The matrix gives admins no limit: even they ask.
        ("root", "credit", 1.0, "approval 0 of credit 1 from supervisor"),
        // No role suffices.
        ("maria", "credit", 5000.01, "422 amount: no role may grant 5000.01 for 'credit'; the highest limit is 5000"),
        ("bob", "credit", 1e9, "422 amount: no role may grant 1000000000 for 'credit'; the highest limit is 5000"),
        // Only agents have a limit for replacements: anything above it has nobody to approve.
        ("bob", "replacement", 20.0, "applied replacement 20"),
        ("sam", "replacement", 20.01, "422 amount: no role may grant 20.01 for 'replacement'; the highest limit is 20"),
        // No rule for the action: no authority anywhere.
        (
            "maria",
            "refund",
            1.0,
            "422 amount: no role may grant 'refund': the matrix in force sets no authority limits",
        ),
        // Malformed requests.
        ("ana", "credit", 0.0, "422 amount: must be a finite number above 0, not 0"),
        ("ana", "credit", -5.0, "422 amount: must be a finite number above 0"),
        ("ana", "credit", f64::NAN, "422 amount: must be a finite number above 0"),
        ("ana", "credit", f64::INFINITY, "422 amount: must be a finite number above 0"),
        ("ana", "Credit!", 5.0, "422 action: 'Credit!' is not a valid handle"),
        // Someone of another team may not act on the case.
        ("erin", "credit", 5.0, "403 the case belongs to a team you are not part of"),
    ];
    for &(who, action, amount, expected) in cases {
        let mut world = World::new();
        let got = world.ask(who, action, amount).map(|events| summary(&events));
        check(got, expected, &format!("{who} asks {action} {amount}"));
    }
}

#[test]
fn applied_actions_and_approvals_fold_into_the_case() {
    let mut w = World::new();
    w.ask("ana", "credit", 40.0).unwrap();
    w.ask("ana", "credit", 120.0).unwrap();
    assert_eq!(w.case.applied_actions.len(), 1);
    assert_eq!(w.case.applied_actions[0].amount, 40.0);
    assert_eq!(w.case.applied_actions[0].approval, None);
    let a = &w.case.approvals[0];
    assert_eq!((a.state, a.amount, a.approver_role), (ApprovalState::Pending, 120.0, Role::Supervisor));
    assert_eq!(a.requested_by, Actor::User { id: person("ana").user_id });
    w.decide("sam", 0, Decision::Approve, None).unwrap();
    let a = &w.case.approvals[0];
    assert_eq!((a.state, a.final_amount), (ApprovalState::Approved, Some(120.0)));
    assert_eq!(a.decided_by, Some(Actor::User { id: person("sam").user_id }));
    let applied = &w.case.applied_actions[1];
    assert_eq!((applied.amount, applied.approval), (120.0, Some(0)));
    assert_eq!(applied.by, Actor::User { id: person("sam").user_id });
}

/// Requester, amount, decider, decision, comment, expected outcome.
type DecisionCase = (&'static str, f64, &'static str, Decision, Option<&'static str>, &'static str);

#[test]
fn who_may_decide_and_how() {
    // (requester, amount, decider, decision, comment, expected)
    let approve = Decision::Approve;
    let deny = Decision::Deny;
    let counter = |amount| Decision::Counter { amount };
    let cases: &[DecisionCase] = &[
        // A supervisor of the case's team approves what needs a supervisor.
        ("ana", 100.01, "sam", approve, None, "approved 100.01; applied credit 100.01 (approval 0)"),
        ("ana", 100.01, "sam", approve, Some("goodwill"), "approved 100.01; applied credit 100.01 (approval 0)"),
        // Managers and admins decide on any case, as long as their limit covers it.
        ("ana", 100.01, "maria", approve, None, "approved 100.01; applied credit 100.01 (approval 0)"),
        ("ana", 600.0, "maria", approve, None, "approved 600; applied credit 600 (approval 0)"),
        ("ana", 600.0, "root", approve, None, "403 you have no authority for 'credit'"),
        // Agents never decide, not even on their own team's cases.
        ("ana", 100.01, "bob", approve, None, "403 agents cannot decide approvals"),
        ("ana", 100.01, "ana", approve, None, "403 agents cannot decide approvals"),
        // A supervisor of another team.
        ("ana", 100.01, "tara", approve, None, "403 the case belongs to a team you are not part of"),
        // Nobody approves their own request.
        ("sue", 20.0, "sue", approve, None, "403 approval 0 is your own request"),
        ("sue", 20.0, "sam", approve, None, "approved 20; applied credit 20 (approval 0)"),
        // A role below the approver role.
        (
            "ana",
            600.0,
            "sam",
            approve,
            None,
            "403 approval 0 of 600 for 'credit' needs a manager or above; you are a supervisor",
        ),
        ("ana", 600.0, "sam", deny, Some("no"), "403 approval 0 of 600 for 'credit' needs a manager or above"),
        // An approver whose own limit is below the amount may counter within it, not approve.
        ("ana", 600.0, "mo", approve, None, "403 your limit for 'credit' is 300, below the 600 requested"),
        ("ana", 600.0, "mo", counter(300.0), None, "countered 300; applied credit 300 (approval 0)"),
        ("ana", 600.0, "mo", counter(300.01), None, "422 amount: 300.01 is above your limit of 300 for 'credit'"),
        // Counter-offers: above 0 and below the request.
        ("ana", 600.0, "maria", counter(400.0), Some("half"), "countered 400; applied credit 400 (approval 0)"),
        ("ana", 600.0, "maria", counter(600.0), None, "422 amount: a counter-offer is below the 600 requested"),
        ("ana", 600.0, "maria", counter(700.0), None, "422 amount: a counter-offer is below the 600 requested"),
        ("ana", 600.0, "maria", counter(0.0), None, "422 amount: must be a finite number above 0"),
        // Denials need a comment.
        ("ana", 600.0, "maria", deny, None, "422 comment: is required to deny a request"),
        ("ana", 600.0, "maria", deny, Some("   "), "422 comment: is required and must not be blank"),
        ("ana", 600.0, "maria", deny, Some("out of policy"), "denied"),
    ];
    for &(requester, amount, decider, decision, comment, expected) in cases {
        let mut w = World::new();
        w.ask(requester, "credit", amount).unwrap();
        let got = w.decide(decider, 0, decision, comment);
        check(got, expected, &format!("{requester} asks {amount}, {decider} decides {decision:?} ({comment:?})"));
    }
}

#[test]
fn an_approval_is_decided_once() {
    let mut w = World::new();
    w.ask("ana", "credit", 200.0).unwrap();
    check(
        w.decide("sam", 3, Decision::Approve, None),
        "422 approval: the case has no approval 3; valid numbers are 0 to 0",
        "unknown",
    );
    w.decide("sam", 0, Decision::Deny, Some("not this month")).unwrap();
    check(
        w.decide("maria", 0, Decision::Approve, None),
        "409 cannot decide an approval on a case that is new: approval 0 is already denied",
        "twice",
    );
    assert_eq!(w.case.approvals[0].comment.as_deref(), Some("not this month"));
    assert_eq!(w.case.approvals[0].final_amount, None);
    assert!(w.case.applied_actions.is_empty());
    // A second request gets the next number.
    let events = w.ask("ana", "credit", 150.0).unwrap();
    assert_eq!(summary(&events), "approval 1 of credit 150 from supervisor");
}

#[test]
fn an_approval_has_its_own_clock_met_by_the_decision() {
    let mut w = World::new();
    w.ask("ana", "credit", 30.0).unwrap();
    assert!(w.case.clocks.iter().all(|c| c.kind != ClockKind::Approval), "applied at once: no clock");
    w.ask("ana", "credit", 200.0).unwrap();
    let clock = w.case.clocks.iter().find(|c| c.kind == ClockKind::Approval).expect("an approval clock");
    assert_eq!(
        (clock.approval, clock.state, clock.target),
        (Some(0), ClockState::Running, SignedDuration::from_hours(2))
    );
    assert_eq!(clock.calendar, None, "approval clocks count 24x7");
    assert_eq!(clock.due_at, Some(clock.started_at + SignedDuration::from_hours(2)));
    // Another write on the case leaves the clock alone.
    w.ask("ana", "credit", 10.0).unwrap();
    assert_eq!(w.case.clocks.iter().filter(|c| c.kind == ClockKind::Approval).count(), 1);
    w.decide("sam", 0, Decision::Counter { amount: 150.0 }, None).unwrap();
    let clock = w.case.clocks.iter().find(|c| c.kind == ClockKind::Approval).unwrap();
    assert_eq!(clock.state, ClockState::Met);
    // A denial meets the clock too.
    w.ask("ana", "credit", 250.0).unwrap();
    w.decide("maria", 1, Decision::Deny, Some("no")).unwrap();
    let states: Vec<_> =
        w.case.clocks.iter().filter(|c| c.kind == ClockKind::Approval).map(|c| (c.approval, c.state)).collect();
    assert_eq!(states, [(Some(0), ClockState::Met), (Some(1), ClockState::Met)]);
}

/// The finding: at an agent limit of 50, five credits of 50 on one case all applied. Grants
/// add up over the rule's window; the one that crosses the limit goes to approval and names
/// the grants before it.
#[test]
fn grants_add_up_against_the_limit_on_a_case() {
    let mut w = World::new();
    let first = w.ask("bob", "credit", 50.0).map(|e| summary(&e));
    check(first, "applied credit 50", "the first 50 is within bob's limit");
    let second = w.ask("bob", "credit", 50.0).map(|e| summary(&e));
    check(second, "approval 0 of credit 50 from supervisor", "50 more would make 100");
    let approval = &w.case.approvals[0];
    assert_eq!(approval.window_total(), Some(100.0));
    assert_eq!(approval.earlier.len(), 1);
    assert_eq!((approval.earlier[0].case, approval.earlier[0].amount), (w.case.number, 50.0));
    assert_eq!(approval.reason(), "credit of 50 with 50 granted earlier in the window (50 on case 1): 100 in all");
    // Another agent's grants on the same case count too: the limit is the case's, not a person's.
    let third = w.ask("ana", "credit", 1.0).map(|e| summary(&e));
    check(third, "applied credit 1", "ana's own limit is 100: 50 + 1 fits");
    let fourth = w.ask("ana", "credit", 49.99).map(|e| summary(&e));
    check(fourth, "approval 1 of credit 49.99 from supervisor", "51 + 49.99 is above 100");
}

#[test]
fn a_total_above_a_role_goes_to_the_next_role_and_binds_the_approver() {
    let mut w = World::new();
    check(w.ask("sam", "credit", 450.0).map(|e| summary(&e)), "applied credit 450", "within sam's 500");
    // 450 + 100 = 550: above every supervisor's limit, so a manager decides.
    check(
        w.ask("bob", "credit", 100.0).map(|e| summary(&e)),
        "approval 0 of credit 100 from manager",
        "the window's total routes the request",
    );
    // Mo's own limit (300) covers the 100 asked but not the 550 in the window.
    let mo = w.decide("mo", 0, Decision::Approve, None);
    assert!(mo.as_ref().is_err_and(|e| e.contains("below the 550")), "mo answers for the window's total: {mo:?}");
    // A counter-offer must fit the approver's limit with the earlier grants: 300 - 450 < 0.
    let counter = w.decide("mo", 0, Decision::Counter { amount: 10.0 }, None);
    assert!(counter.as_ref().is_err_and(|e| e.contains("granted earlier in the window")), "{counter:?}");
    check(
        w.decide("maria", 0, Decision::Approve, None),
        "approved 100; applied credit 100 (approval 0)",
        "maria's 5000",
    );
}

#[test]
fn a_customer_day_window_counts_other_cases_of_the_last_24_hours() {
    let m = matrix::parse(
        r#"
[[authority]]
action = "refund"
limits = { agent = 50, supervisor = 500 }
window = "customer_day"
"#,
        "window.toml",
    )
    .unwrap_or_else(|e| panic!("{e:#?}"))
    .0;
    assert_eq!(m.authority[0].window, matrix::AuthorityWindow::CustomerDay);
    let w = World::new();
    let now = t0() + SignedDuration::from_hours(30);
    let bob = person("bob");
    let ask = |earlier: Vec<ladder_core::command::EarlierGrant>| {
        let mut a = ApplyAction::resolve(Some(&m), bob.role, &bob.name, "refund".into(), 30.0, None);
        a.earlier_elsewhere = earlier;
        let actor = Actor::User { id: bob.user_id };
        let cx = context(&actor, &w.ladder, now);
        summary(&decide(Some(&w.case), &CaseCommand::ApplyAction(a), &cx).unwrap())
    };
    let grant = |case: u64, amount: f64, hours_ago: i64| ladder_core::command::EarlierGrant {
        case,
        amount,
        at: now - SignedDuration::from_hours(hours_ago),
    };
    assert_eq!(ask(vec![]), "applied refund 30");
    assert_eq!(ask(vec![grant(7, 20.0, 2)]), "applied refund 30", "20 + 30 is exactly the limit");
    assert_eq!(ask(vec![grant(7, 20.0, 2), grant(9, 0.5, 23)]), "approval 0 of refund 30 from supervisor");
    assert_eq!(ask(vec![grant(7, 40.0, 25)]), "applied refund 30", "a grant 25 hours ago is out of the window");
}

#[test]
fn an_unknown_window_is_a_matrix_error_naming_the_choices() {
    let err = matrix::parse("[[authority]]\naction = \"credit\"\nwindow = \"week\"\n", "w.toml").unwrap_err();
    let text = format!("{err:?}");
    assert!(text.contains("unknown window 'week'"), "{text}");
}
