//! Bounded attribute cardinality for metrics: the first `limit` distinct values of an
//! attribute keep their name, every later one is folded into [`OTHER`].
//!
//! Why: every distinct attribute combination is a time series that the backend stores and
//! bills. Azure Monitor custom metrics allow 10 dimensions and about 50,000 active series per
//! region; an APIM instance with thousands of subscriptions would blow through that. The store
//! keeps every client exactly; metrics are the operator's approximate view.
//!
//! Deterministic: the same values in the same order fold the same way. Which values keep their
//! name depends only on the order they were first seen in this process (a restart starts
//! afresh). Pure: no I/O.

use std::collections::HashSet;

/// The value that stands for every name past the cap.
pub const OTHER: &str = "other";

/// One capped attribute: remembers the names it let through.
#[derive(Debug)]
pub struct Cap {
    limit: usize,
    kept: HashSet<String>,
}

impl Cap {
    pub fn new(limit: usize) -> Cap {
        Cap { limit, kept: HashSet::new() }
    }

    /// The name to export for `value`: itself while under the cap or already kept, else
    /// [`OTHER`].
    pub fn fold<'v>(&mut self, value: &'v str) -> &'v str {
        if self.kept.contains(value) {
            return value;
        }
        if self.kept.len() < self.limit {
            self.kept.insert(value.to_owned());
            return value;
        }
        OTHER
    }

    /// How many distinct names are kept.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }
}

/// The capped attributes of the usage metrics.
#[derive(Debug)]
pub struct Cardinality {
    pub clients: Cap,
    pub deployments: Cap,
}

impl Cardinality {
    pub fn new(max_clients: usize, max_deployments: usize) -> Cardinality {
        Cardinality { clients: Cap::new(max_clients), deployments: Cap::new(max_deployments) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_clients_fold_into_the_cap_plus_other() {
        let mut cap = Cap::new(100);
        let names: Vec<String> = (0..10_000).map(|i| format!("sub:{i:05}")).collect();
        let exported: HashSet<&str> = names.iter().map(|n| cap.fold(n)).collect();
        assert_eq!(exported.len(), 101, "100 names and `other`");
        assert!(exported.contains(OTHER));
        for n in &names[..100] {
            assert!(exported.contains(n.as_str()), "{n} came first and keeps its name");
        }
        assert!(!exported.contains("sub:00100"));
        assert_eq!(cap.kept(), 100);
        // A kept name keeps its name later too; a folded one stays folded.
        assert_eq!(cap.fold("sub:00042"), "sub:00042");
        assert_eq!(cap.fold("sub:09999"), OTHER);
    }

    #[test]
    fn folding_is_deterministic_for_the_same_order() {
        let run = || {
            let mut c = Cardinality::new(3, 2);
            ["a", "b", "a", "c", "d", "e", "b"].map(|v| c.clients.fold(v).to_owned())
        };
        assert_eq!(run(), run());
        assert_eq!(run(), ["a", "b", "a", "c", "other", "other", "b"].map(str::to_owned));
    }

    #[test]
    fn a_zero_cap_folds_everything() {
        let mut cap = Cap::new(0);
        assert_eq!(cap.fold("x"), OTHER);
    }
}
