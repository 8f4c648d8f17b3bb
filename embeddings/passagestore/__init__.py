"""Where the shelf's passages are kept and searched: one interface, two stores.

``interface`` says what a store is; ``local`` keeps index directories in the data
directory (the default); ``postgres`` keeps everything in PostgreSQL with pgvector when
``DATABASE_URL`` is set; ``testing`` holds the contract tests every store passes.
"""
