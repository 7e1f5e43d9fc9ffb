"""Alembic environment and revisions (a package so that env.py ships with the code)."""
