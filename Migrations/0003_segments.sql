-- Segments (SPEC §6): definitions, materialized membership, the append-only ledger of changes, and what
-- the membership evaluator still has to look at.

-- Event conditions ("did X at least N times in the last D days") read events by name and time. Events
-- arrive roughly in time order, so this index grows at one right-hand edge per event name: measured on the
-- 10M-event reference import it costs far less than any index keyed by profile (see the segments notes in
-- the README). `profile_id` makes it covering for counts per profile.
CREATE INDEX events_by_name_time ON events(name_id, timestamp, profile_id);

-- `definition` is the filter exactly as accepted, in the grammar it came in (`grammar`), so every API
-- family gets its own form back. `version` counts definition changes; `built_version` is the version the
-- stored membership reflects (building while they differ; reads see the previous membership until then).
-- `computed_at`: when the evaluator last brought this membership up to date; `refreshed_at`: its last full
-- evaluation (segments with time windows are fully re-evaluated on a timer).
CREATE TABLE segments (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description   TEXT    NOT NULL DEFAULT '',
    kind          TEXT    NOT NULL CHECK (kind IN ('dynamic', 'manual')),
    grammar       TEXT    CHECK (grammar IN ('chameleon', 'customerio')),
    definition    TEXT    CHECK (definition IS NULL OR json_valid(definition)),
    tags          TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array'),
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    built_version INTEGER NOT NULL DEFAULT 0,
    windowed      INTEGER NOT NULL DEFAULT 0 CHECK (windowed IN (0, 1)),
    member_count  INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    computed_at   INTEGER,
    refreshed_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK ((kind = 'dynamic') = (definition IS NOT NULL))
);
CREATE INDEX segments_by_account ON segments(account_id);

-- Who is in each segment now. Keyed by segment for member lists and diffs, and by profile for "which
-- segments is this user in" (SPEC §5, ~1 ms).
CREATE TABLE segment_members (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    profile_id INTEGER NOT NULL,
    PRIMARY KEY (segment_id, profile_id)
) WITHOUT ROWID;
CREATE INDEX segment_members_by_profile ON segment_members(profile_id);

-- The ledger: one row per entry or exit, never updated; only GDPR erasure (and deleting the segment)
-- removes rows. `id` is the monotonic cursor of `/changes`.
CREATE TABLE segment_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    profile_id INTEGER NOT NULL,
    entered    INTEGER NOT NULL CHECK (entered IN (0, 1)),
    at         INTEGER NOT NULL,
    version    INTEGER NOT NULL
);
CREATE INDEX segment_changes_by_segment ON segment_changes(segment_id, profile_id, id);
CREATE INDEX segment_changes_by_profile ON segment_changes(profile_id);

-- Profiles (kind 0) and companies (kind 1) written since the evaluator last looked; written in the same
-- transaction as the change. Events need no row: the evaluator reads the event log past its watermark
-- (event_rollups 'membership'), which costs the ingest path nothing.
CREATE TABLE membership_dirty (
    kind      INTEGER NOT NULL CHECK (kind IN (0, 1)),
    object_id INTEGER NOT NULL,
    PRIMARY KEY (kind, object_id)
) WITHOUT ROWID;

INSERT INTO event_rollups (name, through_event_id) SELECT 'membership', coalesce(max(id), 0) FROM events;
