"""The database: the schema (:mod:`~powermond.db.schema`, Core tables; the ORM classes of
:mod:`~powermond.db.tables` are mapped onto them), Alembic migrations, the engine (unit of
work) and repositories.

Start at :class:`powermond.db.engine.Database` and :mod:`powermond.db.repositories`; the
read-only commands use :func:`powermond.db.reader.read` and :mod:`powermond.db.catalog`.
"""
