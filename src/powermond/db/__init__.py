"""The database: tables, Alembic migrations, the engine (unit of work) and repositories.

Start at :class:`powermond.db.engine.Database` and :mod:`powermond.db.repositories`.
"""
