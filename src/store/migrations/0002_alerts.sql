-- Budget alerts. alert_state and alert_outbox are written only inside Store::commit_batch (the
-- same transaction as the totals); alert_deliveries is updated by the dispatcher.

-- Running value of each (rule, month), kept incrementally; initialised from monthly_totals the
-- first time a rule is seen for a month, so a rule added mid-month starts right.
CREATE TABLE alert_state (
    rule   TEXT NOT NULL,
    period TEXT NOT NULL,
    value  TEXT NOT NULL, -- exact decimal
    PRIMARY KEY (rule, period)
) WITHOUT ROWID;

-- One row per alert: a threshold fires once per (rule, month, level), a forecast once per
-- (rule, month) with level 'forecast'.
CREATE TABLE alert_outbox (
    id         INTEGER PRIMARY KEY,
    rule       TEXT NOT NULL,
    period     TEXT NOT NULL,
    level      TEXT NOT NULL,
    payload_id TEXT NOT NULL UNIQUE, -- UUID v4, receivers dedupe on it
    message    TEXT NOT NULL,        -- JSON AlertMessage, rendered per channel at delivery
    created_at TEXT NOT NULL,
    traceparent TEXT,                -- W3C traceparent of the batch that raised it (telemetry link)
    UNIQUE (rule, period, level)
);

-- Delivery state per alert per channel.
CREATE TABLE alert_deliveries (
    outbox_id       INTEGER NOT NULL REFERENCES alert_outbox (id),
    channel         TEXT    NOT NULL,
    state           TEXT    NOT NULL, -- pending | delivered | failed
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL, -- unix milliseconds
    last_error      TEXT,
    delivered_at    TEXT,
    PRIMARY KEY (outbox_id, channel)
) WITHOUT ROWID;

CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_at);
