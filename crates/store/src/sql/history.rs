//! Recorded case histories read in bulk, for replaying them (the what-if simulator).

use std::collections::HashMap;

use jiff::Timestamp;
use ladder_core::directory::Customer;
use ladder_core::event::RecordedEvent;
use ladder_core::ids::CustomerId;
use rusqlite::params;

use super::{Store, ns_to_ts, ts_to_ns};
use crate::StoreResult;

/// One case's recorded stream, with what replaying it needs to know about its customer.
#[derive(Debug, Clone)]
pub struct CaseHistory {
    pub number: u64,
    /// The whole stream, oldest first.
    pub events: Vec<RecordedEvent>,
    pub customer: Option<Customer>,
    /// Cases the customer opened in the `window` before this one, this one included (1 for
    /// a case without a customer).
    pub repeat_contacts: u32,
}

impl Store {
    /// How many cases were opened in `[from, to)`.
    pub async fn count_opened(&self, from: Timestamp, to: Timestamp) -> StoreResult<u64> {
        self.read(move |conn| {
            let n: i64 = conn
                .prepare_cached("SELECT count(*) FROM cases WHERE created_at_ns >= ?1 AND created_at_ns < ?2")?
                .query_row(params![ts_to_ns(from), ts_to_ns(to)], |r| r.get(0))?;
            Ok(n as u64)
        })
        .await
    }

    /// Up to `limit` cases opened in `[from, to)` with a number above `after`, in number
    /// order, each with its whole stream, its customer and its repeat-contact count over
    /// `window` (the span the engine used when the case was opened).
    pub async fn histories(
        &self,
        from: Timestamp,
        to: Timestamp,
        after: u64,
        limit: u32,
        window: jiff::SignedDuration,
    ) -> StoreResult<Vec<CaseHistory>> {
        self.read(move |conn| {
            let mut cases = conn.prepare_cached(
                "SELECT number, id, customer_id, created_at_ns FROM cases
                 WHERE number > ?1 AND created_at_ns >= ?2 AND created_at_ns < ?3 ORDER BY number LIMIT ?4",
            )?;
            let rows: Vec<(i64, String, Option<String>, i64)> = cases
                .query_map(params![after as i64, ts_to_ns(from), ts_to_ns(to), limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut events = conn.prepare_cached(
                "SELECT seq, case_id, version, schema, at_ns, actor, data, matrix_version FROM events
                 WHERE case_id = ?1 ORDER BY version",
            )?;
            // The engine counted at most the customer's last 100 cases.
            let mut recent = conn.prepare_cached(
                "SELECT count(*) FROM (SELECT created_at_ns FROM cases WHERE customer_id = ?1 AND number < ?2
                 ORDER BY number DESC LIMIT 100) WHERE created_at_ns >= ?3",
            )?;
            let mut customers: HashMap<String, Option<Customer>> = HashMap::new();
            let mut out = Vec::with_capacity(rows.len());
            for (number, id, customer_id, created) in rows {
                let stream = events
                    .query_map([&id], super::cases::row_to_event)?
                    .map(|r| r.map_err(crate::StoreError::from).and_then(|x| x).map(|s| s.recorded))
                    .collect::<StoreResult<Vec<_>>>()?;
                let (customer, repeat_contacts) = match customer_id {
                    Some(cid) => {
                        let since = ts_to_ns(ns_to_ts(created) - window);
                        let others: i64 = recent.query_row(params![cid, number, since], |r| r.get(0))?;
                        let customer = match customers.get(&cid) {
                            Some(c) => c.clone(),
                            None => {
                                let parsed: Option<CustomerId> = cid.parse().ok();
                                let c = match parsed {
                                    Some(p) => super::directory::load_customer(&mut crate::db::Db::Lite(conn), p)?,
                                    None => None,
                                };
                                customers.insert(cid, c.clone());
                                c
                            }
                        };
                        (customer, 1 + others as u32)
                    }
                    None => (None, 1),
                };
                out.push(CaseHistory { number: number as u64, events: stream, customer, repeat_contacts });
            }
            Ok(out)
        })
        .await
    }
}
