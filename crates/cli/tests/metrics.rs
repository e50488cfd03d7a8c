//! Escalation metrics over HTTP: CSAT recorded on cases, the customer status, the metrics
//! as JSON and CSV (grouped and not), bad parameters, the Prometheus endpoint, and who may
//! read them.

use ladder_testkit::http::*;
use ladder_testkit::server::*;
use serde_json::{Value, json};

const LADDER: Ladder = Ladder::new(env!("CARGO_BIN_EXE_ladder"));

async fn open(api: &Api, token: &str, customer: &str, channel: &str) -> String {
    let case =
        api.open_case(token, json!({"subject": "Billed twice", "channel": channel, "customer_id": customer})).await;
    case["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csat_customer_status_and_metrics() {
    let Running { dir, world, server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    let (ana, sam, maria, root) = (t("ana"), t("sam"), t("maria"), t("root"));

    let (s, customer) =
        api.call(&ana, "POST", "/api/v1/customers", Some(json!({"name": "Kim Lee", "segment": "gold"}))).await;
    assert_eq!(s, 201, "{customer}");
    assert_eq!(customer["status"], "active");
    let customer = customer["id"].as_str().unwrap().to_string();

    // Case 1: resolved on the first contact. CSAT is refused before the resolution, given
    // once after it, and not overwritten (not even once the case is closed).
    let first = open(&api, &ana, &customer, "phone").await;
    let csat = format!("/api/v1/cases/{first}/csat");
    let (s, p) = api.call(&ana, "POST", &csat, Some(json!({"score": 4}))).await;
    assert_eq!(s, 409, "no satisfaction score before a resolution: {p}");
    api.post_ok(&ana, &format!("/api/v1/cases/{first}/resolve"), json!({"code": "fixed"})).await;
    let (s, p) = api.call(&ana, "POST", &csat, Some(json!({"score": 7}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("score")), "{p}");
    let case = api.post_ok(&ana, &csat, json!({"score": 4, "comment": "quick"})).await;
    assert_eq!((case["csat"]["score"].as_u64(), case["csat"]["by_customer"].as_bool()), (Some(4), Some(false)));
    api.post_ok(&sam, &format!("/api/v1/cases/{first}/close"), json!({})).await;
    let (s, p) = api.call(&ana, "POST", &csat, Some(json!({"score": 1}))).await;
    assert_eq!(s, 409, "once per resolution: {p}");
    assert!(p["detail"].as_str().unwrap().contains("already recorded for this resolution"), "{p}");
    let (_, case) = api.call(&ana, "GET", &format!("/api/v1/cases/{first}"), None).await;
    assert_eq!((case["status"].as_str(), case["csat"]["score"].as_u64()), (Some("closed"), Some(4)));
    let (_, events) = api.call(&ana, "GET", &format!("/api/v1/cases/{first}/events"), None).await;
    let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "csat_recorded").count(), 1, "{kinds:?}");

    // Case 2: the customer asks for a manager; resolved there; CSAT 2.
    let second = open(&api, &ana, &customer, "email").await;
    api.post_ok(
        &ana,
        &format!("/api/v1/cases/{second}/escalate"),
        json!({"kind": "hierarchical", "to_level": "L3", "to_team": "management", "to_user": "maria",
               "initiator": "customer", "reason": "customer asked for a manager"}),
    )
    .await;
    api.post_ok(&maria, &format!("/api/v1/cases/{second}/resolve"), json!({"code": "refunded"})).await;
    api.post_ok(&maria, &format!("/api/v1/cases/{second}/csat"), json!({"score": 2})).await;

    // Case 3: still open.
    open(&api, &ana, &customer, "phone").await;

    // The customer's status.
    let path = format!("/api/v1/customers/{customer}/status");
    let (s, c) = api.call(&ana, "PUT", &path, Some(json!({"status": "churned"}))).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("churned")), "{c}");
    assert!(c["status_changed_at"].is_string(), "{c}");
    let (s, p) = api.call(&ana, "PUT", &path, Some(json!({"status": "gone"}))).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("status")), "{p}");
    let (_, c) = api.call(&ana, "GET", &format!("/api/v1/customers/{customer}"), None).await;
    assert_eq!(c["status"], "churned");
    // Replacing the details keeps the status.
    let (s, c) = api
        .call(
            &ana,
            "PUT",
            &format!("/api/v1/customers/{customer}"),
            Some(json!({"name": "Kim Lee", "segment": "gold"})),
        )
        .await;
    assert_eq!((s, c["status"].as_str()), (200, Some("churned")), "{c}");

    // Metrics: the total.
    let (s, m) = api.call(&maria, "GET", "/api/v1/metrics", None).await;
    assert_eq!(s, 200, "{m}");
    let total = &m["rows"][0];
    assert_eq!(m["rows"].as_array().unwrap().len(), 1, "{m}");
    let counts = ["cases", "escalated", "supervisor_escalated", "resolved", "fcr", "open", "csat_n"]
        .map(|k| total[k].as_i64().unwrap_or(-1));
    assert_eq!(counts, [3, 1, 1, 2, 1, 1, 2], "{total}");
    assert_eq!(total["escalation_rate"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(total["fcr_rate"].as_f64(), Some(0.5));
    assert_eq!(total["csat_avg"].as_f64(), Some(3.0));
    assert_eq!(total["csat_escalated_avg"].as_f64(), Some(2.0));
    assert_eq!(total["csat_not_escalated_avg"].as_f64(), Some(4.0));
    let churn = ["with_customer", "churned"].map(|k| total[k].as_i64().unwrap_or(-1));
    assert_eq!(churn, [3, 3], "{total}");
    assert_eq!(
        (total["churn_rate_escalated"].as_f64(), total["churn_rate_not_escalated"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    // The customer comes back: the figures follow at once.
    let (s, _) = api.call(&ana, "PUT", &path, Some(json!({"status": "active"}))).await;
    assert_eq!(s, 200);
    let (_, m) = api.call(&maria, "GET", "/api/v1/metrics", None).await;
    assert_eq!((m["rows"][0]["churned"].as_i64(), m["rows"][0]["churn_rate_escalated"].as_f64()), (Some(0), Some(0.0)));
    let (s, _) = api.call(&ana, "PUT", &path, Some(json!({"status": "churned"}))).await;
    assert_eq!(s, 200);

    // Grouped.
    let (s, m) = api.call(&maria, "GET", "/api/v1/metrics?group_by=channel", None).await;
    assert_eq!(s, 200, "{m}");
    let by_channel: Vec<(String, i64)> = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["value"].as_str().unwrap().to_string(), r["cases"].as_i64().unwrap()))
        .collect();
    assert_eq!(by_channel, [("email".to_string(), 1), ("phone".to_string(), 2)]);
    let (_, m) = api.call(&root, "GET", "/api/v1/metrics?group_by=segment", None).await;
    assert_eq!((m["rows"][0]["value"].as_str(), m["rows"][0]["cases"].as_i64()), (Some("gold"), Some(3)), "{m}");
    let (_, m) = api.call(&root, "GET", "/api/v1/metrics?group_by=team", None).await;
    assert_eq!((m["rows"][0]["label"].as_str(), m["rows"][0]["cases"].as_i64()), (Some("frontline"), Some(3)), "{m}");
    let (_, m) = api.call(&root, "GET", "/api/v1/metrics?group_by=level", None).await;
    let levels: Vec<(&str, i64)> = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["value"].as_str().unwrap(), r["cases"].as_i64().unwrap()))
        .collect();
    assert_eq!(levels, [("L1", 3), ("L3", 1)], "{m}");

    // Periods around today (the cases were all opened today): the daily rows and the
    // monthly roll-up add up to the same figures however the period is cut.
    let today: jiff::civil::Date = m["to"].as_str().unwrap().parse().unwrap();
    let days = |n: i64| jiff::Span::new().days(n);
    let month_start = today.first_of_month();
    let periods = [
        (today.checked_sub(days(40)).unwrap(), today, 3),
        (month_start, today, 3),
        (month_start, today.last_of_month(), 3),
        (month_start.checked_sub(jiff::Span::new().months(2)).unwrap(), today.checked_add(days(70)).unwrap(), 3),
        (jiff::civil::date(today.year(), 1, 1), jiff::civil::date(today.year(), 12, 31), 3),
        (today, today, 3),
        (today.checked_add(days(1)).unwrap(), today.checked_add(days(40)).unwrap(), 0),
        (today.checked_sub(days(40)).unwrap(), today.checked_sub(days(1)).unwrap(), 0),
    ];
    for (from, to, cases) in periods {
        let (s, m) =
            api.call(&maria, "GET", &format!("/api/v1/metrics?from={from}&to={to}&group_by=level"), None).await;
        assert_eq!(s, 200, "{m}");
        let l1 = m["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["value"] == "L1")
            .map_or(0, |r| r["cases"].as_i64().unwrap());
        assert_eq!(l1, cases, "{from}..{to}: {m}");
    }

    // A period without cases.
    let (s, m) = api.call(&maria, "GET", "/api/v1/metrics?from=2020-01-01&to=2020-01-31", None).await;
    assert_eq!((s, m["rows"].as_array().map(Vec::len)), (200, Some(0)), "{m}");

    // CSV, by parameter and by Accept.
    let (s, csv) = api.call(&maria, "GET", "/api/v1/metrics?group_by=channel&format=csv", None).await;
    assert_eq!(s, 200);
    let csv = csv.as_str().unwrap().to_string();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("value,label,cases,escalated,"), "{csv}");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with("email,,1,1,"), "{csv}");
    let (s, by_accept) =
        api.call_with(&maria, "GET", "/api/v1/metrics?group_by=channel", None, &[("accept", "text/csv")]).await;
    assert_eq!((s, by_accept.as_str()), (200, Some(csv.as_str())));

    // Bad parameters name the field; an empty `group_by` is not an absent one.
    for (query, field) in [
        ("group_by=colour", "group_by"),
        ("group_by=", "group_by"),
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("format=xml", "format"),
    ] {
        let (s, p) = api.call(&maria, "GET", &format!("/api/v1/metrics?{query}"), None).await;
        assert_eq!((s, p["field"].as_str()), (400, Some(field)), "{query}: {p}");
    }
    let (s, p) = api.call(&maria, "GET", "/api/v1/metrics?from=2026-02-01&to=2026-01-01", None).await;
    assert_eq!((s, p["field"].as_str()), (422, Some("from")), "{p}");

    // Prometheus.
    let (s, text) = api.call(&root, "GET", "/metrics", None).await;
    assert_eq!(s, 200, "{text}");
    let text = text.as_str().unwrap();
    for line in ["ladder_cases{status=\"closed\"} 1", "ladder_cases{status=\"new\"} 1", "ladder_backlog_cases 1"] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    assert!(text.contains("# TYPE ladder_escalation_rate_30d gauge"), "{text}");

    // Agents may not read metrics; supervisors only their teams' (see below), not Prometheus.
    let (s, p) = api.call(&ana, "GET", "/api/v1/metrics", None).await;
    assert_eq!(s, 403, "{p}");
    for token in [&ana, &sam] {
        let (s, p) = api.call(token, "GET", "/metrics", None).await;
        assert_eq!(s, 403, "{p}");
    }

    // Rebuilding the projections from the event log gives the same figures.
    let (_, before) = api.call(&maria, "GET", "/api/v1/metrics?group_by=level", None).await;
    drop(server);
    LADDER.admin(dir.path(), &["rebuild"], None);
    let server = Server::start(LADDER, dir.path());
    let api = Api::new(&server);
    let (_, after) = api.call(&maria, "GET", "/api/v1/metrics?group_by=level", None).await;
    assert_eq!(strip_ages(before), strip_ages(after));
}

/// The value and case count of each row, by value.
fn cases_by_value(m: &Value) -> Vec<(String, i64)> {
    m["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("rows in {m}"))
        .iter()
        .map(|r| (r["label"].as_str().or(r["value"].as_str()).unwrap_or("").to_string(), r["cases"].as_i64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_see_only_their_teams_figures() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let t = |name: &str| world.tokens[name].clone();
    // sam supervises `supervisors` and `frontline`; tara supervises `billing`.
    let (ana, sam, tara, maria, root) = (t("ana"), t("sam"), t("tara"), t("maria"), t("root"));
    let open = async |team: &str, level: &str, assignee: Option<&str>, channel: &str| {
        let body = json!({"subject": "Billed twice", "channel": channel, "team": team, "level": level,
                          "assignee": assignee});
        let case = api.open_case(&root, body).await;
        case["id"].as_str().unwrap().to_string()
    };
    // Front line: two cases (one assigned to ana, escalated to billing afterwards), billing: three.
    let escalated = open("frontline", "L1", Some("ana"), "phone").await;
    open("frontline", "L1", None, "email").await;
    for _ in 0..3 {
        open("billing", "L2", Some("erin"), "chat").await;
    }
    api.post_ok(&root, &format!("/api/v1/cases/{escalated}/escalate"),
        json!({"kind": "functional", "to_team": "billing", "to_user": "erin", "reason": "a refund", "tried": "the script"}),
    )
    .await;

    let get = |token: String, query: &'static str| {
        let api = &api;
        async move { api.call(&token, "GET", &format!("/api/v1/metrics{query}"), None).await }
    };
    // The manager sees everything.
    let (s, m) = get(maria.clone(), "").await;
    assert_eq!((s, m["rows"][0]["cases"].as_i64()), (200, Some(5)), "{m}");

    // sam: the front line's two cases (the escalated one counts for its first team).
    let (s, m) = get(sam.clone(), "").await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(cases_by_value(&m), [(String::new(), 2)]);
    assert_eq!(m["rows"][0]["escalated"].as_i64(), Some(1), "{m}");
    let (_, m) = get(sam.clone(), "?group_by=team").await;
    assert_eq!(cases_by_value(&m), [("frontline".to_string(), 2)]);
    // By agent: ana's case and the unassigned one; never erin's billing cases.
    let (_, m) = get(sam.clone(), "?group_by=agent").await;
    assert_eq!(cases_by_value(&m), [(String::new(), 1), ("ana".to_string(), 1)]);
    let (_, csv) = api.call(&sam, "GET", "/api/v1/metrics?group_by=agent&format=csv", None).await;
    assert!(!csv.as_str().unwrap().contains("erin"), "{csv}");

    // tara: billing's three cases, all erin's; not the front-line case erin took over.
    let (_, m) = get(tara.clone(), "").await;
    assert_eq!(cases_by_value(&m), [(String::new(), 3)]);
    let (_, m) = get(tara.clone(), "?group_by=agent").await;
    assert_eq!(cases_by_value(&m), [("erin".to_string(), 3)]);
    let (_, m) = get(tara.clone(), "?group_by=team").await;
    assert_eq!(cases_by_value(&m), [("billing".to_string(), 3)]);
    // The manager's view by agent counts erin's three billing cases (the front-line case's
    // first assignee is ana).
    let (_, m) = get(maria.clone(), "?group_by=agent").await;
    assert_eq!(cases_by_value(&m), [(String::new(), 1), ("ana".to_string(), 1), ("erin".to_string(), 3)]);

    // Groupings the aggregates cannot limit to teams are refused, naming the field.
    for query in ["?group_by=channel", "?group_by=category", "?group_by=level", "?group_by=segment"] {
        let (s, p) = get(sam.clone(), query).await;
        assert_eq!((s, p["field"].as_str()), (403, Some("group_by")), "{query}: {p}");
        assert!(p["detail"].as_str().unwrap().contains("team or agent"), "{p}");
    }
    // Agents are refused; so are supervisors for insights (they compare the whole center).
    let (s, p) = get(ana.clone(), "?group_by=team").await;
    assert_eq!(s, 403, "{p}");
    for token in [&ana, &sam] {
        let (s, p) = api.call(token, "GET", "/api/v1/insights", None).await;
        assert_eq!(s, 403, "{p}");
    }
}

/// The backlog's age moves with the clock; everything else must be identical.
fn strip_ages(mut v: Value) -> Value {
    for row in v["rows"].as_array_mut().unwrap() {
        row.as_object_mut().unwrap().remove("backlog_avg_age_s");
    }
    v
}

/// What the server measures of itself is on `/metrics` beside the business gauges: HTTP
/// latency under the route's template (never the concrete path), the writer's batches and
/// timing; every answer carries a request id, the client's when it is a plain short token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_carries_the_servers_own_measures_and_answers_carry_a_request_id() {
    let Running { dir: _dir, world, server: _server, api } = Running::start(LADDER);
    let (ana, root) = (world.tokens["ana"].clone(), world.tokens["root"].clone());
    let case = api.open_case(&ana, json!({"subject": "Measured"})).await;
    let id = case["id"].as_str().unwrap();
    let (s, _) = api.call(&ana, "GET", &format!("/api/v1/cases/{id}"), None).await;
    assert_eq!(s, 200);

    let (s, text) = api.call(&root, "GET", "/metrics", None).await;
    assert_eq!(s, 200, "{text}");
    let text = text.as_str().unwrap();
    for series in [
        "ladder_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/cases\",status=\"2xx\",le=\"",
        "ladder_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/cases/{id}\",status=\"2xx\"} ",
        "ladder_writer_batch_writes_count ",
        "ladder_writer_batch_seconds_bucket{le=\"",
        "ladder_writer_queue_depth ",
    ] {
        assert!(text.lines().any(|l| l.starts_with(series)), "{series} in\n{text}");
    }
    assert!(!text.contains(id), "a concrete path is never a label:\n{text}");
    assert!(text.contains("# TYPE ladder_http_request_duration_seconds histogram"), "{text}");

    let request_id = |headers: &[(&str, &str)]| {
        let mut req = api.client.get(format!("{}/healthz", api.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        async move {
            let resp = req.send().await.unwrap();
            resp.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_string())
        }
    };
    assert_eq!(
        request_id(&[("x-request-id", "lb-7f3a.9")]).await.as_deref(),
        Some("lb-7f3a.9"),
        "the client's is kept"
    );
    let fresh = request_id(&[]).await.expect("a fresh id");
    assert!(uuid::Uuid::parse_str(&fresh).is_ok(), "{fresh}");
    let long = "x".repeat(65);
    for bad in [long.as_str(), "has space", "semi;colon"] {
        let given = request_id(&[("x-request-id", bad)]).await.expect("an id");
        assert_ne!(given, bad);
        assert!(uuid::Uuid::parse_str(&given).is_ok(), "{given}");
    }
    // A refusal before any handler (no credentials) carries one too.
    let resp = api.client.get(format!("{}/api/v1/cases", api.base)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers().contains_key("x-request-id"));
}
