-- Several Trove processes on one database (issue 20). Each process that does background work is a node: it
-- says it is alive (`alive_until`, renewed every third of its lease), and its claims hold for as long as it
-- is. A node that stops cleanly deletes its row; one that dies is taken over once `alive_until` passes.
-- Citus: both are small tables of the coordinator (reference tables), read by every node.
CREATE TABLE trove_nodes (
    id          text   PRIMARY KEY,
    started_at  bigint NOT NULL,
    alive_until bigint NOT NULL
);

-- Work that must have one runner at a time: `kind` per `scope` (an account, or 0 for all of them): an
-- account's membership evaluation, its Customer.io calls, the hourly upkeep. `done_at`: when the holder last
-- finished a round of work that runs on a timer (upkeep), so the node that takes it over keeps the pace.
CREATE TABLE work_claims (
    kind       text   NOT NULL,
    scope      bigint NOT NULL,
    node_id    text   NOT NULL,
    claimed_at bigint NOT NULL,
    done_at    bigint,
    PRIMARY KEY (kind, scope)
);

-- Rows claimed one by one: a webhook delivery in flight, an export being written. Claimed by a node that is
-- no longer alive, they are due again.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by text;
ALTER TABLE exports ADD COLUMN claimed_by text;
