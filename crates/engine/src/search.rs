//! Finding a case from what a person remembers of it: its number, words of its subject or
//! messages, or its customer's name, email address or phone number. Every read goes through
//! the scoped queries of [`crate::query`], so a search finds only cases the caller may read.

use ladder_core::Case;
use ladder_core::access::Principal;
use ladder_core::ids::CustomerId;
use ladder_store::{CaseFilter, CustomerFilter, PageRequest, StoreError};

use crate::Engine;

/// How many customers a name or identity may match before the search stops adding their cases.
const CUSTOMERS_PER_SEARCH: u32 = 10;

/// What a search found: the matching cases, newest first, and whether there were more.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub cases: Vec<Case>,
    /// More cases matched than `limit`: the caller may narrow the query.
    pub more: bool,
}

/// `q` as a case number: `994` or `#994`.
fn case_number(q: &str) -> Option<u64> {
    q.strip_prefix('#').unwrap_or(q).parse().ok().filter(|n| *n > 0)
}

/// The ways an identity may have been written: as typed, and, for something that looks like a
/// phone number, without the spaces, dashes, dots and parentheses people put in.
fn identity_spellings(q: &str) -> Vec<String> {
    let mut spellings = vec![q.to_string()];
    let looks_like_phone = q.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    let compact: String = q.chars().filter(|c| !" -.()".contains(*c)).collect();
    if looks_like_phone && compact != q && !compact.is_empty() {
        spellings.push(compact);
    }
    spellings
}

impl Engine {
    /// The cases matching `q` that the principal may read, newest first, at most `limit`.
    /// A number finds that case; words find cases by their text (subject, description,
    /// messages); a customer's name (its beginning), email address or phone number finds that
    /// customer's cases.
    pub async fn search_cases(&self, principal: &Principal, q: &str, limit: u32) -> Result<SearchResults, StoreError> {
        let q = q.trim();
        let limit = limit.clamp(1, 200);
        if q.is_empty() {
            return Ok(SearchResults::default());
        }
        let mut found: Vec<Case> = Vec::new();
        if let Some(number) = case_number(q) {
            match self.case_by_number(principal, number).await {
                Ok(case) => found.push(case),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let page = PageRequest { before: None, limit };
        let by_text = CaseFilter { q: Some(q.to_string()), ..Default::default() };
        let mut more = false;
        let text = self.list_cases(principal, by_text, page).await?;
        more |= text.next_before.is_some();
        found.extend(text.cases);

        let mut customers: Vec<CustomerId> = Vec::new();
        let mut filters: Vec<CustomerFilter> = identity_spellings(q)
            .into_iter()
            .map(|identity| CustomerFilter { identity: Some(identity), ..Default::default() })
            .collect();
        filters.push(CustomerFilter { name: Some(q.to_string()), ..Default::default() });
        for filter in filters {
            for customer in self.customers(principal, filter, CUSTOMERS_PER_SEARCH, 0).await? {
                if !customers.contains(&customer.id) {
                    customers.push(customer.id);
                }
            }
        }
        for customer in customers.into_iter().take(CUSTOMERS_PER_SEARCH as usize) {
            let theirs = CaseFilter { customer: Some(customer), ..Default::default() };
            let cases = self.list_cases(principal, theirs, page).await?;
            more |= cases.next_before.is_some();
            found.extend(cases.cases);
        }

        found.sort_by_key(|c| std::cmp::Reverse(c.number));
        found.dedup_by_key(|c| c.number);
        more |= found.len() > limit as usize;
        found.truncate(limit as usize);
        Ok(SearchResults { cases: found, more })
    }
}

#[cfg(test)]
mod tests {
    use super::{case_number, identity_spellings};

    #[test]
    fn numbers_and_phone_numbers_are_recognised() {
        assert_eq!(case_number("994"), Some(994));
        assert_eq!(case_number("#994"), Some(994));
        assert_eq!(case_number("0"), None);
        assert_eq!(case_number("router"), None);
        assert_eq!(identity_spellings("+1 (555) 010-0199"), vec!["+1 (555) 010-0199", "+15550100199"]);
        assert_eq!(identity_spellings("ana@example.com"), vec!["ana@example.com"]);
    }
}
