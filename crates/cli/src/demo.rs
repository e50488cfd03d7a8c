//! `ladder serve --demo`: a realistic contact center — front line, billing back office,
//! technical specialists, supervisors, a manager and an outbound team; a few hundred
//! customers; about 2,000 cases over the last 30 days with every kind of escalation.
//! Seeded once per data directory, deterministically, through the same commands the API runs.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use ladder_core::access::Principal;
use ladder_core::agents::Presence;
use ladder_core::command::{Reopen, RequestInfo};
use ladder_core::directory::{Customer, Identity, LevelId, Team, TeamKind, User};
use ladder_core::event::{EscalationKind, InfoSource, Initiator};
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::{Channel, Priority, Role, Visibility};
use ladder_engine::credentials::principal_of;
use ladder_engine::{
    ActionRequest, Assignment, CaseRequest, DeEscalation, Engine, Escalation, OpenRequest, Password,
    command_line_principal,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};

use crate::requests::{self, escalate, escalation, resolve};

pub const DEMO_PASSWORD: &str = "ladder-demo-1";
const N_CUSTOMERS: usize = 300;
const N_CASES: usize = 2000;
/// Cases just in at the front line, not yet taken: the queue's work when the demo starts.
const N_WAITING: usize = 8;
/// Credits an agent asked for beyond their authority, waiting for a supervisor's decision.
const N_AWAITING_APPROVAL: usize = 4;

struct Demo {
    users: BTreeMap<&'static str, Principal>,
    customers: Vec<Customer>,
}

const TEAMS: &[(&str, &str, &str, TeamKind, &[&str])] = &[
    ("frontline", "Front line", "L1", TeamKind::FrontLine, &["general", "account", "shipping"]),
    ("outbound", "Outbound call-backs", "L1", TeamKind::Outbound, &["callback"]),
    ("billing", "Billing back office", "L2", TeamKind::BackOffice, &["billing", "refunds"]),
    ("tech", "Technical specialists", "L2", TeamKind::Specialist, &["technical", "networking"]),
    ("supervisors", "Floor supervisors", "L2", TeamKind::Management, &["complaints"]),
    ("management", "Customer care management", "L3", TeamKind::Management, &["complaints", "legal"]),
];

/// The demo teams' slugs and levels, for `ladder matrix check --demo-teams`.
pub fn team_levels() -> impl Iterator<Item = (&'static str, &'static str)> {
    TEAMS.iter().map(|t| (t.0, t.2))
}

const USERS: &[(&str, &str, Role, &[&str])] = &[
    ("admin", "Ada Admin", Role::Admin, &[]),
    ("ana", "Ana Alvarez", Role::Agent, &["frontline"]),
    ("ben", "Ben Baker", Role::Agent, &["frontline"]),
    ("chloe", "Chloe Chen", Role::Agent, &["frontline"]),
    ("omar", "Omar Osei", Role::Agent, &["outbound"]),
    ("erin", "Erin Evans", Role::Agent, &["billing"]),
    ("farid", "Farid Faraji", Role::Agent, &["billing"]),
    ("gus", "Gus Green", Role::Agent, &["tech"]),
    ("hana", "Hana Hoshino", Role::Agent, &["tech"]),
    ("sam", "Sam Sutherland", Role::Supervisor, &["supervisors", "frontline"]),
    ("tara", "Tara Tanaka", Role::Supervisor, &["supervisors", "billing", "tech"]),
    ("maria", "Maria Moreau", Role::Manager, &["management"]),
];

const FIRST: &[&str] = &[
    "James", "Mary", "Wei", "Fatima", "Lucas", "Sofia", "Arjun", "Olga", "Kwame", "Yuki", "Diego", "Amara", "Noah",
    "Elena", "Mateo", "Priya", "Liam", "Chiara", "Hugo", "Zainab",
];
const LAST: &[&str] = &[
    "Smith",
    "Garcia",
    "Nguyen",
    "Okafor",
    "Müller",
    "Rossi",
    "Kowalski",
    "Haddad",
    "Silva",
    "Kim",
    "Patel",
    "Dubois",
    "Johansson",
    "Ivanova",
    "Mensah",
    "Tanaka",
];
const ZONES: &[&str] =
    &["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", "Europe/Berlin"];

/// How contacts spread over the channels (phone and chat twice as often as the rest); the
/// metrics benchmark's center uses the same mix.
pub(crate) const CHANNEL_MIX: &[Channel] = &[
    Channel::Phone,
    Channel::Phone,
    Channel::Email,
    Channel::Chat,
    Channel::Chat,
    Channel::Sms,
    Channel::Social,
    Channel::Web,
];

const TOPICS: &[(&str, &str, &str)] = &[
    ("billing", "Charged twice for my subscription", "I see two charges of $49.99 on my card this month."),
    ("billing", "Refund not received", "I returned the router three weeks ago and still have no refund."),
    ("billing", "Late fee on my account", "There is a late fee although I paid on time by direct debit."),
    ("technical", "Internet drops every evening", "My connection drops between 7pm and 10pm every day."),
    ("technical", "Cannot log in to the app", "The app says my password is wrong after the update."),
    ("technical", "Router keeps rebooting", "The router restarts itself every few minutes, lights flash red."),
    ("account", "Change the account holder", "My husband passed away and I need the account in my name."),
    ("account", "Close my account", "I am moving abroad and want to close my account."),
    ("shipping", "Order never arrived", "Tracking says delivered but there was no parcel at my door."),
    ("shipping", "Wrong item delivered", "I ordered a white phone case and received a black one."),
    ("general", "Complaint about a rude agent", "The agent I spoke to yesterday hung up on me."),
    ("general", "Question about the loyalty programme", "How do I redeem my points for a discount?"),
];

fn at(base: Timestamp, minutes: i64) -> Timestamp {
    base + SignedDuration::from_mins(minutes)
}

/// Simulated time for one case: moves forward, never past `now`.
struct Clock {
    t: Timestamp,
    now: Timestamp,
}

impl Clock {
    fn step(&mut self, mins: std::ops::Range<i64>, rng: &mut StdRng) -> Timestamp {
        self.t = at(self.t, rng.random_range(mins)).min(self.now);
        self.t
    }
}

impl Demo {
    fn who(&self, name: &str) -> &Principal {
        &self.users[name]
    }
}

/// Seeds the demo data unless the directory already has teams.
pub async fn seed(engine: &Engine) -> anyhow::Result<()> {
    let operator = command_line_principal();
    if !engine.teams(&operator).await?.is_empty() {
        tracing::info!("demo data already present; not seeding again");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let now = Timestamp::now();
    let mut rng = StdRng::seed_from_u64(7);
    let mut team_ids: BTreeMap<&str, TeamId> = BTreeMap::new();
    for (slug, name, level, kind, skills) in TEAMS {
        let team = Team {
            id: TeamId::new_v7(),
            slug: slug.to_string(),
            name: name.to_string(),
            level: LevelId::new(*level),
            kind: *kind,
            skills: skills.iter().map(|s| s.to_string()).collect(),
            created_at: now,
        };
        team_ids.insert(slug, engine.create_team(&operator, team, None, now).await?.id);
    }
    // Every demo login has the same password, which meets the policy like any other: hashed
    // once.
    ladder_core::directory::validate_password("password", DEMO_PASSWORD)?;
    let hash = engine.hash_password(DEMO_PASSWORD.to_string()).await?;
    let mut users = BTreeMap::new();
    for (name, display, role, teams) in USERS {
        let mut levels: Vec<LevelId> = Vec::new();
        for level in teams.iter().filter_map(|t| TEAMS.iter().find(|x| x.0 == *t).map(|x| LevelId::new(x.2))) {
            if !levels.contains(&level) {
                levels.push(level);
            }
        }
        let user = User {
            id: UserId::new_v7(),
            name: name.to_string(),
            display_name: display.to_string(),
            email: Some(format!("{name}@ladder.example")),
            role: *role,
            teams: teams.iter().map(|t| team_ids[t]).collect(),
            skills: Vec::new(),
            levels,
            active: true,
            created_at: now,
        };
        let user = engine.create_user(&operator, user, Some(Password::Hashed(hash.clone())), None, now).await?;
        users.insert(*name, principal_of(&user));
    }
    let mut customers = Vec::new();
    for i in 0..N_CUSTOMERS {
        let customer = demo_customer(&mut rng, i, now);
        customers.push(engine.create_customer(&operator, customer, None, now).await?);
    }
    let demo = Demo { users, customers };
    // The history runs under SLA targets, so its clocks were met or breached.
    load_history_matrix(engine, now).await?;
    // Cases are independent, so seed them a few at a time.
    let mut plans = Vec::new();
    for i in 0..N_CASES {
        let age_min = rng.random_range(0..30 * 24 * 60);
        plans.push((i, now - SignedDuration::from_mins(age_min), rng.random_range(0u32..1000), rng.random::<u64>()));
    }
    let demo = std::sync::Arc::new(demo);
    for chunk in plans.chunks(32) {
        let mut tasks = Vec::new();
        for &(i, opened_at, roll, seed) in chunk {
            let (engine, demo) = (engine.clone(), demo.clone());
            tasks.push(tokio::spawn(async move { one_case(&engine, &demo, i, opened_at, roll, seed, now).await }));
        }
        for t in tasks {
            t.await.context("seeding task")??;
        }
    }
    // Some customers left: more of those whose problems had to be escalated.
    for customer in &demo.customers {
        let cases = engine
            .list_cases(
                &operator,
                ladder_engine::CaseFilter { customer: Some(customer.id), ..Default::default() },
                ladder_engine::PageRequest { before: None, limit: 50 },
            )
            .await?
            .cases;
        let escalated = cases.iter().filter(|c| c.n_escalations > 0).count();
        let churn_per_mille = 20 + 60 * escalated.min(3);
        if rng.random_range(0..1000) < churn_per_mille {
            let mut c = customer.clone();
            c.status = ladder_core::directory::CustomerStatus::Churned;
            c.status_changed_at = Some(now);
            engine.update_customer(&operator, c, now).await?;
        }
    }
    tracing::info!(cases = N_CASES, seconds = started.elapsed().as_secs_f32(), "demo data seeded");
    load_example_matrices(engine, now).await?;
    seed_schedules(engine, now).await?;
    seed_today(engine, &demo, now).await?;
    // A shift is on: most staff are available (so new cases are routed to them), a few are
    // away or busy, and everyone speaks English, some Spanish too.
    for (name, presence, languages) in [
        ("ana", Presence::Available, &["en", "es"][..]),
        ("ben", Presence::Available, &["en"]),
        ("chloe", Presence::Busy, &["en"]),
        ("omar", Presence::Available, &["en", "es"]),
        ("erin", Presence::Available, &["en"]),
        ("farid", Presence::Away, &["en"]),
        ("gus", Presence::Available, &["en", "es"]),
        ("hana", Presence::Available, &["en"]),
        ("sam", Presence::Available, &["en"]),
        ("tara", Presence::Available, &["en", "es"]),
    ] {
        let user = engine.user(&operator, &demo.users[name].user_id.to_string()).await?;
        let langs: Vec<String> = languages.iter().map(|l| l.to_string()).collect();
        engine
            .edit_agent_profile(
                &operator,
                &user,
                serde_json::json!({ "languages": langs, "presence": presence.as_str() }),
                now,
                move |_, p| {
                    p.languages = langs;
                    p.set_presence(presence, now);
                    Ok(())
                },
            )
            .await?;
    }
    Ok(())
}

/// The `i`th demo customer: a name, an email and a phone number, a segment and its value.
fn demo_customer(rng: &mut StdRng, i: usize, now: Timestamp) -> Customer {
    let first = FIRST.choose(rng).expect("names");
    let last = LAST.choose(rng).expect("names");
    let segment = match rng.random_range(0..100) {
        0..10 => "vip",
        10..35 => "business",
        _ => "consumer",
    };
    let value: f64 = match segment {
        "vip" => rng.random_range(10_000.0..80_000.0),
        "business" => rng.random_range(2_000.0..20_000.0),
        _ => rng.random_range(50.0..3_000.0),
    };
    Customer {
        id: CustomerId::new_v7(),
        name: format!("{first} {last}"),
        identities: vec![
            Identity {
                channel: Channel::Email,
                value: format!("{}.{}{i}@example.com", first.to_lowercase(), last.to_lowercase()),
            },
            Identity { channel: Channel::Phone, value: format!("+1555{:07}", 1_000_000 + i) },
        ],
        value: (value * 100.0).round() / 100.0,
        segment: Some(segment.into()),
        language: Some(if rng.random_bool(0.8) { "en" } else { "es" }.into()),
        time_zone: Some(ZONES.choose(rng).expect("zones").to_string()),
        custom_fields: BTreeMap::new(),
        created_at: now,
        status: Default::default(),
        status_changed_at: None,
    }
}

/// Today's front line, on top of the history and under the matrix in force (so the clocks
/// run and the authority limits apply): cases just in and not yet taken, and credits over an
/// agent's authority waiting for a supervisor. Before anyone is available, so the router
/// leaves the new cases in the queue for the walk-through's "take next".
async fn seed_today(engine: &Engine, demo: &Demo, now: Timestamp) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(11);
    // Topics the matrix's rules keep at the front line on opening (technical faults and
    // billing disputes go straight to the back office).
    let front_line: Vec<_> = TOPICS.iter().filter(|t| !matches!(t.0, "technical" | "billing")).collect();
    // First contacts, from customers new today: a customer with a history of contacts would
    // meet the repeat-contact rule, which moves the case up at once.
    let mut customers = Vec::new();
    for i in N_CUSTOMERS..N_CUSTOMERS + N_WAITING + N_AWAITING_APPROVAL {
        let customer = demo_customer(&mut rng, i, now);
        customers.push(engine.create_customer(&command_line_principal(), customer, None, now).await?);
    }
    let mut customers = customers.into_iter();
    let mut open = |rng: &mut StdRng, assignee: Option<&str>, minutes_ago: i64| {
        let (category, subject, description) = **front_line.choose(rng).expect("front-line topics");
        let customer = customers.next().expect("a new customer for each case");
        let channel = *CHANNEL_MIX.choose(rng).expect("channels");
        let request = CaseRequest::Open(OpenRequest {
            assignee: assignee.map(str::to_string),
            customer: Some(customer.id),
            ..requests::open(subject.to_string(), description, category, Some("frontline"), Priority::Normal, channel)
        });
        (request, now - SignedDuration::from_mins(minutes_ago))
    };
    let mut waiting = Vec::new();
    for _ in 0..N_WAITING {
        let minutes_ago = rng.random_range(2..55);
        waiting.push(open(&mut rng, None, minutes_ago));
    }
    // Each acknowledged at once (the front line's response target is immediate), and left in
    // the queue for whoever takes it next.
    let acknowledgement =
        requests::public_message("Thanks for getting in touch: a colleague will pick this up shortly.", false);
    for (request, when) in waiting {
        let id = CaseId::new_v7();
        for (request, when) in [(request, when), (acknowledgement.clone(), when + SignedDuration::from_secs(20))] {
            engine
                .run(demo.who("ana"), id, request, None, None, when)
                .await
                .map_err(|e| anyhow::anyhow!("today's demo cases: {e}"))?;
        }
    }
    for i in 0..N_AWAITING_APPROVAL {
        let agent = ["ben", "chloe"][i % 2];
        let (request, opened) = open(&mut rng, Some(agent), 40 + 15 * i as i64);
        let credit = CaseRequest::ApplyAction(ActionRequest {
            action: "credit".into(),
            amount: [120.0, 180.0, 240.0, 320.0][i % 4],
            note: Some("Goodwill credit for the repeated outage; over my limit, so asking.".into()),
        });
        let reply =
            requests::public_message("I'm sorry about this; I'm asking my supervisor to approve a credit.", false);
        let id = CaseId::new_v7();
        for (request, minutes) in [(request, 0), (reply, 2), (credit, 10)] {
            engine
                .run(demo.who(agent), id, request, None, None, opened + SignedDuration::from_mins(minutes))
                .await
                .map_err(|e| anyhow::anyhow!("today's demo cases: {e}"))?;
        }
    }
    tracing::info!(waiting = N_WAITING, awaiting_approval = N_AWAITING_APPROVAL, "today's front line seeded");
    Ok(())
}

/// The matrix the history ran under: the contact-center example's calendars, levels and
/// targets (a first answer within 30 minutes at the front line rather than at once), without
/// its rules and queues, so the scripted past is what people did while its clocks ran. Its
/// version stays in the matrix's history, before the example's.
pub(crate) fn history_matrix() -> String {
    let example = include_str!("../../../examples/contact-center.toml");
    let rules = example.find("[[rules]]").expect("the example has rules");
    let authority = example.find("[[authority]]").expect("the example has authority limits");
    let targets = example[..rules].replacen("respond = \"0m\"", "respond = \"30m\"", 1);
    format!("# The SLA targets the demo's history ran under.\n{targets}{}", &example[authority..])
}

async fn load_history_matrix(engine: &Engine, now: Timestamp) -> anyhow::Result<()> {
    engine
        .put_matrix_draft(&command_line_principal(), "history".into(), history_matrix(), now)
        .await
        .map_err(|e| anyhow::anyhow!("the history's matrix: {e:?}"))?;
    engine
        .activate_matrix(&command_line_principal(), "history".into(), now)
        .await
        .map_err(|e| anyhow::anyhow!("activating the history's matrix: {e:?}"))?;
    Ok(())
}

/// The on-call schedules the IT example matrix pages (`on_call:tech`, `on_call:management`):
/// tech rotates gus and hana weekly with tara covering evenings on weekdays, an override for
/// tomorrow morning, and tara as the fallback; management is maria in office hours only, with
/// no fallback, so its gaps show.
async fn seed_schedules(engine: &Engine, now: Timestamp) -> anyhow::Result<()> {
    use ladder_core::oncall::ScheduleSpec;
    use ladder_engine::schedules::ScheduleDraft;
    let operator = command_line_principal();
    let monday = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let monday = monday - jiff::Span::new().days(i64::from(monday.weekday().to_monday_zero_offset()));
    let specs = [
        (
            "tech",
            "Tech on call",
            serde_json::json!({"time_zone": "Europe/London", "fallback": "tara", "layers": [
                {"name": "weekly", "users": ["gus", "hana"], "start": format!("{monday}T09:00"), "turn": "1w"},
                {"name": "evenings", "users": ["tara"], "start": format!("{monday}T18:00"), "turn": "1w",
                 "restrictions": [{"days": "mon-fri", "hours": "18:00-22:00"}]}
            ]}),
        ),
        (
            "management",
            "Management escalations",
            serde_json::json!({"time_zone": "America/New_York", "layers": [
                {"name": "office hours", "users": ["maria"], "start": format!("{monday}T09:00"), "turn": "1w",
                 "restrictions": [{"days": "mon-fri", "hours": "09:00-17:00"}]}
            ]}),
        ),
    ];
    for (slug, name, spec) in specs {
        let spec: ScheduleSpec = serde_json::from_value(spec)?;
        let draft = ScheduleDraft { slug: slug.into(), name: name.into(), spec };
        engine.create_schedule(&operator, draft, now).await.map_err(|e| anyhow::anyhow!("schedule {slug}: {e}"))?;
    }
    let start = now + jiff::SignedDuration::from_hours(18);
    let end = start + jiff::SignedDuration::from_hours(4);
    engine
        .add_override(&operator, "tech", "tara", start, end, now)
        .await
        .map_err(|e| anyhow::anyhow!("schedule override: {e}"))?;
    tracing::info!("demo on-call schedules: tech, management");
    Ok(())
}

/// The example matrices, as drafts; the contact-center one in force. Loaded after the
/// history is seeded, so the scripted past is what people did and new cases meet the rules.
async fn load_example_matrices(engine: &Engine, now: Timestamp) -> anyhow::Result<()> {
    let examples = [
        ("contact-center", include_str!("../../../examples/contact-center.toml")),
        ("it-ops", include_str!("../../../examples/it-ops.toml")),
    ];
    for (name, source) in examples {
        engine
            .put_matrix_draft(&command_line_principal(), name.into(), source.into(), now)
            .await
            .map_err(|e| anyhow::anyhow!("example matrix {name}: {e:?}"))?;
    }
    let version = engine
        .activate_matrix(&command_line_principal(), "contact-center".into(), now)
        .await
        .map_err(|e| anyhow::anyhow!("activating the example matrix: {e:?}"))?;
    tracing::info!(version = version.version, "example escalation matrix in force");
    // The open cases get their SLA clocks from the matrix, counting from now.
    let adopted = engine.reevaluate_clocks(now).await?;
    tracing::info!(cases = adopted, "open demo cases have SLA clocks");
    Ok(())
}

/// Plays one case's life up to `now`: most are solved at the front line; the rest are
/// escalated functionally, hierarchically, by the customer, twice, or handed back down.
async fn one_case(
    engine: &Engine,
    demo: &Demo,
    i: usize,
    opened_at: Timestamp,
    roll: u32,
    seed: u64,
    now: Timestamp,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (category, subject, description) = *TOPICS.choose(&mut rng).expect("topics");
    let customer = demo.customers.choose(&mut rng).expect("customers");
    let channel = *CHANNEL_MIX.choose(&mut rng).expect("channels");
    let priority = match (customer.segment.as_deref(), rng.random_range(0..10)) {
        (_, 0) => Priority::Urgent,
        (Some("vip"), _) => Priority::High,
        (_, 1..=2) => Priority::High,
        (_, 3) => Priority::Low,
        _ => Priority::Normal,
    };
    let agent = *["ana", "ben", "chloe"].choose(&mut rng).expect("agents");
    let id = CaseId::new_v7();
    let mut clock = Clock { t: opened_at, now };
    // Before each step, the case's clocks catch up to its instant: what fell due in between
    // warned and breached then, as the timer loop would have made it.
    let run = |who: &str, request: CaseRequest, when: Timestamp| {
        let principal = demo.who(who).clone();
        async move {
            engine.fire_case_clocks_until(id, when).await.map_err(|e| anyhow::anyhow!("demo case {i} clocks: {e}"))?;
            engine
                .run(&principal, id, request, None, None, when)
                .await
                .map_err(|e| anyhow::anyhow!("demo case {i}: {e}"))
        }
    };
    run(
        agent,
        CaseRequest::Open(OpenRequest {
            assignee: Some(agent.into()),
            customer: Some(customer.id),
            ..requests::open(subject.to_string(), description, category, Some("frontline"), priority, channel)
        }),
        clock.t,
    )
    .await?;
    let reply = |body: &str| requests::public_message(body, false);
    let note = |body: &str| requests::message(Visibility::Internal, body, false);
    let fresh = now.duration_since(opened_at) < SignedDuration::from_hours(36);
    let when = clock.step(2..45, &mut rng);
    run(agent, reply("Thanks for reaching out — I'm looking into this now."), when).await?;
    if fresh && roll.is_multiple_of(3) {
        return Ok(()); // still being worked at the front line
    }
    let specialist_team = if category == "billing" { "billing" } else { "tech" };
    let specialist = if category == "billing" { "erin" } else { "gus" };
    match roll {
        // First-contact resolution at the front line.
        0..550 => {
            let when = clock.step(5..90, &mut rng);
            run(agent, resolve("answered"), when).await?;
        }
        // Waiting on the customer, who answers.
        550..650 => {
            let when = clock.step(5..60, &mut rng);
            run(
                agent,
                CaseRequest::RequestInfo(RequestInfo {
                    from: InfoSource::Customer,
                    question: "Could you send the last four digits of the card and the date of the charge?".into(),
                }),
                when,
            )
            .await?;
            if fresh && roll.is_multiple_of(2) {
                return Ok(());
            }
            let when = clock.step(60..1440, &mut rng);
            run(agent, requests::public_message("Here are the details you asked for.", true), when).await?;
            let when = clock.step(10..120, &mut rng);
            run(agent, resolve("answered"), when).await?;
        }
        // Functional escalation to the back office or specialists.
        650..820 => {
            let when = clock.step(10..120, &mut rng);
            run(
                agent,
                escalation(
                    EscalationKind::Functional,
                    Initiator::Agent,
                    specialist_team,
                    &format!("needs the {specialist_team} team"),
                    "Checked the account history and the knowledge base; no self-service fix.",
                ),
                when,
            )
            .await?;
            if fresh && roll.is_multiple_of(2) {
                return Ok(()); // waiting in the specialists' queue
            }
            let when = clock.step(20..240, &mut rng);
            run(specialist, CaseRequest::Assign(Assignment { assignee: Some(specialist.into()) }), when).await?;
            let when = clock.step(10..180, &mut rng);
            run(specialist, note("Found the cause; fixing it on our side."), when).await?;
            if roll.is_multiple_of(4) {
                // Handed back down with guidance; the front line closes the loop.
                let when = clock.step(10..120, &mut rng);
                run(
                    specialist,
                    CaseRequest::DeEscalate(DeEscalation {
                        to_level: None,
                        to_team: None,
                        to_user: None,
                        guidance: "Fixed on our side; please confirm with the customer and resolve.".into(),
                    }),
                    when,
                )
                .await?;
                let when = clock.step(10..240, &mut rng);
                run(agent, reply("Our specialists fixed it — can you confirm it works now?"), when).await?;
                let when = clock.step(10..240, &mut rng);
                run(agent, resolve("fixed"), when).await?;
            } else {
                let when = clock.step(10..240, &mut rng);
                run(specialist, resolve(if category == "billing" { "refund_issued" } else { "fixed" }), when).await?;
            }
        }
        // The customer asks for a supervisor.
        820..920 => {
            let when = clock.step(5..30, &mut rng);
            run(
                agent,
                CaseRequest::Escalate(Escalation {
                    to_user: Some("sam".into()),
                    ..escalate(
                        EscalationKind::Hierarchical,
                        Initiator::Customer,
                        "supervisors",
                        "Customer asked to speak to a supervisor",
                        None,
                    )
                }),
                when,
            )
            .await?;
            let when = clock.step(5..120, &mut rng);
            run("sam", reply("I'm the floor supervisor; I've reviewed everything and here is what we'll do."), when)
                .await?;
            let when = clock.step(10..240, &mut rng);
            run("sam", resolve("goodwill_credit"), when).await?;
        }
        // Two escalations: to specialists, then to management.
        920..980 => {
            let when = clock.step(10..60, &mut rng);
            run(
                agent,
                CaseRequest::Escalate(Escalation {
                    to_user: Some(specialist.into()),
                    ..escalate(
                        EscalationKind::Functional,
                        Initiator::Agent,
                        specialist_team,
                        "Beyond front-line tools",
                        Some("Standard troubleshooting script, twice."),
                    )
                }),
                when,
            )
            .await?;
            let when = clock.step(60..600, &mut rng);
            run(
                specialist,
                CaseRequest::Escalate(Escalation {
                    to_level: Some(LevelId::new("L3")),
                    to_user: Some("maria".into()),
                    ..escalate(
                        EscalationKind::Hierarchical,
                        Initiator::Agent,
                        "management",
                        "Compensation above my authority",
                        Some("Offered the standard credit; the customer refused."),
                    )
                }),
                when,
            )
            .await?;
            if fresh {
                return Ok(());
            }
            let when = clock.step(60..1440, &mut rng);
            run("maria", resolve("manager_exception"), when).await?;
        }
        // Resolved, then reopened by the customer, then resolved again.
        _ => {
            let when = clock.step(5..90, &mut rng);
            run(agent, resolve("answered"), when).await?;
            let when = clock.step(120..2880, &mut rng);
            run(agent, CaseRequest::Reopen(Reopen { reason: "The customer says the problem is back".into() }), when)
                .await?;
            let when = clock.step(10..240, &mut rng);
            run(agent, resolve("fixed"), when).await?;
        }
    }
    // Six in ten customers answer the satisfaction survey about a resolution; escalated ones
    // are less happy. The front-line agent records it, or a manager once the case moved on.
    let case = engine.case(&command_line_principal(), id).await?;
    if case.resolution.is_some() && rng.random_range(0..10) < 6 {
        let escalated = case.n_escalations > 0;
        let score = if escalated { [2, 3, 3, 4, 4, 5] } else { [3, 4, 4, 5, 5, 5] }[rng.random_range(0..6)];
        let when = clock.step(30..720, &mut rng);
        let csat = CaseRequest::RecordCsat(ladder_core::command::RecordCsat { score, comment: None, on_behalf: true });
        run(if escalated { "maria" } else { agent }, csat, when).await?;
    }
    // Resolved long enough ago: a supervisor closes it.
    if now.duration_since(clock.t) > SignedDuration::from_hours(96) {
        let when = clock.step(96 * 60..100 * 60, &mut rng);
        run("maria", CaseRequest::Close, when).await?;
    }
    Ok(())
}

/// Prints where to go and how to sign in.
pub async fn print_logins(engine: &Engine, addr: SocketAddr) -> anyhow::Result<()> {
    let Ok(admin) = engine.resolve_user("user", "admin").await else {
        println!("this data directory was not seeded by --demo (it has no user 'admin'); no demo token printed");
        return Ok(());
    };
    let now = Timestamp::now();
    let token = engine
        .mint_token(&command_line_principal(), admin.id, "demo".into(), Some(SignedDuration::from_hours(24 * 7)), now)
        .await?;
    println!(
        "demo data: {N_CASES} cases, {N_CUSTOMERS} customers, teams frontline/outbound/billing/tech/supervisors/management"
    );
    println!(
        "demo logins (password '{DEMO_PASSWORD}'): admin, ana/ben/chloe (front line), erin (billing), gus (tech), sam (supervisor), maria (manager)"
    );
    println!("admin token (valid 7 days): {}", token.secret);
    println!("try: curl -H 'Authorization: Bearer {}' 'http://{addr}/api/v1/cases?status=open&limit=5'", token.secret);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_password_meets_the_password_policy() {
        assert!(ladder_core::directory::validate_password("password", super::DEMO_PASSWORD).is_ok());
    }
}
