-- Ingest takes event and profile ids a block at a time (`IDAllocator`): with the sequences stepping by the
-- block, one `nextval` stands for 1,000 ids (`nextval` of each id one by one, a thousand at once, cost ~8 ms
-- of every 10,000-event import transaction). An insert that leaves the id to its default takes a block's
-- first id; ids stay unique, ordered by when their block was taken, and not gapless (as before).
ALTER TABLE events ALTER COLUMN id SET INCREMENT BY 1000;
ALTER TABLE profiles ALTER COLUMN id SET INCREMENT BY 1000;
