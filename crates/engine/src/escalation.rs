//! What an escalation of a case may choose from, as the escalate dialog and
//! `GET /api/v1/cases/{id}/escalation-targets` offer it: the levels above the case's, the
//! teams that work them with their skills, the people of those teams with their presence
//! and load (`Action::SeeEscalationTargets`), and the team the ladder would choose.

use std::collections::BTreeSet;

use ladder_core::Case;
use ladder_core::access::{Action, Principal};
use ladder_core::agents::Presence;
use ladder_core::command::TargetTeam;
use ladder_core::directory::{LevelId, Role, Team};
use ladder_core::event::EscalationKind;
use ladder_core::ids::{CaseId, UserId};
use ladder_store::StoreError;

use crate::Engine;

/// One person an escalation may be addressed to.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationPerson {
    pub id: UserId,
    pub name: String,
    pub display_name: String,
    pub role: Role,
    /// The team (slug) through which they work the target level, and that level.
    pub team: String,
    pub level: LevelId,
    pub presence: Presence,
    /// Active cases assigned to them now, on every channel.
    pub open_cases: u32,
    /// Whether they take new work now (available) and have room on the case's channel.
    pub has_room: bool,
}

/// What an escalation of one case may choose from.
#[derive(Debug, Clone, PartialEq)]
pub struct EscalationOptions {
    /// The levels above the case's, lowest first.
    pub levels: Vec<LevelId>,
    /// The teams of those levels (the matrix's list for a level, when it lists any).
    pub teams: Vec<Team>,
    /// Their active people, each once (through their first team of the lowest level), by
    /// level then name.
    pub people: Vec<EscalationPerson>,
    /// Every skill those teams offer, sorted.
    pub skills: Vec<String>,
    /// The route of a hierarchical escalation to the next level up with nothing named.
    pub suggested: TargetTeam,
}

impl Engine {
    /// What `principal` may choose from to escalate case `id`: refused (403) unless they
    /// may see who could take it (`Action::SeeEscalationTargets`, asked for every team
    /// offered), 404 when they cannot see the case.
    pub async fn escalation_options(&self, principal: &Principal, id: CaseId) -> Result<EscalationOptions, StoreError> {
        let case = self.case(principal, id).await?;
        self.escalation_options_for(principal, &case).await
    }

    /// [`Engine::escalation_options`] for a case already read for `principal`.
    pub async fn escalation_options_for(
        &self,
        principal: &Principal,
        case: &Case,
    ) -> Result<EscalationOptions, StoreError> {
        let ladder = self.ladder();
        let levels: Vec<LevelId> = match ladder.rank(&case.level) {
            Some(r) => ladder.levels[r + 1..].to_vec(),
            None => Vec::new(),
        };
        let (all, listed, staffing) = self.teams_now(case.channel).await?;
        let now = ladder_core::command::TeamsNow { teams: &all, listed: &listed, staffing: &staffing };
        let teams: Vec<Team> = levels.iter().flat_map(|l| now.at(l)).cloned().collect();
        // The rule is asked for every team offered (on a case one does not work, it
        // refuses them all, and so the whole answer); with no level above, nothing is
        // offered and there is nothing to ask.
        let mut people: Vec<EscalationPerson> = Vec::new();
        for team in &teams {
            self.check(principal, &Action::SeeEscalationTargets { case, team, ladder: &ladder })?;
            let members = self.store.team_agents(team.id).await?;
            let loads = self.store.agent_loads(members.iter().map(|(u, _)| u.id).collect()).await?;
            for (user, profile) in members.into_iter().filter(|(u, _)| u.active) {
                if people.iter().any(|p| p.id == user.id) {
                    continue;
                }
                let load = loads.get(&user.id);
                let spare = load.map_or(profile.capacity_for(case.channel), |l| l.spare(&profile, case.channel));
                people.push(EscalationPerson {
                    id: user.id,
                    name: user.name,
                    display_name: user.display_name,
                    role: user.role,
                    team: team.slug.clone(),
                    level: team.level.clone(),
                    presence: profile.presence,
                    open_cases: load.map_or(0, |l| l.total()),
                    has_room: profile.presence.takes_new_work() && spare > 0,
                });
            }
        }
        people.sort_by(|a, b| ladder.rank(&a.level).cmp(&ladder.rank(&b.level)).then(a.name.cmp(&b.name)));
        let skills: BTreeSet<String> = teams.iter().flat_map(|t| t.skills.iter().cloned()).collect();
        let suggested = match levels.first() {
            Some(next) => ladder_core::command::target_team(
                &now,
                next,
                EscalationKind::Hierarchical,
                None,
                case.category.as_deref(),
            )?,
            None => TargetTeam::NoTeam,
        };
        Ok(EscalationOptions { levels, teams, people, skills: skills.into_iter().collect(), suggested })
    }
}
