//! No orphan, ever: an escalation that names neither team nor person takes the route for
//! the case at the target level, or is refused with the teams to choose from; it never
//! leaves a case at a level with no team and nobody assigned.

use ladder_testkit::http::Api;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

async fn team_id(api: &Api, token: &str, slug: &str) -> Value {
    let (s, teams) = api.call(token, "GET", "/api/v1/teams", None).await;
    assert_eq!(s, 200, "{teams}");
    teams.as_array().unwrap().iter().find(|t| t["slug"] == slug).unwrap_or_else(|| panic!("no team {slug}"))["id"]
        .clone()
}

fn up(extra: Value) -> Value {
    let mut body = json!({"kind": "hierarchical", "reason": "needs a supervisor", "tried": "the usual checks"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

/// The finding: with the defaults (next level up, the level's team) and two teams at L2
/// (billing's back office and the supervisors), the case went to L2 with no team. A
/// hierarchical escalation asks for authority: the supervisors take it, and the escalating
/// agent's supervisor can read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_hierarchical_escalation_goes_to_the_management_team_of_the_next_level() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, sam) = (t("ana"), t("sam"));
    let case = api.open_case(&ana, json!({"subject": "Charged twice"})).await;
    let id = case["id"].as_str().unwrap();
    let (s, after) = api.call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(up(json!({})))).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["level"], "L2");
    assert_eq!(after["team_id"], team_id(&api, &ana, "supervisors").await, "{after}");
    let (s, seen) = api.call(&sam, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(s, 200, "the supervisors' own supervisor reads it: {seen}");
}

/// Several teams of the same kind at the target level and nothing in the case to tell
/// them apart: refused with 422 naming `to_team` and listing the candidates; the case does
/// not move. The case's category chooses among them, and so does a skill asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_escalation_is_refused_with_the_candidate_teams() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, root) = (t("ana"), t("root"));
    let body = json!({"slug": "escalations", "name": "Escalations desk", "level": "L2", "kind": "management",
        "skills": ["complaints"]});
    let (s, team) = api.call(&root, "POST", "/api/v1/teams", Some(body)).await;
    assert_eq!(s, 201, "{team}");

    let case = api.open_case(&ana, json!({"subject": "Charged twice"})).await;
    let id = case["id"].as_str().unwrap();
    let path = format!("/api/v1/cases/{id}/escalate");
    let (s, problem) = api.call(&ana, "POST", &path, Some(up(json!({})))).await;
    assert_eq!(s, 422, "{problem}");
    assert_eq!(problem["field"], "to_team", "{problem}");
    assert_eq!(
        problem["candidates"],
        json!([{"team": "escalations", "name": "Escalations desk"}, {"team": "supervisors", "name": "supervisors"}]),
        "{problem}"
    );
    let (_, unchanged) = api.call(&ana, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!((unchanged["level"].as_str(), unchanged["version"].as_u64()), (Some("L1"), case["version"].as_u64()));

    // A skill asked for chooses; one nobody offers is refused naming the field.
    let (s, problem) = api.call(&ana, "POST", &path, Some(up(json!({"skill": "origami"})))).await;
    assert_eq!((s, problem["field"].as_str()), (422, Some("skill")), "{problem}");
    let (s, after) = api.call(&ana, "POST", &path, Some(up(json!({"skill": "complaints"})))).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["team_id"], team["id"]);

    // The case's category chooses too.
    let case = api.open_case(&ana, json!({"subject": "Rude agent", "category": "complaints"})).await;
    let id = case["id"].as_str().unwrap();
    let (s, after) = api.call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(up(json!({})))).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["team_id"], team["id"]);

    // Naming the team always works.
    let case = api.open_case(&ana, json!({"subject": "Charged twice"})).await;
    let id = case["id"].as_str().unwrap();
    let named = up(json!({"to_team": "supervisors"}));
    let (s, after) = api.call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(named)).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["team_id"], team_id(&api, &ana, "supervisors").await);
}
