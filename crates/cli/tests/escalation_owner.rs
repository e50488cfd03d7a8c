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

fn numbers(page: &Value) -> Vec<u64> {
    page["items"].as_array().expect("a page").iter().map(|c| c["number"].as_u64().unwrap()).collect()
}

/// The finding: the escalating agent's supervisor got 403 for a case that left their team.
/// Now the supervisors of the team a case was escalated out of follow it, read-only, and the
/// case list has "escalated by me" and "escalated by my team".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_follow_escalations_that_left_their_team_read_only() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, erin, sam, tara) = (t("ana"), t("erin"), t("sam"), t("tara"));
    let stays = api.open_case(&ana, json!({"subject": "Password reset"})).await;
    let case = api.open_case(&ana, json!({"subject": "Charged twice"})).await;
    let id = case["id"].as_str().unwrap();
    let number = case["number"].as_u64().unwrap();
    let body =
        json!({"kind": "functional", "to_team": "billing", "reason": "a refund", "tried": "checked the invoice"});
    let (s, after) = api.call(&ana, "POST", &format!("/api/v1/cases/{id}/escalate"), Some(body)).await;
    assert_eq!(s, 200, "{after}");

    // sam supervises the front line, which the case left: he reads it, and may not act on it.
    let (s, seen) = api.call(&sam, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(s, 200, "{seen}");
    let (s, _) = api.call(&sam, "GET", &format!("/api/v1/cases/{id}/events"), None).await;
    assert_eq!(s, 200);
    let note = json!({"body": "following", "visibility": "internal"});
    let (s, refused) = api.call(&sam, "POST", &format!("/api/v1/cases/{id}/messages"), Some(note)).await;
    assert_eq!(s, 403, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("read-only"), "{refused}");

    // The views.
    let list = |token: String, query: &'static str| {
        let api = &api;
        async move {
            let (s, page) = api.call(&token, "GET", &format!("/api/v1/cases?{query}"), None).await;
            assert_eq!(s, 200, "{query}: {page}");
            numbers(&page)
        }
    };
    assert_eq!(list(ana.clone(), "escalated_by=me").await, [number]);
    assert_eq!(list(sam.clone(), "escalated_by=my_team").await, [number]);
    assert_eq!(list(sam.clone(), "escalated_by=me").await, Vec::<u64>::new());
    assert!(list(sam.clone(), "").await.contains(&number), "in sam's scope");
    assert!(!list(sam.clone(), "escalated_by=my_team").await.contains(&stays["number"].as_u64().unwrap()));
    assert_eq!(list(tara.clone(), "escalated_by=my_team").await, Vec::<u64>::new(), "billing escalated nothing");
    assert_eq!(list(erin.clone(), "escalated_by=me").await, Vec::<u64>::new());
    let (s, p) = api.call(&ana, "GET", "/api/v1/cases?escalated_by=them", None).await;
    assert_eq!((s, p["field"].as_str()), (400, Some("escalated_by")), "{p}");

    // The console: the queue's tabs, and the case page for the follower.
    let console = ladder_testkit::http::Console::new(&_server);
    let session = console.login("sam", PASSWORD).await;
    let queue = console.get(Some(&session), "/queue").await;
    assert!(queue.body.contains(r#"href="/queue/escalated?by=my_team""#), "{}", queue.body);
    let mine = console.get(Some(&session), "/queue/escalated?by=my_team").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(mine.body.contains(&format!(r#"href="/cases/{number}""#)), "{}", mine.body);
    let none = console.get(Some(&session), "/queue/escalated?by=me").await;
    assert!(none.body.contains("You have not escalated any case."), "{}", none.body);
    let page = console.get(Some(&session), &format!("/cases/{number}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

/// The escalate dialog offers only what the escalation accepts: levels above the case's,
/// the teams of those levels with the one the engine would choose preselected, people from
/// a list with their open cases, and skills; its defaults never leave the case without a team.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_escalate_dialog_offers_levels_above_their_teams_and_people_and_preselects_the_route() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let ana = world.tokens["ana"].clone();
    let case = api.open_case(&ana, json!({"subject": "Charged twice"})).await;
    let number = case["number"].as_u64().unwrap();
    let console = ladder_testkit::http::Console::new(&server);
    let session = console.login("ana", PASSWORD).await;
    let page = console.get(Some(&session), &format!("/cases/{number}")).await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    let select = |id: &str| {
        let start = body.find(&format!(r#"<select id="{id}""#)).unwrap_or_else(|| panic!("no select {id}: {body}"));
        body[start..start + body[start..].find("</select>").unwrap()].to_string()
    };
    let levels = select("esc-level");
    assert!(levels.contains(r#"value="L2""#) && levels.contains(r#"value="L3""#), "{levels}");
    assert!(!levels.contains(r#"value="L1""#), "not the case's own level: {levels}");
    let teams = select("esc-team");
    assert!(teams.contains(r#"<option value="supervisors" selected>"#), "the route is preselected: {teams}");
    assert!(teams.contains(r#"value="billing""#) && teams.contains(r#"value="management""#), "{teams}");
    assert!(!teams.contains(r#"value="frontline""#), "no team of the case's level: {teams}");
    let people = select("esc-user");
    for who in ["sam", "tara", "maria", "erin"] {
        assert!(people.contains(&format!(r#"value="{who}""#)), "{who} is offered: {people}");
    }
    assert!(!people.contains(r#"value="ana""#), "nobody of the front line only: {people}");
    assert!(people.contains(" open</option>"), "with their open cases: {people}");
    assert!(body.contains(r#"<fieldset id="esc-skills">"#), "skills to tick: {body}");
    assert!(body.contains("The ladder suggests"), "{body}");

    // Posting the dialog as it comes (the preselected team) escalates to that team.
    let csrf = ladder_testkit::http::csrf_of(body);
    let form = [
        ("csrf", csrf.as_str()),
        ("kind", "hierarchical"),
        ("initiator", "agent"),
        ("to_level", ""),
        ("to_team", "supervisors"),
        ("skill", ""),
        ("to_user", ""),
        ("reason", "needs a supervisor"),
        ("tried", "explained the charges"),
    ];
    let r = console.post(Some(&session), &format!("/cases/{number}/escalate"), &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (_, after) =
        api.call(&world.tokens["sam"], "GET", &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()), None).await;
    assert_eq!((after["level"].as_str(), after["team_id"].is_null()), (Some("L2"), false), "{after}");
}
