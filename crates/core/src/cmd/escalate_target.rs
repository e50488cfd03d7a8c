//! Where an escalation goes when the caller names neither team nor person: the route for
//! the case at the target level ([`target_team`]) and, for an escalation by skill, the team
//! whose skills cover what is needed, preferring the one with people available and room to
//! take the case ([`choose_by_skill`], [`functional_target`]). Pure: the engine reads the
//! teams, the matrix's lists and each team's staffing before deciding.

use std::collections::BTreeMap;

use crate::command::TeamRef;
use crate::directory::{LevelId, Team, TeamKind};
use crate::error::{DomainError, TeamChoice};
use crate::event::{EscalationKind, TeamChosen, TeamScore};
use crate::ids::TeamId;

/// Most skills one escalation may ask for.
pub const MAX_SKILLS_ASKED: usize = 20;
/// Free slots count towards a team's score up to this many.
pub const MAX_SPARE_COUNTED: u32 = 50;

/// The team an escalation to a level goes to when the caller names neither team nor person.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetTeam {
    /// This team is the route; with how it was chosen when skills chose it.
    One(TeamRef, Option<TeamChosen>),
    /// Several teams remain and nothing tells them apart.
    Several(Vec<TeamChoice>),
    /// No team works the level.
    NoTeam,
}

/// How a team stands now for one more case, as the choice by skill weighs it: read from
/// its members' presence, capacity and load on the case's channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeamStaffing {
    /// Active members.
    pub members: u32,
    /// Members whose presence takes new work and who have room on the channel.
    pub available: u32,
    /// The free slots of those members on the channel.
    pub spare: u32,
}

impl TeamStaffing {
    /// 10 per member available with room, plus 1 per free slot up to
    /// [`MAX_SPARE_COUNTED`]: someone to take the case now counts for more than room.
    pub fn score(self) -> u32 {
        self.available.saturating_mul(10).saturating_add(self.spare.min(MAX_SPARE_COUNTED))
    }

    fn describe(self) -> String {
        if self.members == 0 {
            "nobody in the team".into()
        } else if self.available == 0 {
            format!("nobody of {} available with room", self.members)
        } else {
            format!("{} of {} available with room, {} free slots", self.available, self.members, self.spare)
        }
    }
}

/// What the choice knows of the directory: the teams, the matrix's `levels[].teams` by
/// level (empty without a matrix), and each team's staffing (a team missing is unstaffed).
#[derive(Debug, Clone, Copy)]
pub struct TeamsNow<'a> {
    pub teams: &'a [Team],
    pub listed: &'a BTreeMap<LevelId, Vec<String>>,
    pub staffing: &'a BTreeMap<TeamId, TeamStaffing>,
}

impl TeamsNow<'_> {
    /// The teams that work `level`: only those the matrix lists for it when it lists any
    /// of them.
    pub fn at(&self, level: &LevelId) -> Vec<&Team> {
        let at_level: Vec<&Team> = self.teams.iter().filter(|t| &t.level == level).collect();
        let listed = self.listed.get(level).map(Vec::as_slice).unwrap_or_default();
        let chosen: Vec<&Team> = at_level.iter().copied().filter(|t| listed.contains(&t.slug)).collect();
        if chosen.is_empty() { at_level } else { chosen }
    }

    fn staffing_of(&self, team: &Team) -> TeamStaffing {
        self.staffing.get(&team.id).copied().unwrap_or_default()
    }
}

/// The skills a receiving team must offer, where they came from (recorded as
/// [`TeamChosen::source`]) and the request field a refusal names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillsWanted {
    pub skills: Vec<String>,
    pub source: String,
    pub field: &'static str,
}

impl SkillsWanted {
    /// Skills the caller asked for in `field`.
    pub fn asked(field: &'static str, skills: Vec<String>) -> SkillsWanted {
        SkillsWanted { skills, source: "asked".into(), field }
    }
}

fn covers(team: &Team, skills: &[String]) -> bool {
    skills.iter().all(|s| team.skills.contains(s))
}

fn quoted(skills: &[String]) -> String {
    skills.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

fn team_ref(t: &Team) -> TeamRef {
    TeamRef { id: t.id, slug: t.slug.clone(), level: t.level.clone() }
}

/// Among `candidates` (teams of one level), the team whose skills cover every wanted skill,
/// preferring people available with room ([`TeamStaffing::score`]); a tie goes to the most
/// specialised team (fewest skills besides), then by slug. Every candidate is weighed and
/// recorded, best first. `None` when no candidate covers the skills.
pub fn choose_by_skill(candidates: &[&Team], wanted: &SkillsWanted, now: &TeamsNow) -> Option<(TeamRef, TeamChosen)> {
    let mut weighed: Vec<(&Team, TeamScore)> = candidates
        .iter()
        .map(|t| {
            let score = if covers(t, &wanted.skills) {
                let s = now.staffing_of(t);
                TeamScore { team: t.slug.clone(), covers: true, score: s.score(), reason: s.describe() }
            } else {
                let missing: Vec<String> = wanted.skills.iter().filter(|s| !t.skills.contains(s)).cloned().collect();
                TeamScore {
                    team: t.slug.clone(),
                    covers: false,
                    score: 0,
                    reason: format!("lacks {}", quoted(&missing)),
                }
            };
            (*t, score)
        })
        .collect();
    weighed.sort_by(|(ta, a), (tb, b)| {
        b.covers
            .cmp(&a.covers)
            .then(b.score.cmp(&a.score))
            .then(ta.skills.len().cmp(&tb.skills.len()))
            .then(ta.slug.cmp(&tb.slug))
    });
    let (best, best_score) = weighed.first().filter(|(_, s)| s.covers)?;
    let covering: Vec<&(&Team, TeamScore)> = weighed.iter().filter(|(_, s)| s.covers).collect();
    let what = quoted(&wanted.skills);
    let reason = match covering.as_slice() {
        [_] => format!("the only team at {} that offers {what}", best.level),
        [_, second, ..] if second.1.score == best_score.score => format!(
            "{} teams at {} offer {what}, tied on availability (score {}): the most specialised",
            covering.len(),
            best.level,
            best_score.score
        ),
        _ => format!(
            "{} teams at {} offer {what}: the most available ({}, score {})",
            covering.len(),
            best.level,
            best_score.reason,
            best_score.score
        ),
    };
    let chosen = TeamChosen {
        skills: wanted.skills.clone(),
        source: wanted.source.clone(),
        team: best.slug.clone(),
        reason,
        candidates: weighed.iter().map(|(_, s)| s.clone()).collect(),
    };
    Some((team_ref(best), chosen))
}

/// The refusal when no team of `levels` covers the wanted skills: it names the skill
/// nobody offers, or says no one team offers them all together.
fn no_team_offers(wanted: &SkillsWanted, teams: &[&Team], levels: &[LevelId]) -> DomainError {
    let levels = levels.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join(" or ");
    let missing: Vec<String> =
        wanted.skills.iter().filter(|s| !teams.iter().any(|t| t.skills.contains(s))).cloned().collect();
    let message = match missing.as_slice() {
        [one] => format!("no team at {levels} offers the skill '{one}'"),
        [] => format!(
            "no one team at {levels} offers all of {} together; ask for fewer skills or name the team in to_team",
            quoted(&wanted.skills)
        ),
        several => format!("no team at {levels} offers the skills {}", quoted(several)),
    };
    DomainError::invalid(wanted.field, message)
}

/// Chooses the team an escalation to `level` goes to, when the caller names neither team
/// nor person. The candidates are the teams that work `level` ([`TeamsNow::at`]). Each step
/// below narrows them, but only when it leaves at least one; the first to leave exactly one
/// decides:
///
/// 1. the skills the caller asked for (`wanted`): a candidate must offer every one —
///    refused, naming the skill, when none does;
/// 2. a hierarchical escalation asks for authority: the management teams;
/// 3. with skills asked, the choice by skill among those left ([`choose_by_skill`]:
///    presence and capacity), which always decides;
/// 4. else the case's category, among the teams' skills.
///
/// One team at the level is that team; several left after every step are
/// [`TargetTeam::Several`], for the caller to choose.
pub fn target_team(
    now: &TeamsNow,
    level: &LevelId,
    kind: EscalationKind,
    wanted: Option<&SkillsWanted>,
    category: Option<&str>,
) -> Result<TargetTeam, DomainError> {
    let mut left = now.at(level);
    if left.is_empty() {
        return Ok(TargetTeam::NoTeam);
    }
    let wanted = wanted.filter(|w| !w.skills.is_empty());
    if let Some(w) = wanted {
        let all = left.clone();
        left.retain(|t| covers(t, &w.skills));
        if left.is_empty() {
            return Err(no_team_offers(w, &all, std::slice::from_ref(level)));
        }
    }
    // Narrows to the teams that pass, unless none does.
    let narrow = |left: &mut Vec<&Team>, keep: &dyn Fn(&Team) -> bool| {
        if left.iter().any(|t| keep(t)) {
            left.retain(|t| keep(t));
        }
    };
    if kind == EscalationKind::Hierarchical && left.len() > 1 {
        narrow(&mut left, &|t| t.kind == TeamKind::Management);
    }
    if let Some(w) = wanted {
        return Ok(match choose_by_skill(&left, w, now) {
            Some((team, chosen)) => TargetTeam::One(team, Some(chosen)),
            None => TargetTeam::NoTeam,
        });
    }
    if let Some(c) = category
        && left.len() > 1
    {
        narrow(&mut left, &|t| t.skills.iter().any(|k| k == c));
    }
    Ok(match left.as_slice() {
        [one] => TargetTeam::One(team_ref(one), None),
        several => TargetTeam::Several(
            several.iter().map(|t| TeamChoice { team: t.slug.clone(), name: t.name.clone() }).collect(),
        ),
    })
}

/// The team a functional escalation by skill goes to: the first of `levels` (the level
/// asked for, else the levels above the case's, lowest first, then the case's own) with a
/// team other than the case's own (`current`) whose skills cover `wanted`, chosen there by
/// [`choose_by_skill`]. Refused, naming the missing skill, when no such team works any of
/// them.
pub fn functional_target(
    now: &TeamsNow,
    levels: &[LevelId],
    current: Option<TeamId>,
    wanted: &SkillsWanted,
) -> Result<(TeamRef, TeamChosen), DomainError> {
    let mut seen: Vec<&Team> = Vec::new();
    for level in levels {
        let candidates: Vec<&Team> = now.at(level).into_iter().filter(|t| Some(t.id) != current).collect();
        if let Some(found) = choose_by_skill(&candidates, wanted, now) {
            return Ok(found);
        }
        seen.extend(candidates);
    }
    Err(no_team_offers(wanted, &seen, levels))
}

/// What a functional escalation that names no team, person or skill goes by, in order:
/// the team the matrix routes the case to (`route`: a rule's name and team slug, from
/// [`crate::matrix::route_for`]) when it works one of `levels` and is not the case's own;
/// else the case's category, when a team of `levels` offers it as a skill. `None`: nothing
/// says where the case should go.
pub fn inferred_target(
    now: &TeamsNow,
    levels: &[LevelId],
    current: Option<TeamId>,
    route: Option<(&str, &str)>,
    category: Option<&str>,
) -> Option<Result<(TeamRef, TeamChosen), DomainError>> {
    if let Some((rule, slug)) = route
        && let Some(team) = now.teams.iter().find(|t| t.slug == slug && levels.contains(&t.level))
        && Some(team.id) != current
    {
        let chosen = TeamChosen {
            skills: Vec::new(),
            source: format!("rule \"{rule}\""),
            team: team.slug.clone(),
            reason: format!("the matrix routes the case to {} (rule \"{rule}\")", team.slug),
            candidates: Vec::new(),
        };
        return Some(Ok((team_ref(team), chosen)));
    }
    let category = category?;
    let offered =
        levels.iter().flat_map(|l| now.at(l)).any(|t| Some(t.id) != current && t.skills.iter().any(|s| s == category));
    if !offered {
        return None;
    }
    let wanted = SkillsWanted { skills: vec![category.to_string()], source: "category".into(), field: "to_team" };
    Some(functional_target(now, levels, current, &wanted))
}
