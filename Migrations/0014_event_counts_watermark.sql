-- event_counts gets a watermark of its own ('counts'), apart from profile_activity's ('activity'): the
-- counts are applied from what the writer accumulated over many group commits (every 30 s, past 3M
-- events, or once ingest pauses), not with each activity rollup. Applying them with every rollup upserted
-- tens of thousands of (name, hour) rows per second when events arrive spread over months, and cost
-- `trove bench http-batch` its p99 (2.4x) and 15% of its rate. Readers add the events above 'counts'.
INSERT INTO event_rollups (name, through_event_id)
SELECT 'counts', through_event_id FROM event_rollups WHERE name = 'activity';
