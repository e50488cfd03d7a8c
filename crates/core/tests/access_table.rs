//! The whole permission rule set as a table: every action × role × scope in
//! `permissions.txt`, checked against `Principal::allows` and `Principal::may`; and the
//! permission table of docs/api.md checked against the same file.

use std::path::Path;

use jiff::Timestamp;
use ladder_core::access::{Action, CustomerReach, Principal};
use ladder_core::articles::ArticleStatus;
use ladder_core::case::{Actor, Approval, ApprovalState, Case, apply};
use ladder_core::command::{
    AddMessage, Assign, CaseCommand, DecideApproval, Decision, OpenCase, RecordCsat, TeamRef, UpdateCase, UserRef,
};
use ladder_core::directory::{LevelId, User};
use ladder_core::ids::{TeamId, UserId};
use ladder_core::macros::MacroOwner;
use ladder_core::{Context, Ladder, Role, Visibility, decide, record};
use ladder_testkit::domain::open_case;
use uuid::Uuid;

const ROLES: [Role; 4] = [Role::Agent, Role::Supervisor, Role::Manager, Role::Admin];
const OWN_TEAM: TeamId = TeamId(Uuid::from_u128(1));
const OTHER_TEAM: TeamId = TeamId(Uuid::from_u128(2));
const CALLER: UserId = UserId(Uuid::from_u128(10));
const SOMEONE: UserId = UserId(Uuid::from_u128(11));

/// One section of the data file: an action, what it is, and its rows.
struct Section {
    action: String,
    what: String,
    rows: Vec<(String, [bool; 4])>,
}

fn sections() -> Vec<Section> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/permissions.txt");
    let text = std::fs::read_to_string(&path).expect("tests/permissions.txt");
    let mut sections: Vec<Section> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let (action, what) = rest.split_once(']').unwrap_or_else(|| panic!("line {}: no ']'", n + 1));
            sections.push(Section { action: action.into(), what: what.trim().into(), rows: Vec::new() });
            continue;
        }
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells.len(), 5, "line {}: a scope and four yes/no", n + 1);
        let yes = |cell: &str| match cell {
            "yes" => true,
            "no" => false,
            other => panic!("line {}: '{other}' is not yes or no", n + 1),
        };
        let outcomes = [yes(cells[1]), yes(cells[2]), yes(cells[3]), yes(cells[4])];
        sections
            .last_mut()
            .unwrap_or_else(|| panic!("line {}: a row before any [action]", n + 1))
            .rows
            .push((cells[0].into(), outcomes));
    }
    sections
}

fn caller(role: Role) -> Principal {
    Principal { user_id: CALLER, name: "caller".into(), role, teams: vec![OWN_TEAM] }
}

fn team_ref(id: TeamId) -> TeamRef {
    TeamRef { id, slug: if id == OWN_TEAM { "own".into() } else { "other".into() }, level: LevelId::new("L1") }
}

/// A case opened by someone else, then placed in `scope`.
fn case_in(scope: &str) -> Case {
    let ladder = Ladder::default();
    let actor = Actor::User { id: SOMEONE };
    let now = Timestamp::UNIX_EPOCH;
    let cx = Context {
        now,
        actor: &actor,
        ladder: &ladder,
        next_number: 1,
        new_id: Uuid::from_u128(99),
        matrix_version: None,
    };
    let open = CaseCommand::Open(open_case());
    let events = decide(None, &open, &cx).expect("the case opens");
    let mut case = record(ladder_core::ids::CaseId(Uuid::from_u128(99)), 0, &cx, events)
        .iter()
        .fold(None, |case, e| Some(apply(case, e)))
        .expect("a case");
    case.worked_by.clear();
    case.assignee = None;
    match scope {
        "own-team" | "own-request" => case.team = Some(OWN_TEAM),
        "other-team" => case.team = Some(OTHER_TEAM),
        "assigned" => {
            case.team = Some(OTHER_TEAM);
            case.assignee = Some(CALLER);
        }
        "worked" => {
            case.team = Some(OTHER_TEAM);
            case.worked_by.insert(CALLER);
        }
        "unrelated" => case.team = None,
        "escalated-away" => {
            case.team = Some(OTHER_TEAM);
            case.escalated_from.insert(OWN_TEAM);
        }
        "escalated-by-self" => {
            case.team = Some(OTHER_TEAM);
            case.escalated_by.insert(CALLER);
        }
        other => panic!("no case scope '{other}'"),
    }
    let requester = if scope == "own-request" { CALLER } else { SOMEONE };
    case.approvals.push(Approval {
        action: "credit".into(),
        amount: 100.0,
        note: None,
        requested_by: Actor::User { id: requester },
        requested_at: now,
        approver_role: Role::Supervisor,
        state: ApprovalState::Pending,
        decided_by: None,
        decided_at: None,
        comment: None,
        final_amount: None,
        earlier: Vec::new(),
    });
    case
}

/// A user in `scope` relative to the caller (who has `role`).
fn user_in(scope: &str, role: Role) -> User {
    let (id, user_role, teams) = match scope {
        "self" => (CALLER, role, vec![OWN_TEAM]),
        "own-team" => (SOMEONE, Role::Agent, vec![OWN_TEAM]),
        "other-team" => (SOMEONE, Role::Agent, vec![OTHER_TEAM]),
        "own-team-supervisor" => (SOMEONE, Role::Supervisor, vec![OWN_TEAM]),
        "own-team-manager" => (SOMEONE, Role::Manager, vec![OWN_TEAM]),
        other => panic!("no user scope '{other}'"),
    };
    User {
        id,
        name: "target".into(),
        display_name: "Target".into(),
        email: None,
        role: user_role,
        teams,
        skills: vec![],
        levels: vec![],
        active: true,
        created_at: Timestamp::UNIX_EPOCH,
    }
}

/// How a customer in `scope` stands to the caller's cases.
fn customer_in(scope: &str) -> CustomerReach {
    match scope {
        "own-case" => CustomerReach { cases: 3, cases_in_scope: 1 },
        "no-cases" => CustomerReach { cases: 0, cases_in_scope: 0 },
        "other-case" => CustomerReach { cases: 2, cases_in_scope: 0 },
        other => panic!("no customer scope '{other}'"),
    }
}

fn team_in(scope: &str) -> TeamId {
    match scope {
        "own-team" => OWN_TEAM,
        "other-team" => OTHER_TEAM,
        other => panic!("no team scope '{other}'"),
    }
}

/// Whose a macro in `scope` is: a team's or a user's.
fn macro_owner(scope: &str) -> MacroOwner {
    match scope {
        "self" => MacroOwner::User(CALLER),
        "other-user" => MacroOwner::User(SOMEONE),
        team => MacroOwner::Team(team_in(team)),
    }
}

fn user_ref(id: UserId) -> UserRef {
    UserRef { id, name: "someone".into(), role: Role::Agent, teams: vec![], levels: vec![], active: true }
}

/// What `principal` is told when asking for `action` in `scope`.
fn outcome(action: &str, scope: &str, principal: &Principal) -> Result<(), String> {
    let command = |case: &Case, command: CaseCommand| principal.may(Some(case), &command);
    match action {
        "read-case" => principal.allows(&Action::ReadCase(&case_in(scope))),
        "add-message" => command(
            &case_in(scope),
            CaseCommand::AddMessage(AddMessage {
                visibility: Visibility::Public,
                channel: None,
                body: "hello".into(),
                from_customer: false,
                resume: false,
            }),
        ),
        "record-csat" => {
            command(&case_in(scope), CaseCommand::RecordCsat(RecordCsat { score: 4, comment: None, on_behalf: true }))
        }
        "read-customer" => principal.allows(&Action::ReadCustomer(&customer_in(scope))),
        "write-customer" => principal.allows(&Action::WriteCustomer(&customer_in(scope))),
        "work-case" => command(&case_in(scope), CaseCommand::Update(UpdateCase::default())),
        "assign-to-other" => {
            command(&case_in(scope), CaseCommand::Assign(Assign { assignee: Some(user_ref(SOMEONE)) }))
        }
        "close" => command(&case_in(scope), CaseCommand::Close),
        "open-for-team" => {
            principal.may(None, &CaseCommand::Open(OpenCase { team: Some(team_ref(team_in(scope))), ..open_case() }))
        }
        "decide-approval" => command(
            &case_in(scope),
            CaseCommand::DecideApproval(DecideApproval {
                approval: 0,
                decision: Decision::Approve,
                comment: None,
                approver_limit: Some(1_000.0),
            }),
        ),
        "see-approval" => {
            let case = case_in(scope);
            principal.allows(&Action::SeeApproval { case: &case, approval: &case.approvals[0] })
        }
        "supervise-case" => principal.allows(&Action::SuperviseCase(&case_in(scope))),
        "set-password" => principal.allows(&Action::SetPassword { user: user_in(scope, principal.role).id }),
        "set-time-zone" => principal.allows(&Action::SetTimeZone { user: user_in(scope, principal.role).id }),
        "mint-token" => principal.allows(&Action::MintToken { owner: user_in(scope, principal.role).id }),
        "manage-token" => principal.allows(&Action::ManageToken { owner: user_in(scope, principal.role).id }),
        "manage-feed" => principal.allows(&Action::ManageFeed { owner: user_in(scope, principal.role).id }),
        "see-agent" => principal.allows(&Action::SeeAgent { user: &user_in(scope, principal.role) }),
        "see-escalation-targets" => {
            // The team asked about works L2, above the case's L1; `:same-level` asks about
            // a team of the case's own level.
            let (case_scope, variant) = scope.split_once(':').unwrap_or((scope, ""));
            let level = if variant == "same-level" { "L1" } else { "L2" };
            let team = ladder_testkit::directory::team(OTHER_TEAM, "other", level, Timestamp::UNIX_EPOCH);
            let ladder = Ladder::default();
            principal.allows(&Action::SeeEscalationTargets { case: &case_in(case_scope), team: &team, ladder: &ladder })
        }
        "edit-agent-profile" => principal.allows(&Action::EditAgentProfile { user: &user_in(scope, principal.role) }),
        "set-presence" => principal.allows(&Action::SetPresence { user: &user_in(scope, principal.role) }),
        "respond-to-incident" => principal.allows(&Action::RespondToIncident { team: team_in(scope) }),
        "take-from-queue" => principal.allows(&Action::TakeFromQueue { team: team_in(scope) }),
        "cancel-simulation" => {
            let requested_by = if scope == "own" { CALLER } else { SOMEONE };
            principal.allows(&Action::CancelSimulation { requested_by })
        }
        "use-macro" => principal.allows(&Action::UseMacro { owner: macro_owner(scope) }),
        "manage-macro" => principal.allows(&Action::ManageMacro { owner: macro_owner(scope) }),
        "read-article" => {
            let status = if scope == "published" { ArticleStatus::Published } else { ArticleStatus::Draft };
            principal.allows(&Action::ReadArticle { status })
        }
        "work-queue" => {
            let team = team_in(scope);
            let queue = principal.allows(&Action::WorkQueue { team });
            assert_eq!(queue, principal.allows(&Action::ListAgents { team: Some(team) }), "queue and agents agree");
            queue
        }
        _ => {
            assert_eq!(scope, "any", "{action} takes no target");
            let action = match action {
                "list-cases" => Action::ListCases,
                "read-directory" => Action::ReadDirectory,
                "create-customer" => Action::CreateCustomer,
                "delete-customer" => Action::DeleteCustomer,
                "merge-customers" => Action::MergeCustomers,
                "take-in-mail" => Action::TakeInMail,
                "take-in-contacts" => Action::TakeInContacts,
                "manage-teams" => Action::ManageTeams,
                "manage-users" => Action::ManageUsers,
                "read-audit" => Action::ReadAudit,
                "read-deliveries" => Action::ReadDeliveries,
                "manage-notifications" => Action::ManageNotifications,
                "list-all-tokens" => Action::ListAllTokens,
                "list-agents" => Action::ListAgents { team: None },
                "supervise" => Action::Supervise,
                "approvals-inbox" => Action::ApprovalsInbox,
                "read-metrics" => Action::ReadMetrics,
                "read-all-metrics" => Action::ReadAllMetrics,
                "read-matrix-drafts" => Action::ReadMatrixDrafts,
                "change-matrix" => Action::ChangeMatrix,
                "simulate" => Action::Simulate,
                "write-article" => Action::WriteArticle,
                "read-schedules" => Action::ReadSchedules,
                "manage-schedules" => Action::ManageSchedules,
                "override-schedule" => Action::OverrideSchedule,
                "read-services" => Action::ReadServices,
                "manage-services" => Action::ManageServices,
                "read-models" => Action::ReadModels,
                "manage-models" => Action::ManageModels,
                other => panic!("permissions.txt names an action the test does not know: {other}"),
            };
            principal.allows(&action)
        }
    }
}

#[test]
fn every_action_role_and_scope_has_the_outcome_the_table_gives() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for section in sections() {
        for (scope, expected) in &section.rows {
            for (role, allowed) in ROLES.iter().zip(expected) {
                let got = outcome(&section.action, scope, &caller(*role));
                checked += 1;
                if got.is_ok() != *allowed {
                    wrong.push(format!(
                        "{} / {scope} / {}: table says {allowed}, rule says {got:?}",
                        section.action,
                        role.as_str()
                    ));
                }
                if let Err(reason) = &got {
                    assert!(!reason.trim().is_empty(), "a refusal says why: {} / {scope}", section.action);
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {checked} outcomes differ:\n{}", wrong.len(), wrong.join("\n"));
    assert!(checked > 200, "the table covers the rules ({checked} outcomes)");
}

#[test]
fn every_named_action_of_the_access_module_is_in_the_table() {
    let names: Vec<String> = sections().into_iter().map(|s| s.action).collect();
    let case = case_in("own-team");
    let user = user_in("self", Role::Agent);
    let reach = customer_in("own-case");
    let actions = [
        Action::ReadCase(&case),
        Action::ListCases,
        Action::ReadDirectory,
        Action::CreateCustomer,
        Action::ReadCustomer(&reach),
        Action::WriteCustomer(&reach),
        Action::DeleteCustomer,
        Action::ManageTeams,
        Action::ManageUsers,
        Action::SetPassword { user: CALLER },
        Action::SetTimeZone { user: CALLER },
        Action::MintToken { owner: CALLER },
        Action::ManageToken { owner: CALLER },
        Action::ListAllTokens,
        Action::SeeAgent { user: &user },
        Action::ListAgents { team: None },
        Action::EditAgentProfile { user: &user },
        Action::SetPresence { user: &user },
        Action::WorkQueue { team: OWN_TEAM },
        Action::TakeFromQueue { team: OWN_TEAM },
        Action::Supervise,
        Action::SuperviseCase(&case),
        Action::SeeApproval { case: &case, approval: &case.approvals[0] },
        Action::ApprovalsInbox,
        Action::ReadMetrics,
        Action::ReadAllMetrics,
        Action::ReadMatrixDrafts,
        Action::ChangeMatrix,
        Action::Simulate,
        Action::CancelSimulation { requested_by: CALLER },
        Action::ReadAudit,
        Action::ReadDeliveries,
        Action::ManageNotifications,
        Action::UseMacro { owner: MacroOwner::User(CALLER) },
        Action::ManageMacro { owner: MacroOwner::User(CALLER) },
        Action::ReadArticle { status: ArticleStatus::Draft },
        Action::WriteArticle,
        Action::ReadModels,
        Action::ManageModels,
    ];
    for action in actions {
        assert!(names.iter().any(|n| n == action.name()), "{} is missing from permissions.txt", action.name());
    }
}

/// The permission table of docs/api.md, as rendered from the data file.
fn rendered() -> String {
    let mut out =
        String::from("| Action | Scope | agent | supervisor | manager | admin |\n|---|---|---|---|---|---|\n");
    for section in sections() {
        for (scope, outcomes) in &section.rows {
            let cells: Vec<&str> = outcomes.iter().map(|ok| if *ok { "yes" } else { "—" }).collect();
            out.push_str(&format!("| {} (`{}`) | {scope} | {} |\n", section.what, section.action, cells.join(" | ")));
        }
    }
    out
}

#[test]
fn the_permission_table_in_the_api_guide_is_the_data_file() {
    const START: &str = "<!-- permissions:start (generated from crates/core/tests/permissions.txt) -->\n";
    const END: &str = "<!-- permissions:end -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md");
    let doc = std::fs::read_to_string(&path).expect("docs/api.md");
    let start = doc.find(START).expect("docs/api.md has the permissions:start marker") + START.len();
    let end = start + doc[start..].find(END).expect("docs/api.md has the permissions:end marker");
    let expected = rendered();
    if doc[start..end] != expected && std::env::var_os("LADDER_BLESS").is_some() {
        std::fs::write(&path, format!("{}{expected}{}", &doc[..start], &doc[end..])).expect("rewrite docs/api.md");
        return;
    }
    assert!(
        doc[start..end] == expected,
        "docs/api.md's permission table differs from tests/permissions.txt; rerun with LADDER_BLESS=1 to rewrite it.\nExpected:\n{expected}"
    );
}
