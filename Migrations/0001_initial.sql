-- Trove's base schema: accounts, the stored models, and the ingest side tables.
-- Times are INTEGER milliseconds since the Unix epoch (UTC): compact, and they compare and index well.
-- Custom properties are JSON objects in TEXT columns, already normalized (SPEC §4).

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY,
    name                TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    account_secret_hash BLOB    NOT NULL UNIQUE CHECK (length(account_secret_hash) = 32),
    app_api_key_hash    BLOB    NOT NULL UNIQUE CHECK (length(app_api_key_hash) = 32),
    site_id             TEXT    NOT NULL UNIQUE,
    track_api_key_hash  BLOB    NOT NULL UNIQUE CHECK (length(track_api_key_hash) = 32),
    created_at          INTEGER NOT NULL,
    rotated_at          INTEGER
);

CREATE TABLE companies (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    uid         TEXT    NOT NULL CHECK (length(uid) BETWEEN 1 AND 255),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    properties  TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(properties) AND json_type(properties) = 'object'),
    UNIQUE (account_id, uid)
);

CREATE TABLE profiles (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    uid          TEXT    CHECK (uid IS NULL OR length(uid) BETWEEN 1 AND 255),
    email        TEXT    CHECK (email IS NULL OR length(email) BETWEEN 1 AND 255),
    company_id   INTEGER REFERENCES companies(id) ON DELETE SET NULL,
    disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    admin        INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    properties   TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(properties) AND json_type(properties) = 'object'),
    CHECK (uid IS NOT NULL OR email IS NOT NULL)
);
CREATE UNIQUE INDEX profiles_by_uid   ON profiles(account_id, uid)   WHERE uid IS NOT NULL;
CREATE UNIQUE INDEX profiles_by_email ON profiles(account_id, email) WHERE email IS NOT NULL;
CREATE INDEX profiles_by_company      ON profiles(company_id)        WHERE company_id IS NOT NULL;

-- A profile's latest event time, apart from the profile row: events move it forward constantly, and
-- rewriting a narrow row dirties far fewer pages than rewriting the profile with its properties.
CREATE TABLE profile_activity (
    profile_id   INTEGER PRIMARY KEY REFERENCES profiles(id) ON DELETE CASCADE,
    last_seen_at INTEGER NOT NULL
);

-- Event names are interned: events store a small integer, grouping and filters use the normalized uid.
CREATE TABLE event_names (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    uid          TEXT    NOT NULL CHECK (length(uid) BETWEEN 1 AND 255),
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    count        INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    last_seen_at INTEGER,
    UNIQUE (account_id, uid)
);

-- One row per event: the hot, append-only table. `display_name` is NULL when the name was sent exactly
-- as event_names.name; `source`: 0 hook, 1 track, 2 customerio, 3 import (see EventSource.swift).
-- Deliberately without declared foreign keys and without a json_valid CHECK on `properties`: measured on
-- 1M events (`trove import`), the profile_id foreign key cost 25% of insert throughput and the CHECK 12%.
-- The only writer (WriteSession) sets profile_id and name_id from rows it read or wrote in the same
-- transaction and serializes `properties` itself; deleting a profile deletes its events explicitly.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    profile_id   INTEGER NOT NULL,
    name_id      INTEGER NOT NULL,
    timestamp    INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    source       INTEGER NOT NULL CHECK (source BETWEEN 0 AND 15),
    dedupe_key   TEXT    CHECK (dedupe_key IS NULL OR length(dedupe_key) BETWEEN 1 AND 255),
    display_name TEXT,
    properties   TEXT
);
CREATE UNIQUE INDEX events_by_dedupe_key ON events(account_id, dedupe_key) WHERE dedupe_key IS NOT NULL;

-- The property catalog (SPEC §4): one row per normalized property path and model.
CREATE TABLE properties (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    model        TEXT    NOT NULL CHECK (model IN ('profile', 'company', 'event')),
    prop         TEXT    NOT NULL CHECK (length(prop) >= 1),
    name         TEXT    NOT NULL,
    types        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(types) AND json_type(types) = 'array'),
    examples     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(examples) AND json_type(examples) = 'array'),
    last_seen_at INTEGER NOT NULL,
    UNIQUE (account_id, model, prop)
);

-- Normalization warnings (SPEC §4), aggregated per account, model, property path and kind.
CREATE TABLE warnings (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    model       TEXT    NOT NULL CHECK (model IN ('profile', 'company', 'event')),
    prop        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('truncated', 'too_deep', 'hash_in_array', 'reserved', 'invalid_name', 'name_collision', 'unknown_metric')),
    count       INTEGER NOT NULL CHECK (count >= 1),
    first_at    INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    example_uid TEXT,
    detail      TEXT,
    UNIQUE (account_id, model, prop, kind)
);

-- Replies to batches sent with an Idempotency-Key, kept 24 hours.
CREATE TABLE idempotency_keys (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key         TEXT    NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    route       TEXT    NOT NULL,
    status      INTEGER NOT NULL,
    response    BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
