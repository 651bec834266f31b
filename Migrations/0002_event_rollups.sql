-- Tables derived from the event log are brought up to date after the fact, in large set-based steps,
-- instead of inside every ingest transaction (see ActivityRollup.swift). Measured on the reference data set
-- (10M events over 1M profiles): upserting profile_activity in each group commit dirtied nearly every page
-- of that table per commit and held `trove import` at 125-160k events/s; without it the same import ran
-- at 354k events/s.
--
-- `through_event_id`: every event with an id at or below it is reflected in the derived table; readers add
-- the events above it (the tail) themselves, so reads stay exact while a rollup is pending.
-- Deleting events must lower the watermarks to the new max(events.id) in the same transaction, because
-- SQLite may hand a deleted top id out again.
CREATE TABLE event_rollups (
    name             TEXT    PRIMARY KEY,
    through_event_id INTEGER NOT NULL CHECK (through_event_id >= 0)
) WITHOUT ROWID;

INSERT INTO event_rollups (name, through_event_id) VALUES ('activity', 0);
