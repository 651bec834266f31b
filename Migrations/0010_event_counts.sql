-- Events per name per UTC hour (SPEC §11 reports): kept by the same rollup as profile_activity (see
-- ActivityRollup.swift), so `count` holds every event at or below event_rollups 'activity' and readers add
-- the tail above it. `hour` is floor(timestamp / 3,600,000). Deleting events lowers the counts of the ones
-- at or below the watermark in the same transaction.
CREATE TABLE event_counts (
    name_id INTEGER NOT NULL,
    hour    INTEGER NOT NULL,
    count   INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (name_id, hour)
) WITHOUT ROWID;

INSERT INTO event_counts (name_id, hour, count)
SELECT name_id, (timestamp - ((timestamp % 3600000) + 3600000) % 3600000) / 3600000, count(*)
FROM events WHERE id <= (SELECT through_event_id FROM event_rollups WHERE name = 'activity')
GROUP BY 1, 2;

-- The events Customer.io reported (source 2, SPEC §9), for the messages report and the deliveries export:
-- usually a small part of the log, read without scanning the rest.
CREATE INDEX events_from_customerio ON events(account_id, timestamp) WHERE source = 2;
