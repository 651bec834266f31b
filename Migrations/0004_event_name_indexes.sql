-- Event conditions now read a partial index per event name that a segment counts
-- (`events_of_name_<id>` on (name_id, profile_id, timestamp) WHERE name_id = <id>, created by the
-- segment build; see SegmentIndex.swift). Measured on the reference set, counting per candidate profile
-- with one seek each is 34 ms where grouping the 30-day window of `events_by_name_time` needed a 90 ms
-- sort, and ingest no longer pays for an index over every event: only the names segments use.
DROP INDEX IF EXISTS events_by_name_time;
