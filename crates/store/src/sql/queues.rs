//! Team queues: the queued cases of a team in the order they should be worked,
//! and the atomic hand-out of the next one.

use jiff::Timestamp;
use ladder_core::case::Case;
use ladder_core::ids::TeamId;

use super::cases::{execute_case, load_case, load_case_doc, priority_factors};
use super::{Store, us_to_ts};
use crate::db::args;
use crate::{CaseOutcome, CaseWrite, ClaimDecider, StoreResult};

/// A case waiting in a queue, with its priority score and virtual deadline.
#[derive(Debug, Clone)]
pub struct QueuedCase {
    pub case: Case,
    pub score: u32,
    pub rank_at: Timestamp,
    /// The score's points by reason, as of now.
    pub factors: ladder_core::routing::PriorityFactors,
}

impl Store {
    /// The first `limit` cases waiting in `team`'s queue, in the order they should be worked.
    pub async fn queue(&self, team: TeamId, limit: u32) -> StoreResult<Vec<QueuedCase>> {
        self.read(move |db| {
            let rows: Vec<(i64, i64, i64)> = db.rows(
                "SELECT number, priority_score, queue_rank_us FROM cases
                 WHERE team_id = ?1 AND queue_rank_us IS NOT NULL ORDER BY queue_rank_us, number LIMIT ?2",
                args![team.to_string(), limit.clamp(1, 1000)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            rows.into_iter()
                .map(|(n, score, rank)| {
                    let case = load_case_doc(db, n)?;
                    let factors = priority_factors(db, &case)?;
                    Ok(QueuedCase { case, score: score as u32, rank_at: us_to_ts(rank), factors })
                })
                .collect()
        })
        .await
    }

    /// Cases that have waited in `team`'s queue since `before` or earlier, longest first
    /// (for overflow). Reads only the part of the index that qualifies.
    pub async fn queued_since(&self, team: TeamId, before: Timestamp, limit: u32) -> StoreResult<Vec<Case>> {
        self.read(move |db| {
            let numbers: Vec<i64> = db.rows(
                "SELECT number FROM cases WHERE team_id = ?1 AND queued_since_us IS NOT NULL
                 AND queued_since_us <= ?2 ORDER BY queued_since_us LIMIT ?3",
                args![team.to_string(), super::ts_to_us(before), limit],
                |r| Ok(r.get(0)?),
            )?;
            numbers.into_iter().map(|n| load_case_doc(db, n)).collect()
        })
        .await
    }

    /// How many cases wait in `team`'s queue.
    pub async fn queue_len(&self, team: TeamId) -> StoreResult<u64> {
        self.read(move |db| {
            let n: i64 = db.value(
                "SELECT count(*) FROM cases WHERE team_id = ?1 AND queue_rank_us IS NOT NULL",
                args![team.to_string()],
            )?;
            Ok(n as u64)
        })
        .await
    }

    /// Hands out the first case of `team`'s queue at `now` (a call-back only once its
    /// window has opened): inside the writer, picks it, loads its customer and applies what
    /// `decide` makes of it (normally an assignment) in the same transaction, so two callers
    /// never get the same case. `None` when nothing is waiting.
    pub async fn claim_next(
        &self,
        team: TeamId,
        now: Timestamp,
        decide: ClaimDecider,
    ) -> StoreResult<Option<CaseOutcome>> {
        self.write(move |tx| {
            let first: Option<String> = tx.value_opt(
                "SELECT id FROM cases WHERE team_id = ?1 AND queue_rank_us IS NOT NULL
                 AND (callback_due_us IS NULL OR callback_due_us <= ?2)
                 ORDER BY queue_rank_us, number LIMIT 1",
                args![team.to_string(), super::ts_to_us(now)],
            )?;
            let Some(id) = first else { return Ok(None) };
            let id = id.parse().map_err(|e| crate::StoreError::Internal(format!("case id {id}: {e}")))?;
            let Some(case) = load_case(tx, id)? else { return Ok(None) };
            let customer = match case.customer {
                Some(c) => super::directory::load_customer(tx, c)?,
                None => None,
            };
            let write = CaseWrite {
                case_id: id,
                expected_version: Some(case.version),
                idempotency: None,
                decide: Box::new(move |case, _| match case {
                    Some(case) => decide(case, customer.as_ref()),
                    None => Ok(crate::Decided::default()),
                }),
            };
            execute_case(tx, write).map(Some)
        })
        .await
    }
}
