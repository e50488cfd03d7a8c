//! The matrix's `require_approval` action: a rule asks for an approval, which goes to the
//! lowest role with enough authority.

use ladder_core::directory::Role;
use ladder_core::ids::CaseId;
use ladder_engine::{CaseRequest, OpenRequest};
use ladder_testkit::engine::{TestEngine, activate_matrix, open_request, team, user};
use ladder_testkit::ts;

const MATRIX: &str = r#"
[custom_fields]
refund_amount = "number"

[[levels]]
id = "L1"
teams = ["frontline"]

[[authority]]
action = "refund"
limits = { agent = 50, supervisor = 500, manager = 5000 }

[[rules]]
name = "Refunds need a second pair of eyes"
trigger = "case_opened"
when = 'has(case.custom_fields.refund_amount)'
then = { require_approval = { action = "refund", amount_field = "case.custom_fields.refund_amount" } }
"#;

fn open(amount: serde_json::Value) -> CaseRequest {
    CaseRequest::Open(OpenRequest {
        subject: "Refund please".into(),
        description: String::new(),
        category: None,
        custom_fields: [("refund_amount".to_string(), amount)].into(),
        ..open_request()
    })
}

#[tokio::test]
async fn a_rule_requests_an_approval_from_the_lowest_sufficient_role() {
    let TestEngine { dir: _dir, store, engine } = TestEngine::new();
    let frontline = team(&store, "frontline", "L1", &[]).await;
    let ana = user(&store, "ana", Role::Agent, vec![frontline.id]).await;
    let now = ts("2026-11-23T10:00:00Z");
    activate_matrix(&engine, "m", MATRIX, "ana", now).await;

    let id = CaseId::new_v7();
    let case = engine.run(&ana, id, open(serde_json::json!(300)), None, None, now).await.unwrap().case;
    assert_eq!(case.approvals.len(), 1, "{case:?}");
    assert_eq!(case.approvals[0].approver_role, Role::Supervisor);
    assert_eq!(case.approvals[0].amount, 300.0);
    let events = store.events(id).await.unwrap();
    let requested = events.iter().find(|e| e.recorded.event.kind() == "approval_requested").unwrap();
    assert!(matches!(&requested.recorded.actor, ladder_core::Actor::System { name } if name == "matrix"));

    // The matrix declares the field a number: a case that carries anything else is refused
    // before any rule sees it, naming the field.
    let id = CaseId::new_v7();
    let err = engine.run(&ana, id, open(serde_json::json!("lots")), None, None, now).await.unwrap_err();
    let ladder_engine::StoreError::Domain(ladder_core::DomainError::Invalid { field, message }) = err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "custom_fields.refund_amount");
    assert!(message.contains("must be a number"), "{message}");
    assert!(store.case(id).await.unwrap().is_none(), "nothing was written");
}

#[tokio::test]
async fn an_undecided_approval_breaches_its_clock_once_and_rebuild_keeps_the_inbox() {
    let TestEngine { dir: _dir, store, engine } = TestEngine::new();
    let frontline = team(&store, "frontline", "L1", &[]).await;
    let ana = user(&store, "ana", Role::Agent, vec![frontline.id]).await;
    let sam = user(&store, "sam", Role::Supervisor, vec![frontline.id]).await;
    let now = ts("2026-11-23T10:00:00Z");
    let matrix = MATRIX.replace(
        "limits = { agent = 50, supervisor = 500, manager = 5000 }",
        "limits = { agent = 50, supervisor = 500, manager = 5000 }\napprove_within = \"2h\"",
    );
    activate_matrix(&engine, "m", &matrix, "ana", now).await;
    let id = CaseId::new_v7();
    let case = engine.run(&ana, id, open(serde_json::json!(300)), None, None, now).await.unwrap().case;
    let approval =
        case.clocks.iter().find(|c| c.kind == ladder_core::sla::ClockKind::Approval).expect("approval clock");
    assert_eq!(approval.due_at, Some(ts("2026-11-23T12:00:00Z")));
    assert_eq!(engine.approval_inbox(&sam, 10).await.unwrap().len(), 1);

    // Nobody decides within two hours: the approval clock breaches, once.
    engine.fire_due(ts("2026-11-23T12:00:01Z")).await.unwrap();
    engine.fire_due(ts("2026-11-23T13:00:00Z")).await.unwrap();
    let events = store.events(id).await.unwrap();
    let breaches: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.recorded.event {
            ladder_core::CaseEvent::ClockBreached(b) => Some(b.clock),
            _ => None,
        })
        .collect();
    assert_eq!(breaches, vec![ladder_core::sla::ClockKind::Approval]);

    // The inbox is a projection: rebuilding it from the events gives the same.
    store.rebuild_projections().await.unwrap();
    assert_eq!(engine.approval_inbox(&sam, 10).await.unwrap().len(), 1);
}
