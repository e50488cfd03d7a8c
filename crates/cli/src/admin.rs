//! Administration helpers shared by `ladder admin …` and the demo seeder: engine commands
//! run as the operator at the command line, so they are in the audit history.

use anyhow::{Context, bail};
use ladder_core::Role;
use ladder_core::directory::{LevelId, Team, TeamKind, User, validate_team, validate_user};
use ladder_core::ids::{TeamId, UserId};
use ladder_engine::{Engine, Password, command_line_principal};

pub async fn create_user(
    engine: &Engine,
    name: &str,
    role: Role,
    teams: &[String],
    password: Option<String>,
) -> anyhow::Result<User> {
    let mut team_ids = Vec::new();
    let mut levels = Vec::new();
    for t in teams {
        let team = engine.resolve_team("team", t).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        team_ids.push(team.id);
        if !levels.contains(&team.level) {
            levels.push(team.level.clone());
        }
    }
    let user = User {
        id: UserId::new_v7(),
        name: name.to_string(),
        display_name: name.to_string(),
        email: None,
        role,
        teams: team_ids,
        skills: Vec::new(),
        levels,
        active: true,
        created_at: jiff::Timestamp::now(),
    };
    validate_user(&user, &engine.ladder()).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(Err(e)) = password.as_deref().map(|p| ladder_core::directory::validate_password("password", p)) {
        bail!("{e}");
    }
    let now = jiff::Timestamp::now();
    engine
        .create_user(&command_line_principal(), user, password.map(Password::Plain), None, now)
        .await
        .context("creating the user")
}

pub fn parse_kind(kind: &str) -> anyhow::Result<TeamKind> {
    serde_json::from_value(serde_json::Value::String(kind.to_string())).with_context(|| {
        format!("unknown team kind '{kind}'; use front_line, specialist, back_office, outbound, management or on_call")
    })
}

pub async fn create_team(
    engine: &Engine,
    slug: &str,
    name: Option<&str>,
    level: &str,
    kind: &str,
) -> anyhow::Result<Team> {
    let team = Team {
        id: TeamId::new_v7(),
        slug: slug.to_string(),
        name: name.unwrap_or(slug).to_string(),
        level: LevelId::new(level),
        kind: parse_kind(kind)?,
        skills: Vec::new(),
        created_at: jiff::Timestamp::now(),
    };
    validate_team(&team, &engine.ladder()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = jiff::Timestamp::now();
    engine.create_team(&command_line_principal(), team, None, now).await.context("creating the team")
}

/// The most ownerless cases `ladder admin doctor` lists.
const DOCTOR_LIMIT: u32 = 1_000;

/// Active cases with no team and nobody assigned, oldest first.
pub async fn doctor(store: &ladder_store::Store) -> anyhow::Result<Vec<ladder_core::Case>> {
    store.ownerless_cases(DOCTOR_LIMIT).await.context("reading the cases")
}

/// The doctor's findings in words, one case a line, with what to do about them.
pub fn doctor_text(found: &[ladder_core::Case]) -> String {
    if found.is_empty() {
        return "no problems found: every active case has a team or a person\n".to_string();
    }
    let mut out = format!("{} active case(s) with no team and nobody assigned:\n", found.len());
    for c in found {
        out.push_str(&format!("  #{} at {} ({}): {}\n", c.number, c.level, c.status.as_str(), c.subject));
    }
    out.push_str("give each a team: transfer it, or escalate or de-escalate it naming to_team\n");
    out
}

/// The doctor's findings as JSON: `{"ownerless_cases": [{number, id, level, status, subject}]}`.
pub fn doctor_json(found: &[ladder_core::Case]) -> String {
    let cases: Vec<serde_json::Value> = found
        .iter()
        .map(|c| {
            serde_json::json!({
                "number": c.number,
                "id": c.id.to_string(),
                "level": c.level.as_str(),
                "status": c.status.as_str(),
                "subject": c.subject,
            })
        })
        .collect();
    format!("{}\n", serde_json::json!({ "ownerless_cases": cases }))
}
