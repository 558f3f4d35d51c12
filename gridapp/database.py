"""Engine tuning for SQLite, and a way to read without the write lock.

The ledgers' append-only triggers are SQL frozen in the migrations that create them
(0002, 0003): a migration never imports gridapp, so editing the app never rewrites history.

SQLite (the embedded default) needs care to be safe with two gunicorn workers:
WAL so readers never block the writer, a busy timeout so writers queue instead of
failing, foreign keys on, synchronous=FULL so a committed redemption survives a
power cut, and ``BEGIN IMMEDIATE`` for writes: a deferred transaction that reads
first and writes later fails with "database is locked" whatever the timeout.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from flask import has_request_context, request
from sqlalchemy import event

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sqlite_on_connect(dbapi_connection, _record):
    # Hand transaction control to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


_reading_only: ContextVar[bool] = ContextVar("reading_only", default=False)


@contextmanager
def reading_only():
    """Run long reads (``flask verify``, reports) without taking SQLite's write lock, so the app's
    writers never queue behind them."""
    token = _reading_only.set(True)
    try:
        yield
    finally:
        _reading_only.reset(token)


def atomic(operation):
    """A service operation that is all or nothing on its own: it runs inside a SAVEPOINT, so when it
    raises (a domain error after some writes, say) none of its writes remain — even if the caller
    catches the error and commits what else it did. Success releases the savepoint; the caller's
    transaction still decides (the view commits once)."""

    @wraps(operation)
    def run(*args, **kwargs):
        if _in_atomic.get():  # called by another atomic operation: its savepoint covers this one too
            return operation(*args, **kwargs)
        token = _in_atomic.set(True)
        try:
            with db.session.begin_nested():
                return operation(*args, **kwargs)
        finally:
            _in_atomic.reset(token)

    return run


_in_atomic: ContextVar[bool] = ContextVar("in_atomic", default=False)


def _sqlite_on_begin(connection):
    # Pages (GET) and declared reads use a deferred transaction so they never wait for the write
    # lock; everything else (form posts, CLI commands that write, tests) takes it up front.
    if _reading_only.get() or (has_request_context() and request.method in READ_ONLY_METHODS):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def configure_engine(app):
    """Attach the SQLite settings to the app's engine (PostgreSQL needs none)."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
