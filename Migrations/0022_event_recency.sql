-- The two latest times each profile did each event name a segment counts (`EventRecency.swift`): "did X at
-- least k times in the last D days" holds only where the k-th latest time is within D days, so the profiles
-- that pass are one range of an index here instead of a seek per candidate into the name's events.
-- Measured on the 10× reference set (sqlite3 shell, warm): the reference segment's 236,279 candidate seeks
-- took ~175 ms; the 459,806 profiles whose second-latest "Completed Tour" is in the window read as one range
-- in ~30 ms.
--
-- Exact: the rows of a name in `event_recency_names` reflect every event of it at or below the name's own
-- watermark (the evaluator rolls them forward as it moves its own; deleting events recomputes the rows of
-- the profiles they belonged to). Readers add the profiles with events above it and count theirs.
CREATE TABLE event_recency (
    name_id    INTEGER NOT NULL,
    profile_id INTEGER NOT NULL,
    latest     INTEGER NOT NULL,
    second     INTEGER,
    PRIMARY KEY (name_id, profile_id)
) WITHOUT ROWID;

-- Read by a partial index per name and time, `event_recency_latest_<id>` on (latest, profile_id) and
-- `event_recency_second_<id>` on (second, profile_id), made once the name's rows are built.

-- The names whose rows are kept (each has its `events_of_name_<id>` index; built after it, dropped with it),
-- and the event id their rows reflect every event through: a build reads every event there is, so rolling
-- forward starts past it (applied twice, an event would pass for a second one).
CREATE TABLE event_recency_names (
    name_id          INTEGER PRIMARY KEY,
    through_event_id INTEGER NOT NULL CHECK (through_event_id >= 0)
);
