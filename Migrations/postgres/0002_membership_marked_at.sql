-- When a profile or company was first marked for the evaluator (ms): the age of the oldest mark is how far
-- membership trails ingest on PostgreSQL, which keeps no event watermark. A mark made again keeps its time.
ALTER TABLE membership_dirty ADD COLUMN marked_at bigint NOT NULL DEFAULT 0;
