-- Indexes reports build on first use (the funnel's `funnel_of_name_<id>[_<hash>]` partial indexes on
-- events, see ReportIndex.swift), with when each was last read: one unused for 30 days is dropped by the
-- hourly maintenance, so a funnel asked once does not cost every later insert of its events forever.
CREATE TABLE report_indexes (
    name         TEXT    PRIMARY KEY,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
) WITHOUT ROWID;
