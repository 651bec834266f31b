-- Per-account settings of the integrations with other systems (SPEC §9 the Customer.io source's signing
-- key; §10 destinations). `config` is a JSON object whose shape belongs to the integration.
CREATE TABLE integrations (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL CHECK (name IN ('customerio-source', 'customerio-destination')),
    config     TEXT    NOT NULL CHECK (json_valid(config) AND json_type(config) = 'object'),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
