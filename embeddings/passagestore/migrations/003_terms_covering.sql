-- A question's BM25 reads, per query term, every row of that term: with tf and the length in
-- the primary key's leaves those are a few index pages in order (an index-only scan), not
-- one heap page per matching passage (at a million passages, ~1,600 pages per term).
ALTER TABLE shelf.terms
    DROP CONSTRAINT terms_pkey,
    ADD CONSTRAINT terms_pkey PRIMARY KEY (term, article, position) INCLUDE (tf, length);
