-- BM25 needs each matching passage's length. Read from shelf.passages, it was one index lookup
-- per matching term row: at a million synthetic passages, 8,000 lookups and most of a
-- question's time. Kept beside each term row instead (written with it, never changed alone).
ALTER TABLE shelf.terms ADD COLUMN length integer;
UPDATE shelf.terms t SET length = p.length
FROM shelf.passages p
WHERE p.article = t.article AND p.position = t.position;
ALTER TABLE shelf.terms ALTER COLUMN length SET NOT NULL;
