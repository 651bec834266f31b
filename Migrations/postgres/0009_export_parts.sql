-- An export's file kept in the database (issue 20): several Trove nodes on one PostgreSQL serve any export,
-- whichever node wrote it and whatever folder each writes to. In parts of up to 1 MiB, in order; removed with
-- the file at the end of its retention.
CREATE TABLE export_parts (
    account_id bigint  NOT NULL,
    export_id  bigint  NOT NULL,
    part       integer NOT NULL CHECK (part >= 0),
    bytes      bytea   NOT NULL,
    PRIMARY KEY (account_id, export_id, part)
);
