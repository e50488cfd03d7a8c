//! `/api/v1/insights`: "revise the rules" suggestions with their evidence. The store gathers
//! facts about the cases opened in the period, the matrix in force supplies limits, rules
//! and calendars, and the pure detectors of [`ladder_core::insights`] decide.

use axum::Json;
use axum::extract::{Query, State};
use ladder_core::access::Action;
use ladder_core::access::Principal;
use ladder_core::insights::{self, ApprovalRequest, PeerFigures, PeerGroup, RuleActivity, Suggestion};
use ladder_core::metrics::Dimension;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::error::{ApiResult, Problem};
use crate::extract::Auth;
use crate::metrics::MetricsRowDto;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(insights))
}

/// The period defaults to the 30 UTC days ending today.

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InsightsQuery {
    /// First UTC day of the cases' opening, `YYYY-MM-DD` (default: 29 days before `to`).
    #[param(format = Date, pattern = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}$")]
    from: Option<String>,
    /// Last UTC day, inclusive, `YYYY-MM-DD` (default: today).
    #[param(format = Date, pattern = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}$")]
    to: Option<String>,
}

/// Suggestions over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct InsightsDto {
    pub from: String,
    pub to: String,
    pub suggestions: Vec<SuggestionDto>,
    /// What knowledge articles changed, and the categories that need one.
    pub knowledge: crate::dto::KnowledgeDto,
}

/// One suggestion to revise the rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionDto {
    /// `move_down`, `limit_margin`, `outlier`, `rule_never_fires`, `rule_always_fires` or
    /// `breached_out_of_hours`.
    pub kind: String,
    /// One sentence saying what was seen.
    pub title: String,
    /// The figures behind it (counts, rates as fractions 0–1, durations in seconds,
    /// amounts) and `example_cases`, a few case numbers.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Map<String, serde_json::Value>,
    /// What to change.
    pub suggestion: String,
}

impl From<Suggestion> for SuggestionDto {
    fn from(s: Suggestion) -> Self {
        let mut evidence = serde_json::Map::new();
        for (name, value) in s.figures {
            let value = if value.fract() == 0.0 && value.abs() < 1e15 {
                serde_json::Value::from(value as i64)
            } else {
                serde_json::Value::from(value)
            };
            evidence.insert(name.to_string(), value);
        }
        evidence.insert("example_cases".into(), serde_json::Value::from(s.examples));
        SuggestionDto { kind: s.kind.as_str().to_string(), title: s.title, evidence, suggestion: s.suggestion }
    }
}

/// "Revise the rules" suggestions over the cases opened in a period (UTC days, inclusive):
/// categories to move down to Tier 1, authority limits exceeded by a small margin, agents
/// and teams whose escalation rate stands out, rules (of every trigger) that never or always
/// fire — counted over the days the triggers happened, not the cases' opening days — and
/// levels whose 24x7 clocks breach mostly out of hours. Managers and admins.
#[utoipa::path(get, path = "/api/v1/insights", tag = "metrics", params(InsightsQuery),
    responses((status = 200, body = InsightsDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn insights(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<InsightsQuery>,
) -> ApiResult<Json<InsightsDto>> {
    state.engine.check(&auth.0, &Action::ReadAllMetrics)?;
    let principal = &auth.0;
    let now = state.engine.now();
    let (from, to) = crate::metrics::period(q.from.as_deref(), q.to.as_deref(), now)?;
    let agents = crate::metrics::rows(&state, principal, from, to, Some(Dimension::Agent), now).await?;
    let teams = crate::metrics::rows(&state, principal, from, to, Some(Dimension::Team), now).await?;
    Ok(Json(InsightsDto {
        from: from.to_string(),
        to: to.to_string(),
        suggestions: suggestions(&state, principal, from, to, &peers(&agents), &peers(&teams)).await?,
        knowledge: crate::dto::KnowledgeDto::from(&state.engine.knowledge_insights(principal, from, to).await?),
    }))
}

/// The agents' or teams' figures the outlier detector compares, from the metrics rows
/// grouped by agent or team (rows without a value left out; named by their label).
pub(crate) fn peers(rows: &[MetricsRowDto]) -> Vec<PeerFigures> {
    rows.iter()
        .filter_map(|r| {
            let value = r.value.clone()?;
            Some(PeerFigures { label: r.label.clone().unwrap_or(value), cases: r.cases, escalated: r.escalated })
        })
        .collect()
}

/// The suggestions over the cases opened from `from` to `to` (UTC days, inclusive), most
/// important kinds first, given the period's metrics by agent and by team ([`peers`]; the
/// console's dashboard has them already and lists the suggestions too).
pub(crate) async fn suggestions(
    state: &AppState,
    principal: &Principal,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    agents: &[PeerFigures],
    teams: &[PeerFigures],
) -> ApiResult<Vec<SuggestionDto>> {
    let facts = state.engine.insight_facts(principal, from, to).await?;
    let users = state.engine.users(principal, None).await?;
    let active = state.engine.active_matrix();

    let mut suggestions = insights::move_down_by_category(&facts.categories);

    if let Some(active) = &active {
        let matrix = active.compiled.matrix();
        let requests: Vec<ApprovalRequest> = facts
            .approvals
            .iter()
            .filter_map(|approval| {
                let user = users.iter().find(|u| Some(u.id) == approval.requested_by)?;
                Some(ApprovalRequest {
                    case_number: approval.case_number,
                    action: approval.action.clone(),
                    role: user.role,
                    amount: approval.amount,
                    limit: matrix.authority_limit(&approval.action, user.role, Some(&user.name)),
                })
            })
            .collect();
        suggestions.extend(insights::limit_margin(&requests));
    }

    suggestions.extend(insights::outliers(PeerGroup::Agent, agents));
    suggestions.extend(insights::outliers(PeerGroup::Team, teams));

    if let Some(active) = &active {
        let matrix = active.compiled.matrix();
        // Every rule of the matrix in force, whatever its trigger: how often the trigger
        // happened in the period and how often the rule fired (counted in the write path).
        let activity = state.engine.rule_activity(principal, from, to).await?;
        let find = |trigger: &str, rule: &str| activity.iter().find(|a| a.trigger == trigger && a.rule == rule);
        let rules: Vec<RuleActivity> = matrix
            .rules
            .iter()
            .map(|r| {
                let trigger = r.trigger.as_str();
                let happened = find(trigger, "");
                let fired = find(trigger, &r.name);
                RuleActivity {
                    name: r.name.clone(),
                    trigger: trigger.to_string(),
                    triggered: happened.map_or(0, |a| a.n),
                    fired: fired.map_or(0, |a| a.n),
                    examples: fired.or(happened).map(|a| a.examples.clone()).unwrap_or_default(),
                }
            })
            .collect();
        suggestions.extend(insights::rule_activity(&rules));

        let main = if matrix.calendars.contains_key("support") {
            Some("support")
        } else {
            matrix.calendars.keys().next().map(String::as_str)
        };
        if let Some(name) = main
            && let Some(calendar) = active.sla.calendar(Some(name))
        {
            suggestions.extend(insights::breached_out_of_hours(&facts.breaches_24x7, calendar, name));
        }
    }

    let total = crate::metrics::rows(state, principal, from, to, None, state.engine.now()).await?.into_iter().next();
    if let Some(t) = total {
        suggestions.extend(insights::overall(&insights::PeriodFigures {
            cases: t.cases,
            escalated: t.escalated,
            csat_answers: t.csat_n,
            csat_escalated: t.rates.csat_escalated_avg,
            csat_not_escalated: t.rates.csat_not_escalated_avg,
        }));
    }

    suggestions.sort_by_key(|s| s.kind);
    Ok(suggestions.into_iter().map(SuggestionDto::from).collect())
}
