-- A funnel step list holds one row per profile, that profile's events of the name packed in a blob in time
-- order (StepEvents.swift), and its grouping values once per list, numbered: at 10× the reference set a
-- tour funnel read 19.8M rows of report_step_events (2.6 s in SQLite alone, each row's value hashed again
-- to find its group); the same lists are 8.1M rows of profiles (0.8 s) whose values are small numbers.
-- The lists are derived from the log: the old rows go, and each list is built again on its next use.
DROP TABLE report_step_events;
DELETE FROM report_steps;

CREATE TABLE report_step_profiles (
    step_id    INTEGER NOT NULL,
    profile_id INTEGER NOT NULL,
    -- The profile's events of the list, in time order: (time, event id, value number) each (StepEvents).
    events     BLOB    NOT NULL,
    PRIMARY KEY (step_id, profile_id)
) WITHOUT ROWID;

-- A list's grouping values (json_extract of its path), numbered from 1; `events` counts the events that
-- carry the value, which goes with the last of them.
CREATE TABLE report_step_values (
    step_id INTEGER NOT NULL,
    id      INTEGER NOT NULL,
    value   NOT NULL,
    events  INTEGER NOT NULL,
    PRIMARY KEY (step_id, id)
) WITHOUT ROWID;
CREATE INDEX report_step_values_by_value ON report_step_values (step_id, value);
