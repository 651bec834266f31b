-- The Customer.io destination's outbox (SPEC §10): one row per call to make, written in the transaction of
-- the change that caused it. Rows of one profile go out in id order: a row waits while an earlier row of
-- its profile is pending (in flight or waiting to retry). `identifier` is the person's Customer.io
-- identifier at the time of the change (NULL when the profile had none: the row is failed at once);
-- `target` is the Customer.io segment of a segment row; `body` the JSON sent (for segment rows, built
-- from many rows at sending time).
CREATE TABLE customerio_deliveries (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    profile_id      INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('identify', 'event', 'segment_add', 'segment_remove')),
    identifier      TEXT,
    target          TEXT,
    body            TEXT    CHECK (body IS NULL OR json_valid(body)),
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX customerio_deliveries_due ON customerio_deliveries(account_id, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX customerio_deliveries_profile_order ON customerio_deliveries(account_id, profile_id, id) WHERE state = 'pending';
CREATE INDEX customerio_deliveries_by_account ON customerio_deliveries(account_id, id);
CREATE INDEX customerio_deliveries_delivered ON customerio_deliveries(delivered_at) WHERE state = 'delivered';

-- Delivered webhook rows are pruned after 30 days (SPEC §11): found by this index, not a scan.
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries(delivered_at) WHERE state = 'delivered';

-- Due webhook deliveries are read per endpoint (one endpoint's backlog never hides another's).
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due_by_endpoint ON webhook_deliveries(endpoint_id, next_attempt_at, id) WHERE state = 'pending';
