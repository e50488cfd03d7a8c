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

/// `ladder admin doctor` finds the cases earlier escalations left with no team and nobody
/// assigned (made here below the engine, as the old escalation did), says how to fix them
/// and exits with status 1; on healthy data it says so and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_doctor_reports_active_cases_without_a_team() {
    use ladder_store::{Location, Store, StoreConfig};
    use ladder_testkit::store as fx;
    let dir = tempfile::tempdir().unwrap();
    LADDER.seed_world(dir.path());
    let (ok, out, _) = LADDER.admin_result(dir.path(), &["doctor"]);
    assert!(ok, "healthy data: {out}");
    assert!(out.contains("no problems found"), "{out}");

    let location = match database(dir.path()) {
        Some(url) => Location::parse(&url),
        None => Location::Sqlite(dir.path().to_path_buf()),
    };
    {
        let store = Store::open_at(&location, StoreConfig::default()).unwrap();
        let (kept, orphan, done) = (
            ladder_core::ids::CaseId::new_v7(),
            ladder_core::ids::CaseId::new_v7(),
            ladder_core::ids::CaseId::new_v7(),
        );
        let with_team = ladder_core::command::OpenCase { team: Some(fx::front()), ..fx::new_case("Has its team", "") };
        fx::run(&store, fx::open(kept, with_team, fx::at(0))).await;
        fx::run(&store, fx::open(orphan, fx::new_case("Lost at L2", ""), fx::at(1))).await;
        fx::run(&store, fx::escalate_up(orphan, fx::at(2))).await;
        fx::run(&store, fx::open(done, fx::new_case("Lost but resolved", ""), fx::at(3))).await;
        fx::run(&store, fx::escalate_up(done, fx::at(4))).await;
        fx::run(&store, fx::resolve(done, "fixed", fx::at(5))).await;
    }
    let (ok, out, err) = LADDER.admin_result(dir.path(), &["doctor"]);
    assert!(!ok, "an ownerless case is a finding: {out} {err}");
    assert!(out.contains("1 active case(s) with no team and nobody assigned"), "{out}");
    assert!(out.contains("#2 at L2 (new): Lost at L2"), "{out}");
    assert!(!out.contains("Has its team") && !out.contains("resolved"), "only active ownerless cases: {out}");
    let (ok, out, _) = LADDER.admin_result(dir.path(), &["doctor", "--json"]);
    assert!(!ok);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ownerless_cases"].as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(report["ownerless_cases"][0]["number"], 2);
    assert_eq!(report["ownerless_cases"][0]["level"], "L2");
}
