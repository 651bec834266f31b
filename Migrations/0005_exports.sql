-- Exports (SPEC §7): asynchronous jobs kept as rows, so a restart resumes them. `request` is the body as
-- accepted (filters, attributes, ...). `status` is what the API shows: 'pending' until the file is
-- complete and renamed into place, then 'done' (or 'failed' with `error`). `attempts` counts runs
-- started; a run interrupted by a crash leaves the row pending and the next start redoes it, and past
-- three interrupted runs it fails rather than staying pending forever. `expires_at`: when the file is
-- removed (retention); `removed_at` once it was.
CREATE TABLE exports (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    type         TEXT    NOT NULL CHECK (type IN ('customers', 'deliveries')),
    request      TEXT    NOT NULL CHECK (json_valid(request)),
    description  TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    total        INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
    downloads    INTEGER NOT NULL DEFAULT 0 CHECK (downloads >= 0),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    error        TEXT,
    file_bytes   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    expires_at   INTEGER,
    removed_at   INTEGER,
    CHECK (status <> 'done' OR finished_at IS NOT NULL),
    CHECK (status <> 'failed' OR error IS NOT NULL)
);
CREATE INDEX exports_by_account ON exports(account_id, id);
CREATE INDEX exports_pending ON exports(id) WHERE status = 'pending';

-- Keys this installation makes for itself (the export-link signing key), created on first use.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    key  BLOB NOT NULL CHECK (length(key) = 32)
) WITHOUT ROWID;
