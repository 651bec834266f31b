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

-- profile_activity is now written only by ActivityRollup, from profile ids it took from events, so it
-- drops its foreign key like events (0001): the key's parent lookup was a second b-tree probe into the
-- wide profiles table per upserted row. Deleting a profile must delete its profile_activity row
-- explicitly, and drop the writer's rollup plan in flight, in the same serialized writer.
CREATE TABLE profile_activity_new (
    profile_id   INTEGER PRIMARY KEY,
    last_seen_at INTEGER NOT NULL
);
INSERT INTO profile_activity_new (profile_id, last_seen_at) SELECT profile_id, last_seen_at FROM profile_activity;
DROP TABLE profile_activity;
ALTER TABLE profile_activity_new RENAME TO profile_activity;
