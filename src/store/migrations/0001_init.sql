-- The initial store. Every table is written only by Store::commit_batch (one transaction per
-- batch) or by the migrations themselves.

-- Dedupe: one row per counted event, keyed by event time (seconds) then a 16-byte id (the
-- APIM request id's GUID bytes, or a hash). Time first keeps a time-ordered stream's inserts
-- at the index's right edge and makes dropping rows past the dedupe window a range delete.
CREATE TABLE seen_events (
    event_second INTEGER NOT NULL,
    id           BLOB    NOT NULL,
    PRIMARY KEY (event_second, id)
) WITHOUT ROWID;

-- Totals. `cost` is an exact decimal written as text (SQLite has no decimal type); it covers
-- the priced tokens only, `unpriced_tokens` counts the rest.
CREATE TABLE monthly_totals (
    period                TEXT    NOT NULL, -- YYYY-MM in the billing time zone
    client                TEXT    NOT NULL, -- caller identity: sub:<id>, key:<sha256>, anonymous
    deployment            TEXT    NOT NULL,
    model                 TEXT    NOT NULL,
    requests              INTEGER NOT NULL,
    prompt_tokens         INTEGER NOT NULL,
    cached_tokens         INTEGER NOT NULL,
    completion_tokens     INTEGER NOT NULL,
    reasoning_tokens      INTEGER NOT NULL,
    total_tokens          INTEGER NOT NULL,
    estimated_tokens      INTEGER NOT NULL,
    undercounted_requests INTEGER NOT NULL,
    unpriced_tokens       INTEGER NOT NULL,
    cost                  TEXT    NOT NULL,
    PRIMARY KEY (period, client, deployment, model)
) WITHOUT ROWID;

CREATE TABLE daily_totals (
    period                TEXT    NOT NULL, -- YYYY-MM-DD in the billing time zone
    client                TEXT    NOT NULL,
    deployment            TEXT    NOT NULL,
    model                 TEXT    NOT NULL,
    requests              INTEGER NOT NULL,
    prompt_tokens         INTEGER NOT NULL,
    cached_tokens         INTEGER NOT NULL,
    completion_tokens     INTEGER NOT NULL,
    reasoning_tokens      INTEGER NOT NULL,
    total_tokens          INTEGER NOT NULL,
    estimated_tokens      INTEGER NOT NULL,
    undercounted_requests INTEGER NOT NULL,
    unpriced_tokens       INTEGER NOT NULL,
    cost                  TEXT    NOT NULL,
    PRIMARY KEY (period, client, deployment, model)
) WITHOUT ROWID;

-- Lines that could not be counted. The line itself is never stored (it may hold prompt text
-- or a raw subscription key): its source, position, length and SHA-256 are, so that
-- `dead-letters replay` can read it again from the source and check it is the same line.
CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    length      INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    UNIQUE (source, position, sha256)
);

-- Where each source has been read up to, committed with the batch it ends.
CREATE TABLE checkpoints (
    source      TEXT    NOT NULL,
    partition   TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    fingerprint TEXT,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (source, partition)
) WITHOUT ROWID;

-- Store-wide settings and state: billing_time_zone, dedupe_horizon, newest_event_second.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
