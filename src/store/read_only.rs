//! A read-only connection to an existing store, for `chargeback serve`: SQLite itself refuses
//! any write, so no request can change the store whatever the code above does.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{MIGRATIONS, Store, StoreError, get_meta};

impl Store {
    /// Open `path` read-only. The store must exist and be fully migrated (open it once with
    /// [`Store::open_existing`] first) and cut in `time_zone`.
    pub fn open_read_only(path: &Path, time_zone: &str) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_owned(), source };
        if !path.exists() {
            return Err(StoreError::Missing { path: path.to_owned() });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(open_err)?;
        let done: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(open_err)?;
        let done = done.max(0) as usize;
        if done > MIGRATIONS.len() {
            return Err(StoreError::TooNew { path: path.to_owned(), found: done, known: MIGRATIONS.len() });
        }
        if let Some(stored) = get_meta(&conn, "billing_time_zone")?
            && stored != time_zone
        {
            return Err(StoreError::TimeZoneChanged {
                path: path.to_owned(),
                stored,
                configured: time_zone.to_owned(),
            });
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
            dedupe_window_seconds: 0,
            last_accepted: Vec::new(),
            alert_rules: None,
        })
    }
}
