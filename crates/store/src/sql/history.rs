//! Recorded case histories read in bulk, for replaying them (the what-if simulator).

use std::collections::HashMap;

use super::{Store, ts_to_us, us_to_ts};
use crate::StoreResult;
use crate::db::args;
use jiff::Timestamp;
use ladder_core::directory::Customer;
use ladder_core::ids::CustomerId;
/// What the replay reads: defined with it in core.
pub use ladder_core::simulate::CaseHistory;

impl Store {
    /// How many cases were opened in `[from, to)`.
    pub async fn count_opened(&self, from: Timestamp, to: Timestamp) -> StoreResult<u64> {
        self.read(move |db| {
            let n: i64 = db.value(
                "SELECT count(*) FROM cases WHERE created_at_us >= ?1 AND created_at_us < ?2",
                args![ts_to_us(from), ts_to_us(to)],
            )?;
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
        self.read(move |db| {
            let rows: Vec<(i64, String, Option<String>, i64)> = db.rows(
                "SELECT number, id, customer_id, created_at_us FROM cases
                 WHERE number > ?1 AND created_at_us >= ?2 AND created_at_us < ?3 ORDER BY number LIMIT ?4",
                args![after, ts_to_us(from), ts_to_us(to), limit],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let mut customers: HashMap<String, Option<Customer>> = HashMap::new();
            let mut out = Vec::with_capacity(rows.len());
            for (number, id, customer_id, created) in rows {
                let stream = db.rows(
                    "SELECT seq, case_id, version, schema, at_us, actor, data, matrix_version FROM events
                     WHERE case_id = ?1 ORDER BY version",
                    args![&id],
                    |r| super::cases::row_to_event(r).map(|s| s.recorded),
                )?;
                let (customer, repeat_contacts) = match customer_id {
                    Some(cid) => {
                        let since = ts_to_us(us_to_ts(created) - window);
                        // The engine counted at most the customer's last 100 cases.
                        let others: i64 = db.value(
                            "SELECT count(*) FROM (SELECT created_at_us FROM cases WHERE customer_id = ?1 AND number < ?2
                             ORDER BY number DESC LIMIT 100) AS recent WHERE created_at_us >= ?3",
                            args![&cid, number, since],
                        )?;
                        let customer = match customers.get(&cid) {
                            Some(c) => c.clone(),
                            None => {
                                let parsed: Option<CustomerId> = cid.parse().ok();
                                let c = match parsed {
                                    Some(p) => super::directory::load_customer(db, p)?,
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
