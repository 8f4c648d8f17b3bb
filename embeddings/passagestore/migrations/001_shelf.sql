-- The shelf in PostgreSQL: articles, their passages with vectors (HNSW), their sentences'
-- vectors and their passages' BM25 term counts. Everything lives in the schema "shelf", so
-- other tables in the same database (chat state, votes) never collide with it.
CREATE SCHEMA IF NOT EXISTS shelf;

CREATE TABLE shelf.articles (
    name text PRIMARY KEY,
    content_hash text NOT NULL,          -- sha256 of the article as ingested
    model text NOT NULL,                 -- the encoder that made the vectors
    passages integer NOT NULL,
    tokens bigint NOT NULL,              -- sum of the passages' lengths: BM25's average length
    calibration jsonb NOT NULL,          -- the refusal rule's off-topic reference
    bridges jsonb NOT NULL,              -- the article's slice of the dictionary and its pinyin
    word_vectors bytea NOT NULL,         -- float32 rows following bridges.words
    indexed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shelf.passages (
    article text NOT NULL REFERENCES shelf.articles (name) ON DELETE CASCADE,
    position integer NOT NULL,           -- 1-based, as the article numbers its paragraphs
    passage jsonb NOT NULL,              -- text, section, heading, sentence spans
    length integer NOT NULL,             -- BM25 tokens
    embedding vector(384) NOT NULL,
    PRIMARY KEY (article, position)
);
-- Vectors are normalised: inner product is cosine.
CREATE INDEX passages_embedding ON shelf.passages USING hnsw (embedding vector_ip_ops);

CREATE TABLE shelf.sentences (
    article text NOT NULL,
    position integer NOT NULL,
    ordinal integer NOT NULL,            -- the sentence's place in its passage
    embedding vector(384) NOT NULL,
    PRIMARY KEY (article, position, ordinal),
    FOREIGN KEY (article, position) REFERENCES shelf.passages ON DELETE CASCADE
);
CREATE INDEX sentences_embedding ON shelf.sentences USING hnsw (embedding vector_ip_ops);

-- The bot's own tokens (character uni/bigrams, words), not PostgreSQL's text search: that keeps
-- a run of Chinese as one lexeme. The primary key answers "which passages hold this term".
CREATE TABLE shelf.terms (
    term text NOT NULL,
    article text NOT NULL,
    position integer NOT NULL,
    tf integer NOT NULL,
    PRIMARY KEY (term, article, position),
    FOREIGN KEY (article, position) REFERENCES shelf.passages ON DELETE CASCADE
);
CREATE INDEX terms_passage ON shelf.terms (article, position);
