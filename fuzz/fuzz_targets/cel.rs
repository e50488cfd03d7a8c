//! A CEL condition, as a matrix rule's `when`, on any text: it is refused by the limits or
//! the parser, or it evaluates against a case's facts to a value or an error — never a
//! panic, a stack overflow or a stall (libFuzzer's `-timeout` reports an input that runs long).
#![no_main]

use std::sync::LazyLock;

use ladder_core::matrix::Facts;
use ladder_core::matrix::eval::evaluate_condition;
use libfuzzer_sys::fuzz_target;

static FACTS: LazyLock<Facts> = LazyLock::new(|| {
    let now = "2026-12-07T10:00:00Z".parse().expect("an instant");
    let mut facts = Facts::new(now);
    facts.case = serde_json::json!({
        "id": "0193a3c2-0000-7000-8000-000000000001", "number": 42, "subject": "Refund not received",
        "description": "I was charged twice", "category": "billing", "channel": "email",
        "priority": "high", "status": "open", "level": "L1", "team": "frontline", "assigned": true,
        "assignee": "ana", "tags": ["vip", "refund"], "custom_fields": {"amount": 120.5, "order": "A-17"},
        "n_messages": 3, "n_escalations": 1, "n_de_escalations": 0, "n_reopens": 0,
        "created_at": "2026-12-07T09:00:00Z", "updated_at": "2026-12-07T09:30:00Z",
    });
    facts.customer = serde_json::json!({
        "id": "c1", "name": "Ada", "value": 5000.0, "segment": "enterprise", "language": "en",
        "time_zone": "Europe/London", "custom_fields": {"tier": "gold"},
    });
    facts.contact = serde_json::json!({"channel": "phone", "repeat": true});
    facts.event = serde_json::json!({"kind": "message_added", "from_customer": true});
    facts
});

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let _ = evaluate_condition(source, &FACTS);
});
