-- The funnel's step lists, replacing the partial indexes of 0011 (`funnel_of_name_<id>[_<hash>]`): a
-- CREATE INDEX over the event log held the writer for seconds (3.1 s on the reference set), stalling every
-- ingest that long. A step list is filled in the background in slices of event ids instead, each a short
-- write transaction, and kept current the same way; a funnel reads it plus the short tail of the log past
-- `through_event_id` (ReportSteps.swift). The old indexes are dropped right after this file, in Swift
-- (AppDatabase.afterMigration: their names depend on the data).
CREATE TABLE report_steps (
    id               INTEGER PRIMARY KEY,
    name_id          INTEGER NOT NULL REFERENCES event_names (id) ON DELETE CASCADE,
    -- The grouping property's JSON path, '' when the funnel does not group.
    path             TEXT    NOT NULL,
    -- Every event of the name with an id up to here is in report_step_events.
    through_event_id INTEGER NOT NULL DEFAULT 0,
    -- When the list first caught up with the log; NULL while it is being built.
    built_at         INTEGER,
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER NOT NULL,
    -- Unused for 30 days or past the bound: its rows are being deleted in batches, then the row goes.
    dropped          INTEGER NOT NULL DEFAULT 0 CHECK (dropped IN (0, 1))
);
CREATE UNIQUE INDEX report_steps_by_name ON report_steps (name_id, path) WHERE dropped = 0;

CREATE TABLE report_step_events (
    step_id    INTEGER NOT NULL,
    profile_id INTEGER NOT NULL,
    timestamp  INTEGER NOT NULL,
    event_id   INTEGER NOT NULL,
    -- The grouping property's value (json_extract of the path), NULL without one.
    value,
    PRIMARY KEY (step_id, profile_id, timestamp, event_id)
) WITHOUT ROWID;

DROP TABLE report_indexes;
