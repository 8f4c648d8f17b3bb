-- The index format an article was written in (embeddings.store.FORMAT_VERSION), as the local
-- store's manifest keeps it: an article of another format is not served, and the bot indexes it
-- again, instead of reusing vectors made another way. Every article stored before this
-- migration was written at format 7 (the store came after it), so that is what they are given.
ALTER TABLE shelf.articles ADD COLUMN format integer NOT NULL DEFAULT 7;
ALTER TABLE shelf.articles ALTER COLUMN format DROP DEFAULT;
