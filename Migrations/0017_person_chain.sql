-- A person's events in time order (contract §5 timeline), at almost no cost to ingest.
--
-- An index on events(profile_id, timestamp) kept at insert time cut `trove import` from 277k to 53k
-- events/s (every insert lands on a random leaf of a b-tree as large as the log). Instead each event names
-- its profile's previous event: the writer keeps every profile's newest events in memory, so the link costs
-- a lookup and a few bytes of the row. A timeline walks the links by rowid.
--
-- `prev_id` holds one of two links (PersonChain.swift):
--   >= 0: the event's time is not before the profile's newest linked event's; `prev_id` is that event (0: the
--         first). These events form a chain in time order, newest first.
--   <  0: the event arrived out of order (older than the profile's newest); -prev_id - 1 is the profile's
--         previous out-of-order event (0: none). A timeline reads this chain whole and sorts it: usually short.
--   NULL: stored before this migration, or moved from the anonymous log; found through `events_late`, a
--         partial index built here once that later inserts rarely touch.
-- `profile_activity.head_event_id` / `late_head_id`: the profile's newest event of each chain, kept by the
-- activity rollup up to its watermark (0: none); readers add the events past the watermark themselves.
ALTER TABLE events ADD COLUMN prev_id INTEGER;
CREATE INDEX events_late ON events(profile_id, timestamp) WHERE prev_id IS NULL;
ALTER TABLE profile_activity ADD COLUMN head_event_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE profile_activity ADD COLUMN late_head_id INTEGER NOT NULL DEFAULT 0;
