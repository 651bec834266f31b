-- Anonymous events from the Track API (SPEC §8 `POST /api/v1/events`): kept apart from `events`, whose
-- rows all belong to a profile, so segments never see them; counted in the event names' totals like any
-- event. An identify carrying the same `anonymous_id` within 30 days moves them into `events` under that
-- profile (where they get new ids past the membership watermark, so segments pick them up).
CREATE TABLE anonymous_events (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    anonymous_id TEXT    NOT NULL CHECK (length(anonymous_id) BETWEEN 1 AND 255),
    name_id      INTEGER NOT NULL,
    timestamp    INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    dedupe_key   TEXT    CHECK (dedupe_key IS NULL OR length(dedupe_key) BETWEEN 1 AND 255),
    display_name TEXT,
    properties   TEXT
);
CREATE INDEX anonymous_events_by_anonymous_id ON anonymous_events(account_id, anonymous_id, timestamp);
CREATE UNIQUE INDEX anonymous_events_by_dedupe_key ON anonymous_events(account_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
