"""Engine tuning for SQLite, a way to read without the write lock, and short write transactions.

The ledgers' append-only triggers are SQL frozen in the migrations that create them
(0002, 0003): a migration never imports gridapp, so editing the app never rewrites history.

SQLite (the embedded default) needs care to be safe with two gunicorn workers:
WAL so readers never block the writer, a busy timeout so writers queue instead of
failing, foreign keys on, synchronous=FULL so a committed redemption survives a
power cut, and ``BEGIN IMMEDIATE`` for writes: a deferred transaction that reads
first and writes later fails with "database is locked" whatever the timeout.

Two things keep the write lock short (DESIGN.md §5 stays: every rule is still decided under it):

- **The writer mutex.** Before ``BEGIN IMMEDIATE`` a connection takes an exclusive ``flock`` on a
  file next to the database (``<database>-writer.lock``) and lets go of it right after its COMMIT or
  ROLLBACK. Writers then wait in the kernel and the next one starts the moment the lock is free,
  where SQLite's own busy handler sleeps and polls (1, 2, 5 … 100 ms) — the long tail of waits. The
  kernel drops a flock when its process dies, so a killed holder never stalls the others;
  SQLite's own locking stays underneath for any writer that does not use the mutex (the sqlite3
  shell, another program).
- **The write lock starts at the unit of work** for the views marked ``@writes_in_unit_of_work``
  (checking in, confirming a redemption): their reads before it — the user, the page's objects, the
  form and its token — run in a deferred transaction; ``unit_of_work()`` (entered by
  ``formtools.commit_or_explain``) ends that read transaction, which expires every object it loaded,
  and the unit's first statement begins ``BEGIN IMMEDIATE``. Whatever the unit reads it reads again
  under the write lock, so nothing it decides on is stale, and the read transaction never has to
  be upgraded (the upgrade of a stale snapshot is what fails with SQLITE_BUSY whatever the timeout).
  A write in such a view outside its unit of work is a programming error and is refused.
"""
import fcntl
import os
import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache, wraps

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import set_committed_value

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


WRITER_LOCK_SUFFIX = "-writer.lock"


class WriterMutexConnection(sqlite3.Connection):
    """A SQLite connection that can hold the process-shared writer mutex: an exclusive ``flock`` on
    ``<database>-writer.lock``, taken before ``BEGIN IMMEDIATE`` and released right after the COMMIT
    or ROLLBACK that ends the transaction (also when the pool resets or closes the connection).

    Each connection opens the lock file on its own, so two connections of one process (threads)
    exclude each other as two processes do. The kernel releases the lock when the process dies."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        name = os.fspath(database)
        memory = name in ("", ":memory:") or name.startswith("file::memory:") or "mode=memory" in name
        self._writer_lock_path = None if memory else name.removeprefix("file:").split("?")[0] + WRITER_LOCK_SUFFIX
        self._writer_lock_file = None
        self.holds_writer_lock = False

    def take_writer_lock(self) -> None:
        """Wait (in the kernel) until no other writer holds the mutex, then hold it."""
        if self._writer_lock_path is None or self.holds_writer_lock:
            return
        if self._writer_lock_file is None:
            self._writer_lock_file = open(self._writer_lock_path, "a+b")  # noqa: SIM115  kept open with the connection
        fcntl.flock(self._writer_lock_file, fcntl.LOCK_EX)
        self.holds_writer_lock = True

    def release_writer_lock(self) -> None:
        if self.holds_writer_lock:
            self.holds_writer_lock = False
            fcntl.flock(self._writer_lock_file, fcntl.LOCK_UN)

    def commit(self):
        try:
            super().commit()
        finally:
            self.release_writer_lock()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self):
        try:
            super().close()
        finally:
            self.release_writer_lock()
            if self._writer_lock_file is not None:
                self._writer_lock_file.close()
                self._writer_lock_file = None


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
_in_unit_of_work: ContextVar[bool] = ContextVar("in_unit_of_work", default=False)


def writes_in_unit_of_work(view):
    """Mark a view (a POST) whose every write happens inside its unit of work
    (``formtools.commit_or_explain`` / ``once.run_once``): on SQLite its reads before the unit run
    without the write lock, and the lock is taken at the unit's first statement."""
    view.writes_in_unit_of_work = True
    return view


def _late_write_lock() -> bool:
    """Is this a request of a ``@writes_in_unit_of_work`` view, on SQLite, with the late lock on?"""
    if not has_request_context() or request.method in READ_ONLY_METHODS:
        return False
    view = current_app.view_functions.get(request.endpoint)
    return (getattr(view, "writes_in_unit_of_work", False) and current_app.config.get("SQLITE_LATE_WRITE_LOCK", True)
            and db.engine.dialect.name == "sqlite")


@contextmanager
def unit_of_work():
    """The write part of a request. In a ``@writes_in_unit_of_work`` view on SQLite: end the read
    transaction (everything loaded so far is expired and read again, under the write lock, when the
    unit touches it) and let the next statement begin ``BEGIN IMMEDIATE``. Elsewhere nothing changes:
    the transaction took the write lock at its first statement already."""
    if _in_unit_of_work.get() or not _late_write_lock():
        yield
        return
    db.session.commit()  # a read-only transaction: nothing to write, no fsync; expires what it loaded
    token = _in_unit_of_work.set(True)
    try:
        yield
    finally:
        _in_unit_of_work.reset(token)


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
        with savepoint():
            return operation(*args, **kwargs)

    return run


_in_atomic: ContextVar[bool] = ContextVar("in_atomic", default=False)


@contextmanager
def savepoint():
    """A SAVEPOINT of its own (even inside an atomic operation) that the atomic operations called
    inside it share: when the block raises, none of its writes remain."""
    token = _in_atomic.set(True)
    try:
        with db.session.begin_nested():
            yield
    finally:
        _in_atomic.reset(token)


def as_written(obj, values: dict) -> None:
    """After a conditional UPDATE that moved ``obj``'s row (``rowcount == 1``), with plain ``values``
    (no SQL expressions) and no trigger or ``onupdate`` on the columns: the row holds exactly those
    values now, so they are set on the object as loaded — no SELECT to read back what was just
    written. A relationship whose key column moved (``award_entry_id`` …) is loaded again when read.
    An UPDATE that moved nothing means someone else changed the row: refresh the object instead."""
    for name, value in values.items():
        set_committed_value(obj, name, value)
    stale = [link for link, columns in _links(type(obj)) if not columns.isdisjoint(values)]
    if stale:
        db.session.expire(obj, stale)


@lru_cache(maxsize=None)
def _links(model) -> tuple[tuple[str, frozenset[str]], ...]:
    """(relationship, the columns of its key on ``model``), read once the mappers are configured."""
    return tuple((rel.key, frozenset(column.key for column in rel.local_columns))
                 for rel in sa_inspect(model).relationships)


def row_locks_needed() -> bool:
    """False on SQLite, where a write transaction holds the whole database (a row lock, SELECT … FOR
    UPDATE, would be a plain read there); True on PostgreSQL."""
    return db.session.get_bind().dialect.name != "sqlite"


def _reads_only_now() -> bool:
    return _reading_only.get() or (has_request_context() and (
        request.method in READ_ONLY_METHODS or (not _in_unit_of_work.get() and _late_write_lock())))


def _sqlite_on_begin(connection):
    # Pages (GET), declared reads and the reads of a @writes_in_unit_of_work view before its unit of
    # work use a deferred transaction, so they never wait for the write lock; everything else (form
    # posts, CLI commands that write, tests) takes it up front, after the writer mutex.
    if _reads_only_now():
        connection.exec_driver_sql("BEGIN")
        return
    driver = connection.connection.driver_connection
    if isinstance(driver, WriterMutexConnection):
        driver.take_writer_lock()
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if isinstance(driver, WriterMutexConnection):
            driver.release_writer_lock()
        raise


class WriteOutsideUnitOfWork(RuntimeError):
    """A @writes_in_unit_of_work view wrote before its unit of work (in its read transaction)."""


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


def _sqlite_refuse_early_writes(_conn, _cursor, statement, _parameters, _context, _executemany):
    if statement.lstrip()[:6].upper() in _WRITES and has_request_context() and not _in_unit_of_work.get() \
            and _late_write_lock():
        raise WriteOutsideUnitOfWork(f"{request.endpoint} writes outside its unit of work: {statement[:80]}")


def configure_engine(app):
    """Attach the SQLite settings to the app's engine (PostgreSQL needs none)."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            event.listen(engine, "before_cursor_execute", _sqlite_refuse_early_writes)
