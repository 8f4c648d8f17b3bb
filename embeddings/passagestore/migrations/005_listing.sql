-- A shelf listed from the store itself (an archive that no bot holds as files): the article's
-- title and date beside its passages, and a passage found by its id without a scan (the id is
-- the one a reader's button carries). Articles stored before this migration list by name.
ALTER TABLE shelf.articles ADD COLUMN title text NOT NULL DEFAULT '', ADD COLUMN date text;
CREATE INDEX passages_id ON shelf.passages ((passage ->> 'id'));
