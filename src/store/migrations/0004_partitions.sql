-- Event Hubs partitions seen by `consume`: the last enqueued sequence number (polled from the
-- service) beside the checkpoint, so `status` can show lag without asking the service.
CREATE TABLE partitions (
    source TEXT NOT NULL,          -- eventhubs:<namespace>/<hub>/<consumer group>
    partition TEXT NOT NULL,       -- partition id
    next_sequence INTEGER NOT NULL, -- last enqueued sequence number + 1 (0: nothing enqueued)
    polled_at TEXT NOT NULL,       -- RFC 3339, UTC
    PRIMARY KEY (source, partition)
) WITHOUT ROWID;
