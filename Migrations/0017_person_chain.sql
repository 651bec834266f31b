-- A person's events in time order (contract §5 timeline), at almost no cost to ingest.
--
-- An index on events(profile_id, timestamp) kept at insert time cut `trove import` from 277k to 53k
-- events/s (every insert lands on a random leaf of a b-tree as large as the log). Instead each event names
-- its profile's previous event: the writer keeps every profile's newest event in memory, so the link costs
-- a lookup and a few bytes of the row. A timeline walks the links from the newest event by rowid.
--
-- `prev_id`: the id of the profile's previous event in time order (0 for its first), for an event whose time
-- is not before that one's; NULL for an event that arrived out of order (older than the profile's newest)
-- — those, usually few, are found through the partial index `events_late`, and a timeline merges the two
-- orders. Events stored before this migration are all in the index, built here once.
-- `profile_activity.head_event_id`: the profile's newest linked event, kept by the activity rollup up to its
-- watermark (0: none); readers add the events past the watermark themselves.
ALTER TABLE events ADD COLUMN prev_id INTEGER;
CREATE INDEX events_late ON events(profile_id, timestamp) WHERE prev_id IS NULL;
ALTER TABLE profile_activity ADD COLUMN head_event_id INTEGER NOT NULL DEFAULT 0;
