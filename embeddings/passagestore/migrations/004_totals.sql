-- BM25's N and average length over the whole shelf, kept up to date by the writers in the
-- transaction that changes them: summing shelf.articles for every question was a scan of
-- 100,000 rows at a million passages (a fifth of the question's time).
CREATE TABLE shelf.totals (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    passages bigint NOT NULL,
    tokens bigint NOT NULL
);
INSERT INTO shelf.totals (passages, tokens)
SELECT coalesce(sum(passages), 0), coalesce(sum(tokens), 0) FROM shelf.articles;
