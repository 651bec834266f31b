-- Segment's tracking API (SPEC §14) authenticates by a write key: stored as its SHA-256 digest, like the
-- other credentials. Accounts made before this migration have none until `trove accounts rotate NAME
-- --write-key` issues one (a key is shown once, so a migration cannot make one for them).
ALTER TABLE accounts ADD COLUMN write_key_hash bytea UNIQUE CHECK (write_key_hash IS NULL OR length(write_key_hash) = 32);
