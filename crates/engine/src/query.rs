//! What callers read, each read checked against `core::access` for the principal asking.
//!
//! The HTTP layer reads only through these methods, never the store: every rule about who
//! sees what is [`Principal::allows`]'s, asked here.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use ladder_core::Case;
use ladder_core::access::{Action, Principal};
use ladder_core::agents::{AgentLoad, AgentProfile};
use ladder_core::directory::{Customer, Team, User};
use ladder_core::ids::{CaseId, CustomerId, TeamId, UserId};
use ladder_core::metrics::Dimension;
use ladder_store::{
    AuditEntry, AuditFilter, CaseFilter, CasePage, CustomerFilter, InsightFacts, MatrixActivation, MatrixDraft,
    MatrixVersion, MetricsRow, PageRequest, PendingApproval, QueuedCase, RuleActivityRow, StoreError, StoreStats,
    StoredEvent, StoredMessage, TeamGrouping, TokenInfo,
};

use crate::Engine;

/// The case, if there is one and the principal may read it: a case outside one's scope is
/// treated as one that does not exist.
pub(crate) fn seen(principal: &Principal, case: Option<Case>) -> Option<Case> {
    case.filter(|c| !hidden(principal, c))
}

/// Whether the case is outside the principal's scope, and so answered, for reads and
/// commands alike, as a case that does not exist.
pub(crate) fn hidden(principal: &Principal, case: &Case) -> bool {
    principal.allows(&Action::ReadCase(case)).is_err()
}

impl Engine {
    /// Refuses unless `principal` may do `action`: the one rule is `core::access`'s.
    pub fn check(&self, principal: &Principal, action: &Action) -> Result<(), StoreError> {
        principal.allows(action).map_err(StoreError::Forbidden)
    }

    /// Refuses unless `principal` may run `command` on `case` now (`core::access`'s
    /// `Principal::may`): for pages that offer only the actions one may take.
    pub fn may_command(
        &self,
        principal: &Principal,
        case: &Case,
        command: &ladder_core::command::CaseCommand,
    ) -> Result<(), StoreError> {
        principal.may(Some(case), command).map_err(StoreError::Forbidden)
    }

    // ---- cases ----

    /// A case by id, if the principal may see it. One they may not see is answered exactly
    /// like one that does not exist (404), so its existence does not leak.
    pub async fn case(&self, principal: &Principal, id: CaseId) -> Result<Case, StoreError> {
        let case = self.store.case(id).await?;
        seen(principal, case).ok_or_else(|| StoreError::NotFound(format!("case {id}")))
    }

    /// A case by number, if the principal may see it (else 404, as [`Engine::case`]).
    pub async fn case_by_number(&self, principal: &Principal, number: u64) -> Result<Case, StoreError> {
        let case = self.store.case_by_number(number).await?;
        seen(principal, case).ok_or_else(|| StoreError::NotFound(format!("case #{number}")))
    }

    /// A page of the cases the principal sees, newest first.
    pub async fn list_cases(
        &self,
        principal: &Principal,
        filter: CaseFilter,
        page: PageRequest,
    ) -> Result<CasePage, StoreError> {
        self.check(principal, &Action::ListCases)?;
        self.store.list_cases(filter, principal.case_scope(), page).await
    }

    /// A case's history (the principal must see the case).
    pub async fn case_events(&self, principal: &Principal, case: &Case) -> Result<Vec<StoredEvent>, StoreError> {
        self.check(principal, &Action::ReadCase(case))?;
        self.store.events(case.id).await
    }

    /// A case's messages (the principal must see the case).
    pub async fn case_messages(&self, principal: &Principal, case: &Case) -> Result<Vec<StoredMessage>, StoreError> {
        self.check(principal, &Action::ReadCase(case))?;
        self.store.messages(case.id).await
    }

    /// Cases by SLA standing, soonest due first, cut to the principal's scope.
    pub async fn sla_cases(
        &self,
        principal: &Principal,
        standings: Vec<String>,
        due_before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<Case>, StoreError> {
        self.check(principal, &Action::ListCases)?;
        self.store.sla_cases(standings, due_before, principal.case_scope(), limit).await
    }

    /// How many SLA timers are armed (the timer engine's state, for supervisors).
    pub async fn armed_timers(&self, principal: &Principal) -> Result<u64, StoreError> {
        self.check(principal, &Action::Supervise)?;
        self.store.armed_timers().await
    }

    /// The pending approvals the principal may decide, oldest first.
    pub async fn approval_inbox(&self, principal: &Principal, limit: u32) -> Result<Vec<PendingApproval>, StoreError> {
        if principal.allows(&Action::ApprovalsInbox).is_err() {
            return Ok(Vec::new());
        }
        let p = principal.clone();
        let (roles, teams) = principal.approval_scope();
        let keep = Box::new(move |case: &Case, approval: &_| p.allows(&Action::SeeApproval { case, approval }).is_ok());
        self.store.approval_inbox(roles, teams, limit, keep).await
    }

    /// How many cases wait for the caller's decision on an approval, up to `cap`: one
    /// counting read of the inbox's index, for the navigation (0 without an inbox).
    pub async fn approval_inbox_count(&self, principal: &Principal, cap: u32) -> Result<u64, StoreError> {
        if principal.allows(&Action::ApprovalsInbox).is_err() {
            return Ok(0);
        }
        let (roles, teams) = principal.approval_scope();
        self.store.approval_case_count(roles, teams, cap).await
    }

    /// A team's queue (its first `limit` cases in order) and its length.
    pub async fn queue(
        &self,
        principal: &Principal,
        team: &Team,
        limit: u32,
    ) -> Result<(Vec<QueuedCase>, u64), StoreError> {
        self.check(principal, &Action::WorkQueue { team: team.id })?;
        Ok((self.store.queue(team.id, limit).await?, self.store.queue_len(team.id).await?))
    }

    /// How many cases wait in a team's queue.
    pub async fn queue_length(&self, principal: &Principal, team: &Team) -> Result<u64, StoreError> {
        self.check(principal, &Action::WorkQueue { team: team.id })?;
        self.store.queue_len(team.id).await
    }

    // ---- directory ----

    /// Every team.
    pub async fn teams(&self, principal: &Principal) -> Result<Vec<Team>, StoreError> {
        self.check(principal, &Action::ReadDirectory)?;
        self.store.teams().await
    }

    /// Teams by id.
    pub async fn teams_by_id(&self, principal: &Principal) -> Result<BTreeMap<TeamId, Team>, StoreError> {
        Ok(self.teams(principal).await?.into_iter().map(|t| (t.id, t)).collect())
    }

    /// Users, or the members of one team.
    pub async fn users(&self, principal: &Principal, team: Option<TeamId>) -> Result<Vec<User>, StoreError> {
        self.check(principal, &Action::ReadDirectory)?;
        self.store.users(team).await
    }

    /// Every user's name by id.
    pub async fn user_names(&self, principal: &Principal) -> Result<BTreeMap<UserId, String>, StoreError> {
        Ok(self.users(principal, None).await?.into_iter().map(|u| (u.id, u.name)).collect())
    }

    /// A user by id, name, or `me` (the principal), for a path: a missing user is a 404.
    pub async fn user(&self, principal: &Principal, key: &str) -> Result<User, StoreError> {
        self.check(principal, &Action::ReadDirectory)?;
        let key = if key == "me" { principal.user_id.to_string() } else { key.to_string() };
        self.resolve_user("user", &key).await.map_err(|e| match e {
            StoreError::Domain(_) | StoreError::NotFound(_) => StoreError::NotFound(format!("user {key}")),
            other => other,
        })
    }

    /// A customer, if there is one with this id that the principal reaches; one outside
    /// their scope is answered as one that does not exist.
    pub async fn customer(&self, principal: &Principal, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        let reach = self.customer_reach(principal, id).await?;
        if principal.allows(&Action::ReadCustomer(&reach)).is_err() {
            return Ok(None);
        }
        self.store.customer(id).await
    }

    /// How a customer stands to the principal's case scope.
    pub(crate) async fn customer_reach(
        &self,
        principal: &Principal,
        id: CustomerId,
    ) -> Result<ladder_core::access::CustomerReach, StoreError> {
        self.store.customer_reach(id, principal.case_scope()).await
    }

    /// Customers matching `filter` that the principal reaches, a page at a time.
    pub async fn customers(
        &self,
        principal: &Principal,
        filter: CustomerFilter,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Customer>, StoreError> {
        // Everyone may list; the list is cut to what `Action::ReadCustomer` allows: every
        // customer for those whose case scope is everything.
        let scope = match principal.case_scope() {
            ladder_core::access::CaseScope::All => None,
            scope => Some(scope),
        };
        self.store.customers(filter, scope, limit, offset).await
    }

    /// The principal's tokens; an admin's list has everyone's.
    pub async fn tokens(&self, principal: &Principal) -> Result<Vec<TokenInfo>, StoreError> {
        let whose = match principal.allows(&Action::ListAllTokens) {
            Ok(()) => None,
            Err(_) => Some(principal.user_id),
        };
        self.store.tokens(whose).await
    }

    /// One token's metadata, if the principal may manage it.
    pub async fn token(&self, principal: &Principal, id: &str) -> Result<TokenInfo, StoreError> {
        let token =
            self.store.token(id.to_string()).await?.ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
        self.check(principal, &Action::ManageToken { owner: token.user_id })?;
        Ok(token)
    }

    /// The audit history of directory changes, newest first (admins).
    pub async fn audit_log(&self, principal: &Principal, filter: AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        self.check(principal, &Action::ReadAudit)?;
        self.store.audit_log(filter).await
    }

    // ---- agents ----

    /// One agent's working state (the default for someone never profiled).
    pub async fn agent(&self, principal: &Principal, user: &User) -> Result<AgentProfile, StoreError> {
        self.check(principal, &Action::SeeAgent { user })?;
        Ok(self.store.agent_profile(user.id).await?.unwrap_or_else(|| AgentProfile::default_for(user, user.created_at)))
    }

    /// The agents the principal sees, ordered by name: the members of `team`, or of their
    /// own teams and themselves (managers and admins: everyone).
    pub async fn agents(
        &self,
        principal: &Principal,
        team: Option<TeamId>,
    ) -> Result<Vec<(User, AgentProfile)>, StoreError> {
        self.check(principal, &Action::ListAgents { team })?;
        if let Some(team) = team {
            return self.store.team_agents(team).await;
        }
        let Some(teams) = principal.team_scope() else { return self.store.agents(None).await };
        let mut agents = self.store.agents(Some(teams)).await?;
        // You always see yourself, in a team or not.
        if !agents.iter().any(|(u, _)| u.id == principal.user_id)
            && let Some(me) = self.store.user(principal.user_id).await?
        {
            let profile = self.store.agent_profile(me.id).await?;
            let profile = profile.unwrap_or_else(|| AgentProfile::default_for(&me, me.created_at));
            agents.push((me, profile));
            agents.sort_by(|(a, _), (b, _)| a.name.cmp(&b.name));
        }
        Ok(agents)
    }

    /// The open work of these agents now.
    pub async fn agent_loads(
        &self,
        principal: &Principal,
        users: Vec<UserId>,
    ) -> Result<HashMap<UserId, AgentLoad>, StoreError> {
        self.check(principal, &Action::ReadDirectory)?;
        self.store.agent_loads(users).await
    }

    // ---- metrics and insights ----

    /// Escalation metrics over a period: every case for managers and admins; for a
    /// supervisor their own teams' cases, which the aggregates can give ungrouped, by team
    /// or by agent only.
    pub async fn metrics(
        &self,
        principal: &Principal,
        from: Date,
        to: Date,
        group_by: Option<Dimension>,
    ) -> Result<Vec<MetricsRow>, StoreError> {
        if principal.allows(&Action::ReadAllMetrics).is_ok() {
            return self.store.metrics(from, to, group_by).await;
        }
        self.check(principal, &Action::ReadMetrics)?;
        let grouping = match group_by {
            None => TeamGrouping::Total,
            Some(Dimension::Team) => TeamGrouping::Team,
            Some(Dimension::Agent) => TeamGrouping::Agent,
            Some(other) => {
                return Err(StoreError::Forbidden(format!(
                    "group_by={}: a supervisor sees the figures of their own teams, which can be grouped by team \
                     or agent (or not at all) but not by {}; a manager or admin sees every grouping",
                    other.as_str(),
                    other.as_str()
                )));
            }
        };
        self.store.team_metrics(from, to, grouping, principal.teams.clone()).await
    }

    /// The per-day facts the insights are computed from (managers and admins).
    pub async fn insight_facts(&self, principal: &Principal, from: Date, to: Date) -> Result<InsightFacts, StoreError> {
        self.check(principal, &Action::ReadAllMetrics)?;
        self.store.insight_facts(from, to).await
    }

    /// How often each matrix trigger happened and each rule fired, per day of the period.
    pub async fn rule_activity(
        &self,
        principal: &Principal,
        from: Date,
        to: Date,
    ) -> Result<Vec<RuleActivityRow>, StoreError> {
        self.check(principal, &Action::ReadAllMetrics)?;
        self.store.rule_activity(from, to).await
    }

    /// Cases by status, armed timers and the log's size, for the operational gauges.
    pub async fn operational_figures(
        &self,
        principal: &Principal,
    ) -> Result<(BTreeMap<String, u64>, u64, StoreStats), StoreError> {
        self.check(principal, &Action::ReadAllMetrics)?;
        Ok((self.store.cases_by_status().await?, self.store.armed_timers().await?, self.store.stats().await?))
    }

    // ---- the matrix ----

    /// The saved drafts.
    pub async fn matrix_drafts(&self, principal: &Principal) -> Result<Vec<MatrixDraft>, StoreError> {
        self.check(principal, &Action::ReadMatrixDrafts)?;
        self.store.matrix_drafts().await
    }

    /// One saved draft (404 when there is none).
    pub async fn matrix_draft(&self, principal: &Principal, name: &str) -> Result<MatrixDraft, StoreError> {
        self.check(principal, &Action::ReadMatrixDrafts)?;
        self.store
            .matrix_draft(name.to_string())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("matrix draft '{name}'")))
    }

    /// Every version, oldest first.
    pub async fn matrix_versions(&self, principal: &Principal) -> Result<Vec<MatrixVersion>, StoreError> {
        self.check(principal, &Action::ReadDirectory)?;
        self.store.matrix_versions().await
    }

    /// One version (404 when there is none).
    pub async fn matrix_version(&self, principal: &Principal, version: u32) -> Result<MatrixVersion, StoreError> {
        self.check(principal, &Action::ReadDirectory)?;
        self.store
            .matrix_version(version)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("matrix version {version}")))
    }

    /// The version in force, if any.
    pub async fn matrix_in_force(&self, principal: &Principal) -> Result<Option<MatrixVersion>, StoreError> {
        self.check(principal, &Action::ReadDirectory)?;
        self.store.active_matrix().await
    }

    /// Every activation and rollback, oldest first.
    pub async fn matrix_activations(&self, principal: &Principal) -> Result<Vec<MatrixActivation>, StoreError> {
        self.check(principal, &Action::ReadMatrixDrafts)?;
        self.store.matrix_activations().await
    }
}
