-- Month close (issue 7). A closed month's monthly and daily totals never change again: usage
-- that arrives later for it is added to `corrections`, charged in the earliest open month after
-- it. Both tables are written only by Store::close_month and Store::commit_batch.

CREATE TABLE closed_months (
    period    TEXT PRIMARY KEY, -- YYYY-MM in the billing time zone
    closed_at TEXT NOT NULL     -- RFC 3339, UTC; for people, never rendered in a report
) WITHOUT ROWID;

-- Late usage of a closed month, with the same totals columns as monthly_totals.
CREATE TABLE corrections (
    period                TEXT    NOT NULL, -- YYYY-MM the correction is charged in (open when written)
    corrects              TEXT    NOT NULL, -- YYYY-MM the usage happened in (closed)
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
    PRIMARY KEY (period, corrects, client, deployment, model)
) WITHOUT ROWID;
