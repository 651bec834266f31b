-- Erasure (contract §5 forget, GDPR Art. 17): a person, or a company and optionally its people, removed with
-- everything derived from them. One row per erasure records that it happened and what it removed — counts
-- only, never the person's identifiers — for `GET /v3/edit/deletions`.
--
-- `notifications`: the `segment.exited` webhooks and the Customer.io `DELETE /api/v1/customers/:id` the
-- erasure queued. They must name the person to be of use, so they are marked with `deletion_id` and wiped
-- (payload, identifier) once sent or given up; `completed_at` is set when none is left to send.
CREATE TABLE deletions (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL CHECK (kind IN ('profile', 'company')),
    source        TEXT    NOT NULL CHECK (source IN ('api', 'track', 'cli', 'company')),
    created_at    INTEGER NOT NULL,
    completed_at  INTEGER,
    profiles      INTEGER NOT NULL DEFAULT 0,
    events        INTEGER NOT NULL DEFAULT 0,
    memberships   INTEGER NOT NULL DEFAULT 0,
    ledger_rows   INTEGER NOT NULL DEFAULT 0,
    deliveries    INTEGER NOT NULL DEFAULT 0,
    notifications INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deletions_by_account ON deletions(account_id, id);

ALTER TABLE webhook_deliveries ADD COLUMN deletion_id INTEGER;
CREATE INDEX webhook_deliveries_of_deletion ON webhook_deliveries(deletion_id) WHERE deletion_id IS NOT NULL;

-- customerio_deliveries (0009) gains the kind 'delete' and `deletion_id`: a CHECK changes only by a rebuild.
CREATE TABLE customerio_deliveries_new (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    profile_id      INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('identify', 'event', 'segment_add', 'segment_remove', 'delete')),
    identifier      TEXT,
    target          TEXT,
    body            TEXT    CHECK (body IS NULL OR json_valid(body)),
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    deletion_id     INTEGER
);
INSERT INTO customerio_deliveries_new (id, account_id, profile_id, kind, identifier, target, body, state, attempts, next_attempt_at,
                                       last_status, last_error, created_at, delivered_at)
SELECT id, account_id, profile_id, kind, identifier, target, body, state, attempts, next_attempt_at, last_status, last_error,
       created_at, delivered_at
FROM customerio_deliveries;
DROP TABLE customerio_deliveries;
ALTER TABLE customerio_deliveries_new RENAME TO customerio_deliveries;
CREATE INDEX customerio_deliveries_due ON customerio_deliveries(account_id, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX customerio_deliveries_profile_order ON customerio_deliveries(account_id, profile_id, id) WHERE state = 'pending';
CREATE INDEX customerio_deliveries_by_account ON customerio_deliveries(account_id, id);
CREATE INDEX customerio_deliveries_delivered ON customerio_deliveries(delivered_at) WHERE state = 'delivered';
CREATE INDEX customerio_deliveries_of_profile ON customerio_deliveries(profile_id);
CREATE INDEX customerio_deliveries_of_deletion ON customerio_deliveries(deletion_id) WHERE deletion_id IS NOT NULL;
