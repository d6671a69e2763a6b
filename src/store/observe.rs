//! What the last commit did, for telemetry: which records of the batch were accepted (new)
//! rather than absorbed as duplicates. Lets the metrics count exactly what the totals gained
//! without the store knowing anything about telemetry.

use super::Store;

impl Store {
    /// One flag per record of the last batch given to `commit_batch` (same order): true when
    /// it was new and added to the totals. Meaningful only after that commit returned `Ok`.
    pub fn last_accepted(&self) -> &[bool] {
        &self.last_accepted
    }
}
