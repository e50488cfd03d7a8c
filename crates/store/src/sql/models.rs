//! Escalation-risk models (migration 24): the stored models with their evaluation, their
//! activations, and the history a model is trained on, read in batches.

use std::collections::HashMap;

use jiff::Timestamp;
use ladder_core::event::{CaseEvent, Opened};
use ladder_core::risk::{Evaluation, RiskModel};

use super::{Store, ts_to_us, us_to_ts};
use crate::db::{Db, Row, args};
use crate::{StoreError, StoreResult};

/// A stored model with its evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub model: RiskModel,
    pub evaluation: Evaluation,
    pub trained_by: String,
    pub created_at: Timestamp,
}

/// One case as a model learns from it: what was known when it opened, and whether it was
/// escalated afterwards.
#[derive(Debug, Clone)]
pub struct TrainingCase {
    pub number: u64,
    pub opened_at: Timestamp,
    pub opened: Opened,
    /// The customer's id, value and segment (as the directory has them now).
    pub customer: Option<(String, f64, Option<String>)>,
    pub escalated: bool,
}

const MODEL_COLUMNS: &str = "version, model, evaluation, trained_by, created_at_us";

fn row_to_model(r: &Row) -> StoreResult<StoredModel> {
    let version = r.get::<i64>(0)? as u64;
    let model: String = r.get(1)?;
    let evaluation: String = r.get(2)?;
    let mut model: RiskModel = serde_json::from_str(&model)?;
    model.version = version;
    Ok(StoredModel {
        model,
        evaluation: serde_json::from_str(&evaluation)?,
        trained_by: r.get(3)?,
        created_at: us_to_ts(r.get(4)?),
    })
}

fn active_version(db: &mut Db) -> StoreResult<Option<u64>> {
    let v: Option<Option<i64>> =
        db.first("SELECT version FROM risk_model_activations ORDER BY seq DESC LIMIT 1", args![], |r| {
            Ok(r.get::<Option<i64>>(0)?)
        })?;
    Ok(v.flatten().map(|v| v as u64))
}

impl Store {
    /// Stores a trained model as the next version (not active). The caller has evaluated it.
    pub async fn put_model(
        &self,
        model: RiskModel,
        evaluation: Evaluation,
        by: String,
        at: Timestamp,
    ) -> StoreResult<StoredModel> {
        let body = serde_json::to_string(&model)?;
        let eval = serde_json::to_string(&evaluation)?;
        self.write(move |conn| {
            // One writer per process numbers the versions; the primary key refuses a race.
            let next: i64 = conn.value("SELECT coalesce(max(version), 0) + 1 FROM risk_models", args![])?;
            conn.exec(
                "INSERT INTO risk_models (version, model, evaluation, beats_baseline, trained_by, created_at_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![next, &body, &eval, evaluation.beats_baseline, &by, ts_to_us(at)],
            )?;
            Ok(StoredModel {
                model: RiskModel { version: next as u64, ..model },
                evaluation,
                trained_by: by,
                created_at: at,
            })
        })
        .await
    }

    /// Every stored model, oldest first, and the version in force.
    pub async fn models(&self) -> StoreResult<(Vec<StoredModel>, Option<u64>)> {
        self.read(|db| {
            let models =
                db.rows(&format!("SELECT {MODEL_COLUMNS} FROM risk_models ORDER BY version"), args![], row_to_model)?;
            Ok((models, active_version(db)?))
        })
        .await
    }

    /// One stored model.
    pub async fn model(&self, version: u64) -> StoreResult<Option<StoredModel>> {
        self.read(move |db| {
            db.first(
                &format!("SELECT {MODEL_COLUMNS} FROM risk_models WHERE version = ?1"),
                args![version as i64],
                row_to_model,
            )
        })
        .await
    }

    /// The model in force, if any.
    pub async fn active_model(&self) -> StoreResult<Option<StoredModel>> {
        self.read(|db| match active_version(db)? {
            Some(v) => db.first(
                &format!("SELECT {MODEL_COLUMNS} FROM risk_models WHERE version = ?1"),
                args![v as i64],
                row_to_model,
            ),
            None => Ok(None),
        })
        .await
    }

    /// Puts `version` in force (`None`: no model). A model that did not beat its baseline
    /// is refused (422 at the API).
    pub async fn activate_model(
        &self,
        version: Option<u64>,
        by: String,
        at: Timestamp,
    ) -> StoreResult<Option<StoredModel>> {
        self.write(move |conn| {
            let model = match version {
                Some(v) => {
                    let found = conn
                        .first(&format!("SELECT {MODEL_COLUMNS} FROM risk_models WHERE version = ?1"), args![v as i64], row_to_model)?
                        .ok_or_else(|| StoreError::NotFound(format!("model {v}")))?;
                    if !found.evaluation.beats_baseline {
                        return Err(StoreError::Domain(ladder_core::DomainError::invalid(
                            "version",
                            format!(
                                "model {v} does not beat the baseline (AUC {:.3} against {:.3}); it cannot be activated",
                                found.evaluation.auc, found.evaluation.baseline_auc
                            ),
                        )));
                    }
                    Some(found)
                }
                None => None,
            };
            conn.exec(
                "INSERT INTO risk_model_activations (version, by_user, at_us) VALUES (?1, ?2, ?3)",
                args![version.map(|v| v as i64), &by, ts_to_us(at)],
            )?;
            Ok(model)
        })
        .await
    }

    /// How many cases there are to learn from.
    pub async fn count_cases(&self) -> StoreResult<u64> {
        self.read(|db| Ok(db.value::<i64>("SELECT count(*) FROM cases", args![])? as u64)).await
    }

    /// Up to `limit` cases with a number above `after`, in number order (the order they
    /// opened in), each with its `opened` event, its customer and whether it was escalated.
    pub async fn training_cases(&self, after: u64, limit: u32) -> StoreResult<Vec<TrainingCase>> {
        self.read(move |db| {
            let rows: Vec<(i64, Option<String>, i64, String, bool)> = db.rows(
                "SELECT c.number, c.customer_id, e.at_us, e.data,
                        CASE WHEN EXISTS (SELECT 1 FROM events x WHERE x.case_id = c.id AND x.type = 'escalated')
                             THEN 1 ELSE 0 END
                 FROM cases c JOIN events e ON e.case_id = c.id AND e.version = 1
                 WHERE c.number > ?1 ORDER BY c.number LIMIT ?2",
                args![after as i64, limit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            let mut customers: HashMap<String, Option<(f64, Option<String>)>> = HashMap::new();
            let mut out = Vec::with_capacity(rows.len());
            for (number, customer_id, at, data, escalated) in rows {
                let CaseEvent::Opened(opened) = serde_json::from_str(&data)? else {
                    return Err(StoreError::Internal(format!("case {number}: its first event is not `opened`")));
                };
                let customer = match customer_id {
                    Some(id) => {
                        if !customers.contains_key(&id) {
                            let found = match id.parse() {
                                Ok(parsed) => {
                                    super::directory::load_customer(db, parsed)?.map(|c| (c.value, c.segment))
                                }
                                Err(_) => None,
                            };
                            customers.insert(id.clone(), found);
                        }
                        customers[&id].clone().map(|(value, segment)| (id, value, segment))
                    }
                    None => None,
                };
                out.push(TrainingCase { number: number as u64, opened_at: us_to_ts(at), opened, customer, escalated });
            }
            Ok(out)
        })
        .await
    }
}
