//! The manager's and admin's console over HTTP: the metrics dashboard (SVG charts whose
//! figures follow the cases), the matrix editor (lint with line and column, drafts, diff,
//! activation, rollback), a simulation started from a draft, and who may open them.

use std::time::Duration;

use ladder_testkit::http::*;
use ladder_testkit::matrix::{BILLING_RULE as RULE, SEEDED_LEVELS_FOR_SIMULATIONS as MATRIX};
use ladder_testkit::period_around_today;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

/// The text of the element with this id (its first text, tags stripped).
fn text_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in the page"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</").unwrap();
    rest[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_svg_charts_whose_figures_follow_the_cases() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let web = Console::new(&server);
    let (ana, maria) = (&world.tokens["ana"], &world.tokens["maria"]);
    let (from, to) = period_around_today();
    let page = format!("/dashboard?from={from}&to={to}");

    let case = api.open_case(ana, json!({"subject": "Billed twice", "channel": "email"})).await;
    let manager = web.login("maria", PASSWORD).await;
    let before = web.get(Some(&manager), &page).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(text_of(&before.body, "stat-cases"), "1");
    assert_eq!(text_of(&before.body, "stat-escalation-rate"), "0.0 %");
    assert_eq!(text_of(&before.body, "stat-resolved"), "0");
    // Charts are inline SVG with a title, a description and a data table.
    for chart in [
        "rate-over-time",
        "rate-by-category",
        "rate-by-channel",
        "rate-by-team",
        "rate-by-agent",
        "supervisor-rate-by-team",
        "fcr-by-channel",
        "csat-escalated",
        "sla-by-level",
        "time-at-level",
    ] {
        let at = before.body.find(&format!("id=\"{chart}\"")).unwrap_or_else(|| panic!("no chart {chart}"));
        let figure = &before.body[at..];
        let svg = &figure[..figure.find("</figure>").unwrap()];
        assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{chart} is SVG");
        assert!(svg.contains("role=\"img\"") && svg.contains("<title") && svg.contains("<desc"), "{chart}");
        assert!(svg.contains("<table>"), "{chart} has a data table");
    }
    assert!(before.body.contains("Insights: revise the rules"));

    // The case is escalated to the manager, who resolves it: the figures change.
    let id = case["id"].as_str().unwrap();
    api.post_ok(
        ana,
        &format!("/api/v1/cases/{id}/escalate"),
        json!({"kind": "hierarchical", "to_level": "L3", "to_team": "management", "to_user": "maria",
               "initiator": "customer", "reason": "customer asked for a manager"}),
    )
    .await;
    api.post_ok(maria, &format!("/api/v1/cases/{id}/resolve"), json!({"code": "refunded"})).await;
    let after = web.get(Some(&manager), &page).await;
    assert_eq!(text_of(&after.body, "stat-escalation-rate"), "100.0 %");
    assert_eq!(text_of(&after.body, "stat-escalation-rate-n"), "n = 1 of 1", "a rate says what it counts");
    assert!(text_of(&after.body, "stat-escalation-rate-previous").starts_with("previous period: – (n = 0 of 0)"));
    assert_eq!(text_of(&after.body, "stat-supervisor-rate"), "100.0 %");
    assert_eq!(text_of(&after.body, "stat-resolved"), "1");
    assert!(after.body.contains("email: 100.0 %"), "the by-channel chart describes the new rate");
    assert!(!after.body.contains("stat-escalation-rate-target"), "no target without a matrix that sets one");

    // The matrix's targets show beside their figures, met or missed.
    let targets = format!(
        "[metric_targets]\nescalation_rate = 0.2\nfcr = 0.7\n{}",
        ladder_testkit::matrix::SEEDED_LEVELS_WITH_TARGETS
    );
    api.activate_matrix(&world.tokens["root"], &targets).await;
    let with_targets = web.get(Some(&manager), &page).await;
    let target = text_of(&with_targets.body, "stat-escalation-rate-target");
    assert!(target.contains("at most 20.0 %") && target.contains("missed"), "{target}");
    assert!(with_targets.body.contains("class=\"target target-missed\""), "a missed target has its class");
    let fcr = text_of(&with_targets.body, "stat-fcr-target");
    assert!(fcr.contains("at least 70.0 %"), "{fcr}");

    // A bad period is refused with the field named.
    let r = web.get(Some(&manager), "/dashboard?from=yesterday").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("YYYY-MM-DD"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_may_not_open_the_dashboard_or_the_matrix_supervisors_read_the_matrix_and_managers_change_it() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    api.activate_matrix(&world.tokens["root"], MATRIX).await;
    let web = Console::new(&server);
    for name in ["ana", "sam"] {
        let session = web.login(name, PASSWORD).await;
        let r = web.get(Some(&session), "/dashboard").await;
        assert_eq!(r.status, 403, "{name} on the dashboard");
        assert!(r.body.contains("needs the manager role"), "{}", r.body);
        let queue = web.get(Some(&session), "/queue").await;
        assert!(!queue.body.contains("href=\"/dashboard\""), "{name}'s nav");
        let csrf = csrf_of(&queue.body);
        let r = web.post(Some(&session), "/matrix/drafts", &[("csrf", &csrf), ("name", "x"), ("source", MATRIX)]).await;
        assert_eq!(r.status, 403, "{name} may not save a draft");
        let r = web.post(Some(&session), "/matrix/rollback", &[("csrf", &csrf)]).await;
        assert_eq!(r.status, 403, "{name} may not roll back");
    }
    // The matrix pages follow the API's rule: supervisors read drafts and versions, agents do not.
    let agent = web.login("ana", PASSWORD).await;
    for path in ["/matrix", "/matrix/edit", "/matrix/versions/1"] {
        let r = web.get(Some(&agent), path).await;
        assert_eq!(r.status, 403, "ana on {path}");
        assert!(r.body.contains("needs the supervisor role"), "{}", r.body);
    }
    assert!(!web.get(Some(&agent), "/queue").await.body.contains("href=\"/matrix\""), "ana's nav");
    let supervisor = web.login("sam", PASSWORD).await;
    for path in ["/matrix", "/matrix/edit", "/matrix/versions/1"] {
        assert_eq!(web.get(Some(&supervisor), path).await.status, 200, "sam on {path}");
    }
    let r = web.get(Some(&supervisor), "/matrix").await;
    assert!(r.body.contains("href=\"/matrix\""), "the supervisor's nav");
    assert!(!r.body.contains("Roll back to") && !r.body.contains("New draft"), "supervisors only read");
    let editor = web.get(Some(&supervisor), "/matrix/edit").await;
    assert!(!editor.body.contains("Save draft") && !editor.body.contains("Simulate this draft"), "read only");
    assert!(
        editor.body.contains("(read only)")
            && !editor.body.contains("<textarea")
            && !editor.body.contains("as you type"),
        "a reader gets the text, not an editor that looks editable: {}",
        editor.body
    );

    let manager = web.login("maria", PASSWORD).await;
    let r = web.get(Some(&manager), "/matrix").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("href=\"/dashboard\"") && r.body.contains("href=\"/matrix\""), "the manager's nav");
    assert!(r.body.contains("New draft"), "managers change the matrix, in the console as over the API");
    let csrf = csrf_of(&r.body);
    let r = web.post(Some(&manager), "/matrix/drafts", &[("csrf", &csrf), ("name", "x"), ("source", MATRIX)]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/matrix/edit?draft=x")), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_lints_saves_diffs_activates_and_rolls_back() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    api.activate_matrix(&world.tokens["root"], MATRIX).await;
    let web = Console::new(&server);
    let admin = web.login("root", PASSWORD).await;

    let editor = web.get(Some(&admin), "/matrix/edit").await;
    assert_eq!(editor.status, 200);
    assert!(editor.body.contains("data-check=\"/matrix/check\""), "the textarea is wired for live lint");
    let csrf = csrf_of(&editor.body);

    // Live lint: the diagnostics with their line and column, as JSON.
    let broken = format!("{MATRIX}\n[[levels]]\nid = \"L4\"\nteams = [\"nowhere\"]\n");
    let r = web.post(Some(&admin), "/matrix/check", &[("csrf", &csrf), ("source", &broken)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let diagnostics: Vec<Value> = serde_json::from_str(&r.body).unwrap();
    let error = diagnostics.iter().find(|d| d["severity"] == "error").expect("an error");
    assert_eq!(error["line"], 20, "{error}");
    assert!(error["column"].as_u64().unwrap() > 0);
    assert!(error["message"].as_str().unwrap().contains("nowhere"), "{error}");
    let r = web.post(Some(&admin), "/matrix/check", &[("source", &broken)]).await;
    assert_eq!(r.status, 403, "lint needs the CSRF token too");

    // Saving an invalid draft is refused with the text kept and line and column shown.
    let r =
        web.post(Some(&admin), "/matrix/drafts", &[("csrf", &csrf), ("name", "billing"), ("source", &broken)]).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("Draft not saved: 1 error(s)"), "{}", r.body);
    assert!(r.body.contains(&format!("line 20, column {}", error["column"])), "{}", r.body);
    assert!(
        r.body.contains("teams = [&quot;nowhere&quot;]") || r.body.contains("teams = [\"nowhere\"]"),
        "the text is kept"
    );
    let (_, drafts) = api.call(&world.tokens["root"], "GET", "/api/v1/matrix/drafts", None).await;
    assert_eq!(drafts.as_array().unwrap().len(), 1, "only the API's draft exists: {drafts}");

    // A valid draft is saved; its page shows the diff against the version in force.
    let candidate = format!("{MATRIX}{RULE}");
    let r =
        web.post(Some(&admin), "/matrix/drafts", &[("csrf", &csrf), ("name", "billing"), ("source", &candidate)]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/matrix/edit?draft=billing")), "{}", r.body);
    let page = web.follow(Some(&admin), &r).await;
    assert!(page.body.contains("Draft billing saved"), "{}", page.body);
    assert!(page.body.contains("rule added: &quot;Billing goes straight to the back office&quot;"), "{}", page.body);

    // Activate: version 2 is in force.
    let r = web.post(Some(&admin), "/matrix/drafts/billing/activate", &[("csrf", &csrf)]).await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/matrix")));
    let page = web.follow(Some(&admin), &r).await;
    assert!(page.body.contains("Version 2 (from billing) is in force."), "{}", page.body);
    assert!(text_of(&page.body, "active-version").contains("Version "), "{}", page.body);
    let (_, active) = api.call(&world.tokens["root"], "GET", "/api/v1/matrix/active", None).await;
    assert_eq!(active["version"], 2);
    // The version page shows its text and no change from itself.
    let v1 = web.get(Some(&admin), "/matrix/versions/1").await;
    assert!(v1.body.contains("rule removed: &quot;Billing goes straight"), "version 1 lacks the rule: {}", v1.body);

    // Roll back to version 1.
    let r = web.post(Some(&admin), "/matrix/rollback", &[("csrf", &csrf), ("to_version", "1")]).await;
    let page = web.follow(Some(&admin), &r).await;
    assert!(page.body.contains("Rolled back: version 1 is in force."), "{}", page.body);
    let (_, active) = api.call(&world.tokens["root"], "GET", "/api/v1/matrix/active", None).await;
    assert_eq!(active["version"], 1);
    assert!(page.body.contains("Roll back to 2"), "the history offers the other version");
    let history = &page.body[page.body.find("id=\"activations\"").expect("the activation history")..];
    let history = &history[..history.find("</details>").unwrap()];
    assert!(history.contains("rolled back to <a href=\"/matrix/versions/1\">version 1</a> by root"), "{history}");
    assert!(history.contains("activated <a href=\"/matrix/versions/2\">version 2</a>"), "{history}");
    assert!(!history.contains("MatrixActivation"), "no debug dump: {history}");

    // Any two versions compare, the changes grouped by section, each with its kind's class.
    let compare = web.get(Some(&admin), "/matrix/compare?from=1&to=2").await;
    assert_eq!(compare.status, 200, "{}", compare.body);
    let rules = &compare.body[compare.body.find("data-section=\"rule\"").expect("a rules section")..];
    assert!(rules.contains("<h3>Rules and triggers"), "{rules}");
    assert!(rules.contains("<li class=\"diff-added\">"), "an added rule is coloured as added: {rules}");
    let back = web.get(Some(&admin), "/matrix/compare?from=2&to=1").await;
    assert!(back.body.contains("<li class=\"diff-removed\">"), "the other way it is removed: {}", back.body);
    assert!(back.body.contains("rule removed: &quot;Billing goes straight"), "{}", back.body);
    assert_eq!(web.get(Some(&admin), "/matrix/compare?from=x").await.status, 400, "a version is a number");
    assert!(page.body.contains("action=\"/matrix/compare\""), "the matrix page offers the comparison");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulation_started_from_a_draft_finishes_and_shows_its_report() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let root = &world.tokens["root"];
    api.activate_matrix(root, MATRIX).await;
    for category in ["billing", "billing", "network"] {
        api.open_case(&world.tokens["ana"], json!({"subject": "Help", "category": category})).await;
    }
    let (s, d) = api.upload_matrix(root, "billing", &format!("{MATRIX}{RULE}")).await;
    assert_eq!(s, 200, "{d}");

    let web = Console::new(&server);
    let manager = web.login("maria", PASSWORD).await;
    let editor = web.get(Some(&manager), "/matrix/edit?draft=billing").await;
    assert!(editor.body.contains("Simulate this draft"));
    assert!(editor.body.contains("Save draft"), "managers edit drafts");
    let csrf = csrf_of(&editor.body);
    let (from, to) = period_around_today();
    let r = web
        .post(Some(&manager), "/matrix/drafts/billing/simulate", &[("csrf", &csrf), ("from", &from), ("to", &to)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r.location.clone().unwrap();
    assert!(location.starts_with("/matrix/simulations/"), "{location}");

    let mut page = web.follow(Some(&manager), &r).await;
    for _ in 0..400 {
        if !(page.body.contains("<strong>running</strong>") || page.body.contains("<strong>queued</strong>")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        page = web.get(Some(&manager), &location).await;
    }
    assert!(text_of(&page.body, "sim-status").contains("Status: "), "{}", page.body);
    assert!(page.body.contains("<strong>done</strong>"), "{}", page.body);
    assert!(page.body.contains("3 cases replayed, 2 would go differently"), "{}", page.body);
    // Actual and predicted side by side, per level and per team.
    assert!(page.body.contains("id=\"sim-levels\"") && page.body.contains("id=\"sim-teams\""));
    assert!(page.body.contains("<th scope=\"col\">actual</th><th scope=\"col\">predicted</th>"));
    assert!(page.body.contains("Billing goes straight to the back office"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_and_teams_and_see_the_calendars_of_the_matrix() {
    let Running { dir: _dir, world, server, api } = Running::start(LADDER);
    let calendar = "[calendars.support]\ntimezone = \"Europe/Berlin\"\nhours = { \"mon-fri\" = \"08:00-18:00\" }\nholidays = [\"2026-12-25\"]\n";
    api.activate_matrix(&world.tokens["root"], &format!("{calendar}{MATRIX}")).await;
    let web = Console::new(&server);
    let admin = web.login("root", PASSWORD).await;
    let page = web.get(Some(&admin), "/admin").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("support (Europe/Berlin)") && page.body.contains("08:00"), "{}", page.body);
    assert!(page.body.contains("Holidays: 2026-12-25"));
    let csrf = csrf_of(&page.body);

    // A team, then a user in it; a refused form says why.
    let r = web
        .post(
            Some(&admin),
            "/admin/teams",
            &[
                ("csrf", &csrf),
                ("slug", "vip"),
                ("name", "VIP desk"),
                ("level", "L2"),
                ("kind", "specialist"),
                ("skills", "billing, german"),
            ],
        )
        .await;
    let page = web.follow(Some(&admin), &r).await;
    assert!(page.body.contains("Team vip created at L2."), "{}", page.body);
    let (_, team) = api.call(&world.tokens["root"], "GET", "/api/v1/teams/vip", None).await;
    assert_eq!((team["kind"].as_str(), team["skills"].clone()), (Some("specialist"), json!(["billing", "german"])));
    let r = web
        .post(
            Some(&admin),
            "/admin/users",
            &[("csrf", &csrf), ("name", "vera"), ("role", "agent"), ("teams", "vip"), ("password", "short")],
        )
        .await;
    assert!(web.follow(Some(&admin), &r).await.body.contains("needs at least 12 characters"));
    let r = web
        .post(
            Some(&admin),
            "/admin/users",
            &[("csrf", &csrf), ("name", "vera"), ("role", "agent"), ("teams", "vip"), ("password", PASSWORD)],
        )
        .await;
    assert!(web.follow(Some(&admin), &r).await.body.contains("User vera created (agent)."));
    let vera = web.login("vera", PASSWORD).await;

    // Promote her and move her to two teams; then deactivate her: her session stops working.
    let r = web
        .post(Some(&admin), "/admin/users/vera", &[("csrf", &csrf), ("role", "supervisor"), ("teams", "vip, billing")])
        .await;
    assert!(web.follow(Some(&admin), &r).await.body.contains("User vera saved: supervisor."));
    let (_, user) = api.call(&world.tokens["root"], "GET", "/api/v1/users/vera", None).await;
    assert_eq!((user["role"].as_str(), user["teams"].as_array().unwrap().len()), (Some("supervisor"), 2), "{user}");
    let r = web.post(Some(&admin), "/admin/users/root", &[("csrf", &csrf), ("role", "agent"), ("teams", "")]).await;
    assert!(web.follow(Some(&admin), &r).await.body.contains("you cannot demote or deactivate yourself"));
    let r = web.post(Some(&admin), "/admin/users/vera/deactivate", &[("csrf", &csrf)]).await;
    assert!(web.follow(Some(&admin), &r).await.body.contains("User vera deactivated."));
    let r = web.get(Some(&vera), "/queue").await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/login")), "a deactivated user's session ends");

    // Managers may not.
    let manager = web.login("maria", PASSWORD).await;
    assert_eq!(web.get(Some(&manager), "/admin").await.status, 403);
    let csrf = csrf_of(&web.get(Some(&manager), "/queue").await.body);
    let r = web
        .post(
            Some(&manager),
            "/admin/teams",
            &[("csrf", &csrf), ("slug", "x"), ("name", "x"), ("level", "L1"), ("kind", "specialist")],
        )
        .await;
    assert_eq!(r.status, 403);
}
