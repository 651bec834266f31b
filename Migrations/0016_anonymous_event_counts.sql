-- Anonymous events (0006) count in the reports (contract §8): `event_counts` now holds them too, added when
-- one is stored and taken out when it is merged into a profile (the merged copy is counted as any event of
-- the log, past the counts watermark), dropped as a duplicate on merge, or deleted. The ones stored before
-- this migration are added here once.
INSERT INTO event_counts (name_id, hour, count)
SELECT name_id, ((timestamp - ((timestamp % 3600000) + 3600000) % 3600000) / 3600000), count(*)
FROM anonymous_events GROUP BY 1, 2
ON CONFLICT (name_id, hour) DO UPDATE SET count = count + excluded.count;
