"""The registry of invariant checks that ``flask verify`` runs.

A check is a function that yields one line per violation, naming the broken row.
Capabilities register theirs with ``@invariant``; ``flask verify`` and the tests run them all.
"""
from collections.abc import Callable, Iterable

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text

from .extensions import db

Check = Callable[[], Iterable[str]]
CHECKS: dict[str, Check] = {}


def invariant(check: Check) -> Check:
    CHECKS[check.__name__] = check
    return check


def run_all() -> dict[str, list[str]]:
    """Every registered check by name, with its violations (an empty list means it holds)."""
    return {name: list(check()) for name, check in CHECKS.items()}


def migration_heads() -> set[str]:
    config = current_app.extensions["migrate"].migrate.get_config()
    return set(ScriptDirectory.from_config(config).get_heads())


def database_revisions() -> set[str]:
    # The session's own connection: a second one would wait on SQLite's write lock held by the first.
    return set(MigrationContext.configure(db.session.connection()).get_current_heads())


@invariant
def schema_is_migrated():
    """The database is at the newest migration: the code and the tables agree."""
    heads, current = migration_heads(), database_revisions()
    if heads != current:
        yield f"alembic_version: database at {sorted(current) or 'nothing'}, code expects {sorted(heads)}"


@invariant
def foreign_keys_hold():
    """No row points at a missing row (SQLite can be written with foreign keys off; PostgreSQL cannot)."""
    if db.engine.dialect.name != "sqlite":
        return
    for table, rowid, parent, _ in db.session.execute(text("PRAGMA foreign_key_check")):
        yield f"{table} rowid {rowid}: points at a missing row in {parent}"


@invariant
def sqlite_file_is_sound():
    """SQLite's own integrity check of pages and indexes."""
    if db.engine.dialect.name != "sqlite":
        return
    for (result,) in db.session.execute(text("PRAGMA integrity_check")):
        if result != "ok":
            yield f"sqlite integrity_check: {result}"
