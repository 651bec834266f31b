-- Admin web UI sessions (SPEC §11): signing in with the account secret makes one; the cookie holds a random
-- token of which only the SHA-256 is stored, so the table leaks nothing usable. Each session has its own
-- CSRF token for the forms it renders. Expired rows are removed at the next sign-in; rotating the
-- account's credentials ends its sessions.
CREATE TABLE admin_sessions (
    token_hash BLOB    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX admin_sessions_by_account ON admin_sessions(account_id);

-- The admin overview counts an account's profiles: without an index led by account_id that is a scan of
-- the whole table (2.2 s cold on the 1M-profile reference set); with this one an index-only count.
CREATE INDEX profiles_by_account ON profiles(account_id);
