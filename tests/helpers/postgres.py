"""A real PostgreSQL server for the tests: the machinery lives in :mod:`bot.tools.pgserver`
(``python -m bot soak --replicas 2`` starts one too)."""

from bot.tools.pgserver import fresh_database, running_postgres, with_database

__all__ = ["fresh_database", "running_postgres", "with_database"]
