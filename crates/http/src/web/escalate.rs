//! The case page's escalate panel. It offers only what the escalation accepts: levels above
//! the case's, the teams that work them (grouped by level; with JavaScript only the chosen
//! level's, the team the engine would choose preselected), the skills the receiving team
//! must offer (the engine then chooses the team), and the people of those teams picked from
//! a list with their presence and open cases — including teams the viewer is not in, as
//! `core::access` lets whoever may escalate the case see them
//! (`Action::SeeEscalationTargets`). What the form posts is the API's escalate body
//! (`ladder_engine::Escalation`).

use ladder_core::Case;
use ladder_core::command::TargetTeam;
use ladder_core::directory::{LevelId, Team};
use ladder_engine::EscalationOptions;
use maud::{Markup, html};

use super::WebResult;
use super::forms::{FormState, selected, text_area};
use super::layout::csrf_field;
use super::session::Session;
use crate::AppState;

/// What the ladder suggests for a hierarchical escalation with no team named.
enum Suggestion {
    Team(String),
    Choose(Vec<String>),
    None,
}

/// Whether skill `s` was ticked in the refused form (the `skills` field may come several
/// times).
fn skill_ticked(form: FormState, s: &str) -> bool {
    form.values("skills").any(|v| v == s)
}

/// The `details #escalate` panel of the case page. `level_name` shows a level as the matrix
/// names it.
pub(super) async fn panel(
    state: &AppState,
    session: &Session,
    case: &Case,
    level_name: &(dyn Fn(&LevelId) -> String + Sync),
    form: FormState<'_>,
) -> WebResult<Markup> {
    // Offered only to who may escalate the case (a follower reads it, and sees no panel).
    let options = match state.engine.escalation_options_for(&session.principal, case).await {
        Ok(options) => options,
        Err(ladder_engine::StoreError::Forbidden(_)) => return Ok(html! {}),
        Err(e) => return Err(e.into()),
    };
    let EscalationOptions { levels: above, teams: targets, people, skills, suggested } = options;
    let next = above.first();
    let suggestion = match suggested {
        TargetTeam::One(t, _) => Suggestion::Team(t.slug),
        TargetTeam::Several(c) => Suggestion::Choose(c.into_iter().map(|c| c.name).collect()),
        TargetTeam::NoTeam => Suggestion::None,
    };
    let preselected = match &suggestion {
        Suggestion::Team(slug) => Some(slug.as_str()),
        _ => None,
    };
    let targets: Vec<&Team> = targets.iter().collect();
    let action = format!("/cases/{}/escalate", case.number);
    let articles = super::articles::before_escalating(state, session, case).await?;
    Ok(html! {
        details #escalate open[form.refused()] {
            summary { "Escalate" }
            (articles)
            @match (next, &suggestion) {
                (Some(l), Suggestion::Team(slug)) => p.suggestion {
                    "The ladder suggests " strong { (level_name(l)) } ", team "
                    strong { (team_name(&targets, slug)) }
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
                        optgroup label=(level_name(l)) data-level=(l.0) {
                            @for t in targets.iter().filter(|t| &t.level == l) {
                                option value=(t.slug) selected[selected(form, "to_team", &t.slug, preselected == Some(t.slug.as_str()))] {
                                    (t.name)
                                    @if !t.skills.is_empty() { " — " (t.skills.join(", ")) }
                                }
                            }
                        }
                    }
                }
                fieldset #esc-skills {
                    legend { "Skills needed (optional)" }
                    p.hint { "Tick the skills the receiving team must offer and leave the team to the ladder: it picks the team that offers them all, preferring people available with room." }
                    @for s in &skills {
                        label.inline { input type="checkbox" name="skills" value=(s) checked[skill_ticked(form, s)]; " " (s) }
                    }
                }
                label for="esc-user" { "To person (optional)" }
                select #esc-user name="to_user" {
                    option value="" { "Nobody in particular (the team's queue)" }
                    @for l in &above {
                        optgroup label=(level_name(l)) data-level=(l.0) {
                            @for person in people.iter().filter(|p| &p.level == l) {
                                option value=(person.name) data-level=(l.0) selected[selected(form, "to_user", &person.name, false)] {
                                    (person.display_name) " (" (person.name) ") · " (person.role.as_str()) ", "
                                    (team_name(&targets, &person.team)) " · " (person.presence.as_str())
                                    @if person.presence.takes_new_work() && !person.has_room { " (full)" }
                                    " · " (person.open_cases) " open"
                                }
                            }
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

/// A team's name by slug, among the teams offered.
fn team_name<'t>(teams: &[&'t Team], slug: &'t str) -> &'t str {
    teams.iter().find(|t| t.slug == slug).map_or(slug, |t| t.name.as_str())
}
