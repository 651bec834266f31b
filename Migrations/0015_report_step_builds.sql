-- A step list is now built in passes over profile ranges, each adding its rows in the list's key order
-- (ReportSteps.swift): slices of event ids added as read scattered every write over the whole list, so
-- each slice wrote most of the list's pages again (100 ms of writer per slice, 20 s for one list of the
-- reference set). While a list is built (built_at NULL), through_event_id is the log's top when it was
-- registered and `build_profile` how far the passes are: every event up to through_event_id of the
-- profiles up to build_profile is in the list.
ALTER TABLE report_steps ADD COLUMN build_profile INTEGER NOT NULL DEFAULT 0;

-- Counts the deletions of events since the list was registered: work that read the log and adds rows
-- afterwards checks each row's event only if a deletion came in between (ReportSteps.ListRows.insert).
ALTER TABLE report_steps ADD COLUMN deletions INTEGER NOT NULL DEFAULT 0;

-- Lists half built by event id are dropped (their rows deleted in the background); the next funnel that
-- reads them registers them anew.
UPDATE report_steps SET dropped = 1 WHERE built_at IS NULL;
