//! The case page's escalate panel. It offers only what the escalation accepts: levels above
//! the case's, the teams that work them (grouped by level, the team the engine would choose
//! preselected), the people of those teams picked from a list with their open cases (and
//! their presence where `core::access` lets the viewer see it), and a skill the receiving
//! team must offer. What the form posts is the API's escalate body
//! (`ladder_engine::Escalation`).

use std::collections::{BTreeMap, BTreeSet};

use ladder_core::Case;
use ladder_core::access::Action;
use ladder_core::command::TargetTeam;
use ladder_core::directory::{LevelId, Role, Team};
use ladder_core::event::EscalationKind;
use ladder_core::ids::{TeamId, UserId};
use maud::{Markup, html};

use super::WebResult;
use super::forms::{FormState, selected, text_area};
use super::layout::csrf_field;
use super::session::Session;
use crate::AppState;

/// A person the case may be escalated to, as the list shows them.
struct Person {
    id: UserId,
    name: String,
    role: Role,
    team: String,
    /// `None` when the viewer may not see it.
    presence: Option<&'static str>,
    open_cases: u32,
}

/// What the ladder suggests for a hierarchical escalation with no team named.
enum Suggestion {
    Team(String),
    Choose(Vec<String>),
    None,
}

/// The `details #escalate` panel of the case page. `level_name` shows a level as the matrix
/// names it.
pub(super) async fn panel(
    state: &AppState,
    session: &Session,
    case: &Case,
    teams: &BTreeMap<TeamId, Team>,
    level_name: &(dyn Fn(&LevelId) -> String + Sync),
    form: FormState<'_>,
) -> WebResult<Markup> {
    let ladder = state.engine.ladder();
    let above: Vec<LevelId> = match ladder.rank(&case.level) {
        Some(r) => ladder.levels[r + 1..].to_vec(),
        None => Vec::new(),
    };
    let next = above.first();
    let suggestion = match next {
        Some(level) => match state.engine.escalation_target(case, level, EscalationKind::Hierarchical, None).await? {
            TargetTeam::One(t) => Suggestion::Team(t.slug),
            TargetTeam::Several(c) => Suggestion::Choose(c.into_iter().map(|c| c.name).collect()),
            TargetTeam::NoTeam => Suggestion::None,
        },
        None => Suggestion::None,
    };
    let preselected = match &suggestion {
        Suggestion::Team(slug) => Some(slug.as_str()),
        _ => None,
    };
    let targets: Vec<&Team> = teams.values().filter(|t| above.contains(&t.level)).collect();
    let skills: BTreeSet<&str> = targets.iter().flat_map(|t| t.skills.iter().map(String::as_str)).collect();
    let people = people(state, session, &targets).await?;
    let action = format!("/cases/{}/escalate", case.number);
    let articles = super::articles::before_escalating(state, session, case).await?;
    Ok(html! {
        details #escalate open[form.refused()] {
            summary { "Escalate" }
            (articles)
            @match (next, &suggestion) {
                (Some(l), Suggestion::Team(slug)) => p.suggestion {
                    "The ladder suggests " strong { (level_name(l)) } ", team "
                    strong { (teams.values().find(|t| &t.slug == slug).map_or(slug.as_str(), |t| t.name.as_str())) }
                    " (preselected)."
                },
                (Some(l), Suggestion::Choose(names)) => p.suggestion {
                    "The ladder suggests " strong { (level_name(l)) } "; several teams work it ("
                    (names.join(", ")) "): choose one."
                },
                (Some(l), Suggestion::None) => p.suggestion { "The ladder suggests " strong { (level_name(l)) } "." },
                (None, _) => p.suggestion {
                    "The case is on the top level; a functional escalation moves it to another team."
                },
            }
            form method="post" action=(action) {
                (csrf_field(session))
                fieldset {
                    legend { "Kind" }
                    label.inline { input type="radio" name="kind" value="hierarchical" checked[selected(form, "kind", "hierarchical", true)]; " Hierarchical (more authority)" }
                    label.inline { input type="radio" name="kind" value="functional" checked[selected(form, "kind", "functional", false)]; " Functional (a team with the skill)" }
                }
                label for="esc-initiator" { "Who asked" }
                select #esc-initiator name="initiator" {
                    option value="agent" selected[selected(form, "initiator", "agent", true)] { "I did" }
                    option value="customer" selected[selected(form, "initiator", "customer", false)] { "The customer asked" }
                }
                label for="esc-level" { "To level" }
                select #esc-level name="to_level" {
                    option value="" { "Default (the team's level, else the next level up)" }
                    @for l in &above { option value=(l.0) selected[selected(form, "to_level", &l.0, false)] { (level_name(l)) } }
                }
                label for="esc-team" { "To team" }
                select #esc-team name="to_team" {
                    option value="" selected[selected(form, "to_team", "", preselected.is_none())] { "Choose by skill or the case's category" }
                    @for l in &above {
                        optgroup label=(level_name(l)) {
                            @for t in targets.iter().filter(|t| &t.level == l) {
                                option value=(t.slug) selected[selected(form, "to_team", &t.slug, preselected == Some(t.slug.as_str()))] {
                                    (t.name)
                                    @if !t.skills.is_empty() { " — " (t.skills.join(", ")) }
                                }
                            }
                        }
                    }
                }
                label for="esc-skill" { "Skill needed (optional)" }
                select #esc-skill name="skill" {
                    option value="" { "Any" }
                    @for s in &skills { option value=(s) selected[selected(form, "skill", s, false)] { (s) } }
                }
                label for="esc-user" { "To person (optional)" }
                select #esc-user name="to_user" {
                    option value="" { "Nobody in particular (the team's queue)" }
                    @for person in &people {
                        option value=(person.name) selected[selected(form, "to_user", &person.name, false)] {
                            (person.name) " · " (person.role.as_str()) ", " (person.team) " · "
                            (person.presence.unwrap_or("presence hidden")) " · " (person.open_cases) " open"
                        }
                    }
                }
                (text_area(form, "esc-reason", "reason", "Reason", 2, true))
                (text_area(form, "esc-tried", "tried", "What was tried", 2, true))
                button type="submit" { "Escalate" }
            }
        }
    })
}

/// The people of `targets`, by name, with their open cases; their presence when the viewer
/// may list the team's agents.
async fn people(state: &AppState, session: &Session, targets: &[&Team]) -> WebResult<Vec<Person>> {
    let p = &session.principal;
    let mut people: BTreeMap<String, Person> = BTreeMap::new();
    for team in targets {
        let members: Vec<(ladder_core::directory::User, Option<&'static str>)> =
            if p.allows(&Action::ListAgents { team: Some(team.id) }).is_ok() {
                state
                    .engine
                    .agents(p, Some(team.id))
                    .await?
                    .into_iter()
                    .map(|(u, profile)| (u, Some(profile.presence.as_str())))
                    .collect()
            } else {
                state.engine.users(p, Some(team.id)).await?.into_iter().map(|u| (u, None)).collect()
            };
        for (u, presence) in members.into_iter().filter(|(u, _)| u.active) {
            people.entry(u.name.clone()).or_insert(Person {
                id: u.id,
                name: u.name,
                role: u.role,
                team: team.name.clone(),
                presence,
                open_cases: 0,
            });
        }
    }
    let loads = state.engine.agent_loads(p, people.values().map(|person| person.id).collect()).await?;
    for person in people.values_mut() {
        person.open_cases = loads.get(&person.id).map_or(0, |l| l.total());
    }
    Ok(people.into_values().collect())
}
