-- A profile's last-seen time is its newest event's: read from `events_by_profile` (account_id, profile_id,
-- timestamp, id) as one backward index probe, instead of a table every ingest transaction upserted a row
-- per profile into (inside the statement the writers of an account take turns on, its rows locked from
-- the upsert to the commit). What remains under the old name is a view for `trove copy` and for people reading the schema,
-- in the shape the other engine stores (head_event_id / late_head_id: SQLite's chain heads, from the
-- `prev_id` links of events copied from it; 0 for events written here, which keep no links).
DROP TABLE profile_activity;
CREATE VIEW profile_activity AS
    SELECT account_id, profile_id, max(timestamp) AS last_seen_at,
           coalesce(max(id) FILTER (WHERE prev_id >= 0), 0) AS head_event_id,
           coalesce(max(id) FILTER (WHERE prev_id < 0), 0) AS late_head_id
    FROM events GROUP BY account_id, profile_id;
