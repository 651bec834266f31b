-- Outgoing webhooks (SPEC §10). `topics` is a JSON array of topic names; `event_names`, when set, limits
-- `event.created` to those normalized names. The secret is kept as given out (it signs every delivery).
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    url             TEXT    NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    name            TEXT    NOT NULL DEFAULT '',
    topics          TEXT    NOT NULL CHECK (json_valid(topics) AND json_type(topics) = 'array'),
    event_names     TEXT    CHECK (event_names IS NULL OR (json_valid(event_names) AND json_type(event_names) = 'array')),
    secret          TEXT    NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_item_at    INTEGER,
    last_item_state TEXT,
    last_item_error TEXT
);
CREATE INDEX webhook_endpoints_by_account ON webhook_endpoints(account_id, id);

-- The outbox: one row per delivery, written in the transaction of the change that caused it. `envelope_id`
-- is the envelope's `id`, the same on every attempt. A delivery is `pending` until a 2xx (`delivered`) or
-- until its retries run out (`failed`, kept and retryable by hand).
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    envelope_id     TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    data            TEXT    NOT NULL CHECK (json_valid(data)),
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries(endpoint_id, id);
